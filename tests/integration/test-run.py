#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Running guests through mshvd: step and stream modes, complete for IN and MMIO reads, stop,
# run timeouts, pause/resume.

import base64
import json
import struct
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from mshvd_test import Shared, check, eq, run  # noqa: E402

MMIO = 0xD0000


def counter(c, vm):
    return struct.unpack("<I", base64.b64decode(
        c.call("read-memory", vm=vm, gpa=0x500, size=4)["data"]))[0]


def test_complete_in_and_mmio_read():
    c = Shared.get().client(subscribe=True)
    vm = c.boot_vm("daemon-in")
    r = c.call("run", vm=vm, vcpu=0, wait=True)
    ex = r["exit"]
    eq((ex["type"], ex["port"], ex["size"], ex["direction"], ex["rip"]),
       ("io", "0x610", 1, "in", "0x1003"))
    check("data" not in ex)
    eq(c.call("vm-info", vm=vm)["vcpus"][0]["state"], "parked")
    eq(c.call("complete", vm=vm, vcpu=0, value="0x41")["rip"], "0x1004")
    # complete does not resume; a second complete changes nothing.
    eq(c.call("get-regs", vm=vm, vcpu=0, names=["rip"])["regs"]["rip"], "0x1004")
    r = c.call("run", vm=vm, vcpu=0, wait=True)
    eq((r["exit"]["type"], r["exit"]["port"], r["exit"]["data"]), ("io", "0x600", "0x42"))
    r = c.call("run", vm=vm, vcpu=0, wait=True)
    ex = r["exit"]
    eq((ex["type"], ex["gpa"], ex["size"], ex["direction"]), ("mmio", "0xd0020", 2, "read"))
    check(ex["rip"].startswith("0x10"))
    c.call("complete", vm=vm, vcpu=0, value=0x1233)
    r = c.call("run", vm=vm, vcpu=0, wait=True)
    eq((r["exit"]["port"], r["exit"]["size"], r["exit"]["data"]), ("0x600", 2, "0x1234"))
    r = c.call("run", vm=vm, vcpu=0, wait=True)
    eq(r["exit"]["type"], "halt")
    # Each parking exit was an event too, with vcpu-state events around it.
    exits = [e for e in c.events if e["kind"] == "exit"]
    eq([e["exit"]["type"] for e in exits], ["io", "io", "mmio", "io", "halt"])
    states = [e["state"] for e in c.events if e["kind"] == "vcpu-state"]
    eq(states[-2:], ["running", "parked"])
    info = c.call("vm-info", vm=vm)
    eq(info["exits"]["io"], 3)
    eq(info["exits"]["mmio"], 1)
    eq(info["exits"]["halt"], 1)
    eq(info["vcpus"][0]["exit"]["type"], "halt")
    c.call("destroy-vm", vm=vm)
    c.close()


def test_uncompleted_read_gets_all_ones():
    c = Shared.get().client()
    vm = c.boot_vm("daemon-in")
    eq(c.call("run", vm=vm, vcpu=0, wait=True)["exit"]["direction"], "in")
    r = c.call("run", vm=vm, vcpu=0, wait=True)     # no complete: reads return all ones
    eq(r["exit"]["data"], "0x0")                    # 0xff + 1 in AL
    c.call("destroy-vm", vm=vm)
    c.close()


def test_complete_regs_rip_override():
    c = Shared.get().client()
    vm = c.boot_vm("daemon-in")
    c.call("run", vm=vm, vcpu=0, wait=True)
    # Skip to the MMIO part: rip from regs wins over the advance; rax set too.
    eq(c.call("complete", vm=vm, vcpu=0, value=1, regs={"rip": "0x100a", "rax": 0})["rip"],
       "0x100a")
    r = c.call("run", vm=vm, vcpu=0, wait=True)
    eq((r["exit"]["type"], r["exit"]["rip"]), ("mmio", "0x100f"))
    c.call("destroy-vm", vm=vm)
    c.close()


def test_step_mode():
    c = Shared.get().client(subscribe=True)
    vm = c.boot_vm("daemon-stream")
    got = []
    for i in range(5):
        r = c.call("run", vm=vm, vcpu=0, wait=True, mode="step")
        got.append(int(r["exit"]["data"], 16))
    eq(bytes(got), b"abcde")
    r = c.call("run", vm=vm, vcpu=0, wait=True)
    eq((r["exit"]["type"], r["exit"]["gpa"], r["exit"]["direction"], r["exit"]["data"]),
       ("mmio", "0xd0030", "write", "0x1234"))
    r = c.call("run", vm=vm, vcpu=0, wait=True)
    eq((r["exit"]["type"], r["exit"]["direction"]), ("io", "in"))
    c.call("destroy-vm", vm=vm)
    c.close()


