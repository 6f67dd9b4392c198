#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# L2 switch benchmark: vuswitch `--fwd switch` against (a) dpdk-testpmd with two net_vhost ports
# in io mode (rte_vhost as an ideal switch: no lookup, port 0 <-> port 1) and (b) Open vSwitch
# with DPDK (a netdev bridge, two dpdkvhostuserclient ports, the NORMAL action). Not a test: run
# it by hand; the machine is shared and noisy, so back-ends are interleaved in every round and
# the tables give medians over rounds and the ratios vuswitch/testpmd-io and vuswitch/OVS.
#
# Topology, per sample (2 CPUs):
#   generator  one dpdk-testpmd, two net_virtio_user ports (server=1, queue_size=1024, MACs
#              02:00:00:00:5b:00 and 02:00:00:00:5b:01), forwarding lcore on CPU 0 (main lcore
#              on CPU 1, idle at its prompt). `set fwd mac`, `set eth-peer 0 <port 1's MAC>`,
#              `set eth-peer 1 <port 0's MAC>`, [`set txpkts 1518`], `start tx_first 32`: every
#              frame leaving port P has port P's MAC as source and the other port's as
#              destination, so a learning switch learns both and forwards unicast; the frames
#              loop generator -> switch -> generator for as long as the sample runs.
#   back-end   the switch, a vhost-user client of both sockets, forwarding on CPU 1:
#              vuswitch -l 0,1 --main-lcore 0 -- --vhost-user S0,client,queues=1 ... --fwd switch
#              testpmd  -l 0,1 --main-lcore 0 --vdev net_vhost0,iface=S0,client=1 ... --
#                       --nb-cores=1 --forward-mode=io
#              OVS      ovsdb-server + ovs-vswitchd-dpdk with their own database, run directory and
#                       logs under the work directory (never the system service); dpdk-init=true,
#                       pmd-cpu-mask=0x2, dpdk-socket-mem=$OVS_MEM; bridge datapath_type=netdev,
#                       ports type=dpdkvhostuserclient options:vhost-server-path=S0/S1; the
#                       default flow (actions=NORMAL)
#              Two generator settings, each a case of its own, interleaved in every round
#              (--gen-txfreet): testpmd's default TX free threshold (32), and --txfreet=992.
#              The threshold decides when the generator frees the mbufs of frames the
#              back-end has taken: at the default, once more than 992 of its 1024 TX
#              descriptors came back, about a thousand at once; its mempool cache (250)
#              overflows into the pool's ring and its RX refill then takes mbufs last
#              touched a pool's length ago, cold lines on every frame. Whether it gets there
#              depends on the back-end: one that leaves 32 or more frames waiting in the TX
#              ring keeps it freeing a few at a time, one that drains the ring at once lets
#              the returned descriptors pile up past 992. At 992 it frees whenever more than
#              32 came back, in batches the cache absorbs, whatever the back-end does. The
#              generator sets the pace in this topology, so the setting moves the ranking
#              (measured in doc/performance.md, "The generator's TX free threshold").
#   --mq adds the "2q" case: two queue pairs per port and two forwarding lcores/PMDs in the
#   back-end (lcores 1@CPU0 and 2@CPU1; OVS pmd-cpu-mask=0x3) and two forwarding lcores in the
#   generator (--rxq=2 --txq=2 --nb-cores=2, on CPU 0 and CPU 1): four busy pollers on two CPUs,
#   so it shows behaviour under sharing, not scaling.
# A sample is the generator's received packets per second, both ports together (= frames the
# switch forwarded per second), counted over a --window after a --warmup: `show port stats all`
# at both ends of the window, RX-packets delta / elapsed time.
# Fairness checks per sample: vuswitch's `switch: unicast N flooded M` at exit; OVS's learned
# table (fdb/show), datapath flows (unicast = one output action) and PMD statistics; logged in
# the CSV (unicast / flooded packets) and in logs/.
# Noise: before each sample wait (at most --quiet-wait s) until other processes use at most
# --max-other cores; the CPU other processes took during the window is recorded; a sample over
# the gate is repeated (--retries), then kept and flagged noisy.
#
# Usage: devtools/bench-switch.sh [options]
#   --rounds N          rounds (default 5)
#   --sizes "L..."      frame sizes (default "64 1518")
#   --backends "B..."   vuswitch testpmd ovs (default all three)
#   --mq                also the 2-queue-pair, 2-lcore case
#   --quick             1 round, 64 B, 1 queue pair
#   --warmup S          seconds of traffic before the window (default 3)
#   --window S          window in seconds (default 6)
#   --max-other C       noise gate in cores (default 0.3); --quiet-wait S (30); --retries N (1)
#   --ovs-mem MB        OVS dpdk-socket-mem (default 512)
#   --gen-txfreet "N.." the generator's --txfreet values (default "default 992"; "default"
#                       leaves testpmd's): one case per value (suffix -tfdefault, -tf992) when
#                       there are several, interleaved in every round
#   --idle-sleep US     vuswitch --idle-sleep US and OVS pmd-maxsleep=US (testpmd has no such
#                       setting): for the 2q case, where pollers share CPUs
#   --no-install        do not apt-get install openvswitch-switch-dpdk when missing
#   --out DIR           results (default /tmp/vus-bench-switch.<time>)
#   --summary-only DIR  print the tables of an earlier run
#   --vuswitch PATH     (default build/app/vuswitch/vuswitch)   --testpmd PATH (dpdk-testpmd)
# Environment: VUS_FWD=MODE runs vuswitch with --fwd MODE instead of switch (e.g. io: the
# datapath's ceiling in this topology); VUS_BENCH_PERF=1 records a cpu-clock profile of both
# CPUs over each window (perf record -a; hardware counters are not available in these VMs) into
# logs/<sample>-perf.data, read with `perf report -i FILE --sort pid,dso,sym`.
# Needs root (hugepages, OVS). Hugepages are reserved with devtools/hugepages.sh; OVS needs them
# (it runs DPDK with --in-memory, which --no-huge contradicts): without hugepages the OVS
# back-end is skipped and the others run with --no-huge.
# Results in DIR: samples.csv, rejected.csv, summary.md, run-info.txt, logs/.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
VUSWITCH=${VUSWITCH:-$TOP/build/app/vuswitch/vuswitch}
TESTPMD=${TESTPMD:-dpdk-testpmd}
OVS_VSWITCHD=${OVS_VSWITCHD:-/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk}
OVS_SCHEMA=/usr/share/openvswitch/vswitch.ovsschema
ROUNDS=5 SIZES="64 1518" BACKENDS="vuswitch testpmd ovs" QCASES="1"
WARMUP=3 WINDOW=6 MAX_OTHER=0.3 QUIET_WAIT=30 RETRIES=1 OVS_MEM=512 INSTALL=true
OUT="" SUMMARY_ONLY="" IDLE_SLEEP="" GEN_TXFREETS="default 992" GEN_TXFREET="" CASE_SUFFIX=""
NB_MBUFS=32768
MAC0=02:00:00:00:5b:00 MAC1=02:00:00:00:5b:01

