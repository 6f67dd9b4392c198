# shellcheck shell=bash
# lib_qemu.sh -- QEMU guest helpers for vuswitch's system tests. Source lib.sh first.
#
#   need_qemu_or_skip              exit 77 if qemu-system-x86_64 is missing
#   guest_image                    build (or reuse) the guest from tests/guest/mkguest.sh into
#                                  ${VUS_GUEST_DIR:-$VUS_BUILD_DIR/guest}; a build error fails
#   start_guest NAME SOCKET IP MAC [CHARDEV_OPTS]
#                                  boot a guest whose virtio-net NIC is a vhost-user netdev on
#                                  SOCKET (QEMU is the client unless CHARDEV_OPTS has server=on;
#                                  e.g. "reconnect=1" or "server=on,wait=off"). SOCKET "-" means
#                                  no NIC. IP like 10.0.0.1/24 (/24 added if missing), MAC like
#                                  52:54:00:00:00:01. Optional environment at call time:
#                                    VUS_GUEST_CMDS        space-separated vus.cmd= values
#                                                          (ping:IP, b64:...)
#                                    VUS_GUEST_NETDEV_OPTS extra -netdev options (queues=2)
#                                    VUS_GUEST_DEVICE_OPTS extra virtio-net-pci options
#                                                          (packed=on, mrg_rxbuf=off, mq=on)
#                                    VUS_GUEST_APPEND      extra kernel command line
#                                    VUS_GUEST_MEM_MB      guest RAM (default 256)
#                                    VUS_GUEST_QEMU_ARGS   extra QEMU arguments (word-split)
#                                  QEMU's output goes to $VUS_T/NAME.log (NAME is the process name
#                                  for kill_bg/stop_bg), the guest console to
#                                  $VUS_T/NAME.serial.log (GUEST_SERIAL[NAME]); a QMP socket is at
#                                  $VUS_T/NAME.qmp.
#   guest_wait_ready NAME [TIMEOUT_S]   wait for VUS-GUEST-READY (default 90 s); fails the test on
#                                  VUS-GUEST-FAILED, a kernel panic, QEMU's exit or its
#                                  "falling back on userspace virtio"
#   guest_features NAME            the guest's VUS-GUEST-FEATURES string (64 chars, bit 0 first)
#   guest_run NAME CMD [TIMEOUT_S] run CMD (one line of busybox sh) in the guest, print its
#                                  output, return its exit status (124 on timeout)
#   guest_check NAME               fail if QEMU died or fell back to userspace virtio
#   guest_boot_count NAME          how many times this guest's console shows a boot
#   qemu_messages NAME             QEMU's stderr lines, less the expected ones
#   check_guest_features ACKED_HEX GUEST_STRING
#                                  fail unless the SET_FEATURES value the back-end logged matches
#                                  the guest driver's features, modulo bits 26/30 and the bits
#                                  QEMU's virtio-net keeps for itself (VUS_QEMU_OWN_BITS)
#   VUS_QEMU                       QEMU binary (default qemu-system-x86_64)
#
# The command channel: the serial port is a QEMU pipe chardev on $VUS_T/NAME.serial.{in,out}.
# guest_run writes `VUSCMD <id> <cmd>` into .in (held open read-write by this shell, so it never
# blocks); a background `cat .out` appends the console to the serial log, where guest_run waits
# for `VUS-END <id> rc=N` and prints what was between `VUS-BEGIN <id>` and it. See
# tests/guest/mkguest.sh for the guest side.

declare -gA GUEST_SERIAL=() GUEST_FD=() GUEST_QLOG=()
VUS_GUEST_SEQ=0
VUS_QEMU=${VUS_QEMU:-qemu-system-x86_64}

need_qemu_or_skip() {
    command -v "$VUS_QEMU" >/dev/null 2>&1 || skip "missing $VUS_QEMU"
}

_vus_lib_dir() { cd "$(dirname "${BASH_SOURCE[0]}")" && pwd; }

