#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# switch_qemu_test.sh BUILD_DIR -- vuswitch's L2 learning switch (`--fwd switch`) with real
# front-ends: three QEMU guests (TCG, Linux 6.1) on vhost-user ports and a "physical NIC", a veth
# whose host end is a net_af_packet ethdev port and whose other end is in a network namespace.
#
# Ports (both vuswitch runs): 0 vm0 (vhost-user), 1 vm1, 2 vm2, 3 the veth (net_af_packet).
# Guests are QEMU clients with reconnect=1; IPv6 is off everywhere (guest kernel ipv6.disable=1,
# namespace sysctls), so the only frames on the wire are the ones this test makes and counters
# can be compared exactly.
#
# Run 1, every port in the default access VLAN 1 (10.0.0.0/24: vm0 .1, vm1 .2, vm2 .4, ns .3):
#   (a) vm0 <-> vm1 ping both ways (and vm2 -> vm0); at vuswitch's exit its table (`fdb:` lines)
#       shows vm0's MAC learned on port 0, vm1's on port 1 and the namespace's on port 3, all in
#       VLAN 1 (vm2's on port 2 unless port 2 was deleted), and `switch:` shows unicast frames;
#   (b) VM <-> physical NIC: vm1 pings the namespace, the namespace pings vm0, and fetches 4 MiB
#       over HTTP from vm1 (TSO frames and partial checksums cut and completed in software for
#       the af_packet port, VNET-4);
#   (d) a port going away under load: vm2 pings the namespace 10 times a second, while vm0 pings
#       vm1 (guest ping) and the namespace pings vm1 (host ping), 4 per second each; in the middle
#       port 2 goes away, and both other flows must see 0% loss. How it goes away:
#         port-del       when vuswitch serves `/vuswitch/port/del` on DPDK's telemetry socket
#                        (the CLI's `port del`, same code): port 2 is deleted at run time; the
#                        reply must be ok, the log must say `port 2: removed`, `/vuswitch/ports`
#                        must no longer list it and at exit the table has nothing on port 2;
#         frontend-quit  otherwise: vm2's QEMU is terminated (SIGTERM: it quits, its vhost-user
#                        connection closes, vuswitch logs `front-end disconnected` for port 2,
#                        which stays in the switch without rings).
#       The test prints which one ran (VUS_SWQ_D=port-del|frontend-quit forces one).
# Run 2, VLANs (`--vlan 0:access:10 --vlan 1:access:20 --vlan 3:trunk:10,20`), same guests
# (they reconnect to the restarted vuswitch), vm2's port has no front-end any more:
#   (c) vm0 10.1.10.1/16 and vm1 10.1.20.1/16 share an IP subnet but not a VLAN: neither reaches
#       the other. On the trunk, the namespace has an address per VLAN, 10.1.10.3 on VLAN 10 and
#       10.1.20.3 on VLAN 20, each answering ARP and ping only on its own VLAN (as VLAN
#       subinterfaces with arp_ignore=1 would). The subinterfaces are emulated in user space
#       (vlanhost.py, an AF_PACKET socket on the veth's namespace end, written out below): the
#       kernels of these machines have no 802.1Q support (`ip link add ... type vlan` fails).
#       vm0 reaches 10.1.10.3 and not 10.1.20.3, vm1 the reverse; the namespace reaches vm0 only
#       from VLAN 10 and vm1 only from VLAN 20. At exit, exactly: port 0's tx (+ tx-dropped) =
#       frames the namespace sent on VLAN 10, port 0's rx = frames it received on VLAN 10, the
#       same for port 1 and VLAN 20, nothing untagged left the trunk, and vm1's eth0 received
#       exactly port 1's tx: nothing crossed VLANs in either direction. The table has vm0 only in
#       VLAN 10, vm1 only in VLAN 20, the namespace's MAC in both on port 3.
#
# Exit: 0 pass, 77 skip (not root, no QEMU, no veth/netns), 1 fail (with the tail of every log).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/system/lib.sh
. "$HERE/lib.sh"
# shellcheck source=tests/system/lib_qemu.sh
. "$HERE/lib_qemu.sh"

vus_test_init switch_qemu "${1:-}"
need_root_or_skip
need_qemu_or_skip
need_cmd_or_skip ip ping
command -v ethtool >/dev/null 2>&1 || fail "ethtool not found (devtools/install-deps.sh)"
command -v python3 >/dev/null 2>&1 || fail "python3 not found (devtools/install-deps.sh)"
[ -x "$VUS_BIN" ] || fail "vuswitch binary not found at $VUS_BIN (build it first)"