usage() {
    sed -n '4,/^set -uo/p' "$0" | sed -e '/^set -uo/d' -e 's/^# \{0,1\}//'
    exit "${1:-0}"
}

# --- summary -------------------------------------------------------------------------------------
# AWK_MEDIAN: the summaries' median()
# shellcheck source=devtools/bench-common.sh
. "$TOP/devtools/bench-common.sh"
# summarize CSV [clean]: one Markdown table, medians in Mpps.
summarize() {
    awk -F, -v clean="${2:-}" 'NR > 1 && $6 != "" && !(clean != "" && $15 == 1) {
        print $2 "," $5 "," $6 "," $11 "," $12 "," $13 "," $1 }' "$1" |
        awk -F, "$AWK_MEDIAN"'
        function f(v) { return v == "" ? "-" : sprintf("%.2f", v / 1e6) }
        function r(a, b) { return (a == "" || b == "" || b == 0) ? "-" : sprintf("%.2f", a / b) }
        {
            if (!($1 in seen)) { seen[$1] = 1; order[++nc] = $1 }
            k = $1 "," $2
            s[k] = s[k] " " $3; o[k] = o[k] " " $4; n[k]++
            if ($5 != "") { uc[k] += $5; fl[k] += $6 }
            # a retried sample replaces the first one of its round
            at[k "," $7] = $3; if ($7 > nr) nr = $7
        }
        # paired B: median over rounds of vuswitch / B measured in the same round,
        # seconds apart (cancels the slow swings of a shared host)
        function paired(c, b,    l, i, x, y) {
            l = ""
            for (i = 1; i <= nr; i++) {
                x = at[c ",vuswitch," i]; y = at[c "," b "," i]
                if (x != "" && y != "" && y > 0) l = l " " x / y
            }
            return l == "" ? "-" : sprintf("%.2f", median(l))
        }
        END {
            print "| case | vuswitch Mpps | testpmd-io Mpps | OVS Mpps | vuswitch/testpmd-io | vuswitch/OVS | paired, per round (tp / OVS) | samples (vus/tp/ovs) | unicast share vus / OVS | other CPU, cores (vus/tp/ovs) |"
            print "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | --- |"
            for (i = 1; i <= nc; i++) {
                c = order[i]
                v = median(s[c ",vuswitch"]); t = median(s[c ",testpmd"]); w = median(s[c ",ovs"])
                su = uc[c ",vuswitch"] + fl[c ",vuswitch"]; so = uc[c ",ovs"] + fl[c ",ovs"]
                sh = (su > 0 ? sprintf("%.4f", uc[c ",vuswitch"] / su) : "-") " / " \
                     (so > 0 ? sprintf("%.4f", uc[c ",ovs"] / so) : "-")
                ov = median(o[c ",vuswitch"]); ot = median(o[c ",testpmd"]); oo = median(o[c ",ovs"])
                printf "| %s | %s | %s | %s | %s | %s | %s / %s | %d/%d/%d | %s | %s/%s/%s |\n", c, f(v), f(t), f(w),
                    r(v, t), r(v, w), paired(c, "testpmd"), paired(c, "ovs"),
                    n[c ",vuswitch"], n[c ",testpmd"], n[c ",ovs"], sh,
                    ov == "" ? "-" : sprintf("%.2f", ov), ot == "" ? "-" : sprintf("%.2f", ot),
                    oo == "" ? "-" : sprintf("%.2f", oo)
            }
        }'
}

