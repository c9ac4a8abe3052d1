#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The mshv-ioctls example over the socket: '4' then 0 on COM1, then destroy-vm.

import base64
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from mshvd_test import Daemon, check, eq, guest, run  # noqa: E402


def test_example():
    d = Daemon()
    try:
        c = d.client(subscribe=True)
        vm = c.call("create-vm", name="example")
        eq(vm["name"], "example")
        vm = vm["vm"]
        eq(c.call("map-memory", vm=vm, gpa=0, size=0x1000 * 192)["gpa"], "0x0")
        c.call("write-memory", vm=vm, gpa="0x1000",
               data=base64.b64encode(guest("example")).decode())
        eq(c.call("create-vcpu", vm=vm, index=0)["vcpu"], 0)
        c.call("set-regs", vm=vm, vcpu=0, regs={
            "rax": 2, "rbx": 2, "rip": "0x1000", "rflags": 2,
            "cs": {"base": 0, "selector": 0}})
        regs = c.call("get-regs", vm=vm, vcpu=0, names=["rax", "rbx", "rip", "cs"])["regs"]
        eq(regs["rax"], "0x2")
        eq(regs["rip"], "0x1000")
        eq(regs["cs"]["base"], "0x0")

        r = c.call("run", vm=vm, vcpu=0, wait=True)
        eq(r["kind"], "exit")
        eq(r["vm"], vm)
        eq(r["vcpu"], 0)
        ex = r["exit"]
        eq(ex, {"type": "io", "port": "0x3f8", "size": 1, "direction": "out", "data": "0x34",
                "rip": "0x1007"})
        eq(r["type"], "io")
        # The reply is the same object as the event.
        ev = c.wait_event(lambda e: e["kind"] == "exit" and e["seq"] == r["seq"])
        eq(ev["exit"], ex)
        eq(ev["time"], r["time"])

        r = c.call("run", vm=vm, vcpu=0, wait=True)
        eq(r["exit"]["type"], "io")
        eq(r["exit"]["direction"], "out")
        eq(r["exit"]["data"], "0x0")
        check(r["seq"] > ev["seq"], "seq increases")

        r = c.call("run", vm=vm, vcpu=0, wait=True)
        eq(r["exit"]["type"], "halt")

        eq(c.call("destroy-vm", vm=vm)["vm"], vm)
        c.wait_event(lambda e: e["kind"] == "vm-state" and e["vm"] == vm and
                     e["state"] == "destroyed")
        eq(c.call("list-vms")["vms"], [])
        c.close()
    finally:
        d.stop()


run([test_example])
