#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Limits on client-controlled resources (per uid, request shape, frames) and bounded output:
# a subscriber that stops reading during an exit storm costs bounded memory, slows nobody,
# later gets one events-lost and continues; a stuck one is dropped.

import base64
import os
import socket
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from mshvd_test import Daemon, RpcError, check, eq, run  # noqa: E402

NOBODY = 65534

NEW_LIMITS = {
    "max-clients-per-uid": 16, "max-vms-per-uid": 32, "max-vcpus-per-uid": 256,
    "max-mem-per-uid": "0x400000000", "max-eventfds-per-uid": 1024, "max-string": 4096,
    "max-array": 1024, "max-output": 1 << 20, "output-timeout-ms": 30000,
    "frame-timeout-ms": 10000,
}
OLD_LIMITS = {
    "max-clients": 64, "max-vms": 64, "max-vcpus": 64, "max-request": 256 << 10,
    "max-batch": 64, "max-depth": 32, "max-io": 128 << 10, "max-inflight": 8,
    "max-subscriptions": 16, "event-ring": 4096, "max-eventfds": 64, "max-regions": 256,
}


def limit_error(e, limit):
    check(isinstance(e, RpcError), "an error")
    eq(e.code, 4, "code")
    eq(e.name, "limit-exceeded", "name")
    eq(e.data.get("limit"), limit, "data.limit")
    check(str(e.data.get("value", "")).startswith("0x"), "data.value: %r" % e.data)
    return e


def test_defaults_reported():
    d = Daemon()
    try:
        lim = d.client().call("daemon-info")["limits"]
        for k, v in list(NEW_LIMITS.items()) + list(OLD_LIMITS.items()):
            eq(lim.get(k), v, k)
    finally:
        d.stop()


def test_options_reported():
    d = Daemon("--max-clients-per-uid", "3", "--max-vms-per-uid", "4", "--max-vcpus-per-uid",
               "5", "--max-mem-per-uid", "1M", "--max-eventfds-per-uid", "6", "--max-string",
               "100", "--max-array", "7", "--max-output", "64K", "--output-timeout", "1234",
               "--frame-timeout", "567")
    try:
        lim = d.client().call("daemon-info")["limits"]
        want = {"max-clients-per-uid": 3, "max-vms-per-uid": 4, "max-vcpus-per-uid": 5,
                "max-mem-per-uid": "0x100000", "max-eventfds-per-uid": 6, "max-string": 100,
                "max-array": 7, "max-output": 65536, "output-timeout-ms": 1234,
                "frame-timeout-ms": 567}
        for k, v in want.items():
            eq(lim[k], v, k)
    finally:
        d.stop()
    # Nonsense values are refused at start.
    for bad in (["--max-array", "0"], ["--max-output", "-1"], ["--frame-timeout", "x"]):
        import subprocess
        from mshvd_test import build_path
        r = subprocess.run([build_path("src/daemon/mshvd")] + bad, capture_output=True)
        eq(r.returncode, 2, " ".join(bad))


