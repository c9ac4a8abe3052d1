#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Many clients, VMs and vCPUs at once; event sequence numbers; replay after a reconnect.

import sys
import threading

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from mshvd_test import Daemon, Shared, check, eq, run  # noqa: E402

CLIENTS, VMS, VCPUS = 4, 4, 2


def client_job(d, n, results):
    try:
        c = d.client()
        sub = c.call("subscribe", kinds=["exit"])
        vms = [c.boot_vm("daemon-count", vcpus=VCPUS, name="c%d-vm%d" % (n, i))
               for i in range(VMS)]
        for vm in vms:
            for v in range(VCPUS):
                c.call("run", vm=vm, vcpu=v, mode="stream")
        for vm in vms:
            for v in range(VCPUS):
                c.wait_event(lambda e: e["vm"] == vm and e["vcpu"] == v and
                             e["exit"]["type"] == "halt", timeout=60)
        mine = {}
        for e in c.events:
            if e["vm"] in vms:
                mine.setdefault((e["vm"], e["vcpu"]), []).append(e["exit"])
        for key in [(vm, v) for vm in vms for v in range(VCPUS)]:
            ex = mine[key]
            eq([int(x["data"], 16) for x in ex[:-1]], list(range(20)), "values of %s" % (key,))
            eq(ex[-1]["type"], "halt")
        for vm in vms:
            c.call("destroy-vm", vm=vm)
        results[n] = (sub["seq"], [e["seq"] for e in c.events])
        c.close()
    except Exception as e:  # reported by the main thread
        results[n] = e


def test_many_clients_vms_vcpus():
    d = Shared.get()
    watcher = d.client(subscribe=True)
    results = {}
    threads = [threading.Thread(target=client_job, args=(d, n, results)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for n in range(CLIENTS):
        if isinstance(results.get(n), Exception):
            raise results[n]
        check(n in results, "client %d finished" % n)
        seqs = results[n][1]
        check(all(a < b for a, b in zip(seqs, seqs[1:])), "seq increases on client %d" % n)
    # A full subscriber sees every event exactly once, seq without gaps.
    watcher.wait_event(lambda e: e["kind"] == "vm-state" and e["state"] == "destroyed" and
                       sum(1 for x in watcher.events if x["kind"] == "vm-state" and
                           x["state"] == "destroyed") == CLIENTS * VMS, timeout=30)
    seqs = [e["seq"] for e in watcher.events]
    eq(seqs, list(range(seqs[0], seqs[0] + len(seqs))), "contiguous seq")
    exits = [e for e in watcher.events if e["kind"] == "exit"]
    eq(len(exits), CLIENTS * VMS * VCPUS * 21)
    watcher.close()


def test_replay_after_reconnect():
    d = Shared.get()
    full = d.client(subscribe=True)
    a = d.client()
    s = a.call("subscribe")
    a.close()                           # a goes away; events happen meanwhile
    c = d.client()
    vm = c.boot_vm("daemon-count", vcpus=1)
    c.call("run", vm=vm, vcpu=0, mode="stream", wait=True)
    c.call("destroy-vm", vm=vm)
    full.wait_event(lambda e: e["kind"] == "vm-state" and e["vm"] == vm and
                    e["state"] == "destroyed")
    missed = [e for e in full.events if e["seq"] > s["seq"]]
    check(len(missed) > 20)
    a = d.client()
    s2 = a.call("subscribe", since=s["seq"])
    eq(s2["seq"], missed[-1]["seq"])
    a.wait_event(lambda e: e["seq"] == s2["seq"])
    a.drain(0.05)
    eq(a.events, missed, "exactly the missed events")
    # since as a hex string; since = now replays nothing.
    b = d.client()
    b.call("subscribe", since=hex(s2["seq"]))
    b.drain(0.05)
    eq(b.events, [])
    for x in (full, a, b, c):
        x.close()


def test_events_lost():
    d = Daemon("--event-ring", "8")
    try:
        c = d.client()
        vm = c.boot_vm("daemon-count", vcpus=1)
        c.call("run", vm=vm, vcpu=0, mode="stream", wait=True)
        last = c.call("daemon-info")["seq"]
        check(last > 20)
        a = d.client()
        a.call("subscribe", since=0)
        a.wait_event(lambda e: e["seq"] == last)
        first = a.events[0]
        eq(first["kind"], "events-lost")
        eq((first["from"], first["to"]), (1, last - 8))
        eq([e["seq"] for e in a.events[1:]], list(range(last - 7, last + 1)))
        # Filters apply to the replay too.
        b = d.client()
        b.call("subscribe", since=last - 3, kinds=["vcpu-state"])
        b.wait_event(lambda e: e["kind"] == "vcpu-state")
        b.drain(0.05)
        check(all(e["kind"] == "vcpu-state" for e in b.events))
        c.call("destroy-vm", vm=vm)
    finally:
        d.stop()


def test_zz_stop_shared():
    Shared.get().stop()


run([test_many_clients_vms_vcpus, test_replay_after_reconnect, test_events_lost,
     test_zz_stop_shared])
