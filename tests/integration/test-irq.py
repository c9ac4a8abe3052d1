#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# irqfds, MSI routing and interrupt injection through mshvd: guest handlers run on trigger-irq,
# on a write to a passed irqfd and on assert-interrupt; resample; errors; descriptor cleanup.

import os
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from mshvd_test import BACKEND, IRQ_PINS, Daemon, Shared, check, eq, run  # noqa: E402
from eventfd_test import (check_error, fd_client, needs_option, signal_fd,  # noqa: E402
                          wait_fds, wait_value)

READY = 0x1000          # irq-pic.S / irq-lapic.S report this once their handlers are set up


def msi(gsi, vector, apic_id=0, level=False):
    """An MSI route: fixed delivery, physical destination apic_id."""
    return {"gsi": gsi, "address_lo": "0x%x" % (0xFEE00000 | apic_id << 12),
            "address_hi": 0, "data": "0x%x" % (vector | (0xC000 if level else 0))}


def boot(c, guest):
    """A VM with the interrupt controller this backend needs, its guest running in stream
    mode and ready (handlers installed, interrupts enabled).  Returns (vm, event index)."""
    vm = c.boot_vm(guest, **{needs_option(c): True})
    c.call("run", vm=vm, vcpu=0, mode="stream")
    return vm, wait_value(c, vm, READY)


def test_pic_irqfd():
    """Real mode, in-kernel 8259 (kvm irqchip): trigger-irq and a passed irqfd on GSI 5."""
    if not IRQ_PINS:
        print("skipped on %s: no 8259 PIC (MSHV interrupt model)" % BACKEND)
        return
    c = fd_client(Shared.get(), subscribe=True)
    vm, i = boot(c, "irq-pic")
    r = c.call("add-irqfd", vm=vm, gsi=5, pass_fd=True)
    eq(r["passed_fds"], 1)
    fd = r["_fds"][0]
    eq(c.call("trigger-irq", vm=vm, gsi=5), {"vm": vm, "gsi": 5, "id": r["id"]})
    i = wait_value(c, vm, 0x501, i)
    signal_fd(fd)
    i = wait_value(c, vm, 0x502, i)
    eq(c.call("trigger-irq", vm=vm, gsi=5)["id"], r["id"])
    i = wait_value(c, vm, 0x503, i)
    info = c.call("vm-info", vm=vm)["eventfds"]
    eq(info, [{"id": r["id"], "type": "irqfd", "gsi": 5, "resample": False, "triggers": 2,
               "resamples": 0, "passed": True}])
    # After remove-irqfd our copy of the descriptor reaches nobody.
    c.call("remove-irqfd", vm=vm, id=r["id"])
    signal_fd(fd)
    c.drain(0.3)
    check(not [e for e in c.events[i:] if e["kind"] == "exit"], "no interrupt after remove")
    os.close(fd)
    c.call("destroy-vm", vm=vm)
    c.close()


def test_pic_resample():
    """A level-triggered pin (ELCR) with a resample irqfd: the EOI surfaces as irq-resample."""
    if not IRQ_PINS:
        print("skipped on %s: resample needs an irqchip pin" % BACKEND)
        return
    c = Shared.get().client(subscribe=True)
    vm, i = boot(c, "irq-pic")
    id_ = c.call("add-irqfd", vm=vm, gsi=6, resample=True)["id"]
    for n in (1, 2, 3):
        start = len(c.events)
        c.call("trigger-irq", vm=vm, gsi=6)
        i = wait_value(c, vm, 0x600 + n, i)
        ev = c.wait_event(lambda e: e["kind"] == "irq-resample", start=start)
        eq((ev["vm"], ev["id"], ev["gsi"], ev["count"]), (vm, id_, 6, 1))
        # Deasserted at the EOI: the handler ran exactly once.
        c.drain(0.1)
        eq(len([e for e in c.events[i:] if e["kind"] == "exit"]), 0)
    info = c.call("vm-info", vm=vm)["eventfds"][0]
    eq((info["resample"], info["triggers"], info["resamples"]), (True, 3, 3))
    c.call("destroy-vm", vm=vm)
    c.close()


