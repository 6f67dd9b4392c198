#!/bin/bash
# qemu_reconnect_test.sh BUILD_DIR -- restarts of either side of a vhost-user connection with a
# real front-end (QEMU 7.2, TCG, Linux 6.1 guest).
#
# Part 1, back-end restart (vuswitch server, QEMU client with reconnect=1):
#   once rings 0 and 1 run, vuswitch is killed with SIGKILL (its socket file stays behind, stale)
#   and started again on the same path. It must bind despite the stale file (RECONNECT-6), QEMU
#   reconnects and replays the negotiation with non-zero ring bases (RECONNECT-1, RECONNECT-3):
#   the new log shows `front-end connected`, `features acked` and rings 0 and 1 `running`; the
#   guest did not reboot (one boot marker on its console) and still answers on its console.
# Part 2, front-end restart (vuswitch client, QEMU server with server=on,wait=off):
#   QEMU is started first (it blocks until a back-end connects), vuswitch connects to it; then
#   QEMU is killed with SIGKILL and a new QEMU is started on the same path. vuswitch must notice
#   the disconnect (RECONNECT-2) and reconnect by itself (MSG-14 client role, RECONNECT-6): its
#   log shows `front-end connected` twice and rings 0 and 1 `running` after the second, and the
#   new guest boots with a working NIC.
# Both vuswitch instances that are stopped normally must exit 0 on SIGTERM.
# Exit: 0 pass, 77 skip (not root, no QEMU), 1 fail.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/system/lib.sh
. "$HERE/lib.sh"
# shellcheck source=tests/system/lib_qemu.sh
. "$HERE/lib_qemu.sh"

vus_test_init qemu_reconnect "${1:-}"
need_root_or_skip
need_qemu_or_skip
[ -x "$VUS_BIN" ] || fail "vuswitch binary not found at $VUS_BIN (build it first)"
guest_image

# wait_port_up LOG SOCK N: Nth `front-end connected`, then features and both rings after it.
wait_port_up() {
    local log=$1 sock=$2 n=$3 conn r
    conn=$(port_re 0 "$sock" 'front-end connected')
    wait_for_log "$log" "$conn" 60 "$n" || fail "no connection #$n in $log"
    wait_for_log_after "$log" "$conn" "$n" "$(port_re 0 "$sock" 'features acked 0x[0-9a-f]{16}')" 30 ||
        fail "no 'features acked' after connection #$n in $log"
    for r in 0 1; do
        wait_for_log_after "$log" "$conn" "$n" \
            "$(port_re 0 "$sock" "ring $r running: num [0-9]+ (split|packed) (enabled|disabled)")" 30 ||
            fail "ring $r not running after connection #$n in $log"
    done
}

# ---------------------------------------------------------------------------------------------
note "part 1: vuswitch server, QEMU client with reconnect=1"
SOCK1=$VUS_T/p1.sock
start_vuswitch vs1 --vhost-user "$SOCK1"
wait_for_log "${VUS_LOG[vs1]}" "$(port_re 0 "$SOCK1" listening)" 30 || fail "vs1 not listening"
start_guest g1 "$SOCK1" 10.0.1.1/24 52:54:00:00:01:01 reconnect=1
guest_wait_ready g1 60
wait_port_up "${VUS_LOG[vs1]}" "$SOCK1" 1
note "part 1: port up; killing vuswitch with SIGKILL"

kill_bg vs1 KILL
[ -e "$SOCK1" ] && echo "stale socket file left behind: $SOCK1"

start_vuswitch vs1b --vhost-user "$SOCK1"
wait_for_log "${VUS_LOG[vs1b]}" "$(port_re 0 "$SOCK1" listening)" 30 ||
    fail "restarted vuswitch does not listen on $SOCK1 (stale socket file not handled?)"
note "part 1: vuswitch restarted, waiting for QEMU to reconnect"
wait_port_up "${VUS_LOG[vs1b]}" "$SOCK1" 1
note "part 1: port back up"

guest_check g1
out=$(guest_run g1 'echo VUS-ALIVE; cat /sys/class/net/eth0/operstate' 30) ||
    fail "guest g1 does not answer after the back-end restart: $out"
