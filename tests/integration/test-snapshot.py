#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Snapshots through mshvd: an independent client snapshots a running guest, lets it change
# memory and registers, restores and reads back exactly the snapshot's state; clones run the
# same continuation; only written pages are copied back; events; limits; permissions;
# autodestroy; a failed restore or clone leaves nothing.

import array
import base64
import json
import os
import socket
import struct
import sys
import tempfile
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from mshvd_test import (BACKEND, GUEST_RAM, Daemon, RpcError, Shared,  # noqa: E402
                        backend_has_snapshots, check, eq, note, require_backend, run, skip)

def counter(c, vm):
    return struct.unpack("<I", base64.b64decode(
        c.call("read-memory", vm=vm, gpa=0x500, size=4)["data"]))[0]


def ram(c, vm, size=GUEST_RAM):
    out = b""
    for gpa in range(0, size, 0x10000):
        out += base64.b64decode(c.call("read-memory", vm=vm, gpa=gpa,
                                       size=min(0x10000, size - gpa))["data"])
    return out


def regs(c, vm, vcpu=0):
    return c.call("get-regs", vm=vm, vcpu=vcpu)["regs"]


def expect_error(c, want, method, /, **params):
    try:
        c.call(method, params)
    except RpcError as e:
        eq(e.error["data"]["name"], want, "%s error" % method)
        return e.error
    raise AssertionError("%s succeeded, expected %s" % (method, want))


def test_running_guest_restored_exactly():
    d = Shared.get()
    owner = d.client(subscribe=True)
    vm = owner.boot_vm("daemon-spin")
    owner.call("run", vm=vm, vcpu=0)
    time.sleep(0.05)
    # An independent client (same uid) snapshots while the guest runs.
    other = d.client()
    snap = other.call("snapshot-vm", vm=vm, name="spin-snap")
    eq(snap["name"], "spin-snap")
    eq(snap["vcpus"][0]["state"], "running")
    eq(snap["vm"], vm)
    # The guest kept running through the snapshot.
    eq(owner.call("vm-info", vm=vm)["vcpus"][0]["state"], "running")
    c0 = counter(owner, vm)
    time.sleep(0.05)
    check(counter(owner, vm) > c0, "the guest runs on after the snapshot")
    owner.call("write-memory", vm=vm, gpa=0x8000, data=base64.b64encode(b"\xAA" * 64).decode())
    # Restore: the vCPU ends parked "stopped" at the snapshot's rip.
    r = other.call("restore-vm", vm=vm, snapshot="spin-snap")
    eq(r["snapshot"], snap["snapshot"])
    info = owner.call("vm-info", vm=vm)
    eq(info["vcpus"][0]["state"], "parked")
    eq(info["vcpus"][0]["exit"]["type"], "stopped")
    r1, m1 = regs(owner, vm), ram(owner, vm)
    eq(r1["rip"], snap["vcpus"][0]["rip"])
    eq(m1[0x8000:0x8040], b"\0" * 64, "the daemon's own write is undone")
    # Let it change memory and registers again, then restore: exactly the same state.
    owner.call("set-regs", vm=vm, vcpu=0, regs={"rbx": "0x1234"})
    owner.call("run", vm=vm, vcpu=0)
    time.sleep(0.05)
    owner.call("stop", vm=vm, vcpu=0)
    check(counter(owner, vm) != struct.unpack("<I", m1[0x500:0x504])[0], "the guest changed RAM")
    r = other.call("restore-vm", vm=vm, snapshot=snap["snapshot"])
    eq(regs(owner, vm), r1, "registers after the second restore")
    eq(ram(owner, vm), m1, "memory after the second restore")
    # The second restore of the same base copies only what was written since.
    check(int(r["copied"], 16) <= 0x2000, "copied %s of 0x%x" % (r["copied"], GUEST_RAM))
    # A clone starts in the same state.
    cl = other.call("clone-vm", snapshot="spin-snap", name="spin-clone")
    eq(regs(owner, cl["vm"]), r1, "the clone's registers")
    eq(ram(owner, cl["vm"]), m1, "the clone's memory")
    # Subscribers saw the transitions.
    owner.wait_event(lambda e: e["kind"] == "vm-state" and e["vm"] == vm and
                     e["state"] == "snapshotting")
    owner.wait_event(lambda e: e["kind"] == "vm-state" and e["vm"] == vm and
                     e["state"] == "restoring")
    # The restore ended the run: vcpu-state parked, after an exit "stopped".
    owner.wait_event(lambda e: e["kind"] == "exit" and e["vm"] == vm and
                     e["exit"]["type"] == "stopped")
    owner.wait_event(lambda e: e["kind"] == "vcpu-state" and e["vm"] == vm and
                     e["state"] == "parked")
    other.call("destroy-vm", vm=cl["vm"])
    other.call("destroy-vm", vm=vm)
    other.call("destroy-snapshot", snapshot="spin-snap")
    eq([s for s in other.call("list-snapshots")["snapshots"] if s["name"] == "spin-snap"], [])


