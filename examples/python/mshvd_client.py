# SPDX-License-Identifier: MIT
"""A small mshvd client in standard-library Python: JSON-RPC 2.0, one JSON text per line, over
the daemon's Unix socket.

    from mshvd_client import Client, MshvdError
    with Client() as c:                              # $MSHVD_SOCKET or /run/mshvd/mshvd.sock
        vm = c.call("create-vm", autodestroy=True)["vm"]
        try:
            c.call("vm-info", vm=vm + 1)
        except MshvdError as e:
            print(e.name)                            # "no-such-vm"

Calls are matched to replies by id, so several may be in flight (send() + wait(), or
pipeline()).  Events of a subscription are queued until next_event() takes them.  Descriptors
the daemon passes (add-ioeventfd / add-irqfd with "pass_fd": true) come back in result["fds"];
closing them is the caller's job.  Not thread-safe: use a client from one thread.
"""

import array
import base64
import collections
import json
import os
import select
import socket
import time

DEFAULT_SOCKET = "/run/mshvd/mshvd.sock"

# Standard JSON-RPC codes; the daemon's application errors carry their name in error.data.name.
_CODE_NAMES = {-32700: "parse-error", -32600: "invalid-request", -32601: "method-not-found",
               -32602: "invalid-params", -32603: "internal-error"}


def default_socket():
    """The socket path used when none is given: $MSHVD_SOCKET, else DEFAULT_SOCKET."""
    return os.environ.get("MSHVD_SOCKET") or DEFAULT_SOCKET


def hexnum(value):
    """A 64-bit quantity as the daemon returns it ("0x..." string or integer) -> int."""
    return value if isinstance(value, int) else int(value, 0)


def b64(data):
    return base64.b64encode(data).decode("ascii")


def unb64(text):
    return base64.b64decode(text)


class MshvdError(Exception):
    """A JSON-RPC error reply.  name is the daemon's symbolic name (data.name), e.g.
    "no-such-vm", "invalid-state", "hypervisor-error"; data holds errno/hv_status/reason."""

    def __init__(self, method, error):
        self.method = method
        self.code = error.get("code")
        self.message = error.get("message", "")
        self.data = error.get("data") if isinstance(error.get("data"), dict) else {}
        self.name = self.data.get("name") or _CODE_NAMES.get(self.code, "error")
        Exception.__init__(self, "%s: %s (%s)" % (method, self.message, self.name))


class Client:
    """One connection to mshvd."""

    def __init__(self, path=None, timeout=30.0):
        self.path = path or default_socket()
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            self.sock.connect(self.path)
        except OSError:
            self.sock.close()
            raise
        self._buf = b""
        self._fds = []                          # received descriptors not yet claimed
        self._replies = {}                      # id -> reply message
        self._methods = {}                      # id -> method, for error messages
        self.events = collections.deque()
        self._next_id = 1

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        for fd in self._fds:
            os.close(fd)
        self._fds = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def fileno(self):
        """The socket, for select()/poll() in a caller's loop (see pending_events())."""
        return self.sock.fileno()

    # -- sending and receiving --------------------------------------------------------------

    def send(self, method, params=None, **kw):
        """Send one request without waiting; returns its id for wait()."""
        if params is None and kw:
            params = kw
        rid = self._next_id
        self._next_id += 1
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        self.sock.sendall(json.dumps(msg, separators=(",", ":")).encode() + b"\n")
        self._methods[rid] = method
        return rid

    def wait(self, rid, timeout=None):
        """The result of request rid; raises MshvdError, TimeoutError or ConnectionError."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while rid not in self._replies:
            self._read(deadline, "the reply to %s" % self._methods.get(rid, rid))
        reply = self._replies.pop(rid)
        method = self._methods.pop(rid, "?")
        if "error" in reply:
            raise MshvdError(method, reply["error"])
        return reply["result"]

    def call(self, method, params=None, timeout=None, **kw):
        """One synchronous call: params as a dict or as keywords."""
        return self.wait(self.send(method, params, **kw), timeout)

    def pipeline(self, calls, timeout=None):
        """Send every (method, params) first, then collect the results in order: one round
        trip instead of len(calls).  The first error raises after all replies arrived."""
        ids = [self.send(m, p) for m, p in calls]
        results, first_error = [], None
        for rid in ids:
            try:
                results.append(self.wait(rid, timeout))
            except MshvdError as e:
                results.append(e)
                first_error = first_error or e
        if first_error:
            raise first_error
        return results

    def _read(self, deadline, what):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out waiting for " + what)
        ready, _, _ = select.select([self.sock], [], [], left)
        if not ready:
            return
        fds = array.array("i")
        data, anc, _flags, _addr = self.sock.recvmsg(
            1 << 16, socket.CMSG_SPACE(16 * fds.itemsize), socket.MSG_CMSG_CLOEXEC)
        for level, kind, cdata in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(cdata[:len(cdata) - len(cdata) % fds.itemsize])
        # A descriptor arrives no later than the first byte of the reply that declares it
        # ("passed_fds": N), so taking them in arrival order pairs them exactly.
        self._fds.extend(fds)
        if not data:
            raise ConnectionError("mshvd closed the connection")
        self._buf += data
        while b"\n" in self._buf:
            line, self._buf = self._buf.split(b"\n", 1)
            msg = json.loads(line)
            if msg.get("method") == "event" and "id" not in msg:
                self.events.append(msg["params"])
                continue
            result = msg.get("result")
            if isinstance(result, dict) and result.get("passed_fds"):
                n = result["passed_fds"]
                result["fds"], self._fds = self._fds[:n], self._fds[n:]
            self._replies[msg.get("id")] = msg

    # -- events -----------------------------------------------------------------------------

    def subscribe(self, vm=None, kinds=None, since=None):
        """Start receiving events (all, or of one VM / some kinds); returns {subscription, seq}."""
        params = {k: v for k, v in (("vm", vm), ("kinds", kinds), ("since", since))
                  if v is not None}
        return self.call("subscribe", params)

    def pending_events(self):
        """Whether events are queued already (then do not block in select() on fileno())."""
        return bool(self.events)

    def next_event(self, timeout=None):
        """The oldest queued event's params, reading the socket up to timeout seconds."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not self.events:
            self._read(deadline, "an event")
        return self.events.popleft()
