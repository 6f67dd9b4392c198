#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# testpmd_virtio_user_test.sh BUILD_DIR MODE [LAYOUT...] -- DPDK virtio-user (inside
# dpdk-testpmd) against vuswitch.
#
#   MODE    server: vuswitch listens, virtio-user connects
#           client: virtio-user listens (server=1), vuswitch connects (--vhost-user PATH,client)
#   LAYOUT  split | packed | split-huge. Default: split packed, plus split-huge when at least
#           128 free 2 MiB pages are mounted (devtools/hugepages.sh; test.sh reserves them in CI).
#           split-huge gives testpmd hugetlbfs memory (--single-file-segments, no -m): vuswitch
#           maps hugetlbfs fds instead of a memfd, and as testpmd's memory grows virtio-user
#           disables the rings, sends a larger SET_MEM_TABLE and re-enables them, several times.
#
# Per layout:
#   1. vuswitch and testpmd start in the order MODE needs (a server-mode virtio-user blocks
#      until the back-end connects);
#   2. vuswitch's log shows `front-end connected`, `features acked` with VERSION_1 and bit 30
#      (and RING_PACKED iff packed_vq=1), `protocol features acked 0x10009: ...` naming MQ,
#      REPLY_ACK and STATUS (exactly what virtio-user asks for), rings 0 and 1
#      `running: num 1024 split|packed`; testpmd's `show port info 0` says `Link status: up`;
#   3. testpmd quits: vuswitch logs rings 0 and 1 `stopped at base` and the disconnect, and
#      keeps running;
#   4. a second testpmd on the same socket (server: it connects again; client: vuswitch must
#      reconnect by itself) gets rings 0 and 1 running and its link up;
#   5. SIGTERM: vuswitch exits with status 0.
#
# Requirements checked (IDs of the shared requirements list, for doc/coverage.md):
#   MSG-3, COMPAT-7   virtio-user drops the connection on any reply not {req, 0x5, exact size}
#   MSG-14            both socket roles (MODE server and client)
#   NEG-3, NEG-12     protocol features negotiated after GET_FEATURES; VERSION_1 acked
#   ACK-1, COMPAT-4   virtio-user waits for acks of SET_MEM_TABLE and SET_STATUS (need_reply)
#   DEV-3             SET_STATUS with PROTOCOL_F_STATUS
#   RING-3, RING-5    rings start on SET_VRING_KICK, stop (and report a base) on GET_VRING_BASE
#   RING-9, MQ-4      virtio-user enables pair 0 only; the link comes up on it
#   MEM-5             (split-huge) larger SET_MEM_TABLEs on the live connection
#   COMPAT-2          SET_OWNER first
#   COMPAT-6          IOVA-as-VA addresses; hugetlbfs fds (split-huge) besides memfd (--no-huge)
#   COMPAT-9          virtio-user's feature subset, split and packed rings
#   RECONNECT-1, -2   a second connection after the first front-end left starts clean
#   RECONNECT-4       packed rings restart from SET_VRING_BASE after a reconnect
#   RECONNECT-6       server re-accepts; client retries until the new front-end listens;
#                     exit status 0 on SIGTERM
#
# testpmd is driven through a FIFO that both sides open read-write: testpmd never sees EOF and
# our writes never block, even when testpmd is gone. Helpers come from lib.sh.
#
# Exit: 0 pass, 77 skip (not root), 1 fail (with the tail of every log).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/system/lib.sh
. "$HERE/lib.sh"

MODE=${2:-}
case "$MODE" in
server | client) ;;
*)
    echo "usage: $0 BUILD_DIR server|client [split|packed|split-huge ...]" >&2
    exit 1
    ;;
esac
vus_test_init "testpmd-$MODE" "${1:-}"
shift 2
LAYOUTS=("$@")
need_root_or_skip
TESTPMD=${TESTPMD:-dpdk-testpmd}
command -v "$TESTPMD" >/dev/null || fail "$TESTPMD not found (package dpdk-dev: devtools/install-deps.sh)"
[ -x "$VUS_BIN" ] || fail "vuswitch binary not found at $VUS_BIN (build it first)"

TO=${VUS_TEST_TIMEOUT:-30}
# testpmd refuses to run on one lcore ("No cores defined for forwarding"): its main lcore and
# its idle forwarding lcore share the last CPU; vuswitch runs on CPU 0.
CPU=$(($(nproc) - 1))