def test_two_running_vcpus_and_a_paused_vm():
    c = Shared.get().client()
    vm = c.boot_vm("daemon-spin", vcpus=2)
    for i in (0, 1):
        c.call("run", vm=vm, vcpu=i)
    snaps = [c.call("snapshot-vm", vm=vm)["snapshot"] for _ in range(5)]
    eq([v["state"] for v in c.call("vm-info", vm=vm)["vcpus"]], ["running", "running"])
    # Paused: the snapshot sees the vCPUs paused; the VM stays paused.
    c.call("pause-vm", vm=vm)
    paused = c.call("snapshot-vm", vm=vm)
    eq([v["state"] for v in paused["vcpus"]], ["paused", "paused"])
    eq(c.call("vm-info", vm=vm)["state"], "paused")
    c.call("resume-vm", vm=vm)
    for s in snaps + [paused["snapshot"]]:
        c.call("restore-vm", vm=vm, snapshot=s)
        info = c.call("vm-info", vm=vm)
        eq([v["state"] for v in info["vcpus"]], ["parked", "parked"])
        for i in (0, 1):
            c.call("run", vm=vm, vcpu=i)
    for s in snaps + [paused["snapshot"]]:
        c.call("destroy-snapshot", snapshot=s)
    c.call("destroy-vm", vm=vm)


def exits(c, vm, n):
    out = []
    for _ in range(n):
        e = c.call("run", vm=vm, vcpu=0, wait=True)["exit"]
        out.append((e["type"], e.get("port"), e.get("data"), e["rip"]))
    return out


def test_pending_exit_and_clone_continuation():
    c = Shared.get().client()
    vm = c.boot_vm("daemon-count")
    first = exits(c, vm, 3)
    eq(first[2][:3], ("io", "0x600", "0x2"))
    snap = c.call("snapshot-vm", vm=vm)
    check(snap["vcpus"][0]["pending_exit"], "parked at an OUT: pending")
    cont = exits(c, vm, 5)
    # Restore: the OUT runs again, and the continuation is the same.
    c.call("restore-vm", vm=vm, snapshot=snap["snapshot"])
    eq(c.call("vm-info", vm=vm)["vcpus"][0]["exit"]["type"], "stopped")
    again = exits(c, vm, 6)
    eq(again[0], first[2], "the pending OUT again")
    eq(again[1:], cont, "the same continuation after a restore")
    cl = c.call("clone-vm", snapshot=snap["snapshot"])["vm"]
    eq(exits(c, cl, 6), again, "a clone's continuation")
    c.call("destroy-vm", vm=cl)
    # Parked at an OUT that was completed: nothing is pending any more.
    c.call("complete", vm=vm, vcpu=0)
    done_snap = c.call("snapshot-vm", vm=vm)
    check(not done_snap["vcpus"][0]["pending_exit"], "completed: not pending")
    c.call("destroy-snapshot", snapshot=done_snap["snapshot"])
    c.call("destroy-vm", vm=vm)
    c.call("destroy-snapshot", snapshot=snap["snapshot"])


