#!/bin/bash
# mkguest.sh OUTDIR -- build a tiny Linux test guest for vuswitch's system tests.
#
# Produces OUTDIR/vmlinuz and OUTDIR/initrd.gz (gzip'd cpio, newc format) from Debian packages,
# without installing anything: the current linux-image-<ver>-cloud-amd64 (the version is taken
# from the Depends of the linux-image-cloud-amd64 meta package) and busybox-static are fetched
# with `apt-get download` and unpacked with `dpkg-deb -x` in a temporary directory.
# Idempotent: if both outputs exist and are newer than this script, nothing is done. Concurrent
# callers are serialised with flock on OUTDIR/.lock. `apt-get update` runs only if the first
# `apt-get download` fails.
#
# Guest behaviour (the initrd's /init, busybox sh):
#   * mounts proc, sysfs, devtmpfs, devpts, tmpfs /tmp; all I/O goes to /dev/ttyS0;
#   * prints `VUS-GUEST-BOOT` (once per boot: a test counts it to detect a reboot);
#   * insmods the virtio modules in this order: virtio_ring virtio virtio_pci_modern_dev
#     virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net;
#   * reads the kernel command line:
#       vus.ip=A.B.C.D/LEN   address for eth0 (optional; without it eth0 is only brought up)
#       vus.mac=MAC          MAC for eth0 (optional; normally QEMU's -device mac= is enough)
#       vus.nonet=1          no NIC expected: print the ready marker without eth0
#       vus.cmd=CMD          run after the ready marker; may be repeated, run in order:
#                              ping:IP   ping IP (5 probes), prints `VUS-PING-OK IP` or
#                                        `VUS-PING-FAIL IP`
#                              b64:DATA  base64-encoded shell snippet, run with sh -c
#   * brings up lo and eth0, waits up to 5 s for eth0's operstate to be up and prints
#     `VUS-GUEST-LINK up|down`, then prints `VUS-GUEST-READY` and
#     `VUS-GUEST-FEATURES <64 chars of 0/1>` (/sys/class/net/eth0/device/features, bit 0 first),
#     or `VUS-GUEST-FAILED <reason>` if eth0 never appeared;
#   * then serves a command channel on ttyS0 (echo off, canonical mode, so one line = one
#     command, at most ~4000 bytes, printable characters only):
#       `VUSCMD <id> <shell command>`  runs the command in a subshell with stdin from /dev/null and
#                                      prints `VUS-BEGIN <id>`, its output, `VUS-END <id> rc=<rc>`;
#       any other non-empty line        is run the same way without markers (manual use).
#     Commands may start background jobs (`httpd -p 80 -h /tmp/www &`, `nc -l -p 5000 >f &`);
#     their output also goes to ttyS0. The console log level is 4 (warnings and errors only), so
#     kernel messages may still appear between command output lines.
#
# Host side (tests/system/lib_qemu.sh): the serial port is a QEMU `pipe` chardev
# (`-chardev pipe,id=ser0,path=P -serial chardev:ser0`): the test writes command lines to the FIFO
# P.in and a background `cat P.out` appends the guest's console output to the serial log file.
set -euo pipefail

