#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Socket activation through systemd-socket-activate: the real daemon is started by the first
# connection, which it then serves; anything but one listening Unix stream socket is refused.
# Built --without-systemd, the daemon ignores $LISTEN_FDS (with a warning) and uses --socket.

import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sdtest import (MSHVD, Rpc, check, connect, fail, have_systemd, note, require_kvm,  # noqa
                    require_tool, run_main, stop, tmpdir, wait_exit)


def activate(args, sockets, stderr, datagram=False):
    cmd = [require_tool("systemd-socket-activate")]
    if datagram:
        cmd.append("--datagram")
    for s in sockets:
        cmd += ["-l", s]
    # systemd-socket-activate passes on only what -E names.
    for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if var in os.environ:
            cmd += ["-E", var]
    proc = subprocess.Popen(cmd + [MSHVD] + args, stdout=subprocess.DEVNULL, stderr=stderr)
    end = time.monotonic() + 10
    while not all(os.path.exists(s) for s in sockets):
        if proc.poll() is not None or time.monotonic() > end:
            fail("systemd-socket-activate did not create %s" % sockets)
        time.sleep(0.02)
    return proc


def read(path):
    with open(path) as f:
        return f.read()


def test_activation(d):
    path = os.path.join(d, "mshvd.sock")
    errlog = os.path.join(d, "stderr")
    with open(errlog, "w") as err:
        # No --foreground: under socket activation the daemon must not fork away.
        proc = activate(["--backend", "kvm", "--log-level", "debug"], [path], err)
    pid = proc.pid
    # The daemon does not exist yet: this connection and its request start it, and wait.
    c = Rpc(connect(path))
    t0 = time.monotonic()
    info = c.call("daemon-info", timeout=20)
    note("served after %.0f ms; backend %s" % ((time.monotonic() - t0) * 1000, info["backend"]))
    check(info["backend"] == "kvm", "the early client is served by the activated daemon")
    check(proc.poll() is None and info["pid"] == pid,
          "mshvd runs in place of systemd-socket-activate (same pid, no fork)")
    c2 = Rpc(connect(path))
    vm = c2.call("create-vm", {"name": "sd-activation"})
    check(c.call("daemon-info")["counts"]["vms"] == 1,
          "a second connection on the inherited socket works")
    c2.call("destroy-vm", {"vm": vm["vm"]})
    c.close()
    c2.close()
    st_before = os.lstat(path)
    rc = stop(proc)
    log = read(errlog)
    note(log)
    check(rc == 0, "SIGTERM: exit 0 (got %d)" % rc)
    check("socket activation" in log, "the daemon says it uses the inherited socket")
    check(os.path.exists(path) and os.lstat(path).st_ino == st_before.st_ino,
          "the inherited socket file is left to the service manager")


def test_refused(d, name, sockets, datagram, expect):
    errlog = os.path.join(d, "stderr-" + name)
    with open(errlog, "w") as err:
        proc = activate(["--backend", "kvm"], sockets, err, datagram)
    if datagram:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.sendto(b"wake up", sockets[0])
    else:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sockets[0])
    rc = wait_exit(proc)
    s.close()
    log = read(errlog)
    note(log)
    check(rc == 1, "%s: the daemon refuses to start (exit %d)" % (name, rc))
    check(expect in log, "%s: the error says \"%s\"" % (name, expect))


def test_without_systemd(d):
    inherited = os.path.join(d, "inherited.sock")
    own = os.path.join(d, "own.sock")
    errlog = os.path.join(d, "stderr")
    with open(errlog, "w") as err:
        proc = activate(["--backend", "kvm", "--foreground", "--socket", own], [inherited], err)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(inherited)            # starts the daemon
    c = Rpc(connect(own))
    check(c.call("daemon-info")["backend"] == "kvm", "--socket is served")
    c.close()
    s.close()
    rc = stop(proc)
    log = read(errlog)
    note(log)
    check(rc == 0, "exit 0")
    check("built without systemd support" in log, "$LISTEN_FDS is ignored with a warning")


def main():
    require_tool("systemd-socket-activate")
    require_kvm()
    d = tmpdir()
    if not have_systemd():
        note("built without libsystemd: checking the fallback")
        test_without_systemd(d)
        return
    test_activation(d)
    test_refused(d, "two sockets", [os.path.join(d, "a.sock"), os.path.join(d, "b.sock")],
                 False, "exactly one")
    test_refused(d, "datagram socket", [os.path.join(d, "dgram.sock")], True,
                 "is not a listening Unix stream socket")


run_main(main)
