#!/usr/bin/env bash
# The README's first command: vuswitch doing its job on its built-in default.
#
#   bash devtools/demo.sh            two small Linux guests (QEMU) on vuswitch's default
#                                    ports ping each other through it; prints what each
#                                    front-end negotiated and the forwarding counters
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
note "starting vuswitch on its default ports ($sock0, $sock1), switching on lcore 1"
VUS_LCORES=0,1 VUS_MEM_MB=256 start_vuswitch vuswitch
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

echo
echo "== what each front-end negotiated (from vuswitch's log) =="
grep -E "port [0-9]+ .*(connected|features acked|memory table|ring [0-9]+ running)" "$vlog" |
    sed -e 's/^.*VUS: //' | awk '!seen[$0]++' | head -20
stop_bg vuswitch 10 || true
echo
echo "== forwarding counters =="
grep -E "^(port [0-9]+ [a-z]|switch:)" "$vlog" || true
echo
echo "demo done: two guests talked through vuswitch."
