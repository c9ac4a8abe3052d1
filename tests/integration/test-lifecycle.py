#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Ownership across uids, autodestroy, destroy while running, fd/thread baselines, the socket
# file (stale, symlink, in use) and SIGTERM with running VMs.

import json
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from mshvd_test import (BACKEND, BUILDDIR, Client, Daemon, RpcError, check,  # noqa: E402
                        daemon_env, eq, note, run, skip)

NOBODY = 65534


def as_nobody(fn):
    """Run fn() in a forked child as uid/gid nobody; returns its JSON-able result."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            out = {"ok": fn()}
        except Exception as e:  # noqa: BLE001 - everything goes back to the parent
            out = {"error": repr(e)}
        os.write(w, json.dumps(out).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    out = json.loads(data)
    if "error" in out:
        raise AssertionError("as nobody: " + out["error"])
    return out["ok"]


def error_shape(c, method, **params):
    try:
        c.call(method, params)
    except RpcError as e:
        return [e.code, e.name]
    return None


def test_ownership():
    if os.getuid() != 0:
        skip("needs root to run a second uid")
    d = Daemon(group="nogroup")
    try:
        root = d.client()
        rvm = root.call("create-vm", name="roots")["vm"]
        root.call("map-memory", vm=rvm, gpa=0, size=0x1000)
        root.call("create-vcpu", vm=rvm, index=0)
        watcher_path = d.path

        def probe():
            c = Client(watcher_path)
            c.call("subscribe")
            mine = c.call("create-vm", name="roots")["vm"]      # same name, own namespace
            seen = [v["vm"] for v in c.call("list-vms")["vms"]]
            res = {"mine": mine, "seen": seen, "foreign": {}, "missing": {}}
            for m, p in (("vm-info", {}), ("destroy-vm", {}), ("pause-vm", {}),
                         ("resume-vm", {}), ("map-memory", {"gpa": 0x10000, "size": 4096}),
                         ("unmap-memory", {"gpa": 0}), ("read-memory", {"gpa": 0, "size": 1}),
                         ("write-memory", {"gpa": 0, "data": "AA=="}),
                         ("create-vcpu", {"index": 1}), ("get-regs", {"vcpu": 0}),
                         ("set-regs", {"vcpu": 0, "regs": {}}), ("run", {"vcpu": 0}),
                         ("complete", {"vcpu": 0}), ("stop", {"vcpu": 0}),
                         ("translate-gva", {"vcpu": 0, "gva": 0}), ("subscribe", {})):
                res["foreign"][m] = error_shape(c, m, vm=rvm, **p)
                res["missing"][m] = error_shape(c, m, vm=987654, **p)
            res["by-name"] = c.call("vm-info", vm="roots")["vm"]
            res["count"] = c.call("daemon-info")["counts"]["vms"]
            c.call("pause-vm", vm=mine)
            c.call("resume-vm", vm=mine)
            c.drain(0.1)
            res["event-vms"] = sorted({e["vm"] for e in c.events if "vm" in e})
            return res

        root_sub = d.client(subscribe=True)
        root.call("pause-vm", vm=rvm)           # an event nobody must not see... later
        res = as_nobody(probe)
        mine = res["mine"]
        eq(res["seen"], [mine])
        for m in res["foreign"]:
            eq(res["foreign"][m], res["missing"][m], m)
            eq(res["foreign"][m], [1, "no-such-vm"], m)
        eq(res["by-name"], mine)
        eq(res["count"], 1)
        eq(res["event-vms"], [mine])
        # root sees both and may act on nobody's VM; the names coexist.
        vms = {v["vm"]: v for v in root.call("list-vms")["vms"]}
        eq(sorted(vms), sorted([rvm, mine]))
        eq(vms[mine]["owner"], NOBODY)
        eq(vms[rvm]["owner"], 0)
        eq(root.call("vm-info", vm="roots")["vm"], rvm)         # root prefers its own
        root.call("vm-info", vm=mine)
        root.call("destroy-vm", vm=mine)
        root_sub.wait_event(lambda e: e.get("vm") == mine and e.get("state") == "destroyed")
        root.call("resume-vm", vm=rvm)
        root.call("destroy-vm", vm=rvm)
        # The socket is 0660 with the configured group.
        st = os.stat(d.path)
        eq(oct(st.st_mode & 0o777), "0o660")
        eq(st.st_gid, NOBODY)
    finally:
        d.stop()


def test_autodestroy():
    d = Daemon()
    try:
        w = d.client(subscribe=True)
        c = d.client()
        keep = c.boot_vm("daemon-spin")
        gone = c.boot_vm("daemon-spin", vcpus=2, autodestroy=True)
        c.call("run", vm=gone, vcpu=0)
        c.call("run", vm=gone, vcpu=1)
        c.close()
        w.wait_event(lambda e: e["kind"] == "vm-state" and e["vm"] == gone and
                     e["state"] == "destroyed", timeout=5)
        eq([v["vm"] for v in w.call("list-vms")["vms"]], [keep])
        w.call("destroy-vm", vm=keep)
    finally:
        d.stop()


def settle(d, fds, threads, timeout=5):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if d.fd_count() == fds and d.thread_count() == threads:
            return
        time.sleep(0.02)
    eq((d.fd_count(), d.thread_count()), (fds, threads), "fd and thread counts")


def test_destroy_while_running_and_baseline():
    d = Daemon()
    try:
        w = d.client(subscribe=True)
        c = d.client()
        waiter = d.client()
        c.call("daemon-info")       # accepted: their fds are in the baseline
        waiter.call("daemon-info")
        # Warm up once, so lazily started helper threads (sanitizer runtimes) are counted.
        vm = c.boot_vm("daemon-count")
        c.call("run", vm=vm, vcpu=0, wait=True)
        c.call("destroy-vm", vm=vm)
        w.wait_event(lambda e: e["kind"] == "vm-state" and e["vm"] == vm and
                     e["state"] == "destroyed")
        time.sleep(0.1)
        fds, threads = d.fd_count(), d.thread_count()
        note("baseline: %d fds, %d threads" % (fds, threads))
        vms = [c.boot_vm("daemon-spin", vcpus=2) for _ in range(3)]
        for vm in vms:
            c.call("run", vm=vm, vcpu=0)
        # A vCPU's thread starts with its first run: vCPU 1 of each VM has none yet.
        check(d.thread_count() >= threads + 3, "one thread per vCPU that ran")
        check(d.fd_count() > fds)
        # A run wait pending on another connection is answered when its VM goes.
        c.call("stop", vm=vms[0], vcpu=1)
        pending = waiter.request("run", {"vm": vms[0], "vcpu": 1, "wait": True})
        time.sleep(0.05)
        t0 = time.monotonic()
        for vm in vms:
            eq(c.call("destroy-vm", vm=vm)["vm"], vm)
        check(time.monotonic() - t0 < 0.5, "destroy-vm returns at once")
        r = waiter.response(pending)
        eq(r["error"]["data"]["name"], "no-such-vm")
        for vm in vms:
            w.wait_event(lambda e: e["kind"] == "vm-state" and e["vm"] == vm and
                         e["state"] == "destroyed")
        settle(d, fds, threads)
        # Again, with everything: memory, vCPUs that never ran, parked ones.
        vm = c.boot_vm("daemon-count", vcpus=2)
        c.call("run", vm=vm, vcpu=0, wait=True)
        c.call("destroy-vm", vm=vm)
        w.wait_event(lambda e: e["kind"] == "vm-state" and e["vm"] == vm and
                     e["state"] == "destroyed")
        settle(d, fds, threads)
    finally:
        d.stop()


def test_sigterm_with_running_vms():
    d = Daemon()
    c = d.client()
    for _ in range(4):
        vm = c.boot_vm("daemon-spin", vcpus=2)
        c.call("run", vm=vm, vcpu=0)
        c.call("run", vm=vm, vcpu=1)
    t0 = time.monotonic()
    d.stop()        # checks exit 0 and the socket removed
    check(time.monotonic() - t0 < 5)
    check(c.eof(), "clients are disconnected")


def start_fails(path):
    p = subprocess.run([os.path.join(BUILDDIR, "src/daemon/mshvd"), "--foreground",
                        "--backend", BACKEND, "--socket", path], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20,
                       env=daemon_env())
    check(p.returncode != 0, "mshvd must refuse %s" % path)
    return p.stdout.decode()


def test_socket_file_handling():
    d = Daemon()
    try:
        # In use: refused, the running daemon is unaffected.
        start_fails(d.path)
        d.client().call("daemon-info")
    finally:
        d.stop()
    tmp = Daemon()
    base = tmp.dir
    tmp.stop()
    os.makedirs(base, exist_ok=True)
    # A stale socket left behind by a killed daemon is removed by the next one.
    d = Daemon()
    path = d.path
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    check(os.path.exists(path))
    s = socket.socket(socket.AF_UNIX)
    check(s.connect_ex(path) != 0, "stale")
    s.close()
    p = subprocess.Popen([os.path.join(BUILDDIR, "src/daemon/mshvd"), "--foreground",
                          "--backend", BACKEND, "--socket", path], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=daemon_env())
    end = time.monotonic() + 10
    while True:
        try:
            Client(path).call("daemon-info")
            break
        except OSError:
            check(time.monotonic() < end, "restarted on a stale socket")
            time.sleep(0.02)
    p.send_signal(signal.SIGTERM)
    eq(p.wait(10), 0)
    check(not os.path.exists(path))
    # A regular file and a symlink are never touched.
    with open(path, "w") as f:
        f.write("precious")
    start_fails(path)
    eq(open(path).read(), "precious")
    os.unlink(path)
    target = os.path.join(base, "target")
    with open(target, "w") as f:
        f.write("precious")
    os.symlink(target, path)
    start_fails(path)
    check(os.path.islink(path))
    eq(open(target).read(), "precious")
    os.unlink(path)
    os.unlink(target)
    os.rmdir(base)


run([test_ownership, test_autodestroy, test_destroy_while_running_and_baseline,
     test_sigterm_with_running_vms, test_socket_file_handling])