def test_lapic_msi():
    """Protected mode with the LAPIC: MSI routes to vectors, irqfds on them (trigger-irq and a
    passed descriptor) and assert-interrupt all run the guest's handlers."""
    c = fd_client(Shared.get(), subscribe=True)
    vm, i = boot(c, "irq-lapic")
    eq(c.call("set-msi-routing", vm=vm, entries=[msi(32, 0x41), msi(33, 0x42)]),
       {"vm": vm, "entries": 2})
    a = c.call("add-irqfd", vm=vm, gsi=32)["id"]
    c.call("trigger-irq", vm=vm, gsi=32)
    i = wait_value(c, vm, 0x4101, i)
    c.call("trigger-irq", vm=vm, gsi=32)
    i = wait_value(c, vm, 0x4102, i)
    r = c.call("add-irqfd", vm=vm, gsi=33, pass_fd=True)
    fd = r["_fds"][0]
    signal_fd(fd)
    i = wait_value(c, vm, 0x4201, i)
    eq(c.call("assert-interrupt", vm=vm, vector=0x43), {"vm": vm, "vector": 0x43,
                                                         "type": "fixed"})
    i = wait_value(c, vm, 0x4301, i)
    c.call("assert-interrupt", vm=vm, vector=0x40, apic_id=0, type="fixed")
    i = wait_value(c, vm, 0x4001, i)
    info = c.call("vm-info", vm=vm)
    eq([(e["gsi"], e["triggers"], e["passed"]) for e in info["eventfds"]],
       [(32, 2, False), (33, 0, True)])
    eq(info["msi_routes"][0], {"gsi": 32, "address_lo": "0xfee00000", "address_hi": "0x0",
                               "data": "0x41"})
    # Re-route GSI 32 to vector 0x43: the same irqfd now runs the other handler.
    c.call("set-msi-routing", vm=vm, entries=[msi(32, 0x43), msi(33, 0x42)])
    c.call("trigger-irq", vm=vm, gsi=32)
    i = wait_value(c, vm, 0x4302, i)
    c.call("remove-irqfd", vm=vm, id=a)
    c.call("remove-irqfd", vm=vm, id=r["id"])
    os.close(fd)
    c.call("destroy-vm", vm=vm)
    c.close()


