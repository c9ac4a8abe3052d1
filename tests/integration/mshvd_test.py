# SPDX-License-Identifier: MIT
# Helpers for the mshvd integration tests: start a freshly built daemon on a private socket,
# speak JSON-RPC 2.0 to it line by line, collect events, stop it and check it left cleanly.

import base64
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

SKIP = 77
ERROR = 99

BACKEND = os.environ.get("MSHVD_TEST_BACKEND", "kvm")
BUILDDIR = os.environ.get("top_builddir") or os.getcwd()
SRCDIR = os.environ.get("top_srcdir") or os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "..", "..")

# Every request, response and event of a Client is checked against the OpenRPC document
# (rpc-schema/, with python3-jsonschema); a message that does not conform fails the test that
# caused it.  On by default; MSHVD_TEST_VALIDATE=0 turns it off.
VALIDATE = os.environ.get("MSHVD_TEST_VALIDATE", "1") != "0"
SCHEMA_PROBLEMS = []
_schema = None


def schema():
    """The rpcschema.Schema of the source tree (loaded once)."""
    global _schema
    if _schema is None:
        sys.path.insert(0, os.path.join(SRCDIR, "rpc-schema"))
        try:
            import rpcschema
        except ImportError as e:
            note("ERROR: schema validation needs python3-jsonschema (%s); "
                 "MSHVD_TEST_VALIDATE=0 disables it" % e)
            sys.exit(ERROR)
        _schema = rpcschema.Schema(rpcschema.load(os.path.join(SRCDIR, "rpc-schema",
                                                               "mshvd.openrpc.json")))
        _schema.tracker_class = rpcschema.Tracker
    return _schema


class _Checked:
    """Hooks on the containers where a Client (or a subclass with its own _pump) puts what
    the daemon sent, so every message is validated however it was read."""

    def __init__(self, tracker):
        self.tracker = tracker

    def response(self, msg):
        if isinstance(msg, dict) and isinstance(msg.get("result"), dict) and \
                "_fds" in msg["result"]:
            msg = dict(msg, result={k: v for k, v in msg["result"].items() if k != "_fds"})
        self.tracker.received(msg)
        self.flush()

    def event_params(self, params):
        self.tracker.received({"jsonrpc": "2.0", "method": "event", "params": params})
        self.flush()

    def flush(self):
        SCHEMA_PROBLEMS.extend(self.tracker.problems)
        self.tracker.problems.clear()


class _EventList(list):
    def __init__(self, hook):
        list.__init__(self)
        self.hook = hook

    def append(self, params):
        self.hook.event_params(params)
        list.append(self, params)


class _ReplyDict(dict):
    def __init__(self, hook):
        dict.__init__(self)
        self.hook = hook

    def __setitem__(self, key, msg):
        self.hook.response(msg)
        dict.__setitem__(self, key, msg)


class _OtherList(list):
    def __init__(self, hook):
        list.__init__(self)
        self.hook = hook

    def append(self, msg):
        self.hook.response(msg)
        list.append(self, msg)
GUEST_RAM = 0xC0000
LOAD_GPA = 0x1000


def note(msg):
    print(msg, flush=True)


def skip(why):
    note("SKIP: " + why)
    sys.exit(SKIP)


def build_path(rel):
    return os.path.join(BUILDDIR, rel)


def guest(name):
    """Bytes of the flat guest binary tests/guests/NAME.bin."""
    with open(build_path("tests/guests/%s.bin" % name), "rb") as f:
        return f.read()


def emu_built():
    """True when this build has the emu backend (configure found libunicorn)."""
    try:
        with open(build_path("config.h")) as f:
            return "#define HAVE_UNICORN 1" in f.read()
    except OSError:
        return False


# What differs between backends, for the tests that branch on it.  emu has kvm's port-I/O
# ioeventfds and mshv's interrupt model (a LAPIC, every GSI an MSI route, option "lapic").
PIO_IOEVENTFD = BACKEND != "mshv"
IRQ_PINS = BACKEND == "kvm"


def require_backend():
    """Exit 77 unless the hypervisor the tests need is usable here."""
    if BACKEND == "kvm":
        try:
            fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
            os.close(fd)
        except OSError as e:
            skip("/dev/kvm is not usable: %s" % e)
    elif BACKEND == "mshv":
        if not os.environ.get("MSHVD_TEST_PRELOAD") and not os.path.exists("/dev/mshv"):
            skip("no /dev/mshv and no MSHVD_TEST_PRELOAD (mshv-sim)")
    elif BACKEND == "emu":
        if not emu_built():
            skip("mshvd is built --without-unicorn: no emu backend")
    if not os.path.exists(build_path("src/daemon/mshvd")):
        skip("src/daemon/mshvd is not built")


def hx(v):
    return "0x%x" % v


class RpcError(Exception):
    def __init__(self, error):
        self.error = error
        self.code = error.get("code")
        self.message = error.get("message")
        self.data = error.get("data") or {}
        self.name = self.data.get("name")
        Exception.__init__(self, "%s (%s): %s" % (self.name, self.code, self.message))


