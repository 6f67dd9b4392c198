#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Run telemetry commands against a running vuswitch and print the JSON replies.

    vuswitch-telemetry.py [--file-prefix P | --socket PATH] [--pretty] COMMAND...
    vuswitch-telemetry.py [--file-prefix P | --socket PATH] [--pretty] -f FILE

A COMMAND is what DPDK's telemetry socket takes: /vuswitch/ports,
/vuswitch/port/stats,0 ... (doc/telemetry.md); FILE holds one command per line
('#' starts a comment, '-' reads stdin). Each reply is printed as one line of
JSON: the reply's value, without the command name DPDK wraps it in (--raw keeps
the wrapper). Exit status: 0 if every reply was a value without an "error" key,
1 otherwise, 2 if the socket cannot be reached.

Python standard library only.
"""
import argparse
import json
import os
import socket
import sys


def socket_path(prefix):
    """Where a DPDK process with --file-prefix PREFIX keeps its telemetry socket."""
    if os.getuid() == 0:
        base = '/var/run/dpdk'
    else:
        base = os.path.join(os.environ.get('XDG_RUNTIME_DIR', '/tmp'), 'dpdk')
    return os.path.join(base, prefix, 'dpdk_telemetry.v2')


class Telemetry:
    """One connection to a DPDK telemetry v2 socket."""

    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        # The socket greets with {"version": ..., "pid": ..., "max_output_len": N}.
        info = json.loads(self.sock.recv(1024).decode())
        self.max_len = int(info.get('max_output_len', 16384))
        self.info = info

    def query(self, cmd):
        """Send one command; return the decoded reply ({command: value})."""
        self.sock.send(cmd.encode())
        data = self.sock.recv(self.max_len + 1024)
        return json.loads(data.decode())

    def close(self):
        self.sock.close()


def commands(args):
    if args.file is None:
        return list(args.command)
    f = sys.stdin if args.file == '-' else open(args.file, encoding='utf-8')
    with f:
        out = []
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                out.append(line)
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n', 1)[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--file-prefix', default='rte', help="vuswitch's EAL --file-prefix")
    ap.add_argument('--socket', help='telemetry socket path (overrides --file-prefix)')
    ap.add_argument('-f', '--file', help="file of commands, one per line ('-': stdin)")
    ap.add_argument('--pretty', action='store_true', help='indented JSON')
    ap.add_argument('--raw', action='store_true', help="keep DPDK's {command: value} wrapper")
    ap.add_argument('--timeout', type=float, default=10.0, help='seconds per reply')
    ap.add_argument('command', nargs='*', help='telemetry command, e.g. /vuswitch/ports')
    args = ap.parse_args()
    cmds = commands(args)
    if not cmds:
        ap.error('give a command or -f FILE')
    path = args.socket or socket_path(args.file_prefix)
    try:
        tel = Telemetry(path, args.timeout)
    except OSError as e:
        print('cannot connect to %s: %s' % (path, e), file=sys.stderr)
        return 2
    ok = True
    try:
        for cmd in cmds:
            reply = tel.query(cmd)
            value = reply if args.raw else next(iter(reply.values()), None)
            if value is None or (isinstance(value, dict) and 'error' in value):
                ok = False
            print(json.dumps(value, indent=2 if args.pretty else None))
            sys.stdout.flush()
    except (OSError, ValueError) as e:
        print('telemetry: %s' % e, file=sys.stderr)
        return 2
    finally:
        tel.close()
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