# A hugetlbfs mount with 128 free 2 MiB pages (256 MiB for testpmd), or nothing.
huge_mount() {
    local free
    free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)
    [ "$free" -ge 128 ] || return 0
    awk '$3 == "hugetlbfs" { print $2; exit }' /proc/mounts
}

if [ ${#LAYOUTS[@]} -eq 0 ]; then
    LAYOUTS=(split packed)
    if [ -n "$(huge_mount)" ]; then
        LAYOUTS+=(split-huge)
    else
        note "no 128 free hugepages mounted: split-huge not run"
    fi
fi

mkfifo "$VUS_T/testpmd.in"
exec {CMD_FD}<>"$VUS_T/testpmd.in"

# start_testpmd NAME SOCK LAYOUT
start_testpmd() {
    local name=$1 sock=$2 layout=$3 vdev mnt mem
    vdev="net_virtio_user0,path=$sock,queues=1,queue_size=1024"
    [ "$MODE" = client ] && vdev+=",server=1"
    [ "$layout" = packed ] && vdev+=",packed_vq=1"
    if [ "$layout" = split-huge ]; then
        mnt=$(huge_mount)
        [ -n "$mnt" ] || fail "split-huge needs 128 free 2 MiB pages on a hugetlbfs mount"
        # No -m: memory grows at run time, and virtio-user sends a second SET_MEM_TABLE.
        mem=(--single-file-segments --huge-dir "$mnt")
    else
        mem=(--no-huge -m 256)
    fi
    note "$name: testpmd --vdev $vdev ${mem[*]}"
    # shellcheck disable=SC2016 # $0 and $@ belong to the inner bash
    start_bg "$name" bash -c 'exec "$@" <>"$0"' "$VUS_T/testpmd.in" \
        "$TESTPMD" --lcores "0@$CPU,1@$CPU" "${mem[@]}" --iova-mode=va --no-pci \
        --file-prefix "$VUS_PREFIX-$name" --vdev "$vdev" -- -i --total-num-mbufs=16384
}

testpmd_cmd() { echo "$1" >&"$CMD_FD"; }

# link_up NAME: `show port info 0` every second until testpmd reports the link up.
link_up() {
    local name=$1 log=${VUS_LOG[$1]} i
    wait_for_log "$log" '^testpmd> ' "$TO" || fail "$name: no testpmd prompt"
    for ((i = 0; i < TO; i++)); do
        testpmd_cmd "show port info 0"
        sleep 1
        [ "$(count_log "$log" 'Link status: up')" -ge 1 ] && return 0
        _check_watched
    done
    fail "$name: port 0 link not up after ${TO}s ($(count_log "$log" 'Link status: down') x down)"
}

quit_testpmd() {
    local name=$1 i
    unwatch_bg "$name"
    testpmd_cmd "quit"
    for ((i = 0; i < TO * 10; i++)); do
        is_alive "$name" || break
        sleep 0.1
    done
    is_alive "$name" && fail "$name did not quit within ${TO}s"
    _reap "$name"
    [ "${VUS_STATUS[$name]}" -eq 0 ] || fail "$name exited with status ${VUS_STATUS[$name]}"
}

# check_negotiation LOG SOCK LAYOUT: the acked features and rings of the first connection.
check_negotiation() {
    local log=$1 sock=$2 layout=$3 line hex name r want=split
    [ "$layout" = packed ] && want=packed

    line=$(grep -E -- "$(port_re 0 "$sock" 'features acked 0x')" "$log" | head -n1)
    hex=$(sed -nE 's/.*: features acked (0x[0-9a-fA-F]+).*/\1/p' <<<"$line")
    [ -n "$hex" ] || fail "no features acked value in: $line"
    note "features acked ${line#*features acked }"
    (((hex >> 32) & 1)) || fail "VERSION_1 (bit 32) not acked: $hex"
    (((hex >> 30) & 1)) || fail "PROTOCOL_FEATURES (bit 30) not acked: $hex"
    if [ "$want" = packed ]; then
        (((hex >> 34) & 1)) || fail "RING_PACKED (bit 34) not acked with packed_vq=1: $hex"
    elif (((hex >> 34) & 1)); then
        fail "RING_PACKED (bit 34) acked without packed_vq=1: $hex"
    fi

    line=$(grep -E -- "$(port_re 0 "$sock" 'protocol features acked 0x')" "$log" | head -n1)
    hex=$(sed -nE 's/.*protocol features acked (0x[0-9a-fA-F]+).*/\1/p' <<<"$line")
    [ -n "$hex" ] || fail "no protocol features acked value in: $line"
    note "protocol features acked ${line#*protocol features acked }"
    for name in MQ REPLY_ACK STATUS; do
        grep -qE "[ :_]$name( |\$)" <<<"${line#*acked 0x}" ||
            fail "protocol features acked lacks $name: $line"
    done
    # virtio-user asks for MQ (bit 0), REPLY_ACK (3) and STATUS (16), and nothing else.
    [ $((hex)) -eq $((0x10009)) ] || fail "protocol features acked $hex, virtio-user asks for 0x10009"

    for r in 0 1; do
        [ "$(count_log "$log" "$(port_re 0 "$sock" "ring $r running: num 1024 $want ")")" -ge 1 ] ||
            fail "ring $r never ran as 'num 1024 $want'"
    done
}

# run_layout LAYOUT: the whole scenario on one socket with one vuswitch.
run_layout() {
    local layout=$1 sock=$VUS_T/$1.sock vs=vs-$1 tp1=tp-$1-1 tp2=tp-$1-2 arg log r t0=$SECONDS
    local conn
    conn=$(port_re 0 "$sock" 'front-end connected')
    arg=$sock
    [ "$MODE" = client ] && arg+=",client"

    if [ "$MODE" = client ]; then
        start_testpmd "$tp1" "$sock" "$layout"
        for ((r = 0; r < TO * 10; r++)); do
            [ -S "$sock" ] && break
            _check_watched
            sleep 0.1
        done
        [ -S "$sock" ] || fail "$tp1 did not create $sock"
    fi
    start_vuswitch "$vs" --vhost-user "$arg"
    log=${VUS_LOG[$vs]}
    if [ "$MODE" = server ]; then
        wait_for_log "$log" "$(port_re 0 "$sock" listening)" "$TO" || fail "$vs not listening"
        [ -S "$sock" ] || fail "$vs logs 'listening' but $sock is not a socket"
        start_testpmd "$tp1" "$sock" "$layout"
    else
        wait_for_log "$log" "$(port_re 0 "$sock" connecting)" "$TO" || fail "$vs not connecting"
    fi

    # First front-end: negotiation, rings, link.
    wait_for_log "$log" "$conn" "$TO" || fail "$vs: no front-end connected"
    for r in 'features acked 0x' 'protocol features acked 0x' 'ring 0 running' 'ring 1 running'; do
        wait_for_log "$log" "$(port_re 0 "$sock" "$r")" "$TO" || fail "$vs: no '$r'"
    done
    link_up "$tp1"
    check_negotiation "$log" "$sock" "$layout"
    note "$MODE/$layout: link up, rings running after $((SECONDS - t0)) s;" \
        "$(count_log "$log" 'SET_MEM_TABLE') SET_MEM_TABLE(s) seen"

    # It leaves: both rings stop, the port disconnects, vuswitch stays.
    quit_testpmd "$tp1"
    for r in 0 1; do
        wait_for_log "$log" "$(port_re 0 "$sock" "ring $r stopped at base 0x[0-9a-fA-F]+")" "$TO" ||
            fail "$vs: ring $r not stopped after testpmd quit"
    done
    wait_for_log "$log" "$(port_re 0 "$sock" 'front-end disconnected')" "$TO" ||
        fail "$vs: no disconnect after testpmd quit"

    # Second front-end on the same socket.
    start_testpmd "$tp2" "$sock" "$layout"
    wait_for_log "$log" "$conn" "$TO" 2 || fail "$vs: second front-end never connected"
    for r in 0 1; do
        wait_for_log_after "$log" "$conn" 2 "$(port_re 0 "$sock" "ring $r running: num 1024 ")" "$TO" ||
            fail "$vs: ring $r not running after the second connection"
    done
    link_up "$tp2"
    quit_testpmd "$tp2"
    wait_for_log "$log" "$(port_re 0 "$sock" 'front-end disconnected')" "$TO" 2 ||
        fail "$vs: no disconnect after the second testpmd quit"

    stop_bg "$vs" 10
    [ "${VUS_STATUS[$vs]}" -eq 0 ] ||
        fail "$vs: $(_describe_status "${VUS_STATUS[$vs]}") after SIGTERM, want exit status 0"
    note "PASS $MODE/$layout in $((SECONDS - t0)) s"
}

for layout in "${LAYOUTS[@]}"; do
    case "$layout" in
    split | packed | split-huge) run_layout "$layout" ;;
    *) fail "unknown layout '$layout'" ;;
    esac
done
note "PASS testpmd virtio-user $MODE: ${LAYOUTS[*]}"
exit 0
