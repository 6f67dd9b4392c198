# shellcheck shell=bash
# shellcheck disable=SC2034  # variables are used by the scripts that source this file
# lib.sh -- shared helpers for vuswitch's system tests (source it; bash only).
#
# Exit codes follow meson: 0 pass, 77 skip, 1 fail.
#
#   vus_test_init NAME BUILD_DIR   temp dir $VUS_T (/tmp/vus-NAME.XXXXXX), EAL file prefix
#                                  $VUS_PREFIX, cleanup traps, $VUS_BIN (the vuswitch binary)
#   need_root_or_skip              exit 77 unless running as root
#   need_cmd_or_skip CMD...        exit 77 if a command is missing
#   setup_hugepages N              make N free 2 MiB pages (as root, raising nr_hugepages) and
#                                  mount hugetlbfs on /dev/hugepages; on failure print "hugepages
#                                  unavailable: falling back to --no-huge" and set VUS_NO_HUGE=1;
#                                  either way the array VUS_EAL_MEM holds the EAL memory args
#                                  (--no-huge -m ${VUS_NOHUGE_MB:-256} on fallback)
#   start_bg NAME CMD...           run CMD in the background under `stdbuf -oL -eL`, stdout and
#                                  stderr to $VUS_T/NAME.log (NAME.2.log, ... on restart);
#                                  sets VUS_PID[NAME], VUS_LOG[NAME]; NAME is watched: if it dies
#                                  while wait_for_log polls, the test fails (see unwatch_bg)
#   start_vuswitch NAME ARGS...    start_bg of $VUS_BIN with the standard EAL args
#                                  (-l ${VUS_LCORES:-0} --no-pci --file-prefix $VUS_PREFIX-NAME
#                                  --no-huge -m ${VUS_MEM_MB:-64} --log-level=vus.*:debug
#                                  $VUS_EAL_EXTRA) followed by `-- ARGS...`
#   is_alive NAME                  true if the process is running (not a zombie)
#   unwatch_bg NAME                stop failing the test if NAME exits
#   kill_bg NAME [SIG]             send SIG (default KILL) and reap; status in VUS_STATUS[NAME]
#   stop_bg NAME [TIMEOUT_S]       SIGTERM, wait up to TIMEOUT_S (default 10), then SIGKILL;
#                                  returns (and stores in VUS_STATUS[NAME]) the exit status
#   wait_for_log FILE REGEX TIMEOUT_S [COUNT]
#                                  poll until FILE has COUNT (default 1) lines matching the
#                                  extended REGEX; returns 1 on timeout; fails the test at once if
#                                  a watched process died meanwhile
#   count_log FILE REGEX           number of matching lines
#   wait_for_log_after FILE ANCHOR_RE N REGEX TIMEOUT_S / count_log_after FILE ANCHOR_RE N REGEX
#                                  the same, counting only lines after the Nth ANCHOR_RE line
#   re_escape STRING               STRING with ERE metacharacters escaped
#   port_re N PATH TEXT            ERE matching a vuswitch port log line (any prefix before "port")
#   skip MSG / fail MSG            exit 77 / print MSG and the tail of every log, exit 1
#   note MSG                       progress line on stderr with elapsed seconds
#
# Environment: VUS_KEEP_TMP=1 keeps the temp dir; VUS_TAIL=N lines of each log shown on failure.

declare -gA VUS_PID=() VUS_LOG=() VUS_STATUS=() VUS_WATCHED=()
declare -ga VUS_ALL_PIDS=() VUS_ALL_LOGS=() VUS_WAIT_HOOKS=() VUS_CLEANUP_HOOKS=()
VUS_T=
VUS_PREFIX=
VUS_NO_HUGE=1
VUS_EAL_MEM=(--no-huge -m 64)
VUS_T0=$SECONDS

note() { echo "[$(printf '%4d' $((SECONDS - VUS_T0)))s] $*" >&2; }

skip() {
    echo "SKIP: $*" >&2
    exit 77
}

