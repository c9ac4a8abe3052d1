#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# mshvctl help METHOD renders every method of the OpenRPC document (params, result, errors), from
# the file ($MSHVD_RPC_SCHEMA) and, without one, from rpc.discover on a running daemon.

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpctest import BUILDDIR, DOC_PATH, done, fail, load_doc, skip  # noqa: E402

MSHVCTL = os.path.join(BUILDDIR, "src", "ctl", "mshvctl")
if not os.access(MSHVCTL, os.X_OK):
    skip("mshvctl is not built")
doc = load_doc()


def helptext(args, env, sock="/nonexistent/mshvd.sock"):
    e = dict(os.environ)
    e.update(env)
    p = subprocess.run([MSHVCTL, "--socket", sock, "help"] + args, capture_output=True,
                       env=e, timeout=30)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def check_method(m, text):
    if not text.startswith(m["name"] + " - " + m["summary"]):
        fail("help %s: header %r" % (m["name"], text[:80]))
    for p in m["params"]:
        if "\n  %s " % p["name"] not in text:
            fail("help %s: param %s missing" % (m["name"], p["name"]))
    for e in m["errors"]:
        if e["$ref"].rsplit("/", 1)[1] not in text.split("Errors:")[-1]:
            fail("help %s: error %s missing" % (m["name"], e["$ref"]))
    if "Permission: %s" % m["x-permission"] not in text:
        fail("help %s: permission missing" % m["name"])


env = {"MSHVD_RPC_SCHEMA": DOC_PATH}
for m in doc["methods"]:
    rc, out, errout = helptext(["--method", m["name"]], env)
    if rc != 0:
        fail("help --method %s: exit %d: %s" % (m["name"], rc, errout))
    check_method(m, out)
rc, out, _ = helptext(["add-ioeventfd"], env)
if rc != 0 or not out.startswith("add-ioeventfd - "):
    fail("help METHOD for a name that is not a command")
rc, out, _ = helptext(["--methods"], env)
for m in doc["methods"]:
    if "\n  %s " % m["name"] not in out:
        fail("help --methods lacks %s" % m["name"])
rc, _, errout = helptext(["no-such-thing"], env)
if rc != 2:
    fail("help of an unknown name: exit %d, expected 2" % rc)
rc, _, errout = helptext(["daemon-info"], {"MSHVD_RPC_SCHEMA": "/nonexistent.json"})
if rc == 0:
    fail("an unreadable MSHVD_RPC_SCHEMA is an error")

# Fallback: no file, ask the daemon (only meaningful when no schema is installed here).
installed = subprocess.run(["strings", MSHVCTL], capture_output=True).stdout.decode()
installed = [ln for ln in installed.splitlines() if ln.endswith("/mshvd.openrpc.json")]
if installed and not os.path.exists(installed[0]):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                    "integration"))
    import mshvd_test
    if os.path.exists("/dev/kvm") and os.path.exists(mshvd_test.build_path("src/daemon/mshvd")):
        d = mshvd_test.Daemon()
        try:
            e = dict(os.environ)
            e.pop("MSHVD_RPC_SCHEMA", None)
            p = subprocess.run([MSHVCTL, "--socket", d.path, "help", "vm-info"],
                               capture_output=True, env=e, timeout=30)
            if p.returncode != 0:
                fail("help via rpc.discover: %s" % p.stderr.decode())
            check_method([m for m in doc["methods"] if m["name"] == "vm-info"][0],
                         p.stdout.decode())
        finally:
            d.stop()
done("help renders the %d methods" % len(doc["methods"]))