def test_hv_ceilings():
    """The hv layer's ceilings back the daemon's limits: a client meets limit-exceeded with
    data.limit, never the hypervisor layer's EINVAL or ENOSPC."""
    import subprocess
    from mshvd_test import build_path
    r = subprocess.run([build_path("src/daemon/mshvd"), "--max-vcpus", "257"],
                       capture_output=True)
    eq(r.returncode, 2, "--max-vcpus above HV_MAX_VCPUS")
    r = subprocess.run([build_path("src/daemon/mshvd"), "--max-regions", "257"],
                       capture_output=True)
    eq(r.returncode, 2, "--max-regions above HV_MAX_MAPPINGS")
    d = Daemon("--max-vcpus", "256")
    try:
        c = d.client()
        eq(c.call("daemon-info")["limits"]["max-regions"], 256, "max-regions default")
        vm = c.call("create-vm")["vm"]
        c.call("create-vcpu", vm=vm, index=255)
        for index in (256, 300):
            e = limit_error(c.error("create-vcpu", vm=vm, index=index), "max-vcpus")
            eq(e.data["value"], "0x100", "data.value")
        for i in range(256):
            c.call("map-memory", vm=vm, gpa=i * 0x2000, size=0x1000)
        e = limit_error(c.error("map-memory", vm=vm, gpa=0x400000, size=0x1000), "max-regions")
        eq(e.data["value"], "0x100", "data.value")
        # A freed region can be mapped again.
        c.call("unmap-memory", vm=vm, gpa=0)
        c.call("map-memory", vm=vm, gpa=0x400000, size=0x1000)
    finally:
        d.stop()
    d = Daemon("--max-regions", "2")
    try:
        c = d.client()
        vm = c.call("create-vm")["vm"]
        c.call("map-memory", vm=vm, gpa=0, size=0x1000)
        c.call("map-memory", vm=vm, gpa=0x2000, size=0x1000)
        limit_error(c.error("map-memory", vm=vm, gpa=0x4000, size=0x1000), "max-regions")
    finally:
        d.stop()


def test_per_uid_limits():
    d = Daemon("--max-clients-per-uid", "2", "--max-vms-per-uid", "2", "--max-vcpus-per-uid",
               "2", "--max-mem-per-uid", "64K", "--max-eventfds-per-uid", "2")
    try:
        d.open_to_all()
        a = d.client_as(NOBODY)
        a2 = d.client_as(NOBODY)
        a2.call("daemon-info")
        # A third connection of the same uid is refused with a reason; root is not limited.
        s = d.client_as(NOBODY)
        m = s.other()
        eq(m["error"]["data"]["name"], "limit-exceeded")
        eq(m["error"]["data"]["limit"], "max-clients-per-uid")
        check(s.eof(), "refused connection closed")
        s.close()
        roots = [d.client() for _ in range(3)]
        for r in roots:
            r.call("daemon-info")
        # Another uid has its own budget.
        other = d.client_as(NOBODY - 1)
        other.call("daemon-info")

        v1 = a.call("create-vm")["vm"]
        v2 = a2.call("create-vm")["vm"]
        limit_error(a.error("create-vm"), "max-vms-per-uid")
        other.call("create-vm")                     # not counted against nobody
        a.call("create-vcpu", vm=v1, index=0)
        a.call("create-vcpu", vm=v1, index=1)
        limit_error(a.error("create-vcpu", vm=v2, index=0), "max-vcpus-per-uid")
        a.call("map-memory", vm=v1, gpa=0, size=0x8000)
        a.call("map-memory", vm=v2, gpa=0, size=0x8000)
        limit_error(a.error("map-memory", vm=v2, gpa=0x10000, size=0x1000), "max-mem-per-uid")
        a.call("add-ioeventfd", vm=v1, addr=0xd0000, space="mmio", len=4)
        a.call("add-ioeventfd", vm=v2, addr=0xd0000, space="mmio", len=4)
        limit_error(a.error("add-ioeventfd", vm=v1, addr=0xd0010, space="mmio", len=4),
                    "max-eventfds-per-uid")
        # Freed budget can be used again once the VM is gone.
        a.call("destroy-vm", vm=v2)
        end = time.monotonic() + 5
        while True:
            try:
                v3 = a.call("create-vm")["vm"]
                break
            except RpcError as e:
                limit_error(e, "max-vms-per-uid")   # v2 still being torn down
                check(time.monotonic() < end, "budget not returned")
                time.sleep(0.05)
        # So did v2's memory and eventfd; unmapping returns memory, v1 still holds its vCPUs.
        limit_error(a.error("map-memory", vm=v3, gpa=0, size=0x10000), "max-mem-per-uid")
        a.call("unmap-memory", vm=v1, gpa=0)
        a.call("map-memory", vm=v3, gpa=0, size=0x10000)
        limit_error(a.error("map-memory", vm=v1, gpa=0, size=0x1000), "max-mem-per-uid")
        a.call("add-ioeventfd", vm=v3, addr=0xd0000, space="mmio", len=4)
        limit_error(a.error("add-ioeventfd", vm=v3, addr=0xd0010, space="mmio", len=4),
                    "max-eventfds-per-uid")
        limit_error(a.error("create-vcpu", vm=v3, index=0), "max-vcpus-per-uid")
        # Root is bounded only by the daemon-wide limits.
        for _ in range(3):
            roots[0].call("create-vm")
        a.close()
        # The connection budget comes back with a closed connection.
        end = time.monotonic() + 5
        while True:
            c = d.client_as(NOBODY)
            try:
                c.call("daemon-info")
                break
            except EOFError:
                check(time.monotonic() < end, "connection budget not returned")
                time.sleep(0.05)
    finally:
        d.stop()


