#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# qemu_fwd_test.sh BUILD_DIR [LAYOUT...] -- two QEMU guests (Linux 6.1 under TCG, virtio-net
# over vhost-user) on vuswitch ports 0 and 1 in `--fwd io` talk to each other.
#   LAYOUT  split (QEMU's default virtio-net-pci), packed (`packed=on`), split-nomrg,
#           packed-nomrg (the same with `mrg_rxbuf=off`: one buffer per frame), split-swoff
#           (split, but guest B's NIC has no receive offloads: guest_csum, guest_tso4/6,
#           guest_ecn, guest_ufo off). Default: split packed.
#
# Per layout, one vuswitch (forwarding on lcore 1) and two guests, A 10.0.0.1 and B 10.0.0.2:
#   1. both guests' drivers come up; vuswitch acks RING_PACKED iff the layout is packed and
#      MRG_RXBUF unless it is nomrg, and the guest drivers negotiated the same (their features
#      strings, bits 34 and 15);
#   2. A pings B and B pings A (5 probes each, at most one lost: ARP and ICMP through the switch);
#   3. A writes 16 MiB from /dev/urandom and serves it with busybox httpd; B fetches it with
#      wget: the md5sums on both sides must be equal, and the size exact; then the same from B
#      to A (bulk TCP both ways: MTU-sized frames, many ring wraps, both ports' RX and TX);
#   Offloads: every guest negotiates CSUM and HOST_TSO4 (vuswitch offers them), so Linux sends
#   partial checksums and TCP frames of up to 64 KiB; a guest with GUEST_CSUM/GUEST_TSO4 gets
#   them as they are (NEEDS_CSUM + GSO header), and in split-swoff guest B, which has neither,
#   gets A's frames checksummed and cut to MSS in software (VNET-4, VNET-9): the md5s prove
#   every byte and every checksum, since B's stack verifies them.
#   4. the guests shut down (QEMU's GET_VRING_BASE), vuswitch exits 0 on SIGTERM, and the
#      counters it prints show each port took at least 16 MiB from its guest, no frame was
#      dropped on a guest TX ring (rx-dropped 0), and the only drop reason on a guest RX ring is
#      no_guest_buffer (a TCG guest is slow to refill; TCP recovers).
#
# Requirements covered (IDs of the shared requirements list):
#   DP-4, DP-5, DP-6  Linux's TX chains (header and data in one or two descriptors, indirect
#                     tables), used ring updates and interrupts a real driver accepts over
#                     thousands of frames
#   DP-3, DP-11       INDIRECT_DESC as Linux uses it on TX (split and packed)
#   DP-7, DP-13       EVENT_IDX (split) and packed event suppression negotiated by Linux
#   DP-10, DP-12      packed rings with a Linux driver (layout packed)
#   VNET-1, VNET-2    12-byte header (VERSION_1) as Linux lays it out
#   VNET-8            MRG_RXBUF with Linux's RX buffers (the receive side of 16 MiB of TCP)
#   VNET-7            without MRG_RXBUF (nomrg layouts): Linux's one-buffer-per-frame RX
#   VNET-3, VNET-4    CSUM and HOST_TSO4 from a Linux driver: partial checksums and GSO frames
#   VNET-9            GUEST_CSUM/GUEST_TSO4 to a Linux driver; software completion (split-swoff)
#   COMPAT-6, -9      QEMU's memory table and feature set, both ring layouts
#   RING-3, RING-5    rings started by QEMU, stopped by GET_VRING_BASE at shutdown
#
# QEMU needs -device ...,vectors=0 under TCG (docs/notes), guest RAM shared (memfd): both come
# from lib_qemu.sh's start_guest.
# Exit: 0 pass, 77 skip (not root, no QEMU), 1 fail (with the tail of every log).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/system/lib.sh
. "$HERE/lib.sh"
# shellcheck source=tests/system/lib_qemu.sh
. "$HERE/lib_qemu.sh"

