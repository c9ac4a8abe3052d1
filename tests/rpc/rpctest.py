# SPDX-License-Identifier: MIT
"""Shared helpers of the RPC contract tests: paths, the document, the daemon's method table."""

import json
import os
import subprocess
import sys

SKIP = 77
ERROR = 99
SRCDIR = os.environ.get("top_srcdir") or os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "..", "..")
BUILDDIR = os.environ.get("top_builddir") or os.getcwd()
MSHVD = os.path.join(BUILDDIR, "src", "daemon", "mshvd")
DOC_PATH = os.path.join(SRCDIR, "rpc-schema", "mshvd.openrpc.json")

sys.path.insert(0, os.path.join(SRCDIR, "rpc-schema"))
sys.path.insert(0, os.path.join(SRCDIR, "tests", "integration"))

failures = []


def fail(what):
    failures.append(what)
    print("FAIL: " + what, flush=True)


def skip(why):
    print("SKIP: " + why, flush=True)
    sys.exit(SKIP)


def error(why):
    print("ERROR: " + why, flush=True)
    sys.exit(ERROR)


def done(checked):
    if failures:
        print("%d problem(s)" % len(failures))
        sys.exit(1)
    print("ok: %s" % checked)
    sys.exit(0)


def load_doc():
    with open(DOC_PATH, encoding="utf-8") as f:
        return json.load(f)


def need_jsonschema():
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        error("python3-jsonschema is missing (scripts/bootstrap installs it)")


def method_table():
    """The daemon's method table (mshvd --print-methods)."""
    if not os.access(MSHVD, os.X_OK):
        error("%s is not built" % MSHVD)
    out = subprocess.run([MSHVD, "--print-methods"], capture_output=True, check=True,
                         timeout=30).stdout
    return json.loads(out)


def daemon_version():
    out = subprocess.run([MSHVD, "--version"], capture_output=True, check=True,
                         timeout=30).stdout.decode()
    return out.split()[-1]
