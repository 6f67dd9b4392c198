#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# telemetry_test.sh BUILD_DIR -- vuswitch's /vuswitch/... telemetry commands (doc/telemetry.md),
# read with devtools/vuswitch-telemetry.py and Debian's dpdk-telemetry.py, and checked against
# known traffic from dpdk-testpmd (net_virtio_user).
#
#   1. doc/telemetry.md: every example command runs, in order, against a vuswitch started as the
#      doc says; each reply must have the doc's keys at every level, the doc's types, and the
#      doc's values except loop counters, rates, ages and the DPDK version (doctest.py): the
#      shape of every endpoint, the changes (port add/del, fdb flush, fwd stop/start with
#      tx_first) and the error objects.
#   2. dpdk-telemetry.py reads /vuswitch/ports; an ethdev (net_null) added, read (its PMD's
#      xstats included) and removed through telemetry.
#   3. Known traffic, vuswitch with -i on a FIFO (so CLI and telemetry run side by side) and
#      testpmd on vhost0:
#      a. testpmd `start tx_first 4` (io): /vuswitch/port/stats,0 rx_packets = testpmd's
#         TX-packets = 128, rx_bytes = TX-bytes = 8192, rxq.0.packets = 128, nothing dropped;
#         /vuswitch/ports says link up; /vuswitch/lcores counted the 128; /vuswitch/fdb learned
#         testpmd's MAC on port 0; /vuswitch/vhost,0 is connected with VERSION_1 acked, rings 0
#         and 1 running, the last request a success; the CLI's `show vhost 0` and
#         `show port stats 0` agree.
#      b. testpmd txonly for a second: rx_packets = testpmd's TX-packets (all of them).
#      c. testpmd rxonly, vuswitch `/vuswitch/fwd/stop` then `/vuswitch/fwd/start,tx_first=3`:
#         testpmd receives exactly 96 frames and the port's tx_packets is 96.
#   4. SIGTERM: vuswitch exits 0.
#
# CPU layout for 2 cores: vuswitch -l 0,1 (forwarding on CPU 1); testpmd --lcores 0@0,1@0.
#
# Exit: 0 pass, 77 skip (not root, no dpdk-testpmd), 1 fail (with the tail of every log).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/system/lib.sh
. "$HERE/lib.sh"

vus_test_init telemetry "${1:-}"
need_root_or_skip
TESTPMD=${TESTPMD:-dpdk-testpmd}
command -v "$TESTPMD" >/dev/null 2>&1 || skip "missing $TESTPMD (package dpdk)"
command -v python3 >/dev/null 2>&1 || fail "python3 not found"
[ -x "$VUS_BIN" ] || fail "vuswitch binary not found at $VUS_BIN (build it first)"
DOC=$HERE/../../doc/telemetry.md
CLIENT=$HERE/../../devtools/vuswitch-telemetry.py
TO=${VUS_TEST_TIMEOUT:-30}
PFX=$VUS_PREFIX-vs

# 1. The documented examples.
mkdir -p "$VUS_T/doc"
note "doc/telemetry.md examples"
python3 "$HERE/doctest.py" telemetry "$DOC" "$VUS_BIN" "$VUS_PREFIX-doc" "$VUS_T/doc" "$CLIENT" ||
    fail "doc/telemetry.md examples do not match vuswitch's replies"

# --- helpers -----------------------------------------------------------------------------------

tel() { python3 "$CLIENT" --file-prefix "$PFX" "$@"; }

# check_json [COMMAND EXPR WANT]...: EXPR evaluated on each reply `d` must print WANT
# (telcheck.py, one connection for all). wait_json: the same, retried for up to $TO s.
check_json() { python3 "$HERE/telcheck.py" "$CLIENT" "$PFX" "$@" || fail "telemetry check"; }
wait_json() { python3 "$HERE/telcheck.py" "$CLIENT" "$PFX" --wait "$TO" "$@" || fail "telemetry wait"; }

vs() { echo "$1" >&"$VS_IN"; }
tp() { echo "$1" >&"$TP_IN"; }

