#!/usr/bin/env bash
# The README's first command: vuswitch doing its job on its built-in default.
#
#   bash devtools/demo.sh            two small Linux guests (QEMU) on vuswitch's default
#                                    ports and a "physical NIC" (a veth whose other end is
#                                    in a network namespace, as a net_af_packet port) ping
#                                    each other through the switch; prints what each
#                                    front-end negotiated, the learned forwarding table and
#                                    the per-port counters
#   bash devtools/demo.sh --wait     just run vuswitch on the default ports
#                                    (/tmp/vuswitch/vhost0.sock, vhost1.sock) until Ctrl-C
#
# Installs what is missing (apt), builds into ./build, and cleans up after itself.
# Hugepages are not needed: guests share memfd memory, vuswitch runs with --no-huge.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash devtools/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build app/vuswitch/vuswitch >/dev/null
echo "built: build/app/vuswitch/vuswitch"

if [ "${1:-}" = --wait ]; then
    echo "vuswitch on the default ports, forwarding io between them; Ctrl-C stops it."
    exec build/app/vuswitch/vuswitch -l 0,1 --main-lcore 0 --no-pci --no-huge -m 256 \
        --file-prefix vus-demo -- --fwd io
fi

# shellcheck source=tests/system/lib.sh
. tests/system/lib.sh
# shellcheck source=tests/system/lib_qemu.sh
. tests/system/lib_qemu.sh
[ "$(id -u)" = 0 ] || { echo "the demo boots guests and needs root" >&2; exit 1; }
vus_test_init demo build

sock0=/tmp/vuswitch/vhost0.sock sock1=/tmp/vuswitch/vhost1.sock
# A "physical" NIC: a veth pair, one end in a namespace with 10.0.0.3, the
# other given to DPDK as a net_af_packet port. Skipped where veth is missing.
ns=vus-demo-$$ nic=()
demo_cleanup() { ip link del vusd0 2>/dev/null; ip netns del "$ns" 2>/dev/null; }
if ip netns add "$ns" 2>/dev/null; then
    VUS_CLEANUP_HOOKS+=(demo_cleanup)
    ip link add vusd0 type veth peer name vusd1 &&
        ip link set vusd1 netns "$ns" &&
        ip link set vusd0 up &&
        ip -n "$ns" addr add 10.0.0.3/24 dev vusd1 &&
        ip -n "$ns" link set vusd1 up && ip -n "$ns" link set lo up &&
        nic=(--vdev "net_af_packet0,iface=vusd0")
fi
[ ${#nic[@]} -gt 0 ] || note "no veth/netns here: the demo runs without the NIC port"
note "starting vuswitch: default vhost-user ports ($sock0, $sock1)${nic:+ and a NIC port (veth)}, switching on lcore 1"
VUS_LCORES=0,1 VUS_MEM_MB=256 VUS_EAL_EXTRA="${nic[*]:-}" start_vuswitch vuswitch
vlog=${VUS_LOG[vuswitch]}
wait_for_log "$vlog" "port 1 .*listening" 20 || fail "vuswitch did not start listening"

note "building the guest image (first run downloads a kernel and busybox from Debian)"
guest_image
note "booting two guests (QEMU, software emulation: about 10 s)"
start_guest vm0 "$sock0" 10.0.0.1/24 52:54:00:00:00:01
start_guest vm1 "$sock1" 10.0.0.2/24 52:54:00:00:00:02
guest_wait_ready vm0 120
guest_wait_ready vm1 120
wait_for_log "$vlog" "port 1 .*ring 1 running" 30 || fail "port 1's rings did not start"

note "vm0 pings vm1 through vuswitch"
guest_run vm0 "ping -c 5 -W 2 10.0.0.2" 40 || fail "vm0 could not reach vm1"
if [ ${#nic[@]} -gt 0 ]; then
    note "vm1 pings the namespace behind the NIC port, and the namespace pings vm0"
    guest_run vm1 "ping -c 3 -W 2 10.0.0.3" 40 || fail "vm1 could not reach the namespace"
    ip netns exec "$ns" ping -c 3 -W 2 10.0.0.1 || fail "the namespace could not reach vm0"
fi

echo
echo "== what each front-end negotiated (from vuswitch's log) =="
grep -E "port [0-9]+ .*(connected|features acked|memory table|ring [0-9]+ running)" "$vlog" |
    sed -e 's/^.*VUS: //' | awk '!seen[$0]++' | head -20
stop_bg vuswitch 10 || true
echo
echo "== learned forwarding table =="
grep -E "^fdb:" "$vlog" || true
echo
echo "== per-port counters =="
grep -E "^(port [0-9]+ [a-z]|switch:)" "$vlog" || true
echo
echo "demo done: the guests${nic:+ and the namespace} talked through vuswitch."