usage() { echo "usage: $0 OUTDIR" >&2; exit 2; }
[ $# -eq 1 ] || usage
OUTDIR=$1
SELF=$(readlink -f "$0")
mkdir -p "$OUTDIR"
OUTDIR=$(readlink -f "$OUTDIR")

up_to_date() {
    [ -s "$OUTDIR/vmlinuz" ] && [ -s "$OUTDIR/initrd.gz" ] &&
        [ "$OUTDIR/vmlinuz" -nt "$SELF" ] && [ "$OUTDIR/initrd.gz" -nt "$SELF" ]
}

up_to_date && exit 0

exec 9>"$OUTDIR/.lock"
flock 9
# Another caller may have built it while we waited for the lock.
up_to_date && exit 0

for tool in apt-get apt-cache dpkg-deb cpio gzip; do
    command -v "$tool" >/dev/null || { echo "mkguest: missing tool: $tool" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/vus-mkguest.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# apt's download sandbox user must be able to write here.
chmod 0777 "$WORK"

meta=linux-image-cloud-amd64
resolve_kernel_pkg() {
    # Depends of the candidate version of the meta package, e.g. linux-image-6.1.0-56-cloud-amd64
    apt-cache depends "$meta" 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-amd64\)$/\1/p' | head -n1
}

download() {
    (cd "$WORK" && apt-get download "$@") >"$WORK/apt.log" 2>&1
}

kpkg=$(resolve_kernel_pkg || true)
if [ -z "$kpkg" ] || ! download "$kpkg" busybox-static; then
    echo "mkguest: apt-get download failed or package unknown; running apt-get update" >&2
    apt-get update >"$WORK/apt-update.log" 2>&1 || { cat "$WORK/apt-update.log" >&2; exit 1; }
    kpkg=$(resolve_kernel_pkg || true)
    [ -n "$kpkg" ] || { echo "mkguest: cannot resolve the Depends of $meta" >&2; exit 1; }
    download "$kpkg" busybox-static || { cat "$WORK/apt.log" >&2; exit 1; }
fi
echo "mkguest: kernel package $kpkg" >&2

mkdir "$WORK/x"
for deb in "$WORK"/*.deb; do
    dpkg-deb -x "$deb" "$WORK/x"
done

vmlinuz=$(find "$WORK/x/boot" -maxdepth 1 -name 'vmlinuz-*' -print -quit 2>/dev/null)
[ -n "$vmlinuz" ] || { echo "mkguest: no vmlinuz in $kpkg" >&2; exit 1; }
kver=${vmlinuz##*/vmlinuz-}
moddir="$WORK/x/lib/modules/$kver"
[ -d "$moddir" ] || moddir="$WORK/x/usr/lib/modules/$kver"
busybox="$WORK/x/bin/busybox"
[ -x "$busybox" ] || busybox="$WORK/x/usr/bin/busybox"
[ -x "$busybox" ] || { echo "mkguest: no busybox in busybox-static" >&2; exit 1; }

# ---- initramfs tree -------------------------------------------------------------------------
R="$WORK/root"
mkdir -p "$R"/{bin,sbin,dev,proc,sys,tmp,run,etc,root,lib/modules,usr/bin,usr/sbin,var/log}
cp "$busybox" "$R/bin/busybox"
for applet in $("$R/bin/busybox" --list); do
    [ "$applet" = busybox ] && continue
    ln -sf busybox "$R/bin/$applet"
done
# A console node lets the kernel give /init stdio before devtmpfs is mounted (root only).
mknod -m 600 "$R/dev/console" c 5 1 2>/dev/null || true
mknod -m 666 "$R/dev/null" c 1 3 2>/dev/null || true

: >"$R/etc/vus-modules"
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
         failover net_failover virtio_net; do
    f=$(find "$moddir" \( -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" \
        -o -name "$m.ko.gz" \) -print -quit)
    if [ -z "$f" ]; then
        # Not shipped as a module: assume it is built into this kernel.
        echo "mkguest: module $m not found, assuming built in" >&2
        continue
    fi
    case "$f" in
        *.ko.xz)  xz -dc "$f" >"$R/lib/modules/$m.ko" ;;
        *.ko.zst) zstd -qdc "$f" >"$R/lib/modules/$m.ko" ;;
        *.ko.gz)  gzip -dc "$f" >"$R/lib/modules/$m.ko" ;;
        *)        cp "$f" "$R/lib/modules/$m.ko" ;;
    esac
    echo "$m" >>"$R/etc/vus-modules"
done
echo "$kver" >"$R/etc/vus-kernel-version"

cat >"$R/init" <<'EOF_INIT'
#!/bin/sh
# vuswitch test guest init (generated by tests/guest/mkguest.sh; see there for the protocol).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
exec </dev/ttyS0 >/dev/ttyS0 2>&1
echo 4 >/proc/sys/kernel/printk

