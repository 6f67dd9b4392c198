#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# rebalance_test.sh BUILD_DIR -- RX queues placed on lcores by measured load: the `rebalance`
# command (CLI and /vuswitch/fwd/rebalance), pins, and --rebalance-interval. No front-end needed.
#
# Known loads: two net_null ethdevs (`--vdev net_null0 --vdev net_null1`, one RX queue each)
# return a full burst on every poll, so each keeps its lcore as busy as it lets it; a vhost-user
# port with 2 queue pairs and nobody connected has two idle queues. Engine rxonly (frees what it
# receives). Two forwarding lcores on 2 CPUs (`--lcores 0@0,1@0,2@1`, as switch_mq_test.sh).
# Ports: 0 the vhost-user port, 1 and 2 the net_null ones.
#
#   1. Both busy queues on lcore 1: `set port 1 lcore 1`, `set port 2 lcore 1`, then `... auto`
#      (unpinned queues stay where they are). `show port info` says so (`Queue lcores: 0:1`) and,
#      once measured, shows a load (`Queue loads: 0:N.N%`, N > 0) for each.
#   2. CLI `rebalance`: "Rebalanced: N queue(s) moved"; ports 1 and 2 are now polled by
#      different lcores (show port info, /vuswitch/lcores); a second `rebalance` moves nothing.
#   3. Pins win: both pinned to lcore 2, `rebalance` leaves them both there.
#   4. Unpinned (still both on lcore 2): /vuswitch/fwd/rebalance answers ok, applied, moved > 0,
#      a lower busiest-lcore load; the two busy queues are on different lcores, and both lcores
#      report a load (/vuswitch/lcores load_permille).
#   5. One queue at a time, `set port P rxq Q lcore L|auto`: port 0's two queues pinned apart
#      and together (the other queue keeps its lcore each time: `Queue lcores`, /vuswitch/lcores);
#      a queue past the port's and a non-forwarding lcore are refused and change nothing; both
#      busy queues pinned to lcore 2 this way stay there on `rebalance`; `auto` on one of them
#      releases it: the next `rebalance` moves it, and only it.
#   6. A second vuswitch with --rebalance-interval 1: both busy queues put on lcore 1 as in 1;
#      with no command, the log says "automatic rebalance: ..." and they end on different lcores.
#   7. A third one with `--rxq-lcore 0:1:1,1:0:1 --rxq-lcore 2:0:1,3:1:1,0:5:2`: every queue on
#      lcore 1 (placed without the pins, port 0's queue 1 and the busy queues would be on lcore
#      2); 0:5:2 (no such queue) and 3:1:1 (no port 3 yet) are logged; `rebalance` keeps the
#      pins; a port added later as port 3 gets its queue 1 pinned while its queue 0 goes by load
#      to the idle lcore 2; /vuswitch/port/rxq_lcore pins port 3's queues one at a time (the
#      other one stays) and refuses as the CLI does; /vuswitch/port/rxq_lcore,2,0,auto releases a
#      busy queue, which /vuswitch/fwd/rebalance then moves, every pinned queue staying.
#      Bad --rxq-lcore syntax exits 2 and an lcore that does not forward exits 1, each with a
#      message.
# Nothing here depends on how long anything takes: every wait is for a state, up to a timeout.
#
# Exit: 0 pass, 77 skip (fewer than 2 CPUs), 1 fail (with the tail of every log).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/system/lib.sh
. "$HERE/lib.sh"

vus_test_init rebalance "${1:-}"
[ -x "$VUS_BIN" ] || fail "vuswitch binary not found at $VUS_BIN (build it first)"
command -v python3 >/dev/null 2>&1 || fail "python3 not found"
[ "$(nproc)" -ge 2 ] || skip "two forwarding lcores need 2 CPUs"
CLIENT=$HERE/../../devtools/vuswitch-telemetry.py
TO=${VUS_TEST_TIMEOUT:-30}

