#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# examples/c/device-model against a private mshvd: the guest's driver checks the device's
# registers and receives three interrupts raised through the passed irqfd.

import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from examples_test import build_path, check, eq, run_example  # noqa: E402

out = run_example([build_path("examples/c/device-model"),
                   build_path("examples/guests/device.bin")])
lines = out.splitlines()
eq(lines[-1], "device-model: 7 reads, 9 writes, 3 interrupts raised; guest reported 0",
   "summary")
eq(sum(1 for l in lines if "mmio write 0xd0010" in l), 3, "doorbell rings")
check("mmio read  0xd0000 -> 0x4d534456" in out, "ID register read")
print("PASS: device-model")