vus_test_init qemu_fwd "${1:-}"
LAYOUTS=("${@:2}")
[ ${#LAYOUTS[@]} -eq 0 ] && LAYOUTS=(split packed)
for l in "${LAYOUTS[@]}"; do
    case "$l" in
        split | packed | split-nomrg | packed-nomrg | split-swoff) ;;
        *) echo "usage: $0 BUILD_DIR [split|packed|split-nomrg|packed-nomrg|split-swoff ...]" >&2; exit 1 ;;
    esac
done
need_root_or_skip
need_qemu_or_skip
[ -x "$VUS_BIN" ] || fail "vuswitch binary not found at $VUS_BIN (build it first)"

MIB=${VUS_FWD_MIB:-16}
# Under a loaded TCG host the guest kernel's IO-APIC timer check can fail ("Kernel panic - not
# syncing: IO-APIC + timer doesn't work!"); virtual machines skip it.
VUS_GUEST_APPEND="${VUS_GUEST_APPEND:+$VUS_GUEST_APPEND }no_timer_check"
guest_image

# grun GUEST CMD TIMEOUT: guest_run in this shell (its command ids count up here; inside $(...)
# the counter would not advance and a later command could read an earlier one's output);
# the output is in $GOUT.
GOUT=
grun() {
    local rc=0
    guest_run "$@" >"$VUS_T/grun.out" || rc=$?
    GOUT=$(cat "$VUS_T/grun.out")
    return $rc
}

# ping_ok GUEST IP: at least 4 of 5 echo replies.
ping_ok() {
    local g=$1 ip=$2 out rx
    grun "$g" "ping -c 5 -W 2 $ip" 30 || true
    out=$GOUT
    rx=$(sed -nE 's/.* ([0-9]+) packets received.*/\1/p' <<<"$out")
    note "$g -> $ip: $(grep -E 'packets transmitted' <<<"$out")"
    [ "${rx:-0}" -ge 4 ] || fail "$g cannot ping $ip: $out"
}