# --- the "physical NIC": a veth pair, one end in a namespace ----------------------------------
NS=vus-swq-$$
VH=vswq$$h # host end: the net_af_packet port
VN=vswq$$n # namespace end
nsx() { ip netns exec "$NS" "$@"; }
net_cleanup() {
    ip link del "$VH" 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    return 0
}
VUS_CLEANUP_HOOKS+=(net_cleanup)
ip netns add "$NS" 2>/dev/null || skip "cannot create a network namespace"
if ! ip link add "$VH" type veth peer name "$VN" 2>/dev/null; then
    skip "cannot create a veth pair"
fi
ip link set "$VN" netns "$NS" || fail "cannot move $VN into $NS"
nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true
nsx sysctl -qw "net.ipv6.conf.$VN.disable_ipv6=1" 2>/dev/null || true
sysctl -qw "net.ipv6.conf.$VH.disable_ipv6=1" 2>/dev/null || true
ip link set "$VH" up && nsx ip link set lo up && nsx ip link set "$VN" up ||
    fail "cannot bring the veth pair up"
nsx ip addr add 10.0.0.3/24 dev "$VN" || fail "cannot address $VN"
# The namespace's stack would leave TCP checksums partial for the veth to "offload": a frame
# read from the other end with an AF_PACKET socket (net_af_packet) then carries a checksum that
# was never completed (the kernel flags it TP_STATUS_CSUMNOTREADY, which the PMD does not look
# at). A real NIC completes it in hardware; here the namespace computes it.
nsx ethtool -K "$VN" tx off >/dev/null 2>&1 || fail "cannot switch off $VN's tx checksum offload (ethtool)"
NS_MAC=$(nsx cat "/sys/class/net/$VN/address")

# A DPDK telemetry client (the protocol of dpdk_telemetry.v2: a JSON greeting, then one reply
# per command): tel.py SOCKET CMD... prints one reply per line.
TEL_PY=$VUS_T/tel.py
cat >"$TEL_PY" <<'EOF_PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(10)
s.connect(sys.argv[1])
size = int(json.loads(s.recv(65536).decode()).get('max_output_len', 16384))
for cmd in sys.argv[2:]:
    s.send(cmd.encode())
    print(s.recv(size).decode())
EOF_PY
tel() { python3 "$TEL_PY" "/var/run/dpdk/$VUS_PREFIX-$1/dpdk_telemetry.v2" "${@:2}"; }

VLANHOST=$VUS_T/vlanhost.py
cat >"$VLANHOST" <<'EOF_PY'
"""A host on VLAN-tagged subinterfaces, in user space (the kernel here has no 802.1Q)."""
import errno, os, select, signal, socket, struct, sys, time

ETH_P_ALL, ETH_P_8021Q, ETH_P_ARP, ETH_P_IP = 0x0003, 0x8100, 0x0806, 0x0800
SOL_PACKET, PACKET_AUXDATA, TP_STATUS_VLAN_VALID, PACKET_OUTGOING = 263, 8, 0x10, 4

def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return (~s) & 0xffff

class Port:
    def __init__(self, ifname):
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        self.s.bind((ifname, 0))
        self.mac = open('/sys/class/net/%s/address' % ifname).read().strip()
        self.macb = bytes.fromhex(self.mac.replace(':', ''))
        self.tx, self.rx = {}, {}

    def send(self, vlan, dst, etype, payload):
        hdr = dst + self.macb
        if vlan:
            hdr += struct.pack('!HH', ETH_P_8021Q, vlan)
        self.s.send(hdr + struct.pack('!H', etype) + payload)
        self.tx[vlan] = self.tx.get(vlan, 0) + 1

    def recv(self, timeout):
        """-> (vlan, dst, src, etype, payload) or None; counts incoming frames per VLAN."""
        while True:
            r, _, _ = select.select([self.s], [], [], max(timeout, 0))
            if not r:
                return None
            try:
                data, anc, _, addr = self.s.recvmsg(65536, socket.CMSG_SPACE(20))
            except OSError as e:  # the link went down (the other end's owner stopped)
                if e.errno != errno.ENETDOWN:
                    raise
                time.sleep(0.05)
                continue
            if addr[2] == PACKET_OUTGOING:
                continue
            vlan = 0
            for lvl, typ, d in anc:
                if lvl == SOL_PACKET and typ == PACKET_AUXDATA and len(d) >= 16:
                    st, _, _, _, _, tci = struct.unpack_from('=IIIHHH', d)
                    if st & TP_STATUS_VLAN_VALID:
                        vlan = tci & 0xfff
            etype = struct.unpack_from('!H', data, 12)[0]
            off = 14
            if etype == ETH_P_8021Q:   # the tag left in the frame
                vlan = struct.unpack_from('!H', data, 14)[0] & 0xfff
                etype = struct.unpack_from('!H', data, 16)[0]
                off = 18
            self.rx[vlan] = self.rx.get(vlan, 0) + 1
            return vlan, data[0:6], data[6:12], etype, data[off:]

    def dump(self, path):
        with open(path, 'w') as f:
            for v in sorted(set(self.tx) | set(self.rx)):
                f.write('vlan %d tx %d rx %d\n' % (v, self.tx.get(v, 0), self.rx.get(v, 0)))

