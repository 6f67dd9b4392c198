#!/bin/bash
# qemu_guest_test.sh BUILD_DIR -- vuswitch with one real front-end: QEMU 7.2 (TCG) booting a
# Linux 6.1 guest whose virtio-net NIC is a vhost-user netdev; QEMU is the socket client,
# vuswitch the server (its default).
#
# Checks, from vuswitch's log and the guest's console:
#   1. the port listens, the front-end connects (MSG-14 server role);
#   2. `features acked 0x...` equals the features the guest driver negotiated
#      (/sys/class/net/eth0/device/features), modulo bit 30 (added by QEMU, never seen by the
#      guest), bit 26 (migration only) and the bits QEMU's virtio-net keeps for itself (MAC,
#      STATUS, CTRL_VQ, CTRL_RX, CTRL_VLAN, CTRL_RX_EXTRA, CTRL_MAC_ADDR, CTRL_GUEST_OFFLOADS,
#      GUEST_ANNOUNCE), which it offers to the guest but never sends in SET_FEATURES
#      (NEG-7, NEG-14, COMPAT-9); bit 30 is present when protocol features were negotiated (NEG-8
#      rule 2);
#   3. rings 0 and 1 reach `running` (RING-3) with QEMU's ordering (COMPAT-1, COMPAT-2);
#   4. no second connection while the guest runs, vuswitch never dies, the guest's eth0 is up
#      and QEMU prints no vhost error (it checks replies strictly: MSG-3, COMPAT-7);
#   5. QEMU's shutdown stops rings 0 and 1 (`stopped at base`, RING-5/COMPAT-3) and disconnects
#      (RECONNECT-2); vuswitch then exits with status 0 on SIGTERM (MSG-14).
# Exit: 0 pass, 77 skip (not root, no QEMU), 1 fail.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/system/lib.sh
. "$HERE/lib.sh"
# shellcheck source=tests/system/lib_qemu.sh
. "$HERE/lib_qemu.sh"

vus_test_init qemu_guest "${1:-}"
need_root_or_skip
need_qemu_or_skip
[ -x "$VUS_BIN" ] || fail "vuswitch binary not found at $VUS_BIN (build it first)"

guest_image
SOCK=$VUS_T/vhost0.sock

note "starting vuswitch (server) on $SOCK"
start_vuswitch vuswitch --vhost-user "$SOCK"
LOG=${VUS_LOG[vuswitch]}
wait_for_log "$LOG" "$(port_re 0 "$SOCK" listening)" 30 || fail "vuswitch never logged 'listening'"
[ -S "$SOCK" ] || fail "vuswitch logged 'listening' but $SOCK is not a socket"

note "booting the guest"
start_guest g1 "$SOCK" 10.0.0.1/24 52:54:00:00:00:01
guest_wait_ready g1 60
note "guest ready"

wait_for_log "$LOG" "$(port_re 0 "$SOCK" 'front-end connected')" 10 ||
    fail "no 'front-end connected' in vuswitch's log"
FEAT_RE="$(port_re 0 "$SOCK" 'features acked 0x[0-9a-f]{16}')"
wait_for_log "$LOG" "$FEAT_RE" 30 || fail "no 'features acked' in vuswitch's log"
for r in 0 1; do
    wait_for_log "$LOG" "$(port_re 0 "$SOCK" "ring $r running: num [0-9]+ (split|packed) (enabled|disabled)")" 30 ||
        fail "ring $r never reached 'running'"
done
note "rings 0 and 1 running"

acked=$(tr -d '\r' <"$LOG" | grep -E -- "$FEAT_RE" | tail -n1 | sed -E 's/.*features acked (0x[0-9a-f]{16}).*/\1/')
gfeat=$(guest_features g1)
[ -n "$gfeat" ] || fail "guest printed no VUS-GUEST-FEATURES line"
check_guest_features "$acked" "$gfeat"
if [ "$(count_log "$LOG" "$(port_re 0 "$SOCK" 'protocol features acked')")" -ge 1 ]; then
    (((16#${acked#0x} >> 30) & 1)) ||
        fail "protocol features were negotiated but bit 30 is not in SET_FEATURES ($acked)"
fi
grep -E -- "$(port_re 0 "$SOCK" '(features acked|protocol features acked|ring [0-9]+ running)')" "$LOG" | tr -d '\r'

# The guest keeps working: a command round trip through its console, eth0 up.
out=$(guest_run g1 'cat /sys/class/net/eth0/operstate; ip addr show dev eth0' 30) ||
    fail "guest command failed: $out"
echo "guest eth0: $(echo "$out" | head -n1)"
[ "$(echo "$out" | head -n1)" = up ] || fail "guest eth0 is not up: $out"

# QEMU checks every reply strictly (COMPAT-7) and reports vhost errors on stderr.
msgs=$(qemu_messages g1)
[ -z "$msgs" ] || fail "QEMU reported errors: $msgs"

# Still one connection, vuswitch alive.
sleep 1
n=$(count_log "$LOG" "$(port_re 0 "$SOCK" 'front-end connected')")
[ "$n" -eq 1 ] || fail "front-end connected $n times, expected 1"
is_alive vuswitch || fail "vuswitch died"

# Orderly QEMU shutdown: GET_VRING_BASE for both rings, then the socket closes.
note "stopping QEMU"
stop_bg g1 20 || fail "QEMU did not exit cleanly: $(_describe_status "${VUS_STATUS[g1]}")"
for r in 0 1; do
    wait_for_log "$LOG" "$(port_re 0 "$SOCK" "ring $r stopped at base 0x[0-9a-f]+")" 10 ||
        fail "ring $r was not reported stopped after QEMU's shutdown"
done
wait_for_log "$LOG" "$(port_re 0 "$SOCK" 'front-end disconnected')" 10 ||
    fail "no 'front-end disconnected' after QEMU exited"

note "stopping vuswitch"
stop_bg vuswitch 10
rc=${VUS_STATUS[vuswitch]}
[ "$rc" -eq 0 ] || fail "vuswitch did not exit cleanly on SIGTERM: $(_describe_status "$rc")"
note "PASS"
exit 0
