#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# vhost-user / virtio-user loopback benchmark: vuswitch against rte_vhost
# (dpdk-testpmd with net_vhost), in the style of DPDK's vhost perf test
# plans. Not part of CI: run it by hand on a quiet-as-possible machine.
#
# Topology, per sample (2 cores):
#   back-end   (lcores 0,1, main lcore 0 idle) forwards on lcore 1:
#                vuswitch --fwd io, one vhost-user port, queues=1, or
#                dpdk-testpmd --vdev net_vhost0,iface=SOCK,queues=1, fwd io,
#                --nb-cores=1
#   front-end  (lcores 1,0, main lcore 1 idle) is the traffic loop on lcore 0:
#                dpdk-testpmd --vdev net_virtio_user0,path=SOCK,queues=1,
#                queue_size=1024[,packed_vq=1],mrg_rxbuf=0|1 --iova-mode=va,
#                set fwd mac, [set txpkts 1518], start tx_first 32
# A sample is the Rx-pps of the virtio-user port over a steady window:
# after --warmup seconds a first `show port stats 0` starts the window, a
# second one --window seconds later gives testpmd's Rx-pps for the window
# (cross-checked against the RX-packets delta).
#
# Cases: packet size {64, 1518} x ring {split, packed} x mrg_rxbuf {0, 1}.
# Back-ends are interleaved within every round (their order alternates from
# one round to the next), every case in every round; the table gives medians
# and the ratio vuswitch/rte_vhost.
#
# Memory: 2 MiB hugepages (devtools/hugepages.sh reserves them), every DPDK
# process with --single-file-segments; without hugepages (or --no-huge) all
# processes run with EAL --no-huge. The mode used is printed and recorded.
#
# Usage: devtools/bench-loopback.sh [options]
#   --rounds N        rounds (default 5)
#   --quick           smoke run: 1 round, 64B split mrg_rxbuf=0 only
#   --sizes "L..."    packet sizes (default "64 1518")
#   --rings "R..."    split and/or packed (default "split packed")
#   --mrg "M..."      mrg_rxbuf values (default "0 1")
#   --backends "B..." vuswitch and/or rte_vhost (default both); vuswitch_b: a
#                     second vuswitch binary (--vuswitch-b), for A/B of two builds
#   --warmup S        seconds of traffic before the window (default 3)
#   --window S        measurement window in seconds (default 5)
#   --max-other C     noise gate, in cores (default 0.10): before a sample wait
#                     (at most --quiet-wait s, default 30) until other
#                     processes use at most C cores; a sample during which
#                     they took more than C cores is repeated (at most
#                     --retries times, default 2), then kept and flagged
#   --no-huge         do not use hugepages
#   --summary-only DIR  print the tables of an earlier run's DIR/samples.csv
#   --out DIR         results directory (default /tmp/vus-bench-loopback.<time>)
#   --vuswitch PATH   binary (default build/app/vuswitch/vuswitch; $VUSWITCH)
#   --vuswitch-b PATH the vuswitch_b back-end's binary ($VUSWITCH_B); its table
#                     compares it with vuswitch, e.g. --backends "vuswitch vuswitch_b"
#   --testpmd PATH    binary (default dpdk-testpmd; $TESTPMD)
#   --burst-stats     the front-end records its RX burst sizes (testpmd's
#                     `set record-burst-stats on`) over the window: column
#                     fe_rx_empty_pct is the share of its RX bursts that came
#                     back empty (how often the traffic loop waited for the
#                     back-end), summarized per case; costs the front-end an
#                     array increment per burst
#   --fe-txfreet N    the front-end's --txfreet (default: testpmd's, as in
#                     DPDK's test plan): 992 frees sent mbufs in small batches
#                     its mempool cache absorbs (see bench-switch.sh)
#   -h, --help
# Results in DIR: samples.csv (one line per sample; other_cpu/steal_cpu = CPU
# that other processes / the hypervisor took during the window, noisy=1 when
# over the gate after every retry), rejected.csv (samples that were repeated),
# summary.md (the table), logs/ (every process's output, for post-mortems).
# VUS_BENCH_PERF=1 in the environment records a cpu-clock profile of both CPUs over each
# window (perf record -a) into logs/<sample>-perf.data: `perf report -i FILE --sort pid,dso,sym`.
# Needs root for hugepages. A full run (5 rounds, 8 cases, 2 back-ends) takes
# about 80 x 13 s = 17-18 minutes.