def test_layout_and_errors():
    c = Shared.get().client()
    vm = c.boot_vm("daemon-count")
    snap = c.call("snapshot-vm", vm=vm, name="layout")["snapshot"]
    expect_error(c, "invalid-params", "snapshot-vm", vm=vm, name="layout")
    expect_error(c, "invalid-params", "snapshot-vm", vm=vm, name="123")
    other = c.call("create-vm")["vm"]
    c.call("map-memory", vm=other, gpa=0, size=0x10000)
    e = expect_error(c, "invalid-params", "restore-vm", vm=other, snapshot=snap)
    eq(e["data"]["reason"], "layout")
    check("region" in e["message"], e["message"])
    c.call("unmap-memory", vm=other, gpa=0)
    c.call("map-memory", vm=other, gpa=0, size=GUEST_RAM)
    e = expect_error(c, "invalid-params", "restore-vm", vm=other, snapshot=snap)
    check("vcpu" in e["message"], e["message"])
    expect_error(c, "no-such-snapshot", "restore-vm", vm=vm, snapshot="nope")
    expect_error(c, "no-such-snapshot", "clone-vm", snapshot=999999)
    expect_error(c, "no-such-snapshot", "destroy-snapshot", snapshot="nope")
    expect_error(c, "invalid-params", "clone-vm", snapshot=snap, name=c.call(
        "vm-info", vm=vm)["name"])
    c.call("destroy-vm", vm=other)
    c.call("destroy-vm", vm=vm)
    c.call("destroy-snapshot", snapshot=snap)


def test_autodestroy():
    d = Shared.get()
    a = d.client()
    vm = a.boot_vm("daemon-count")
    a.call("snapshot-vm", vm=vm, name="auto", autodestroy=True)
    a.call("snapshot-vm", vm=vm, name="kept")
    names = [s["name"] for s in a.call("list-snapshots")["snapshots"]]
    check("auto" in names and "kept" in names, names)
    a.close()
    b = d.client()
    end = time.monotonic() + 5
    while "auto" in [s["name"] for s in b.call("list-snapshots")["snapshots"]]:
        check(time.monotonic() < end, "autodestroy snapshot still there")
        time.sleep(0.02)
    check("kept" in [s["name"] for s in b.call("list-snapshots")["snapshots"]])
    b.call("destroy-snapshot", snapshot="kept")
    b.call("destroy-vm", vm=vm)


def test_client_gone_mid_snapshot():
    d = Shared.get()
    a = d.client()
    vm = a.boot_vm("daemon-spin")
    a.call("run", vm=vm, vcpu=0)
    before = a.call("daemon-info")["counts"]["snapshots"]
    for i in range(20):
        c = d.client()
        c.send({"jsonrpc": "2.0", "id": 1, "method": "snapshot-vm",
                "params": {"vm": vm, "autodestroy": True}})
        c.close()
    time.sleep(0.2)
    eq(a.call("daemon-info")["counts"]["snapshots"], before, "nothing left behind")
    eq(a.call("vm-info", vm=vm)["vcpus"][0]["state"], "running")
    c0 = counter(a, vm)
    time.sleep(0.05)
    check(counter(a, vm) > c0, "the guest still runs")
    a.call("destroy-vm", vm=vm)


def test_permissions():
    d = Shared.get()
    d.open_to_all()
    alice = d.client_as(4101)
    bob = d.client_as(4102)
    vm = alice.boot_vm("daemon-count")
    snap = alice.call("snapshot-vm", vm=vm, name="mine")["snapshot"]
    eq(bob.call("list-snapshots")["snapshots"], [])
    for ref in (snap, "mine"):
        expect_error(bob, "no-such-snapshot", "clone-vm", snapshot=ref)
        expect_error(bob, "no-such-snapshot", "destroy-snapshot", snapshot=ref)
    bvm = bob.call("create-vm")["vm"]
    expect_error(bob, "no-such-snapshot", "restore-vm", vm=bvm, snapshot=snap)
    expect_error(bob, "no-such-vm", "snapshot-vm", vm=vm)
    root = d.client()
    check(snap in [s["snapshot"] for s in root.call("list-snapshots")["snapshots"]])
    eq(bob.call("daemon-info")["counts"]["snapshots"], 0)
    bob.call("destroy-vm", vm=bvm)
    alice.call("destroy-snapshot", snapshot="mine")
    alice.call("destroy-vm", vm=vm)