_vus_tail_logs() {
    local f
    for f in "${VUS_ALL_LOGS[@]}"; do
        [ -f "$f" ] || continue
        echo "----- tail of $f -----" >&2
        tail -n "${VUS_TAIL:-40}" "$f" | tr -d '\r' >&2
    done
    [ ${#VUS_ALL_LOGS[@]} -eq 0 ] || echo "----- end of logs -----" >&2
}

fail() {
    trap - ERR
    echo "FAIL: $*" >&2
    _vus_tail_logs
    [ -n "$VUS_T" ] && echo "(logs in $VUS_T are removed unless VUS_KEEP_TMP=1)" >&2
    exit 1
}

need_root_or_skip() {
    [ "$(id -u)" -eq 0 ] || skip "needs root"
}

need_cmd_or_skip() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || skip "missing command: $c"
    done
}

# --- processes -------------------------------------------------------------------------------

is_alive() {
    local pid=${VUS_PID[$1]:-} st
    [ -n "$pid" ] || return 1
    st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

_pid_alive() {
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

start_bg() {
    local name=$1; shift
    local log=${VUS_BG_LOG:-}
    if [ -z "$log" ]; then
        log="$VUS_T/$name.log"
        local n=2
        while [ -e "$log" ]; do log="$VUS_T/$name.$n.log"; n=$((n + 1)); done
    fi
    if [ -n "${VUS_PID[$name]:-}" ] && is_alive "$name"; then
        fail "start_bg: $name is already running (pid ${VUS_PID[$name]})"
    fi
    echo "# $(date '+%F %T') started: $*" >>"$log"
    stdbuf -oL -eL "$@" >>"$log" 2>&1 </dev/null &
    local pid=$!
    VUS_PID[$name]=$pid
    VUS_LOG[$name]=$log
    VUS_WATCHED[$name]=1
    unset 'VUS_STATUS[$name]'
    VUS_ALL_PIDS+=("$pid")
    VUS_ALL_LOGS+=("$log")
}

unwatch_bg() { unset 'VUS_WATCHED[$1]'; }

_reap() {
    local name=$1 pid=${VUS_PID[$1]} rc=0
    wait "$pid" 2>/dev/null || rc=$?
    VUS_STATUS[$name]=$rc
    return "$rc"
}

# bash reports "Killed"/"Terminated" for signalled children when it notices their death; the
# kills below are intentional, so their stderr is silenced (own messages go to fd 3).
kill_bg() {
    [ -n "${VUS_PID[$1]:-}" ] || fail "kill_bg: unknown process $1"
    _kill_bg "$@" 3>&2 2>/dev/null
}

_kill_bg() {
    local name=$1 sig=${2:-KILL} pid=${VUS_PID[$1]}
    unwatch_bg "$name"
    kill "-$sig" "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 100; i++)); do _pid_alive "$pid" || break; sleep 0.1; done
    _reap "$name"
}

stop_bg() {
    [ -n "${VUS_PID[$1]:-}" ] || fail "stop_bg: unknown process $1"
    _stop_bg "$@" 3>&2 2>/dev/null
}

_stop_bg() {
    local name=$1 timeout=${2:-10} pid=${VUS_PID[$1]}
    unwatch_bg "$name"
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < timeout * 10; i++)); do _pid_alive "$pid" || break; sleep 0.1; done
    if _pid_alive "$pid"; then
        echo "stop_bg: $name (pid $pid) ignored SIGTERM for ${timeout}s, sending SIGKILL" >&3
        kill -KILL "$pid" 2>/dev/null || true
        _reap "$name"
        VUS_STATUS[$name]=124
        return 124
    fi
    _reap "$name"
}

_describe_status() {
    local rc=$1
    if [ "$rc" -gt 128 ]; then
        echo "killed by signal $((rc - 128)) ($(kill -l $((rc - 128)) 2>/dev/null || echo '?'))"
    else
        echo "exit status $rc"
    fi
}

_check_watched() {
    local name
    for name in "${!VUS_WATCHED[@]}"; do
        if ! is_alive "$name"; then
            unwatch_bg "$name"
            _reap "$name"
            fail "$name (pid ${VUS_PID[$name]}) died unexpectedly: $(_describe_status "${VUS_STATUS[$name]}")"
        fi
    done
    local h
    for h in "${VUS_WAIT_HOOKS[@]}"; do "$h"; done
}

# --- logs ------------------------------------------------------------------------------------

count_log() {
    local n
    n=$(tr -d '\r' <"$1" 2>/dev/null | grep -cE -- "$2") || true
    echo "${n:-0}"
}

wait_for_log() {
    local file=$1 re=$2 timeout=$3 want=${4:-1}
    local deadline=$((SECONDS + timeout))
    while :; do
        if [ "$(count_log "$file" "$re")" -ge "$want" ]; then
            return 0
        fi
        _check_watched
        [ $SECONDS -lt $deadline ] || break
        sleep 0.2
    done
    echo "wait_for_log: timeout after ${timeout}s waiting for $want x /$re/ in $file" >&2
    return 1
}

# count_log_after FILE ANCHOR_RE N REGEX: lines matching REGEX after the Nth ANCHOR_RE line
count_log_after() {
    local line n
    line=$(tr -d '\r' <"$1" 2>/dev/null | grep -nE -- "$2" | sed -n "${3}p" | cut -d: -f1)
    [ -n "$line" ] || { echo 0; return; }
    n=$(tr -d '\r' <"$1" | tail -n "+$line" | grep -cE -- "$4") || true
    echo "${n:-0}"
}

# wait_for_log_after FILE ANCHOR_RE N REGEX TIMEOUT_S: like wait_for_log, counting only lines
# after the Nth line that matches ANCHOR_RE (e.g. rings running after the 2nd connection)
wait_for_log_after() {
    local file=$1 anchor=$2 n=$3 re=$4 timeout=$5
    local deadline=$((SECONDS + timeout))
    while :; do
        [ "$(count_log_after "$file" "$anchor" "$n" "$re")" -ge 1 ] && return 0
        _check_watched
        [ $SECONDS -lt $deadline ] || break
        sleep 0.2
    done
    echo "wait_for_log_after: timeout after ${timeout}s waiting for /$re/ after $n x /$anchor/ in $file" >&2
    return 1
}

re_escape() { printf '%s' "$1" | sed -e 's/[][\\.*^$+?(){}|]/\\&/g'; }

port_re() {
    local n=$1 path=$2 text=$3
    printf 'port %s \(%s\): %s' "$n" "$(re_escape "$path")" "$text"
}

# --- hugepages -------------------------------------------------------------------------------

setup_hugepages() {
    local want=${1:-256} ok=1
    local hp=/sys/kernel/mm/hugepages/hugepages-2048kB
    if [ "$(id -u)" -ne 0 ] || [ ! -d "$hp" ]; then
        ok=0
    else
        # Count free pages: other processes may hold some of the reserved ones.
        local total free
        total=$(cat "$hp/nr_hugepages" 2>/dev/null || echo 0)
        free=$(cat "$hp/free_hugepages" 2>/dev/null || echo 0)
        if [ "$free" -lt "$want" ]; then
            echo $((total + want - free)) >"$hp/nr_hugepages" 2>/dev/null || ok=0
            free=$(cat "$hp/free_hugepages" 2>/dev/null || echo 0)
            [ "$free" -ge "$want" ] || ok=0
        fi
        if [ $ok -eq 1 ] && ! grep -qs ' /dev/hugepages hugetlbfs ' /proc/mounts; then
            mkdir -p /dev/hugepages
            mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null || ok=0
        fi
    fi
    if [ $ok -eq 1 ]; then
        VUS_NO_HUGE=0
        VUS_EAL_MEM=(--huge-dir /dev/hugepages)
    else
        echo "hugepages unavailable: falling back to --no-huge" >&2
        VUS_NO_HUGE=1
        VUS_EAL_MEM=(--no-huge -m "${VUS_NOHUGE_MB:-256}")
    fi
}

# --- vuswitch --------------------------------------------------------------------------------

start_vuswitch() {
    local name=$1; shift
    [ -x "$VUS_BIN" ] || fail "vuswitch binary not found: $VUS_BIN"
    # VUS_EAL_EXTRA: more EAL arguments (word-split), e.g. --vdev net_af_packet0,iface=X
    # shellcheck disable=SC2086
    start_bg "$name" "$VUS_BIN" -l "${VUS_LCORES:-0}" --no-pci --file-prefix "$VUS_PREFIX-$name" \
        --no-huge -m "${VUS_MEM_MB:-64}" '--log-level=vus.*:debug' ${VUS_EAL_EXTRA:-} -- "$@"
}

# --- setup and cleanup -----------------------------------------------------------------------

_vus_cleanup() {
    local rc=$?
    trap - EXIT INT TERM ERR
    _vus_cleanup_body 3>&2 2>/dev/null
    exit "$rc"
}

_vus_cleanup_body() {
    local pid i h any
    for h in "${VUS_CLEANUP_HOOKS[@]}"; do "$h" 2>&3 || true; done
    any=0
    for pid in "${VUS_ALL_PIDS[@]}"; do
        if _pid_alive "$pid"; then kill -TERM "$pid" 2>/dev/null && any=1; fi
    done
    if [ $any -eq 1 ]; then
        for ((i = 0; i < 30; i++)); do
            any=0
            for pid in "${VUS_ALL_PIDS[@]}"; do _pid_alive "$pid" && any=1; done
            [ $any -eq 1 ] || break
            sleep 0.1
        done
        for pid in "${VUS_ALL_PIDS[@]}"; do
            _pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null
        done
    fi
    for pid in "${VUS_ALL_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ -n "$VUS_PREFIX" ]; then
        rm -rf /dev/hugepages/"$VUS_PREFIX"* /var/run/dpdk/"$VUS_PREFIX"* 2>/dev/null
    fi
    if [ -n "$VUS_T" ] && [ -d "$VUS_T" ]; then
        if [ "${VUS_KEEP_TMP:-0}" = 1 ]; then
            echo "kept $VUS_T" >&3
        else
            rm -rf "$VUS_T"
        fi
    fi
}

vus_test_init() {
    local name=$1 build=${2:-}
    [ -n "$build" ] || { echo "usage: $0 BUILD_DIR" >&2; exit 1; }
    VUS_BUILD_DIR=$(readlink -f "$build")
    VUS_BIN=${VUS_BIN:-$VUS_BUILD_DIR/app/vuswitch/vuswitch}
    VUS_T=$(mktemp -d "/tmp/vus-$name.XXXXXX")
    VUS_PREFIX="vus-$name-$$"
    VUS_T0=$SECONDS
    trap _vus_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}