set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
VUSWITCH=${VUSWITCH:-$TOP/build/app/vuswitch/vuswitch}
VUSWITCH_B=${VUSWITCH_B:-}
TESTPMD=${TESTPMD:-dpdk-testpmd}
ROUNDS=5
SIZES="64 1518"
RINGS="split packed"
MRGS="0 1"
BACKENDS="vuswitch rte_vhost"
WARMUP=3
WINDOW=5
USE_HUGE=true
OUT=""
MAX_OTHER=0.10
RETRIES=2
QUIET_WAIT=30
NB_MBUFS=16384
BURST_STATS=false
FE_TXFREET=""

usage() {
	sed -n '4,/^$/s/^# \{0,1\}//p' "$0" | sed '/^SPDX/d'
	exit "${1:-0}"
}

# AWK_MEDIAN: the summaries' median()
# shellcheck source=devtools/bench-common.sh
. "$TOP/devtools/bench-common.sh"

# Summary: median Mpps per case and back-end, ratio A/B.
# summarize CSV [clean] [A B]: the Markdown table of back-ends A (default
# vuswitch) and B (rte_vhost); "clean" leaves out noisy samples.
summarize() {
	awk -F, -v clean="${2:-}" 'NR > 1 && $7 != "" && !(clean != "" && $15 == 1) {
		print $2 "," $3 "," $4 "," $5 "," $6 "," $7 "," $11 "," $1 }' "$1" |
		sort -t, -k2,2n -k3,3r -k4,4n |
		awk -F, -v A="${3:-vuswitch}" -v B="${4:-rte_vhost}" "$AWK_MEDIAN"'
		{
			if (!($1 in seen)) { seen[$1] = 1; order[++nc] = $1 }
			s[$1 "," $5] = s[$1 "," $5] " " $6
			o[$1 "," $5] = o[$1 "," $5] " " $7
			cnt[$1 "," $5]++
			at[$1 "," $5 "," $8] = $6; if ($8 > nr) nr = $8
		}
		# median over rounds of A/B measured in the same round, seconds apart:
		# cancels the slow swings of a shared host
		function paired(c,    l, i, x, y) {
			l = ""
			for (i = 1; i <= nr; i++) {
				x = at[c "," A "," i]; y = at[c "," B "," i]
				if (x != "" && y != "" && y > 0) l = l " " x / y
			}
			return l == "" ? "-" : sprintf("%.2f", median(l))
		}
		END {
			printf "| case | %s Mpps | %s Mpps | ratio %s/%s | paired, per round | samples (A/B) | other CPU, cores (A/B) |\n", A, B, A, B
			print "| --- | ---: | ---: | ---: | ---: | --- | --- |"
			for (i = 1; i <= nc; i++) {
				c = order[i]
				mv = median(s[c "," A]); mh = median(s[c "," B])
				fv = (mv == "") ? "-" : sprintf("%.2f", mv / 1e6)
				fh = (mh == "") ? "-" : sprintf("%.2f", mh / 1e6)
				r = (mv == "" || mh == "" || mh == 0) ? "-" : sprintf("%.2f", mv / mh)
				ov = median(o[c "," A]); oh = median(o[c "," B])
				printf "| %s | %s | %s | %s | %s | %d/%d | %s/%s |\n", c, fv, fh, r, paired(c),
					cnt[c "," A], cnt[c "," B],
					ov == "" ? "-" : sprintf("%.2f", ov), oh == "" ? "-" : sprintf("%.2f", oh)
			}
		}'
}
# summarize_empty CSV: median share of the front-end's empty RX bursts per
# case and back-end (column 17, --burst-stats).
summarize_empty() {
	awk -F, 'NR > 1 && $17 != "" { print $2 "," $6 "," $17 }' "$1" | awk -F, "$AWK_MEDIAN"'
		{
			if (!($1 in seen)) { seen[$1] = 1; order[++nc] = $1 }
			if (!($2 in bseen)) { bseen[$2] = 1; be[++nb] = $2 }
			v[$1 "," $2] = v[$1 "," $2] " " $3
		}
		END {
			printf "| case |"; for (b = 1; b <= nb; b++) printf " %s: front-end RX empty %% |", be[b]
			printf "\n| --- |"; for (b = 1; b <= nb; b++) printf " ---: |"
			printf "\n"
			for (i = 1; i <= nc; i++) {
				printf "| %s |", order[i]
				for (b = 1; b <= nb; b++) {
					l = v[order[i] "," be[b]]
					printf " %s |", l == "" ? "-" : median(l)
				}
				printf "\n"
			}
		}'
}
# write_summary CSV: the tables (and the anomalies), to stdout and summary.md.
write_summary() {
	local csv=$1 dir noisy repeated mem rounds
	dir=$(dirname "$csv")
	noisy=$(awk -F, 'NR > 1 && $15 == 1' "$csv" | wc -l)
	repeated=$(($(wc -l <"$dir/rejected.csv" 2>/dev/null || echo 1) - 1))
	mem=$(awk -F, 'NR == 2 { print $13 }' "$csv")
	rounds=$(awk -F, 'NR > 1 && $1 > r { r = $1 } END { print r + 0 }' "$csv")
	{
		echo "Memory mode: ${mem:-?}. Rounds: $rounds. Window ${WINDOW}s after ${WARMUP}s warm-up."
		echo "Medians of Rx-pps of the virtio-user port; 'other CPU' = median CPU time other"
		echo "processes took during the window (of 2 cores): the machine's noise."
		echo "Samples repeated for noise: $repeated; kept though noisy after every retry: $noisy."
		echo
		summarize "$csv"
		if grep -q ',vuswitch_b,' "$csv"; then
			echo
			echo "A/B of the two vuswitch binaries (vuswitch_b: --vuswitch-b):"
			echo
			summarize "$csv" "" vuswitch_b vuswitch
		fi
		if awk -F, 'NR > 1 && $17 != "" { f = 1 } END { exit !f }' "$csv"; then
			echo
			echo "Front-end RX bursts that came back empty, median % (--burst-stats):"
			echo
			summarize_empty "$csv"
		fi
		if [ "$noisy" -gt 0 ]; then
			echo
			echo "Without the $noisy noisy samples:"
			echo
			summarize "$csv" clean
		fi
	} | tee "$dir/summary.md"
	if [ -s "$dir/anomalies.txt" ]; then
		echo
		echo "anomalies ($dir/anomalies.txt):"
		cat "$dir/anomalies.txt"
	fi
}