# start_vs NAME [OPTION...]: vuswitch with -i on a FIFO; VS_IN[NAME] writes to it. CLI output
# goes to VUS_LOG[NAME], the log (stderr) to VS_ERR[NAME], so that a log line written while a
# command is echoed (an automatic rebalance) cannot split the echo.
declare -gA VS_IN=() VS_ERR=()
start_vs() {
    local name=$1 fifo=$VUS_T/$1.in fd
    shift
    mkfifo "$fifo"
    exec {fd}<>"$fifo"
    VS_IN[$name]=$fd
    VS_ERR[$name]=$VUS_T/$name.err.log
    VUS_ALL_LOGS+=("${VS_ERR[$name]}")
    # shellcheck disable=SC2016 # $0, $1 and $@ belong to the inner bash
    start_bg "$name" bash -c 'exec "${@:2}" <>"$0" 2>>"$1"' "$fifo" "${VS_ERR[$name]}" \
        "$VUS_BIN" --lcores 0@0,1@0,2@1 --main-lcore 0 --no-pci --no-huge -m 256 \
        --file-prefix "$VUS_PREFIX-$name" --vdev net_null0 --vdev net_null1 \
        '--log-level=vus.*:info' -- -i --fwd rxonly --vhost-user "$VUS_T/$name.sock,queues=2" "$@"
    wait_for_log "${VS_ERR[$name]}" 'forwarding \(rxonly\) on 2 lcore\(s\)' "$TO" ||
        fail "$name: not forwarding on 2 lcores"
    wait_for_log "${VUS_LOG[$name]}" '^vuswitch> ' "$TO" || fail "$name: no prompt"
}

# vs NAME COMMAND REGEX: run a CLI command, wait for REGEX in the output after it.
vs() {
    local name=$1 log=${VUS_LOG[$1]} n
    n=$(count_log "$log" "^vuswitch> $(re_escape "$2")\$")
    echo "$2" >&"${VS_IN[$name]}"
    wait_for_log_after "$log" "^vuswitch> $(re_escape "$2")\$" $((n + 1)) "$3" "$TO" ||
        fail "$name: '$2' did not print /$3/"
}

# check_json NAME [COMMAND EXPR WANT]... / wait_json: telcheck.py against vuswitch NAME.
check_json() {
    local pfx=$VUS_PREFIX-$1
    shift
    python3 "$HERE/telcheck.py" "$CLIENT" "$pfx" "$@" || fail "telemetry check"
}
wait_json() {
    local pfx=$VUS_PREFIX-$1
    shift
    python3 "$HERE/telcheck.py" "$CLIENT" "$pfx" --wait "$TO" "$@" || fail "telemetry wait"
}

# Lcores polling the busy queues 1/0 and 2/0, as a sorted list of how many each polls.
BUSY_SPLIT="sorted(len([p for p in v['polls'] if p in ('1/0', '2/0')]) for v in d.values())"

# both_on NAME LCORE: pin ports 1 and 2 to LCORE, then unpin them (they stay).
both_on() {
    local p
    for p in 1 2; do
        vs "$1" "set port $p lcore $2" "^Port $p: every queue polled by lcore $2\$"
    done
    for p in 1 2; do
        vs "$1" "set port $p lcore auto" "^Port $p: queues spread over the lcores\$"
    done
}

# --- 1. both busy queues on lcore 1 ------------------------------------------------------------
note "1: both busy queues on lcore 1"
start_vs vs
both_on vs 1
vs vs "show port info 1" '^Queue lcores: 0:1$'
vs vs "show port info 2" '^Queue lcores: 0:1$'
wait_json vs /vuswitch/lcores "$BUSY_SPLIT" "[0, 2]" \
    /vuswitch/port/info,1 "d['queue_load_permille'][0] > 0" True \
    /vuswitch/port/info,2 "d['queue_load_permille'][0] > 0" True
