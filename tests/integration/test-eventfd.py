#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# ioeventfds through mshvd: guest doorbells counted in ioevent events without exits,
# datamatch, PIO, passed descriptors, errors, limits, and descriptors freed on remove/destroy.

import fcntl
import json
import os
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from mshvd_test import BACKEND, PIO_IOEVENTFD, Daemon, Shared, check, eq, run  # noqa: E402
from eventfd_test import check_error, fd_client, signal_fd, wait_fds  # noqa: E402

DOORBELL = 0xD0000
N = 1000        # irq-doorbell.S: writes of 1, followed by 3 writes of 2


def ioevent_sum(c, vm, id_):
    return sum(e["count"] for e in c.events
               if e["kind"] == "ioevent" and e["vm"] == vm and e["id"] == id_)


def wait_ioevents(c, vm, id_, total):
    c.wait_event(lambda e: ioevent_sum(c, vm, id_) >= total, timeout=20)
    c.drain(0.2)
    eq(ioevent_sum(c, vm, id_), total, "ioevent counts")


def exits(c, vm, kind):
    return [e["exit"] for e in c.events
            if e["kind"] == "exit" and e["vm"] == vm and e["exit"]["type"] == kind]


def test_daemon_info():
    c = Shared.get().client()
    info = c.call("daemon-info")
    efd = info["eventfds"]
    caps = info["capabilities"]
    eq(sorted(efd), ["assert_interrupt", "ioeventfd_mmio", "ioeventfd_pio", "irqfd",
                     "irqfd_resample", "msi_routing", "needs"])
    eq(efd["ioeventfd_mmio"], "ioeventfd-mmio" in caps)
    eq(efd["ioeventfd_pio"], "ioeventfd-pio" in caps)
    eq(efd["irqfd"], "irqfd" in caps)
    check(efd["ioeventfd_mmio"])
    if BACKEND == "kvm":
        eq((efd["ioeventfd_pio"], efd["needs"]), (True, "irqchip"))
    elif BACKEND == "emu":
        eq((efd["ioeventfd_pio"], efd["needs"]), (True, "lapic"))
        eq(info["isolation"], "none-emulated")
    else:
        eq((efd["ioeventfd_pio"], efd["needs"]), (False, "lapic"))
    eq(info["limits"]["max-eventfds"], 64)
    eq(info["limits"]["max-msi-routes"], 256)
    check("eventfds" in info["counts"])
    c.close()


def test_doorbell():
    """1000 + 3 doorbell writes: all counted in ioevents, not one MMIO exit."""
    c = Shared.get().client(subscribe=True)
    vm = c.boot_vm("irq-doorbell")
    r = c.call("add-ioeventfd", vm=vm, addr=DOORBELL, space="mmio", len=4)
    id_ = r["id"]
    eq(r, {"vm": vm, "id": id_})
    check("passed_fds" not in r)
    # Step mode: every exit parks, so the first exit must be the DONE report.
    ex = c.call("run", vm=vm, vcpu=0, wait=True, timeout_ms=20000)["exit"]
    eq((ex["type"], ex["port"], ex["data"]), ("io", "0x604", "0x0"))
    wait_ioevents(c, vm, id_, N + 3)
    eq(exits(c, vm, "mmio"), [])
    ev = [e for e in c.events if e["kind"] == "ioevent"][0]
    check(ev["seq"] > 0 and ev["time"] > 0 and ev["count"] >= 1)
    info = c.call("vm-info", vm=vm)
    eq(info["eventfds"], [{"id": id_, "type": "ioeventfd", "addr": "0xd0000", "space": "mmio",
                           "len": 4, "count": N + 3, "passed": False}])
    eq(info["exits"]["mmio"], 0)
    c.call("destroy-vm", vm=vm)
    c.close()


def test_datamatch():
    """datamatch 1: the 1000 writes of 1 are counted; the writes of 2 are MMIO exits."""
    c = Shared.get().client(subscribe=True)
    vm = c.boot_vm("irq-doorbell")
    id_ = c.call("add-ioeventfd", vm=vm, addr=hex(DOORBELL), space="mmio", len=4,
                 datamatch=1)["id"]
    for _ in range(3):
        ex = c.call("run", vm=vm, vcpu=0, wait=True, timeout_ms=20000)["exit"]
        eq((ex["type"], ex["gpa"], ex["size"], ex["direction"], ex["data"]),
           ("mmio", "0xd0000", 4, "write", "0x2"))
    ex = c.call("run", vm=vm, vcpu=0, wait=True)["exit"]
    eq((ex["type"], ex["port"]), ("io", "0x604"))
    wait_ioevents(c, vm, id_, N)
    eq(len(exits(c, vm, "mmio")), 3)
    eq(c.call("vm-info", vm=vm)["eventfds"][0]["datamatch"], "0x1")
    c.call("destroy-vm", vm=vm)
    c.close()