SUMMARY_ONLY=""
while [ $# -gt 0 ]; do
	case "$1" in
	--summary-only) SUMMARY_ONLY=$2; shift ;;
	--rounds) ROUNDS=$2; shift ;;
	--quick) ROUNDS=1 SIZES=64 RINGS=split MRGS=0 ;;
	--sizes) SIZES=$2; shift ;;
	--rings) RINGS=$2; shift ;;
	--mrg) MRGS=$2; shift ;;
	--backends) BACKENDS=$2; shift ;;
	--warmup) WARMUP=$2; shift ;;
	--window) WINDOW=$2; shift ;;
	--max-other) MAX_OTHER=$2; shift ;;
	--retries) RETRIES=$2; shift ;;
	--quiet-wait) QUIET_WAIT=$2; shift ;;
	--no-huge) USE_HUGE=false ;;
	--out) OUT=$2; shift ;;
	--vuswitch) VUSWITCH=$2; shift ;;
	--vuswitch-b) VUSWITCH_B=$2; shift ;;
	--testpmd) TESTPMD=$2; shift ;;
	--burst-stats) BURST_STATS=true ;;
	--fe-txfreet) FE_TXFREET=$2; shift ;;
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
for b in $BACKENDS; do
	case "$b" in vuswitch | rte_vhost) ;; vuswitch_b) [ -x "$VUSWITCH_B" ] || {
		echo "back-end vuswitch_b needs --vuswitch-b PATH" >&2
		exit 2
	} ;;
	*) echo "unknown back-end $b" >&2; exit 2 ;; esac
done
if [ -n "$VUSWITCH_B" ] && [[ " $BACKENDS " != *" vuswitch_b "* ]]; then
	echo "note: --vuswitch-b given but vuswitch_b is not in --backends: it will not run" >&2
fi
for r in $RINGS; do
	case "$r" in split | packed) ;; *) echo "unknown ring $r" >&2; exit 2 ;; esac
done
[ -x "$VUSWITCH" ] || { echo "no vuswitch binary at $VUSWITCH (build first)" >&2; exit 1; }
command -v "$TESTPMD" >/dev/null || { echo "no $TESTPMD (package dpdk-dev)" >&2; exit 1; }

