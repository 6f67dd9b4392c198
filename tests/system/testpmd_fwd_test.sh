#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# testpmd_fwd_test.sh BUILD_DIR [split|packed] -- vuswitch forwarding (`--fwd io`) between two
# vhost-user ports, driven by dpdk-testpmd with net_virtio_user front-ends. Without a layout
# argument both split and packed run.
#
# Per layout, two variants, each with its own vuswitch (2 server ports, forwarding on lcore 1):
#   mrg    mrg_rxbuf=1, in_order=1 (virtio-user's default); the receiving testpmd has 1152-byte
#          mbufs (1036-byte RX buffers), so a 1518-byte frame fills 2 guest buffers and a
#          9000-byte one 9: MRG_RXBUF with num_buffers > 1 for real; senders emit multi-segment
#          mbufs, i.e. TX descriptor chains.
#   nomrg  mrg_rxbuf=0, in_order=0; default 2176-byte mbufs (2060-byte RX buffers, one per
#          frame); frames that fit no guest buffer are sent too and must be dropped whole.
#
# Leg 1, counts (two testpmd processes, as two independent guests):
#   sender   port vhost0: `set fwd io`, `set txpkts S`, `start tx_first B`, `stop`: exactly
#            B*32 txonly frames (IPv4/UDP, S bytes, one or more segments) per round;
#   receiver port vhost1: `set fwd rxonly`.
#   Each round is no larger than the receiver's posted RX buffers (--rxd=1024), and the next
#   round starts only when the receiver has counted the previous one, so nothing may ever be
#   dropped even if the receiver is descheduled: packets sent must equal packets received,
#   TX-bytes must equal RX-bytes, the sender's txonly must not have dropped (its TX ring is
#   drained), nothing comes back to the sender.
#
# Leg 2, payload integrity (one testpmd, io forwarding with retry, 4 ports):
#   net_pcap0 (rx_pcap=in.pcap) -> virtio-user on vhost1 -> vuswitch -> virtio-user on vhost0
#   -> net_pcap1 (tx_pcap=out.pcap). in.pcap holds frames of chosen sizes (14 .. 9000 bytes)
#   with a sequence number and random payload; each round re-opens it (`port stop/start 0`),
#   and out.pcap must hold exactly the expected frames, byte for byte and in order, once per
#   round (frames no guest buffer can hold are expected missing, not truncated).
#   Why pcap and not checksums: testpmd's txonly frames carry an IPv4 header checksum but no
#   UDP checksum (dgram_cksum 0) and an arbitrary payload, so a checksum counter would only
#   see the first 34 bytes; virtio's PMD does not verify checksums in software (its RX checksum
#   flags, hence rx_bad_*_csum, come from the back-end's header and need GUEST_CSUM, which
#   vuswitch does not offer), and the csum engine would send every frame back into the switch. Comparing the captured bytes catches
#   any corruption, truncation, padding, reordering, duplication or loss.
#
# Finally SIGTERM: vuswitch exits 0 and the per-port counters it prints must match exactly:
# vhost0 rx = leg 1's frames and bytes, tx = leg 2's deliverable frames and bytes; vhost1 the
# other way round; no drops except frame_too_big for the frames no guest buffer can hold
# (nomrg); queue 0 only; no ring reported broken.
#
# CPU layout for 2 cores: vuswitch -l 0,1 (forwarding on lcore 1 = CPU 1); every testpmd
# --lcores 0@0,1@0 (main and forwarding lcore on CPU 0). Memory: --no-huge everywhere
# (virtio-user gets one memfd region), --iova-mode=va (virtio-user hands out virtual
# addresses).
#
# Requirements covered (IDs of the shared requirements list):
#   DP-4, DP-5      multi-descriptor TX chains (header + 1..9 data descriptors), used ring
#                   updates the PMD accepts (it reclaims and reuses every buffer over
#                   thousands of frames and many ring wraps)
#   DP-3, DP-11     indirect TX descriptors: virtio-user uses them for multi-segment mbufs on
#                   split rings without in_order, and on packed rings always; its packed
#                   tables keep VRING_DESC_F_WRITE on the header entry (DPDK presets every
#                   entry so and TX never clears entry 0), which the back-end must tolerate
#   DP-9            IN_ORDER negotiated (mrg variant) with chains of varying length
#   DP-10, DP-12    packed rings: availability and used descriptors across wraps
#   VNET-1          12-byte header with VERSION_1 (both variants)
#   VNET-2          header in its own descriptor (virtio-user does not push it for chains)
#   VNET-7          no MRG_RXBUF: num_buffers 1, oversized frames dropped whole, buffer kept
#                   (the next frames arrive intact)
#   VNET-8          MRG_RXBUF: frames over up to 9 buffers, every buffer but the last full
#                   (virtio's PMD rebuilds the frame from the used lengths; the bytes compare)
#   COMPAT-6, -9    virtio-user's IOVA-as-VA memory and feature subset, split and packed
#   RECONNECT-1     each port serves a second front-end (leg 2) after the first (leg 1) left
#
# Exit: 0 pass, 77 skip (not root, no dpdk-testpmd), 1 fail (with the tail of every log).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/system/lib.sh
. "$HERE/lib.sh"