def arp(op, sha, spa, tha, tpa):
    return struct.pack('!HHBBH6s4s6s4s', 1, ETH_P_IP, 6, 4, op, sha, spa, tha, tpa)

def ipv4(src, dst, proto, payload, ident=0):
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), ident, 0, 64, proto, 0, src, dst)
    return h[:10] + struct.pack('!H', csum(h)) + h[12:] + payload

def icmp(typ, ident, seq, data):
    h = struct.pack('!BBHHH', typ, 0, 0, ident, seq) + data
    return h[:2] + struct.pack('!H', csum(h)) + h[4:]

def serve(port, addrs, stats):
    """addrs: {vlan: ip bytes}. Answer ARP and echo requests for each address on its VLAN only."""
    done = []
    signal.signal(signal.SIGTERM, lambda *a: done.append(1))
    print('serving', flush=True)
    while not done:
        f = port.recv(0.2)
        if f is None:
            continue
        vlan, dst, src, etype, p = f
        me = addrs.get(vlan)
        if me is None:
            continue
        if etype == ETH_P_ARP and len(p) >= 28:
            _, _, _, _, op, sha, spa, _, tpa = struct.unpack_from('!HHBBH6s4s6s4s', p)
            if op == 1 and tpa == me:
                port.send(vlan, sha, ETH_P_ARP, arp(2, port.macb, me, sha, spa))
        elif etype == ETH_P_IP and len(p) >= 28 and p[9] == 1 and p[16:20] == me and p[20] == 8:
            ihl = (p[0] & 15) * 4
            tot = struct.unpack_from('!H', p, 2)[0]
            ic = p[ihl:tot]
            ident, seq = struct.unpack_from('!HH', ic, 4)
            port.send(vlan, src, ETH_P_IP, ipv4(me, p[12:16], 1, icmp(0, ident, seq, ic[8:])))
    port.dump(stats)

def ping(port, vlan, me, dst, count, stats):
    """ARP for dst on vlan, then count echo requests; print and return the replies."""
    bcast, mac, got = b'\xff' * 6, None, 0
    for _ in range(3):
        port.send(vlan, bcast, ETH_P_ARP, arp(1, port.macb, me, b'\0' * 6, dst))
        end = time.time() + 1
        while mac is None and time.time() < end:
            f = port.recv(end - time.time())
            if f and f[0] == vlan and f[3] == ETH_P_ARP:
                _, _, _, _, op, sha, spa, _, _ = struct.unpack_from('!HHBBH6s4s6s4s', f[4])
                if op == 2 and spa == dst:
                    mac = sha
        if mac:
            break
    if mac is not None:
        ident = os.getpid() & 0xffff
        for seq in range(count):
            port.send(vlan, mac, ETH_P_IP, ipv4(me, dst, 1, icmp(8, ident, seq, b'vuswitch' * 7)))
            end = time.time() + 2
            while time.time() < end:
                f = port.recv(end - time.time())
                if (f and f[0] == vlan and f[3] == ETH_P_IP and f[4][9] == 1 and
                        f[4][12:16] == dst and f[4][20] == 0 and
                        struct.unpack_from('!HH', f[4], 24) == (ident, seq)):
                    got += 1
                    break
            time.sleep(0.1)
    print('vlan %d %s -> %s: arp %s, %d sent, %d received' % (
        vlan, socket.inet_ntoa(me), socket.inet_ntoa(dst),
        ':'.join('%02x' % b for b in mac) if mac else 'unanswered', count if mac else 0, got))
    # Only what was sent counts here: the server's socket counts what arrived.
    port.rx = {}
    port.dump(stats)
    return got