echo "VUS-GUEST-BOOT kernel $(cat /etc/vus-kernel-version)"

while read -r m; do
    [ -n "$m" ] || continue
    insmod "/lib/modules/$m.ko" || echo "VUS-GUEST-WARN insmod $m failed"
done </etc/vus-modules

VUS_IP= VUS_MAC= VUS_CMDS= VUS_NONET=
for w in $(cat /proc/cmdline); do
    case "$w" in
        vus.ip=*)  VUS_IP=${w#vus.ip=} ;;
        vus.mac=*) VUS_MAC=${w#vus.mac=} ;;
        vus.cmd=*) VUS_CMDS="$VUS_CMDS ${w#vus.cmd=}" ;;
        vus.hostname=*) hostname "${w#vus.hostname=}" ;;
        vus.nonet=1) VUS_NONET=1 ;;
    esac
done

ip link set lo up
n=0
while [ -z "$VUS_NONET" ] && [ ! -e /sys/class/net/eth0 ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
if [ -e /sys/class/net/eth0 ]; then
    [ -n "$VUS_MAC" ] && ip link set eth0 address "$VUS_MAC"
    ip link set eth0 up
    [ -n "$VUS_IP" ] && ip addr add "$VUS_IP" dev eth0
    # Carrier comes from QEMU; operstate follows about a second later (linkwatch).
    n=0
    while [ "$(cat /sys/class/net/eth0/operstate)" != up ] && [ $n -lt 50 ]; do
        sleep 0.1; n=$((n + 1))
    done
    echo "VUS-GUEST-LINK $(cat /sys/class/net/eth0/operstate)"
    echo "VUS-GUEST-READY"
    echo "VUS-GUEST-FEATURES $(cat /sys/class/net/eth0/device/features)"
    echo "VUS-GUEST-MAC $(cat /sys/class/net/eth0/address)"
elif [ -n "$VUS_NONET" ]; then
    echo "VUS-GUEST-READY"
else
    echo "VUS-GUEST-FAILED no eth0"
fi

for c in $VUS_CMDS; do
    case "$c" in
        ping:*)
            ip=${c#ping:}
            if ping -c 5 -W 2 "$ip"; then echo "VUS-PING-OK $ip"; else echo "VUS-PING-FAIL $ip"; fi
            ;;
        b64:*)
            echo "${c#b64:}" | base64 -d >/tmp/vus-cmd.sh && sh /tmp/vus-cmd.sh </dev/null
            echo "VUS-CMD-DONE rc=$?"
            ;;
        *) echo "VUS-GUEST-WARN unknown vus.cmd $c" ;;
    esac
done

# Command channel on ttyS0.
stty -echo 2>/dev/null
echo "VUS-GUEST-SHELL"
while IFS= read -r line; do
    line=$(printf '%s' "$line" | tr -d '\r')
    case "$line" in
        "VUSCMD "*)
            rest=${line#VUSCMD }
            id=${rest%% *}
            cmd=${rest#"$id"}
            echo "VUS-BEGIN $id"
            ( eval "$cmd" ) </dev/null
            echo "VUS-END $id rc=$?"
            ;;
        "") ;;
        *) ( eval "$line" ) </dev/null ;;
    esac
done
echo "VUS-GUEST-WARN command channel closed, starting sh"
sh
poweroff -f
EOF_INIT
chmod 755 "$R/init"

# ---- outputs --------------------------------------------------------------------------------
(cd "$R" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --owner 0:0 --quiet) |
    gzip -6 >"$WORK/initrd.gz"
cp "$vmlinuz" "$WORK/vmlinuz"
mv -f "$WORK/vmlinuz" "$OUTDIR/vmlinuz"
mv -f "$WORK/initrd.gz" "$OUTDIR/initrd.gz"
echo "mkguest: wrote $OUTDIR/vmlinuz and $OUTDIR/initrd.gz ($kver)" >&2
