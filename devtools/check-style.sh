#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Style checks for vuswitch. Exit 0 when clean, 1 when a check fails.
#
# Usage: devtools/check-style.sh [--all | BASE] [--fix] [--lines]
#   BASE     git revision to compare with. Default: the merge base with origin/main if that
#            exists, else HEAD~1, else (no history) every file, as with --all.
#            Checked files: those changed since BASE (committed or not) plus untracked ones.
#   --all    check every tracked and untracked (not ignored) file
#   --fix    rewrite the C/C++ files with clang-format instead of failing on them
#   --lines  format check on changed lines only (clang-format-diff), not whole files
#   VERBOSE=1 in the environment prints clang-format's own messages
#
# Checks:
#   1. format: `clang-format --dry-run --Werror` (.clang-format) on C/C++ files under lib/,
#      drivers/, app/, tests/ (*.c *.h *.cc *.hh *.cpp *.hpp);
#   2. forbidden tokens, in code (comments and string literals are ignored):
#      - lib/: printf( abort( assert( exit( rte_exit( rte_panic( -- a library reports errors
#        to its caller and never ends the process on peer input;
#      - lib/virtq/: rte_log( RTE_LOG( RTE_LOG_DP( VUS_CTRL_LOG( PORT_LOG( and any
#        #include of a vhost_ctrl header -- the datapath logs only through VUS_DATA_LOG (rate
#        limited) and never depends on the control plane;
#   3. function size in lib/, drivers/, app/ C files (a definition is a line starting with `{`
#      after a signature, up to the next line starting with `}`): warning above 80 lines,
#      failure above 150;
#   4. every C/C++ file carries an SPDX-License-Identifier in its first 3 lines;
#   5. shell scripts (*.sh, .ci/run) parse (`bash -n`) and, when shellcheck is installed, pass
#      `shellcheck -x -S warning`.

set -u
cd "$(git rev-parse --show-toplevel 2>/dev/null || dirname "$0"/..)" || exit 1

mode=changed
base=
fix=false
lines=false
for a in "$@"; do
    case "$a" in
    --all) mode=all ;;
    --fix) fix=true ;;
    --lines) lines=true ;;
    -h | --help)
        awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "$0"
        exit 0
        ;;
    -*)
        echo "check-style: unknown option $a" >&2
        exit 2
        ;;
    *) base=$a ;;
    esac
done

if [ "$mode" = changed ] && [ -z "$base" ]; then
    if git rev-parse -q --verify origin/main >/dev/null; then
        base=$(git merge-base origin/main HEAD 2>/dev/null || echo origin/main)
    elif git rev-parse -q --verify HEAD~1 >/dev/null; then
        base=HEAD~1
    else
        mode=all
    fi
fi

if [ "$mode" = all ]; then
    mapfile -t files < <(git ls-files -c -o --exclude-standard | sort -u)
    echo "check-style: all files (${#files[@]})"
else
    git rev-parse -q --verify "$base^{commit}" >/dev/null || {
        echo "check-style: unknown revision $base" >&2
        exit 2
    }
    mapfile -t files < <({
        git diff --name-only --diff-filter=ACMR "$base" --
        git ls-files -o --exclude-standard
    } | sort -u)
    echo "check-style: files changed since $(git rev-parse --short "$base") (${#files[@]})"
fi

c_files=()
sh_files=()
for f in "${files[@]}"; do
    [ -f "$f" ] || continue
    case "$f" in
    lib/*.[ch] | drivers/*.[ch] | app/*.[ch] | tests/*.[ch] | \
        lib/*.cc | drivers/*.cc | app/*.cc | tests/*.cc | tests/*.hh | \
        tests/*.cpp | tests/*.hpp)
        c_files+=("$f")
        ;;
    *.sh | .ci/run) sh_files+=("$f") ;;
    esac
done

status=0
problem() {
    echo "$*"
    status=1
}

# 1. format ------------------------------------------------------------------------------------
# format_whole FILE...: clang-format --dry-run --Werror; lists the files that differ.
format_whole() {
    local out
    out=$(clang-format --dry-run --Werror "$@" 2>&1) && return 0
    [ -n "${VERBOSE:-}" ] && echo "$out"
    problem "format: these files differ from .clang-format (see: clang-format FILE | diff FILE -;" \
        "fix: devtools/check-style.sh --fix):"
    sed -nE 's/^([^:]+):[0-9]+:[0-9]+: (error|warning):.*/    \1/p' <<<"$out" | sort -u
}