write_summary() {
    local csv=$1 dir noisy repeated rounds
    dir=$(dirname "$csv")
    noisy=$(awk -F, 'NR > 1 && $15 == 1' "$csv" | wc -l)
    repeated=$(($(wc -l <"$dir/rejected.csv" 2>/dev/null || echo 1) - 1))
    rounds=$(awk -F, 'NR > 1 && $1 > r { r = $1 } END { print r + 0 }' "$csv")
    {
        echo "Memory: $(awk -F, 'NR == 2 { print $17 }' "$csv"). Rounds: $rounds. Window ${WINDOW}s after ${WARMUP}s of warm-up."
        echo "Medians of the frames the switch forwarded per second (both directions together, counted"
        echo "by the generator). 'unicast share' = unicast / (unicast + flooded) frames over all samples"
        echo "(vuswitch: its exit counters; OVS: packets of unicast vs flooding datapath flows)."
        echo "'other CPU' = median CPU other processes took during the window (of 2): the noise."
        echo "Samples repeated for noise: $repeated; kept though noisy after every retry: $noisy."
        echo
        summarize "$csv"
        if [ "$noisy" -gt 0 ] && [ "$noisy" -lt "$(($(wc -l <"$csv") - 1))" ]; then
            echo
            echo "Without the $noisy noisy samples:"
            echo
            summarize "$csv" clean
        elif [ "$noisy" -gt 0 ]; then
            echo
            echo "No sample was under the noise gate ($MAX_OTHER cores): every number above was"
            echo "measured while other processes took the CPU share in the last column."
        fi
    } | tee "$dir/summary.md"
    if [ -s "$dir/anomalies.txt" ]; then
        echo
        echo "anomalies ($dir/anomalies.txt):"
        cat "$dir/anomalies.txt"
    fi
}

while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) ROUNDS=$2; shift ;;
    --sizes) SIZES=$2; shift ;;
    --backends) BACKENDS=$2; shift ;;
    --mq) QCASES="1 2" ;;
    --quick) ROUNDS=1 SIZES=64 QCASES=1 ;;
    --warmup) WARMUP=$2; shift ;;
    --window) WINDOW=$2; shift ;;
    --max-other) MAX_OTHER=$2; shift ;;
    --quiet-wait) QUIET_WAIT=$2; shift ;;
    --retries) RETRIES=$2; shift ;;
    --ovs-mem) OVS_MEM=$2; shift ;;
    --idle-sleep) IDLE_SLEEP=$2; shift ;;
    --gen-txfreet) GEN_TXFREETS=$2; shift ;;
    --no-install) INSTALL=false ;;
    --out) OUT=$2; shift ;;
    --summary-only) SUMMARY_ONLY=$2; shift ;;
    --vuswitch) VUSWITCH=$2; shift ;;
    --testpmd) TESTPMD=$2; shift ;;
    -h | --help) usage 0 ;;
    *) echo "unknown option: $1" >&2; usage 2 >&2 ;;
    esac
    shift
done
if [ -n "$SUMMARY_ONLY" ]; then
    write_summary "$SUMMARY_ONLY/samples.csv"
    exit 0
fi
case "$ROUNDS" in '' | *[!0-9]* | 0) echo "--rounds: a positive integer" >&2; exit 2 ;; esac
for tf in $GEN_TXFREETS; do
    case "$tf" in default) ;; '' | *[!0-9]*) echo "--gen-txfreet: numbers or default" >&2; exit 2 ;; esac
done
# use_txfreet VALUE: the generator's setting for the next samples, and their case suffix
use_txfreet() {
    GEN_TXFREET=$1
    [ "$1" = default ] && GEN_TXFREET=""
    CASE_SUFFIX=""
    [ "$(echo "$GEN_TXFREETS" | wc -w)" -gt 1 ] && CASE_SUFFIX="-tf$1"
    return 0
}
use_txfreet "${GEN_TXFREETS%% *}"
for b in $BACKENDS; do
    case "$b" in vuswitch | testpmd | ovs) ;; *) echo "unknown back-end $b" >&2; exit 2 ;; esac
done
[ "$(id -u)" -eq 0 ] || { echo "needs root (hugepages, OVS)" >&2; exit 1; }
[ -x "$VUSWITCH" ] || { echo "no vuswitch binary at $VUSWITCH (build first)" >&2; exit 1; }
command -v "$TESTPMD" >/dev/null || { echo "no $TESTPMD (package dpdk)" >&2; exit 1; }

log() { printf '[%s] %s\n' "$(date +%T)" "$*"; }

if [[ " $BACKENDS " == *" ovs "* ]] && [ ! -x "$OVS_VSWITCHD" ]; then
    if $INSTALL; then
        log "installing openvswitch-switch-dpdk (apt)"
        # Debian's policy-rc.d (where present) keeps the system service from starting; this
        # script never uses it either way: it runs its own daemons with their own database.
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            openvswitch-switch-dpdk >/dev/null 2>&1 ||
            { apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install \
                -y --no-install-recommends openvswitch-switch-dpdk >/dev/null 2>&1; } ||
            log "cannot install openvswitch-switch-dpdk"
    fi
    if [ ! -x "$OVS_VSWITCHD" ]; then
        log "no $OVS_VSWITCHD: the OVS back-end is skipped"
        BACKENDS=$(echo "$BACKENDS" | sed 's/\bovs\b//')
    fi