def main(a):
    port = Port(a[1])
    if a[0] == 'serve':   # serve IFACE STATS VLAN:IP...
        serve(port, {int(x.split(':')[0]): socket.inet_aton(x.split(':')[1]) for x in a[3:]}, a[2])
        return 0
    if a[0] == 'ping':    # ping IFACE STATS VLAN SRC DST COUNT
        n = int(a[6])
        got = ping(port, int(a[3]), socket.inet_aton(a[4]), socket.inet_aton(a[5]), n, a[2])
        return 0 if got == n else (2 if got == 0 else 1)
    return 64

sys.exit(main(sys.argv[1:]))
EOF_PY

guest_image
S0=$VUS_T/vm0.sock S1=$VUS_T/vm1.sock S2=$VUS_T/vm2.sock
M0=52:54:00:5a:00:01 M1=52:54:00:5a:00:02 M2=52:54:00:5a:00:04
VHOST_ARGS=(--vhost-user "$S0" --vhost-user "$S1" --vhost-user "$S2")
export VUS_LCORES=0,1 VUS_MEM_MB=256 VUS_EAL_EXTRA="--vdev net_af_packet0,iface=$VH"
# no_timer_check: under TCG on a loaded machine the kernel's IO-APIC timer check can fail and
# panic ("IO-APIC + timer doesn't work!"); skipping it is the usual fix for virtual machines.
export VUS_GUEST_APPEND="ipv6.disable=1 no_timer_check"

# wait_rings LOG PORT SOCK ANCHOR_N: rings 0 and 1 of PORT running after its Nth connection
wait_rings() {
    local log=$1 p=$2 sock=$3 n=$4 conn r
    conn=$(port_re "$p" "$sock" 'front-end connected')
    wait_for_log "$log" "$conn" 60 "$n" || fail "port $p: no connection #$n"
    for r in 0 1; do
        wait_for_log_after "$log" "$conn" "$n" "$(port_re "$p" "$sock" "ring $r running")" 60 ||
            fail "port $p: ring $r not running after connection #$n"
    done
}

# stop_switch NAME: SIGTERM, must exit 0; prints its exit report
stop_switch() {
    local rc=0
    stop_bg "$1" 15 || rc=$?
    [ "$rc" -eq 0 ] || fail "vuswitch $1 did not exit cleanly: $(_describe_status "$rc")"
    grep -E '^(port [0-9]+ [a-z]|fdb:|switch:)' "${VUS_LOG[$1]}" | sed 's/^/  /'
}

# port_counter LOG PORT FIELD: a counter from the exit report's `port N NAME: ...` line
port_counter() {
    tr -d '\r' <"$1" | sed -n "s/^port $2 [^:]*:.* $3 \([0-9]*\).*/\1/p" | tail -n1
}

# fdb_has LOG VLAN MAC PORT
fdb_has() { grep -qiE "^fdb: vlan $2 $(re_escape "$3") port $4 (learned|static)" "$1"; }
fdb_mac_vlans() { grep -iE "^fdb: vlan [0-9]+ $(re_escape "$2") " "$1" | awk '{print $3}' | sort -u | xargs; }

# grun VM CMD [TIMEOUT]: guest_run with its output in $GOUT (and echoed). Always call it in this
# shell, never in $(...) or a pipeline: guest_run numbers its commands with a counter that a
# subshell's increment does not carry back, so a later call would reuse an id and read an earlier
# command's output.
GOUT=
grun() {
    local rc=0 t0=$SECONDS
    guest_run "$@" >"$VUS_T/grun.out" 2>&1 || rc=$?
    GOUT=$(cat "$VUS_T/grun.out")
    printf '%s: %s (rc %s, %ss)\n%s\n' "$1" "$2" "$rc" "$((SECONDS - t0))" "$GOUT" | sed 's/^/  | /'
    return "$rc"
}
guest_ping_ok() { # guest_ping_ok VM IP: 3 probes, all answered
    grun "$1" "ping -c 3 -W 2 $2" 40 || return 1
    echo "$GOUT" | grep -q '^3 packets transmitted, 3 packets received, 0% packet loss'
}
guest_ping_fails() { # guest_ping_fails VM IP: no answer at all in 3 s
    # (busybox ping's own -w waits for ARP for ~12 s; SIGINT makes it print its statistics)
    grun "$1" "timeout -s INT 3 ping -c 3 $2" 40 || true
    echo "$GOUT" | grep -q 'packets transmitted' || return 1
    ! echo "$GOUT" | grep -qE 'bytes from|[1-9][0-9]* packets received'
}

