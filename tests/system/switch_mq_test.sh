#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# switch_mq_test.sh BUILD_DIR [testpmd|testpmd_sleep|qemu] -- the L2 switch (`--fwd switch`) with
# two forwarding lcores and two queue pairs per vhost-user port. Without a leg argument testpmd
# and qemu run.
#
# vuswitch: `--lcores 0@0,1@0,2@1 --main-lcore 0`: the main lcore (which only waits for a signal)
# and forwarding lcore 1 share CPU 0, forwarding lcore 2 has CPU 1: two forwarding lcores on a
# 2-CPU machine. Two server ports `--vhost-user PATH,queues=2`. The log must say `forwarding
# (switch) on 2 lcore(s)`, and both rings of queue pair 1 (rings 2, 3) must run on both ports.
#
# Leg testpmd (exact counts): one dpdk-testpmd, two net_virtio_user ports with queues=2
# (`--rxq=2 --txq=2`), `set fwd mac` with each port's eth-peer set to the other port's MAC (so
# the switch learns both and forwards unicast), `start tx_first 8`: 8 bursts on each of the four
# TX queues, which then circulate port 0 -> switch -> port 1 -> testpmd -> port 0 ... each on its
# own queue index (testpmd's streams keep the queue). After a few seconds `stop` and the per-queue
# extended statistics. Asserts, per port P and queue Q:
#   - vuswitch's `queue Q rx` of port P = testpmd's tx_qQ_packets of port P, exactly (everything
#     testpmd put on that TX ring, and nothing else, was counted on that queue);
#   - every queue carried traffic both ways (rx and tx > 0 for Q = 0, 1 of both ports);
#   - the per-queue lines add up to the port's totals;
#   - conservation: port 0's rx = port 1's tx + tx-dropped and the reverse (two ports: every frame
#     goes to the other one), and the switch counted unicast frames.
# Leg testpmd_sleep: the testpmd leg with `--idle-sleep 200` (the forwarding lcores share CPUs
# with testpmd's): the same exact counts and no frame dropped; once traffic stopped each
# lcore slept (`idle_sleeps` of /vuswitch/lcores grew within a second) and looped no more than
# 256 times per sleep allows; /vuswitch/fwd reports `idle_sleep_us` 200.
# Leg qemu (a real multiqueue guest): two QEMU guests (TCG) with `-smp 2`, `-netdev
# vhost-user,...,queues=2` and `-device virtio-net-pci,mq=on,vectors=0`. Linux enables
# min(CPUs, queue pairs) = 2 pairs by default (no ethtool needed) and its XPS map sends from CPU
# i on TX queue i: each guest pings the other from CPU 0 and from CPU 1 at once (`taskset`).
# Asserts: the guest has queues rx-0 rx-1 tx-0 tx-1, no ping is lost, every queue of both ports
# carried traffic both ways, per-queue lines add up to the totals, conservation as above.
# QEMU 7.2 sets up each queue pair as its own vhost device on the one socket and, with
# CONFIGURE_MEM_SLOTS, sends ADD_MEM_REG for the same region once per pair: a back-end that
# refuses the repeat ("memory table refused: regions overlap") makes QEMU fall back to
# userspace virtio; the leg then fails at once with that message.
#
# Exit: 0 pass, 77 skip (not root; no QEMU for the qemu leg, no dpdk-testpmd for the testpmd leg;
# both missing skips), 1 fail (with the tail of every log).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/system/lib.sh
. "$HERE/lib.sh"
# shellcheck source=tests/system/lib_qemu.sh
. "$HERE/lib_qemu.sh"

vus_test_init switch_mq "${1:-}"
LEGS=("${@:2}")
[ ${#LEGS[@]} -eq 0 ] && LEGS=(testpmd qemu)
for l in "${LEGS[@]}"; do
    case "$l" in testpmd | testpmd_sleep | qemu) ;;
    *) echo "usage: $0 BUILD_DIR [testpmd|testpmd_sleep|qemu]" >&2; exit 1 ;;
    esac
