#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Every mshvd method of the daemon issue: success and each documented error.

import base64
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from mshvd_test import GUEST_RAM, Daemon, Shared, check, eq, hx, run  # noqa: E402


def b64(data):
    return base64.b64encode(data).decode()


def err(e, name, code=None):
    eq(e.name, name, "error name (%s)" % e)
    if code is not None:
        eq(e.code, code)


def test_vm_lifecycle():
    c = Shared.get().client(subscribe=True)
    r = c.call("create-vm", name="alpha")
    vm = r["vm"]
    check(isinstance(vm, int))
    c.wait_event(lambda e: e["kind"] == "vm-state" and e["vm"] == vm and e["state"] == "created")
    # Default names; names are unique per owner.
    other = c.call("create-vm")
    check(other["name"])
    err(c.error("create-vm", name="alpha"), "invalid-params", -32602)
    err(c.error("create-vm", name="12"), "invalid-params")
    err(c.error("create-vm", name="a b"), "invalid-params")
    err(c.error("create-vm", name=""), "invalid-params")
    # Lookup by id or name.
    eq(c.call("vm-info", vm="alpha")["vm"], vm)
    eq(c.call("vm-info", vm=vm)["name"], "alpha")
    names = [v["name"] for v in c.call("list-vms")["vms"]]
    check("alpha" in names and other["name"] in names)
    info = c.call("vm-info", vm=vm)
    eq(info["state"], "created")
    eq(info["regions"], [])
    eq(info["vcpus"], [])
    check("exits" in info and "eventfds" in info)
    # Unknown VM errors.
    for ref in (999999, "nope"):
        for m in ("vm-info", "destroy-vm", "pause-vm", "resume-vm"):
            err(c.error(m, vm=ref), "no-such-vm", 1)
    err(c.error("map-memory", vm=999, gpa=0, size=4096), "no-such-vm")
    # Pause / resume.
    err(c.error("resume-vm", vm=vm), "invalid-state", 5)
    eq(c.call("pause-vm", vm=vm)["state"], "paused")
    err(c.error("pause-vm", vm=vm), "invalid-state")
    eq(c.call("vm-info", vm=vm)["state"], "paused")
    c.call("resume-vm", vm=vm)
    check(c.call("vm-info", vm=vm)["state"] != "paused")
    # Destroy: returns at once, then the event; the VM is gone for every method.
    eq(c.call("destroy-vm", vm="alpha")["vm"], vm)
    c.wait_event(lambda e: e["kind"] == "vm-state" and e["vm"] == vm and
                 e["state"] == "destroyed")
    err(c.error("vm-info", vm=vm), "no-such-vm")
    err(c.error("destroy-vm", vm=vm), "no-such-vm")
    c.call("destroy-vm", vm=other["vm"])
    # The name is free again.
    again = c.call("create-vm", name="alpha")
    check(again["vm"] != vm)
    c.call("destroy-vm", vm=again["vm"])
    c.close()


def test_vm_options():
    c = Shared.get().client()
    caps = c.call("daemon-info")["capabilities"]
    for opt, cap in (("irqchip", "irqchip"), ("lapic", "lapic"), ("x2apic", "x2apic")):
        if cap in caps:
            vm = c.call("create-vm", {opt: True})["vm"]
            eq(c.call("vm-info", vm=vm)["options"][opt], True)
            c.call("destroy-vm", vm=vm)
        else:
            err(c.error("create-vm", {opt: True}), "unsupported", 7)
    c.close()


def test_limits():
    d = Daemon("--max-vms", "2", "--max-vcpus", "2", "--max-mem-per-vm", "64K",
               "--max-io", "8K")
    try:
        c = d.client()
        a = c.call("create-vm")["vm"]
        c.call("create-vm")
        e = c.error("create-vm")
        err(e, "limit-exceeded", 4)
        eq(e.data["limit"], "max-vms")
        c.call("create-vcpu", vm=a, index=1)
        e = c.error("create-vcpu", vm=a, index=2)
        err(e, "limit-exceeded")
        eq(e.data["limit"], "max-vcpus")
        c.call("map-memory", vm=a, gpa=0, size=0x8000)
        c.call("map-memory", vm=a, gpa=0x10000, size=0x8000)
        e = c.error("map-memory", vm=a, gpa=0x20000, size=0x1000)
        eq(e.data["limit"], "max-mem-per-vm")
        e = c.error("read-memory", vm=a, gpa=0, size=8193)
        eq(e.data["limit"], "max-io")
        e = c.error("write-memory", vm=a, gpa=0, data=b64(bytes(8193)))
        eq(e.data["limit"], "max-io")
        eq(c.call("read-memory", vm=a, gpa=0, size=8192)["size"], 8192)
        info = c.call("daemon-info")
        eq(info["limits"]["max-vms"], 2)
        eq(info["limits"]["max-mem-per-vm"], "0x10000")
        eq(info["counts"]["vms"], 2)
    finally:
        d.stop()


