#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A function sandbox over mshvd, in the style of micro-VM function runtimes: one VM is built
once (memory, guest image, vCPU), then every invocation resets the guest (input, output header,
registers), runs it to its port I/O report and reads the output back.

The function (examples/guests/sandbox.S) returns the CRC-32 of its input and the input reversed
and upper-cased.  Every result is checked against the same computation in Python.

With --snapshot the initialised sandbox is snapshotted once (snapshot-vm) and every call
starts with restore-vm instead of resetting registers and the output header by hand: the guest
then starts from exactly the same memory and vCPU state each time (the daemon copies back only
the pages the previous call wrote).  Each input runs both ways and both latencies are printed.

    MSHVD_SOCKET=/path/to/mshvd.sock ./sandbox.py [--runs N] [--guest sandbox.bin] [--snapshot]
"""

import argparse
import os
import random
import statistics
import struct
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mshvd_client import Client, MshvdError, b64, hexnum, unb64  # noqa: E402

RAM_SIZE = 0xC0000
LOAD_GPA = 0x1000
IN_GPA = 0x10000        # u32 length, then the bytes
OUT_GPA = 0x20000       # u32 crc32, u32 length, then the bytes
IN_MAX = 0xF000
DONE_PORT = 0x604

# The guest's entry state (real mode at 0x1000, as every guest of this tree starts), written
# before each invocation so nothing of the previous one survives in registers.
REAL_SEG = {"base": 0, "selector": 0, "limit": 0xFFFF, "attributes": 0x93}
ENTRY_REGS = dict({r: 0 for r in ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp",
                                  "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15")},
                  rip=LOAD_GPA, rsp=0x8000, rflags=0x2,
                  cs={"base": 0, "selector": 0, "limit": 0xFFFF, "attributes": 0x9B},
                  ds=REAL_SEG, es=REAL_SEG, ss=REAL_SEG, fs=REAL_SEG, gs=REAL_SEG)


def expected(data):
    """The guest's function, in Python."""
    upper = bytes(b - 32 if 0x61 <= b <= 0x7A else b for b in reversed(data))
    return zlib.crc32(data) & 0xFFFFFFFF, upper


def inputs(n, seed=12):
    """n deterministic inputs: some text, some random bytes, the empty one, a large one."""
    rng = random.Random(seed)
    words = b"the quick brown fox jumps over lazy dogs mshvd micro vm sandbox".split()
    out = []
    for i in range(n):
        if i == 0:
            out.append(b"")
        elif i == 1:
            out.append(bytes(rng.randrange(256) for _ in range(4096)))
        elif i % 3 == 0:
            out.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 512))))
        else:
            out.append(b" ".join(rng.choice(words) for _ in range(rng.randrange(1, 40))))
    return out


def find_guest():
    here = os.path.dirname(os.path.abspath(__file__))
    for d in (os.environ.get("top_builddir"), os.path.join(here, "..", "..")):
        if d:
            p = os.path.join(d, "examples", "guests", "sandbox.bin")
            if os.path.exists(p):
                return p
    return None


