# SPDX-License-Identifier: MIT
# Helpers for the systemd integration tests: paths, skips, a private mshvd and a tiny JSON-RPC
# client (Python 3 standard library only).

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77
ERROR = 99

BUILDDIR = os.environ.get("top_builddir") or os.getcwd()
SRCDIR = os.environ.get("top_srcdir") or os.path.join(os.path.dirname(__file__), "..", "..")
MSHVD = os.path.join(BUILDDIR, "src", "daemon", "mshvd")


def note(msg):
    print(msg, flush=True)


def skip(why):
    note("SKIP: " + why)
    sys.exit(SKIP)


def fail(why):
    note("FAIL: " + why)
    sys.exit(1)


def check(cond, what):
    if not cond:
        fail(what)
    note("ok: " + what)


def have_systemd():
    """Whether this build links libsystemd (HAVE_SYSTEMD in config.h)."""
    with open(os.path.join(BUILDDIR, "config.h")) as f:
        return any(line.split()[:2] == ["#define", "HAVE_SYSTEMD"] for line in f)


def require_tool(name):
    path = shutil.which(name)
    if not path:
        skip("%s is not installed" % name)
    return path


def require_kvm():
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC))
    except OSError as e:
        skip("/dev/kvm is not usable: %s" % e)
    if not os.access(MSHVD, os.X_OK):
        skip("src/daemon/mshvd is not built")


def tmpdir():
    """A private directory, removed at exit.  Short: Unix socket paths have 107 bytes."""
    import atexit
    d = tempfile.mkdtemp(prefix="mshvd-sd-")
    atexit.register(shutil.rmtree, d, True)
    return d


def env_without_systemd():
    """The test's own environment minus what a service manager may have set for *us*."""
    env = dict(os.environ)
    for k in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET", "WATCHDOG_USEC",
              "WATCHDOG_PID", "JOURNAL_STREAM"):
        env.pop(k, None)
    return env


def wait_exit(proc, timeout=10.0):
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        fail("the daemon did not exit within %.0f s" % timeout)


def stop(proc, timeout=10.0):
    """SIGTERM and wait; returns the exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    return wait_exit(proc, timeout)


def connect(path, timeout=10.0):
    """Connect to a Unix stream socket, retrying while it does not exist yet."""
    end = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            s.connect(path)
            return s
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
            if time.monotonic() > end:
                raise
            time.sleep(0.02)


class Rpc:
    """A line-based JSON-RPC 2.0 connection, enough for these tests."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.next_id = 1

    def send(self, method, params=None):
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.next_id += 1
        self.sock.sendall((json.dumps(msg) + "\n").encode())
        return msg["id"]

    def reply(self, id, timeout=10.0):
        self.sock.settimeout(timeout)
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                msg = json.loads(line)
                if isinstance(msg, dict) and msg.get("id") == id:
                    return msg
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed waiting for reply %d" % id)
            self.buf += data

    def call(self, method, params=None, timeout=10.0):
        msg = self.reply(self.send(method, params), timeout)
        if "error" in msg:
            raise RuntimeError("%s: %s" % (method, msg["error"]))
        return msg["result"]

    def close(self):
        self.sock.close()


def run_main(main):
    """Run main(); exceptions are hard errors (99), not silent passes."""
    try:
        main()
    except SystemExit:
        raise
    except BaseException:
        import traceback
        traceback.print_exc()
        sys.exit(ERROR)
    sys.exit(0)


def make(*args, capture=True):
    """Run make in the build tree, outside the `make check` that runs us (no jobserver)."""
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "DESTDIR"):
        env.pop(k, None)
    make_cmd = os.environ.get("MAKE") or shutil.which("make")
    if not make_cmd:
        skip("make is not installed")
    return subprocess.run([make_cmd, "-s", "--no-print-directory", "-C", BUILDDIR] + list(args),
                          env=env, stdout=subprocess.PIPE if capture else None,
                          stderr=subprocess.STDOUT if capture else None, text=True)


def install_dirs():
    """The configured install directories (and CC, SAN_CFLAGS) as a dict."""
    r = make("print-install-dirs")
    if r.returncode != 0:
        fail("make print-install-dirs: %s" % r.stdout)
    return dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)


def install(destdir):
    r = make("install", "DESTDIR=" + destdir)
    if r.returncode != 0:
        note(r.stdout)
        fail("make install DESTDIR=%s failed" % destdir)


def under(destdir, path):
    return os.path.join(destdir, path.lstrip("/"))
