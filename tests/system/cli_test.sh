#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# cli_test.sh BUILD_DIR -- the vuswitch command line (doc/cli.md), no front-end needed.
#
#   1. doc/cli.md: every "vuswitch> " example block runs, in order, as one session through a
#      pipe, and the output must be exactly the doc's (tests/system/doctest.py cli); every
#      command `help` lists must have an example there. The session covers every command, its
#      output and its errors (unknown command, bad arguments with the expected syntax, refused
#      values, and that a refused command changed nothing).
#   2. A terminal (pty): TAB completion, '?', history, an error, quit (cli_pty.py).
#   3. An ethdev port added at run time (net_null): info, the PMD's xstats, tx_first counted
#      on it, removal. End of input quits a piped session with exit status 0.
#   4. --cmdline-file: the commands run at start, echoed, errors reported and the next command
#      still run; `quit` in the file ends vuswitch.
#   5. --stats-period 1: one line per port per second in the documented format. Idle (no
#      front-end), the control thread wakes at most 50 times a second and the main thread
#      only for the stats line (they share a CPU with a forwarding lcore when there is no
#      spare one; the table's maintenance backs off when it has nothing to learn): a 100 Hz
#      timer, or a main thread polling every 100 ms, fails this. SIGTERM exits 0 (the
#      main thread, asleep in poll(), is woken through a pipe by whichever thread the
#      signal reached).
#   6. SIGTERM while the interactive CLI waits on a FIFO: exit status 0.
#
# Exit: 0 pass, 1 fail (with the tail of every log).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/system/lib.sh
. "$HERE/lib.sh"

vus_test_init cli "${1:-}"
[ -x "$VUS_BIN" ] || fail "vuswitch binary not found at $VUS_BIN (build it first)"
command -v python3 >/dev/null 2>&1 || fail "python3 not found"
DOC=$HERE/../../doc/cli.md
TO=${VUS_TEST_TIMEOUT:-30}
EAL=(-l "0,1" --no-pci --no-huge -m 256)

# 1. The documented session.
mkdir -p "$VUS_T/doc"
note "doc/cli.md examples"
python3 "$HERE/doctest.py" cli "$DOC" "$VUS_BIN" "$VUS_PREFIX-doc" "$VUS_T/doc" ||
    fail "doc/cli.md examples do not match vuswitch's output"

# 2. A terminal.
note "pseudo-terminal: completion, ?, history"
timeout 60 python3 "$HERE/cli_pty.py" "$VUS_T/pty.log" "$VUS_BIN" "${EAL[@]}" \
    --file-prefix "$VUS_PREFIX-pty" -- -i --vhost-user "$VUS_T/pty.sock,queues=1" ||
    fail "interactive CLI on a pseudo-terminal"

# An ethdev (net_null) at run time: info, xstats from the PMD, tx_first on it, removal.
note "ethdev port at run time"
out=$(printf '%s\n' 'port add ethdev net_null0,no-rx=1' 'show port info 1' 'show port xstats 1' \
    'stop' 'start tx_first 2' 'show port stats 1' 'port del 1' 'show port info 1' |
    timeout "$TO" "$VUS_BIN" "${EAL[@]}" --file-prefix "$VUS_PREFIX-eth" -- -i \
        --vhost-user "$VUS_T/eth.sock,queues=1" 2>"$VUS_T/eth.log")
for want in '^Port 1 added: ethdev net_null0,no-rx=1$' '^Kind: ethdev$' '^Driver: net_null$' \
    '^Device: net_null0,no-rx=1$' '^Link status: up$' '^rx_q0_packets: 0$' '^rx_good_packets: 0$' \
    '^  TX-packets: 64 ' '^Port 1 removed$' '^error: no port 1$'; do
    grep -qE -- "$want" <<<"$out" || fail "ethdev port: no /$want/ in:
$out"
done

# 3. End of input.
note "end of input quits"
out=$(printf 'show fdb\n' | timeout "$TO" "$VUS_BIN" "${EAL[@]}" --file-prefix "$VUS_PREFIX-eof" \
    -- -i --vhost-user "$VUS_T/eof.sock,queues=1" 2>"$VUS_T/eof.log")
rc=$?
[ $rc -eq 0 ] || fail "piped session without quit: exit status $rc"
grep -q '^vuswitch> show fdb$' <<<"$out" || fail "piped session: command not echoed: $out"
grep -q '^VLAN  MAC address' <<<"$out" || fail "piped session: no show fdb output: $out"
grep -q '^port 0 vhost0: rx-packets 0' <<<"$out" || fail "piped session: no exit counters: $out"

# 4. --cmdline-file, then quit from the file.
note "--cmdline-file"
cat >"$VUS_T/cmds.txt" <<EOF
# comment lines and blank lines are skipped

