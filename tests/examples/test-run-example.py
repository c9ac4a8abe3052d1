#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# examples/shell/run-example.sh (socat + jq) against a private mshvd.

import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from examples_test import eq, need_tools, run_example, src_path  # noqa: E402

need_tools("socat", "jq", "base64")
out = run_example(["bash", src_path("examples/shell/run-example.sh")])
lines = out.splitlines()
eq(lines, ["guest: wrote '4' (0x34) to port 0x3f8", "guest: wrote 0 to port 0x3f8",
           "guest: halted at 0x100c", "run-example: ok"], "output")
print("PASS: run-example.sh")