vs vs "show port info 1" '^Queue loads: 0:([1-9][0-9]*\.[0-9]|0\.[1-9])%$'

# --- 2. CLI rebalance ------------------------------------------------------------------------
note "2: rebalance (CLI)"
vs vs rebalance '^Rebalanced: [1-9][0-9]* queue\(s\) moved, busiest lcore [0-9.]+% -> [0-9.]+%$'
check_json vs /vuswitch/lcores "$BUSY_SPLIT" "[1, 1]"
L1=$(python3 "$CLIENT" --file-prefix "$VUS_PREFIX-vs" /vuswitch/port/info,1 |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["queue_lcores"][0])')
L2=$((3 - L1))
vs vs "show port info 1" "^Queue lcores: 0:$L1\$"
vs vs "show port info 2" "^Queue lcores: 0:$L2\$"
note "   port 1 on lcore $L1, port 2 on lcore $L2"
vs vs rebalance '^Nothing moved: no assignment does better \(busiest lcore [0-9.]+%\)$'
check_json vs /vuswitch/port/info,1 "d['queue_lcores']" "[$L1]" \
    /vuswitch/port/info,2 "d['queue_lcores']" "[$L2]"

# --- 3. pins win -------------------------------------------------------------------------------
note "3: pinned queues stay"
vs vs "set port 1 lcore 2" '^Port 1: every queue polled by lcore 2$'
vs vs "set port 2 lcore 2" '^Port 2: every queue polled by lcore 2$'
vs vs rebalance '^(Rebalanced|Nothing moved): '
check_json vs /vuswitch/port/info,1 "d['queue_lcores']" "[2]" \
    /vuswitch/port/info,2 "d['queue_lcores']" "[2]" \
    /vuswitch/lcores "$BUSY_SPLIT" "[0, 2]"

# --- 4. telemetry rebalance --------------------------------------------------------------------
note "4: /vuswitch/fwd/rebalance"
vs vs "set port 1 lcore auto" '^Port 1: queues spread over the lcores$'
vs vs "set port 2 lcore auto" '^Port 2: queues spread over the lcores$'
check_json vs /vuswitch/lcores "$BUSY_SPLIT" "[0, 2]" \
    /vuswitch/fwd/rebalance \
    "d['status'], d['applied'], d['moved'] > 0, d['busiest_after_permille'] < d['busiest_before_permille']" \
    "('ok', 1, True, True)" \
    /vuswitch/lcores "$BUSY_SPLIT" "[1, 1]" \
    /vuswitch/lcores "all(v['load_permille'] > 0 for v in d.values())" True \
    /vuswitch/fwd/rebalance,now "d['error']" "/vuswitch/fwd/rebalance takes no parameter"

# --- 5. one queue at a time --------------------------------------------------------------------
note "5: set port ... rxq ... lcore"
# rxq NAME PORT QUEUE LCORE: pin one queue.
rxq() {
    vs "$1" "set port $2 rxq $3 lcore $4" "^Port $2 RX queue $3: polled by lcore $4\$"
}
rxq vs 0 0 1
rxq vs 0 1 2
vs vs "show port info 0" '^Queue lcores: 0:1 1:2$'
rxq vs 0 1 1
vs vs "show port info 0" '^Queue lcores: 0:1 1:1$'
rxq vs 0 0 2
vs vs "show port info 0" '^Queue lcores: 0:2 1:1$'
check_json vs /vuswitch/lcores "'0/0' in d['2']['polls'], '0/1' in d['1']['polls']" \
    "(True, True)"
vs vs "set port 0 rxq 2 lcore 1" '^error: port 0 has 2 RX queue\(s\): no queue 2$'
vs vs "set port 0 rxq 0 lcore 0" '^error: lcore 0 is not a forwarding lcore \(see show lcores\)$'
vs vs "set port 9 rxq 0 lcore 1" '^error: no port 9$'
vs vs "show port info 0" '^Queue lcores: 0:2 1:1$'
rxq vs 1 0 2
rxq vs 2 0 2
vs vs rebalance '^(Rebalanced|Nothing moved): '
check_json vs /vuswitch/lcores "$BUSY_SPLIT" "[0, 2]" \
    /vuswitch/port/info,0 "d['queue_lcores']" "[2, 1]"
