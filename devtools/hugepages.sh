#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Reserve 2 MiB hugepages and mount hugetlbfs, for DPDK processes in tests
# and benchmarks. Never fails: when hugepages cannot be had (not root, no
# hugetlbfs, /proc/sys read-only, memory too fragmented) it says so and
# callers fall back to EAL --no-huge.
#
# Usage: devtools/hugepages.sh [COUNT]      reserve at least COUNT (default 512)
#        devtools/hugepages.sh --status     report only, change nothing
#
# Human-readable lines go to stdout prefixed "hugepages: ". The LAST line of
# stdout is machine-readable and safe to eval:
#   HUGEPAGES=<free 2 MiB pages> HUGEPAGE_MOUNT=<hugetlbfs mount or empty>
# HUGEPAGES=0 means: use --no-huge. Example:
#   eval "$(devtools/hugepages.sh 256 | tail -n1)"
#   [ "$HUGEPAGES" -gt 0 ] && eal_mem="--single-file-segments" || eal_mem="--no-huge -m 256"
# The count is never lowered: pages reserved by others stay reserved.

set -u

MNT=/dev/hugepages
SYSFS=/sys/kernel/mm/hugepages/hugepages-2048kB
want=512
status_only=false

case "${1:-}" in
--status) status_only=true ;;
'') ;;
*[!0-9]*)
    echo "usage: $0 [COUNT|--status]" >&2
    exit 2
    ;;
*) want=$1 ;;
esac

say() { echo "hugepages: $*"; }

result() {
    echo "HUGEPAGES=$1 HUGEPAGE_MOUNT=$2"
    exit 0
}

fallback() {
    say "$*"
    say "hugepages unavailable, falling back to --no-huge"
    result 0 ""
}

# The mount point of a hugetlbfs with 2 MiB pages, or nothing.
find_mount() {
    awk '$3 == "hugetlbfs" && ($4 !~ /pagesize=/ || $4 ~ /pagesize=2M/) { print $2; exit }' \
        /proc/mounts 2>/dev/null
}

[ -d "$SYSFS" ] || fallback "kernel has no 2 MiB hugepage support ($SYSFS missing)"

total=$(cat "$SYSFS/nr_hugepages" 2>/dev/null || echo 0)
free=$(cat "$SYSFS/free_hugepages" 2>/dev/null || echo 0)
mnt=$(find_mount)

if $status_only; then
    say "2 MiB pages: total $total, free $free, mount ${mnt:-none}"
    if [ "$free" -gt 0 ] && [ -n "$mnt" ]; then
        result "$free" "$mnt"
    fi
    fallback "no free hugepages or no hugetlbfs mount"
fi

[ "$(id -u)" -eq 0 ] || fallback "not root: cannot reserve pages or mount hugetlbfs"

if [ "$free" -lt "$want" ]; then
    target=$((total + want - free))
    # The 2 MiB pool in sysfs; /proc/sys/vm/nr_hugepages is the same pool when 2 MiB is the
    # default page size, and is sometimes writable when sysfs is not.
    if echo "$target" >"$SYSFS/nr_hugepages" 2>/dev/null ||
        { grep -q '^Hugepagesize: *2048 kB' /proc/meminfo &&
            echo "$target" >/proc/sys/vm/nr_hugepages 2>/dev/null; }; then
        total=$(cat "$SYSFS/nr_hugepages")
        free=$(cat "$SYSFS/free_hugepages")
        say "asked the kernel for $target pages in total: got $total, $free free"
    else
        say "cannot write $SYSFS/nr_hugepages nor /proc/sys/vm/nr_hugepages (read-only?)"
    fi
else
    say "$free free pages already reserved (wanted $want): nothing to reserve"
fi

[ "$free" -gt 0 ] || fallback "the kernel gave no free 2 MiB pages"

if [ -z "$mnt" ]; then
    mkdir -p "$MNT" 2>/dev/null
    if mount -t hugetlbfs -o pagesize=2M nodev "$MNT" 2>/dev/null; then
        say "mounted hugetlbfs at $MNT"
        mnt=$MNT
    else
        fallback "cannot mount hugetlbfs at $MNT"
    fi
else
    say "hugetlbfs already mounted at $mnt"
fi

[ "$free" -ge "$want" ] || say "warning: only $free of $want pages free"
say "$free free 2 MiB pages at $mnt"
result "$free" "$mnt"
