#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# sd_notify through a fake service manager: a datagram socket named by $NOTIFY_SOCKET receives
# READY=1 once the socket is served, STATUS= on every partition/vCPU count change, WATCHDOG=1
# every half $WATCHDOG_USEC from the event loop, and STOPPING=1 on SIGTERM; all from the
# daemon's own pid (no fork).  Without libsystemd nothing is sent and the daemon still works.

import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sdtest import (MSHVD, Rpc, check, connect, env_without_systemd, fail, have_systemd,  # noqa
                    note, require_kvm, run_main, stop, tmpdir, wait_exit)

WATCHDOG_USEC = 400000


class FakeManager:
    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.sock.bind(path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.log = []           # (monotonic time, sender pid, {field: value})

    def recv(self, timeout):
        """The next notification as (time, pid, fields), or None after timeout seconds."""
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
        except socket.timeout:
            return None
        pid = None
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", payload[:12])[0]
        fields = dict(line.split("=", 1) for line in data.decode().split("\n") if line)
        msg = (time.monotonic(), pid, fields)
        self.log.append(msg)
        return msg

    def wait_for(self, pred, timeout, what):
        """Receive until pred(fields); returns that message.  Others stay in self.log."""
        end = time.monotonic() + timeout
        while True:
            m = self.recv(end - time.monotonic())
            if m is None:
                fail("no notification with %s within %.1f s; got %s" %
                     (what, timeout, [x[2] for x in self.log]))
            if pred(m[2]):
                return m

    def status(self, timeout=10.0):
        return self.wait_for(lambda f: "STATUS" in f, timeout, "STATUS=")[2]["STATUS"]


def spawn(d, mgr, args, watchdog_pid="$$", foreground=False):
    env = env_without_systemd()
    env["NOTIFY_SOCKET"] = mgr.path
    env["WATCHDOG_USEC"] = str(WATCHDOG_USEC)
    # sh execs the daemon, so $$ is the daemon's pid, as systemd would set it.
    cmd = 'WATCHDOG_PID=%s exec "$@"' % watchdog_pid
    argv = ["sh", "-c", cmd, "sh", MSHVD, "--backend", "kvm"] + args
    if foreground:
        argv.append("--foreground")
    return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)