vus_test_init testpmd-fwd "${1:-}"
LAYOUTS=("${@:2}")
[ ${#LAYOUTS[@]} -eq 0 ] && LAYOUTS=(split packed)
for l in "${LAYOUTS[@]}"; do
    case "$l" in split | packed) ;; *) echo "usage: $0 BUILD_DIR [split|packed]" >&2; exit 1 ;; esac
done
need_root_or_skip
TESTPMD=${TESTPMD:-dpdk-testpmd}
command -v "$TESTPMD" >/dev/null 2>&1 || skip "missing $TESTPMD (package dpdk)"
command -v python3 >/dev/null 2>&1 || fail "python3 not found (devtools/install-deps.sh)"
[ -x "$VUS_BIN" ] || fail "vuswitch binary not found at $VUS_BIN (build it first)"

TO=${VUS_TEST_TIMEOUT:-30}
ROUNDS_1=${VUS_FWD_ROUNDS_1:-4}   # leg 1 rounds per frame size
ROUNDS_2=${VUS_FWD_ROUNDS_2:-5}   # leg 2 rounds (passes over in.pcap)
RING=1024                         # queue_size and --rxd/--txd of every virtio-user port
BUDGET=896                        # guest RX buffers one round may fill (of $RING posted)

# --- pcap helper (python3) ---------------------------------------------------------------------
PCAP_PY=$VUS_T/pcap.py
cat >"$PCAP_PY" <<'EOF_PY'
"""gen / compare pcap files of test frames (see testpmd_fwd_test.sh)."""
import random
import struct
import sys

HDR = 12   # virtio-net header with VERSION_1


def write(path, frames):
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, p in enumerate(frames):
            f.write(struct.pack('<IIII', i, 0, len(p), len(p)) + p)


def read(path):
    d = open(path, 'rb').read()
    if len(d) < 24:
        return []
    magic = struct.unpack_from('<I', d, 0)[0]
    if magic not in (0xa1b2c3d4, 0xa1b23c4d):
        sys.exit('%s: not a little-endian pcap file (magic %#x)' % (path, magic))
    off, out = 24, []
    while off + 16 <= len(d):
        incl, orig = struct.unpack_from('<II', d, off + 8)
        if incl != orig:
            sys.exit('%s: frame %d truncated in the capture (%d of %d)' % (path, len(out), incl, orig))
        out.append(d[off + 16:off + 16 + incl])
        off += 16 + incl
    return out