def test_limits():
    d = Daemon("--max-snapshots", "2", "--max-snapshots-per-uid", "1",
               "--max-snapshot-mem-per-uid", "0x100000")
    try:
        d.open_to_all()
        u = d.client_as(4201)
        vm = u.boot_vm("daemon-count")
        u.call("snapshot-vm", vm=vm)
        e = expect_error(u, "limit-exceeded", "snapshot-vm", vm=vm)
        eq(e["data"]["limit"], "max-snapshots-per-uid")
        root = d.client()
        root.call("snapshot-vm", vm=vm)
        e = expect_error(root, "limit-exceeded", "snapshot-vm", vm=vm)
        eq(e["data"]["limit"], "max-snapshots")
        for s in root.call("list-snapshots")["snapshots"]:
            root.call("destroy-snapshot", snapshot=s["snapshot"])
        big = u.call("create-vm")["vm"]
        u.call("map-memory", vm=big, gpa=0, size=0x200000)
        e = expect_error(u, "limit-exceeded", "snapshot-vm", vm=big)
        eq(e["data"]["limit"], "max-snapshot-mem-per-uid")
        eq(root.call("list-snapshots")["snapshots"], [])
        lim = root.call("daemon-info")["limits"]
        eq((lim["max-snapshots"], lim["max-snapshots-per-uid"]), (2, 1))
    finally:
        d.stop()


def test_clone_limits_leave_nothing():
    d = Daemon("--max-vms", "1")
    try:
        c = d.client()
        vm = c.boot_vm("daemon-count")
        snap = c.call("snapshot-vm", vm=vm)["snapshot"]
        e = expect_error(c, "limit-exceeded", "clone-vm", snapshot=snap)
        eq(e["data"]["limit"], "max-vms")
        eq(len(c.call("list-vms")["vms"]), 1)
    finally:
        d.stop()


def call_with_fd(c, method, params, fd):
    """A request whose first byte carries descriptor fd (SCM_RIGHTS); returns the response."""
    id = c.next_id
    c.next_id += 1
    data = (json.dumps({"jsonrpc": "2.0", "id": id, "method": method, "params": params}) +
            "\n").encode()
    if c.tracker:
        c.tracker.sent(data)
    n = c.sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                 array.array("i", [fd]))])
    c.sock.sendall(data[n:])
    return c.response(id)


def save(c, snap):
    f = tempfile.TemporaryFile()
    r = call_with_fd(c, "save-snapshot", {"snapshot": snap}, f.fileno())
    check("result" in r, r)
    f.seek(0)
    return f, r["result"]


def load(c, data, **params):
    f = tempfile.TemporaryFile()
    f.write(data)
    f.seek(0)
    r = call_with_fd(c, "load-snapshot", params, f.fileno())
    f.close()
    return r