set fdb aging 30
fdb add 02:aa:00:00:00:01 vlan 1 port 5
fdb add 02:aa:00:00:00:01 vlan 1 port 0
show fdb
quit
show port info 0
EOF
out=$(timeout "$TO" "$VUS_BIN" "${EAL[@]}" --file-prefix "$VUS_PREFIX-file" -- \
    --cmdline-file "$VUS_T/cmds.txt" --vhost-user "$VUS_T/file.sock,queues=1" \
    </dev/null 2>"$VUS_T/file.log")
rc=$?
[ $rc -eq 0 ] || fail "--cmdline-file ending in quit: exit status $rc"
want=$(
    cat <<EOF
Read CLI commands from $VUS_T/cmds.txt
vuswitch> # comment lines and blank lines are skipped
vuswitch> set fdb aging 30
Aging time 30 s
vuswitch> fdb add 02:aa:00:00:00:01 vlan 1 port 5
error: no port 5
vuswitch> fdb add 02:aa:00:00:00:01 vlan 1 port 0
02:AA:00:00:00:01 in VLAN 1: static on port 0
vuswitch> show fdb
VLAN  MAC address        Port  Type     Age
   1  02:AA:00:00:00:01     0  static   -
1 entries (1 static) of 65536, aging 30 s
learned 0 moved 0 aged 0 removed 0 refused (full) 0
lookups 0 missed 0 (lcore caches 0) learn requests 0 dropped 0 (lcore caches 0)
vuswitch> quit
Bye...
EOF
)
got=$(head -n "$(wc -l <<<"$want")" <<<"$out")
[ "$got" = "$want" ] || fail "--cmdline-file output differs:
$(diff <(echo "$want") <(echo "$got"))"
grep -q 'Infos for port 0' <<<"$out" && fail "--cmdline-file: a command after quit ran"

# 5. --stats-period.
note "--stats-period"
start_bg stats "$VUS_BIN" "${EAL[@]}" --file-prefix "$VUS_PREFIX-stats" -- --stats-period 1 \
    --vhost-user "$VUS_T/s0.sock,queues=1" --vhost-user "$VUS_T/s1.sock,queues=1"
line='port [01] vhost[01]: rx [0-9]+\.[0-9]{3} Mpps tx [0-9]+\.[0-9]{3} Mpps rx-dropped [0-9]+ tx-dropped [0-9]+ link (up|down)$'
wait_for_log "${VUS_LOG[stats]}" "^$line" "$TO" 4 || fail "--stats-period: no 2 lines per port"
[ "$(count_log "${VUS_LOG[stats]}" '^port 1 vhost1: rx 0\.000 Mpps')" -ge 2 ] ||
    fail "--stats-period: no line for port 1"
# wakeups NAME: voluntary context switches so far of the threads called NAME.
wakeups() {
    local t n=0
    for t in /proc/"${VUS_PID[stats]}"/task/*; do
        [ "$(cat "$t/comm" 2>/dev/null)" = "$1" ] || continue
        n=$((n + $(awk '/^voluntary_ctxt_switches/ { print $2 }' "$t/status")))
    done
    echo "$n"
}
c0=$(wakeups vus-ctrl) m0=$(wakeups vuswitch)
sleep 4
c1=$(wakeups vus-ctrl) m1=$(wakeups vuswitch)
note "idle for 4 s: control thread woke $((c1 - c0)) times, main thread $((m1 - m0))"
[ $((c1 - c0)) -le 200 ] || fail "idle control thread woke $((c1 - c0)) times in 4 s (at most 200)"
[ $((m1 - m0)) -le 40 ] || fail "idle main thread woke $((m1 - m0)) times in 4 s (at most 40: the stats line every second)"
stop_bg stats 10
[ "${VUS_STATUS[stats]}" -eq 0 ] || fail "--stats-period: exit status ${VUS_STATUS[stats]} on SIGTERM"

# 6. SIGTERM while the prompt waits on a FIFO.
note "SIGTERM during -i"
mkfifo "$VUS_T/in"
# shellcheck disable=SC2016 # $0 and $@ belong to the inner bash
start_bg fifo bash -c 'exec "$@" <>"$0"' "$VUS_T/in" "$VUS_BIN" "${EAL[@]}" \
    --file-prefix "$VUS_PREFIX-fifo" -- -i --vhost-user "$VUS_T/f.sock,queues=1"
exec {IN}<>"$VUS_T/in"
echo "show port info 0" >&"$IN"
wait_for_log "${VUS_LOG[fifo]}" '^Name: vhost0$' "$TO" || fail "-i on a FIFO: no answer"
stop_bg fifo 10
[ "${VUS_STATUS[fifo]}" -eq 0 ] || fail "-i: exit status ${VUS_STATUS[fifo]} on SIGTERM"

note "PASS cli"
exit 0
