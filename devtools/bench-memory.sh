#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Memory per vhost-user back-end: vuswitch against dpdk-testpmd with net_vhost
# (rte_vhost), each with 2 and with 16 vhost-user ports at default settings,
# with a virtio-user front-end connected to every port. Not part of CI.
#
# For each back-end and port count:
#   1. start the back-end (server sockets, EAL defaults: dynamic memory on
#      hugepages when there are any) and wait for every socket file;
#   2. start ONE dpdk-testpmd with N net_virtio_user vdevs (hugepages,
#      --single-file-segments, --iova-mode=va) and wait until
#      `show port summary all` shows every link up;
#   3. measure the back-end (below), "links up";
#   4. run traffic for --traffic seconds (front-end `set fwd mac`,
#      `start tx_first`; back-end forwarding io) and measure again.
# Measured from the back-end's PID:
#   own hugepages: 2 MiB pages in the back-end's own EAL files
#                  (/dev/hugepages/<its --file-prefix>*, also cross-checked
#                  with the Private/Shared_Hugetlb lines of /proc/PID/smaps
#                  for those files);
#   guest mapped:  the front-end's hugetlb memory that the back-end has
#                  mapped (Size of those mappings in smaps) and how much of it
#                  is present in the back-end's page tables (its Hugetlb
#                  lines); shared, owned by the front-end: not counted;
#   VmRSS, VmHWM:  /proc/PID/status (hugetlb pages are never part of RSS);
#   total:         own hugepages + VmRSS.
# The back-end's defaults are used as they are: vuswitch without options
# beyond its ports; testpmd `-i --nb-cores=1` (its default mbuf pool is sized
# for RTE_MAX_ETHPORTS ports whatever the port count). A second testpmd row
# uses --total-num-mbufs=16384 as the loopback benchmark does, for reference.
#
# Usage: devtools/bench-memory.sh [options]
#   --ports "N..."    port counts (default "2 16")
#   --traffic S       seconds of traffic before the second measurement
#                     (default 3; 0 skips it)
#   --no-huge         run everything with EAL --no-huge (RSS only; VmRSS then
#                     includes the guest memory a back-end has touched)
#   --out DIR         results directory (default /tmp/vus-bench-memory.<time>)
#   --vuswitch PATH   binary (default build/app/vuswitch/vuswitch; $VUSWITCH)
#   --testpmd PATH    binary (default dpdk-testpmd; $TESTPMD)
#   -h, --help
# Results in DIR: memory.csv, summary.md, logs/. Needs root for hugepages;
# takes about 2 minutes.

set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
VUSWITCH=${VUSWITCH:-$TOP/build/app/vuswitch/vuswitch}
TESTPMD=${TESTPMD:-dpdk-testpmd}
PORTS="2 16"
TRAFFIC=3
USE_HUGE=true
OUT=""

usage() {
	sed -n '4,/^$/s/^# \{0,1\}//p' "$0" | sed '/^SPDX/d'
	exit "${1:-0}"
}

while [ $# -gt 0 ]; do
	case "$1" in
	--ports) PORTS=$2; shift ;;
	--traffic) TRAFFIC=$2; shift ;;
	--no-huge) USE_HUGE=false ;;
	--out) OUT=$2; shift ;;
	--vuswitch) VUSWITCH=$2; shift ;;
	--testpmd) TESTPMD=$2; shift ;;
	-h | --help) usage 0 ;;
	*) echo "unknown option: $1" >&2; usage 2 >&2 ;;
	esac
	shift
done
for n in $PORTS; do
	case "$n" in '' | *[!0-9]* | 0) echo "--ports: positive integers" >&2; exit 2 ;; esac
	[ "$n" -le 30 ] || { echo "--ports: at most 30 (RTE_MAX_ETHPORTS)" >&2; exit 2; }
done
[ -x "$VUSWITCH" ] || { echo "no vuswitch binary at $VUSWITCH (build first)" >&2; exit 1; }
command -v "$TESTPMD" >/dev/null || { echo "no $TESTPMD (package dpdk-dev)" >&2; exit 1; }

