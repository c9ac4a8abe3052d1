#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Ownership and permissions: every method row declares read/owner/admin; the matrix
# {owner, other uid, root} x every method x {own VM, foreign VM, missing VM} with real uids;
# a foreign VM answers exactly like a missing one; no param is ever used as a path.

import glob
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from mshvd_test import SRCDIR, Daemon, RpcError, build_path, check, eq, run  # noqa: E402

OWNER_UID = 65534       # nobody
OTHER_UID = 65533       # a second unprivileged uid (need not exist in passwd)

# Admin methods act on the daemon as a whole (none exist yet: there is no daemon-wide
# operation a client may trigger; shutdown and configuration stay with signals and options).
ADMIN_METHODS = set()


def methods():
    out = subprocess.run([build_path("src/daemon/mshvd"), "--print-methods"],
                         capture_output=True, check=True).stdout
    return json.loads(out)


def test_every_method_declares_permission():
    ms = methods()
    check(len(ms) >= 20, "the table")
    for m in ms:
        check(m["permission"] in ("read", "owner", "admin"),
              "%s declares no permission (%r)" % (m["name"], m["permission"]))
        params = {p["name"]: p for p in m["params"]}
        if m["permission"] == "owner":
            # An owner method acts on one VM or one snapshot, named by a required param
            # (test-snapshot.py checks the snapshots' side: another uid sees none of them).
            check(("vm" in params and params["vm"]["required"] and
                   params["vm"]["type"] == "vm") or
                  ("snapshot" in params and params["snapshot"]["required"] and
                   params["snapshot"]["type"] == "snapshot"),
                  "%s: owner method without vm or snapshot" % m["name"])
        if "vm" in params and params["vm"]["required"]:
            eq(m["permission"], "owner", m["name"])
    eq({m["name"] for m in ms if m["permission"] == "admin"}, ADMIN_METHODS, "admin methods")


def test_no_client_path():
    """The daemon never opens a path a client supplies: no param is a path, and only the
    socket/logging/systemd code (paths from the command line and the environment) calls
    path-taking system calls."""
    free_strings = set()
    for m in methods():
        for p in m["params"]:
            check(p["type"] in ("vm", "snapshot", "uint32", "u64", "boolean", "string", "enum",
                                "enum-array", "string-array", "object", "array"),
                  "%s.%s: type %s" % (m["name"], p["name"], p["type"]))
            if p["type"] in ("string", "string-array"):
                free_strings.add("%s.%s" % (m["name"], p["name"]))
    # A VM or snapshot name ([A-Za-z0-9._-], checked), base64 guest data, register names (a
    # fixed table).  Snapshot files come as descriptors, never as paths.
    eq(free_strings, {"create-vm.name", "write-memory.data", "get-regs.names",
                      "snapshot-vm.name", "clone-vm.name", "load-snapshot.name"},
       "free-form string params")
    path_calls = re.compile(r"\b(open|openat|openat2|fopen|freopen|creat|opendir|mkdir|"
                            r"mkdirat|unlink|unlinkat|rename|renameat|link|symlink|truncate|"
                            r"stat|lstat|fstatat|access|faccessat|chmod|chown|fchownat|"
                            r"bind|connect|execv|execve|execvp|dlopen|realpath|readlink)\s*\(")
    allowed = {"server.c", "main.c", "log.c", "systemd.c"}
    files = glob.glob(os.path.join(SRCDIR, "src/daemon/*.c")) + \
        glob.glob(os.path.join(SRCDIR, "src/daemon/methods/*.c"))
    check(len(files) > 10, "daemon sources found in %s" % SRCDIR)
    seen = 0
    for f in files:
        text = re.sub(r"/\*.*?\*/|//[^\n]*|\"(\\.|[^\"\\])*\"", "", open(f).read(), flags=re.S)
        for m in path_calls.finditer(text):
            check(os.path.basename(f) in allowed,
                  "%s calls %s(): paths only in %s" % (f, m.group(1), sorted(allowed)))
            seen += 1
    check(seen >= 5, "the scan finds the socket code's calls (%d)" % seen)


