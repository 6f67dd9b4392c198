#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Install everything the build and the tests need on Debian 12.
# Idempotent: when every package is already installed, apt is not touched
# (no network, no root needed). Otherwise runs `apt-get update` once and
# installs the missing packages non-interactively (needs root).
#
# Usage: devtools/install-deps.sh [--check]
#   --check   only report missing packages; exit 1 if any are missing.

set -eu

PACKAGES=(
    build-essential pkg-config meson ninja-build
    libdpdk-dev dpdk-dev libnuma-dev
    libgtest-dev googletest
    python3
    qemu-system-x86 busybox-static
    iproute2 iputils-ping ethtool
    cpio gzip xz-utils
    clang-format
)

missing=()
for p in "${PACKAGES[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#PACKAGES[@]} packages present"
    exit 0
fi

echo "install-deps: missing: ${missing[*]}"
if [ "${1:-}" = --check ]; then
    exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "install-deps: need root to install packages" >&2
        exit 1
    fi
else
    SUDO=()
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${missing[*]}"