# =============================================================================================
note "run 1: vuswitch --fwd switch, 3 vhost-user ports + $VH (net_af_packet), all in VLAN 1"
start_vuswitch vs1 "${VHOST_ARGS[@]}" --fwd switch
L1=${VUS_LOG[vs1]}
wait_for_log "$L1" "$(port_re 2 "$S2" listening)" 30 || fail "vuswitch not listening"
wait_for_log "$L1" "forwarding \(switch\) on 1 lcore" 30 || fail "vuswitch not forwarding"

start_guest vm0 "$S0" 10.0.0.1/24 "$M0" reconnect=1
start_guest vm1 "$S1" 10.0.0.2/24 "$M1" reconnect=1
start_guest vm2 "$S2" 10.0.0.4/24 "$M2" reconnect=1
guest_wait_ready vm0 120
guest_wait_ready vm1 120
guest_wait_ready vm2 120
wait_rings "$L1" 0 "$S0" 1
wait_rings "$L1" 1 "$S1" 1
wait_rings "$L1" 2 "$S2" 1
note "guests up"

# --- (a) guest <-> guest ---------------------------------------------------------------------
note "(a) vm0 <-> vm1"
guest_ping_ok vm0 10.0.0.2 || fail "(a) vm0 cannot ping vm1 through the switch"
guest_ping_ok vm1 10.0.0.1 || fail "(a) vm1 cannot ping vm0 through the switch"
guest_ping_ok vm2 10.0.0.1 || fail "(a) vm2 cannot ping vm0 through the switch"

# --- (b) guest <-> physical NIC --------------------------------------------------------------
note "(b) vm1 -> namespace, namespace -> vm0"
guest_ping_ok vm1 10.0.0.3 || fail "(b) vm1 cannot ping the namespace through $VH"
nsx ping -c 3 -W 2 10.0.0.1 >"$VUS_T/b-ns-vm0.txt" 2>&1 ||
    { cat "$VUS_T/b-ns-vm0.txt"; fail "(b) the namespace cannot ping vm0"; }
grep -q ' 0% packet loss' "$VUS_T/b-ns-vm0.txt" || fail "(b) namespace -> vm0 lost packets"
# TCP from a guest to the NIC: Linux hands vuswitch partial checksums and frames of up to 64 KiB
# (CSUM, HOST_TSO4); net_af_packet takes neither, so vuswitch completes the checksums and cuts
# the frames to MSS in software before they reach the veth (VNET-4). A frame left whole would
# exceed the veth's MTU and never arrive; a wrong checksum would be dropped by the namespace's
# stack: the md5 proves both.
grun vm1 "mkdir -p /tmp/www && dd if=/dev/urandom of=/tmp/www/f bs=1M count=4 2>/dev/null && md5sum /tmp/www/f && httpd -p 80 -h /tmp/www" 60 ||
    fail "(b) vm1 cannot serve a file: $GOUT"
B_SUM=$(awk '/\/tmp\/www\/f/ { print $1 }' <<<"$GOUT")
B_GOT=$(nsx python3 -c 'import urllib.request, hashlib; d = urllib.request.urlopen("http://10.0.0.2/f", timeout=120).read(); print(len(d), hashlib.md5(d).hexdigest())' 2>&1) ||
    fail "(b) the namespace cannot fetch vm1's file: $B_GOT"
note "(b) vm1 -> namespace over TCP: $B_GOT (sent md5 $B_SUM)"
[ "$B_GOT" = "4194304 $B_SUM" ] || fail "(b) vm1 -> namespace: sent 4194304 bytes md5 $B_SUM, got $B_GOT"
grun vm1 "killall httpd; rm -f /tmp/www/f" 30 || true

