#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# mshvctl events against a real mshvd: the retained events (filters, --since), --follow in both
# output modes, interrupted by SIGINT, and ended by a daemon shutdown.
import json
import os
import select
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctltest import Daemon, ctl, check, done, guest, ndjson, MSHVCTL  # noqa: E402


def follow(sock, *args, json_mode=True):
    argv = [MSHVCTL, "--socket", sock] + (["--json"] if json_mode else []) + \
        ["events", "--follow"] + list(args)
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def read_until(p, pred, timeout=20):
    """Lines of p's stdout until pred(line) holds (raw reads: select() and Python's buffered
    readline() do not mix)."""
    lines, buf = [], b""
    fd = p.stdout.fileno()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if not r:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            lines.append(line.decode() + "\n")
            if pred(lines[-1]):
                return lines
    return lines


with Daemon() as d:
    s = d.socket
    example = guest("example.bin")
    check(ctl(["events"], socket=s).stdout == b"", "no events yet")
    ctl(["boot", example], socket=s)

    evs = ndjson(ctl(["events"], socket=s, json_mode=True))
    seqs = [e["seq"] for e in evs]
    check(len(evs) >= 4 and seqs == sorted(seqs) and len(set(seqs)) == len(seqs),
          "retained events, increasing seq: %r" % seqs)
    kinds = {e["kind"] for e in evs}
    check({"exit", "vm-state"} <= kinds, "kinds: %r" % kinds)
    vm = [e["vm"] for e in evs if e["kind"] == "exit"][0]
    exits = [e for e in evs if e["kind"] == "exit"]
    check([e["exit"]["type"] for e in exits] == ["io", "io", "halt"], "exits: %r" % exits)

    only = ndjson(ctl(["events", "--kinds", "exit"], socket=s, json_mode=True))
    check(only == exits, "--kinds exit")
    # A VM that still exists, driven step by step, for the --vm filter.
    ev = ndjson(ctl(["create", "ev"], socket=s, json_mode=True))[0]["vm"]
    for args in (["map", "ev", "0", "64K"], ["write", "ev", "0x1000", example],
                 ["vcpu", "create", "ev", "0"],
                 ["regs", "set", "ev", "0", "rip=0x1000", "cs.base=0", "cs.selector=0"],
                 ["run", "ev", "0", "--wait"], ["run", "ev", "0", "--wait"]):
        ctl(args, socket=s)
    both = ndjson(ctl(["events", "--kinds", "exit,vm-state", "--vm", "ev"], socket=s,
                      json_mode=True))
    check(all(e["kind"] in ("exit", "vm-state") and e["vm"] == ev for e in both) and
          [e["exit"]["type"] for e in both if e["kind"] == "exit"] == ["io", "io"] and
          any(e["kind"] == "vm-state" for e in both), "--kinds a,b --vm: %r" % both)
    ctl(["destroy", "ev"], socket=s)
    since = ndjson(ctl(["events", "--since", str(seqs[1])], socket=s, json_mode=True))
    check([e["seq"] for e in since][:len(seqs) - 2] == seqs[2:],
          "--since: %r" % [e["seq"] for e in since])

    human = ctl(["events"], socket=s).stdout.decode().splitlines()
    check(len(human) == len(ndjson(ctl(["events"], socket=s, json_mode=True))),
          "one human line per event")
    check(any(" exit vm=%d vcpu=0 io out port=0x3f8" % vm in l and "data=0x34" in l
              for l in human), "readable exit line: %r" % human)
    ctl(["events", "--vm", "nosuch"], socket=s, rc=1)

    # --follow, NDJSON: sees a new guest's events live; SIGINT ends it with status 0.
    # --since the current last seq: events that happen before the subscription is in place
    # are replayed, so the test does not race the start of mshvctl.
    last = ndjson(ctl(["events"], socket=s, json_mode=True))[-1]["seq"]
    p = follow(s, "--since", str(last))
    time.sleep(0.3)
    ctl(["boot", example], socket=s)
    lines = read_until(p, lambda l: '"halt"' in l)
    objs = [json.loads(l) for l in lines]
    check(objs and objs[-1].get("exit", {}).get("type") == "halt",
          "follow sees the halt: %r" % lines)
    check(all(o["seq"] > last for o in objs), "follow starts with new events")
    p.send_signal(signal.SIGINT)
    try:
        rc = p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = None
    check(rc == 0, "events --follow exits 0 on SIGINT: %r" % rc)

    # --follow, human, with a filter; then the daemon shuts down: exit 0 with a message.
    last = ndjson(ctl(["events"], socket=s, json_mode=True))[-1]["seq"]
    p = follow(s, "--kinds", "vm-state", "--since", str(last), json_mode=False)
    time.sleep(0.3)
    ctl(["boot", example], socket=s)
    lines = read_until(p, lambda l: "destroyed" in l)
    check(lines and all(" vm-state vm=" in l for l in lines), "human follow: %r" % lines)
    d.stop()
    try:
        rc = p.wait(20)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = None
    err = p.stderr.read()
    check(rc == 0, "events --follow exits 0 when the daemon shuts down: %r" % rc)
    check(b"closed the connection" in err, "shutdown message: %r" % err)
done()
