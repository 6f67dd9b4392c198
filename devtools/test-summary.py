#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Per-test-case summary of one or more `meson test` runs (used by devtools/test.sh).

    test-summary.py clean BUILD_DIR
        Remove the googletest XML files meson's gtest protocol writes
        (<workdir or build dir>/<test name>.xml), so that a test that crashes
        before writing its XML cannot be reported from a stale one.

    test-summary.py report [--step-failed NAME]... RUN...
        RUN is LABEL=BUILD_DIR:MESON_EXIT_CODE. Prints one line per test case
        and, as the last line, "N passed, N failed[, N skipped]". Exits 1 if
        anything failed, else 0.

Where the cases come from (meson 1.0):
  * meson-logs/testlog.json: one JSON object per line per meson test, with
    "name" ("project:suite / test") and "result" (OK, FAIL, SKIP, TIMEOUT,
    ERROR, EXPECTEDFAIL, UNEXPECTEDPASS).
  * meson-logs/testlog.junit.xml: for `protocol: 'gtest'` tests meson copies
    each googletest <testsuite> in, renamed "<project>.<test name>.<gtest
    suite>"; every <testcase> there is one case. A <failure>/<error> child
    fails it; <skipped> or status="notrun" (DISABLED_) skips it.
A gtest binary counts as its cases. If meson says it failed but no case did
(crash, sanitizer report or leak check at exit, timeout), one extra failed
case "<test> (<result>, exit N)" is added so nothing is hidden. Every other
test is one case.
"""

import json
import os
import sys
import xml.etree.ElementTree as ET

PASS_RESULTS = {"OK", "EXPECTEDFAIL"}
SKIP_RESULTS = {"SKIP"}


def load_tests(build_dir):
    path = os.path.join(build_dir, "meson-info", "intro-tests.json")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return []


def clean(build_dir):
    for t in load_tests(build_dir):
        if t.get("protocol") != "gtest":
            continue
        xml = os.path.join(t.get("workdir") or build_dir, t["name"] + ".xml")
        try:
            os.unlink(xml)
        except FileNotFoundError:
            pass
    return 0


def load_results(build_dir):
    """[(name, result, returncode)] from testlog.json, in run order."""
    path = os.path.join(build_dir, "meson-logs", "testlog.json")
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    d = json.loads(line)
                    out.append((d["name"], d["result"], d.get("returncode")))
    except (OSError, ValueError) as e:
        print(f"test-summary: cannot read {path}: {e}", file=sys.stderr)
    return out


def load_gtest_suites(build_dir):
    """{junit suite name: [(case name, status)]} with status PASS/FAIL/SKIP."""
    path = os.path.join(build_dir, "meson-logs", "testlog.junit.xml")
    suites = {}
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return suites
    for suite in root.iter("testsuite"):
        cases = []
        for case in suite.findall("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                st = "FAIL"
            elif case.find("skipped") is not None or case.get("status") == "notrun":
                st = "SKIP"
            else:
                st = "PASS"
            cname = case.get("name", "?")
            cls = case.get("classname")
            cases.append((f"{cls}.{cname}" if cls else cname, st))
        suites[suite.get("name", "")] = cases
    return suites


def short(name):
    """'vuswitch:unit / foo' -> 'unit/foo'."""
    if ":" in name.split(" / ")[0]:
        name = name.split(":", 1)[1]
    return name.replace(" / ", "/")


def cases_of_run(label, build_dir, exit_code):
    cases = []  # (status, label, test, case)
    results = load_results(build_dir)
    suites = load_gtest_suites(build_dir)
    gtest_names = {t["name"] for t in load_tests(build_dir) if t.get("protocol") == "gtest"}
    # Longest names first so "a.b" never steals the suites of "a".
    by_len = sorted(suites, key=len, reverse=True)
    claimed = set()
    for name, result, rc in results:
        test = short(name)
        mine = []
        if name.split(" / ")[-1] in gtest_names:
            for sname in by_len:
                if sname in claimed:
                    continue
                # "<project>.<project>:<suite> / <test>.<gtest suite>"
                head, sep, _ = sname.partition("." + name + ".")
                if sep and "." not in head:
                    claimed.add(sname)
                    mine.extend(suites[sname])
        for cname, st in mine:
            cases.append((st, label, test, cname))
        failed_cases = sum(1 for _, st in mine if st == "FAIL")
        if result in PASS_RESULTS:
            if not mine:
                cases.append(("PASS", label, test, ""))
        elif result in SKIP_RESULTS:
            if not mine:
                cases.append(("SKIP", label, test, ""))
        elif failed_cases == 0:
            cases.append(("FAIL", label, test, f"({result}, exit {rc})"))
    if exit_code != 0 and not any(c[0] == "FAIL" for c in cases):
        what = "no test results" if not results else "meson reported failure"
        cases.append(("FAIL", label, "meson test", f"(exit {exit_code}: {what})"))
    return cases


def report(argv):
    steps = []
    runs = []
    it = iter(argv)
    for a in it:
        if a == "--step-failed":
            steps.append(next(it))
        else:
            label, _, rest = a.partition("=")
            build_dir, _, code = rest.rpartition(":")
            runs.append((label, build_dir, int(code)))

    cases = [("FAIL", "step", s, "") for s in steps]
    for label, build_dir, code in runs:
        cases.extend(cases_of_run(label, build_dir, code))

    print()
    print("=" * 30 + " per-test-case summary " + "=" * 30)
    wl = max([len(c[1]) for c in cases] + [5])
    wt = max([len(c[2]) for c in cases] + [4])
    for st, label, test, case in cases:
        print(f"{st:4}  {label:{wl}}  {test:{wt}}  {case}".rstrip())
    failed = [c for c in cases if c[0] == "FAIL"]
    if failed:
        print()
        print("Failed:")
        for _, label, test, case in failed:
            print(f"  {label}: {test} {case}".rstrip())
    n_pass = sum(1 for c in cases if c[0] == "PASS")
    n_skip = sum(1 for c in cases if c[0] == "SKIP")
    line = f"{n_pass} passed, {len(failed)} failed"
    if n_skip:
        line += f", {n_skip} skipped"
    print(line, flush=True)
    return 1 if failed else 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "clean":
        return clean(sys.argv[2])
    if len(sys.argv) >= 2 and sys.argv[1] == "report":
        return report(sys.argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