# --- (d) a port leaves while the others carry traffic ----------------------------------------
D_MODE=${VUS_SWQ_D:-}
if [ -z "$D_MODE" ]; then
    D_MODE=frontend-quit
    tel vs1 / 2>/dev/null | grep -q '"/vuswitch/port/del"' && D_MODE=port-del
fi
note "(d) vm2 floods pings at the namespace; vm0->vm1 and ns->vm1 ping steadily; port 2 goes away ($D_MODE)"
N_D=${VUS_SWQ_PINGS:-48}
grun vm2 "ping -i 0.1 10.0.0.3 >/dev/null 2>&1 &" 10 ||
    fail "(d) cannot start vm2's ping"
grun vm0 "ping -c $N_D -i 0.25 -W 5 10.0.0.2 >/tmp/d.txt 2>&1 &" 10 ||
    fail "(d) cannot start vm0's ping"
nsx ping -c "$N_D" -i 0.25 -W 5 10.0.0.2 >"$VUS_T/d-ns-vm1.txt" 2>&1 &
NSPING=$!
VUS_ALL_PIDS+=("$NSPING")
sleep 5
if [ "$D_MODE" = port-del ]; then
    note "(d) deleting port 2 over telemetry: /vuswitch/port/del,2"
    reply=$(tel vs1 /vuswitch/port/del,2 2>&1)
    echo "(d) $reply"
    echo "$reply" | grep -q '"status": *"ok"' || fail "(d) /vuswitch/port/del,2 refused: $reply"
    wait_for_log "$L1" 'port 2: removed' 20 || fail "(d) vuswitch did not log 'port 2: removed'"
    reply=$(tel vs1 /vuswitch/ports 2>&1)
    echo "$reply" | grep -q '"2": *{' && fail "(d) port 2 still listed after its deletion: $reply"
    echo "$reply" | grep -q '"3": *{' || fail "(d) port 3 (the NIC) missing after deleting port 2: $reply"
    note "(d) port 2 deleted; waiting for the flows to finish"
else
    note "(d) terminating vm2's QEMU (SIGTERM)"
    stop_bg vm2 20 || true
    wait_for_log "$L1" "$(port_re 2 "$S2" 'front-end disconnected')" 20 ||
        fail "(d) vuswitch did not see vm2's front-end leave"
    note "(d) port 2 disconnected; waiting for the flows to finish"
fi
wait "$NSPING" || true
# vm0's ping ends about N_D/4 s after it started; give it a margin
for _ in $(seq 1 60); do
    grun vm0 "cat /tmp/d.txt" 20 >/dev/null || true
    out=$GOUT
    echo "$out" | grep -q 'packets transmitted' && break
    sleep 1
done
echo "(d) vm0 -> vm1: $(echo "$out" | grep 'packets transmitted')"
echo "(d) ns  -> vm1: $(grep 'packets transmitted' "$VUS_T/d-ns-vm1.txt")"
echo "$out" | grep -qE "^$N_D packets transmitted, $N_D packets received, 0% packet loss" ||
    fail "(d) vm0 -> vm1 lost packets while port 2 went away: $out"
grep -qE "^$N_D packets transmitted, $N_D received, 0% packet loss" "$VUS_T/d-ns-vm1.txt" ||
    fail "(d) namespace -> vm1 lost packets while port 2 went away: $(cat "$VUS_T/d-ns-vm1.txt")"

# vm2 has no part in run 2 (with port-del its QEMU would reconnect to the new port 2).
is_alive vm2 && { stop_bg vm2 20 || true; }

note "run 1: stopping vuswitch"
stop_switch vs1
expect=("1 $M0 0" "1 $M1 1" "1 $NS_MAC 3")
[ "$D_MODE" = frontend-quit ] && expect+=("1 $M2 2")
for e in "${expect[@]}"; do
    # shellcheck disable=SC2086
    fdb_has "$L1" $e || fail "(a) fdb: no entry 'vlan MAC port' = '$e' at exit"
done
if [ "$D_MODE" = port-del ] && grep -qE '^fdb: .* port 2 ' "$L1"; then
    fail "(d) the table still has entries on the deleted port 2: $(grep -E '^fdb: .* port 2 ' "$L1")"
fi
uc=$(sed -n 's/^switch: unicast \([0-9]*\) .*/\1/p' "$L1" | tail -n1)
[ "${uc:-0}" -gt 0 ] || fail "(a) no unicast frames counted by the switch"
echo "(a) fdb: vm0 on port 0, vm1 on port 1, the namespace on port 3 (VLAN 1)$([ "$D_MODE" = frontend-quit ] && echo ", vm2 on port 2")"