OUT=${OUT:-/tmp/vus-bench-memory.$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/logs"
CSV=$OUT/memory.csv
SUMMARY=$OUT/summary.md
WORK=$(mktemp -d /tmp/vus-benchmem.XXXXXX)
BE_FIFO=$WORK/be.fifo
FE_FIFO=$WORK/fe.fifo
BE_PREFIX=vusbmem$$be
FE_PREFIX=vusbmem$$fe
PIDS=()

log() { printf '[%s] %s\n' "$(date +%T)" "$*"; }

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

wait_exit() {
	local pid=$1 i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
		sleep 0.1
	done
	return 1
}

wait_for() {
	local t=$1 i
	shift
	for ((i = 0; i < t * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

remove_prefix_files() {
	local p
	for p in "$BE_PREFIX" "$FE_PREFIX"; do
		rm -f "${HUGE_DIR:-/dev/hugepages}"/"$p"map_* 2>/dev/null || true
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
	rm -rf "$WORK"
	remove_prefix_files
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

forget_pid() {
	local keep=() p
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]+"${keep[@]}"}")
}

all_sockets() { # N
	local i
	for ((i = 0; i < $1; i++)); do [ -S "$WORK/vhost$i.sock" ] || return 1; done
}

# Memory mode
if $USE_HUGE && [ -x "$TOP/devtools/hugepages.sh" ]; then
	eval "$("$TOP/devtools/hugepages.sh" 1024 | tee "$OUT/logs/hugepages.log" | tail -n1)"
elif $USE_HUGE; then
	HUGEPAGES=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)
	HUGEPAGE_MOUNT=$(awk '$3 == "hugetlbfs" { print $2; exit }' /proc/mounts)
else
	HUGEPAGES=0 HUGEPAGE_MOUNT=""
fi
if [ "${HUGEPAGES:-0}" -ge 512 ] && [ -n "${HUGEPAGE_MOUNT:-}" ]; then
	MEM_MODE="hugepages-2M"
	HUGE_DIR=$HUGEPAGE_MOUNT
	BE_MEM=(--huge-dir "$HUGE_DIR")
	FE_MEM=(--huge-dir "$HUGE_DIR" --single-file-segments)
else
	MEM_MODE="no-huge"
	HUGE_DIR=/dev/hugepages
	BE_MEM=(--no-huge -m 1024)
	FE_MEM=(--no-huge -m 512)
	$USE_HUGE && log "fewer than 512 free hugepages: falling back to --no-huge"
fi

# be_cmd KIND N
be_cmd() {
	local i args=()
	case "$1" in
	vuswitch)
		for ((i = 0; i < $2; i++)); do args+=(--vhost-user "$WORK/vhost$i.sock"); done
		echo "$VUSWITCH -l 0,1 --main-lcore 0 --no-pci ${BE_MEM[*]} --file-prefix $BE_PREFIX" \
			"-- ${args[*]}"
		;;
	rte_vhost | rte_vhost_16k)
		for ((i = 0; i < $2; i++)); do args+=(--vdev "net_vhost$i,iface=$WORK/vhost$i.sock"); done
		echo "$TESTPMD -l 0,1 --main-lcore 0 --no-pci ${BE_MEM[*]} --file-prefix $BE_PREFIX" \
			"${args[*]} -- -i --nb-cores=1" \
			"$([ "$1" = rte_vhost_16k ] && echo --total-num-mbufs=16384)"
		;;
	esac
}

fe_cmd() { # N
	local i args=()
	for ((i = 0; i < $1; i++)); do
		args+=(--vdev "net_virtio_user$i,path=$WORK/vhost$i.sock,queues=1")
	done
	echo "$TESTPMD -l 0,1 --main-lcore 1 --no-pci ${FE_MEM[*]} --iova-mode=va" \
		"--file-prefix $FE_PREFIX ${args[*]} -- -i --nb-cores=1 --total-num-mbufs=32768"
}