guest_image() {
    VUS_GUEST_DIR=${VUS_GUEST_DIR:-$VUS_BUILD_DIR/guest}
    local mk
    mk="$(_vus_lib_dir)/../guest/mkguest.sh"
    bash "$mk" "$VUS_GUEST_DIR" >"$VUS_T/mkguest.log" 2>&1 || {
        VUS_ALL_LOGS+=("$VUS_T/mkguest.log")
        fail "building the guest image with $mk failed"
    }
    if [ ! -s "$VUS_GUEST_DIR/vmlinuz" ] || [ ! -s "$VUS_GUEST_DIR/initrd.gz" ]; then
        fail "guest image missing in $VUS_GUEST_DIR"
    fi
}

_guest_hook() {
    local name
    for name in "${!GUEST_QLOG[@]}"; do
        if grep -qs 'falling back on userspace virtio' "${GUEST_QLOG[$name]}"; then
            fail "QEMU $name: falling back on userspace virtio (guest memory not shared?)"
        fi
    done
}
VUS_WAIT_HOOKS+=(_guest_hook)

start_guest() {
    local name=$1 sock=$2 ip=$3 mac=$4 chopts=${5:-}
    [ -n "${VUS_GUEST_DIR:-}" ] || guest_image
    case "$ip" in */*) ;; ?*) ip="$ip/24" ;; esac
    local mem=${VUS_GUEST_MEM_MB:-256}
    # no_timer_check: under a loaded TCG host the kernel's IO-APIC timer
    # check can fail and panic the boot.
    local append="console=ttyS0 panic=-1 loglevel=4 edd=off no_timer_check vus.hostname=$name"
    [ -n "$ip" ] && append+=" vus.ip=$ip"
    [ "$sock" = - ] && append+=" vus.nonet=1"
    local c
    for c in ${VUS_GUEST_CMDS:-}; do append+=" vus.cmd=$c"; done
    [ -n "${VUS_GUEST_APPEND:-}" ] && append+=" $VUS_GUEST_APPEND"

    # shellcheck disable=SC2054  # commas belong to QEMU's option syntax
    local -a args=(
        -name "$name"
        -machine q35,accel=tcg -cpu max -m "$mem" -smp 1
        -display none -vga none -nodefaults -no-reboot
        -object "memory-backend-memfd,id=mem,size=${mem}M,share=on" -numa node,memdev=mem
        -kernel "$VUS_GUEST_DIR/vmlinuz" -initrd "$VUS_GUEST_DIR/initrd.gz" -append "$append"
        -chardev "pipe,id=ser0,path=$VUS_T/$name.serial" -serial chardev:ser0
        -qmp "unix:$VUS_T/$name.qmp,server=on,wait=off"
    )
    [ -f /usr/share/qemu/qboot.rom ] && args+=(-bios /usr/share/qemu/qboot.rom)
    if [ "$sock" != - ]; then
        local dev="virtio-net-pci,netdev=n0,mac=$mac,vectors=0"
        [ -n "${VUS_GUEST_DEVICE_OPTS:-}" ] && dev+=",$VUS_GUEST_DEVICE_OPTS"
        local nd="vhost-user,id=n0,chardev=c0"
        [ -n "${VUS_GUEST_NETDEV_OPTS:-}" ] && nd+=",$VUS_GUEST_NETDEV_OPTS"
        args+=(-chardev "socket,id=c0,path=$sock${chopts:+,$chopts}" -netdev "$nd" -device "$dev")
    fi
    # shellcheck disable=SC2206
    [ -n "${VUS_GUEST_QEMU_ARGS:-}" ] && args+=($VUS_GUEST_QEMU_ARGS)

    # Serial FIFOs and the console logger (one per QEMU instance: cat ends when QEMU exits).
    local in="$VUS_T/$name.serial.in" out="$VUS_T/$name.serial.out"
    [ -p "$in" ] || mkfifo "$in"
    [ -p "$out" ] || mkfifo "$out"
    if [ -z "${GUEST_FD[$name]:-}" ]; then
        local fd
        exec {fd}<>"$in"
        GUEST_FD[$name]=$fd
    fi
    GUEST_SERIAL[$name]="$VUS_T/$name.serial.log"
    VUS_BG_LOG="${GUEST_SERIAL[$name]}" start_bg "$name-console" cat "$out"
    unwatch_bg "$name-console"

    start_bg "$name" "$VUS_QEMU" "${args[@]}"
    GUEST_QLOG[$name]=${VUS_LOG[$name]}
}

guest_check() {
    local name=$1
    _guest_hook
    if ! is_alive "$name"; then
        unwatch_bg "$name"
        _reap "$name"
        fail "QEMU $name exited: $(_describe_status "${VUS_STATUS[$name]}")"
    fi
}

guest_boot_count() { count_log "${GUEST_SERIAL[$1]}" '^VUS-GUEST-BOOT'; }

guest_wait_ready() {
    local name=$1 timeout=${2:-90}
    local log=${GUEST_SERIAL[$name]} deadline=$((SECONDS + timeout))
    while :; do
        [ "$(count_log "$log" 'VUS-GUEST-READY')" -ge 1 ] && return 0
        if grep -qsE 'VUS-GUEST-FAILED|Kernel panic' "$log"; then
            fail "guest $name failed to boot: $(grep -aE 'VUS-GUEST-FAILED|Kernel panic' "$log" | head -n1 | tr -d '\r')"
        fi
        guest_check "$name"
        _check_watched
        [ $SECONDS -lt $deadline ] || fail "guest $name not ready after ${timeout}s"
        sleep 0.2
    done
}

guest_features() {
    tr -d '\r' <"${GUEST_SERIAL[$1]}" | sed -n 's/^VUS-GUEST-FEATURES \([01]*\)$/\1/p' | tail -n1
}

guest_run() {
    local name=$1 cmd=$2 timeout=${3:-30}
    local log=${GUEST_SERIAL[$name]} fd=${GUEST_FD[$name]:-}
    [ -n "$fd" ] || fail "guest_run: unknown guest $name"
    case "$cmd" in *$'\n'*) fail "guest_run: command must be one line" ;; esac
    local deadline=$((SECONDS + timeout))
    # The command loop starts after the ready marker and any vus.cmd= commands.
    while [ "$(count_log "$log" '^VUS-GUEST-SHELL')" -lt 1 ]; do
        guest_check "$name"
        if [ $SECONDS -ge $deadline ]; then
            echo "guest_run: $name has no command shell after ${timeout}s" >&2
            return 124
        fi
        sleep 0.2
    done
    VUS_GUEST_SEQ=$((VUS_GUEST_SEQ + 1))
    # $BASHPID and $RANDOM: a call inside $(...) cannot reuse an earlier id.
    local id="c${BASHPID}x${VUS_GUEST_SEQ}r$RANDOM"
    printf 'VUSCMD %s %s\n' "$id" "$cmd" >&"$fd"
    while ! tr -d '\r' <"$log" | grep -qE "VUS-END $id rc=[0-9]+"; do
        guest_check "$name"
        if [ $SECONDS -ge $deadline ]; then
            echo "guest_run: timeout after ${timeout}s: $name: $cmd" >&2
            tr -d '\r' <"$log" | sed -n "/VUS-BEGIN $id\$/,\$p" | tail -n +2
            return 124
        fi
        sleep 0.1
    done
    tr -d '\r' <"$log" | sed -n "/VUS-BEGIN $id\$/,/VUS-END $id rc=/p" | sed '1d;$d'
    local rc
    rc=$(tr -d '\r' <"$log" | sed -n "s/.*VUS-END $id rc=\([0-9]*\).*/\1/p" | tail -n1)
    return "${rc:-1}"
}