# =============================================================================================
note "run 2: VLANs: port 0 access 10, port 1 access 20, port 3 ($VH) trunk 10,20"
# The namespace's two VLAN "subinterfaces" are emulated in user space on the veth's untagged
# device (vlanhost.py, below): kernels without 802.1Q (no 8021q module, as on these machines)
# cannot have real ones. Each VLAN has its own address, and each address answers ARP and ping
# only on its own VLAN, as with arp_ignore=1.
# DPDK's net_af_packet sets its interface down when it stops: bring it back up.
ip link set "$VH" up
nsx ip addr flush dev "$VN"
start_bg vlanhost ip netns exec "$NS" python3 "$VLANHOST" serve "$VN" "$VUS_T/vh-serve.stats" \
    10:10.1.10.3 20:10.1.20.3
wait_for_log "${VUS_LOG[vlanhost]}" '^serving' 20 || fail "(c) vlanhost.py did not start"
grun vm0 "ip addr flush dev eth0; ip addr add 10.1.10.1/16 dev eth0; ip neigh flush all" 20 ||
    fail "(c) cannot re-address vm0"
grun vm1 "ip addr flush dev eth0; ip addr add 10.1.20.1/16 dev eth0; ip neigh flush all" 20 ||
    fail "(c) cannot re-address vm1"

start_vuswitch vs2 "${VHOST_ARGS[@]}" --fwd switch \
    --vlan 0:access:10 --vlan 1:access:20 --vlan 3:trunk:10,20
L2=${VUS_LOG[vs2]}
wait_rings "$L2" 0 "$S0" 1
wait_rings "$L2" 1 "$S1" 1
# Wait for the guests' links to come back after the reconnection.
for vm in vm0 vm1; do
    grun "$vm" 'for i in $(seq 50); do [ "$(cat /sys/class/net/eth0/operstate)" = up ] && break; sleep 0.2; done; cat /sys/class/net/eth0/operstate' 30
    echo "$GOUT" | grep -q '^up' || fail "(c) $vm's link did not come back after vuswitch restarted"
done
grun vm1 "cat /sys/class/net/eth0/statistics/rx_packets" 20 || fail "(c) vm1 counters"
vm1_rx0=$(echo "$GOUT" | grep -E "^[0-9]+$" | tail -n1)
note "(c) guests reconnected; checking VLAN isolation"

# ns_ping VLAN SRC DST N: the namespace pings DST from SRC on VLAN; 0 all answered, 2 none
NSP=0
ns_ping() {
    NSP=$((NSP + 1))
    local t0=$SECONDS rc=0
    ip netns exec "$NS" python3 "$VLANHOST" ping "$VN" "$VUS_T/vh-ping$NSP.stats" "$@" || rc=$?
    echo "  ($((SECONDS - t0))s)"
    return "$rc"
}
guest_ping_fails vm0 10.1.20.1 || fail "(c) vm0 (VLAN 10) reached vm1 (VLAN 20)"
guest_ping_fails vm1 10.1.10.1 || fail "(c) vm1 (VLAN 20) reached vm0 (VLAN 10)"
guest_ping_ok vm0 10.1.10.3 || fail "(c) vm0 cannot reach the trunk's VLAN 10 address"
guest_ping_ok vm1 10.1.20.3 || fail "(c) vm1 cannot reach the trunk's VLAN 20 address"
guest_ping_fails vm0 10.1.20.3 || fail "(c) vm0 (VLAN 10) reached the trunk's VLAN 20 address"
guest_ping_fails vm1 10.1.10.3 || fail "(c) vm1 (VLAN 20) reached the trunk's VLAN 10 address"
ns_ping 10 10.1.10.3 10.1.10.1 3 || fail "(c) the namespace's VLAN 10 cannot reach vm0"
ns_ping 20 10.1.20.3 10.1.20.1 3 || fail "(c) the namespace's VLAN 20 cannot reach vm1"
rc=0; ns_ping 20 10.1.20.3 10.1.10.1 3 || rc=$?
[ "$rc" -eq 2 ] || fail "(c) the namespace's VLAN 20 reached vm0 (VLAN 10) (rc $rc)"
rc=0; ns_ping 10 10.1.10.3 10.1.20.1 3 || rc=$?
[ "$rc" -eq 2 ] || fail "(c) the namespace's VLAN 10 reached vm1 (VLAN 20) (rc $rc)"
grun vm1 "cat /sys/class/net/eth0/statistics/rx_packets" 20 || fail "(c) vm1 counters"
vm1_rx1=$(echo "$GOUT" | grep -E "^[0-9]+$" | tail -n1)