# transfer FROM TO FROM_IP: FROM serves $MIB MiB of random bytes over HTTP, TO fetches them.
transfer() {
    local from=$1 to=$2 ip=$3 out sum_from sum_to size t0
    grun "$from" "mkdir -p /tmp/www && dd if=/dev/urandom of=/tmp/www/f bs=1M count=$MIB 2>/dev/null && md5sum /tmp/www/f && httpd -p 80 -h /tmp/www" 120 ||
        fail "$from: cannot create or serve the file: $GOUT"
    out=$GOUT
    sum_from=$(awk '/\/tmp\/www\/f/ { print $1 }' <<<"$out")
    [ ${#sum_from} -eq 32 ] || fail "$from: no md5sum: $out"
    t0=$SECONDS
    grun "$to" "wget -q -O /tmp/got http://$ip/f && md5sum /tmp/got && wc -c </tmp/got" 150 ||
        fail "$to: wget http://$ip/f failed: $GOUT"
    out=$GOUT
    sum_to=$(awk '/\/tmp\/got/ { print $1 }' <<<"$out")
    size=$(tail -n1 <<<"$out" | tr -d ' ')
    note "$from -> $to: $MIB MiB in $((SECONDS - t0))s, md5 $sum_from -> $sum_to, $size bytes"
    [ "$size" = $((MIB * 1048576)) ] || fail "$to received $size bytes, expected $((MIB * 1048576))"
    [ "$sum_to" = "$sum_from" ] || fail "$from -> $to: md5 $sum_from sent, $sum_to received"
    grun "$from" "killall httpd; rm -f /tmp/www/f" 30 || true
    grun "$to" "rm -f /tmp/got" 30 || true
}

# port_counters N: vuswitch's exit line for port N as "RXP RXB RXDROP TXP TXB TXDROP".
port_counters() {
    tr -d '\r' <"$VS_LOG" | grep -E "^port $1 vhost$1: " | tail -n1 |
        sed -nE 's/.*rx-packets ([0-9]+) rx-bytes ([0-9]+) rx-dropped ([0-9]+) tx-packets ([0-9]+) tx-bytes ([0-9]+) tx-dropped ([0-9]+).*/\1 \2 \3 \4 \5 \6/p'
}

run_layout() {
    local layout=$1 sa="$VUS_T/$1-a.sock" sb="$VUS_T/$1-b.sock" ga="$1-a" gb="$1-b" t0=$SECONDS
    local p want=0 mrg=1 acked g gf ring=${1%%-*} guest_off=1

    note "== $layout: vuswitch --fwd io, guests $ga (10.0.0.1) and $gb (10.0.0.2)"
    VS=vs-$layout
    VUS_LCORES=0,1 start_vuswitch "$VS" --vhost-user "$sa" --vhost-user "$sb" --fwd io
    VS_LOG=${VUS_LOG[$VS]}
    wait_for_log "$VS_LOG" "$(port_re 1 "$sb" listening)" 30 || fail "$VS not listening"

    [ "$ring" = packed ] && want=1
    [ "${layout%-nomrg}" = "$layout" ] || mrg=0
    [ "$layout" = split-swoff ] && guest_off=0
    local dev='' devb=''
    [ $want -eq 1 ] && dev=packed=on
    [ $mrg -eq 0 ] && dev+="${dev:+,}mrg_rxbuf=off"
    devb=$dev
    [ $guest_off -eq 0 ] &&
        devb+="${devb:+,}guest_csum=off,guest_tso4=off,guest_tso6=off,guest_ecn=off,guest_ufo=off"
    VUS_GUEST_DEVICE_OPTS=$dev start_guest "$ga" "$sa" 10.0.0.1/24 52:54:00:00:00:01
    VUS_GUEST_DEVICE_OPTS=$devb start_guest "$gb" "$sb" 10.0.0.2/24 52:54:00:00:00:02
    guest_wait_ready "$ga" 120
    guest_wait_ready "$gb" 120
    note "$layout: guests ready"

    for p in 0 1; do
        local sock=$sa
        [ $p -eq 1 ] && sock=$sb
        wait_for_log "$VS_LOG" "$(port_re $p "$sock" 'features acked 0x[0-9a-f]{16}')" 30 ||
            fail "port $p: no 'features acked'"
        for r in 0 1; do
            wait_for_log "$VS_LOG" "$(port_re $p "$sock" "ring $r running: num [0-9]+ $ring enabled")" 30 ||
                fail "port $p: ring $r never running as $ring"
        done
        acked=$(tr -d '\r' <"$VS_LOG" | grep -E "$(port_re $p "$sock" 'features acked 0x')" |
            tail -n1 | sed -E 's/.*features acked (0x[0-9a-f]{16}).*/\1/')
        [ $(((acked >> 34) & 1)) -eq $want ] ||
            fail "port $p: features acked $acked, RING_PACKED expected $want"
        [ $(((acked >> 15) & 1)) -eq $mrg ] ||
            fail "port $p: features acked $acked, MRG_RXBUF expected $mrg"
        # Transmit offloads on every guest; receive offloads unless switched off on B.
        [ $((acked & 0x801)) -eq $((0x801)) ] ||
            fail "port $p: features acked $acked, CSUM and HOST_TSO4 expected"
        local rxoff=1
        [ $p -eq 1 ] && rxoff=$guest_off
        [ $(((acked >> 1) & 1)) -eq $rxoff ] && [ $(((acked >> 7) & 1)) -eq $rxoff ] ||
            fail "port $p: features acked $acked, GUEST_CSUM and GUEST_TSO4 expected $rxoff"
        note "$layout: port $p features acked $acked: $(vus_bits_str $((acked)))"
    done
    for g in "$ga" "$gb"; do
        gf=$(guest_features "$g")
        [ "${gf:34:1}" = $want ] || fail "guest $g: RING_PACKED (bit 34) is '${gf:34:1}', expected $want"
        [ "${gf:15:1}" = $mrg ] || fail "guest $g: MRG_RXBUF (bit 15) is '${gf:15:1}', expected $mrg"
        [ "${gf:0:1}${gf:11:1}" = 11 ] || fail "guest $g: CSUM/HOST_TSO4 (bits 0, 11) not negotiated: $gf"
    done

    ping_ok "$ga" 10.0.0.2
    ping_ok "$gb" 10.0.0.1
    transfer "$ga" "$gb" 10.0.0.1
    transfer "$gb" "$ga" 10.0.0.2
    ping_ok "$ga" 10.0.0.2

    msgs=$(qemu_messages "$ga"; qemu_messages "$gb")
    [ -z "$msgs" ] || fail "QEMU reported errors: $msgs"

    note "$layout: shutting down"
    stop_bg "$ga" 20 || fail "QEMU $ga did not exit cleanly: $(_describe_status "${VUS_STATUS[$ga]}")"
    stop_bg "$gb" 20 || fail "QEMU $gb did not exit cleanly: $(_describe_status "${VUS_STATUS[$gb]}")"
    wait_for_log "$VS_LOG" "$(port_re 0 "$sa" 'front-end disconnected')" 10 || fail "port 0: no disconnect"
    wait_for_log "$VS_LOG" "$(port_re 1 "$sb" 'front-end disconnected')" 10 || fail "port 1: no disconnect"
    stop_bg "$VS" 10
    [ "${VUS_STATUS[$VS]}" -eq 0 ] || fail "$VS did not exit cleanly: $(_describe_status "${VUS_STATUS[$VS]}")"

    local rxp rxb rxd txp txb txd bad
    local -a c0 c1
    read -r -a c0 <<<"$(port_counters 0)"
    read -r -a c1 <<<"$(port_counters 1)"
    # io: every frame one port took from its guest was offered to the other guest, and either
    # delivered or counted as dropped. Frames offered to a ring that is published but disabled
    # are not counted at all (virtq_enqueue_burst returns 0): only a note.
    if [ ${#c0[@]} -eq 6 ] && [ ${#c1[@]} -eq 6 ] &&
        { [ "${c0[0]}" -ne $((c1[3] + c1[5])) ] || [ "${c1[0]}" -ne $((c0[3] + c0[5])) ]; }; then
        note "$layout: NOTE frames unaccounted for: port 0 rx ${c0[0]} vs port 1 tx+dropped $((c1[3] + c1[5])), port 1 rx ${c1[0]} vs port 0 tx+dropped $((c0[3] + c0[5]))"
    fi
    for p in 0 1; do
        read -r rxp rxb rxd txp txb txd <<<"$(port_counters $p)"
        [ -n "${txd:-}" ] || fail "$VS printed no counters for port $p"
        note "$layout: port $p: rx $rxp frames / $rxb bytes (dropped $rxd), tx $txp / $txb (dropped $txd)"
        [ "$rxd" -eq 0 ] || fail "port $p: $rxd frames from the guest dropped: $(grep -A2 "^port $p " "$VS_LOG")"
        [ "$rxb" -ge $((MIB * 1048576)) ] || fail "port $p: only $rxb bytes from the guest"
        [ "$txb" -ge $((MIB * 1048576)) ] || fail "port $p: only $txb bytes to the guest"
    done
    bad=$(tr -d '\r' <"$VS_LOG" | grep -E '^ +queue [0-9]+ (rx|tx): ' |
        sed -E 's/^ +queue [0-9]+ (rx|tx): packets [0-9]+ bytes [0-9]+//; s/ no_guest_buffer [0-9]+//' |
        grep -v '^$' || true)
    [ -z "$bad" ] || fail "$VS: unexpected drop reasons: $(grep -E '^ +queue ' "$VS_LOG")"
    grep -qE 'entries stopped' "$VS_LOG" && fail "$VS: $(grep -E 'entries stopped' "$VS_LOG" | head -n1)"
    note "== $layout passed in $((SECONDS - t0))s"
}

for l in "${LAYOUTS[@]}"; do
    run_layout "$l"
done
note "PASS"
exit 0