OUT=${OUT:-/tmp/vus-bench-loopback.$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/logs"
CSV=$OUT/samples.csv
REJECTED=$OUT/rejected.csv
WORK=$(mktemp -d /tmp/vus-bench.XXXXXX)
SOCK=$WORK/vhost.sock
BE_FIFO=$WORK/be.fifo
FE_FIFO=$WORK/fe.fifo
# Our own EAL file prefixes: nothing else uses them, we may delete their files.
BE_PREFIX=vusbench$$be
FE_PREFIX=vusbench$$fe
PIDS=()

log() { printf '[%s] %s\n' "$(date +%T)" "$*"; }

# stop_pid PID [GRACE]: TERM, then KILL after GRACE seconds (default 5).
stop_pid() {
	local pid=$1 grace=${2:-5} i
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < grace * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "pid $pid did not stop on SIGTERM: SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

# wait_exit PID SECONDS: 0 if PID exited by itself in time.
wait_exit() {
	local pid=$1 i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
		sleep 0.1
	done
	return 1
}

remove_prefix_files() {
	local p
	for p in "$BE_PREFIX" "$FE_PREFIX"; do
		rm -f /dev/hugepages/"$p"map_* 2>/dev/null || true
		rm -rf /var/run/dpdk/"$p" 2>/dev/null || true
	done
}

cleanup() {
	local pid
	trap - EXIT INT TERM
	for pid in "${PIDS[@]}"; do
		stop_pid "$pid" 3
	done
	PIDS=()
	exec 3>&- 4>&- 2>/dev/null || true
	rm -f "$SOCK" "$BE_FIFO" "$FE_FIFO"
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

forget_pid() {
	local keep=() p
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]+"${keep[@]}"}")
}

# wait_for SECONDS COMMAND...: poll until COMMAND succeeds.
wait_for() {
	local t=$1 i
	shift
	for ((i = 0; i < t * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

count_in() { grep -c -- "$2" "$1" 2>/dev/null || true; }
at_least() { [ "$(count_in "$1" "$2")" -ge "$3" ]; }

# Memory mode
if $USE_HUGE && [ -x "$TOP/devtools/hugepages.sh" ]; then
	eval "$("$TOP/devtools/hugepages.sh" 512 | tee "$OUT/logs/hugepages.log" | tail -n1)"
elif $USE_HUGE; then
	HUGEPAGES=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)
	HUGEPAGE_MOUNT=$(awk '$3 == "hugetlbfs" { print $2; exit }' /proc/mounts)
else
	HUGEPAGES=0 HUGEPAGE_MOUNT=""
fi
if [ "${HUGEPAGES:-0}" -ge 128 ] && [ -n "${HUGEPAGE_MOUNT:-}" ]; then
	MEM_MODE="hugepages-2M"
	BE_MEM=(--single-file-segments)
	FE_MEM=(--single-file-segments)
	BE_HUGE_DIR=(--huge-dir "$HUGEPAGE_MOUNT")
else
	MEM_MODE="no-huge"
	BE_MEM=(--no-huge -m 512)
	FE_MEM=(--no-huge -m 512)
	BE_HUGE_DIR=()
fi
$USE_HUGE && [ "$MEM_MODE" = no-huge ] && log "hugepages unavailable: falling back to --no-huge"
COMMON_EAL=(--no-pci --no-telemetry "${BE_HUGE_DIR[@]+"${BE_HUGE_DIR[@]}"}")

# Front-end (traffic loop) command fragment
fe_cmd() { # size ring mrg
	local vdev="net_virtio_user0,path=$SOCK,queues=1,queue_size=1024,mrg_rxbuf=$3"
	[ "$2" = packed ] && vdev="$vdev,packed_vq=1"
	echo "$TESTPMD -l 0,1 --main-lcore 1 ${COMMON_EAL[*]} ${FE_MEM[*]} --iova-mode=va" \
		"--file-prefix $FE_PREFIX --vdev $vdev -- -i --nb-cores=1" \
		"--total-num-mbufs=$NB_MBUFS --rxd=1024 --txd=1024${FE_TXFREET:+ --txfreet=$FE_TXFREET}"
}
be_cmd() { # backend
	case "$1" in
	vuswitch | vuswitch_b)
		echo "$([ "$1" = vuswitch ] && echo "$VUSWITCH" || echo "$VUSWITCH_B")" \
			"-l 0,1 --main-lcore 0 ${COMMON_EAL[*]} ${BE_MEM[*]}" \
			"--file-prefix $BE_PREFIX -- --vhost-user $SOCK,queues=1 --fwd io"
		;;
	rte_vhost)
		echo "$TESTPMD -l 0,1 --main-lcore 0 ${COMMON_EAL[*]} ${BE_MEM[*]}" \
			"--file-prefix $BE_PREFIX --vdev net_vhost0,iface=$SOCK,queues=1" \
			"-- -i --nb-cores=1 --total-num-mbufs=$NB_MBUFS --forward-mode=io"
		;;
	esac
}

# tp_show FD LOG: `show port stats 0`, wait for its block; prints
# "rx_packets rx_pps tx_pps epoch" from that block.
tp_show() {
	local fd=$1 logf=$2 n0 t
	n0=$(wc -l <"$logf")
	t=$(date +%s.%N)
	echo "show port stats 0" >&"$fd"
	wait_for 5 eval "tail -n +$((n0 + 1)) '$logf' | grep -q 'Tx-pps'" || return 1
	tail -n +$((n0 + 1)) "$logf" | awk -v t="$t" '
		/RX-packets:/ { rx = $2 }
		/Rx-pps:/ { rxp = $2 }
		/Tx-pps:/ { txp = $2; print rx, rxp, txp, t; exit }'
}

# cpu_ticks PID...: "busy steal own" clock ticks so far: busy and steal of the
# whole machine (/proc/stat), own = utime+stime of the given processes. Over
# the window, (busy - own) is CPU time that other processes took: the noise.
cpu_ticks() {
	local busy steal own=0 p t
	read -r busy steal < <(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $9; exit }' /proc/stat)
	for p in "$@"; do
		t=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }') || t=0
		own=$((own + ${t:-0}))
	done
	echo "$busy $steal $own"
}
HZ=$(getconf CLK_TCK)