def test_errors():
    c = Shared.get().client()
    opt = needs_option(c)
    plain = c.call("create-vm")["vm"]
    # No interrupt controller: the error says which create-vm option is missing.
    for method, params in (("add-irqfd", {"gsi": 5}),
                           ("set-msi-routing", {"entries": [msi(40, 0x41)]}),
                           ("assert-interrupt", {"vector": 0x41})):
        params["vm"] = plain
        e = c.error(method, params)
        check_error(e, "invalid-state")
        eq(e.data["needs"], opt)
        check(opt in e.message)
    if BACKEND == "kvm":
        # An NMI needs no irqchip on kvm, but a vCPU to receive it.
        check_error(c.error("assert-interrupt", vm=plain, vector=2, type="nmi"),
                    "invalid-params")
        c.call("create-vcpu", vm=plain, index=0)
        c.call("assert-interrupt", vm=plain, vector=2, type="nmi")

    vm = c.call("create-vm", **{opt: True})["vm"]
    if not c.call("daemon-info")["eventfds"]["irqfd_resample"]:
        # mshv: the driver cannot resample MSI-routed GSIs; said, not ignored.
        e = c.error("add-irqfd", vm=vm, gsi=0 if BACKEND == "kvm" else 40, resample=True)
        check_error(e, "unsupported")
        eq(e.data["capability"], "irqfd-resample")
    check_error(c.error("add-irqfd", vm=vm, gsi=4096), "invalid-params", "bad-gsi")
    check_error(c.error("add-irqfd", vm=vm, gsi=100), "invalid-params", "bad-gsi")
    check_error(c.error("add-irqfd", vm=vm, gsi=-1), "invalid-params")
    check_error(c.error("add-irqfd", vm=vm), "invalid-params")
    check_error(c.error("trigger-irq", vm=vm, gsi=40), "invalid-params", "no-irqfd")
    # MSI tables: malformed entries, bad and repeated GSIs, the bound.
    for entries in ([{"gsi": 40}], [{"gsi": 40, "address_lo": 0, "address_hi": 0, "data": 0,
                                     "x": 1}], [msi(40, 1), msi(40, 2)], ["x"],
                    [dict(msi(40, 1), data="0x100000000")]):
        check_error(c.error("set-msi-routing", vm=vm, entries=entries), "invalid-params")
    check_error(c.error("set-msi-routing", vm=vm, entries=[msi(4096, 1)]), "invalid-params",
                "bad-gsi")
    if BACKEND == "kvm":
        check_error(c.error("set-msi-routing", vm=vm, entries=[msi(5, 1)]), "invalid-params",
                    "bad-gsi")
    e = c.error("set-msi-routing", vm=vm, entries=[msi(100 + n, 1) for n in range(257)])
    check_error(e, "limit-exceeded")
    eq(e.data["limit"], "max-msi-routes")
    eq(c.call("vm-info", vm=vm)["msi_routes"], [])
    c.call("set-msi-routing", vm=vm, entries=[msi(40, 0x41), msi(41, 0x42)])
    a = c.call("add-irqfd", vm=vm, gsi=40)["id"]
    e = c.error("add-irqfd", vm=vm, gsi=40)
    check_error(e, "invalid-params", "duplicate")
    eq(e.data["id"], a)
    # A table that drops a GSI in use is refused; one that keeps it is fine.
    e = c.error("set-msi-routing", vm=vm, entries=[msi(41, 0x42)])
    check_error(e, "invalid-state")
    c.call("set-msi-routing", vm=vm, entries=[msi(40, 0x43)])
    check_error(c.error("add-irqfd", vm=vm, gsi=41), "invalid-params", "bad-gsi")
    # Unknown ids, also across kinds.
    check_error(c.error("remove-irqfd", vm=vm, id=999), "invalid-params", "unknown-id")
    check_error(c.error("remove-ioeventfd", vm=vm, id=a), "invalid-params", "unknown-id")
    c.call("remove-irqfd", vm=vm, id=a)
    check_error(c.error("remove-irqfd", vm=vm, id=a), "invalid-params", "unknown-id")
    check_error(c.error("trigger-irq", vm=vm, gsi=40), "invalid-params", "no-irqfd")
    c.call("set-msi-routing", vm=vm, entries=[])
    eq(c.call("vm-info", vm=vm)["msi_routes"], [])
    # assert-interrupt parameters; a destination with no vCPU behind it.
    if BACKEND == "kvm":
        check_error(c.error("assert-interrupt", vm=vm, vector=0x41), "invalid-params")
    check_error(c.error("assert-interrupt", vm=vm, vector=256), "invalid-params")
    check_error(c.error("assert-interrupt", vm=vm, vector=1, type="smi"), "invalid-params")
    check_error(c.error("trigger-irq", vm=12345, gsi=1), "no-such-vm")
    for v in (plain, vm):
        c.call("destroy-vm", vm=v)
    c.close()


def test_fds_back_to_baseline():
    """irqfds (with resample where supported) and MSI tables leave nothing behind."""
    d = Daemon()
    try:
        c = fd_client(d, subscribe=True)
        info = c.call("daemon-info")["eventfds"]
        opt = info["needs"]
        base = d.fd_count()
        vms = [c.call("create-vm", **{opt: True})["vm"] for _ in range(2)]
        for vm in vms:
            c.call("set-msi-routing", vm=vm, entries=[msi(40 + n, 0x40 + n) for n in range(4)])
            for n in range(4):
                r = c.call("add-irqfd", vm=vm, gsi=40 + n, pass_fd=(n == 0),
                           resample=info["irqfd_resample"] and n == 1)
                for fd in r.get("_fds", []):
                    os.close(fd)
            c.call("add-ioeventfd", vm=vm, addr=0xd0000, space="mmio", len=4)
        ids = [e["id"] for e in c.call("vm-info", vm=vms[0])["eventfds"]]
        c.call("remove-irqfd", vm=vms[0], id=ids[1])        # the resample one where any
        c.call("remove-irqfd", vm=vms[0], id=ids[0])
        for vm in vms:
            c.call("destroy-vm", vm=vm)
            c.wait_event(lambda e, vm=vm: e["kind"] == "vm-state" and e["vm"] == vm and
                         e["state"] == "destroyed")
        wait_fds(d, base)
        c.close()
    finally:
        d.stop()


def test_zz_stop_shared():
    Shared.get().stop()


run([test_pic_irqfd, test_pic_resample, test_lapic_msi, test_errors, test_fds_back_to_baseline,
     test_zz_stop_shared])