def test_request_shape_limits():
    d = Daemon("--max-string", "100", "--max-array", "8", "--max-io", "4K")
    try:
        c = d.client().unchecked()     # limits below the document's defaults
        vm = c.call("create-vm", name="shape")["vm"]
        c.call("map-memory", vm=vm, gpa=0, size=0x10000)
        # Strings: a VM reference, an enum, a nested string, an id.
        limit_error(c.error("vm-info", vm="x" * 101), "max-string")
        eq(c.error("vm-info", vm="x" * 100).name, "no-such-vm")
        limit_error(c.error("get-regs", vm=vm, vcpu=0, names=["y" * 200]), "max-string")
        limit_error(c.error("set-regs", vm=vm, vcpu=0, regs={"z" * 300: 1}), "max-string")
        c.send({"jsonrpc": "2.0", "id": "i" * 101, "method": "daemon-info"})
        m = c.other()
        eq(m["error"]["data"]["limit"], "max-string")
        # Arrays and objects.
        limit_error(c.error("subscribe", kinds=["exit"] * 9), "max-array")
        eq(c.call("subscribe", kinds=["exit"] * 8)["subscription"], 1)
        limit_error(c.error("set-regs", vm=vm, vcpu=0,
                            regs={"r%d" % i: 0 for i in range(8, 16)} | {"rax": 0}),
                    "max-array")
        limit_error(c.error("set-msi-routing", vm=vm, entries=[{}] * 9), "max-array")
        limit_error(c.error("set-msi-routing", vm=vm, entries=[[[1] * 9]]), "max-array")
        # write-memory data is bounded by max-io, not max-string.
        data = base64.b64encode(b"\x5a" * 4096).decode()
        eq(c.call("write-memory", vm=vm, gpa=0x1000, data=data)["size"], 4096)
        limit_error(c.error("write-memory", vm=vm, gpa=0x1000,
                            data=base64.b64encode(b"\x5a" * 4097).decode()), "max-io")
        limit_error(c.error("write-memory", vm=vm, gpa=0x1000, data="A" * 60000), "max-io")
        limit_error(c.error("read-memory", vm=vm, gpa=0, size=4097), "max-io")
        eq(len(base64.b64decode(c.call("read-memory", vm=vm, gpa=0x1000, size=4096)["data"])),
           4096)
        # Nothing of that had a side effect, and the connection still works.
        eq(c.call("vm-info", vm=vm)["name"], "shape")
    finally:
        d.stop()


def test_frame_timeout():
    d = Daemon("--frame-timeout", "400")
    try:
        # A line completed in pieces within the timeout is fine.
        c = d.client().unchecked()
        c.send_raw('{"jsonrpc":"2.0","id":1,')
        time.sleep(0.2)
        c.send_raw('"method":"daemon-info"}\n')
        check("result" in c.response(1))
        # A partial line that stays partial is answered with timeout and closed.
        c.send_raw('{"jsonrpc":"2.0","id":2,')
        t0 = time.monotonic()
        m = c.other(timeout=5)
        eq(m["error"]["data"], {"name": "timeout", "limit": "frame-timeout-ms",
                                "value": "0x190"})
        check(c.eof(), "closed after a partial frame")
        check(time.monotonic() - t0 >= 0.3, "not before the timeout")
        # Others are unaffected; an idle connection (no partial line) is never timed out.
        idle = d.client()
        time.sleep(0.8)
        idle.call("daemon-info")
    finally:
        d.stop()