def test_stream_mode():
    c = Shared.get().client(subscribe=True)
    vm = c.boot_vm("daemon-stream")
    start = len(c.events)
    eq(c.call("run", vm=vm, vcpu=0, mode="stream")["state"], "running")
    # Writes stream as events while the vCPU continues; the read parks.
    park = c.wait_event(lambda e: e["kind"] == "vcpu-state" and e["state"] == "parked",
                        start=start)
    exits = [e for e in c.events[start:] if e["kind"] == "exit" and e["seq"] < park["seq"]]
    eq([e["exit"]["type"] for e in exits], ["io"] * 5 + ["mmio", "io"])
    eq(bytes(int(e["exit"]["data"], 16) for e in exits[:5]), b"abcde")
    eq(exits[5]["exit"]["data"], "0x1234")
    eq(exits[6]["exit"]["direction"], "in")
    states = [e["state"] for e in c.events[start:] if e["kind"] == "vcpu-state"]
    eq(states, ["running", "parked"])   # no park for the streamed writes
    c.call("complete", vm=vm, vcpu=0, value=0x5a)
    r = c.call("run", vm=vm, vcpu=0, mode="stream", wait=True)
    eq(r["exit"]["type"], "halt")       # the OUT of 0x5a streamed by, halt parks
    ev = [e for e in c.events if e["kind"] == "exit" and e["seq"] < r["seq"]][-1]
    eq((ev["exit"]["port"], ev["exit"]["data"]), ("0x600", "0x5a"))
    c.call("destroy-vm", vm=vm)

    # default_read: the read does not park either.
    vm = c.boot_vm("daemon-stream")
    start = len(c.events)
    r = c.call("run", vm=vm, vcpu=0, mode="stream", wait=True, default_read="0x33")
    eq(r["exit"]["type"], "halt")
    exits = [e["exit"] for e in c.events[start:] if e["kind"] == "exit"]
    eq(len(exits), 9)
    eq((exits[6]["direction"], exits[6]["data"]), ("in", "0x33"))
    eq(exits[7]["data"], "0x33")
    c.call("destroy-vm", vm=vm)
    c.close()


def test_stop_spinning_guest():
    c = Shared.get().client(subscribe=True)
    vm = c.boot_vm("daemon-spin")
    c.call("run", vm=vm, vcpu=0)
    time.sleep(0.2)
    # The 100 ms bound holds for the median of five stops; on a loaded 2-CPU machine (sanitizer
    # builds, parallel tests) one stop may wait for the scheduler, but never for long.
    took_all = []
    for i in range(5):
        t0 = time.monotonic()
        r = c.call("stop", vm=vm, vcpu=0)
        took = time.monotonic() - t0
        took_all.append(took)
        check(took < 1.0, "stop took %.3f s" % took)
        eq(r["exit"]["type"], "stopped")
        check(0x1000 <= int(r["exit"]["rip"], 16) < 0x1010, r["exit"]["rip"])
        eq(r["kind"], "exit")
        n = counter(c, vm)
        check(n > 0, "the guest ran")
        time.sleep(0.02)
        eq(counter(c, vm), n, "stopped means stopped")
        # Parked: stop answers at once with the same exit.
        eq(c.call("stop", vm=vm, vcpu=0)["seq"], r["seq"])
        c.call("run", vm=vm, vcpu=0)
        time.sleep(0.05)
    took_all.sort()
    check(took_all[2] < 0.1, "median stop took %.3f s" % took_all[2])
    c.call("stop", vm=vm, vcpu=0)
    c.call("destroy-vm", vm=vm)
    c.close()


def test_step_wire_order():
    """The run reply precedes the exit event of its step; the exit event precedes the reply
    of run {wait} (a step that the loop may run itself, on backends with a bounded run)."""
    c = Shared.get().client(subscribe=True)
    vm = c.boot_vm("daemon-count")
    for wait in (False, True, False, True):
        ident = c.request("run", {"vm": vm, "vcpu": 0, "mode": "step", "wait": wait})
        order = []
        end = time.monotonic() + 10
        while len(order) < 2 and time.monotonic() < end:
            line = c.sock.recv(1 << 16) if b"\n" not in c.buf else b""
            c.buf += line
            while b"\n" in c.buf:
                raw, c.buf = c.buf.split(b"\n", 1)
                msg = json.loads(raw)
                if msg.get("id") == ident:
                    order.append("reply")
                elif msg.get("method") == "event" and msg["params"]["kind"] == "exit" and \
                        msg["params"]["vm"] == vm:
                    order.append("exit")
        eq(order, ["exit", "reply"] if wait else ["reply", "exit"], "wait=%s" % wait)
    c.call("destroy-vm", vm=vm)
    c.close()