def test_lifecycle(d):
    mgr = FakeManager(os.path.join(d, "notify"))
    path = os.path.join(d, "mshvd.sock")
    # No --foreground: $NOTIFY_SOCKET must keep the daemon in the foreground by itself.
    proc = spawn(d, mgr, ["--socket", path])
    t_ready, pid, ready = mgr.wait_for(lambda f: True, 20, "anything")
    check(ready.get("READY") == "1", "the first notification is READY=1 (%s)" % ready)
    check(pid == proc.pid, "sent by the daemon's own pid %d (got %s)" % (proc.pid, pid))
    check(ready.get("STATUS", "").startswith("0 partitions, 0 vCPUs"),
          "READY=1 comes with STATUS= (%s)" % ready.get("STATUS"))
    # READY=1 means served: the socket answers without any retry.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    c = Rpc(s)
    info = c.call("daemon-info")
    check(info["pid"] == proc.pid, "the socket is served at READY=1")

    vm = c.call("create-vm", {"name": "sd-notify"})["vm"]
    st = mgr.status()
    check(st.startswith("1 partition, 0 vCPUs"), "STATUS= after create-vm: %s" % st)
    c.call("create-vcpu", {"vm": vm, "index": 0})
    st = mgr.status()
    check(st.startswith("1 partition, 1 vCPU"), "STATUS= after create-vcpu: %s" % st)
    c.call("create-vcpu", {"vm": vm, "index": 1})
    st = mgr.status()
    check(st.startswith("1 partition, 2 vCPUs"), "STATUS= after a second vCPU: %s" % st)
    c.call("destroy-vm", {"vm": vm})
    st = mgr.status()
    check(st.startswith("0 partitions, 0 vCPUs"), "STATUS= after destroy-vm: %s" % st)

    # Watchdog: pings at half the interval, only pings while nothing changes.
    start = len(mgr.log)
    t0 = time.monotonic()
    for _ in range(3):
        c.call("daemon-info")
    while time.monotonic() - t0 < 2.0:
        mgr.recv(2.0 - (time.monotonic() - t0))
    window = mgr.log[start:]
    pings = [m for m in window if m[2].get("WATCHDOG") == "1"]
    others = [m[2] for m in window if m[2].get("WATCHDOG") != "1"]
    times = [t_ready] + [m[0] for m in pings]
    gaps = [b - a for a, b in zip(times, times[1:])]
    note("%d pings in 2 s, gaps %s ms" % (len(pings), [int(g * 1000) for g in gaps]))
    check(6 <= len(pings) <= 14, "WATCHDOG=1 about every %d ms" % (WATCHDOG_USEC // 2000))
    check(max(gaps[1:]) < WATCHDOG_USEC / 1e6, "no gap reaches WATCHDOG_USEC")
    check(all(m[1] == proc.pid for m in pings), "pings come from the daemon's pid")
    check(not others, "no STATUS= without a change (%s)" % others)

    # Shutdown with a live VM: STOPPING=1 first, then the teardown shows in STATUS=.
    vm = c.call("create-vm", {"name": "sd-notify-2"})["vm"]
    c.call("create-vcpu", {"vm": vm, "index": 0})
    mgr.status()
    mgr.status()
    proc.send_signal(15)
    stopping = mgr.wait_for(lambda f: "STOPPING" in f or "READY" in f, 10, "STOPPING=1")[2]
    check(stopping.get("STOPPING") == "1" and "READY" not in stopping, "STOPPING=1 on SIGTERM")
    check(stopping.get("STATUS", "").startswith("Stopping: 1 partition, 1 vCPU"),
          "STOPPING=1 comes with STATUS= (%s)" % stopping.get("STATUS"))
    st = mgr.status()
    check(st.startswith("Stopping: 0 partitions, 0 vCPUs"), "teardown in STATUS=: %s" % st)
    rc = wait_exit(proc)
    check(rc == 0, "exit 0 after SIGTERM (got %d)" % rc)
    while mgr.recv(0.05):
        pass
    after = [m[2] for m in mgr.log if m[0] > t_ready and "READY" in m[2]]
    check(not after, "READY=1 only once")
    c.close()


def test_foreign_watchdog_pid(d):
    mgr = FakeManager(os.path.join(d, "notify2"))
    proc = spawn(d, mgr, ["--socket", os.path.join(d, "s2.sock")], watchdog_pid="1")
    mgr.wait_for(lambda f: f.get("READY") == "1", 20, "READY=1")
    t0 = time.monotonic()
    while time.monotonic() - t0 < 1.0:
        mgr.recv(1.0 - (time.monotonic() - t0))
    pings = [m for m in mgr.log if "WATCHDOG" in m[2]]
    check(not pings, "no WATCHDOG=1 when WATCHDOG_PID names another process")
    check(stop(proc) == 0, "exit 0")


def test_no_ready_on_failure(d):
    mgr = FakeManager(os.path.join(d, "notify3"))
    proc = spawn(d, mgr, ["--socket", os.path.join(d, "s3.sock"), "--device",
                          os.path.join(d, "no-such-device")])
    rc = wait_exit(proc)
    while mgr.recv(0.1):
        pass
    check(rc == 1, "a backend that cannot be opened: exit 1 (got %d)" % rc)
    check(not any("READY" in m[2] for m in mgr.log), "and no READY=1 (%s)" % mgr.log)


def test_without_systemd(d):
    mgr = FakeManager(os.path.join(d, "notify"))
    path = os.path.join(d, "mshvd.sock")
    proc = spawn(d, mgr, ["--socket", path], foreground=True)
    c = Rpc(connect(path))
    vm = c.call("create-vm")["vm"]
    c.call("destroy-vm", {"vm": vm})
    t0 = time.monotonic()
    while time.monotonic() - t0 < 0.5:
        mgr.recv(0.5 - (time.monotonic() - t0))
    check(stop(proc) == 0, "serves and stops")
    while mgr.recv(0.1):
        pass
    check(not mgr.log, "built without libsystemd: no notifications (%s)" % mgr.log)
    c.close()


def main():
    require_kvm()
    d = tmpdir()
    if not have_systemd():
        test_without_systemd(d)
        return
    test_lifecycle(d)
    test_foreign_watchdog_pid(d)
    test_no_ready_on_failure(d)


run_main(main)