def storm_vm(c):
    """A VM whose vCPU streams 32-bit OUTs (one event each) practically forever."""
    vm = c.boot_vm("bench-out", regs={"rbx": 0x7FFFFFFF})
    eq(c.call("run", vm=vm, vcpu=0, mode="stream")["state"], "running")
    return vm


def info_latency(c):
    t0 = time.monotonic()
    c.call("daemon-info")
    return time.monotonic() - t0


def small_quarantine():
    """Under ASan freed memory sits in a 256 MB quarantine first: RSS would grow by that
    much with any allocation rate.  A small one keeps the measurement about mshvd."""
    opts = os.environ.get("ASAN_OPTIONS", "")
    if "quarantine_size_mb" not in opts:
        os.environ["ASAN_OPTIONS"] = (opts + ":" if opts else "") + "quarantine_size_mb=4"


def test_lagging_subscriber():
    small_quarantine()
    d = Daemon("--max-output", "256K")
    try:
        lag = d.client()
        lag.call("subscribe")
        lag.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        ctl, probe = d.client(), d.client()
        rss0 = d.rss_kb()
        vm = storm_vm(ctl)
        samples, worst = [], 0.0
        end = time.monotonic() + 6
        while time.monotonic() < end:
            worst = max(worst, info_latency(probe))
            samples.append(d.rss_kb())
            time.sleep(0.2)
        seq_storm = probe.call("daemon-info")["seq"]
        check(seq_storm > 10000, "a storm: %d events" % seq_storm)
        ctl.call("stop", vm=vm, vcpu=0)
        # Memory: the ring fills early; after that the RSS stays flat although the lagging
        # client misses tens of thousands of events.
        mid = samples[len(samples) // 3]
        note = "rss start %d, a third in %d, max %d kB, worst daemon-info %.3fs, %d events" % (
            rss0, mid, max(samples), worst, seq_storm)
        print(note)
        check(max(samples) - mid < 4 * 1024, "RSS grows: " + note)
        check(max(samples) - rss0 < 96 * 1024, "RSS too large: " + note)
        check(worst < 1.0, "others are served: " + note)
        # The lagging client reads now: some events, then one events-lost, then it goes on.
        deadline = time.monotonic() + 20
        while not any(e["kind"] == "events-lost" for e in lag.events):
            check(time.monotonic() < deadline, "no events-lost")
            lag.drain(0.2)
        i = next(i for i, e in enumerate(lag.events) if e["kind"] == "events-lost")
        lost = lag.events[i]
        check(lost["from"] <= lost["to"], "from <= to")
        check(lost["to"] - lost["from"] > 1000, "many events lost: %r" % lost)
        before = [e["seq"] for e in lag.events[:i]]
        check(before == sorted(before) and (not before or before[-1] < lost["from"]),
              "in order before the gap")
        eq(len([e for e in lag.events if e["kind"] == "events-lost"]), 1, "one events-lost")
        # Later events still arrive, after the gap.
        ctl.call("create-vcpu", vm=vm, index=1)
        ev = lag.wait_event(lambda e: e["kind"] == "vcpu-state" and e.get("vcpu") == 1 and
                            e.get("state") == "created", start=i)
        check(ev["seq"] > lost["to"], "after the gap")
        lag.call("daemon-info")
        # The dropped events that the ring still holds are replayable.
        since = lost["to"] - 100
        n0 = len(lag.events)
        sub = lag.call("subscribe", since=since)
        check(sub["subscription"] > 1, "a second subscription")
        lag.wait_event(lambda e: e["seq"] == lost["to"], start=n0)
        replayed = [e["seq"] for e in lag.events[n0:] if since < e["seq"] <= lost["to"]]
        eq(replayed, list(range(since + 1, lost["to"] + 1)), "replayed from the ring")
        ctl.call("destroy-vm", vm=vm)
    finally:
        d.stop()


def test_stuck_client_dropped():
    d = Daemon("--max-output", "64K", "--output-timeout", "1000")
    try:
        stuck = d.client()
        stuck.call("subscribe")
        stuck.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        ctl = d.client()
        vm = storm_vm(ctl)
        end = time.monotonic() + 15
        while ctl.call("daemon-info")["counts"]["clients"] != 1:
            check(time.monotonic() < end, "the stuck client was not dropped")
            time.sleep(0.2)
        check("output stuck" in d.log_text(), "logged why")
        ctl.call("stop", vm=vm, vcpu=0)
        ctl.call("destroy-vm", vm=vm)
        stuck.close()
    finally:
        d.stop()


def test_replies_never_dropped():
    """A client that pipelines requests without reading gets every reply once it reads."""
    d = Daemon("--max-output", "64K")
    try:
        c = d.client().unchecked()
        n = 2000     # ~2 MB of replies: far past max-output and the socket buffers
        payload = "".join('{"jsonrpc":"2.0","id":%d,"method":"daemon-info"}\n' % i
                          for i in range(n))
        c.sock.setblocking(False)
        sent = 0
        data = payload.encode()
        end = time.monotonic() + 10
        while sent < len(data) and time.monotonic() < end:
            try:
                sent += c.sock.send(data[sent:])
            except BlockingIOError:
                # Throttled: the daemon stopped reading until we read its replies.
                break
        c.sock.setblocking(True)
        while sent < len(data):
            c.drain(0.05)
            sent += c.sock.send(data[sent:])
        for i in range(n):
            check("result" in c.response(i, timeout=10), "reply %d" % i)
    finally:
        d.stop()


def test_inflight():
    """After max-inflight unanswered calls the daemon stops reading that connection (the
    next request waits in the socket) and resumes when one finishes; others are served."""
    d = Daemon("--max-inflight", "2")
    try:
        c, ctl = d.client(), d.client()
        vm = c.boot_vm("daemon-spin", vcpus=2)
        waits = [c.request("run", {"vm": vm, "vcpu": i, "wait": True}) for i in range(2)]
        info = c.request("daemon-info")
        try:
            c.response(info, timeout=0.5)
            raise AssertionError("a third request was served while two were in flight")
        except TimeoutError:
            pass
        check("backend" in ctl.call("daemon-info"), "other connections are served")
        ctl.call("stop", vm=vm, vcpu=0)
        eq(c.response(waits[0])["result"]["exit"]["type"], "stopped")
        check("result" in c.response(info, timeout=5), "served once one call finished")
        ctl.call("stop", vm=vm, vcpu=1)
        eq(c.response(waits[1])["result"]["exit"]["type"], "stopped")
        c.call("destroy-vm", vm=vm)
    finally:
        d.stop()


def test_batch_bounded_by_output():
    """A batch whose replies would pass max-output runs only as far as they fit."""
    d = Daemon("--max-output", "64K", "--max-io", "32K")
    try:
        c = d.client().unchecked()
        vm = c.call("create-vm")["vm"]
        c.call("map-memory", vm=vm, gpa=0, size=0x10000)
        c.send([{"jsonrpc": "2.0", "id": i, "method": "read-memory",
                 "params": {"vm": vm, "gpa": 0, "size": 32 << 10}} for i in range(8)])
        replies = sorted(c.other(), key=lambda r: r["id"])
        eq(len(replies), 8)
        ok = [r["id"] for r in replies if "result" in r]
        eq(ok, [0, 1], "the replies that fit")
        for r in replies[2:]:
            eq(r["error"]["data"], {"name": "limit-exceeded", "limit": "max-output",
                                    "value": "0x10000"})
        c.call("daemon-info")
    finally:
        d.stop()


run([test_batch_bounded_by_output, test_inflight, test_defaults_reported, test_options_reported, test_hv_ceilings, test_per_uid_limits,
     test_request_shape_limits, test_frame_timeout, test_lagging_subscriber,
     test_stuck_client_dropped, test_replies_never_dropped])