def test_memory():
    c = Shared.get().client()
    vm = c.call("create-vm")["vm"]
    eq(c.call("map-memory", vm=vm, gpa="0x0", size=hx(0x10000))["size"], "0x10000")
    # Alignment, size, overlap: checked before the hypervisor.
    for gpa, size in ((0x20001, 0x1000), (0x20000, 0x1001), (0x20000, 0),
                      (0xfffffffffffff000, 0x2000)):
        err(c.error("map-memory", vm=vm, gpa=hx(gpa), size=hx(size)), "invalid-params")
    for gpa, size in ((0, 0x1000), (0xf000, 0x2000), (0x8000, 0x1000)):
        err(c.error("map-memory", vm=vm, gpa=gpa, size=size), "invalid-params")
    err(c.error("map-memory", vm=vm, gpa=0x20000, size=0x1000, flags=["bogus"]),
        "invalid-params")
    c.call("map-memory", vm=vm, gpa=0x10000, size=0x1000, flags=["read", "write", "exec"])
    # Zeroed.
    eq(base64.b64decode(c.call("read-memory", vm=vm, gpa=0, size=4096)["data"]), bytes(4096))
    # Round trip, across two adjacent regions.
    data = bytes(range(256)) * 4
    eq(c.call("write-memory", vm=vm, gpa=0xfe00, data=b64(data))["size"], len(data))
    eq(base64.b64decode(c.call("read-memory", vm=vm, gpa=0xfe00, size=len(data))["data"]),
       data)
    # Outside RAM.
    err(c.error("read-memory", vm=vm, gpa=0x10f00, size=0x200), "invalid-params")
    err(c.error("write-memory", vm=vm, gpa=0x40000, data=b64(b"x")), "invalid-params")
    err(c.error("write-memory", vm=vm, gpa=0, data="not base64!"), "invalid-params")
    eq(c.call("read-memory", vm=vm, gpa=0x11000 - 1, size=1)["data"], "AA==")
    info = c.call("vm-info", vm=vm)
    eq(len(info["regions"]), 2)
    eq(info["memory"], "0x11000")
    eq(info["regions"][0], {"gpa": "0x0", "size": "0x10000", "flags": ["read", "write", "exec"]})
    # Unmap: only at a region's start.
    err(c.error("unmap-memory", vm=vm, gpa=0x1000), "invalid-params")
    err(c.error("unmap-memory", vm=vm, gpa=0x50000), "invalid-params")
    eq(c.call("unmap-memory", vm=vm, gpa=0x10000)["gpa"], "0x10000")
    err(c.error("read-memory", vm=vm, gpa=0x10000, size=1), "invalid-params")
    eq(len(c.call("vm-info", vm=vm)["regions"]), 1)
    c.call("destroy-vm", vm=vm)
    c.close()