def test_step_spin_stays_responsive():
    """A stepped guest that never exits goes on running past the loop's bound (its thread
    takes it over): other clients are served meanwhile and stop still parks it."""
    d = Shared.get()
    c = d.client()
    other = d.client()
    vm = c.boot_vm("daemon-spin")
    for round in range(3):
        eq(c.call("run", vm=vm, vcpu=0, mode="step")["state"], "running")
        # Served while the guest spins: plain requests and another VM's steps.
        vm2 = other.boot_vm("daemon-count")
        for i in range(20):
            other.call("daemon-info", timeout=5)
            r = other.call("run", vm=vm2, vcpu=0, mode="step", wait=True, timeout=5)
            eq((r["exit"]["type"], int(r["exit"]["data"], 16)), ("io", i))
        other.call("destroy-vm", vm=vm2)
        eq(c.call("vm-info", vm=vm)["vcpus"][0]["state"], "running")
        deadline = time.monotonic() + 10
        while counter(c, vm) < 100000 and time.monotonic() < deadline:
            time.sleep(0.01)
        r = c.call("stop", vm=vm, vcpu=0, timeout=5)
        eq(r["exit"]["type"], "stopped")
        check(0x1000 <= int(r["exit"]["rip"], 16) < 0x1010, r["exit"]["rip"])
        n = counter(c, vm)
        # Far beyond one bound of the loop's step (two instructions a count).
        check(n >= 100000, "the guest ran on: %d" % n)
        time.sleep(0.02)
        eq(counter(c, vm), n, "stopped means stopped")
        c.call("write-memory", vm=vm, gpa=0x500, data=base64.b64encode(bytes(4)).decode())
    c.call("destroy-vm", vm=vm)
    other.close()
    c.close()


def test_run_wait_timeout():
    c = Shared.get().client()
    vm = c.boot_vm("daemon-spin")
    t0 = time.monotonic()
    e = c.error("run", vm=vm, vcpu=0, wait=True, timeout_ms=100)
    eq(e.name, "timeout")
    eq(e.code, 8)
    check(time.monotonic() - t0 < 2)
    eq(c.call("vm-info", vm=vm)["vcpus"][0]["state"], "running")
    eq(c.call("stop", vm=vm, vcpu=0)["exit"]["type"], "stopped")
    c.call("destroy-vm", vm=vm)
    c.close()


def test_pause_resume():
    c = Shared.get().client(subscribe=True)
    vm = c.boot_vm("daemon-spin", vcpus=2)
    c.call("run", vm=vm, vcpu=0)
    c.call("run", vm=vm, vcpu=1)
    time.sleep(0.05)
    eq(c.call("pause-vm", vm=vm)["state"], "paused")
    info = c.call("vm-info", vm=vm)
    eq([v["state"] for v in info["vcpus"]], ["paused", "paused"])
    n = counter(c, vm)
    time.sleep(0.05)
    eq(counter(c, vm), n, "paused means no progress")
    c.call("resume-vm", vm=vm)
    # Resumed: progress within seconds (a loaded machine or a sanitizer build may take more
    # than a few ms; a lost wake-up never progresses).
    deadline = time.monotonic() + 10
    while counter(c, vm) == n and time.monotonic() < deadline:
        time.sleep(0.01)
    check(counter(c, vm) != n, "resumed")
    eq(c.call("stop", vm=vm, vcpu=0)["exit"]["type"], "stopped")
    eq(c.call("stop", vm=vm, vcpu=1)["exit"]["type"], "stopped")
    c.wait_event(lambda e: e["kind"] == "vm-state" and e["state"] == "paused")
    c.call("destroy-vm", vm=vm)
    c.close()


def test_zz_stop_shared():
    Shared.get().stop()


run([test_complete_in_and_mmio_read, test_uncompleted_read_gets_all_ones,
     test_complete_regs_rip_override, test_step_mode, test_stream_mode,
     test_stop_spinning_guest, test_step_wire_order, test_step_spin_stays_responsive,
     test_run_wait_timeout, test_pause_resume, test_zz_stop_shared])