def gen(argv):
    # gen IN EXPECTED SEED BUFLEN MRG MAXLEN: frames until BUDGET guest buffers of BUFLEN bytes
    inp, exp, seed, buflen, mrg, maxlen, budget = argv[0], argv[1], int(argv[2]), \
        int(argv[3]), argv[4] == '1', int(argv[5]), int(argv[6])
    rnd = random.Random(seed)
    fixed = [14, 42, 60, 64, 1514, 1518]
    if mrg:
        fixed += [buflen - HDR, buflen - HDR + 1, 4096, maxlen]
    else:
        fixed += [buflen - HDR]          # the largest frame that fits one buffer
        oversize = [buflen - HDR + 1, 3000]
    frames, expected, used, i = [], [], 0, 0
    while True:
        if not mrg and i % 16 == 15:
            ln = oversize[(i // 16) % 2]
        elif i % 2:
            ln = fixed[(i // 2) % len(fixed)]
        else:
            ln = rnd.randint(14, maxlen if mrg else buflen - HDR)
        fits = mrg or ln + HDR <= buflen
        need = -(-(ln + HDR) // buflen) if fits else 0
        if used + need > budget:
            break
        hdr = bytes([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0x88, 0xb5])
        body = struct.pack('>I', i) + rnd.randbytes(max(0, ln - 18))
        p = (hdr + body)[:ln]
        frames.append(p)
        if fits:
            expected.append(p)
        used += need
        i += 1
    write(inp, frames)
    write(exp, expected)
    print('%d frames, %d bytes; expected %d frames, %d bytes, %d guest buffers' % (
        len(frames), sum(map(len, frames)), len(expected), sum(map(len, expected)), used))


def describe(p):
    return '%d bytes, seq %s' % (len(p), struct.unpack('>I', p[14:18])[0] if len(p) >= 18 else '?')


def compare(argv):
    # compare EXPECTED OUT ROUNDS: OUT must be EXPECTED repeated ROUNDS times
    exp, out, rounds = read(argv[0]), read(argv[1]), int(argv[2])
    want = exp * rounds
    print('captured %d frames / %d bytes, expected %d frames / %d bytes' % (
        len(out), sum(map(len, out)), len(want), sum(map(len, want))))
    for k, (w, g) in enumerate(zip(want, out)):
        if w != g:
            diff = [j for j in range(min(len(w), len(g))) if w[j] != g[j]]
            print('MISMATCH at captured frame %d (round %d, frame %d): expected %s, got %s; '
                  '%d differing bytes in the common part, first at offset %s' % (
                      k, k // len(exp), k % len(exp), describe(w), describe(g), len(diff),
                      diff[0] if diff else '-'))
            return 1
    if len(out) != len(want):
        print('MISMATCH: %d frames captured, %d expected' % (len(out), len(want)))
        return 1
    return 0


if __name__ == '__main__':
    if sys.argv[1] == 'empty':
        write(sys.argv[2], [])
    else:
        sys.exit(gen(sys.argv[2:]) if sys.argv[1] == 'gen' else compare(sys.argv[2:]))
EOF_PY

# --- testpmd control -------------------------------------------------------------------------
declare -gA TP_FD=()

# tp_start NAME TESTPMD_ARGS...: testpmd reading commands from a FIFO that both sides hold open
# read-write (testpmd never sees EOF, our writes never block); waits for the first prompt.
tp_start() {
    local name=$1 fifo=$VUS_T/$1.in fd
    shift
    [ -p "$fifo" ] || mkfifo "$fifo"
    exec {fd}<>"$fifo"
    TP_FD[$name]=$fd
    # shellcheck disable=SC2016 # $0 and $@ belong to the inner bash
    start_bg "$name" bash -c 'exec "$@" <>"$0"' "$fifo" \
        "$TESTPMD" --lcores 0@0,1@0 --no-huge -m 256 --iova-mode=va --no-pci \
        --file-prefix "$VUS_PREFIX-$name" "$@"
    wait_for_log "${VUS_LOG[$name]}" '^testpmd> ' "$TO" || fail "$name: no testpmd prompt"
}

tp_cmd() {
    local name=$1
    shift
    printf '%s\n' "$@" >&"${TP_FD[$name]}"
}

# tp_do NAME CMD: send CMD and wait for the next prompt.
tp_do() {
    local name=$1 log=${VUS_LOG[$1]} n
    n=$(count_log "$log" '^testpmd> ')
    tp_cmd "$name" "$2"
    wait_for_log "$log" '^testpmd> ' "$TO" $((n + 1)) || fail "$name: no prompt after '$2'"
}

# tp_stats NAME PORT: `show port stats PORT`; sets TP_RXP TP_RXB TP_TXP TP_TXB.
tp_stats() {
    local name=$1 port=$2 log=${VUS_LOG[$1]} start i out
    start=$(($(wc -l <"$log") + 1))
    tp_cmd "$name" "show port stats $port"
    for ((i = 0; i < TO * 20; i++)); do
        out=$(tail -n "+$start" "$log" | tr -d '\r' |
            sed -n "/NIC statistics for port $port /,/^ *#\{20,\} *\$/p")
        grep -qE '^ *#{20,} *$' <<<"$out" && break
        _check_watched
        sleep 0.05
    done
    grep -qE '^ *#{20,} *$' <<<"$out" || fail "$name: no statistics for port $port"
    read -r TP_RXP TP_RXB TP_TXP TP_TXB < <(awk '
        /RX-packets:/ { rp = $2; rb = $NF }
        /TX-packets:/ { tp = $2; tb = $NF }
        END { print rp, rb, tp, tb }' <<<"$out")
}

# tp_wait_rx NAME PORT FIELD WANT: poll until TP_<FIELD> of PORT reaches WANT; 1 on timeout.
tp_wait() {
    local name=$1 port=$2 field=$3 want=$4 deadline=$((SECONDS + TO)) v
    while :; do
        tp_stats "$name" "$port"
        v=TP_$field
        [ "${!v}" -ge "$want" ] && return 0
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.1
    done
}

tp_quit() {
    local name=$1 i
    unwatch_bg "$name"
    tp_cmd "$name" quit
    for ((i = 0; i < TO * 10; i++)); do
        is_alive "$name" || break
        sleep 0.1
    done
    is_alive "$name" && fail "$name did not quit within ${TO}s"
    _reap "$name"
    [ "${VUS_STATUS[$name]}" -eq 0 ] || fail "$name exited with status ${VUS_STATUS[$name]}"
    local fd=${TP_FD[$name]}
    exec {fd}>&-
}

# wait_rings PORT SOCK CONN: rings 0 and 1 of the CONN-th connection running and enabled.
wait_rings() {
    local port=$1 sock=$2 conn=$3 r anchor
    anchor=$(port_re "$port" "$sock" 'front-end connected')
    wait_for_log "$VS_LOG" "$anchor" "$TO" "$conn" || fail "port $port: connection $conn missing"
    for r in 0 1; do
        wait_for_log_after "$VS_LOG" "$anchor" "$conn" \
            "$(port_re "$port" "$sock" "ring $r running: num $RING $LAYOUT enabled")" "$TO" ||
            fail "port $port: ring $r not running ($LAYOUT, enabled) on connection $conn"
    done
}

# check_port N "RXP RXB RXDROP TXP TXB TXDROP": vuswitch's exit line for port N.
check_port() {
    local n=$1 want=$2 line got
    line=$(tr -d '\r' <"$VS_LOG" | grep -E "^port $n vhost$n: " | tail -n1)
    [ -n "$line" ] || fail "$VS printed no counters for port $n"
    note "$VS: $line"
    got=$(sed -nE 's/.*rx-packets ([0-9]+) rx-bytes ([0-9]+) rx-dropped ([0-9]+) tx-packets ([0-9]+) tx-bytes ([0-9]+) tx-dropped ([0-9]+).*/\1 \2 \3 \4 \5 \6/p' <<<"$line")
    [ "$got" = "$want" ] ||
        fail "$VS port $n counters (rx-packets rx-bytes rx-dropped tx-packets tx-bytes tx-dropped): got '$got', expected '$want'; $(grep -A2 "^port $n vhost$n: " "$VS_LOG")"
}

# fail_vs MSG: stop vuswitch first (SIGTERM: it prints its per-port and per-queue counters,
# drop reasons included, into its log), then fail with every log's tail.
fail_vs() {
    if [ -n "${VS:-}" ] && is_alive "$VS"; then
        stop_bg "$VS" 10 || true
        echo "vuswitch's counters at exit:" >&2
        tr -d '\r' <"$VS_LOG" | grep -E '^(port [0-9]+ |  queue )' >&2 || true
    fi
    fail "$@"
}

# --- one variant -----------------------------------------------------------------------------
run_variant() {
    LAYOUT=$1
    local variant=$2 tag="$1-$2" sa="$VUS_T/$1-$2-0.sock" sb="$VUS_T/$1-$2-1.sock"
    local mrg=0 inorder=0 mbuf=2176 buflen maxlen=0 packed=0
    [ "$variant" = mrg ] && mrg=1 inorder=1 mbuf=1152
    [ "$LAYOUT" = packed ] && packed=1
    buflen=$((mbuf - 128 + 12))   # virtio's RX buffer: data room less headroom, plus the header
    local vopt="queues=1,queue_size=$RING,mrg_rxbuf=$mrg,in_order=$inorder,packed_vq=$packed"
    # Receivers of frames over one mbuf need scattered RX (mrg only).
    local -a rxargs=("--rxd=$RING" "--txd=$RING" "--mbuf-size=$mbuf")
    [ $mrg -eq 1 ] && rxargs+=(--max-pkt-len=9018)
    local t0=$SECONDS

    note "== $tag: vuswitch, $vopt"
    VUS_LCORES=0,1 start_vuswitch "vs-$tag" --vhost-user "$sa" --vhost-user "$sb" --fwd io
    VS=vs-$tag
    VS_LOG=${VUS_LOG[$VS]}
    wait_for_log "$VS_LOG" "$(port_re 1 "$sb" listening)" "$TO" || fail "$VS not listening"
    wait_for_log "$VS_LOG" 'forwarding \(io\) on 1 lcore' "$TO" || fail "$VS: no forwarding lcore"

    # ---- leg 1: txonly bursts on vhost0, rxonly on vhost1 --------------------------------
    local tx=tx-$tag rx=rx-$tag
    local -a rxscatter=()
    [ $mrg -eq 1 ] && rxscatter=(--enable-scatter)
    tp_start "$rx" --vdev "net_virtio_user0,path=$sb,$vopt" -- -i --total-num-mbufs=16384 \
        "${rxargs[@]}" "${rxscatter[@]}"
    tp_start "$tx" --vdev "net_virtio_user0,path=$sa,$vopt" -- -i --total-num-mbufs=16384 \
        --rxd=$RING --txd=$RING
    wait_rings 0 "$sa" 1
    wait_rings 1 "$sb" 1
    tp_do "$rx" "set fwd rxonly"
    tp_do "$rx" "start"
    tp_do "$tx" "set fwd io"

    local -a sizes=(64 1518 "100,400,1018")
    [ $mrg -eq 1 ] && sizes=(64 1518 "64,1454" "2000,2000,2000,2000,1000")
    local spec len per bursts round sent=0 sent_b=0
    for spec in "${sizes[@]}"; do
        len=$(($(tr ',' '+' <<<"$spec")))
        # Guest buffers a frame takes: receiver RX buffers, or sender TX descriptors (header +
        # one per segment at worst), whichever is more. A round fits both rings even if
        # neither side runs meanwhile.
        per=$(($(tr -cd ',' <<<"$spec" | wc -c) + 2))
        [ $mrg -eq 1 ] && [ $(((len + 12 + buflen - 1) / buflen)) -gt $per ] &&
            per=$(((len + 12 + buflen - 1) / buflen))
        bursts=$((BUDGET / (32 * per)))
        [ $bursts -ge 1 ] || bursts=1
        [ $bursts -le 16 ] || bursts=16
        tp_do "$tx" "set txpkts $spec"
        for ((round = 0; round < ROUNDS_1; round++)); do
            tp_do "$tx" "start tx_first $bursts"
            tp_do "$tx" "stop"
            sent=$((sent + bursts * 32))
            sent_b=$((sent_b + bursts * 32 * len))
            if ! tp_wait "$rx" 0 RXP "$sent"; then
                local got=$TP_RXP
                tp_stats "$tx" 0
                fail_vs "$tag leg 1, txpkts $spec round $round: receiver has $got of $sent frames (sender TX-packets $TP_TXP)"
            fi
        done
        note "$tag leg 1: txpkts $spec: $ROUNDS_1 x $((bursts * 32)) frames received"
    done
    sleep 0.3 # anything extra (duplicates) would show now
    tp_stats "$tx" 0
    local txp=$TP_TXP txb=$TP_TXB txrx=$TP_RXP
    tp_stats "$rx" 0
    local rxp=$TP_RXP rxb=$TP_RXB rxtx=$TP_TXP
    note "$tag leg 1: sender TX $txp frames / $txb bytes, receiver RX $rxp / $rxb"
    [ "$txp" -eq "$sent" ] || fail_vs "$tag leg 1: sender transmitted $txp of $sent frames (TX ring not drained?)"
    [ "$txb" -eq "$sent_b" ] || fail_vs "$tag leg 1: sender TX-bytes $txb, expected $sent_b"
    [ "$rxp" -eq "$txp" ] || fail_vs "$tag leg 1: received $rxp frames, sent $txp"
    [ "$rxb" -eq "$txb" ] || fail_vs "$tag leg 1: received $rxb bytes, sent $txb"
    [ "$txrx" -eq 0 ] || fail_vs "$tag leg 1: $txrx frames came back to the sender"
    [ "$rxtx" -eq 0 ] || fail_vs "$tag leg 1: the receiver transmitted $rxtx frames"
    tp_quit "$tx"
    tp_quit "$rx"
    local leg1=$sent

    # ---- leg 2: pcap -> vhost1 -> vuswitch -> vhost0 -> pcap, byte for byte ----------------
    local pm=pm-$tag in=$VUS_T/$tag-in.pcap exp=$VUS_T/$tag-exp.pcap out=$VUS_T/$tag-out.pcap
    local empty=$VUS_T/empty.pcap info nin nexp bin bexp
    [ $mrg -eq 1 ] && maxlen=9000
    info=$(python3 "$PCAP_PY" gen "$in" "$exp" "$RANDOM" "$buflen" "$mrg" "$maxlen" "$BUDGET") ||
        fail "cannot generate $in"
    note "$tag leg 2: in.pcap: $info"
    nin=$(sed -E 's/^([0-9]+) frames.*/\1/' <<<"$info")
    nexp=$(sed -E 's/.*expected ([0-9]+) frames.*/\1/' <<<"$info")
    bin=$(sed -E 's/^[0-9]+ frames, ([0-9]+) bytes.*/\1/' <<<"$info")
    bexp=$(sed -E 's/.*expected [0-9]+ frames, ([0-9]+) bytes.*/\1/' <<<"$info")
    [ -f "$empty" ] || python3 "$PCAP_PY" empty "$empty" || fail "cannot write $empty"
    tp_start "$pm" \
        --vdev "net_pcap0,rx_pcap=$in,tx_pcap=$VUS_T/$tag-stray.pcap" \
        --vdev "net_virtio_user0,path=$sb,$vopt" \
        --vdev "net_virtio_user1,path=$sa,$vopt" \
        --vdev "net_pcap1,rx_pcap=$empty,tx_pcap=$out" \
        -- -i --total-num-mbufs=16384 --no-flush-rx --disable-device-start "${rxargs[@]}"
    if [ $mrg -eq 1 ]; then
        # Scattered RX on the virtio ports only (net_pcap has no such capability).
        tp_do "$pm" "port config 1 rx_offload scatter on"
        tp_do "$pm" "port config 2 rx_offload scatter on"
    fi
    tp_do "$pm" "port start all"
    wait_rings 1 "$sb" 2
    wait_rings 0 "$sa" 2
    tp_do "$pm" "set fwd io retry"
    tp_do "$pm" "set burst tx delay 10 retry 100000"
    for ((round = 0; round < ROUNDS_2; round++)); do
        # Re-open in.pcap: each round sends it once more, the previous one fully received.
        tp_do "$pm" "port stop 0"
        tp_do "$pm" "port start 0"
        tp_do "$pm" "start"
        if ! tp_wait "$pm" 3 TXP $(((round + 1) * nexp)); then
            tp_do "$pm" "stop"
            fail_vs "$tag leg 2 round $round: $TP_TXP of $(((round + 1) * nexp)) frames captured"
        fi
        tp_do "$pm" "stop"
    done
    sleep 0.3
    local -a st
    for p in 0 1 2 3; do
        tp_stats "$pm" $p
        st[p]="$TP_RXP $TP_RXB $TP_TXP $TP_TXB"
    done
    note "$tag leg 2: port stats (rx-pkts rx-bytes tx-pkts tx-bytes): pcap-in ${st[0]}; vhost1 ${st[1]}; vhost0 ${st[2]}; pcap-out ${st[3]}"
    read -r a_rxp _ a_txp _ <<<"${st[1]}"
    read -r b_rxp _ b_txp _ <<<"${st[2]}"
    [ "$a_txp" -eq $((ROUNDS_2 * nin)) ] || fail_vs "$tag leg 2: vhost1 sent $a_txp of $((ROUNDS_2 * nin)) frames"
    [ "$b_rxp" -eq $((ROUNDS_2 * nexp)) ] || fail_vs "$tag leg 2: vhost0 received $b_rxp frames, expected $((ROUNDS_2 * nexp))"
    [ "$a_rxp" -eq 0 ] || fail_vs "$tag leg 2: $a_rxp frames came back to the sending port"
    [ "$b_txp" -eq 0 ] || fail_vs "$tag leg 2: the receiving port transmitted $b_txp frames"
    tp_quit "$pm"
    python3 "$PCAP_PY" compare "$exp" "$out" "$ROUNDS_2" >"$VUS_T/$tag-compare.log" 2>&1
    local rc=$?
    note "$tag leg 2: $(tr '\n' ' ' <"$VUS_T/$tag-compare.log")"
    [ $rc -eq 0 ] || fail_vs "$tag leg 2: captured frames differ from what was sent: $(cat "$VUS_T/$tag-compare.log")"
    local leg2=$((ROUNDS_2 * nin))

    # ---- vuswitch's own counters ----------------------------------------------------------
    wait_for_log "$VS_LOG" "$(port_re 0 "$sa" 'front-end disconnected')" "$TO" 2 ||
        fail "port 0: second front-end never disconnected"
    wait_for_log "$VS_LOG" "$(port_re 1 "$sb" 'front-end disconnected')" "$TO" 2 ||
        fail "port 1: second front-end never disconnected"
    stop_bg "$VS" 10
    [ "${VUS_STATUS[$VS]}" -eq 0 ] || fail "$VS did not exit cleanly: $(_describe_status "${VUS_STATUS[$VS]}")"
    # Guest TX is the port's rx, guest RX its tx. vhost0: leg 1's frames in, leg 2's
    # deliverable frames out; vhost1 the other way round. Only frames no guest buffer can hold
    # (nomrg) may be dropped, as frame_too_big on vhost0's queue 0 tx.
    local oversize=$(((nin - nexp) * ROUNDS_2))
    check_port 0 "$leg1 $sent_b 0 $((ROUNDS_2 * nexp)) $((ROUNDS_2 * bexp)) $oversize"
    check_port 1 "$leg2 $((ROUNDS_2 * bin)) 0 $leg1 $sent_b 0"
    local q
    q=$(tr -d '\r' <"$VS_LOG" | grep -E '^ +queue [0-9]+ (rx|tx): ' | grep -vE '^ +queue 0 ' || true)
    [ -z "$q" ] || fail "$VS: traffic on other queues than 0: $q"
    q=$(tr -d '\r' <"$VS_LOG" | grep -E '^ +queue 0 (rx|tx): .*[a-z_]+ [0-9]+$' |
        grep -vE '^ +queue 0 (rx|tx): packets [0-9]+ bytes [0-9]+( frame_too_big [0-9]+)?$' || true)
    [ -z "$q" ] || fail "$VS: unexpected drop reasons: $q"
    if grep -qE 'entries stopped' "$VS_LOG"; then
        fail "$VS: $(grep -E 'entries stopped' "$VS_LOG" | head -n1)"
    fi
    note "== $tag passed in $((SECONDS - t0))s"
}

for l in "${LAYOUTS[@]}"; do
    run_variant "$l" mrg
    run_variant "$l" nomrg
done
note "PASS"
exit 0