def test_pio():
    """Port doorbells: counted on kvm; refused with the reason on mshv."""
    c = Shared.get().client(subscribe=True)
    vm = c.boot_vm("daemon-count")          # 20 one-byte OUTs to VALUE, then hlt
    if BACKEND == "mshv":
        e = c.error("add-ioeventfd", vm=vm, addr=0x600, space="pio", len=1)
        check_error(e, "unsupported")
        eq((e.code, e.data["capability"], e.data["backend"]), (7, "ioeventfd-pio", "mshv"))
        check("MMIO" in e.data["reason"])
        eq(c.call("vm-info", vm=vm)["eventfds"], [])
    else:
        id_ = c.call("add-ioeventfd", vm=vm, addr=0x600, space="pio", len=1)["id"]
        ex = c.call("run", vm=vm, vcpu=0, wait=True)["exit"]
        eq(ex["type"], "halt")
        wait_ioevents(c, vm, id_, 20)
        eq(exits(c, vm, "io"), [])
        eq(c.call("vm-info", vm=vm)["eventfds"][0]["space"], "pio")
    c.call("destroy-vm", vm=vm)
    c.close()


def test_pass_fd():
    """The passed descriptor is the same eventfd: the client's write shows up as an ioevent."""
    d = Shared.get()
    c = fd_client(d, subscribe=True)
    vm = c.call("create-vm")["vm"]
    r = c.call("add-ioeventfd", vm=vm, addr=0xd0100, space="mmio", len=0, pass_fd=True)
    eq(r["passed_fds"], 1)
    fd = r["_fds"][0]
    check(fd >= 0)
    check(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC)
    signal_fd(fd, 5)
    ev = c.wait_event(lambda e: e["kind"] == "ioevent" and e["vm"] == vm)
    eq((ev["id"], ev["count"]), (r["id"], 5))
    eq(c.call("vm-info", vm=vm)["eventfds"][0]["passed"], True)
    # Without pass_fd nothing comes; a second one gets its own descriptor.
    r2 = c.call("add-ioeventfd", vm=vm, addr=0xd0200, space="mmio", len=2)
    check("_fds" not in r2)
    r3 = c.call("add-ioeventfd", vm=vm, addr=0xd0300, space="mmio", len=8, pass_fd=True)
    fd3 = r3["_fds"][0]
    signal_fd(fd3, 2)
    ev = c.wait_event(lambda e: e["kind"] == "ioevent" and e["id"] == r3["id"])
    eq(ev["count"], 2)
    eq(c.fdq, [])
    # The daemon keeps its copy: after remove, our copy still works but nobody listens.
    c.call("remove-ioeventfd", vm=vm, id=r["id"])
    signal_fd(fd, 1)
    os.close(fd)
    os.close(fd3)
    # Pipelined in one write: the daemon answers all six in one read callback, so each reply
    # with a descriptor waits behind queued output (the sendmsg() queue, not the fast path)
    # and still goes to the right reply.
    reqs = [{"jsonrpc": "2.0", "id": 100 + i, "method": "add-ioeventfd",
             "params": {"vm": vm, "addr": 0xd1000 + 0x10 * i, "space": "mmio", "len": 4,
                        "pass_fd": i % 2 == 1}} for i in range(6)]
    c.send_raw("".join(json.dumps(r) + "\n" for r in reqs))
    got = [c.response(100 + i)["result"] for i in range(6)]
    for i, res in enumerate(got):
        eq("_fds" in res, i % 2 == 1)
        if i % 2:
            signal_fd(res["_fds"][0], 10 + i)
            ev = c.wait_event(lambda e, id_=res["id"]: e["kind"] == "ioevent" and
                              e["id"] == id_)
            eq(ev["count"], 10 + i)
            os.close(res["_fds"][0])
    # In a batch there is no line of its own for a descriptor: refused.
    c.send([{"jsonrpc": "2.0", "id": 900, "method": "add-ioeventfd",
             "params": {"vm": vm, "addr": 0xd2000, "space": "mmio", "len": 4,
                        "pass_fd": True}}])
    batch = c.other()
    eq(batch[0]["error"]["data"]["name"], "invalid-params")
    c.call("destroy-vm", vm=vm)
    c.close()


