# SPDX-License-Identifier: MIT
# Shared by the example wrappers: run one example against a private mshvd and check it left
# no VM behind.

import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from mshvd_test import Daemon, build_path, check, eq, require_backend, skip  # noqa: E402,F401

SRCDIR = os.environ.get("top_srcdir") or os.path.join(HERE, "..", "..")


def src_path(rel):
    return os.path.join(SRCDIR, rel)


def need_tools(*tools):
    for t in tools:
        if not shutil.which(t):
            skip("%s is not installed (scripts/bootstrap installs it)" % t)


def run_example(argv, timeout=120):
    """Start a daemon, run argv with MSHVD_SOCKET pointing at it; returns stdout.  Fails on a
    non-zero exit or when a VM outlives the example."""
    require_backend()
    d = Daemon()
    try:
        env = dict(os.environ, MSHVD_SOCKET=d.path)
        p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
        out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
        sys.stdout.write(out)
        sys.stdout.write(err)
        eq(p.returncode, 0, "exit status of %s" % argv[0])
        c = d.client()
        eq(c.call("list-vms")["vms"], [], "VMs left behind")
        c.close()
    except BaseException:
        print(d.log_text())
        d.kill()
        raise
    d.stop()
    return out
