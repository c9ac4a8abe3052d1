#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The service's sandbox against what the daemon really does: the real mshvd runs guests under
# strace (VMs, guest RAM, vCPU threads, exits, events, the stop kick, teardown), and every
# system call it makes must pass the unit's SystemCallFilter= lines (expanded with
# `systemd-analyze syscall-filter`); no W+X mapping (MemoryDenyWriteExecute=yes) and no socket
# but AF_UNIX (RestrictAddressFamilies=AF_UNIX).  No systemd needed to run it.

import base64
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sdtest import (BUILDDIR, MSHVD, Rpc, check, connect, env_without_systemd, fail,  # noqa
                    make, note, require_kvm, run_main, skip, stop, tmpdir, wait_exit)


def groups(analyze):
    """{"@group": set of members (syscalls and "@subgroups")} from systemd-analyze."""
    out = subprocess.run([analyze, "syscall-filter", "--no-pager"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True).stdout
    table, cur = {}, None
    for line in out.splitlines():
        if line.startswith("@"):
            cur = table.setdefault(line.strip(), set())
        elif cur is not None and line.strip() and not line.strip().startswith("#"):
            cur.add(line.strip())
    return table


def expand(table, names):
    out = set()
    for n in names:
        if n.startswith("@"):
            if n not in table:
                fail("unknown syscall group %s" % n)
            out |= expand(table, table[n])
        else:
            out.add(n)
    return out


def unit_filter(table):
    """The allow list the generated mshvd.service gives the daemon."""
    path = os.path.join(BUILDDIR, "systemd", "mshvd.service")
    if not os.path.exists(path):
        r = make("systemd/mshvd.service")
        if r.returncode != 0:
            fail("cannot generate systemd/mshvd.service: %s" % r.stdout)
    allowed = set()
    with open(path) as f:
        for line in f:
            m = re.match(r"SystemCallFilter=(~?)(.*)", line.strip())
            if not m:
                continue
            names = expand(table, m.group(2).split())
            if m.group(1):
                allowed -= names
            else:
                allowed |= names
    if not allowed:
        fail("no SystemCallFilter= in %s" % path)
    return allowed


def guest(name):
    path = os.path.join(BUILDDIR, "tests", "guests", name + ".bin")
    if not os.path.exists(path):
        skip("tests/guests/%s.bin is not built" % name)
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def workload(c):
    """Everything a service would see: RAM, vCPU threads, exits, events, stop, teardown."""
    c.call("subscribe")
    vm = c.call("create-vm", {"name": "sd-syscalls"})["vm"]
    c.call("map-memory", {"vm": vm, "gpa": 0, "size": 0xC0000})
    c.call("write-memory", {"vm": vm, "gpa": "0x1000", "data": guest("example")})
    c.call("create-vcpu", {"vm": vm, "index": 0})
    c.call("set-regs", {"vm": vm, "vcpu": 0, "regs": {"rip": "0x1000", "rflags": 2,
                                                      "cs": {"base": 0, "selector": 0}}})
    for _ in range(3):
        c.call("run", {"vm": vm, "vcpu": 0, "wait": True}, timeout=30)
    c.call("read-memory", {"vm": vm, "gpa": "0x1000", "size": 16})
    spin = c.call("create-vm", {"name": "sd-spin"})["vm"]
    c.call("map-memory", {"vm": spin, "gpa": 0, "size": 0xC0000})
    c.call("write-memory", {"vm": spin, "gpa": "0x1000", "data": guest("daemon-spin")})
    c.call("create-vcpu", {"vm": spin, "index": 0})
    c.call("set-regs", {"vm": spin, "vcpu": 0, "regs": {"rip": "0x1000", "rflags": 2,
                                                        "cs": {"base": 0, "selector": 0}}})
    c.call("run", {"vm": spin, "vcpu": 0})
    time.sleep(0.2)
    r = c.call("stop", {"vm": spin, "vcpu": 0}, timeout=30)      # the SIGRTMIN+4 kick
    check(r["exit"]["type"] == "stopped", "the spinning guest was stopped by the kick")
    c.call("destroy-vm", {"vm": vm})
    c.call("run", {"vm": spin, "vcpu": 0})
    # Left running: SIGTERM tears it down.


def main():
    require_kvm()
    strace = shutil.which("strace")
    analyze = shutil.which("systemd-analyze")
    if not strace or not analyze:
        skip("strace or systemd-analyze is not installed")
    libtool = os.path.join(BUILDDIR, "libtool")
    if not os.path.exists(libtool):
        skip("no libtool script in the build tree")
    table = groups(analyze)
    allowed = unit_filter(table)
    d = tmpdir()
    path = os.path.join(d, "s.sock")
    log = os.path.join(d, "strace")
    # libtool runs the real binary (src/daemon/mshvd may be a wrapper script) under strace.
    env = env_without_systemd()
    # LeakSanitizer cannot work under ptrace; leaks are the other tests' business.
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
    proc = subprocess.Popen([libtool, "--mode=execute", strace, "-f", "-qq", "-o", log, MSHVD,
                             "--backend", "kvm", "--foreground", "--socket", path],
                            env=env, stdout=subprocess.DEVNULL)
    try:
        c = Rpc(connect(path, timeout=30))
    except OSError as e:
        stop(proc)
        skip("the daemon does not start under strace here (ptrace denied?): %s" % e)
    pid = c.call("daemon-info")["pid"]
    try:
        workload(c)
    finally:
        # SIGTERM to the daemon itself: strace would only detach.
        os.kill(pid, signal.SIGTERM)
    c.close()
    check(wait_exit(proc, 60) == 0, "the daemon exits 0 (SIGTERM)")

    used, wx, families = set(), [], set()
    with open(log) as f:
        for line in f:
            m = re.match(r"\d+\s+(?:<\.\.\. )?([a-z0-9_]+)[( ]", line)
            if not m or "--- SIG" in line or "+++" in line:
                continue
            name = m.group(1)
            used.add(name)
            if name in ("mmap", "mprotect", "pkey_mprotect") and "PROT_EXEC" in line:
                if "PROT_WRITE" in line or name != "mmap":
                    wx.append(line.strip())
            if name == "socket":
                fam = re.search(r"socket\((AF_[A-Z0-9]+)", line)
                if fam:
                    families.add(fam.group(1))
    used.discard("execve")          # the manager applies the filter before it execs us
    note("%d distinct system calls: %s" % (len(used), " ".join(sorted(used))))
    check(len(used) > 30 and "ioctl" in used and "memfd_create" in used,
          "the trace covers the hypervisor work")
    denied = sorted(used - allowed)
    check(not denied, "all pass SystemCallFilter= (denied: %s)" % denied)
    check(not wx, "no writable+executable mapping, no mprotect(PROT_EXEC) (%s)" % wx[:3])
    check(families <= {"AF_UNIX"}, "only AF_UNIX sockets (%s)" % sorted(families))


run_main(main)