# tp_stats: testpmd's `show port stats 0` as "RX-packets RX-bytes TX-packets TX-bytes".
tp_stats() {
    local log=${VUS_LOG[tp]} n
    n=$(count_log "$log" '^  Tx-pps:')
    tp "show port stats 0"
    wait_for_log "$log" '^  Tx-pps:' "$TO" $((n + 1)) || fail "testpmd: no port stats"
    tr -d '\r' <"$log" | awk '/NIC statistics for port 0/ { rx = tx = "" }
        /^  RX-packets:/ { rp = $2; rb = $6 } /^  TX-packets:/ { tpk = $2; tb = $6 }
        END { print rp, rb, tpk, tb }'
}

# --- vuswitch with -i on a FIFO, and testpmd ---------------------------------------------------

mkfifo "$VUS_T/vs.in" "$VUS_T/tp.in"
exec {VS_IN}<>"$VUS_T/vs.in" {TP_IN}<>"$VUS_T/tp.in"
# shellcheck disable=SC2016 # $0 and $@ belong to the inner bash
start_bg vs bash -c 'exec "$@" <>"$0"' "$VUS_T/vs.in" "$VUS_BIN" -l 0,1 --no-pci --no-huge \
    -m 256 --file-prefix "$PFX" '--log-level=vus.*:info' -- -i \
    --vhost-user "$VUS_T/vhost0.sock,queues=1" --vhost-user "$VUS_T/vhost1.sock,queues=1"
VSLOG=${VUS_LOG[vs]}
wait_for_log "$VSLOG" "$(port_re 1 "$VUS_T/vhost1.sock" listening)" "$TO" ||
    fail "vuswitch not listening"
wait_json /vuswitch/ports 'len(d)' 2

note "dpdk-telemetry.py"
out=$(echo /vuswitch/ports | timeout 20 dpdk-telemetry.py -f "$PFX" 2>&1) ||
    fail "dpdk-telemetry.py failed: $out"
grep -q '"/vuswitch/ports": {"0": {"name": "vhost0", "kind": "vhost-user"' <<<"$out" ||
    fail "dpdk-telemetry.py does not show /vuswitch/ports: $out"

note "an ethdev through telemetry"
check_json \
    /vuswitch/port/add,ethdev,net_null0,no-rx=1 "d['status'], d['port']" "('ok', 2)" \
    /vuswitch/port/info,2 "d['kind'], d['driver'], d['devargs'], d['link']" \
    "('ethdev', 'net_null', 'net_null0,no-rx=1', 'up')" \
    /vuswitch/port/stats,2 "d['xstats']['tx_good_packets'], sorted(d['rxq']['0'])" \
    "(0, ['bytes', 'dropped', 'packets'])" \
    /vuswitch/port/del,2 "d['status']" ok \
    /vuswitch/ports "sorted(d)" "['0', '1']"

note "testpmd on vhost0"
# shellcheck disable=SC2016
start_bg tp bash -c 'exec "$@" <>"$0"' "$VUS_T/tp.in" "$TESTPMD" --lcores 0@0,1@0 --no-huge \
    -m 256 --iova-mode=va --no-pci --file-prefix "$VUS_PREFIX-tp" \
    --vdev "net_virtio_user0,path=$VUS_T/vhost0.sock,queues=1,queue_size=1024" \
    -- -i --total-num-mbufs=16384
TPLOG=${VUS_LOG[tp]}
wait_for_log "$TPLOG" '^testpmd> ' "$TO" || fail "no testpmd prompt"
for ((i = 0; i < TO; i++)); do
    tp "show port info 0"
    sleep 1
    [ "$(count_log "$TPLOG" 'Link status: up')" -ge 1 ] && break
done
[ "$(count_log "$TPLOG" 'Link status: up')" -ge 1 ] || fail "testpmd: link not up"
TPMAC=$(tr -d '\r' <"$TPLOG" | sed -nE 's/^MAC address: ([0-9A-Fa-f:]+).*/\1/p' | head -n1)
[ -n "$TPMAC" ] || fail "testpmd: no MAC address in show port info"
wait_json /vuswitch/ports "d['0']['link']" up