def test_save_load_round_trip():
    d = Shared.get()
    c = d.client()
    c.call("daemon-info")       # accepted: its socket is counted
    fds = d.fd_count()
    vm = c.boot_vm("daemon-count")
    exits(c, vm, 2)
    snap = c.call("snapshot-vm", vm=vm, name="to-file")
    f, r = save(c, "to-file")
    data = f.read()
    f.close()
    eq(int(r["bytes"], 16), len(data))
    eq(data[:8], b"MSHVSNAP")
    cont = exits(c, vm, 4)
    r = load(c, data, name="from-file")
    loaded = r["result"]
    eq((loaded["memory"], loaded["backend"], loaded["vm"]), (snap["memory"], snap["backend"], None))
    eq(loaded["vcpus"], snap["vcpus"])
    # The loaded snapshot restores and clones like the original.
    c.call("restore-vm", vm=vm, snapshot="from-file")
    eq(exits(c, vm, 5)[1:], cont)
    cl = c.call("clone-vm", snapshot="from-file")["vm"]
    eq(exits(c, cl, 5)[1:], cont)
    # Malformed files: nothing is created.
    before = c.call("daemon-info")["counts"]["snapshots"]
    for bad, what in ((data[:100], "truncated"), (data[:-1], "truncated"),
                      (b"NOTSNAPS" + data[8:], "magic"),
                      (data[:8] + b"\x09" + data[9:], "version"),
                      (data[:-9] + bytes([data[-9] ^ 1]) + data[-8:], "checksum"),
                      (data[:32] + struct.pack("<Q", 1 << 62) + data[40:], "size"),
                      (b"", "empty")):
        r = load(c, bad)
        check("error" in r, "%s: %r" % (what, r))
        eq(r["error"]["data"]["name"], "invalid-params", what)
        eq(r["error"]["data"]["reason"], "file", what)
    # Pipelined: a line without a descriptor, then one with it, arriving together: the
    # descriptor goes to the line it was sent with.
    f = tempfile.TemporaryFile()
    f.write(data)
    f.seek(0)
    first = c.request("list-snapshots")
    r = call_with_fd(c, "load-snapshot", {"name": "pipelined"}, f.fileno())
    f.close()
    check("result" in c.response(first))
    eq(r.get("result", {}).get("name"), "pipelined", "the descriptor's line: %r" % r)
    c.call("destroy-snapshot", snapshot="pipelined")
    # No descriptor; not a regular file.
    e = c.error("load-snapshot")
    eq(e.data["reason"], "no-fd")
    rd, wr = os.pipe()
    r = call_with_fd(c, "save-snapshot", {"snapshot": "to-file"}, wr)
    eq(r["error"]["data"]["reason"], "file")
    os.close(rd)
    os.close(wr)
    # A descriptor sent with a method that takes none is closed.
    f = tempfile.TemporaryFile()
    call_with_fd(c, "list-snapshots", {}, f.fileno())
    f.close()
    eq(c.call("daemon-info")["counts"]["snapshots"], before)
    for name in ("to-file", "from-file"):
        c.call("destroy-snapshot", snapshot=name)
    c.call("destroy-vm", vm=cl)
    c.call("destroy-vm", vm=vm)
    # The VMs' memfds close when their teardown thread is done.
    end = time.monotonic() + 5
    while d.fd_count() != fds and time.monotonic() < end:
        time.sleep(0.02)
    eq(d.fd_count(), fds, "no descriptor leaked")


def fault_daemon(spec):
    """A daemon whose mshv-sim fails the hypervisor call of spec; None when the fault hit the
    backend's probe at start-up."""
    os.environ["MSHV_SIM_FAULT"] = spec
    try:
        return Daemon()
    except RuntimeError:
        return None
    finally:
        del os.environ["MSHV_SIM_FAULT"]


def injected(rule, scenario):
    """Run scenario(c) on daemons failing the nth call of rule, nth = 1, 2, ... until the
    scenario reports that its snapshot call failed; True then."""
    for nth in range(1, 60):
        d = fault_daemon("%s:nth=%d" % (rule, nth))
        if not d:
            continue
        try:
            c = d.client()
            if scenario(c):
                return True
        finally:
            d.stop()
    return False