# --- feature bits ----------------------------------------------------------------------------

# Bits QEMU's virtio-net implements itself for a vhost-user netdev: it offers them to the guest
# whatever the back-end says and never passes them on in SET_FEATURES (they are not in its
# vhost-user feature mask). CTRL_GUEST_OFFLOADS 2, MAC 5, STATUS 16, CTRL_VQ 17, CTRL_RX 18,
# CTRL_VLAN 19, CTRL_RX_EXTRA 20, GUEST_ANNOUNCE 21, CTRL_MAC_ADDR 23. Measured with QEMU 7.2 and
# Linux 6.1: guest minus SET_FEATURES = {2, 5, 16, 17, 18, 19, 23}.
VUS_QEMU_OWN_BITS="2 5 16 17 18 19 20 21 23"
# Bits only the vhost-user transport uses, never seen by the guest: LOG_ALL 26 (only while
# migrating), VHOST_USER_F_PROTOCOL_FEATURES 30.
VUS_TRANSPORT_BITS="26 30"

vus_feature_name() {
    case $1 in
        0) echo CSUM ;; 1) echo GUEST_CSUM ;; 2) echo CTRL_GUEST_OFFLOADS ;; 3) echo MTU ;;
        5) echo MAC ;; 6) echo GSO ;; 7) echo GUEST_TSO4 ;; 8) echo GUEST_TSO6 ;;
        9) echo GUEST_ECN ;; 10) echo GUEST_UFO ;; 11) echo HOST_TSO4 ;; 12) echo HOST_TSO6 ;;
        13) echo HOST_ECN ;; 14) echo HOST_UFO ;; 15) echo MRG_RXBUF ;; 16) echo STATUS ;;
        17) echo CTRL_VQ ;; 18) echo CTRL_RX ;; 19) echo CTRL_VLAN ;; 20) echo CTRL_RX_EXTRA ;;
        21) echo GUEST_ANNOUNCE ;; 22) echo MQ ;; 23) echo CTRL_MAC_ADDR ;;
        24) echo NOTIFY_ON_EMPTY ;; 26) echo LOG_ALL ;; 27) echo ANY_LAYOUT ;;
        28) echo INDIRECT_DESC ;; 29) echo EVENT_IDX ;; 30) echo PROTOCOL_FEATURES ;;
        32) echo VERSION_1 ;; 33) echo ACCESS_PLATFORM ;; 34) echo RING_PACKED ;;
        35) echo IN_ORDER ;; 36) echo ORDER_PLATFORM ;; 37) echo SR_IOV ;;
        38) echo NOTIFICATION_DATA ;; 40) echo RING_RESET ;; 56) echo HOST_USO ;;
        57) echo HASH_REPORT ;; 60) echo RSS ;; *) echo "bit$1" ;;
    esac
}