fi

OUT=${OUT:-/tmp/vus-bench-switch.$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/logs"
CSV=$OUT/samples.csv
REJECTED=$OUT/rejected.csv
ANOMALIES=$OUT/anomalies.txt
: >"$ANOMALIES"
WORK=$(mktemp -d /tmp/vus-bench-switch.XXXXXX)
S0=$WORK/sw0.sock S1=$WORK/sw1.sock
GEN_FIFO=$WORK/gen.fifo BE_FIFO=$WORK/be.fifo
GEN_PREFIX=vsbench$$g BE_PREFIX=vsbench$$b OVS_PREFIX=vsbench$$o
OVS_BR=vsb$$
OVS_DIR=$WORK/ovs
PIDS=()
OVS_PIDS=()

anomaly() {
    log "ANOMALY: $*"
    echo "$*" >>"$ANOMALIES"
}

stop_pid() { # stop_pid PID [GRACE_S]
    local pid=$1 grace=${2:-5} i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < grace * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid ignored SIGTERM: SIGKILL"
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    return 0
}
wait_exit() { # wait_exit PID SECONDS: 0 if it exited by itself
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }
        sleep 0.1
    done
    return 1
}
forget_pid() {
    local keep=() p
    for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    PIDS=("${keep[@]+"${keep[@]}"}")
}
wait_for() { # wait_for SECONDS CMD...
    local i
    for ((i = 0; i < $1 * 10; i++)); do
        "${@:2}" && return 0
        sleep 0.1
    done
    return 1
}
count_in() { grep -c -- "$2" "$1" 2>/dev/null || true; }
at_least() { [ "$(count_in "$1" "$2")" -ge "$3" ]; }

remove_prefix_files() {
    local p
    for p in "$GEN_PREFIX" "$BE_PREFIX" "$OVS_PREFIX"; do
        rm -f /dev/hugepages/"$p"map_* 2>/dev/null
        rm -rf /var/run/dpdk/"$p" 2>/dev/null
    done
}

ovsctl() { OVS_RUNDIR=$OVS_DIR OVS_LOGDIR=$OVS_DIR OVS_DBDIR=$OVS_DIR ovs-vsctl --timeout=20 --db="unix:$OVS_DIR/db.sock" "$@"; }
ovsapp() { OVS_RUNDIR=$OVS_DIR ovs-appctl --timeout=10 -t "$OVS_DIR/$1" "${@:2}"; }