def test_injected_failures_leave_nothing():
    if BACKEND != "mshv" or not os.environ.get("MSHVD_TEST_PRELOAD"):
        note("injected hypervisor errors: only on the mshv backend with the mshv-sim")
        return

    def snapshot_fails(c):
        try:
            vm = c.boot_vm("daemon-count")
            exits(c, vm, 2)
        except (RpcError, AssertionError):
            return False            # the fault hit the setup: next nth
        before = c.call("vm-info", vm=vm)
        try:
            c.call("snapshot-vm", vm=vm, name="f")
            return False
        except RpcError as e:
            eq(e.name, "hypervisor-error", "snapshot-vm under a fault")
        eq(c.call("list-snapshots")["snapshots"], [], "no half-made snapshot")
        eq(c.call("daemon-info")["counts"]["snapshots"], 0)
        eq(c.call("vm-info", vm=vm)["vcpus"], before["vcpus"], "the vCPUs as before")
        # The VM carries on, and a second snapshot works (the fault was the nth call only).
        eq(exits(c, vm, 1)[0][:3], ("io", "0x600", "0x2"))
        c.call("snapshot-vm", vm=vm, name="f")
        return True

    def restore_fails(c):
        try:
            vm = c.boot_vm("daemon-count")
            exits(c, vm, 2)
            snap = c.call("snapshot-vm", vm=vm)["snapshot"]
            exits(c, vm, 3)
        except (RpcError, AssertionError):
            return False
        r0, m0 = regs(c, vm), ram(c, vm)
        info = c.call("vm-info", vm=vm)
        try:
            c.call("restore-vm", vm=vm, snapshot=snap)
            return False
        except RpcError as e:
            eq(e.name, "hypervisor-error", "restore-vm under a fault")
        eq(regs(c, vm), r0, "registers as before the failed restore")
        eq(ram(c, vm), m0, "memory as before the failed restore")
        eq(c.call("vm-info", vm=vm)["vcpus"], info["vcpus"], "vCPU states as before")
        c.call("restore-vm", vm=vm, snapshot=snap)
        eq(exits(c, vm, 1)[0][:3], ("io", "0x600", "0x1"), "the restore works after")
        return True

    check(injected("hvcall=0x50", snapshot_fails), "a get-registers fault never hit snapshot-vm")
    check(injected("hvcall=0x51", restore_fails), "a set-registers fault never hit restore-vm")


def snapshot_info(c, snap):
    return [s for s in c.call("list-snapshots")["snapshots"] if s["snapshot"] == snap][0]


def wait_spare(c, snap, timeout=10.0):
    """Until the warm snapshot's spare is built (it is built after the reply, on the loop)."""
    end = time.monotonic() + timeout
    while not snapshot_info(c, snap)["spare_ready"]:
        check(time.monotonic() < end, "snapshot %d: no spare ready" % snap)
        time.sleep(0.002)


def vm_events(c, vm):
    """The events of vm collected so far, without what differs between two VMs."""
    return [{k: v for k, v in e.items() if k not in ("seq", "time", "vm", "name")}
            for e in c.events if e.get("vm") == vm]


def vm_state(c, vm, vcpus):
    info = c.call("vm-info", vm=vm)
    for k in ("vm", "name"):
        info.pop(k)
    return info, [regs(c, vm, i) for i in range(vcpus)], ram(c, vm)


def test_warm_clone_equals_cold():
    c = Shared.get().client(subscribe=True)
    # vCPU 0 parked at a pending OUT, vCPU 1 never run.
    vm = c.boot_vm("daemon-count", vcpus=2)
    exits(c, vm, 3)
    cold = c.call("snapshot-vm", vm=vm)["snapshot"]
    warm = c.call("snapshot-vm", vm=vm, warm=True)
    eq((warm["warm"], warm["spare_ready"]), (True, False), "a warm snapshot's reply")
    warm = warm["snapshot"]
    eq((snapshot_info(c, cold)["warm"], snapshot_info(c, cold)["spare_ready"]), (False, False))
    wait_spare(c, warm)
    vms_before = [v["vm"] for v in c.call("list-vms")["vms"]]
    eq(len(vms_before), 1, "the spare is in no list")
    a = c.call("clone-vm", snapshot=cold)["vm"]
    b = c.call("clone-vm", snapshot=warm)
    eq((b["snapshot"], b["name"]), (warm, "vm-%d" % b["vm"]), "the warm clone's reply")
    b = b["vm"]
    eq(b, a + 1, "the spare takes the next id when handed out")
    eq(vm_state(c, b, 2), vm_state(c, a, 2), "a warm clone is a cold clone")
    c.drain()
    eq(vm_events(c, b), vm_events(c, a), "the same events in the same order")
    check(vm_events(c, a), "the clone's events")
    eq(exits(c, b, 5), exits(c, a, 5), "the same continuation")
    # The next clone gets a fresh spare, untouched by the first clone's run.
    wait_spare(c, warm)
    d = c.call("clone-vm", snapshot=warm, name="warm-2")["vm"]
    check(d not in (a, b))
    e = c.call("clone-vm", snapshot=cold)["vm"]
    eq(vm_state(c, d, 2), vm_state(c, e, 2), "the second warm clone is a cold clone too")
    for x in (a, b, d, e, vm):
        c.call("destroy-vm", vm=x)
    for s in (cold, warm):
        c.call("destroy-snapshot", snapshot=s)