vs vs "set port 2 rxq 0 lcore auto" '^Port 2 RX queue 0: unpinned, stays on lcore 2 until a rebalance$'
check_json vs /vuswitch/port/info,2 "d['queue_lcores']" "[2]"
vs vs rebalance '^Rebalanced: [1-9][0-9]* queue\(s\) moved'
check_json vs /vuswitch/port/info,2 "d['queue_lcores']" "[1]" \
    /vuswitch/port/info,1 "d['queue_lcores']" "[2]" \
    /vuswitch/port/info,0 "d['queue_lcores']" "[2, 1]"
stop_bg vs 10
[ "${VUS_STATUS[vs]}" -eq 0 ] || fail "vuswitch: $(_describe_status "${VUS_STATUS[vs]}") on SIGTERM"
grep -qE 'VUS: rebalance: [0-9]+ queue\(s\) moved' "${VS_ERR[vs]}" || fail "no rebalance logged"

# --- 6. automatic ------------------------------------------------------------------------------
note "6: --rebalance-interval 1"
start_vs auto --rebalance-interval 1
grep -q 'automatic rebalance every 1 s' "${VS_ERR[auto]}" || fail "auto: interval not logged"
check_json auto /vuswitch/fwd "d['rebalance_interval_s']" 1
AUTO_RE='automatic rebalance: [1-9][0-9]* queue\(s\) moved, busiest lcore [0-9.]+% -> [0-9.]+%'
n=$(count_log "${VS_ERR[auto]}" "$AUTO_RE")
both_on auto 1
wait_for_log "${VS_ERR[auto]}" "$AUTO_RE" "$TO" $((n + 1)) ||
    fail "auto: no automatic rebalance with both busy queues on one lcore"
wait_json auto /vuswitch/lcores "$BUSY_SPLIT" "[1, 1]"
stop_bg auto 10
[ "${VUS_STATUS[auto]}" -eq 0 ] || fail "auto: $(_describe_status "${VUS_STATUS[auto]}") on SIGTERM"

# --- 7. --rxq-lcore ----------------------------------------------------------------------------
note "7: --rxq-lcore"
start_vs pin --rxq-lcore 0:1:1,1:0:1 --rxq-lcore 2:0:1,3:1:1,0:5:2
for re in 'port 0: RX queue 1 pinned to lcore 1 \(--rxq-lcore\)' \
    'port 2: RX queue 0 pinned to lcore 1 \(--rxq-lcore\)' \
    'port 0: has 2 RX queue\(s\), --rxq-lcore 0:5:2 not applied' \
    '--rxq-lcore 3:1:1: no port 3 yet \(applied if one is added\)'; do
    grep -qE -- "$re" "${VS_ERR[pin]}" || fail "pin: no /$re/ in the log"
done
check_json pin /vuswitch/port/info,0 "d['queue_lcores']" "[1, 1]" \
    /vuswitch/port/info,1 "d['queue_lcores']" "[1]" \
    /vuswitch/port/info,2 "d['queue_lcores']" "[1]"
wait_json pin /vuswitch/port/info,1 "d['queue_load_permille'][0] > 0" True \
    /vuswitch/port/info,2 "d['queue_load_permille'][0] > 0" True
vs pin rebalance '^(Rebalanced|Nothing moved): '
check_json pin /vuswitch/lcores "$BUSY_SPLIT" "[0, 2]" \
    /vuswitch/port/info,0 "d['queue_lcores'][1]" 1
