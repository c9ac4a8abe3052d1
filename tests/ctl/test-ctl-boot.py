#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# mshvctl boot against a real mshvd: the crate's example (real mode), guests started directly in
# protected and long mode, stream and step runs, the guest status as exit code, --json output.
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctltest import Daemon, ctl, check, done, guest, ndjson, hexval  # noqa: E402

with Daemon() as d:
    s = d.socket
    example = guest("example.bin")
    for extra in ([], ["--step"]):
        p = ctl(["boot", example] + extra, socket=s)
        check(p.stdout == b"4", "example prints 4 (%s): %r" % (extra, p.stdout))
    # Registers from the command line reach the guest: 3 + 4 = 7.
    p = ctl(["boot", example, "--reg", "rax=3", "--reg", "RBX=0x4"], socket=s)
    check(p.stdout == b"7", "--reg rax=3 rbx=4 prints 7: %r" % p.stdout)
    # The environment variable works like --socket.
    p = ctl(["boot", example], env={"MSHVD_SOCKET": s})
    check(p.stdout == b"4", "MSHVD_SOCKET: %r" % p.stdout)

    # --json: every exit object, unchanged; the console text is in them, not on stdout.
    p = ctl(["boot", example], socket=s, json_mode=True)
    objs = ndjson(p)
    check(len(objs) >= 4, "create-vm result and three exits: %r" % objs)
    if len(objs) >= 4:
        check("vm" in objs[0], "first line is the create-vm result")
        exits = [o["exit"] for o in objs[1:]]
        check(exits[0]["type"] == "io" and hexval(exits[0]["port"]) == 0x3f8 and
              hexval(exits[0]["data"]) == 0x34, "first exit: out '4' on 0x3f8: %r" % exits[0])
        check(exits[-1]["type"] == "halt", "last exit is halt")
        check(all(o["kind"] == "exit" and "seq" in o for o in objs[1:]), "event objects")

    for extra in ([], ["--step"]):
        p = ctl(["boot", "--mode", "protected", guest("ctl-prot.bin")] + extra, socket=s)
        check(p.stdout == b"prot ok\n", "protected mode guest (%s): %r" % (extra, p.stdout))
        p = ctl(["boot", "--mode", "long", guest("ctl-long.bin")] + extra, socket=s)
        check(p.stdout == b"long ok\n", "long mode guest (%s): %r" % (extra, p.stdout))
    # The long-mode guest reports RDI on port 0x600: --reg works in long mode too.
    p = ctl(["--json", "boot", "--mode", "long", "--reg", "rdi=0x5a5a", guest("ctl-long.bin")],
            socket=s)
    vals = [hexval(o["exit"]["data"]) for o in ndjson(p)[1:]
            if o["exit"]["type"] == "io" and hexval(o["exit"]["port"]) == 0x600]
    check(vals == [0x5a5a], "RDI reported by the long mode guest: %r" % vals)
    # A guest that switches to long mode itself (boot-long.inc) in real mode boot.
    p = ctl(["boot", guest("long-hello.bin")], socket=s)
    check(p.stdout == b"OK\n", "long-hello: %r" % p.stdout)

    # The guest status is the exit code: the long-mode guest run in protected mode fails its
    # first check (EFER.LMA) and reports 1; in real mode it does garbage -> exit 4.
    ctl(["boot", "--mode", "protected", guest("ctl-long.bin")], socket=s, rc=1)
    p = ctl(["boot", "--max-time", "3000", guest("ctl-prot.bin")], socket=s, rc=None)
    check(p.returncode != 0, "protected guest in real mode does not pass: %d" % p.returncode)
    # A load address and entry point other than the default.
    p = ctl(["boot", "--gpa", "0x1000", "--entry", "0x1000", "--mem", "1M", example], socket=s)
    check(p.stdout == b"4", "explicit --gpa/--entry/--mem: %r" % p.stdout)
    # Errors: missing file (exit 1), image too big for --mem.
    ctl(["boot", "/nonexistent.bin"], socket=s, rc=1)
    ctl(["boot", "--mem", "64K", "--gpa", "0xffff0", example], socket=s, rc=1)
    # A daemon error in the set-up requests (sent without waiting for each reply) ends the
    # boot with that request's error, and the requests after it leave nothing behind.
    p = ctl(["boot", "--mem", "1T", example], socket=s, rc=1)
    err = p.stderr.decode()
    check(err.startswith("mshvctl: map-memory: limit-exceeded") and p.stdout == b"",
          "the first failed request is reported: %r %r" % (err, p.stdout))
    # A set-up request refused after the others went out: the guest never starts (a watcher
    # sees the VM created and destroyed, and no vCPU running).
    w = d.client()
    w.call("subscribe", kinds=["vm-state", "vcpu-state"])
    p = ctl(["boot", "--reg", "bogus=1", example], socket=s, rc=None)
    check(p.returncode != 0 and b"set-regs" in p.stderr, "set-regs refused: %r" % p.stderr)
    created = w.wait_event(lambda e: e.get("kind") == "vm-state" and e.get("state") == "created")
    w.wait_event(lambda e: e.get("vm") == created["vm"] and e.get("state") == "destroyed")
    check(not [e for e in w.events if e.get("vm") == created["vm"] and
               e.get("state") == "running"], "the guest never ran: %r" % w.events)
    w.close()

    # Every boot VM was autodestroy: nothing is left.
    for _ in range(100):
        vms = ndjson(ctl(["list"], socket=s, json_mode=True))
        if vms and vms[0].get("vms") == []:
            break
        time.sleep(0.05)
    check(vms and vms[0].get("vms") == [], "no VMs left: %r" % vms)
done()