# mem_of PID: "own_huge_kB smaps_own_kB guest_resident_kB rss_kB hwm_kB anon_kB file_kB
# shmem_kB guest_mapped_kB"
mem_of() {
	local pid=$1 own smaps_own guest
	own=$(du -k -c "$HUGE_DIR"/"$BE_PREFIX"map_* 2>/dev/null | awk 'END { print $1 + 0 }')
	read -r smaps_own guest gsize < <(awk -v own="$HUGE_DIR/$BE_PREFIX" -v fe="$HUGE_DIR/$FE_PREFIX" '
		/^[0-9a-f]+-[0-9a-f]+ / { path = $6; next }
		/^Size:/ { if (index(path, fe) == 1) gs += $2 }
		/^(Private|Shared)_Hugetlb:/ {
			if (index(path, own) == 1) o += $2
			else if (index(path, fe) == 1) g += $2
		}
		END { print o + 0, g + 0, gs + 0 }' "/proc/$pid/smaps")
	awk -v own="$own" -v so="$smaps_own" -v g="$guest" -v gs="$gsize" '
		/^VmRSS:/ { rss = $2 } /^VmHWM:/ { hwm = $2 } /^RssAnon:/ { an = $2 }
		/^RssFile:/ { fi = $2 } /^RssShmem:/ { sh = $2 }
		END { print own, so, g, rss, hwm, an, fi, sh, gs }' "/proc/$pid/status"
}

ANOMALIES=$OUT/anomalies.txt
: >"$ANOMALIES"
anomaly() {
	log "ANOMALY: $*"
	echo "$*" >>"$ANOMALIES"
}

links_up() { # N LOG: ask for the port summary, count links up
	local n0
	n0=$(wc -l <"$2")
	echo "show port summary all" >&3
	sleep 0.5
	[ "$(tail -n +$((n0 + 1)) "$2" | grep -cE '^[0-9]+ +([0-9A-F]{2}:){5}[0-9A-F]{2} .* up ')" -ge "$1" ]
}

# measure KIND N
measure() {
	local kind=$1 n=$2 tag be_log fe_log be_pid fe_pid cmd m1 m2 free0 free1
	tag="$kind-$n"
	be_log=$OUT/logs/$tag-backend.log
	fe_log=$OUT/logs/$tag-frontend.log
	rm -f "$WORK"/vhost*.sock "$BE_FIFO" "$FE_FIFO"
	remove_prefix_files
	free0=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)

	cmd=$(be_cmd "$kind" "$n")
	echo "# $cmd" >"$be_log"
	mkfifo "$BE_FIFO"
	exec 4<>"$BE_FIFO"
	# shellcheck disable=SC2086
	stdbuf -oL -eL $cmd <"$BE_FIFO" >>"$be_log" 2>&1 &
	be_pid=$!
	PIDS+=("$be_pid")
	if ! wait_for 60 all_sockets "$n"; then
		anomaly "$tag: not every back-end socket appeared (see $be_log)"
		stop_pid "$be_pid"; forget_pid "$be_pid"
		return 0
	fi
	if [ "$kind" != vuswitch ]; then
		wait_for 60 grep -q 'testpmd> ' "$be_log" || true
		echo "start" >&4
	fi
	sleep 1
	free1=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)

	cmd=$(fe_cmd "$n")
	echo "# $cmd" >"$fe_log"
	mkfifo "$FE_FIFO"
	exec 3<>"$FE_FIFO"
	# shellcheck disable=SC2086
	stdbuf -oL -eL $cmd <"$FE_FIFO" >>"$fe_log" 2>&1 &
	fe_pid=$!
	PIDS+=("$fe_pid")
	wait_for 60 grep -q 'testpmd> ' "$fe_log" ||
		anomaly "$tag: front-end never reached its prompt (see $fe_log)"
	if ! wait_for 30 links_up "$n" "$fe_log"; then
		anomaly "$tag: not all $n links up after 30 s (see $fe_log)"
	fi
	sleep 2
	m1=$(mem_of "$be_pid")
	m2="$m1"
	if [ "$TRAFFIC" -gt 0 ]; then
		echo "set fwd mac" >&3
		echo "start tx_first 32" >&3
		sleep "$TRAFFIC"
		m2=$(mem_of "$be_pid")
		echo "stop" >&3
	fi
	echo "quit" >&3
	wait_exit "$fe_pid" 15 || { anomaly "$tag: front-end did not quit"; stop_pid "$fe_pid"; }
	forget_pid "$fe_pid"
	exec 3>&-
	if [ "$kind" = vuswitch ]; then
		kill -TERM "$be_pid" 2>/dev/null || true
		wait_exit "$be_pid" 10 || { anomaly "$tag: vuswitch did not stop on SIGTERM"; stop_pid "$be_pid"; }
	else
		echo "stop" >&4
		echo "quit" >&4
		wait_exit "$be_pid" 15 || { anomaly "$tag: testpmd did not quit"; stop_pid "$be_pid"; }
	fi
	forget_pid "$be_pid"
	exec 4>&-
	if grep -qiE 'segmentation|panic|assert|core dumped' "$be_log" "$fe_log"; then
		anomaly "$tag: crash signature in logs"
	fi
	# shellcheck disable=SC2086
	set -- $m1
	local own=$1 so=$2 guest=$3 rss=$4 hwm=$5 an=$6 rf=$7 sh=$8 gsize=$9
	# shellcheck disable=SC2086
	set -- $m2
	local own2=$1 rss2=$4 hwm2=$5
	local startup=$(((free0 - free1) * 2048))
	echo "$kind,$n,$MEM_MODE,$own,$so,$startup,$guest,$rss,$hwm,$an,$rf,$sh,$own2,$rss2,$hwm2,$gsize" >>"$CSV"
	log "$tag: own hugepages $((own / 1024)) MiB, VmRSS $((rss / 1024)) MiB," \
		"guest mapped $((gsize / 1024)) MiB ($((guest / 1024)) resident); after traffic: $((own2 / 1024)) + $((rss2 / 1024)) MiB"
}