def test_warm_spare_leaves_nothing():
    d = Daemon()
    try:
        c = d.client()
        vm = c.boot_vm("daemon-count")
        exits(c, vm, 2)
        counts = c.call("daemon-info")["counts"]
        fds, threads = d.fd_count(), d.thread_count()

        def settled(what):
            end = time.monotonic() + 10
            while (d.fd_count(), d.thread_count()) != (fds, threads):
                check(time.monotonic() < end, "%s: fds %d -> %d, threads %d -> %d" % (
                    what, fds, d.fd_count(), threads, d.thread_count()))
                time.sleep(0.01)
            eq(c.call("daemon-info")["counts"], counts, what + ": daemon-info counts")

        snap = c.call("snapshot-vm", vm=vm, warm=True)["snapshot"]
        wait_spare(c, snap)
        eq(c.call("daemon-info")["counts"]["vms"], counts["vms"], "the spare is not counted")
        check(d.fd_count() > fds, "the spare holds its memory")
        eq(d.thread_count(), threads, "an idle spare has no threads")
        c.call("destroy-snapshot", snapshot=snap)
        settled("destroy-snapshot with a ready spare")
        # A warm clone, then the snapshot with its next spare, then the clone.
        snap = c.call("snapshot-vm", vm=vm, warm=True)["snapshot"]
        wait_spare(c, snap)
        cl = c.call("clone-vm", snapshot=snap)["vm"]
        wait_spare(c, snap)
        c.call("destroy-snapshot", snapshot=snap)
        c.call("destroy-vm", vm=cl)
        settled("a warm clone and its snapshot destroyed")
        # autodestroy: the connection closes with the spare ready.
        o = d.client()
        snap = o.call("snapshot-vm", vm=vm, warm=True, autodestroy=True)["snapshot"]
        wait_spare(o, snap)
        o.close()
        end = time.monotonic() + 10
        while c.call("daemon-info")["counts"]["snapshots"] != counts["snapshots"]:
            check(time.monotonic() < end, "the autodestroy snapshot is gone")
            time.sleep(0.01)
        settled("an autodestroy warm snapshot")
        # Shutdown with a ready spare: the reaper tears it down, the daemon exits 0.
        snap = c.call("snapshot-vm", vm=vm, warm=True)["snapshot"]
        wait_spare(c, snap)
    finally:
        d.stop()


