#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# examples/python/sandbox.py against a private mshvd: 100 invocations, all correct.

import re
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from examples_test import build_path, check, eq, run_example, src_path  # noqa: E402

out = run_example([sys.executable, "-B", src_path("examples/python/sandbox.py"),
                   "--guest", build_path("examples/guests/sandbox.bin")])
calls = [l for l in out.splitlines() if l.startswith("call ")]
eq(len(calls), 100, "calls")
eq([l for l in calls if " ok " not in l], [], "calls not ok")
check(re.search(r"^sandbox: 100 calls, 100 correct; latency p50 [0-9.]+ ms, p99 [0-9.]+ ms",
                out, re.M), "summary line")
print("PASS: sandbox.py")
