#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Run the examples of doc/cli.md and doc/telemetry.md and compare with the doc.

    doctest.py cli DOC VUSWITCH PREFIX TMPDIR
    doctest.py telemetry DOC VUSWITCH PREFIX TMPDIR CLIENT

What is run is what the doc shows, so the doc cannot drift from the program:

  <!-- doc-test: start -->     the next ```sh block is the vuswitch command line; the test sets
                               its --file-prefix to PREFIX (adding one if there is none).
  <!-- doc-test: session -->   (cli) the next ```console block is a piece of a CLI session:
                               "vuswitch> COMMAND" lines and the output that follows each. All
                               pieces, in order, make one session, fed through a pipe.
  <!-- doc-test: telemetry --> (telemetry) the next ```console block holds
                               "$ devtools/vuswitch-telemetry.py [--pretty] COMMAND" lines, each
                               followed by the JSON reply. All run in order against one vuswitch.

Every "/tmp/vus/" in the doc stands for TMPDIR. In CLI output, "<n>" matches a number, "<any>"
any text, and a line "..." any number of lines. Telemetry replies must have the same keys at every
level, the same types and the same values, except the values of VOLATILE keys (they change from
run to run: loop counters, rates, ages, queue loads (-1 until measured), the DPDK version).

Exit 0 when everything matches; 1 with a report otherwise.
"""
import importlib.util
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time

VOLATILE = {'loops', 'busy_loops', 'age_ms', 'rx_pps', 'tx_pps', 'dpdk', 'queue_load_permille'}
TIMEOUT = 60


def blocks(doc, marker):
    """Fenced blocks that follow '<!-- doc-test: MARKER -->', as lists of lines."""
    lines = open(doc, encoding='utf-8').read().split('\n')
    out, i = [], 0
    while i < len(lines):
        if lines[i].strip() == '<!-- doc-test: %s -->' % marker:
            i += 1
            while i < len(lines) and not lines[i].startswith('```'):
                i += 1
            i += 1
            body = []
            while i < len(lines) and not lines[i].startswith('```'):
                body.append(lines[i])
                i += 1
            out.append(body)
        i += 1
    return out


def subst(text, tmpdir):
    return text.replace('/tmp/vus/', tmpdir.rstrip('/') + '/')


def start_args(doc, vuswitch, prefix, tmpdir):
    b = blocks(doc, 'start')
    if len(b) != 1:
        sys.exit('%s: expected one doc-test start block, found %d' % (doc, len(b)))
    words = shlex.split(subst(' '.join(line.rstrip('\\') for line in b[0]), tmpdir))
    if not words or words[0] != 'vuswitch':
        sys.exit('%s: the start block must begin with vuswitch' % doc)
    if '--file-prefix' in words:
        words[words.index('--file-prefix') + 1] = prefix
        return [vuswitch] + words[1:]
    return [vuswitch, '--file-prefix', prefix] + words[1:]


def line_matches(expected, actual):
    pat = re.escape(expected.rstrip()).replace(re.escape('<n>'), r'[0-9][0-9.]*')
    pat = pat.replace(re.escape('<any>'), '.*')
    return re.fullmatch(pat, actual.rstrip()) is not None


def match_transcript(expected, actual):
    """Match line lists; '...' skips lines. Returns None or a description of the mismatch."""
    e = a = 0
    while e < len(expected):
        if expected[e].strip() == '...':
            e += 1
            if e == len(expected):
                return None
            while a < len(actual) and not line_matches(expected[e], actual[a]):
                a += 1
            if a == len(actual):
                return 'no line matches %r (after "...")' % expected[e]
            continue
        if a >= len(actual):
            return 'output ends; doc expects %r' % expected[e]
        if not line_matches(expected[e], actual[a]):
            return 'line %d: doc %r\n        got %r' % (a + 1, expected[e], actual[a])
        e += 1
        a += 1
    if a < len(actual):
        return 'unexpected output after the last doc line: %r' % actual[a]
    return None


def syntax_prefixes(syntax):
    """Literal command prefixes a syntax line stands for ("show port info|stats ..." gives
    "show port info", "show port stats" ...): up to the first placeholder or option."""
    out = ['']
    for w in syntax.split():
        if w.startswith('<') or w.startswith('[') or w == '|':
            break
        alts = [a for a in w.split('|') if not a.startswith('<')]
        out = [(p + ' ' + a).strip() for p in out for a in alts]
        if len(alts) > 1 or '<' in w:
            break
    return out


def cli_coverage(args, commands):
    """Every command `help` lists must appear in the doc's session."""
    proc = subprocess.run(args, input='help\nquit\n', text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, timeout=TIMEOUT)
    syntaxes = [line.strip() for line in proc.stdout.split('\n')
                if line.startswith('  ') and not line.startswith('   ')]
    if len(syntaxes) < 10:
        return 'help listed only %d commands' % len(syntaxes)
    missing = [p for syn in syntaxes for p in syntax_prefixes(syn)
               if p not in ('help', 'quit') and not any(c == p or c.startswith(p + ' ')
                                                        for c in commands)]
    if missing:
        return 'commands with no example in the doc: %s' % ', '.join(missing)
    return None