def test_warm_limits():
    d = Daemon("--max-snapshot-mem-per-uid", hex(GUEST_RAM * 3 // 2))
    try:
        d.open_to_all()
        c = d.client_as(4202)
        vm = c.boot_vm("daemon-count")
        e = expect_error(c, "limit-exceeded", "snapshot-vm", vm=vm, warm=True)
        eq(e["data"]["limit"], "max-snapshot-mem-per-uid")
        eq(c.call("list-snapshots")["snapshots"], [], "no snapshot after the refusal")
        cold = c.call("snapshot-vm", vm=vm)
        check(int(cold["size"], 16) < GUEST_RAM * 3 // 2)
        c.call("destroy-snapshot", snapshot=cold["snapshot"])
    finally:
        d.stop()
    d = Daemon("--max-vms", "2")
    try:
        c = d.client()
        vm = c.boot_vm("daemon-count")
        snap = c.call("snapshot-vm", vm=vm, warm=True)
        eq(int(snap["size"], 16), int(c.call("snapshot-vm", vm=vm)["size"], 16) + GUEST_RAM,
           "a warm snapshot's size counts its spare's RAM")
        snap = snap["snapshot"]
        wait_spare(c, snap)
        # The spare is the second partition: no room for another VM ...
        e = expect_error(c, "limit-exceeded", "create-vm")
        eq(e["data"]["limit"], "max-vms")
        # ... but handing it out adds none; the next one finds no room: the snapshot is cold.
        cl = c.call("clone-vm", snapshot=snap)["vm"]
        eq(snapshot_info(c, snap)["spare_ready"], False, "no room for the next spare")
        e = expect_error(c, "limit-exceeded", "clone-vm", snapshot=snap)
        eq(e["data"]["limit"], "max-vms")
        c.call("destroy-vm", vm=cl)
        eq(len(c.call("list-vms")["vms"]), 1)
    finally:
        d.stop()


def test_injected_spare_failure_stays_cold():
    """A spare whose vCPU the hypervisor refuses: the call that scheduled it succeeded, the
    snapshot stays cold and the half-built spare leaves nothing; the next clone is cold and
    builds the next spare."""
    if BACKEND != "mshv" or not os.environ.get("MSHVD_TEST_PRELOAD"):
        note("an injected spare failure: only on the mshv backend with the mshv-sim")
        return
    for nth in range(1, 30):
        d = fault_daemon("ioctl=0x4004B801:nth=%d" % nth)      # MSHV_CREATE_VP
        if not d:
            continue
        try:
            c = d.client()
            try:
                vm = c.boot_vm("daemon-count")
            except RpcError:
                continue                # the fault hit the setup: next nth
            counts = c.call("daemon-info")["counts"]
            fds, threads = d.fd_count(), d.thread_count()
            snap = c.call("snapshot-vm", vm=vm, warm=True)["snapshot"]
            end = time.monotonic() + 10
            while not snapshot_info(c, snap)["spare_ready"]:
                if "building a spare failed" in d.log_text():
                    break
                check(time.monotonic() < end, "neither a spare nor its failure")
                time.sleep(0.005)
            else:
                continue                # the fault is later: next nth
            eq(snapshot_info(c, snap)["spare_ready"], False, "cold after the failure")
            end = time.monotonic() + 10
            while (d.fd_count(), d.thread_count()) != (fds, threads):
                check(time.monotonic() < end, "the failed spare left descriptors or threads")
                time.sleep(0.01)
            now = c.call("daemon-info")["counts"]
            eq((now["vms"], now["vcpus"]), (counts["vms"], counts["vcpus"]))
            cl = c.call("clone-vm", snapshot=snap)["vm"]
            eq(regs(c, cl), regs(c, vm), "the cold clone after a failed spare")
            wait_spare(c, snap)
            return
        finally:
            d.stop()
    raise AssertionError("a create-vp fault never hit a spare")


def test_zz_stop_shared():
    Shared.get().stop()


require_backend()
if not backend_has_snapshots(Shared.get().client()):
    Shared.get().stop()
    skip("the %s backend has no snapshots (snapshot-vm: unsupported)" % BACKEND)
run([test_running_guest_restored_exactly, test_two_running_vcpus_and_a_paused_vm,
     test_pending_exit_and_clone_continuation,
     test_layout_and_errors, test_autodestroy, test_client_gone_mid_snapshot, test_permissions,
     test_limits, test_clone_limits_leave_nothing, test_save_load_round_trip,
     test_injected_failures_leave_nothing, test_warm_clone_equals_cold,
     test_warm_spare_leaves_nothing, test_warm_limits, test_injected_spare_failure_stays_cold,
     test_zz_stop_shared])
