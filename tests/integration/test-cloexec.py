#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Every descriptor of the daemon is O_CLOEXEC, checked in /proc/PID/fdinfo after creating VMs,
# vCPUs (with running threads), mapped memory, eventfds (also passed ones) and subscriptions.

import os
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from mshvd_test import BACKEND, Daemon, check, run  # noqa: E402

O_CLOEXEC = 0o2000000


def fd_flags(pid):
    """{fd: (flags, target)} of pid; fds 0-2 are the test harness's (stdin, the log)."""
    out = {}
    for name in os.listdir("/proc/%d/fd" % pid):
        fd = int(name)
        try:
            target = os.readlink("/proc/%d/fd/%d" % (pid, fd))
            with open("/proc/%d/fdinfo/%d" % (pid, fd)) as f:
                flags = next(int(line.split()[1], 8) for line in f
                             if line.startswith("flags:"))
        except (OSError, StopIteration):
            continue            # closed meanwhile
        out[fd] = (flags, target)
    return out


def test_all_fds_cloexec():
    d = Daemon()
    try:
        c = d.client()
        c.call("subscribe")
        c.call("subscribe", kinds=["exit"])
        needs = c.call("daemon-info")["eventfds"]["needs"]
        vms = []
        for i in range(2):
            vm = c.boot_vm("hv-spin", vcpus=2, **{needs: True})
            vms.append(vm)
            c.call("map-memory", vm=vm, gpa=0x100000, size=0x10000)
            c.call("add-ioeventfd", vm=vm, addr=0xd0000, space="mmio", len=4)
            r = c.call("add-ioeventfd", vm=vm, addr=0xd0008, space="mmio", len=4,
                       pass_fd=True)
            check("id" in r)
            if BACKEND == "kvm":
                c.call("add-irqfd", vm=vm, gsi=5)       # irqchip pins
                c.call("add-irqfd", vm=vm, gsi=6, resample=True)
            else:
                c.call("set-msi-routing", vm=vm, entries=[
                    {"gsi": 24, "address_lo": 0xFEE00000, "address_hi": 0, "data": 0x30}])
                c.call("add-irqfd", vm=vm, gsi=24)
            c.call("run", vm=vm, vcpu=0, mode="stream")
        others = [d.client() for _ in range(3)]
        for o in others:
            o.call("subscribe")
        fds = fd_flags(d.pid)
        kinds = {}
        for fd, (flags, target) in sorted(fds.items()):
            kind = target.split(":")[0] + (":" + target.split(":")[1].strip("[]")
                                           if target.startswith("anon_inode") else "")
            kinds[kind] = kinds.get(kind, 0) + 1
            if fd <= 2:
                continue
            check(flags & O_CLOEXEC, "fd %d (%s) has flags 0%o without O_CLOEXEC" %
                  (fd, target, flags))
        print("checked %d fds: %s" % (len(fds) - 3, sorted(kinds.items())))
        # The harness's stdin (/dev/null, inherited by dup2) is the one without the flag:
        # the fdinfo parsing sees the difference.
        check(not fds[0][0] & O_CLOEXEC, "fd 0 flags 0%o" % fds[0][0])
        # The kinds that must have been there for the test to mean anything.
        for k in ("socket", "anon_inode:kvm-vm" if BACKEND == "kvm" else "anon_inode",
                  "anon_inode:eventfd", "/memfd"):
            check(any(x.startswith(k) for x in kinds), "no %s fd among %s" % (k, kinds))
        check(len(fds) > 20, "enough fds")
        for vm in vms:
            c.call("destroy-vm", vm=vm)
    finally:
        d.stop()


run([test_all_fds_cloexec])