def params_for(m, vm):
    """Params that pass the type checks, so that only the VM decides the outcome."""
    vals = {"vm": vm, "gpa": 0x200000, "size": 0x1000, "data": "AAAA", "index": 3,
            "vcpu": 0, "regs": {"rax": 1}, "gva": 0, "addr": 0xd0000, "space": "mmio",
            "len": 4, "id": 1, "gsi": 5, "entries": [], "vector": 0x30,
            "snapshot": 999999}
    out = {}
    for p in m["params"]:
        if p["required"] or p["name"] == "vm":
            out[p["name"]] = vals[p["name"]]
    return out


def outcome(c, method, params):
    try:
        c.call(method, params)
        return None
    except RpcError as e:
        return e.error


def is_no_such_vm(err):
    return err is not None and err["data"]["name"] == "no-such-vm"


def test_matrix():
    d = Daemon("--max-vms", "1024", "--max-vms-per-uid", "1024")
    try:
        d.open_to_all()
        owner = d.client_as(OWNER_UID)
        other = d.client_as(OTHER_UID)
        root = d.client()
        n = 0
        root_vm = root.call("create-vm", name="roots")["vm"]
        for m in methods():
            names = {p["name"] for p in m["params"]}
            if "vm" not in names:
                continue
            name = m["name"]
            # One VM for the owner's call, one for root's (destroy-vm consumes its VM).
            mine = owner.call("create-vm", name="own-" + name)["vm"]
            for_root = owner.call("create-vm", name="root-" + name)["vm"]
            for ref in (mine, "own-" + name):
                foreign = outcome(other, name, params_for(m, ref))
                check(is_no_such_vm(foreign), "%s foreign %r: %r" % (name, ref, foreign))
                n += 1
            # Root and the owner reach the VM (whatever else the call then says).
            r = outcome(root, name, params_for(m, for_root))
            check(not is_no_such_vm(r), "%s as root: %r" % (name, r))
            o = outcome(owner, name, params_for(m, mine))
            check(not is_no_such_vm(o), "%s as owner: %r" % (name, o))
            # The owner cannot reach root's VM; that looks exactly like a missing VM.
            check(is_no_such_vm(outcome(owner, name, params_for(m, root_vm))), name)
            n += 3
            # Now gone: the same references as "missing" give the very same error objects
            # as they did as "foreign" -- code, message and data.
            foreign_by_id = outcome(other, name, params_for(m, for_root))
            foreign_by_name = outcome(other, name, params_for(m, "root-" + name))
            for vm in (mine, for_root):
                try:
                    owner.call("destroy-vm", vm=vm)
                except RpcError as e:
                    check(is_no_such_vm(e.error) and name == "destroy-vm", str(e))
            eq(outcome(other, name, params_for(m, for_root)), foreign_by_id,
               name + ": missing vs foreign (id)")
            eq(outcome(other, name, params_for(m, "root-" + name)), foreign_by_name,
               name + ": missing vs foreign (name)")
            # And the owner, for its own missing VM, gets the same as the other uid.
            eq(outcome(owner, name, params_for(m, for_root)), foreign_by_id,
               name + ": owner's missing VM")
            n += 3
        print("%d ownership checks" % n)
        check(n > 100, "the whole matrix")
        root.call("destroy-vm", vm=root_vm)
    finally:
        d.stop()