if [ ${#c_files[@]} -gt 0 ]; then
    command -v clang-format >/dev/null || {
        echo "check-style: clang-format missing (devtools/install-deps.sh)" >&2
        exit 2
    }
    if $fix && $lines && [ "$mode" = changed ]; then
        git diff -U0 --no-color "$base" -- "${c_files[@]}" | clang-format-diff -p1 -i
        echo "check-style: formatted the changed lines"
    elif $fix; then
        clang-format -i "${c_files[@]}"
        echo "check-style: formatted ${#c_files[@]} file(s)"
    elif $lines && [ "$mode" = changed ]; then
        out=$(git diff -U0 --no-color "$base" -- "${c_files[@]}" | clang-format-diff -p1)
        # Untracked files have no diff: check them whole.
        mapfile -t new < <(git ls-files -o --exclude-standard -- "${c_files[@]}")
        if [ -n "$out" ]; then
            echo "$out"
            problem "format: changed lines differ from .clang-format (devtools/check-style.sh --fix)"
        fi
        [ ${#new[@]} -eq 0 ] || format_whole "${new[@]}"
    else
        format_whole "${c_files[@]}"
    fi
fi

# 2-4. tokens, function size, SPDX ------------------------------------------------------------
if [ ${#c_files[@]} -gt 0 ]; then
    python3 - "${c_files[@]}" <<'EOF' || status=1
import re
import sys

LIB_FORBIDDEN = re.compile(r"\b(printf|abort|assert|exit|rte_exit|rte_panic)\s*\(")
VIRTQ_FORBIDDEN = re.compile(r"\b(rte_log|RTE_LOG|RTE_LOG_DP|VUS_CTRL_LOG|PORT_LOG)\s*\(")
VIRTQ_INCLUDE = re.compile(r'#\s*include\s*[<"][^">]*vhost_ctrl[^">]*[">]')
WARN_LINES, FAIL_LINES = 80, 150


def strip_code(text):
    """Blank out comments, string and char literals, keeping line structure."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (min(j, n) - i - 1) + (c if j < n else ""))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(raw_lines):
    """(name, first line, length) of each function whose body opens with '{' at column 0."""
    res, start, name = [], None, None
    for no, line in enumerate(raw_lines, 1):
        if start is None and line.startswith("{"):
            # Look back for the signature: the nearest line with an identifier before '('.
            for k in range(no - 2, max(no - 8, -1), -1):
                m = re.match(r"^(?:[A-Za-z_][\w\s\*]*?)?\b([A-Za-z_]\w*)\s*\(", raw_lines[k])
                if m and not raw_lines[k].startswith(("\t", " ", "#")):
                    name = m.group(1)
                    break
            else:
                name = None
            start = no
        elif start is not None and line.startswith("}"):
            if name:
                res.append((name, start, no - start + 1))
            start = None
    return res


status = 0
for path in sys.argv[1:]:
    try:
        raw = open(path, encoding="utf-8", errors="replace").read()
    except OSError:
        continue
    raw_lines = raw.split("\n")
    if not any("SPDX-License-Identifier" in l for l in raw_lines[:3]):
        print(f"{path}:1: no SPDX-License-Identifier in the first 3 lines")
        status = 1
    code = strip_code(raw).split("\n")
    in_lib = path.startswith("lib/")
    in_virtq = path.startswith("lib/virtq/")
    for no, (line, rline) in enumerate(zip(code, raw_lines), 1):
        if in_lib:
            m = LIB_FORBIDDEN.search(line)
            if m:
                print(f"{path}:{no}: '{m.group(1)}(' is not allowed in lib/: {rline.strip()}")
                status = 1
        if in_virtq:
            m = VIRTQ_FORBIDDEN.search(line)
            if m:
                print(f"{path}:{no}: datapath logs only through VUS_DATA_LOG: {rline.strip()}")
                status = 1
            if VIRTQ_INCLUDE.search(rline):
                print(f"{path}:{no}: datapath must not include control-plane headers: {rline.strip()}")
                status = 1
    if path.endswith(".c") and path.startswith(("lib/", "drivers/", "app/")):
        for name, first, length in functions(raw_lines):
            if length > FAIL_LINES:
                print(f"{path}:{first}: error: {name}() is {length} lines (limit {FAIL_LINES})")
                status = 1
            elif length > WARN_LINES:
                print(f"{path}:{first}: warning: {name}() is {length} lines (over {WARN_LINES})")
sys.exit(status)
EOF
fi

# 5. shell syntax -----------------------------------------------------------------------------
for f in "${sh_files[@]}"; do
    bash -n "$f" || problem "$f: bash -n failed"
done
if [ ${#sh_files[@]} -gt 0 ] && command -v shellcheck >/dev/null; then
    shellcheck -x -S warning "${sh_files[@]}" || problem "shellcheck: warnings above"
fi

if [ $status -eq 0 ]; then
    echo "check-style: OK (${#c_files[@]} C/C++ file(s), ${#sh_files[@]} shell script(s))"
else
    echo "check-style: FAILED"
fi
exit $status