class Client:
    """One connection.  Replies are matched by id; events are collected in self.events."""

    def __init__(self, path, subscribe=False, sock=None):
        if sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
            sock.connect(path)
        self.sock = sock
        self.buf = b""
        self.events = []
        self.replies = {}       # id (json text) -> message
        self.others = []        # replies without a usable id, batches
        self.tracker = None
        if VALIDATE:
            s = schema()
            self.tracker = s.tracker_class(s)
            hook = _Checked(self.tracker)
            self.events, self.replies, self.others = \
                _EventList(hook), _ReplyDict(hook), _OtherList(hook)
        self.next_id = 1
        self.closed = False
        if subscribe:
            self.call("subscribe")

    def close(self):
        if not self.closed:
            self.sock.close()
            self.closed = True

    def unchecked(self):
        """Stop validating this connection's traffic against rpc-schema/: for traffic the
        document cannot describe (split or pipelined raw lines, limits set below the
        defaults).  Returns self."""
        self.tracker = None
        self.events, self.replies, self.others = list(self.events), dict(self.replies), \
            list(self.others)
        return self

    def send_raw(self, data):
        if isinstance(data, str):
            data = data.encode()
        if self.tracker:
            self.tracker.sent(data)
        self.sock.sendall(data)

    def send(self, msg):
        self.send_raw(json.dumps(msg) + "\n")

    def _pump(self, timeout):
        """Read what is available (waiting up to timeout); False on EOF."""
        r, _, _ = select.select([self.sock], [], [], max(timeout, 0))
        if not r:
            return True
        try:
            data = self.sock.recv(1 << 20)
        except ConnectionResetError:
            data = b""
        if not data:
            return False
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            msg = json.loads(line)
            if isinstance(msg, dict) and msg.get("method") == "event" and "id" not in msg:
                self.events.append(msg["params"])
            elif isinstance(msg, dict) and msg.get("id") is not None:
                self.replies[json.dumps(msg["id"])] = msg
            else:
                self.others.append(msg)
        return True

    def request(self, method, params=None, id=None):
        if id is None:
            id = self.next_id
            self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        return id

    def response(self, id, timeout=10.0):
        key = json.dumps(id)
        end = time.monotonic() + timeout
        while key not in self.replies:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("no reply to request %s" % key)
            if not self._pump(left):
                raise EOFError("connection closed waiting for %s" % key)
        return self.replies.pop(key)

    def other(self, timeout=10.0):
        """The next message that is neither an event nor a reply with an id."""
        end = time.monotonic() + timeout
        while not self.others:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("no message")
            if not self._pump(left):
                raise EOFError("connection closed")
        return self.others.pop(0)

    def call(self, method, params=None, timeout=10.0, **kw):
        if params is None and kw:
            params = kw
        reply = self.response(self.request(method, params), timeout)
        if "error" in reply:
            raise RpcError(reply["error"])
        return reply["result"]

    def error(self, method, params=None, **kw):
        """Call expecting an error; returns the RpcError."""
        try:
            r = self.call(method, params, **kw)
        except RpcError as e:
            return e
        raise AssertionError("%s %s succeeded: %s" % (method, params or kw, r))

    def wait_event(self, pred, timeout=10.0, start=0):
        """First collected event at index >= start with pred(ev); waits for it."""
        end = time.monotonic() + timeout
        i = start
        while True:
            while i < len(self.events):
                if pred(self.events[i]):
                    return self.events[i]
                i += 1
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("no matching event")
            if not self._pump(left):
                raise EOFError("connection closed waiting for an event")

    def drain(self, seconds=0.05):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if not self._pump(end - time.monotonic()):
                break

    def eof(self, timeout=5.0):
        """True once the daemon closed this connection."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not self._pump(end - time.monotonic()):
                return True
        return False

    # Shortcuts for the usual guest setup.
    def boot_vm(self, guest_name, vcpus=1, regs=None, **create):
        """A VM with [0, GUEST_RAM) mapped, the guest at 0x1000, vCPUs 0..n-1 at its entry."""
        vm = self.call("create-vm", create)["vm"]
        self.call("map-memory", vm=vm, gpa=0, size=GUEST_RAM)
        data = guest(guest_name)
        self.call("write-memory", vm=vm, gpa=LOAD_GPA,
                  data=base64.b64encode(data).decode())
        for i in range(vcpus):
            self.call("create-vcpu", vm=vm, index=i)
            r = {"rip": LOAD_GPA, "rflags": 2, "cs": {"base": 0, "selector": 0}}
            r.update(regs or {})
            self.call("set-regs", vm=vm, vcpu=i, regs=r)
        return vm


def backend_has_snapshots(c):
    """Whether the daemon behind client c takes snapshots: a backend whose hv layer has none
    answers snapshot-vm with unsupported (a skip for the caller, not a failure)."""
    vm = c.call("create-vm")["vm"]
    try:
        c.call("destroy-snapshot", snapshot=c.call("snapshot-vm", vm=vm)["snapshot"])
    except RpcError as e:
        if e.name != "unsupported":
            raise
        return False
    finally:
        c.call("destroy-vm", vm=vm)
    return True


def daemon_env():
    """The environment an mshvd of these tests runs in (the MSHV test double preloaded for
    the mshv twins)."""
    env = dict(os.environ)
    if os.environ.get("MSHVD_TEST_PRELOAD"):
        env["LD_PRELOAD"] = os.environ["MSHVD_TEST_PRELOAD"]
    return env


class Daemon:
    """A private mshvd: own temp dir and socket, stderr kept in a log file."""

    def __init__(self, *args, backend=None, group=None):
        self.dir = tempfile.mkdtemp(prefix="mshvd-test-")
        os.chmod(self.dir, 0o755)
        self.path = os.path.join(self.dir, "mshvd.sock")
        self.log_path = os.path.join(self.dir, "mshvd.log")
        cmd = [build_path("src/daemon/mshvd"), "--foreground", "--socket", self.path,
               "--backend", backend or BACKEND, "--log-level",
               os.environ.get("MSHVD_TEST_LOG_LEVEL", "info")]
        if group:
            cmd += ["--socket-group", group]
        cmd += list(args)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=daemon_env())
        self.pid = self.proc.pid
        end = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("mshvd exited with %d:\n%s" % (self.proc.returncode,
                                                                   self.log_text()))
            try:
                Client(self.path).close()
                break
            except OSError:
                if time.monotonic() > end:
                    raise RuntimeError("mshvd did not listen:\n" + self.log_text())
                time.sleep(0.02)

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def client(self, subscribe=False):
        return Client(self.path, subscribe)

    def open_to_all(self):
        """Let every uid connect (the tests that speak as other users)."""
        os.chmod(self.path, 0o666)

    def client_as(self, uid, gid=None):
        """A connection whose peer credentials (SO_PEERCRED, taken at connect) are uid's."""
        return Client(self.path, sock=connect_as(self.path, uid, gid))

    def rss_kb(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def fd_count(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def thread_count(self):
        return len(os.listdir("/proc/%d/task" % self.pid))

    def stop(self, timeout=15):
        """SIGTERM; the daemon must exit 0 and remove its socket."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("mshvd did not exit on SIGTERM:\n" + self.log_text())
        self.log.close()
        text = self.log_text()
        if rc != 0:
            raise AssertionError("mshvd exited with %d:\n%s" % (rc, text))
        if os.path.exists(self.path):
            raise AssertionError("mshvd left its socket behind")
        if "runtime error" in text or "Sanitizer" in text:
            raise AssertionError("sanitizer report:\n" + text)
        shutil.rmtree(self.dir, ignore_errors=True)
        return text

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def connect_as(path, uid, gid=None):
    """Connect to path from a forked child running as uid/gid and hand the socket back over
    SCM_RIGHTS: the daemon sees uid as the peer for the whole life of the connection."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            a.close()
            os.setgroups([])
            os.setgid(uid if gid is None else gid)
            os.setuid(uid)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            socket.send_fds(b, [b"x"], [s.fileno()])
            code = 0
        finally:
            os._exit(code)
    b.close()
    try:
        _, fds, _, _ = socket.recv_fds(a, 1, 1)
    finally:
        a.close()
        _, status = os.waitpid(pid, 0)
    if not fds:
        raise AssertionError("uid %d could not connect (status %d)" % (uid, status))
    return socket.socket(fileno=fds[0])


def check(cond, what=""):
    if not cond:
        raise AssertionError(what or "check failed")


def eq(a, b, what=""):
    if a != b:
        raise AssertionError("%s%r != %r" % (what + ": " if what else "", a, b))


def run(tests):
    """Run test functions (each gets nothing; they start their own daemons or share one)
    and exit with the automake status."""
    require_backend()
    if VALIDATE:
        schema()
    failed = 0
    for t in tests:
        start = time.monotonic()
        try:
            t()
            if SCHEMA_PROBLEMS:
                raise AssertionError("traffic that does not conform to rpc-schema/:\n  " +
                                     "\n  ".join(SCHEMA_PROBLEMS))
            note("PASS: %s (%.2fs)" % (t.__name__, time.monotonic() - start))
        except SystemExit:
            raise
        except Exception:
            failed += 1
            note("FAIL: %s" % t.__name__)
            traceback.print_exc(file=sys.stdout)
        del SCHEMA_PROBLEMS[:]
    sys.stdout.flush()
    sys.exit(1 if failed else 0)


class Shared:
    """One daemon shared by the tests of a file; stopped (and checked) at the end."""
    daemon = None

    @classmethod
    def get(cls):
        if cls.daemon is None:
            cls.daemon = Daemon()
        return cls.daemon