def test_counts_follow_changes():
    """daemon-info's counts are kept as VMs, vCPUs and eventfds come and go (not counted on
    each call): at every step they equal what list-vms and vm-info show the caller."""
    d = Daemon()
    try:
        d.open_to_all()
        users = [d.client(), d.client_as(OWNER_UID), d.client_as(OTHER_UID)]
        mmio = users[0].call("daemon-info")["eventfds"]["ioeventfd_mmio"]

        def expected(c):
            vms = c.call("list-vms")["vms"]
            evs = sum(len(c.call("vm-info", vm=v["vm"]).get("eventfds", [])) for v in vms)
            return {"vms": len(vms), "vcpus": sum(v["vcpus"] for v in vms), "eventfds": evs}

        def agree(what):
            for c in users:
                counts = c.call("daemon-info")["counts"]
                eq({k: counts[k] for k in ("vms", "vcpus", "eventfds")}, expected(c), what)

        made = []
        for i in range(40):
            c = users[i % 3]
            vm = c.call("create-vm", name="c%d" % i)["vm"]
            for j in range(i % 3):
                c.call("create-vcpu", vm=vm, index=j)
            if mmio and i % 4 == 0:
                c.call("map-memory", vm=vm, gpa=0, size=0x10000)
                c.call("add-ioeventfd", vm=vm, addr=0xd0000000 + i * 8, space="mmio", len=4)
            made.append((c, vm))
        agree("after creating")
        for c, vm in made[::3]:
            for e in c.call("vm-info", vm=vm).get("eventfds", []):
                c.call("remove-ioeventfd", vm=vm, id=e["id"])
        agree("after removing eventfds")
        for c, vm in made[1::2]:
            c.call("destroy-vm", vm=vm)
        agree("after destroying")
        check(users[0].call("vm-info", vm="c0")["vm"] == made[0][1], "lookup by name")
        eq(users[1].error("vm-info", vm=made[0][1]).name, "no-such-vm")
        for c, vm in made[0::2]:
            c.call("destroy-vm", vm=vm)
        agree("after destroying all")
    finally:
        d.stop()


def test_read_methods_filtered():
    d = Daemon()
    try:
        d.open_to_all()
        owner = d.client_as(OWNER_UID)
        other = d.client_as(OTHER_UID)
        root = d.client()
        watcher = d.client_as(OTHER_UID)
        watcher.call("subscribe")
        a = owner.call("create-vm", name="a")["vm"]
        r = root.call("create-vm", name="r")["vm"]
        eq({v["vm"] for v in owner.call("list-vms")["vms"]}, {a})
        eq(other.call("list-vms")["vms"], [])
        eq({v["vm"] for v in root.call("list-vms")["vms"]}, {a, r})
        eq(owner.call("daemon-info")["counts"]["vms"], 1)
        eq(other.call("daemon-info")["counts"]["vms"], 0)
        eq(root.call("daemon-info")["counts"]["vms"], 2)
        # Subscribing to a foreign VM is refused like a missing one.
        e1 = outcome(other, "subscribe", {"vm": a})
        check(is_no_such_vm(e1), repr(e1))
        # Events of others' VMs never reach a subscriber.
        owner.call("create-vcpu", vm=a, index=0)
        root.call("create-vcpu", vm=r, index=0)
        mark = other.call("create-vm", name="mark")["vm"]
        watcher.wait_event(lambda e: e.get("vm") == mark)
        eq([e for e in watcher.events if e.get("vm") in (a, r)], [], "no foreign events")
        # A name is per owner: the other uid may use "a" too, and sees only its own.
        b = other.call("create-vm", name="a")["vm"]
        eq(other.call("vm-info", vm="a")["vm"], b)
        eq(owner.call("vm-info", vm="a")["vm"], a)
        owner.call("destroy-vm", vm="a")
        eq(other.call("vm-info", vm="a")["vm"], b)
        e2 = outcome(other, "subscribe", {"vm": a})
        eq(e2, e1, "missing vs foreign")
        # Subscriptions belong to their connection: another uid's id is just unknown.
        sid = owner.call("subscribe")["subscription"]
        e3 = outcome(other, "unsubscribe", {"subscription": sid})
        check(e3 is not None, "unsubscribe of a foreign subscription refused")
        owner.call("unsubscribe", subscription=sid)
        eq(outcome(other, "unsubscribe", {"subscription": sid}), e3, "same as missing")
        # Methods without a VM answer every uid alike.
        for c in (owner, other, root):
            check(c.call("rpc.discover")["methods"], "rpc.discover")
            check(c.call("create-vm")["vm"], "create-vm")
    finally:
        d.stop()


run([test_every_method_declares_permission, test_no_client_path, test_matrix,
     test_counts_follow_changes,
     test_read_methods_filtered])
