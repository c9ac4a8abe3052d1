#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# examples/python/sandbox.py against a private mshvd: 100 invocations, all correct; then the
# --snapshot mode (each input also from a restored snapshot), where the backend has snapshots.

import re
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from examples_test import build_path, check, eq, run_example, src_path  # noqa: E402
from mshvd_test import BACKEND, Daemon, backend_has_snapshots  # noqa: E402

out = run_example([sys.executable, "-B", src_path("examples/python/sandbox.py"),
                   "--guest", build_path("examples/guests/sandbox.bin")])
calls = [l for l in out.splitlines() if l.startswith("call ")]
eq(len(calls), 100, "calls")
eq([l for l in calls if " ok " not in l], [], "calls not ok")
check(re.search(r"^sandbox: 100 calls, 100 correct; latency p50 [0-9.]+ ms, p99 [0-9.]+ ms",
                out, re.M), "summary line")
print("PASS: sandbox.py")


def has_snapshots():
    d = Daemon()
    try:
        c = d.client()
        try:
            return backend_has_snapshots(c)
        finally:
            c.close()
    finally:
        d.stop()


if not has_snapshots():
    print("SKIP part: --snapshot (the %s backend has no snapshots)" % BACKEND)
    sys.exit(0)
out = run_example([sys.executable, "-B", src_path("examples/python/sandbox.py"), "--snapshot",
                   "--runs", "30", "--guest", build_path("examples/guests/sandbox.bin")])
calls = [l for l in out.splitlines() if l.startswith("call ")]
eq(len(calls), 30, "calls with --snapshot")
eq([l for l in calls if " ok " not in l or " restored " not in l], [],
   "calls not ok with --snapshot")
check(re.search(r"^sandbox: snapshot [0-9]+ of the initialised sandbox", out, re.M),
      "snapshot line")
check(re.search(r"^sandbox: with restore-vm before each call: p50 [0-9.]+ ms", out, re.M),
      "restore summary line")
print("PASS: sandbox.py --snapshot")