# Port 3 appears: lcore 1 is busy and lcore 2 idle, so by load both its queues would go to
# lcore 2; the pin puts queue 1 on lcore 1.
vs pin "port add vhost-user $VUS_T/pin3.sock queues 2" '^Port 3 added: vhost-user '
check_json pin /vuswitch/port/info,3 "d['queue_lcores']" "[2, 1]"
grep -qE 'port 3: RX queue 1 pinned to lcore 1 \(--rxq-lcore\)' "${VS_ERR[pin]}" ||
    fail "pin: port 3's pin not logged"
# Telemetry: port 3's queues pinned one at a time (the other stays each time), refusals that
# change nothing, then a busy queue released and rebalanced while every pin holds.
check_json pin /vuswitch/port/rxq_lcore,3,0,1 \
    "d['status'], d['port'], d['queue'], d['pinned'], d['lcore']" "('ok', 3, 0, 1, 1)" \
    /vuswitch/port/info,3 "d['queue_lcores']" "[1, 1]" \
    /vuswitch/port/rxq_lcore,3,1,2 "d['status'], d['pinned'], d['lcore']" "('ok', 1, 2)" \
    /vuswitch/port/info,3 "d['queue_lcores']" "[1, 2]" \
    /vuswitch/port/rxq_lcore,3,2,1 "d['error']" "port 3 has 2 RX queue(s): no queue 2" \
    /vuswitch/port/rxq_lcore,3,0,0 "d['error']" \
    "lcore 0 is not a forwarding lcore (see show lcores)" \
    /vuswitch/port/rxq_lcore,3,0 "d['error']" \
    "usage: /vuswitch/port/rxq_lcore,<port_id>,<queue_id>,<lcore_id>|auto" \
    /vuswitch/port/info,3 "d['queue_lcores']" "[1, 2]" \
    /vuswitch/port/rxq_lcore,2,0,auto \
    "d['status'], d['port'], d['queue'], d['pinned'], d['lcore']" "('ok', 2, 0, 0, 1)" \
    /vuswitch/port/info,2 "d['queue_lcores']" "[1]" \
    /vuswitch/fwd/rebalance "d['applied'], d['moved'] > 0" "(1, True)" \
    /vuswitch/lcores "$BUSY_SPLIT" "[1, 1]" \
    /vuswitch/port/info,1 "d['queue_lcores']" "[1]" \
    /vuswitch/port/info,2 "d['queue_lcores']" "[2]" \
    /vuswitch/port/info,3 "d['queue_lcores']" "[1, 2]" \
    /vuswitch/port/info,0 "d['queue_lcores'][1]" 1
stop_bg pin 10
[ "${VUS_STATUS[pin]}" -eq 0 ] || fail "pin: $(_describe_status "${VUS_STATUS[pin]}") on SIGTERM"

# bad_start RC REGEX OPTION...: vuswitch refuses to start with exit status RC and says REGEX.
bad_start() {
    local want=$1 re=$2 out rc=0
    shift 2
    out=$(timeout "$TO" "$VUS_BIN" -l 0,1 --no-pci --no-huge -m 256 \
        --file-prefix "$VUS_PREFIX-bad" -- --vhost-user "$VUS_T/bad.sock" "$@" 2>&1 </dev/null) ||
        rc=$?
    [ "$rc" -eq "$want" ] || fail "vuswitch $*: exit status $rc, want $want: $out"
    grep -qE -- "$re" <<<"$out" || fail "vuswitch $*: no /$re/ in: $out"
}
SYNTAX='^--rxq-lcore: expected PORT:QUEUE:LCORE\[,PORT:QUEUE:LCORE\.\.\.\] '
for bad in 0:1 '0:1:1,' 0:1:1:1 a:0:1 0:128:1 0:0:1,,1:0:1; do
    bad_start 2 "$SYNTAX" --rxq-lcore "$bad"
done
bad_start 1 '^--rxq-lcore: 0:0:0: lcore 0 is not a forwarding lcore' --rxq-lcore 1:0:1,0:0:0

note "PASS rebalance"
exit 0