note "run 2: stopping vuswitch"
stop_bg vlanhost 10 || fail "(c) vlanhost.py failed: $(_describe_status "${VUS_STATUS[vlanhost]}")"
stop_switch vs2
# Frames the namespace sent per VLAN (server and pings), frames it received (the server saw all).
declare -A nsc=([10.tx]=0 [20.tx]=0 [10.rx]=0 [20.rx]=0 [0.rx]=0)
while read -r _ v _ tx _ rx; do
    nsc[$v.tx]=$((${nsc[$v.tx]:-0} + tx))
    nsc[$v.rx]=$((${nsc[$v.rx]:-0} + rx))
done < <(cat "$VUS_T"/vh-*.stats)
p0rx=$(port_counter "$L2" 0 rx-packets) p0tx=$(port_counter "$L2" 0 tx-packets)
p1rx=$(port_counter "$L2" 1 rx-packets) p1tx=$(port_counter "$L2" 1 tx-packets)
p0td=$(port_counter "$L2" 0 tx-dropped) p1td=$(port_counter "$L2" 1 tx-dropped)
echo "(c) port 0 (VLAN 10): rx $p0rx tx $p0tx tx-dropped $p0td; namespace VLAN 10: tx ${nsc[10.tx]} rx ${nsc[10.rx]}"
echo "(c) port 1 (VLAN 20): rx $p1rx tx $p1tx tx-dropped $p1td; namespace VLAN 20: tx ${nsc[20.tx]} rx ${nsc[20.rx]}"
echo "(c) vm1 eth0 received $((vm1_rx1 - vm1_rx0)) frames in run 2; the namespace got ${nsc[0.rx]} untagged"
[ "$((p0tx + p0td))" -eq "${nsc[10.tx]}" ] ||
    fail "(c) port 0 (VLAN 10) was sent $((p0tx + p0td)) frames, the namespace sent ${nsc[10.tx]} on VLAN 10"
[ "$((p1tx + p1td))" -eq "${nsc[20.tx]}" ] ||
    fail "(c) port 1 (VLAN 20) was sent $((p1tx + p1td)) frames, the namespace sent ${nsc[20.tx]} on VLAN 20"
[ "$p0rx" -eq "${nsc[10.rx]}" ] || fail "(c) vm0 sent $p0rx frames, VLAN 10 of the trunk carried ${nsc[10.rx]}"
[ "$p1rx" -eq "${nsc[20.rx]}" ] || fail "(c) vm1 sent $p1rx frames, VLAN 20 of the trunk carried ${nsc[20.rx]}"
[ "${nsc[0.rx]}" -eq 0 ] || fail "(c) untagged frames left the trunk (no native VLAN)"
[ "$((vm1_rx1 - vm1_rx0))" -eq "$p1tx" ] ||
    fail "(c) vm1 received $((vm1_rx1 - vm1_rx0)) frames, port 1 sent $p1tx"
fdb_has "$L2" 10 "$M0" 0 || fail "(c) fdb: vm0 not learned in VLAN 10 on port 0"
fdb_has "$L2" 20 "$M1" 1 || fail "(c) fdb: vm1 not learned in VLAN 20 on port 1"
fdb_has "$L2" 10 "$NS_MAC" 3 || fail "(c) fdb: the namespace not learned in VLAN 10 on port 3"
fdb_has "$L2" 20 "$NS_MAC" 3 || fail "(c) fdb: the namespace not learned in VLAN 20 on port 3"
[ "$(fdb_mac_vlans "$L2" "$M0")" = 10 ] || fail "(c) fdb: vm0 in VLANs $(fdb_mac_vlans "$L2" "$M0")"
[ "$(fdb_mac_vlans "$L2" "$M1")" = 20 ] || fail "(c) fdb: vm1 in VLANs $(fdb_mac_vlans "$L2" "$M1")"
note "PASS: (a) guest<->guest with learning, (b) guest<->NIC, (c) VLAN isolation and trunk, (d) no loss while port 2 went away ($D_MODE)"
exit 0
