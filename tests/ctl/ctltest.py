# SPDX-License-Identifier: MIT
"""Shared helpers of the mshvctl tests: a private mshvd, running mshvctl, checks, exit codes."""

import json
import os
import shutil
import subprocess
import sys

SKIP = 77
ERROR = 99

top_builddir = os.environ.get("top_builddir", ".")
top_srcdir = os.environ.get("top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
MSHVCTL = os.path.join(top_builddir, "src", "ctl", "mshvctl")
MSHVD = os.path.join(top_builddir, "src", "daemon", "mshvd")

failures = 0


def note(msg):
    print("# " + msg, flush=True)


def skip(why):
    print("SKIP: " + why, flush=True)
    sys.exit(SKIP)


def error(why):
    print("ERROR: " + why, flush=True)
    sys.exit(ERROR)


def check(cond, what):
    """Record a failure (and go on) unless cond holds."""
    global failures
    if not cond:
        failures += 1
        frame = sys._getframe(1)
        print("FAIL: %s:%d: %s" % (os.path.basename(frame.f_code.co_filename), frame.f_lineno,
                                   what), flush=True)
    return cond


def done():
    if failures:
        print("%d check(s) failed" % failures)
        sys.exit(1)
    sys.exit(0)


def guest(name):
    path = os.path.join(top_builddir, "tests", "guests", name)
    if not os.path.exists(path):
        error("guest %s is not built" % path)
    return path


def kvm_usable():
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    os.close(fd)
    return True


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import mshvd_test  # noqa: E402


class Daemon(mshvd_test.Daemon):
    """The integration tests' private mshvd (its stop checks exit status 0, socket removal and
    the log for sanitizer reports), under the names the mshvctl tests use."""

    def __init__(self, backend=None):
        if not os.access(MSHVD, os.X_OK):
            skip("%s is not built" % MSHVD)
        self.backend = backend or os.environ.get("MSHVCTL_TEST_BACKEND", mshvd_test.BACKEND)
        if self.backend == "emu":
            if not mshvd_test.emu_built():
                skip("mshvd is built --without-unicorn: no emu backend")
        elif not kvm_usable():
            skip("/dev/kvm is not usable")
        super().__init__(backend=self.backend)
        self.socket = self.path
        self.stopped = False

    def stop(self):
        if not self.stopped:
            self.stopped = True
            super().stop()

    def close(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def ctl(args, socket=None, json_mode=False, rc=0, input=None, timeout=60, env=None):
    """Run mshvctl; check its exit status against rc (None: any); return the process."""
    argv = [MSHVCTL]
    if socket:
        argv += ["--socket", socket]
    if json_mode:
        argv.append("--json")
    argv += [str(a) for a in args]
    e = dict(os.environ)
    if env:
        e.update(env)
    p = subprocess.run(argv, input=input, capture_output=True, timeout=timeout, env=e)
    if rc is not None:
        check(p.returncode == rc, "%s: exit %d, expected %d; stderr: %s" %
              (" ".join(argv[1:]), p.returncode, rc, p.stderr.decode(errors="replace").strip()))
    return p


def ndjson(p):
    """Parse stdout as NDJSON: a list of JSON values, one per non-empty line."""
    out = []
    for line in p.stdout.decode().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            check(False, "not a JSON line: %r" % line)
    return out


def one_json(p):
    values = ndjson(p)
    check(len(values) == 1, "expected one JSON line, got %d: %r" % (len(values), p.stdout))
    return values[0] if values else None


def hexval(v):
    """A 64-bit quantity from the daemon: "0x..." string or integer."""
    if isinstance(v, int):
        return v
    return int(v, 0)