# a. 4 bursts of 32 frames of 64 bytes.
note "a: testpmd start tx_first 4"
tp "set fwd io"
tp "start tx_first 4"
sleep 1
tp "stop"
read -r _ _ TXP TXB <<<"$(tp_stats)"
[ "$TXP" = 128 ] && [ "$TXB" = 8192 ] || fail "testpmd sent $TXP frames, $TXB bytes; want 128, 8192"
wait_json /vuswitch/port/stats,0 "d['rx_packets']" "$TXP"
check_json \
    /vuswitch/port/stats,0 "d['rx_bytes'], d['rx_dropped'], d['rxq']['0']['packets']" \
    "($TXB, 0, $TXP)" \
    /vuswitch/port/stats,0 "sum(v for k, v in d['rxq']['0'].items() if k.startswith('drop_'))" 0 \
    /vuswitch/ports "d['0']['rx_packets'], d['0']['state']" "($TXP, 'connected')" \
    /vuswitch/lcores "d['1']['rx_packets'], d['1']['polls']" "($TXP, ['0/0', '1/0'])" \
    /vuswitch/fdb "[(e['vlan'], e['mac'], e['port'], e['static']) for e in d['table'].values()]" \
    "[(1, '${TPMAC^^}', 0, 0)]" \
    /vuswitch/vhost,0 "d['conn'], 'VERSION_1' in d['feature_names'], d['connections']" \
    "('connected', True, 1)" \
    /vuswitch/vhost,0 "[(r['running'], r['enabled'], r['num']) for r in d['rings'].values()]" \
    "[(1, 1, 1024), (1, 1, 1024)]" \
    /vuswitch/vhost,0 "d['rings']['1']['avail_idx'] == d['rings']['1']['last_avail'] == $TXP" True \
    /vuswitch/vhost,0 "len(d['steps']) > 0 and d['steps'][str(len(d['steps']) - 1)]['result']" ok \
    /vuswitch/vhost,0 "d['nregions'] >= 1 and d['mapped_bytes'] > 0" True
vs "show vhost 0"
wait_for_log "$VSLOG" '^  Rings: 2 of 2 running$' "$TO" || fail "CLI show vhost: rings not running"
grep -qE '^vhost-user port 0: .* \(server\), connected$' "$VSLOG" || fail "CLI show vhost: not connected"
grep -qE '^  Features acked: +0x[0-9a-f]+: .*VERSION_1' "$VSLOG" || fail "CLI show vhost: VERSION_1"
vs "show port stats 0"
wait_for_log "$VSLOG" "^  RX-packets: $TXP +RX-dropped: 0 +RX-bytes:  $TXB\$" "$TO" ||
    fail "CLI show port stats 0 disagrees with testpmd"

# b. txonly for a second: every frame testpmd counts as sent, vuswitch counts as received.
note "b: testpmd txonly"
tp "set fwd txonly"
tp "start"
sleep 1
tp "stop"
read -r _ _ TXP _ <<<"$(tp_stats)"
[ "$TXP" -gt 1000 ] || fail "testpmd txonly sent only $TXP frames"
wait_json /vuswitch/port/stats,0 "d['rx_packets'] + d['rx_dropped']" "$TXP"
check_json /vuswitch/port/stats,0 "d['rx_packets'], d['rx_dropped']" "($TXP, 0)"
note "   testpmd TX-packets $TXP = vuswitch rx_packets"

# c. vuswitch's tx_first into the guest.
note "c: /vuswitch/fwd/start,tx_first=3"
tp "set fwd rxonly"
tp "clear port stats 0"
tp "start"
vs "clear port stats 0"
wait_for_log "$VSLOG" '^  NIC statistics for port 0 cleared$' "$TO" || fail "CLI clear port stats 0"
check_json /vuswitch/fwd/stop "d['status']" ok \
    /vuswitch/fwd/start,tx_first=3 "d['status'], d['tx_first']" "('ok', 3)"
for ((i = 0; i < TO * 5; i++)); do
    read -r RXP _ _ _ <<<"$(tp_stats)"
    [ "$RXP" = 96 ] && break
    sleep 0.2
done
[ "$RXP" = 96 ] || fail "testpmd received $RXP of the 96 tx_first frames"
check_json /vuswitch/port/stats,0 "d['tx_packets'], d['tx_dropped'], d['txq']['0']['packets']" \
    "(96, 0, 96)"
tp "stop"

# 4. Exit.
tp "quit"
wait_for_log "$TPLOG" 'Bye' "$TO" || fail "testpmd did not quit"
unwatch_bg tp
stop_bg vs 10
[ "${VUS_STATUS[vs]}" -eq 0 ] || fail "vuswitch: $(_describe_status "${VUS_STATUS[vs]}") on SIGTERM"
note "PASS telemetry"
exit 0