def run_cli(doc, vuswitch, prefix, tmpdir):
    args = start_args(doc, vuswitch, prefix, tmpdir)
    expected = [subst(line, tmpdir) for b in blocks(doc, 'session') for line in b]
    if not expected:
        sys.exit('%s: no doc-test session block' % doc)
    commands = [line[len('vuswitch> '):] for line in expected if line.startswith('vuswitch> ')]
    print('doctest: %d commands from %s' % (len(commands), doc), file=sys.stderr)
    proc = subprocess.run(args, input='\n'.join(commands + ['quit']) + '\n', text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
    out = proc.stdout.split('\n')
    # The transcript ends where our own "quit" starts (then come the exit counters).
    end = next((i for i, line in enumerate(out) if line == 'vuswitch> quit'), None)
    if proc.returncode != 0 or end is None:
        print(proc.stdout + proc.stderr[-3000:], file=sys.stderr)
        return 'vuswitch exited with %d before quit' % proc.returncode
    problem = match_transcript(expected, out[:end])
    if problem is None:
        problem = cli_coverage(args, commands)
    if problem is not None:
        with open(os.path.join(tmpdir, 'cli-transcript.txt'), 'w', encoding='utf-8') as f:
            f.write(proc.stdout)
        return problem + '\n(transcript in %s/cli-transcript.txt)' % tmpdir
    return None


def compare_json(exp, act, path='$'):
    if isinstance(exp, dict):
        if not isinstance(act, dict):
            return '%s: expected an object, got %r' % (path, act)
        if set(exp) != set(act):
            return '%s: keys differ: doc only %s, reply only %s' % (
                path, sorted(set(exp) - set(act)), sorted(set(act) - set(exp)))
        for k in exp:
            if k in VOLATILE:
                if type(exp[k]) is not type(act[k]):
                    return '%s.%s: type %s, doc has %s' % (path, k, type(act[k]).__name__,
                                                          type(exp[k]).__name__)
                continue
            p = compare_json(exp[k], act[k], '%s.%s' % (path, k))
            if p:
                return p
        return None
    if isinstance(exp, list):
        if not isinstance(act, list) or len(exp) != len(act):
            return '%s: expected %r, got %r' % (path, exp, act)
        for i, (x, y) in enumerate(zip(exp, act)):
            p = compare_json(x, y, '%s[%d]' % (path, i))
            if p:
                return p
        return None
    if type(exp) is not type(act) or exp != act:
        return '%s: doc %r, reply %r' % (path, exp, act)
    return None


def telemetry_steps(doc, tmpdir):
    """(command, expected JSON) pairs of the telemetry blocks."""
    steps = []
    for b in blocks(doc, 'telemetry'):
        cur, text = None, []
        for line in b + ['$ end']:
            if line.startswith('$ '):
                if cur is not None:
                    steps.append((cur, json.loads(subst('\n'.join(text), tmpdir))))
                words = shlex.split(line[2:])
                cmds = [w for w in words[1:] if w.startswith('/')]
                cur = subst(cmds[0], tmpdir) if cmds else None
                text = []
            else:
                text.append(line)
    return steps


def load_client(path):
    spec = importlib.util.spec_from_file_location('vuswitch_telemetry', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run_telemetry(doc, vuswitch, prefix, tmpdir, client):
    args = start_args(doc, vuswitch, prefix, tmpdir)
    steps = telemetry_steps(doc, tmpdir)
    if not steps:
        sys.exit('%s: no doc-test telemetry block' % doc)
    print('doctest: %d telemetry commands from %s' % (len(steps), doc), file=sys.stderr)
    cl = load_client(client)
    log = open(os.path.join(tmpdir, 'telemetry-doc-vuswitch.log'), 'w', encoding='utf-8')
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        deadline = time.time() + TIMEOUT
        tel = None
        while tel is None:
            try:
                tel = cl.Telemetry(cl.socket_path(prefix))
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    return 'no telemetry socket for prefix %s' % prefix
                time.sleep(0.2)
        # DPDK's socket is up before vuswitch registers its commands (null until then).
        while not tel.query('/vuswitch/ports')['/vuswitch/ports']:
            if time.time() > deadline or proc.poll() is not None:
                return 'vuswitch never answered /vuswitch/ports'
            time.sleep(0.2)
        for cmd, exp in steps:
            act = next(iter(tel.query(cmd).values()))
            problem = compare_json(exp, act)
            if problem:
                return '%s:\n  %s\n  reply: %s' % (cmd, problem, json.dumps(act))
        tel.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
    if rc != 0:
        return 'vuswitch exited with %d after SIGTERM' % rc
    return None


def main():
    if len(sys.argv) < 6 or sys.argv[1] not in ('cli', 'telemetry'):
        sys.exit(__doc__)
    mode, doc, vuswitch, prefix, tmpdir = sys.argv[1:6]
    if mode == 'cli':
        problem = run_cli(doc, vuswitch, prefix, tmpdir)
    else:
        problem = run_telemetry(doc, vuswitch, prefix, tmpdir, sys.argv[6])
    if problem:
        print('doctest %s: MISMATCH with %s\n  %s' % (mode, doc, problem), file=sys.stderr)
        return 1
    print('doctest %s: %s matches' % (mode, doc), file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
