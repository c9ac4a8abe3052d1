# SPDX-License-Identifier: MIT
"""Shared helpers of the mshvctl tests: a private mshvd, running mshvctl, checks, exit codes."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

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


class Daemon:
    """A private mshvd on a socket in a temporary directory."""

    def __init__(self, backend=None):
        if not os.access(MSHVD, os.X_OK):
            skip("%s is not built" % MSHVD)
        if not kvm_usable():
            skip("/dev/kvm is not usable")
        self.backend = backend or os.environ.get(
            "MSHVCTL_TEST_BACKEND", os.environ.get("MSHVD_TEST_BACKEND", "kvm"))
        self.dir = tempfile.mkdtemp(prefix="mshvctl-test-")
        self.socket = os.path.join(self.dir, "mshvd.sock")
        self.log = open(os.path.join(self.dir, "mshvd.log"), "w+")
        self.proc = None
        self.start()

    def start(self):
        args = [MSHVD, "--socket", self.socket, "--backend", self.backend, "--foreground"]
        env = dict(os.environ)
        # The mshv backend runs on the mshv-sim test double: preloaded into the daemon only.
        if self.backend == "mshv" and os.environ.get("MSHVD_TEST_PRELOAD"):
            env["LD_PRELOAD"] = os.environ["MSHVD_TEST_PRELOAD"]
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 20
        while not os.path.exists(self.socket):
            if self.proc.poll() is not None:
                self.log.seek(0)
                error("mshvd exited with %d: %s" % (self.proc.returncode, self.log.read()))
            if time.monotonic() > deadline:
                error("mshvd did not create %s" % self.socket)
            time.sleep(0.02)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def close(self):
        self.stop()
        self.log.seek(0)
        text = self.log.read()
        if failures and text:
            note("mshvd log:\n" + text)
        self.log.close()
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
