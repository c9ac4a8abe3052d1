#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# mshvctl without a daemon: --help on every level, --version, usage errors (exit 2) and an
# unreachable socket (exit 3, with the path and the reason on stderr).
import os
import socket
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctltest import ctl, check, done, MSHVCTL, error  # noqa: E402

if not os.access(MSHVCTL, os.X_OK):
    error("%s is not built" % MSHVCTL)

# Help and version.
p = ctl(["--help"])
text = p.stdout.decode()
check(text.startswith("usage: mshvctl"), "--help prints the usage")
commands = []
for line in text.split("Commands:\n")[1].splitlines():
    if line.startswith("  ") and line[2] != " ":
        words = line.split()
        name = words[0] + (" " + words[1] if words[1] in ("create", "get", "set", "add",
                                                          "remove", "trigger") else "")
        commands.append(name)
for verb in ["info", "create", "destroy", "list", "show", "pause", "resume", "map", "unmap",
             "write", "read", "load", "vcpu create", "regs get", "regs set", "run", "complete",
             "stop", "translate", "ioeventfd add", "ioeventfd remove", "irqfd add",
             "irqfd remove", "irqfd trigger", "msi-routing", "interrupt", "events", "call",
             "boot"]:
    check(verb in commands, "usage lists '%s'" % verb)
check(all(len(l) <= 100 for l in text.splitlines()), "usage lines fit 100 columns")
for verb in commands:
    p = ctl(verb.split() + ["--help"])
    out = p.stdout.decode()
    check(out.startswith("usage: mshvctl [OPTIONS] " + verb), "%s --help: %r" % (verb, out[:60]))
    p = ctl(["help"] + verb.split())
    check(p.stdout.decode() == out, "help %s equals %s --help" % (verb, verb))
for group in ["vcpu", "regs", "ioeventfd", "irqfd"]:
    p = ctl([group, "--help"])
    check(("mshvctl %s " % group) in p.stdout.decode(), "%s --help lists its subcommands" % group)
    p = ctl([group], rc=2)
    check(b"missing subcommand" in p.stderr, "%s alone is a usage error" % group)
    p = ctl([group, "bogus"], rc=2)
p = ctl(["--version"])
check(p.stdout.decode().startswith("mshvctl "), "--version")
p = ctl(["-V"])

# Usage errors: exit 2 before any connection attempt (the socket does not exist).
nosock = "/nonexistent/mshvd.sock"
for args in (
    [],
    ["--bogus"],
    ["--timeout", "abc", "list"],
    ["frobnicate"],
    ["list", "extra"],
    ["destroy"],
    ["map", "1", "0x1000"],
    ["map", "1", "0x1000", "12Q"],
    ["map", "1", "zz", "4K"],
    ["map", "1", "0", "4K", "--flags", "rwq"],
    ["read", "1", "0"],
    ["write", "1", "0", "--hex", "abc"],
    ["write", "1", "0", "--hex", "00", "--string", "x"],
    ["load", "1", "/dev/null"],
    ["regs", "set", "1", "0"],
    ["regs", "set", "1", "0", "rax"],
    ["regs", "set", "1", "0", "rax=zz"],
    ["regs", "set", "1", "0", "cs=5"],
    ["regs", "set", "1", "0", "rax.base=5"],
    ["regs", "set", "1", "0", "gdtr.selector=5"],
    ["run", "1", "0", "--mode", "fast"],
    ["run", "1"],
    ["translate", "1", "0"],
    ["ioeventfd", "add", "1", "0xd0000", "--len", "3"],
    ["ioeventfd", "add", "1", "0xd0000", "--space", "io"],
    ["interrupt", "1", "32", "--type", "weird"],
    ["msi-routing", "1", "1:2:3"],
    ["events", "--since", "x"],
    ["events", "extra"],
    ["call"],
    ["call", "daemon-info", "{bad json"],
    ["call", "daemon-info", "noequals"],
    ["boot"],
    ["boot", "x.bin", "--mode", "unreal"],
    ["boot", "x.bin", "--mem", "1000"],
    ["boot", "x.bin", "--reg", "rax"],
    ["list", "--nope"],
):
    p = ctl(args, socket=nosock, rc=2)
    check(p.stdout == b"", "%s: nothing on stdout" % args)
    check(p.stderr.startswith(b"mshvctl") or p.stderr.startswith(b"usage"),
          "%s: a message on stderr: %r" % (args, p.stderr[:80]))

# Cannot connect: exit 3 with the path and the reason.
p = ctl(["list"], socket=nosock, rc=3)
check(nosock.encode() in p.stderr and b"No such file" in p.stderr, "ENOENT reason: %r" % p.stderr)
p = ctl(["info"], rc=3, env={"MSHVD_SOCKET": nosock})
check(nosock.encode() in p.stderr, "MSHVD_SOCKET is used: %r" % p.stderr)
with tempfile.TemporaryDirectory() as d:
    # A socket file with no listener behind it: connection refused.
    path = os.path.join(d, "dead.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()
    p = ctl(["list"], socket=path, rc=3)
    check(b"refused" in p.stderr, "ECONNREFUSED reason: %r" % p.stderr)
    # A peer that accepts and closes at once: the call fails with exit 3, not a crash.
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path2 = os.path.join(d, "closing.sock")
    srv.bind(path2)
    srv.listen(1)
    pid = os.fork()
    if pid == 0:
        conn, _ = srv.accept()
        conn.recv(100)
        conn.close()
        os._exit(0)
    p = ctl(["list"], socket=path2, rc=3)
    check(b"lost the connection" in p.stderr, "lost connection message: %r" % p.stderr)
    os.waitpid(pid, 0)
    # A peer that never answers: --timeout gives up with exit 1.
    pid = os.fork()
    if pid == 0:
        conn, _ = srv.accept()
        conn.recv(100)
        import time
        time.sleep(5)
        os._exit(0)
    p = ctl(["--timeout", "200", "list"], socket=path2, rc=1)
    check(b"no reply within 200 ms" in p.stderr, "timeout message: %r" % p.stderr)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    srv.close()

done()
