#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""telcheck.py CLIENT PREFIX [--wait S] COMMAND EXPR WANT [COMMAND EXPR WANT ...]

Check telemetry replies over one connection: for each triple, send COMMAND to the vuswitch
with --file-prefix PREFIX (through CLIENT, devtools/vuswitch-telemetry.py), evaluate the
Python expression EXPR with the reply's value as `d`, and compare str(result) with WANT.
With --wait S, each triple is retried for up to S seconds until it matches. Prints the
mismatch and exits 1 on failure; exit 0 when every triple matched.
"""
import importlib.util
import sys
import time


def main():
    client, prefix, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    wait = 0.0
    if args[:1] == ['--wait']:
        wait, args = float(args[1]), args[2:]
    if not args or len(args) % 3:
        sys.exit(__doc__)
    spec = importlib.util.spec_from_file_location('vuswitch_telemetry', client)
    cl = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cl)
    tel = cl.Telemetry(cl.socket_path(prefix))
    for i in range(0, len(args), 3):
        cmd, expr, want = args[i:i + 3]
        deadline = time.time() + wait
        while True:
            d = next(iter(tel.query(cmd).values()))
            try:
                got = str(eval(expr, {}, {'d': d}))  # pylint: disable=eval-used
            except Exception as e:  # pylint: disable=broad-except
                got = 'exception %r' % e
            if got == want or time.time() >= deadline:
                break
            time.sleep(0.2)
        if got != want:
            print('%s: %s is %s, want %s\n  reply: %s' % (cmd, expr, got, want, d),
                  file=sys.stderr)
            return 1
    tel.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