class Sandbox:
    """One VM with one vCPU, reused for every invocation."""

    def __init__(self, client, image):
        self.c = client
        # autodestroy: if this script dies, the daemon removes the VM with the connection.
        self.vm = self.c.call("create-vm", name="sandbox-%d" % os.getpid(),
                              autodestroy=True)["vm"]
        self.c.call("map-memory", vm=self.vm, gpa=0, size=RAM_SIZE)
        self.c.call("write-memory", vm=self.vm, gpa=LOAD_GPA, data=b64(image))
        self.c.call("create-vcpu", vm=self.vm, index=0)
        self.parked = False
        self.snap = None

    def snapshot(self):
        """Snapshot the initialised sandbox (entry registers set, nothing run yet), once."""
        self.c.call("set-regs", vm=self.vm, vcpu=0, regs=ENTRY_REGS)
        self.parked = False
        self.snap = self.c.call("snapshot-vm", vm=self.vm, name="sandbox-%d" % os.getpid(),
                                autodestroy=True)["snapshot"]

    def invoke_restored(self, data):
        """Run the function on data from the snapshot; returns (crc32, output bytes)."""
        if len(data) > IN_MAX:
            raise ValueError("input larger than %d bytes" % IN_MAX)
        vm = self.vm
        # restore-vm puts back memory (output header included) and registers; the input and
        # the run follow in the same round trip.
        results = self.c.pipeline([
            ("restore-vm", {"vm": vm, "snapshot": self.snap}),
            ("write-memory", {"vm": vm, "gpa": IN_GPA,
                              "data": b64(struct.pack("<I", len(data)) + data)}),
            ("run", {"vm": vm, "vcpu": 0, "wait": True, "timeout_ms": 10000}),
        ])
        # The vCPU is parked at the report now; a plain invoke() completes that exit first.
        self.parked = True
        return self._result(results[-1]["exit"], len(data))

    def invoke(self, data):
        """Run the function on data; returns (crc32, output bytes)."""
        if len(data) > IN_MAX:
            raise ValueError("input larger than %d bytes" % IN_MAX)
        vm = self.vm
        if self.parked:
            # The vCPU is parked at the previous report: finish that exit and set the entry
            # registers in one step (a given rip overrides the advanced one).
            reset = ("complete", {"vm": vm, "vcpu": 0, "regs": ENTRY_REGS})
        else:
            reset = ("set-regs", {"vm": vm, "vcpu": 0, "regs": ENTRY_REGS})
        # Everything up to the guest's report in one round trip: the daemon answers each
        # request in order, and the run reply is the exit that parked the vCPU.
        results = self.c.pipeline([
            ("write-memory", {"vm": vm, "gpa": IN_GPA,
                              "data": b64(struct.pack("<I", len(data)) + data)}),
            ("write-memory", {"vm": vm, "gpa": OUT_GPA, "data": b64(bytes(8))}),
            reset,
            ("run", {"vm": vm, "vcpu": 0, "wait": True, "timeout_ms": 10000}),
        ])
        self.parked = True
        return self._result(results[-1]["exit"], len(data))

    def _result(self, ex, size):
        if ex["type"] != "io" or hexnum(ex["port"]) != DONE_PORT:
            raise RuntimeError("unexpected exit %r" % ex)
        if hexnum(ex["data"]) != 0:
            raise RuntimeError("guest reported failure %s" % ex["data"])
        out = unb64(self.c.call("read-memory", vm=self.vm, gpa=OUT_GPA, size=8 + size)["data"])
        crc, n = struct.unpack_from("<II", out)
        if n != size:
            raise RuntimeError("guest wrote %d bytes for an input of %d" % (n, size))
        return crc, out[8:]

    def close(self):
        if self.snap is not None:
            self.c.call("destroy-snapshot", snapshot=self.snap)
        self.c.call("destroy-vm", vm=self.vm)


def percentile(sorted_values, p):
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--socket", help="daemon socket (default $MSHVD_SOCKET or %s)"
                    % "/run/mshvd/mshvd.sock")
    ap.add_argument("--guest", help="the function image (examples/guests/sandbox.bin)")
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--snapshot", action="store_true",
                    help="snapshot the initialised sandbox once and restore it before each call "
                    "(each input also runs the plain way, for comparison)")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")

    guest = args.guest or find_guest()
    if not guest:
        ap.error("examples/guests/sandbox.bin not found: build it with make, or use --guest")
    with open(guest, "rb") as f:
        image = f.read()

    try:
        client = Client(args.socket)
    except OSError as e:
        print("sandbox: cannot connect to %s: %s" % (args.socket or "mshvd", e), file=sys.stderr)
        return 1
    with client:
        t0 = time.monotonic()
        box = Sandbox(client, image)
        setup_ms = (time.monotonic() - t0) * 1000
        print("sandbox: vm %d ready in %.1f ms" % (box.vm, setup_ms))
        if args.snapshot:
            box.snapshot()
            print("sandbox: snapshot %d of the initialised sandbox" % box.snap)
        lat, rlat, bad = [], [], 0
        for i, data in enumerate(inputs(args.runs)):
            want_crc, want_out = expected(data)
            t = time.monotonic()
            crc, out = box.invoke(data)
            ms = (time.monotonic() - t) * 1000
            lat.append(ms)
            ok = crc == want_crc and out == want_out
            restored = ""
            if args.snapshot:
                t = time.monotonic()
                rcrc, rout = box.invoke_restored(data)
                rms = (time.monotonic() - t) * 1000
                rlat.append(rms)
                ok = ok and rcrc == want_crc and rout == want_out
                restored = " restored %7.3f ms" % rms
            bad += not ok
            print("call %3d: %5d bytes  crc32 %08x  %-8s %7.3f ms%s  %s" % (
                i + 1, len(data), crc, "ok" if ok else "MISMATCH", ms, restored,
                repr(out[:24]) + ("..." if len(out) > 24 else "")))
        box.close()
    if rlat:
        rlat.sort()
        print("sandbox: with restore-vm before each call: p50 %.3f ms, p99 %.3f ms, "
              "mean %.3f ms" % (percentile(rlat, 50), percentile(rlat, 99),
                                statistics.mean(rlat)))
    lat.sort()
    print("sandbox: %d calls, %d correct; latency p50 %.3f ms, p99 %.3f ms, min %.3f ms, "
          "max %.3f ms, mean %.3f ms" % (len(lat), len(lat) - bad, percentile(lat, 50),
                                         percentile(lat, 99), lat[0], lat[-1],
                                         statistics.mean(lat)))
    return 1 if bad else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except MshvdError as e:
        print("sandbox: %s" % e, file=sys.stderr)
        sys.exit(1)