ovs_stop() {
    [ ${#OVS_PIDS[@]} -gt 0 ] || return 0
    # The bridge's internal port is a tap device: remove the bridge before OVS goes away.
    ovsctl --if-exists del-br "$OVS_BR" >/dev/null 2>&1
    ovsapp vswitchd.ctl exit >/dev/null 2>&1
    ovsapp ovsdb-server.ctl exit >/dev/null 2>&1
    local p
    for p in "${OVS_PIDS[@]}"; do
        wait_exit "$p" 5 || stop_pid "$p" 3
        forget_pid "$p"
    done
    OVS_PIDS=()
    ip link del "$OVS_BR" >/dev/null 2>&1
    return 0
}

cleanup() {
    local pid
    trap - EXIT INT TERM
    ovs_stop
    for pid in "${PIDS[@]}"; do stop_pid "$pid" 3; done
    PIDS=()
    exec 3>&- 4>&- 2>/dev/null
    ip link del "$OVS_BR" >/dev/null 2>&1
    rm -rf "$WORK"
    remove_prefix_files
}
trap cleanup EXIT
on_signal() {
    log "$1: stopping; summary of the samples so far:"
    trap - INT TERM
    cleanup
    [ "$(wc -l <"$CSV" 2>/dev/null || echo 0)" -gt 1 ] && write_summary "$CSV"
    exit "$2"
}
trap 'on_signal interrupted 130' INT
trap 'on_signal terminated 143' TERM

# --- memory --------------------------------------------------------------------------------------
HUGEPAGES=0 HUGEPAGE_MOUNT=""
if [ -x "$TOP/devtools/hugepages.sh" ]; then
    eval "$("$TOP/devtools/hugepages.sh" 768 | tee "$OUT/logs/hugepages.log" | tail -n1)"
fi
if [ "${HUGEPAGES:-0}" -ge 384 ] && [ -n "${HUGEPAGE_MOUNT:-}" ]; then
    MEM_MODE="hugepages-2M"
    DP_MEM=(--single-file-segments --huge-dir "$HUGEPAGE_MOUNT")
else
    MEM_MODE="no-huge"
    DP_MEM=(--no-huge -m 512)
    if [[ " $BACKENDS " == *" ovs "* ]]; then
        log "no hugepages: OVS (DPDK --in-memory) cannot run; the OVS back-end is skipped"
        BACKENDS=$(echo "$BACKENDS" | sed 's/\bovs\b//')
    fi
fi
EAL_COMMON=(--no-pci "${DP_MEM[@]}")

# --- commands ------------------------------------------------------------------------------------
gen_cmd() { # gen_cmd QUEUES
    local q=$1 lc
    [ "$q" -eq 1 ] && lc="-l 0,1 --main-lcore 1" || lc="--lcores 0@1,1@0,2@1 --main-lcore 0"
    echo "$TESTPMD $lc ${EAL_COMMON[*]} --iova-mode=va --file-prefix $GEN_PREFIX" \
        "--vdev net_virtio_user0,path=$S0,server=1,queues=$q,queue_size=1024,mac=$MAC0" \
        "--vdev net_virtio_user1,path=$S1,server=1,queues=$q,queue_size=1024,mac=$MAC1" \
        "-- -i --nb-cores=$q --rxq=$q --txq=$q --rxd=1024 --txd=1024 --total-num-mbufs=$NB_MBUFS" \
        "${GEN_TXFREET:+--txfreet=$GEN_TXFREET}"
}
be_lcores() { [ "$1" -eq 1 ] && echo "-l 0,1 --main-lcore 0" || echo "--lcores 0@0,1@0,2@1 --main-lcore 0"; }
be_cmd() { # be_cmd BACKEND QUEUES
    local q=$2
    case "$1" in
    vuswitch)
        echo "$VUSWITCH $(be_lcores "$q") ${EAL_COMMON[*]} --file-prefix $BE_PREFIX --" \
            "--vhost-user $S0,client,queues=$q --vhost-user $S1,client,queues=$q --fwd ${VUS_FWD:-switch}" \
            "${IDLE_SLEEP:+--idle-sleep $IDLE_SLEEP}" ;;
    testpmd)
        echo "$TESTPMD $(be_lcores "$q") ${EAL_COMMON[*]} --file-prefix $BE_PREFIX" \
            "--vdev net_vhost0,iface=$S0,client=1,queues=$q" \
            "--vdev net_vhost1,iface=$S1,client=1,queues=$q" \
            "-- -i --nb-cores=$q --rxq=$q --txq=$q --forward-mode=io --total-num-mbufs=$NB_MBUFS" ;;
    ovs)
        echo "ovsdb-server + $OVS_VSWITCHD; other_config: dpdk-init=true" \
            "pmd-cpu-mask=$([ "$q" -eq 1 ] && echo 0x2 || echo 0x3) dpdk-socket-mem=$OVS_MEM" \
            "dpdk-extra='--no-pci --file-prefix $OVS_PREFIX'${IDLE_SLEEP:+ pmd-maxsleep=$IDLE_SLEEP};" \
            "add-br $OVS_BR datapath_type=netdev;" \
            "add-port vhu0/vhu1 type=dpdkvhostuserclient options:vhost-server-path=$S0/$S1;" \
            "flows: the default (actions=NORMAL)" ;;
    esac
}

# ovs_start QUEUES LOGPREFIX: fresh database and daemons in $OVS_DIR
ovs_start() {
    local q=$1 lp=$2 mask
    [ "$q" -eq 1 ] && mask=0x2 || mask=0x3
    rm -rf "$OVS_DIR"
    mkdir -p "$OVS_DIR"
    ovsdb-tool create "$OVS_DIR/conf.db" "$OVS_SCHEMA" >"$lp-ovsdb.log" 2>&1 || return 1
    OVS_RUNDIR=$OVS_DIR OVS_LOGDIR=$OVS_DIR OVS_DBDIR=$OVS_DIR \
        ovsdb-server "$OVS_DIR/conf.db" --remote="punix:$OVS_DIR/db.sock" --no-chdir \
        --pidfile="$OVS_DIR/ovsdb-server.pid" --unixctl="$OVS_DIR/ovsdb-server.ctl" \
        --log-file="$OVS_DIR/ovsdb-server.log" >>"$lp-ovsdb.log" 2>&1 &
    OVS_PIDS+=($!)
    PIDS+=($!)
    wait_for 10 test -S "$OVS_DIR/db.sock" || return 1
    ovsctl --no-wait init &&
        ovsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true \
            "other_config:pmd-cpu-mask=$mask" "other_config:dpdk-socket-mem=$OVS_MEM" \
            "other_config:dpdk-socket-limit=$OVS_MEM" \
            "other_config:dpdk-extra=--no-pci --file-prefix $OVS_PREFIX" \
            ${IDLE_SLEEP:+"other_config:pmd-maxsleep=$IDLE_SLEEP"} || return 1
    OVS_RUNDIR=$OVS_DIR OVS_LOGDIR=$OVS_DIR OVS_DBDIR=$OVS_DIR \
        stdbuf -oL -eL "$OVS_VSWITCHD" "unix:$OVS_DIR/db.sock" --no-chdir \
        --pidfile="$OVS_DIR/vswitchd.pid" --unixctl="$OVS_DIR/vswitchd.ctl" \
        --log-file="$OVS_DIR/vswitchd.log" >"$lp-vswitchd.out" 2>&1 &
    OVS_PIDS+=($!)
    PIDS+=($!)
    wait_for 30 test -S "$OVS_DIR/vswitchd.ctl" || return 1
    ovsctl add-br "$OVS_BR" -- set bridge "$OVS_BR" datapath_type=netdev \
        -- add-port "$OVS_BR" vhu0 -- set Interface vhu0 type=dpdkvhostuserclient \
        "options:vhost-server-path=$S0" \
        -- add-port "$OVS_BR" vhu1 -- set Interface vhu1 type=dpdkvhostuserclient \
        "options:vhost-server-path=$S1" >>"$lp-ovsdb.log" 2>&1
}

