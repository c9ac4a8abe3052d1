#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Every mshvctl verb against a real mshvd, in human and --json output modes, with the --json
# output parsed and checked, and the daemon's errors mapped to exit 1 with their name.
import base64
import json
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctltest import Daemon, ctl, check, done, guest, ndjson, one_json, hexval, note  # noqa

with Daemon() as d:
    s = d.socket

    def c(*args, **kw):
        return ctl(list(args), socket=s, **kw)

    def j(*args, **kw):
        return one_json(ctl(list(args), socket=s, json_mode=True, **kw))

    example = open(guest("example.bin"), "rb").read()

    # info
    out = c("info").stdout.decode()
    check("backend:" in out and "limits:" in out, "info human: %r" % out[:200])
    info = j("info")
    check(info and info.get("backend") and "version" in info, "info json: %r" % info)
    check(info.get("backend") == d.backend, "backend %r, wanted %r" % (info.get("backend"), d.backend))
    isolation = "none-emulated" if d.backend == "emu" else "hardware"
    check(info.get("isolation") == isolation, "isolation %r, wanted %r" % (info.get("isolation"), isolation))
    check(("NOT an isolation boundary" in out) == (d.backend == "emu"), "info note: %r" % out[-300:])

    # create, list, show
    out = c("create", "demo").stdout.decode()
    check(out.startswith("created vm ") and "(demo)" in out, "create human: %r" % out)
    r = j("create", "demo2")
    check(isinstance(r.get("vm"), int) and r.get("name") == "demo2", "create json: %r" % r)
    out = c("list").stdout.decode()
    lines = out.splitlines()
    check(lines and "NAME" in lines[0] and "STATE" in lines[0], "list header: %r" % out)
    check(any(" demo " in l + " " for l in lines[1:]), "list shows demo: %r" % out)
    r = j("list")
    check(sorted(v["name"] for v in r["vms"]) == ["demo", "demo2"], "list json: %r" % r)
    out = c("show", "demo").stdout.decode()
    check("name:" in out and "demo" in out and "regions" in out, "show human: %r" % out)
    r = j("show", "demo")
    check(r.get("name") == "demo", "show json: %r" % r)

    # map, write, read, load
    check(c("map", "demo", "0", "768K").stdout == b"", "map human is quiet")
    r = j("map", "demo2", "0", "0x10000", "--flags", "rwx")
    check(isinstance(r, dict), "map json: %r" % r)
    regions = j("show", "demo")["regions"]
    check(len(regions) == 1 and hexval(regions[0]["size"]) == 0xc0000, "region: %r" % regions)

    c("write", "demo", "0x1000", guest("example.bin"))
    p = c("read", "demo", "0x1000", str(len(example)))
    check(p.stdout == example, "read raw (piped) returns the bytes: %r" % p.stdout)
    r = j("read", "demo", "0x1000", str(len(example)))
    check(base64.b64decode(r["data"]) == example, "read json data: %r" % r)
    r = j("write", "demo", "0x2000", "--hex", "90 90 f4")
    check(isinstance(r, dict), "write json: %r" % r)
    out = c("read", "demo", "0x2000", "3", "--hexdump").stdout.decode()
    check(out.startswith("00002000  90 90 f4"), "hexdump: %r" % out)
    c("write", "demo", "0x3000", "--string", "hello")
    check(c("read", "demo", "0x3000", "5", "--raw").stdout == b"hello", "--string")
    c("write", "demo", "0x3100", "-", input=b"from stdin")
    check(c("read", "demo", "0x3100", "10").stdout == b"from stdin", "write from stdin")

    blob = os.urandom(200 * 1024 + 123)
    path = os.path.join(d.dir, "blob")
    open(path, "wb").write(blob)
    out = c("load", "demo", path, "--gpa", "0x10000").stdout.decode()
    check(out.startswith("loaded 200.1 KiB") and "0x10000" in out, "load human: %r" % out)
    p = ctl(["load", "demo", path, "--gpa", "0x50000", "--chunk", "64K"], socket=s,
            json_mode=True)
    check(len(ndjson(p)) == 4, "load json: one result per 64K chunk: %r" % p.stdout)
    got = c("read", "demo", "0x10000", str(len(blob))).stdout
    check(got == blob, "load + read (multi-chunk) round trip")
    check(c("read", "demo", "0x50000", str(len(blob))).stdout == blob, "load --chunk")
    # A write in 64 KiB chunks over a hole stops at the chunk that fails: nothing after it.
    c("create", "holes")
    c("map", "holes", "0", "64K")
    c("map", "holes", "0x20000", "64K")
    path = os.path.join(d.dir, "ab")
    open(path, "wb").write(b"\xab" * (192 * 1024))
    p = ctl(["write", "holes", "0", path], socket=s, rc=1)
    check(b"write-memory" in p.stderr, "the failed chunk is reported: %r" % p.stderr)
    check(c("read", "holes", "0", "4").stdout == b"\xab" * 4, "chunks before it written")
    check(c("read", "holes", "0x20000", "4").stdout == bytes(4), "no chunk after it written")
    c("destroy", "holes")

    # vcpu create, regs get/set with segment sub-fields merged
    check(c("vcpu", "create", "demo", "0").stdout == b"", "vcpu create human is quiet")
    r = j("vcpu", "create", "demo", "1")
    check(isinstance(r, dict), "vcpu create json: %r" % r)
    c("regs", "set", "demo", "0", "rip=0x1000", "cs.base=0", "cs.selector=0", "rax=2", "rbx=2")
    regs = j("regs", "get", "demo", "0")["regs"]
    check(hexval(regs["rip"]) == 0x1000 and hexval(regs["rax"]) == 2, "rip/rax: %r" % regs)
    cs = regs["cs"]
    check(hexval(cs["base"]) == 0 and hexval(cs["selector"]) == 0, "cs set: %r" % cs)
    check(hexval(cs["limit"]) == 0xffff and hexval(cs["attributes"]) == 0x9b,
          "cs limit/attributes kept from the current value: %r" % cs)
    r = j("regs", "set", "demo", "0", "rflags=0x2")
    check(isinstance(r, dict), "regs set json: %r" % r)
    out = c("regs", "get", "demo", "0").stdout.decode()
    check("rip    0x0000000000001000" in out and "cs     base 0x0000000000000000" in out,
          "regs get human: %r" % out)
    r = j("regs", "get", "demo", "0", "rax", "rbx")["regs"]
    check(sorted(r) == ["rax", "rbx"], "regs get NAME...: %r" % r)
    c("regs", "set", "demo", "0", "rax=1", "rbx=zz", rc=2)
    c("regs", "get", "demo", "7", rc=1)

    # translate (real mode: identity)
    out = c("translate", "demo", "0", "0x1234").stdout.decode()
    check(out.strip() == "gva 0x1234 -> gpa 0x1234", "translate human: %r" % out)
    r = j("translate", "demo", "0", "0x1234", "--access", "read")
    check(hexval(r["gpa"]) == 0x1234, "translate json: %r" % r)

    # run --wait: the example's two outs and the halt
    out = c("run", "demo", "0", "--wait").stdout.decode()
    check(out.startswith("io out") and "port=0x3f8" in out and "data=0x34" in out,
          "run --wait human: %r" % out)
    r = j("run", "demo", "0", "--wait", "--mode", "step")
    check(r["exit"]["type"] == "io" and hexval(r["exit"]["data"]) == 0, "run json: %r" % r)
    r = j("run", "demo", "0", "--wait")
    check(r["exit"]["type"] == "halt", "halt: %r" % r)

    # complete: IN from port 0x60 gets 0x41, which the guest then writes to 0x3f8.
    c("write", "demo", "0x4000", "--hex", "e4 60 ba f8 03 ee f4")
    c("regs", "set", "demo", "1", "rip=0x4000", "cs.base=0", "cs.selector=0")
    r = j("run", "demo", "1", "--wait")
    check(r["exit"]["type"] == "io" and r["exit"]["direction"] == "in" and
          hexval(r["exit"]["port"]) == 0x60, "io in exit: %r" % r)
    check(c("complete", "demo", "1", "--value", "0x41").stdout == b"", "complete human")
    r = j("run", "demo", "1", "--wait")
    check(r["exit"]["type"] == "io" and hexval(r["exit"]["data"]) == 0x41,
          "completed value reaches the guest: %r" % r)
    # complete with --json and a register assignment (rip=) on the next exit (halt)
    r = j("run", "demo", "1", "--wait")
    check(r["exit"]["type"] == "halt", "halt after out: %r" % r)
    r = j("complete", "demo", "1", "rip=0x4000")
    check(isinstance(r, dict), "complete json: %r" % r)
    check(hexval(j("regs", "get", "demo", "1", "rip")["regs"]["rip"]) == 0x4000,
          "complete rip= sets RIP")

    # stop a spinning vCPU, both modes; pause/resume
    c("write", "demo2", "0x1000", "--hex", "eb fe")
    c("vcpu", "create", "demo2", "0")
    c("regs", "set", "demo2", "0", "rip=0x1000", "cs.base=0", "cs.selector=0")
    check(c("run", "demo2", "0").stdout == b"", "run without --wait is quiet")
    out = c("stop", "demo2", "0").stdout.decode()
    check(out.startswith("stopped"), "stop human: %r" % out)
    r = j("run", "demo2", "0", "--mode", "stream")
    check(isinstance(r, dict), "run json: %r" % r)
    r = j("pause", "demo2")
    check(isinstance(r, dict), "pause json: %r" % r)
    check(c("resume", "demo2").stdout == b"", "resume human is quiet")
    c("pause", "demo2")
    r = j("resume", "demo2")
    check(isinstance(r, dict), "resume json: %r" % r)
    r = j("stop", "demo2", "0")
    check(r["exit"]["type"] == "stopped", "stop json: %r" % r)

    # call: any method, JSON or key=value params
    out = c("call", "vm-info", "vm=demo").stdout.decode()
    check(json.loads(out)["name"] == "demo", "call key=value: %r" % out[:100])
    r = j("call", "vm-info", '{"vm": "demo"}')
    check(r["name"] == "demo", "call JSON: %r" % r)
    r = j("call", "read-memory", "vm=demo", "gpa=0x3000", "size=5")
    check(base64.b64decode(r["data"]) == b"hello", "call typed values: %r" % r)

    # eventfd and interrupt verbs, on a VM with the interrupt controller (irqchip on kvm, the
    # LAPIC partition flag on mshv): every one must succeed.
    r = j("create", "--irqchip", "--lapic", "irq")
    j("vcpu", "create", "irq", "0")
    r = j("ioeventfd", "add", "irq", "0xd0000", "--len", "4", "--datamatch", "7")
    check("id" in r, "ioeventfd add: %r" % r)
    c("ioeventfd", "remove", "irq", str(r["id"]))
    c("msi-routing", "irq", "24:0xfee00000:0:0x30")
    r = j("irqfd", "add", "irq", "24")
    check("id" in r, "irqfd add: %r" % r)
    c("irqfd", "trigger", "irq", "24")
    c("irqfd", "remove", "irq", str(r["id"]))
    c("interrupt", "irq", "0x30", "--type", "fixed", "--apic-id", "0")
    info = j("show", "irq")
    check(info.get("eventfds") == [], "eventfds removed: %r" % info.get("eventfds"))

    # daemon errors: exit 1 with the symbolic name on stderr, nothing on stdout
    p = c("show", "nosuch", rc=1)
    check(b"no-such-vm" in p.stderr and p.stdout == b"", "no-such-vm: %r" % p.stderr)
    p = c("call", "no-such-method", rc=1)
    check(b"method-not-found" in p.stderr, "method-not-found: %r" % p.stderr)
    p = c("map", "demo", "0x1001", "4K", rc=1)
    check(b"invalid-params" in p.stderr, "unaligned map: %r" % p.stderr)

    # snapshot, snapshots, clone, restore, snapshot-destroy (where the backend has snapshots)
    p = c("snapshot", "demo", "--name", "s1", rc=None)
    if p.returncode == 1 and b"unsupported" in p.stderr:
        note("SKIP part: the %s backend has no snapshots" % d.backend)
    else:
        check(p.returncode == 0 and p.stdout.decode().startswith("snapshot ") and
              "(s1)" in p.stdout.decode(), "snapshot human: %r %r" % (p.stdout, p.stderr))
        r = j("snapshot", "demo")
        check(isinstance(r.get("snapshot"), int) and r.get("memory"), "snapshot json: %r" % r)
        out = c("snapshots").stdout.decode()
        check("s1" in out and r["name"] in out, "snapshots human: %r" % out)
        check('{"vcpu"' not in out and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", out),
              "snapshots human: a vCPU count and a UTC time: %r" % out)
        lst = j("snapshots")
        check(len(lst.get("snapshots", [])) == 2, "snapshots json: %r" % lst)
        out = c("clone", "s1", "demo-clone").stdout.decode()
        check(out.startswith("created vm ") and "(demo-clone)" in out, "clone: %r" % out)
        check(c("restore", "demo", "s1").stdout == b"", "restore human is quiet")
        r2 = j("restore", "demo", str(r["snapshot"]))
        check(r2.get("snapshot") == r["snapshot"], "restore json: %r" % r2)
        p = c("restore", "demo", "nosuch", rc=1)
        check(b"no-such-snapshot" in p.stderr, "no-such-snapshot: %r" % p.stderr)
        path = os.path.join(d.dir, "s1.snap")
        out = c("snapshot-save", "s1", path).stdout.decode()
        check(out.startswith("saved snapshot s1 to ") and os.path.getsize(path) > 0x10000,
              "snapshot-save: %r" % out)
        out = c("snapshot-load", path, "s1-loaded").stdout.decode()
        check(out.startswith("loaded snapshot ") and "(s1-loaded)" in out,
              "snapshot-load: %r" % out)
        r3 = j("snapshot-load", path)
        check(r3.get("backend") == d.backend, "snapshot-load json: %r" % r3)
        r4 = j("snapshot-load", "--warm", path, "s1-warm")
        check(r4.get("warm") is True, "snapshot-load --warm: %r" % r4)
        c("snapshot-destroy", "s1-warm")
        os.unlink(path)
        r4 = j("snapshot", "--warm", "--name", "s1-warm", "demo")
        check(r4.get("warm") is True and r4.get("spare_ready") is False,
              "snapshot --warm: %r" % r4)
        out = c("clone", "s1-warm", "demo-warm-clone").stdout.decode()
        check(out.startswith("created vm ") and "(demo-warm-clone)" in out, "warm clone: %r" % out)
        c("destroy", "demo-warm-clone")
        c("snapshot-destroy", "s1-warm")
        c("snapshot-destroy", "s1-loaded")
        c("snapshot-destroy", str(r3["snapshot"]))
        c("snapshot-destroy", "s1")
        j("snapshot-destroy", str(r["snapshot"]))
        check(c("snapshots").stdout == b"no snapshots\n", "no snapshots left")
        c("destroy", "demo-clone")

    # unmap, destroy (both modes)
    check(c("unmap", "demo2", "0").stdout == b"", "unmap human is quiet")
    r = j("unmap", "demo", "0")
    check(isinstance(r, dict), "unmap json: %r" % r)
    check(c("destroy", "demo").stdout == b"", "destroy human is quiet")
    r = j("destroy", "demo2")
    check(isinstance(r, dict), "destroy json: %r" % r)
    c("destroy", "irq")
done()
