#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The test command: install dependencies, build, run every test, summarise.
#
#   1. devtools/install-deps.sh (no apt at all when everything is present);
#   2. as root with CI=true or VUS_HUGEPAGES=N: devtools/hugepages.sh (tests
#      that can use hugepages then also run on them; everything else runs
#      with --no-huge);
#   3. build      meson -Dwerror_ci=true --buildtype=debugoptimized
#                 meson test: every suite (unit + system)
#   4. build-asan meson -Dwerror_ci=true -Db_sanitize=address,undefined
#                 -Db_lundef=false
#                 meson test --suite unit, any sanitizer report fatal
#   5. one line per test case (each googletest case is one; each other test
#      is one), then as the very last line: "N passed, N failed[, N skipped]".
#
# Exit status is non-zero iff a build step or a test case failed.
# meson's own output stays visible above the summary.
#
# Environment:
#   VUS_BUILD_DIR, VUS_ASAN_BUILD_DIR  build directories (build, build-asan)
#   VUS_SKIP_ASAN=1                    skip step 4 (quick local runs)
#   VUS_HUGEPAGES=N                    reserve N 2 MiB pages first (root)
#   VUS_MESON_TEST_ARGS                extra arguments for both `meson test`
#
# Measured from a clean clone on 2 cores: 3.5 min (compile 31 s + ASan compile 144 s,
# tests 30 s) with the unit suites and the two testpmd system tests.

set -u

cd "$(dirname "$0")/.." || exit 1
TOP=$PWD
BUILD=${VUS_BUILD_DIR:-build}
ASAN_BUILD=${VUS_ASAN_BUILD_DIR:-build-asan}
JOBS=${VUS_JOBS:-$(nproc)}
# shellcheck disable=SC2206
EXTRA=(${VUS_MESON_TEST_ARGS:-})

steps_failed=()
runs=()

banner() { printf '\n=== %s ===\n' "$*"; }

step() {
    local name=$1 t0 rc
    shift
    banner "$name: $*"
    t0=$SECONDS
    "$@"
    rc=$?
    echo "--- $name: exit $rc after $((SECONDS - t0)) s"
    [ $rc -eq 0 ] || steps_failed+=("$name (exit $rc)")
    return $rc
}

# setup_build DIR [meson options...]: configure (or reconfigure) DIR.
setup_build() {
    local dir=$1
    shift
    if [ -f "$dir/meson-private/coredata.dat" ]; then
        meson setup --reconfigure "$dir" "$@"
    else
        meson setup "$dir" "$@"
    fi
}

# run_tests LABEL DIR [meson test args...]
run_tests() {
    local label=$1 dir=$2 rc t0
    shift 2
    python3 devtools/test-summary.py clean "$dir"
    banner "$label: meson test${*:+ $*}"
    t0=$SECONDS
    meson test -C "$dir" --print-errorlogs "$@" "${EXTRA[@]}"
    rc=$?
    echo "--- $label: meson test exit $rc after $((SECONDS - t0)) s"
    runs+=("$label=$dir:$rc")
}

T0=$SECONDS
step install-deps bash devtools/install-deps.sh

if [ "$(id -u)" -eq 0 ] && { [ "${CI:-}" = true ] || [ -n "${VUS_HUGEPAGES:-}" ]; }; then
    banner "hugepages"
    bash devtools/hugepages.sh "${VUS_HUGEPAGES:-512}"
fi

# Debug-optimised build with -Werror; all suites.
if step "$BUILD: setup" setup_build "$BUILD" --buildtype=debugoptimized -Dwerror_ci=true &&
    step "$BUILD: compile" ninja -C "$BUILD" -j "$JOBS"; then
    run_tests "$BUILD" "$BUILD"
fi

# ASan + UBSan build; unit suite only, any report is fatal.
if [ "${VUS_SKIP_ASAN:-0}" != 1 ]; then
    if step "$ASAN_BUILD: setup" setup_build "$ASAN_BUILD" --buildtype=debugoptimized \
        -Dwerror_ci=true -Db_sanitize=address,undefined -Db_lundef=false &&
        step "$ASAN_BUILD: compile" ninja -C "$ASAN_BUILD" -j "$JOBS"; then
        export ASAN_OPTIONS=halt_on_error=1:abort_on_error=0:print_stacktrace=1:detect_leaks=1:strict_string_checks=1
        export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
        if [ -f tests/unit/lsan.supp ]; then
            export LSAN_OPTIONS=suppressions=$TOP/tests/unit/lsan.supp:print_suppressions=0
        fi
        run_tests "$ASAN_BUILD" "$ASAN_BUILD" --suite unit --timeout-multiplier 3
    fi
fi

echo
echo "total time: $((SECONDS - T0)) s"
args=()
for s in "${steps_failed[@]}"; do
    args+=(--step-failed "$s")
done
python3 devtools/test-summary.py report "${args[@]}" "${runs[@]}"