def test_vcpu_and_regs():
    c = Shared.get().client()
    vm = c.call("create-vm")["vm"]
    c.call("map-memory", vm=vm, gpa=0, size=GUEST_RAM)
    err(c.error("get-regs", vm=vm, vcpu=0), "no-such-vcpu", 2)
    eq(c.call("create-vcpu", vm=vm, index=0), {"vm": vm, "vcpu": 0})
    err(c.error("create-vcpu", vm=vm, index=0), "invalid-params")
    err(c.error("create-vcpu", vm=vm, index=100000), "limit-exceeded")
    err(c.error("create-vcpu", vm=vm, index=-1), "invalid-params")
    err(c.error("set-regs", vm=vm, vcpu=3, regs={}), "no-such-vcpu")
    regs = c.call("get-regs", vm=vm, vcpu=0)["regs"]
    for name in ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp", "r8", "r15", "rip",
                 "rflags", "cr0", "cr2", "cr3", "cr4", "cr8", "efer", "apic_base", "dr0",
                 "dr3", "dr6", "dr7"):
        check(regs[name].startswith("0x"), name)
    for seg in ("cs", "ds", "es", "fs", "gs", "ss", "tr", "ldtr"):
        eq(sorted(regs[seg]), ["attributes", "base", "limit", "selector"])
    for t in ("gdtr", "idtr"):
        eq(sorted(regs[t]), ["base", "limit"])
    # Object form (partial), dotted form, integers and hex strings.
    c.call("set-regs", vm=vm, vcpu=0, regs={
        "rax": 0x1122334455667788, "rbx": "0xffffffffffffffff", "r15": 7,
        "cs": {"base": 0x1000, "selector": "0x100"}, "ds.limit": "0xfff",
        "gdtr": {"base": 0x5000, "limit": 0x27}})
    r = c.call("get-regs", vm=vm, vcpu=0, names=["rax", "rbx", "r15", "cs", "ds", "gdtr"])
    r = r["regs"]
    eq(sorted(r), ["cs", "ds", "gdtr", "r15", "rax", "rbx"])
    eq(r["rax"], "0x1122334455667788")
    eq(r["rbx"], "0xffffffffffffffff")
    eq(r["r15"], "0x7")
    eq((r["cs"]["base"], r["cs"]["selector"]), ("0x1000", "0x100"))
    eq(r["cs"]["limit"], regs["cs"]["limit"])           # untouched field kept
    eq(r["ds"]["limit"], "0xfff")
    eq(r["gdtr"], {"base": "0x5000", "limit": "0x27"})
    # Bad register names and values, with no side effect.
    for bad in ({"rzz": 1}, {"rax": -1}, {"rax": "12"}, {"cs": 5}, {"cs": {"colour": 1}},
                {"cs.limit": "0x100000000"}, {"rax.base": 1}, {"gdtr.selector": 1},
                {"rcx": 9, "nope": 1}):
        err(c.error("set-regs", vm=vm, vcpu=0, regs=bad), "invalid-params")
    eq(c.call("get-regs", vm=vm, vcpu=0, names=["rcx"])["regs"]["rcx"], regs["rcx"])
    err(c.error("get-regs", vm=vm, vcpu=0, names=["nope"]), "invalid-params")
    # Nothing to complete on a vCPU that never ran; stop is a no-op.
    err(c.error("complete", vm=vm, vcpu=0), "invalid-state")
    eq(c.call("stop", vm=vm, vcpu=0)["state"], "created")
    # translate-gva in real mode is the identity, when the backend can translate.
    caps = c.call("daemon-info")["capabilities"]
    if "translate-gva" in caps:
        c.call("set-regs", vm=vm, vcpu=0, regs={"cr0": 0x10})
        eq(c.call("translate-gva", vm=vm, vcpu=0, gva=0x2345, access="read")["gpa"], "0x2345")
    else:
        err(c.error("translate-gva", vm=vm, vcpu=0, gva=0x2345), "unsupported")
    err(c.error("translate-gva", vm=vm, vcpu=0, gva=1, access="fly"), "invalid-params")
    info = c.call("vm-info", vm=vm)
    eq(info["vcpus"][0]["state"], "created")
    eq(c.call("list-vms")["vms"][0]["vcpus"], 1)
    c.call("destroy-vm", vm=vm)
    c.close()


def test_running_vcpu_refuses():
    c = Shared.get().client()
    vm = c.boot_vm("daemon-spin")
    eq(c.call("run", vm=vm, vcpu=0)["state"], "running")
    time.sleep(0.02)
    for m, p in (("get-regs", {}), ("set-regs", {"regs": {"rax": 1}}), ("complete", {}),
                 ("run", {}), ("translate-gva", {"gva": 0})):
        e = c.error(m, dict(vm=vm, vcpu=0, **p))
        if m == "translate-gva" and e.name == "unsupported":
            continue
        err(e, "invalid-state", 5)
        eq(e.data["state"], "running")
    err(c.error("run", vm=vm, vcpu=0, timeout_ms=10), "invalid-params")
    eq(c.call("stop", vm=vm, vcpu=0)["exit"]["type"], "stopped")
    c.call("get-regs", vm=vm, vcpu=0)
    c.call("destroy-vm", vm=vm)
    c.close()


def test_subscriptions():
    c = Shared.get().client()
    err(c.error("subscribe", kinds=["exit", "bogus"]), "invalid-params")
    err(c.error("subscribe", vm=424242), "no-such-vm")
    err(c.error("unsubscribe", subscription=99), "invalid-params")
    vm_a = c.call("create-vm")["vm"]
    vm_b = c.call("create-vm")["vm"]
    watcher = Shared.get().client()
    s1 = watcher.call("subscribe", vm=vm_a, kinds=["vm-state"])
    check(isinstance(s1["subscription"], int) and isinstance(s1["seq"], int))
    c.call("pause-vm", vm=vm_b)
    c.call("pause-vm", vm=vm_a)
    ev = watcher.wait_event(lambda e: True)
    eq((ev["kind"], ev["vm"], ev["state"]), ("vm-state", vm_a, "paused"))
    eq(len(watcher.events), 1)
    check(ev["seq"] > s1["seq"])
    check(ev["time"] > 1600000000 * 10**6)
    eq(watcher.call("unsubscribe", subscription=s1["subscription"])["subscription"],
       s1["subscription"])
    c.call("resume-vm", vm=vm_a)
    watcher.drain(0.1)
    eq(len(watcher.events), 1)
    err(watcher.error("unsubscribe", subscription=s1["subscription"]), "invalid-params")
    c.call("destroy-vm", vm=vm_a)
    c.call("destroy-vm", vm=vm_b)
    watcher.close()
    c.close()


def test_zz_stop_shared():
    Shared.get().stop()


run([test_vm_lifecycle, test_vm_options, test_limits, test_memory, test_vcpu_and_regs,
     test_running_vcpu_refuses, test_subscriptions, test_zz_stop_shared])