done
need_root_or_skip
[ -x "$VUS_BIN" ] || fail "vuswitch binary not found at $VUS_BIN (build it first)"
TESTPMD=${TESTPMD:-dpdk-testpmd}
have_testpmd=0 have_qemu=0
command -v "$TESTPMD" >/dev/null 2>&1 && have_testpmd=1
command -v "$VUS_QEMU" >/dev/null 2>&1 && have_qemu=1
RUN=()
for l in "${LEGS[@]}"; do
    if [ "$l" != qemu ] && [ $have_testpmd = 0 ]; then
        note "no $TESTPMD: skipping the testpmd leg"
    elif [ "$l" = qemu ] && [ $have_qemu = 0 ]; then
        note "no $VUS_QEMU: skipping the qemu leg"
    else
        RUN+=("$l")
    fi
done
[ ${#RUN[@]} -gt 0 ] || skip "neither $TESTPMD nor $VUS_QEMU available for: ${LEGS[*]}"
TO=${VUS_TEST_TIMEOUT:-30}
CLIENT=$HERE/../../devtools/vuswitch-telemetry.py

# --- vuswitch with two forwarding lcores on two CPUs ---------------------------------------------
# start_vs NAME SOCK0 SOCK1 [ARG...]: like start_vuswitch, with --lcores instead of -l; ARGs go
# to vuswitch
start_vs() {
    local name=$1
    start_bg "$name" "$VUS_BIN" --lcores 0@0,1@0,2@1 --main-lcore 0 --no-pci \
        --file-prefix "$VUS_PREFIX-$name" --no-huge -m 256 '--log-level=vus.*:debug' -- \
        --vhost-user "$2,queues=2" --vhost-user "$3,queues=2" --fwd switch "${@:4}"
    wait_for_log "${VUS_LOG[$name]}" "$(port_re 1 "$3" listening)" "$TO" ||
        fail "$name: port 1 not listening"
    wait_for_log "${VUS_LOG[$name]}" 'forwarding \(switch\) on 2 lcore\(s\)' "$TO" ||
        fail "$name: not forwarding on 2 lcores"
}

# wait_pairs LOG: rings 0..3 (queue pairs 0 and 1) of ports 0 and 1 running and enabled
wait_pairs() {
    local log=$1 p r
    for p in 0 1; do
        for r in 0 1 2 3; do
            wait_for_log "$log" "port $p .*ring $r running: .*enabled" 90 ||
                fail "port $p: ring $r (queue pair $((r / 2))) not running and enabled"
        done
    done
}

# queue_counter LOG PORT Q rx|tx: packets of that queue in the exit report (0 if not printed:
# vuswitch omits queues that carried nothing)
queue_counter() {
    tr -d '\r' <"$1" | awk -v p="$2" -v q="$3" -v d="$4" '
        /^port [0-9]+ / { cur = $2 }
        cur == p && $1 == "queue" && $2 == q && $3 == d ":" { v = $5 }
        END { print v + 0 }'
}

# port_counter LOG PORT FIELD
port_counter() {
    tr -d '\r' <"$1" | sed -n "s/^port $2 [^:]*:.* $3 \([0-9]*\).*/\1/p" | tail -n1
}

# check_queues LOG: every queue of both ports carried traffic both ways, queues add up to the
# port totals, frames are conserved between the two ports, unicast was counted.
check_queues() {
    local log=$1 p q d sum tot other
    echo "vuswitch's exit report:"
    tr -d '\r' <"$log" | grep -E '^(port [0-9]+ |  queue |fdb:|switch:)' | sed 's/^/  /'
    for p in 0 1; do
        for d in rx tx; do
            sum=0
            for q in 0 1; do
                v=$(queue_counter "$log" $p $q $d)
                [ "$v" -gt 0 ] || fail "port $p queue $q $d carried nothing"
                sum=$((sum + v))
            done
            tot=$(port_counter "$log" $p "$d-packets")
            [ "$sum" -eq "${tot:-x}" ] ||
                fail "port $p: $d per queue adds up to $sum, the port counted ${tot:-nothing}"
        done
        other=$((1 - p))
        tot=$(($(port_counter "$log" $other tx-packets) + $(port_counter "$log" $other tx-dropped)))
        [ "$(port_counter "$log" $p rx-packets)" -eq "$tot" ] ||
            fail "port $p received $(port_counter "$log" $p rx-packets) frames, port $other was given $tot"
    done
    local uc
    uc=$(sed -n 's/^switch: unicast \([0-9]*\) .*/\1/p' "$log" | tail -n1)
    [ "${uc:-0}" -gt 0 ] || fail "the switch counted no unicast frame"
}

stop_vs() {
    local rc=0
    stop_bg "$1" 15 || rc=$?
    [ "$rc" -eq 0 ] || fail "vuswitch $1 did not exit cleanly: $(_describe_status "$rc")"
}

# --- testpmd control (commands through a FIFO held open read-write) ----------------------------
declare -gA TP_FD=()
tp_start() {
    local name=$1 fifo=$VUS_T/$1.in fd
    shift
    [ -p "$fifo" ] || mkfifo "$fifo"
    exec {fd}<>"$fifo"
    TP_FD[$name]=$fd
    # shellcheck disable=SC2016 # $0 and $@ belong to the inner bash
    start_bg "$name" bash -c 'exec "$@" <>"$0"' "$fifo" \
        "$TESTPMD" --lcores 0@0,1@1 --no-huge -m 256 --iova-mode=va --no-pci \
        --file-prefix "$VUS_PREFIX-$name" "$@"
    wait_for_log "${VUS_LOG[$name]}" '^testpmd> ' "$TO" || fail "$name: no testpmd prompt"
}
tp_do() { # tp_do NAME CMD: send CMD, wait for the next prompt
    local name=$1 log=${VUS_LOG[$1]} n
    n=$(count_log "$log" '^testpmd> ')
    printf '%s\n' "$2" >&"${TP_FD[$name]}"
    wait_for_log "$log" '^testpmd> ' "$TO" $((n + 1)) || fail "$name: no prompt after '$2'"
}
tp_quit() {
    local name=$1 i fd=${TP_FD[$1]}
    unwatch_bg "$name"
    printf 'quit\n' >&"$fd"
    for ((i = 0; i < TO * 10; i++)); do
        is_alive "$name" || break
        sleep 0.1
    done
    is_alive "$name" && fail "$name did not quit within ${TO}s"
    _reap "$name"
    exec {fd}>&-
}

# leg_testpmd [IDLE_SLEEP_US]: with an idle sleep, vuswitch runs with --idle-sleep and the lcores
# must have slept once traffic stopped, with every frame still accounted for exactly.
leg_testpmd() {
    local sleep_us=${1:-}
    note "testpmd leg: vuswitch (2 lcores${sleep_us:+, --idle-sleep $sleep_us}) + testpmd with two" \
        "virtio-user ports, 2 queue pairs each"
    local s0=$VUS_T/tp0.sock s1=$VUS_T/tp1.sock vs=vs-tp tp=testpmd
    local mac0=02:00:00:00:5a:01 mac1=02:00:00:00:5a:02
    start_vs "$vs" "$s0" "$s1" ${sleep_us:+--idle-sleep "$sleep_us"}
    local vlog=${VUS_LOG[$vs]}
    tp_start "$tp" \
        --vdev "net_virtio_user0,path=$s0,queues=2,queue_size=1024,mac=$mac0" \
        --vdev "net_virtio_user1,path=$s1,queues=2,queue_size=1024,mac=$mac1" \
        -- -i --rxq=2 --txq=2 --nb-cores=1 --rxd=1024 --txd=1024 --total-num-mbufs=16384
    wait_pairs "$vlog"
    tp_do "$tp" "set fwd mac"
    tp_do "$tp" "set eth-peer 0 $mac1"
    tp_do "$tp" "set eth-peer 1 $mac0"
    tp_do "$tp" "start tx_first 8"
    sleep "${VUS_MQ_SECONDS:-4}"
    tp_do "$tp" "stop"
    sleep 1 # vuswitch drains what is still in the rings
    [ -z "$sleep_us" ] || check_idle_sleeps "$VUS_PREFIX-$vs" "$sleep_us"
    local tlog=${VUS_LOG[$tp]} start
    start=$(($(wc -l <"$tlog") + 1))
    tp_do "$tp" "show port xstats 0"
    tp_do "$tp" "show port xstats 1"
    local xs
    xs=$(tail -n "+$start" "$tlog" | tr -d '\r')
    tp_quit "$tp"
    stop_vs "$vs"
    check_queues "$vlog"
    local p q want got
    if [ -n "$sleep_us" ]; then # sleeping lost nothing: the closed loop never overflows a ring
        for p in 0 1; do
            [ "$(port_counter "$vlog" $p tx-dropped)" = 0 ] ||
                fail "port $p dropped $(port_counter "$vlog" $p tx-dropped) frames with --idle-sleep"
        done
    fi
    # Exactly what testpmd put on TX queue Q of port P came out of vuswitch's queue Q of port P.
    for p in 0 1; do
        for q in 0 1; do
            # tx_qN_good_packets in DPDK 22.11 (tx_qN_packets in older releases)
            want=$(awk -v p="$p" -v k1="tx_q${q}_good_packets:" -v k2="tx_q${q}_packets:" '
                /NIC extended statistics for port/ { cur = $NF }
                cur == p && ($1 == k1 || $1 == k2) { print $2 }' <<<"$xs" | tail -n1)
            got=$(queue_counter "$vlog" $p $q rx)
            echo "port $p queue $q: testpmd sent $want, vuswitch received $got"
            [ -n "$want" ] || fail "no tx_q${q}_good_packets for port $p in testpmd's xstats"
            [ "$got" -eq "$want" ] ||
                fail "port $p queue $q: testpmd sent $want frames on that queue, vuswitch counted $got"
        done
    done
    # Every frame received was switched with one destination lookup, and with two hosts
    # the lcores' table caches answer almost all of them (only the first bursts, before
    # the hosts are learned, reach the table).
    local rx0 rx1 fl lookups hits lhits
    rx0=$(grep -m1 -oE '^port 0 [^:]*: rx-packets [0-9]+' "$vlog" | awk '{print $NF}')
    rx1=$(grep -m1 -oE '^port 1 [^:]*: rx-packets [0-9]+' "$vlog" | awk '{print $NF}')
    fl=$(grep -m1 '^fdb-stats:' "$vlog") || fail "no fdb-stats line at vuswitch's exit"
    lookups=$(awk '{print $3}' <<<"$fl") hits=$(awk '{print $7}' <<<"$fl")
    lhits=$(awk '{print $11}' <<<"$fl")
    echo "$fl (port rx: $rx0 + $rx1)"
    [ "$lookups" -eq $((rx0 + rx1)) ] ||
        fail "fdb lookups $lookups, but the ports received $((rx0 + rx1)) frames"
    [ "$hits" -ge $((lookups * 9 / 10)) ] ||
        fail "lcore caches answered $hits of $lookups lookups (two known hosts: expected >= 90%)"
    [ "$lhits" -gt 0 ] || fail "the lcore caches never spared the table a known source"
    note "testpmd leg passed"
}

# check_idle_sleeps FILE_PREFIX US: /vuswitch/fwd reports the setting, and each forwarding lcore,
# idle now, slept (idle_sleeps grew) and polled far less than it can spin: a sleep of US after
# every FWD_IDLE_STREAK (256) empty loops allows at most 256 loops per US of the window (twice
# that is the bound here; an lcore that never sleeps loops tens of millions of times a second).
check_idle_sleeps() {
    local pfx=$1 us=$2 a b t0 t1
    t0=$(date +%s.%N)
    a=$(python3 "$CLIENT" --file-prefix "$pfx" /vuswitch/lcores) || fail "no /vuswitch/lcores"
    sleep 1
    b=$(python3 "$CLIENT" --file-prefix "$pfx" /vuswitch/lcores) || fail "no /vuswitch/lcores"
    t1=$(date +%s.%N)
    python3 "$CLIENT" --file-prefix "$pfx" /vuswitch/fwd | grep -q "\"idle_sleep_us\": ${us}[,}]" ||
        fail "/vuswitch/fwd does not report idle_sleep_us $us"
    python3 - "$a" "$b" "$us" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" <<'PY' ||
import json, sys
a, b, us, secs = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
ok = len(b) == 2
for lc in sorted(b):
    slept = b[lc]["idle_sleeps"] - a[lc]["idle_sleeps"]
    loops = b[lc]["loops"] - a[lc]["loops"]
    bound = 2 * 256 * (secs * 1e6 / us + 1)
    print("lcore %s: %d loops, %d idle sleeps in %.2f s (bound %d loops)" % (lc, loops, slept, secs, bound))
    ok = ok and slept > 0 and loops <= bound
sys.exit(0 if ok else 1)
PY
        fail "idle lcores did not sleep as asked"
}

leg_testpmd_sleep() { leg_testpmd 200; }

leg_qemu() {
    note "qemu leg: vuswitch (2 lcores) + two QEMU guests with 2 vCPUs and 2 queue pairs"
    local s0=$VUS_T/vm0.sock s1=$VUS_T/vm1.sock vs=vs-qemu
    guest_image
    start_vs "$vs" "$s0" "$s1"
    local vlog=${VUS_LOG[$vs]}
    VUS_GUEST_NETDEV_OPTS=queues=2 VUS_GUEST_DEVICE_OPTS=mq=on VUS_GUEST_QEMU_ARGS="-smp 2" \
        VUS_GUEST_APPEND="ipv6.disable=1 no_timer_check" \
        start_guest vm0 "$s0" 10.0.0.1/24 52:54:00:5b:00:01
    VUS_GUEST_NETDEV_OPTS=queues=2 VUS_GUEST_DEVICE_OPTS=mq=on VUS_GUEST_QEMU_ARGS="-smp 2" \
        VUS_GUEST_APPEND="ipv6.disable=1 no_timer_check" \
        start_guest vm1 "$s1" 10.0.0.2/24 52:54:00:5b:00:02
    # QEMU configures each queue pair as its own vhost device on the one socket; a back-end that
    # refuses the second pair's memory table makes QEMU fall back to userspace virtio.
    local vm deadline
    for vm in vm0 vm1; do
        deadline=$((SECONDS + 150))
        while [ "$(count_log "${GUEST_SERIAL[$vm]}" VUS-GUEST-READY)" -lt 1 ]; do
            if grep -qs 'memory table refused' "$vlog"; then
                fail "vuswitch refused a memory table while QEMU set up queue pair 1 ($(grep -m1 -o 'port [0-9].*memory table refused.*' "$vlog" | tr -d '\r')): QEMU sends ADD_MEM_REG for every queue pair"
            fi
            [ $SECONDS -lt $deadline ] || fail "guest $vm not ready after 150 s"
            sleep 0.3
        done
        guest_wait_ready "$vm" 10
    done
    wait_pairs "$vlog"
    local out
    for vm in vm0 vm1; do
        guest_run "$vm" 'nproc; ls /sys/class/net/eth0/queues | xargs' 30 >"$VUS_T/$vm.q" ||
            fail "$vm: cannot list its queues"
        grep -q '^rx-0 rx-1 tx-0 tx-1$' "$VUS_T/$vm.q" ||
            fail "$vm does not have 2 queue pairs: $(cat "$VUS_T/$vm.q")"
        grep -q '^2$' "$VUS_T/$vm.q" || fail "$vm does not have 2 CPUs: $(cat "$VUS_T/$vm.q")"
    done
    note "guests have 2 queue pairs; pinging from both vCPUs of each guest"
    local n=${VUS_MQ_PINGS:-20}
    # Both guests at once: each sends from CPU 0 (TX queue 0) and CPU 1 (TX queue 1).
    guest_run vm0 "taskset 1 ping -c $n -i 0.1 10.0.0.2 >/tmp/c0 2>&1 & taskset 2 ping -c $n -i 0.1 10.0.0.2 >/tmp/c1 2>&1 &" 20 >/dev/null
    guest_run vm1 "taskset 1 ping -c $n -i 0.1 10.0.0.1 >/tmp/c0 2>&1 & taskset 2 ping -c $n -i 0.1 10.0.0.1 >/tmp/c1 2>&1 &" 20 >/dev/null
    sleep $((n / 10 + 2))
    for vm in vm0 vm1; do
        for c in c0 c1; do
            deadline=$((SECONDS + 60))
            while :; do
                guest_run "$vm" "cat /tmp/$c" 20 >"$VUS_T/$vm.$c" || true
                grep -q 'packets transmitted' "$VUS_T/$vm.$c" && break
                [ $SECONDS -lt $deadline ] || fail "$vm: ping from CPU ${c#c} did not finish"
                sleep 1
            done
            out=$(grep 'packets transmitted' "$VUS_T/$vm.$c")
            echo "$vm, CPU ${c#c}: $out"
            [[ "$out" == "$n packets transmitted, $n packets received, 0% packet loss" ]] ||
                fail "$vm: pings from CPU ${c#c} lost: $out"
        done
    done
    stop_vs "$vs"
    check_queues "$vlog"
    note "qemu leg passed"
}

for l in "${RUN[@]}"; do
    "leg_$l"
done
note "PASS: ${RUN[*]}"
exit 0