ANOMALIES=$OUT/anomalies.txt
: >"$ANOMALIES"
anomaly() {
	log "ANOMALY: $*"
	echo "$*" >>"$ANOMALIES"
}

# run_sample ROUND BACKEND SIZE RING MRG: appends one CSV line.
run_sample() {
	local round=$1 be=$2 size=$3 ring=$4 mrg=$5
	local case="${size}B-$ring-mrg$mrg" tag be_log fe_log be_pid fe_pid cmd
	local s1 s2 rx1 rx2 t1 t2 rxpps txpps counted c1 c2 noise n0
	tag=$(printf 'r%02d-%s-%s' "$round" "$case" "$be")
	be_log=$OUT/logs/$tag-backend.log
	fe_log=$OUT/logs/$tag-frontend.log
	rm -f "$SOCK" "$BE_FIFO" "$FE_FIFO"
	remove_prefix_files

	# back-end
	cmd=$(be_cmd "$be")
	echo "# $cmd" >"$be_log"
	if [ "$be" = rte_vhost ]; then
		mkfifo "$BE_FIFO"
		exec 4<>"$BE_FIFO"
		# shellcheck disable=SC2086
		stdbuf -oL -eL $cmd <"$BE_FIFO" >>"$be_log" 2>&1 &
	else
		# shellcheck disable=SC2086
		stdbuf -oL -eL $cmd </dev/null >>"$be_log" 2>&1 &
	fi
	be_pid=$!
	PIDS+=("$be_pid")
	if ! wait_for 20 test -S "$SOCK"; then
		anomaly "$tag: back-end socket never appeared (see $be_log)"
		stop_pid "$be_pid"; forget_pid "$be_pid"
		SAMPLE_LINE="$round,$case,$size,$ring,$mrg,$be,,,,,,,$MEM_MODE,$(date +%s)"
		SAMPLE_OTHER=""
		SAMPLE_EMPTY=""
		return 0
	fi
	if [ "$be" = rte_vhost ]; then
		wait_for 20 at_least "$be_log" 'testpmd> ' 1 || true
		echo "start" >&4
	fi

	# front-end
	cmd=$(fe_cmd "$size" "$ring" "$mrg")
	echo "# $cmd" >"$fe_log"
	mkfifo "$FE_FIFO"
	exec 3<>"$FE_FIFO"
	# shellcheck disable=SC2086
	stdbuf -oL -eL $cmd <"$FE_FIFO" >>"$fe_log" 2>&1 &
	fe_pid=$!
	PIDS+=("$fe_pid")
	if ! wait_for 30 at_least "$fe_log" 'testpmd> ' 1; then
		anomaly "$tag: front-end never reached its prompt (see $fe_log)"
	fi
	sleep 1 # virtio-user re-sends its memory table right after port start
	echo "set fwd mac" >&3
	[ "$size" -gt 64 ] && echo "set txpkts $size" >&3
	$BURST_STATS && echo "set record-burst-stats on" >&3
	echo "start tx_first 32" >&3
	sleep "$WARMUP"
	c1=$(cpu_ticks "$be_pid" "$fe_pid")
	s1=$(tp_show 3 "$fe_log" || true)
	$BURST_STATS && echo "clear fwd stats all" >&3
	if [ -n "${VUS_BENCH_PERF:-}" ]; then # a cpu-clock profile of the window (both CPUs)
		perf record -q -e cpu-clock -F 4000 -a -o "$OUT/logs/$tag-perf.data" -- sleep "$WINDOW" \
			>/dev/null 2>&1
	else
		sleep "$WINDOW"
	fi
	s2=$(tp_show 3 "$fe_log" || true)
	c2=$(cpu_ticks "$be_pid" "$fe_pid")
	SAMPLE_EMPTY=""
	if $BURST_STATS; then
		n0=$(wc -l <"$fe_log")
		echo "show fwd stats all" >&3
		if wait_for 5 eval "tail -n +$((n0 + 1)) '$fe_log' | grep -q 'RX-bursts'"; then
			# "RX-bursts : N [P% of 0 pkts + ...]": 0 when empty bursts are
			# not among the sizes testpmd lists
			SAMPLE_EMPTY=$(tail -n +$((n0 + 1)) "$fe_log" | awk '/RX-bursts/ {
				e = 0
				if (match($0, /[0-9]+% of 0 pkts/)) e = substr($0, RSTART, RLENGTH) + 0
				print e; exit }')
		fi
	fi
	noise=$(echo "$c1 $c2" | awk -v hz="$HZ" -v w="$WINDOW" '{
		f = (($4 - $1) - ($6 - $3)) / hz / w; if (f < 0) f = 0
		printf "%.2f,%.2f", f, ($5 - $2) / hz / w }')
	if [ -n "$s1" ] && [ -n "$s2" ]; then
		read -r rx1 _ _ t1 <<<"$s1"
		read -r rx2 rxpps txpps t2 <<<"$s2"
		counted=$(awk -v a="$rx1" -v b="$rx2" -v t1="$t1" -v t2="$t2" \
			'BEGIN { printf "%.0f", (b - a) / (t2 - t1) }')
	else
		rxpps="" txpps="" counted="" t1=0 t2=0
		anomaly "$tag: no port statistics from the front-end (see $fe_log)"
	fi
	echo "stop" >&3
	echo "quit" >&3
	wait_exit "$fe_pid" 10 || { anomaly "$tag: front-end did not quit"; stop_pid "$fe_pid"; }
	forget_pid "$fe_pid"
	exec 3>&-

	if [ "$be" = rte_vhost ]; then
		echo "stop" >&4
		echo "quit" >&4
		wait_exit "$be_pid" 10 || { anomaly "$tag: rte_vhost testpmd did not quit"; stop_pid "$be_pid"; }
		exec 4>&-
	else
		kill -TERM "$be_pid" 2>/dev/null || true
		wait_exit "$be_pid" 10 || { anomaly "$tag: $be did not stop on SIGTERM"; stop_pid "$be_pid"; }
	fi
	forget_pid "$be_pid"
	if grep -qiE 'segmentation|panic|assert|core dumped' "$be_log" "$fe_log"; then
		anomaly "$tag: crash signature in logs"
	fi
	if [ -n "$rxpps" ] && [ "$rxpps" -eq 0 ]; then
		anomaly "$tag: zero Rx-pps (stall)"
	fi
	log "$tag: Rx-pps ${rxpps:-?} (counted ${counted:-?}, Tx-pps ${txpps:-?}; other/steal CPU $noise)${SAMPLE_EMPTY:+; front-end RX empty $SAMPLE_EMPTY %}"
	SAMPLE_LINE="$round,$case,$size,$ring,$mrg,$be,$rxpps,$txpps,$counted,$(awk -v a="$t1" \
		-v b="$t2" 'BEGIN { printf "%.2f", b - a }'),$noise,$MEM_MODE,$(date +%s)"
	SAMPLE_OTHER=${noise%%,*}
}

busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }

# wait_quiet: wait (at most QUIET_WAIT s) until the machine, with none of our
# DPDK processes running, is busy at most MAX_OTHER cores over 1 s.
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
			log "machine still busy after ${QUIET_WAIT}s ($(awk -v d=$((b2 - b1)) -v hz="$HZ" \
				'BEGIN { printf "%.2f", d / hz }') cores): measuring anyway"
			return 0
		fi
		$said || log "machine busy ($(awk -v d=$((b2 - b1)) -v hz="$HZ" \
			'BEGIN { printf "%.2f", d / hz }') cores): waiting for quiet"
		said=true
		sleep 2
	done
}

# sample ROUND BACKEND SIZE RING MRG: run_sample behind the noise gate.
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
			anomaly "$2 $3 $4 mrg$5 round $1: other processes took $SAMPLE_OTHER cores in every attempt: kept, flagged noisy"
			break
		fi
		echo "$SAMPLE_LINE,1,$attempt,$SAMPLE_EMPTY" >>"$REJECTED"
		log "noisy sample (other processes took $SAMPLE_OTHER cores > $MAX_OTHER): repeating"
	done
	echo "$SAMPLE_LINE,$noisy,$attempt,$SAMPLE_EMPTY" >>"$CSV"
}

echo "round,case,size,ring,mrg_rxbuf,backend,rx_pps,tx_pps,rx_pps_counted,window_s,other_cpu,steal_cpu,memory,epoch,noisy,attempt,fe_rx_empty_pct" >"$CSV"
head -n1 "$CSV" >"$REJECTED"
{
	echo "date: $(date -Is)"
	echo "host: nproc=$(nproc) cpu='$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)'"
	echo "memory mode: $MEM_MODE (free 2M hugepages at start: ${HUGEPAGES:-0})"
	echo "vuswitch: $VUSWITCH (sha1 $(sha1sum <"$VUSWITCH" | cut -c1-12), built $(date -r "$VUSWITCH" -Is));" \
		"source tree $TOP at $(git -C "$TOP" describe --always --dirty 2>/dev/null || echo '?')"
	echo "testpmd: $(command -v "$TESTPMD")"
	echo "rounds=$ROUNDS sizes='$SIZES' rings='$RINGS' mrg='$MRGS' warmup=${WARMUP}s window=${WINDOW}s"
	echo "noise gate: max-other=$MAX_OTHER cores, retries=$RETRIES, quiet-wait=${QUIET_WAIT}s"
	echo "back-end vuswitch:  $(be_cmd vuswitch)"
	echo "back-end rte_vhost: $(be_cmd rte_vhost)  + 'start'"
	if [ -n "$VUSWITCH_B" ]; then
		echo "vuswitch_b: $VUSWITCH_B (sha1 $(sha1sum <"$VUSWITCH_B" | cut -c1-12)," \
			"built $(date -r "$VUSWITCH_B" -Is))"
		echo "back-end vuswitch_b: $(be_cmd vuswitch_b)"
	fi
	echo "front-end:          $(fe_cmd 64 split 0)  + set fwd mac; [set txpkts N]; start tx_first 32"
} | tee "$OUT/run-info.txt"
log "memory mode: $MEM_MODE; results in $OUT"

T0=$SECONDS
for ((round = 1; round <= ROUNDS; round++)); do
	# alternate the back-end order between rounds (A B, B A, ...)
	order=$BACKENDS
	if [ $((round % 2)) -eq 0 ]; then
		order=$(echo "$BACKENDS" | awk '{ for (i = NF; i > 0; i--) printf "%s ", $i }')
	fi
	for size in $SIZES; do
		for ring in $RINGS; do
			for mrg in $MRGS; do
				for be in $order; do
					sample "$round" "$be" "$size" "$ring" "$mrg"
				done
			done
		done
	done
	log "round $round/$ROUNDS done after $((SECONDS - T0)) s"
done

write_summary "$CSV"
log "total $((SECONDS - T0)) s; samples: $CSV; logs: $OUT/logs"