def test_errors():
    c = Shared.get().client()
    vm = c.call("create-vm")["vm"]

    def bad(params, name="invalid-params", reason=None):
        p = {"vm": vm, "addr": 0xd0000, "space": "mmio", "len": 4}
        p.update(params)
        p = {k: v for k, v in p.items() if v is not None}
        check_error(c.error("add-ioeventfd", p), name, reason)

    bad({"len": 3})
    bad({"len": 16})
    bad({"len": -1})
    bad({"space": "io"})
    bad({"space": None})
    bad({"addr": None})
    bad({"len": 0, "datamatch": 1})
    bad({"len": 1, "datamatch": 0x100})
    bad({"addr": "0xfffffffffffffffe", "len": 4})
    bad({"colour": 1})
    if PIO_IOEVENTFD:
        bad({"space": "pio", "addr": 0x600, "len": 8})
        bad({"space": "pio", "addr": 0x10000, "len": 1})
    else:
        bad({"space": "pio", "addr": 0x600, "len": 1}, "unsupported")
    check_error(c.error("add-ioeventfd", vm=12345, addr=0, space="mmio", len=4), "no-such-vm")
    eq(c.call("vm-info", vm=vm)["eventfds"], [])

    # Duplicates: same address and length; any length (0) against a sized one; a wildcard
    # against a datamatch.  Different datamatch values may share an address.
    a = c.call("add-ioeventfd", vm=vm, addr=0xd0000, space="mmio", len=4)["id"]
    e = c.error("add-ioeventfd", vm=vm, addr=0xd0000, space="mmio", len=4)
    check_error(e, "invalid-params", "duplicate")
    eq(e.data["id"], a)
    bad({"len": 0}, reason="duplicate")
    bad({"datamatch": 7}, reason="duplicate")
    c.call("add-ioeventfd", vm=vm, addr=0xd0000, space="mmio", len=2)
    b = c.call("add-ioeventfd", vm=vm, addr=0xd0010, space="mmio", len=4, datamatch=1)["id"]
    c.call("add-ioeventfd", vm=vm, addr=0xd0010, space="mmio", len=4, datamatch=2)
    bad({"addr": 0xd0010, "datamatch": 1}, reason="duplicate")
    if PIO_IOEVENTFD:
        # Same number in the other space is another doorbell.
        c.call("add-ioeventfd", vm=vm, addr=0xd0000 & 0xffff, space="pio", len=4)

    # Unknown ids, also across kinds.
    check_error(c.error("remove-ioeventfd", vm=vm, id=999), "invalid-params", "unknown-id")
    check_error(c.error("remove-irqfd", vm=vm, id=a), "invalid-params", "unknown-id")
    check_error(c.error("remove-ioeventfd", vm=vm), "invalid-params")
    eq(c.call("remove-ioeventfd", vm=vm, id=b), {"vm": vm, "id": b})
    check_error(c.error("remove-ioeventfd", vm=vm, id=b), "invalid-params", "unknown-id")
    # The slot is free again.
    c.call("add-ioeventfd", vm=vm, addr=0xd0010, space="mmio", len=4, datamatch=1)
    c.call("destroy-vm", vm=vm)
    c.close()


def test_limit_and_fds():
    """--max-eventfds per VM; descriptors return to the baseline after remove and destroy."""
    d = Daemon("--max-eventfds", "3")
    try:
        c = fd_client(d, subscribe=True)
        eq(c.call("daemon-info")["limits"]["max-eventfds"], 3)
        base = d.fd_count()
        vm = c.call("create-vm")["vm"]
        with_vm = d.fd_count()
        ids = [c.call("add-ioeventfd", vm=vm, addr=0xd0000 + 8 * i, space="mmio", len=4,
                      pass_fd=(i == 0))["id"] for i in range(3)]
        e = c.error("add-ioeventfd", vm=vm, addr=0xd1000, space="mmio", len=4)
        check_error(e, "limit-exceeded")
        eq(e.data["limit"], "max-eventfds")
        eq(d.fd_count(), with_vm + 3)       # one eventfd each, nothing else kept
        eq(c.call("daemon-info")["counts"]["eventfds"], 3)
        # Another VM has its own budget.
        vm2 = c.call("create-vm")["vm"]
        c.call("add-ioeventfd", vm=vm2, addr=0xd0000, space="mmio", len=4)
        c.call("remove-ioeventfd", vm=vm, id=ids[1])
        c.call("add-ioeventfd", vm=vm, addr=0xd1000, space="mmio", len=4)
        for i in (ids[0], ids[2]):
            c.call("remove-ioeventfd", vm=vm, id=i)
        c.call("destroy-vm", vm=vm2)
        c.wait_event(lambda e: e["kind"] == "vm-state" and e["vm"] == vm2 and
                     e["state"] == "destroyed")
        eq(d.fd_count(), with_vm + 1)
        c.call("destroy-vm", vm=vm)
        c.wait_event(lambda e: e["kind"] == "vm-state" and e["vm"] == vm and
                     e["state"] == "destroyed")
        for fd in c.fdq:
            os.close(fd)
        c.fdq = []
        wait_fds(d, base)
        c.close()
    finally:
        d.stop()


def test_zz_stop_shared():
    Shared.get().stop()


run([test_daemon_info, test_doorbell, test_datamatch, test_pio, test_pass_fd, test_errors,
     test_limit_and_fds, test_zz_stop_shared])
