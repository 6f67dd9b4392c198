#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""cli_pty.py LOG VUSWITCH ARGS... -- drive `vuswitch -i` on a pseudo-terminal.

On a terminal the CLI is rte_cmdline's line editor. This checks what only a
terminal gets: TAB completion, '?' listing the choices, history (up arrow), and
that a wrong command still says what was expected; then `quit` (exit status 0).
vuswitch's stderr (its log) goes to LOG. Exit 0 on success, 1 with the terminal
output on failure.
"""
import os
import pty
import re
import select
import subprocess
import sys
import time

TIMEOUT = 20


class Term:
    def __init__(self, args, log):
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=log,
                                     close_fds=True)
        os.close(slave)
        self.buf = ''
        self.pos = 0

    def expect(self, pattern, what):
        """Wait for pattern in the output after the previous match."""
        deadline = time.time() + TIMEOUT
        rx = re.compile(pattern)
        while True:
            m = rx.search(self.buf, self.pos)
            if m:
                self.pos = m.end()
                return
            left = deadline - time.time()
            if left <= 0:
                fail('%s: no %r in the terminal output' % (what, pattern), self)
            r, _, _ = select.select([self.master], [], [], left)
            if r:
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    data = b''
                if not data:
                    fail('%s: terminal closed before %r' % (what, pattern), self)
                self.buf += data.decode(errors='replace')

    def send(self, text):
        os.write(self.master, text.encode())


def fail(msg, term):
    print('cli_pty: FAIL: %s' % msg, file=sys.stderr)
    print('----- terminal output -----\n%s\n-----' % term.buf, file=sys.stderr)
    term.proc.kill()
    sys.exit(1)


def main():
    log = open(sys.argv[1], 'w', encoding='utf-8')
    t = Term(sys.argv[2:], log)
    t.expect(r'vuswitch> ', 'first prompt')
    # TAB completes a unique prefix.
    t.send('sho\t')
    t.expect(r'show ', 'TAB completion of "sho"')
    t.send('port info 0\r')
    t.expect(r'Name: vhost0', 'show port info 0')
    t.expect(r'vuswitch> ', 'prompt after show port info 0')
    # '?' lists what may follow, then the line is redisplayed for more typing.
    t.send('set fwd ?')
    t.expect(r'macswap', '"?" after set fwd')
    t.expect(r'set fwd ', 'line redisplayed after "?"')
    t.send('io\r')
    t.expect(r'error: forwarding is running: stop it first', 'set fwd io while running')
    t.expect(r'vuswitch> ', 'prompt after set fwd io')
    # History: up arrow brings the last command back.
    t.send('show fdb\r')
    t.expect(r'VLAN  MAC address', 'show fdb')
    t.expect(r'vuswitch> ', 'prompt after show fdb')
    t.send('\x1b[A\r')
    t.expect(r'VLAN  MAC address', 'show fdb again from the history')
    t.expect(r'vuswitch> ', 'prompt after the history command')
    t.send('show port info\r')
    t.expect(r'expected:\s+show port info\|stats\|xstats all\|<port_id>', 'a wrong command')
    t.expect(r'vuswitch> ', 'prompt after the wrong command')
    t.send('quit\r')
    t.expect(r'Bye\.\.\.', 'quit')
    try:
        rc = t.proc.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        fail('vuswitch did not exit after quit', t)
    if rc != 0:
        fail('vuswitch exited with %d after quit' % rc, t)
    print('cli_pty: TAB completion, "?", history, errors and quit work on a terminal',
          file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
