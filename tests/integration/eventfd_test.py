# SPDX-License-Identifier: MIT
# Helpers shared by the eventfd and interrupt tests: a client that receives passed descriptors
# (SCM_RIGHTS, the convention of include/mshvd/client.h) and waiting for guest reports.

import array
import json
import os
import select
import socket
import struct
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from mshvd_test import Client, check, eq  # noqa: E402

VALUE_PORT = "0x600"


class FdClient(Client):
    """A Client that reads with recvmsg() and hands passed descriptors to the reply that
    declares "passed_fds": N (as result["_fds"]), as libmshvd-client does."""

    def __init__(self, path, subscribe=False):
        self.fdq = []
        self.bad_fds = []       # descriptors that came with no reply claiming them
        Client.__init__(self, path, subscribe)

    def close(self):
        for fd in self.fdq:
            os.close(fd)
        self.fdq = []
        Client.close(self)

    def _pump(self, timeout):
        r, _, _ = select.select([self.sock], [], [], max(timeout, 0))
        if not r:
            return True
        fds = array.array("i")
        try:
            data, anc, _flags, _addr = self.sock.recvmsg(
                1 << 20, socket.CMSG_SPACE(16 * fds.itemsize), socket.MSG_CMSG_CLOEXEC)
        except ConnectionResetError:
            data, anc = b"", []
        for level, typ, cdata in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                got = array.array("i")
                got.frombytes(cdata[:len(cdata) - len(cdata) % got.itemsize])
                # Queued in arrival order; a descriptor never arrives after the first
                # byte of its line, so the next reply declaring passed_fds claims it.
                self.fdq.extend(got)
        if not data:
            return False
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            msg = json.loads(line)
            if isinstance(msg, dict) and msg.get("method") == "event" and "id" not in msg:
                self.events.append(msg["params"])
            elif isinstance(msg, dict) and msg.get("id") is not None:
                n = (msg.get("result") or {}).get("passed_fds", 0) \
                    if isinstance(msg.get("result"), dict) else 0
                if n:
                    msg["result"]["_fds"] = self.fdq[:n]
                    del self.fdq[:n]
                self.replies[json.dumps(msg["id"])] = msg
            else:
                self.others.append(msg)
        return True


def fd_client(daemon, subscribe=False):
    return FdClient(daemon.path, subscribe)


def signal_fd(fd, n=1):
    os.write(fd, struct.pack("<Q", n))


def needs_option(c):
    """The create-vm option irqfds need on this backend ("irqchip" on kvm, "lapic" on mshv)."""
    return c.call("daemon-info")["eventfds"]["needs"]


def wait_value(c, vm, value, start=0, timeout=10.0):
    """Wait for the guest to write value to VALUE (a stream-mode io exit event); a vCPU that
    parked on hlt (backends that report it) is run again.  Returns the next event index."""
    end = time.monotonic() + timeout
    i = start
    while True:
        while i < len(c.events):
            e = c.events[i]
            i += 1
            if e.get("kind") != "exit" or e.get("vm") != vm:
                continue
            ex = e["exit"]
            if ex["type"] == "io" and ex["port"] == VALUE_PORT and ex["direction"] == "out":
                eq(ex["data"], "0x%x" % value, "guest report")
                return i
            if ex["type"] == "halt":
                c.call("run", vm=vm, vcpu=e["vcpu"], mode="stream")
            else:
                raise AssertionError("unexpected exit %r" % ex)
        left = end - time.monotonic()
        if left <= 0:
            raise TimeoutError("guest did not report 0x%x" % value)
        if not c._pump(left):
            raise EOFError("connection closed")


def wait_fds(daemon, fds, timeout=5.0):
    """The daemon's descriptor count returns to fds (teardown finishes off the loop)."""
    end = time.monotonic() + timeout
    while daemon.fd_count() != fds and time.monotonic() < end:
        time.sleep(0.02)
    eq(daemon.fd_count(), fds, "daemon fd count")


def check_error(e, name, reason=None):
    eq(e.name, name, "error name (%s)" % e.message)
    if reason is not None:
        eq(e.data.get("reason"), reason, "error reason (%s)" % e.message)
    check(e.message)