echo "backend,ports,memory,own_huge_kB,own_huge_smaps_kB,huge_at_start_kB,guest_resident_kB,vmrss_kB,vmhwm_kB,rss_anon_kB,rss_file_kB,rss_shmem_kB,own_huge_traffic_kB,vmrss_traffic_kB,vmhwm_traffic_kB,guest_mapped_kB" >"$CSV"
{
	echo "date: $(date -Is)"
	echo "memory mode: $MEM_MODE"
	echo "vuswitch: $VUSWITCH (sha1 $(sha1sum <"$VUSWITCH" | cut -c1-12), built $(date -r "$VUSWITCH" -Is));" \
		"source tree $TOP at $(git -C "$TOP" describe --always --dirty 2>/dev/null || echo '?')"
	for n in $PORTS; do
		for k in vuswitch rte_vhost rte_vhost_16k; do echo "back-end $k/$n: $(be_cmd "$k" "$n")"; done
		echo "front-end/$n: $(fe_cmd "$n")"
	done
} | sed "s|$WORK|\$WORK|g" | tee "$OUT/run-info.txt"

T0=$SECONDS
for n in $PORTS; do
	for kind in vuswitch rte_vhost rte_vhost_16k; do
		measure "$kind" "$n"
	done
done

{
	echo "Memory mode: $MEM_MODE. MiB; 'links up' = all front-ends connected, idle;" \
		"'traffic' = after ${TRAFFIC}s of loopback traffic."
	[ "$MEM_MODE" = no-huge ] && echo "With --no-huge, VmRSS also counts the front-ends' memory that" \
		"the back-end has touched (RssShmem) and its own --no-huge memory: compare with care."
	echo
	echo "| back-end | ports | own hugepages | VmRSS | total (links up) | VmHWM | total (traffic) | guest memory mapped / resident (not owned) |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	awk -F, 'NR > 1 {
		name = $1 == "vuswitch" ? "vuswitch (defaults)" : \
			$1 == "rte_vhost" ? "testpmd + net_vhost (defaults)" : \
			"testpmd + net_vhost, --total-num-mbufs=16384"
		printf "| %s | %d | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f / %.0f |\n", name, $2,
			$4 / 1024, $8 / 1024, ($4 + $8) / 1024, $9 / 1024, ($13 + $14) / 1024,
			$16 / 1024, $7 / 1024
	}' "$CSV"
} | tee "$SUMMARY"
if [ -s "$ANOMALIES" ]; then
	echo
	echo "anomalies ($ANOMALIES):"
	cat "$ANOMALIES"
fi
log "total $((SECONDS - T0)) s; data: $CSV; logs: $OUT/logs"