# gen_stats LOG: `show port stats all` -> "rx0 rx1 pps0 pps1 epoch"
gen_stats() {
    local logf=$1 n0 t
    n0=$(wc -l <"$logf")
    t=$(date +%s.%N)
    echo "show port stats all" >&3
    wait_for 5 eval "[ \$(tail -n +$((n0 + 1)) '$logf' | grep -c 'Tx-pps') -ge 2 ]" || return 1
    tail -n +$((n0 + 1)) "$logf" | awk -v t="$t" '
        /NIC statistics for port/ { p = $(NF - 1) + 0 }
        /RX-packets:/ { rx[p] = $2 }
        /Rx-pps:/ { pps[p] = $2 }
        END { print rx[0] + 0, rx[1] + 0, pps[0] + 0, pps[1] + 0, t }'
}

HZ=$(getconf CLK_TCK)
# cpu_ticks PID...: "busy own" ticks (machine busy time; our processes' utime+stime, threads
# included)
cpu_ticks() {
    local busy own=0 p t
    busy=$(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat)
    for p in "$@"; do
        t=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }')
        own=$((own + ${t:-0}))
    done
    echo "$busy $own"
}

# vus_lcores: "rx_packets loops busy_loops" summed over vuswitch's forwarding lcores (telemetry;
# empty if the socket does not answer). Tells a back-end that waits for the generator (few busy
# loops, full bursts) from one that is the bottleneck (every loop busy).
vus_lcores() {
    "$TOP/devtools/vuswitch-telemetry.py" --file-prefix "$BE_PREFIX" /vuswitch/lcores 2>/dev/null |
        python3 -c 'import json, sys
d = json.loads(sys.stdin.read() or "{}")
print(*(sum(v.get(k, 0) for v in d.values()) for k in ("rx_packets", "loops", "busy_loops")))' 2>/dev/null
}