# vus_bits_str MASK -> "NAME(bit) ..."
vus_bits_str() {
    local m=$1 i out=
    for ((i = 0; i < 64; i++)); do
        (((m >> i) & 1)) && out+="$(vus_feature_name $i)($i) "
    done
    echo "${out:-none}"
}

# vus_features_from_string 0101... -> decimal 64-bit mask (bit 0 first in the string)
vus_features_from_string() {
    local s=$1 i m=0
    for ((i = 0; i < ${#s}; i++)); do
        [ "${s:i:1}" = 1 ] && m=$((m | (1 << i)))
    done
    echo "$m"
}

# check_guest_features ACKED_HEX GUEST_STRING: fails the test unless the value the back-end saw
# in SET_FEATURES matches what the guest driver negotiated, modulo the transport bits (26, 30)
# and the bits QEMU keeps for itself. Prints the comparison.
check_guest_features() {
    local acked=$((16#${1#0x})) gstr=$2 b
    [ ${#gstr} -ge 32 ] || fail "bad guest features string '$gstr'"
    local guest own=0 transport=0
    guest=$(vus_features_from_string "$gstr")
    for b in $VUS_QEMU_OWN_BITS; do own=$((own | (1 << b))); done
    for b in $VUS_TRANSPORT_BITS; do transport=$((transport | (1 << b))); done
    local dev=$((acked & ~transport))
    printf 'features: back-end acked 0x%016x, guest 0x%016x\n' "$acked" "$guest"
    echo "  acked, guest-visible part: $(vus_bits_str "$dev")"
    echo "  acked, transport bits:     $(vus_bits_str $((acked & transport)))"
    echo "  guest only (kept by QEMU): $(vus_bits_str $((guest & ~dev)))"
    if ((dev & ~guest)); then
        fail "back-end acked bits the guest driver did not negotiate: $(vus_bits_str $((dev & ~guest)))"
    fi
    if ((guest & ~dev & ~own)); then
        fail "guest negotiated bits missing from SET_FEATURES: $(vus_bits_str $((guest & ~dev & ~own)))"
    fi
    if ((guest & transport)); then
        fail "guest sees transport-only bits: $(vus_bits_str $((guest & transport)))"
    fi
}

# qemu_messages NAME: QEMU's own stderr lines for this guest, less the expected ones (our start
# line, "terminating on signal", "waiting for connection").
qemu_messages() {
    tr -d '\r' <"${GUEST_QLOG[$1]}" |
        grep -vE '^# |terminating on signal|QEMU waiting for connection' || true
}