echo "$out" | grep -q '^VUS-ALIVE$' || fail "unexpected guest output: $out"
echo "guest g1 eth0 after back-end restart: $(echo "$out" | tail -n1)"
[ "$(echo "$out" | tail -n1)" = up ] || fail "guest g1 eth0 is not up after the back-end restart"
echo "QEMU g1 messages (errors from the killed connection are expected):"
qemu_messages g1 | sed 's/^/  /'
boots=$(guest_boot_count g1)
[ "$boots" -eq 1 ] || fail "guest g1 booted $boots times"
n=$(count_log "${VUS_LOG[vs1b]}" "$(port_re 0 "$SOCK1" 'front-end connected')")
[ "$n" -eq 1 ] || fail "restarted vuswitch saw $n connections, expected 1"

stop_bg g1 20 || fail "QEMU g1 did not exit cleanly: $(_describe_status "${VUS_STATUS[g1]}")"
wait_for_log "${VUS_LOG[vs1b]}" "$(port_re 0 "$SOCK1" 'front-end disconnected')" 10 ||
    fail "vs1b: no 'front-end disconnected' after QEMU exited"
stop_bg vs1b 10
[ "${VUS_STATUS[vs1b]}" -eq 0 ] ||
    fail "vs1b did not exit cleanly on SIGTERM: $(_describe_status "${VUS_STATUS[vs1b]}")"
note "part 1 passed"

# ---------------------------------------------------------------------------------------------
note "part 2: QEMU server (server=on,wait=off), vuswitch client"
SOCK2=$VUS_T/p2.sock

# wait_socket PATH TIMEOUT: QEMU creates the listening socket, then blocks for a back-end.
wait_socket() {
    local deadline=$((SECONDS + $2))
    while [ ! -S "$1" ]; do
        _check_watched
        [ $SECONDS -lt $deadline ] || fail "socket $1 not created within $2 s"
        sleep 0.1
    done
}

start_guest g2 "$SOCK2" 10.0.2.1/24 52:54:00:00:02:01 server=on,wait=off
wait_socket "$SOCK2" 30
start_vuswitch vs2 --vhost-user "$SOCK2,client"
LOG2=${VUS_LOG[vs2]}
wait_for_log "$LOG2" "$(port_re 0 "$SOCK2" connecting)" 30 || fail "vs2 never logged 'connecting'"
guest_wait_ready g2 60
wait_port_up "$LOG2" "$SOCK2" 1
note "part 2: port up; killing QEMU with SIGKILL"

kill_bg g2 KILL
wait_for_log "$LOG2" "$(port_re 0 "$SOCK2" 'front-end disconnected')" 20 ||
    fail "vs2 did not notice the front-end's death"
is_alive vs2 || fail "vs2 died after the front-end was killed"

start_guest g3 "$SOCK2" 10.0.2.1/24 52:54:00:00:02:01 server=on,wait=off
note "part 2: new QEMU started, waiting for vuswitch to reconnect"
wait_port_up "$LOG2" "$SOCK2" 2
guest_wait_ready g3 60
out=$(guest_run g3 'echo VUS-ALIVE; cat /sys/class/net/eth0/operstate' 30) ||
    fail "guest g3 does not answer: $out"
echo "guest g3 eth0: $(echo "$out" | tail -n1)"
[ "$(echo "$out" | tail -n1)" = up ] || fail "guest g3 eth0 is not up"
msgs=$(qemu_messages g3)
[ -z "$msgs" ] || fail "QEMU g3 reported errors: $msgs"
n=$(count_log "$LOG2" "$(port_re 0 "$SOCK2" 'front-end connected')")
[ "$n" -eq 2 ] || fail "vs2 saw $n connections, expected 2"

stop_bg g3 20 || fail "QEMU g3 did not exit cleanly: $(_describe_status "${VUS_STATUS[g3]}")"
wait_for_log "$LOG2" "$(port_re 0 "$SOCK2" 'front-end disconnected')" 10 2 ||
    fail "vs2: no second 'front-end disconnected'"
stop_bg vs2 10
[ "${VUS_STATUS[vs2]}" -eq 0 ] ||
    fail "vs2 did not exit cleanly on SIGTERM: $(_describe_status "${VUS_STATUS[vs2]}")"
grep -E -- "$(port_re 0 "$SOCK2" '(connecting|front-end (dis)?connected)')" "$LOG2" | tr -d '\r'
note "PASS"
exit 0