# run_sample ROUND BACKEND SIZE QUEUES: sets SAMPLE_LINE and SAMPLE_OTHER
run_sample() {
    local round=$1 be=$2 size=$3 q=$4
    local case="${size}B-${q}q$CASE_SUFFIX" tag lp gen_log be_log gen_pid be_pid="" cmd st1 st2 c1 c2 other
    local pps="" pps_tp="" p0="" p1="" win="" uc="" fl="" note="" l1="" l2="" lc_busy="" lc_burst=""
    tag=$(printf 'r%02d-%s-%s' "$round" "$case" "$be")
    lp=$OUT/logs/$tag
    gen_log=$lp-generator.log be_log=$lp-backend.log
    rm -f "$S0" "$S1" "$GEN_FIFO" "$BE_FIFO"
    remove_prefix_files

    # back-end first (a client: it retries until the generator's sockets exist)
    case "$be" in
    vuswitch)
        cmd=$(be_cmd vuswitch "$q")
        echo "# $cmd" >"$be_log"
        # shellcheck disable=SC2086
        stdbuf -oL -eL $cmd </dev/null >>"$be_log" 2>&1 &
        be_pid=$!
        PIDS+=("$be_pid")
        ;;
    testpmd)
        cmd=$(be_cmd testpmd "$q")
        echo "# $cmd" >"$be_log"
        mkfifo "$BE_FIFO"
        exec 4<>"$BE_FIFO"
        # shellcheck disable=SC2086
        stdbuf -oL -eL $cmd <"$BE_FIFO" >>"$be_log" 2>&1 &
        be_pid=$!
        PIDS+=("$be_pid")
        wait_for 30 at_least "$be_log" 'testpmd> ' 1 || anomaly "$tag: back-end testpmd has no prompt"
        echo "start" >&4
        ;;
    ovs)
        echo "# $(be_cmd ovs "$q")" >"$be_log"
        if ! ovs_start "$q" "$lp"; then
            anomaly "$tag: OVS did not start (see $lp-*.log, $OVS_DIR)"
            cp "$OVS_DIR"/*.log "$OUT/logs/" 2>/dev/null
            ovs_stop
            SAMPLE_LINE="$round,$case,$size,$q,$be,,,,,,,,,ovs-start-failed"
            SAMPLE_OTHER="" SAMPLE_LCORE=","
            return 0
        fi
        be_pid=${OVS_PIDS[1]}
        ;;
    esac

    # generator
    cmd=$(gen_cmd "$q")
    echo "# $cmd" >"$gen_log"
    mkfifo "$GEN_FIFO"
    exec 3<>"$GEN_FIFO"
    # shellcheck disable=SC2086
    stdbuf -oL -eL $cmd <"$GEN_FIFO" >>"$gen_log" 2>&1 &
    gen_pid=$!
    PIDS+=("$gen_pid")
    wait_for 40 at_least "$gen_log" 'testpmd> ' 1 || anomaly "$tag: generator has no prompt"
    sleep 1 # virtio-user re-sends its memory table right after the port starts
    {
        echo "set fwd mac"
        echo "set eth-peer 0 $MAC1"
        echo "set eth-peer 1 $MAC0"
        [ "$size" -gt 64 ] && echo "set txpkts $size"
        echo "start tx_first 32"
    } >&3
    sleep "$WARMUP"
    local pids=("$be_pid" "$gen_pid" "${OVS_PIDS[@]+"${OVS_PIDS[@]}"}")
    [ "$be" = vuswitch ] && l1=$(vus_lcores)
    c1=$(cpu_ticks "${pids[@]}")
    st1=$(gen_stats "$gen_log")
    if [ -n "${VUS_BENCH_PERF:-}" ]; then # a cpu-clock profile of the window (both CPUs)
        perf record -q -e cpu-clock -F 4000 -a -o "$lp-perf.data" -- sleep "$WINDOW" >/dev/null 2>&1
    else
        sleep "$WINDOW"
    fi
    st2=$(gen_stats "$gen_log")
    c2=$(cpu_ticks "${pids[@]}")
    [ "$be" = vuswitch ] && l2=$(vus_lcores)
    if [ -n "$l1" ] && [ -n "$l2" ]; then # busy share of the loops, packets per busy loop
        read -r lc_busy lc_burst < <(echo "$l1 $l2" | awk '{
            l = $5 - $2; b = $6 - $3
            printf "%.3f %.1f\n", (l > 0 ? b / l : 0), (b > 0 ? ($4 - $1) / b : 0) }')
    fi
    other=$(echo "$c1 $c2" | awk -v hz="$HZ" -v w="$WINDOW" '{
        f = (($3 - $1) - ($4 - $2)) / hz / w; if (f < 0) f = 0; printf "%.2f", f }')
    if [ -n "$st1" ] && [ -n "$st2" ]; then
        read -r a0 a1 _ _ t1 <<<"$st1"
        read -r b0 b1 p0 p1 t2 <<<"$st2"
        win=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2f", b - a }')
        pps=$(awk -v a=$((a0 + a1)) -v b=$((b0 + b1)) -v w="$win" 'BEGIN { printf "%.0f", (b - a) / w }')
        pps_tp=$((p0 + p1))
        [ "$p0" -eq 0 ] || [ "$p1" -eq 0 ] && anomaly "$tag: one direction stalled (Rx-pps $p0 / $p1)"
    else
        anomaly "$tag: no statistics from the generator (see $gen_log)"
    fi

    # fairness evidence, then tear down: generator first, then the back-end
    if [ "$be" = ovs ]; then
        {
            echo "## fdb/show"; ovsapp vswitchd.ctl fdb/show "$OVS_BR"
            echo "## dpctl/dump-flows"; ovsapp vswitchd.ctl dpctl/dump-flows
            echo "## dpif-netdev/pmd-stats-show"; ovsapp vswitchd.ctl dpif-netdev/pmd-stats-show
            echo "## dpif-netdev/pmd-rxq-show"; ovsapp vswitchd.ctl dpif-netdev/pmd-rxq-show
        } >"$lp-ovs-state.txt" 2>&1
        # datapath flows with one output action carry unicast, with several a flood
        read -r uc fl < <(awk '/actions:/ {
            n = 0; if (match($0, /packets:[0-9]+/)) n = substr($0, RSTART + 8, RLENGTH - 8)
            a = $0; sub(/.*actions:/, "", a)
            if (a ~ /,/) f += n; else u += n } END { print u + 0, f + 0 }' "$lp-ovs-state.txt")
        grep -qi "$MAC0" "$lp-ovs-state.txt" && grep -qi "$MAC1" "$lp-ovs-state.txt" ||
            anomaly "$tag: OVS did not learn both generator MACs"
    fi
    printf 'stop\nquit\n' >&3
    wait_exit "$gen_pid" 15 || { anomaly "$tag: generator did not quit"; stop_pid "$gen_pid"; }
    forget_pid "$gen_pid"
    exec 3>&-
    case "$be" in
    vuswitch)
        kill -TERM "$be_pid" 2>/dev/null
        wait_exit "$be_pid" 15 || { anomaly "$tag: vuswitch did not stop on SIGTERM"; stop_pid "$be_pid"; }
        forget_pid "$be_pid"
        read -r uc fl < <(sed -n 's/^switch: unicast \([0-9]*\) flooded \([0-9]*\).*/\1 \2/p' "$be_log" | tail -n1)
        [ -n "$uc" ] || anomaly "$tag: no switch counters in vuswitch's exit report"
        ;;
    testpmd)
        printf 'stop\nquit\n' >&4
        wait_exit "$be_pid" 15 || { anomaly "$tag: back-end testpmd did not quit"; stop_pid "$be_pid"; }
        forget_pid "$be_pid"
        exec 4>&-
        ;;
    ovs)
        cp "$OVS_DIR/vswitchd.log" "$lp-vswitchd.log" 2>/dev/null
        ovs_stop
        ;;
    esac
    if grep -qiE 'segmentation|panic|assert|core dumped' "$be_log" "$gen_log"; then
        anomaly "$tag: crash signature in the logs"
    fi
    log "$tag: ${pps:-?} pps (testpmd Rx-pps $p0 + $p1; unicast ${uc:--} flooded ${fl:--}; other CPU $other${lc_busy:+; busy loops $lc_busy, $lc_burst pkts each})"
    SAMPLE_LINE="$round,$case,$size,$q,$be,$pps,$pps_tp,$p0,$p1,$win,$other,$uc,$fl,$note"
    SAMPLE_LCORE="$lc_busy,$lc_burst"
    SAMPLE_OTHER=$other
}

busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }
wait_quiet() {
    local t0=$SECONDS b1 b2 said=false
    while :; do
        b1=$(busy_ticks)
        sleep 1
        b2=$(busy_ticks)
        if awk -v d=$((b2 - b1)) -v hz="$HZ" -v m="$MAX_OTHER" 'BEGIN { exit !(d / hz <= m) }'; then
            $said && log "quiet after $((SECONDS - t0)) s"
            return 0
        fi
        if [ $((SECONDS - t0)) -ge "$QUIET_WAIT" ]; then
            log "machine still busy after ${QUIET_WAIT}s: measuring anyway"
            return 0
        fi
        $said || log "machine busy ($(awk -v d=$((b2 - b1)) -v hz="$HZ" 'BEGIN { printf "%.2f", d / hz }') cores): waiting"
        said=true
        sleep 2
    done
}

sample() {
    local attempt noisy
    for ((attempt = 1; ; attempt++)); do
        wait_quiet
        run_sample "$@"
        if awk -v o="$SAMPLE_OTHER" -v m="$MAX_OTHER" 'BEGIN { exit !(o == "" || o <= m) }'; then
            noisy=0
            break
        fi
        if [ "$attempt" -gt "$RETRIES" ]; then
            noisy=1
            break
        fi
        echo "$SAMPLE_LINE,1,$attempt,$MEM_MODE,$SAMPLE_LCORE" >>"$REJECTED"
        log "noisy sample (other processes took $SAMPLE_OTHER cores > $MAX_OTHER): repeating"
    done
    echo "$SAMPLE_LINE,$noisy,$attempt,$MEM_MODE,$SAMPLE_LCORE" >>"$CSV"
}

echo "round,case,size,queues,backend,pps,rx_pps_testpmd,rx_pps_port0,rx_pps_port1,window_s,other_cpu,unicast,flooded,note,noisy,attempt,memory,vus_busy_share,vus_pkts_per_busy_loop" >"$CSV"
head -n1 "$CSV" >"$REJECTED"
{
    echo "date: $(date -Is)"
    echo "host: nproc=$(nproc) cpu='$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)' kernel=$(uname -r)"
    echo "memory: $MEM_MODE (free 2M hugepages: ${HUGEPAGES:-0})"
    echo "vuswitch: $VUSWITCH (sha1 $(sha1sum <"$VUSWITCH" | cut -c1-12)); tree $(git -C "$TOP" describe --always --dirty 2>/dev/null || echo '?')"
    echo "dpdk-testpmd: $(command -v "$TESTPMD") ($(dpkg-query -W -f='${Version}' dpdk 2>/dev/null))"
    echo "ovs: $OVS_VSWITCHD ($(dpkg-query -W -f='${Version}' openvswitch-switch-dpdk 2>/dev/null))"
    echo "rounds=$ROUNDS sizes='$SIZES' queue pairs='$QCASES' backends='$BACKENDS' warmup=${WARMUP}s window=${WINDOW}s"
    echo "noise gate: max-other=$MAX_OTHER cores, retries=$RETRIES, quiet-wait=${QUIET_WAIT}s"
    for q in $QCASES; do
        echo "[$q queue pair(s)]"
        for tf in $GEN_TXFREETS; do
            use_txfreet "$tf"
            echo "generator:          $(gen_cmd "$q")"
        done
        echo "                    + set fwd mac; set eth-peer 0 $MAC1; set eth-peer 1 $MAC0; [set txpkts N]; start tx_first 32"
        for b in $BACKENDS; do
            printf 'back-end %-9s  %s\n' "$b:" "$(be_cmd "$b" "$q")"
        done
    done
} | tee "$OUT/run-info.txt"
log "results in $OUT"

T0=$SECONDS
for ((round = 1; round <= ROUNDS; round++)); do
    # rotate the back-end order from one round to the next
    read -ra bl <<<"$BACKENDS"
    order=()
    for ((i = 0; i < ${#bl[@]}; i++)); do
        order+=("${bl[$(((i + round - 1) % ${#bl[@]}))]}")
    done
    for q in $QCASES; do
        for size in $SIZES; do
            for tf in $GEN_TXFREETS; do
                use_txfreet "$tf"
                for be in "${order[@]}"; do
                    sample "$round" "$be" "$size" "$q"
                done
            done
        done
    done
    log "round $round/$ROUNDS done after $((SECONDS - T0)) s"
done
write_summary "$CSV"
log "total $((SECONDS - T0)) s; samples: $CSV; logs: $OUT/logs"
