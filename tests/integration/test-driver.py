#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The MSHV driver generation as mshvd shows it: daemon-info's driver (and mshvctl info) name the
# generation and features the mshv backend detected (null on kvm and emu), and create-vm's
# options for the newer partition bits work where the driver has them and are refused with
# unsupported, before anything is created, where it does not; vm-info's options show them.
# Under the mshv-sim the generation is MSHV_SIM_GEN (default 7.0); tests/integration/mshv.am
# runs it per generation.

import os
import subprocess
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from mshvd_test import BACKEND, Daemon, build_path, check, eq, run  # noqa: E402

# What each sim generation is (fact sheet §11): generation name, features, partition bits.
SIM_GENS = {
    "6.15": ("6.15", set(), set()),
    "6.19": ("6.19", {"cpu-xsave-features", "host-properties", "partition-property-ex",
                      "vmm-capabilities", "deposit-in-kernel", "movable-memory"},
             {"cpu_features"}),
    "7.0": ("7.0", {"cpu-xsave-features", "nested-virtualization", "smt-guest",
                    "host-properties", "partition-property-ex", "vmm-capabilities",
                    "deposit-in-kernel", "movable-memory"},
            {"cpu_features", "nested_virtualization", "smt_guest"}),
    "ms-2025": ("microsoft", {"cpu-xsave-features", "host-properties", "translate-gva-ioctl",
                              "gpa-read-write"}, {"cpu_features"}),
    "ms": ("microsoft", {"cpu-xsave-features", "host-properties", "partition-property-ex",
                         "vmm-capabilities", "deposit-in-kernel", "translate-gva-ioctl",
                         "gpa-read-write"}, {"cpu_features"}),
}

# create-vm params per option, and the daemon-info capability that says it is there.
OPTIONS = {
    "nested_virtualization": ({"nested_virtualization": True}, "nested-virtualization"),
    "smt_guest": ({"smt_guest": True}, "smt-guest"),
    "cpu_features": ({"disabled_cpu_features": ["0x0", 0], "disabled_xsave_features": 0},
                     "cpu-features"),
}


def expected():
    """(generation, features, options) this backend must report; generation None: no driver."""
    if BACKEND != "mshv":
        return None, set(), set()
    if not os.environ.get("MSHVD_TEST_PRELOAD"):
        return "?", None, None          # a real /dev/mshv: whatever it is
    return SIM_GENS[os.environ.get("MSHV_SIM_GEN", "7.0")]


def test_daemon_info_driver():
    gen, features, _ = expected()
    d = Daemon()
    try:
        info = d.client().call("daemon-info")
        drv = info["driver"]
        if gen is None:
            eq(drv, None, "driver on %s" % BACKEND)
            return
        check(drv is not None, "mshv reports its driver")
        if gen != "?":
            eq(drv["generation"], gen, "generation")
            eq(set(drv["features"]), features, "features")
            eq(drv["vmm_capabilities"] is not None, "vmm-capabilities" in features,
               "vmm_capabilities known")
        # mshvctl info names the generation and every feature.
        out = subprocess.run([build_path("src/ctl/mshvctl"), "--socket", d.path, "info"],
                             capture_output=True, text=True, timeout=20)
        eq(out.returncode, 0, "mshvctl info: " + out.stderr)
        check("generation:" in out.stdout and drv["generation"] in out.stdout, out.stdout)
        for f in drv["features"]:
            check(f in out.stdout, "mshvctl info names %s" % f)
    finally:
        d.stop()


def test_create_vm_options():
    gen, _, options = expected()
    d = Daemon()
    try:
        c = d.client()
        caps = set(c.call("daemon-info")["capabilities"])
        for name, (params, cap) in OPTIONS.items():
            have = cap in caps
            if options is not None:
                eq(have, name in options, "capability %s" % cap)
            if have:
                r = c.call("create-vm", name="opt-" + name.replace("_", "-"), **params)
                # vm-info shows the options the VM was created with.
                opts = c.call("vm-info", vm=r["vm"])["options"]
                for flag in ("nested_virtualization", "smt_guest"):
                    eq(opts[flag], flag == name, "vm-info options %s" % flag)
                if name == "cpu_features":
                    eq(opts["disabled_cpu_features"], ["0x0", "0x0"], "vm-info cpu banks")
                    eq(opts["disabled_xsave_features"], "0x0", "vm-info xsave")
                else:
                    check("disabled_cpu_features" not in opts, "no banks: %s" % opts)
                c.call("destroy-vm", vm=r["vm"])
            else:
                e = c.error("create-vm", name="opt-" + name.replace("_", "-"), **params)
                eq(e.name, "unsupported", name)
                check(name.split("_")[0] in e.message or "feature banks" in e.message,
                      e.message)
                if gen not in (None, "?"):
                    check("generation " + gen in e.message, e.message)
        eq(c.call("list-vms")["vms"], [], "nothing left behind")
        # A VM without the new options says so, on every backend.
        vm = c.call("create-vm")["vm"]
        opts = c.call("vm-info", vm=vm)["options"]
        eq((opts["nested_virtualization"], opts["smt_guest"]), (False, False), "defaults")
        check("disabled_cpu_features" not in opts and "disabled_xsave_features" not in opts,
              "no banks: %s" % opts)
        c.call("destroy-vm", vm=vm)
        # Malformed options are invalid-params on every backend, before the capability check.
        eq(c.error("create-vm", disabled_cpu_features=[1, 2, 3]).name, "invalid-params")
        eq(c.error("create-vm", disabled_cpu_features=["x"]).name, "invalid-params")
        eq(c.error("create-vm", disabled_xsave_features=-1).name, "invalid-params")
        eq(c.error("create-vm", smt_guest=1).name, "invalid-params")
    finally:
        d.stop()


run([test_daemon_info_driver, test_create_vm_options])
