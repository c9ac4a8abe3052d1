#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Journal logging: when $JOURNAL_STREAM names the daemon's stderr, records go to the journal
# socket with MSHVD_VM=, MSHVD_VCPU=, MSHVD_METHOD=, ERRNO= next to MESSAGE= and PRIORITY=;
# otherwise (or when the journal is unreachable) plain lines go to stderr.  A fake journald is
# bound at /run/systemd/journal/socket inside a private mount namespace (unshare -m, tmpfs on
# /run), so the host is never touched.

import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sdtest import (MSHVD, Rpc, check, connect, env_without_systemd, fail, have_systemd,  # noqa
                    note, require_kvm, run_main, skip, stop, tmpdir, wait_exit)

JOURNAL = "/run/systemd/journal/socket"


def parse_native(data):
    """One datagram of the journal native protocol -> {field: value}."""
    fields = {}
    while data:
        nl = data.index(b"\n")
        line = data[:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            data = data[nl + 1:]
        else:
            k = line
            size = struct.unpack("<Q", data[nl + 1:nl + 9])[0]
            v = data[nl + 9:nl + 9 + size]
            data = data[nl + 10 + size:]
        fields[k.decode()] = v.decode()
    return fields


class FakeJournal:
    """Reads on a thread, as journald would: the datagram queue is short (max_dgram_qlen) and
    a full one blocks the sender."""

    def __init__(self):
        os.makedirs(os.path.dirname(JOURNAL), exist_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.sock.bind(JOURNAL)
        self.records = []
        self.lock = threading.Lock()
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        while True:
            try:
                data = self.sock.recv(1 << 16)
            except OSError:
                return
            with self.lock:
                self.records.append(parse_native(data))

    def drain(self, seconds=0.3):
        time.sleep(seconds)
        with self.lock:
            return list(self.records)

    def clear(self):
        with self.lock:
            self.records.clear()

    def find(self, text):
        for r in self.records:
            if text in r.get("MESSAGE", ""):
                return r
        fail("no journal record with \"%s\"; got %s" % (text, self.records))


def start(args, stream_matches, d):
    """The daemon with stderr on a pipe; $JOURNAL_STREAM names that pipe or another inode."""
    r, w = os.pipe()
    st = os.fstat(w)
    env = env_without_systemd()
    env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino + (0 if stream_matches else 1))
    proc = subprocess.Popen([MSHVD, "--backend", "kvm", "--foreground"] + args, env=env,
                            stderr=w, stdout=subprocess.DEVNULL)
    os.close(w)
    return proc, r


def stderr_of(r):
    out = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        out += chunk
    os.close(r)
    return out.decode(errors="replace")


def test_structured(d, j):
    path = os.path.join(d, "j.sock")
    proc, r = start(["--socket", path, "--log-level", "debug"], True, d)
    c = Rpc(connect(path))
    vm = c.call("create-vm", {"name": "sd-journal"})["vm"]
    c.call("create-vcpu", {"vm": vm, "index": 0})
    msg = c.reply(c.send("destroy-vm", {"vm": 4242}))
    check("error" in msg, "destroy-vm of an unknown VM fails")
    c.call("destroy-vm", {"vm": vm})
    c.close()
    check(stop(proc) == 0, "exit 0")
    err = stderr_of(r)
    j.drain()
    note("stderr: %r" % err)
    created = j.find('vm %d "sd-journal" created' % vm)
    check(created.get("MSHVD_VM") == str(vm) and created.get("PRIORITY") == "6" and
          created.get("SYSLOG_IDENTIFIER") == "mshvd", "VM record: MSHVD_VM=, PRIORITY=6 (%s)"
          % created)
    check("MSHVD_VCPU" not in created and "ERRNO" not in created and
          "MSHVD_METHOD" not in created and "CODE_FILE" not in created, "no other fields")
    vcpu = j.find("vm %d vcpu 0 created" % vm)
    check(vcpu.get("MSHVD_VM") == str(vm) and vcpu.get("MSHVD_VCPU") == "0" and
          vcpu.get("PRIORITY") == "7", "vCPU record: MSHVD_VM=, MSHVD_VCPU= (%s)" % vcpu)
    rpc = [x for x in j.records if x.get("MSHVD_METHOD") == "destroy-vm" and
           "no-such-vm" in x.get("MESSAGE", "")]
    check(len(rpc) == 1, "RPC error record: MSHVD_METHOD=destroy-vm (%s)" % rpc)
    check("mshvd[" not in err, "nothing on stderr while the journal takes the records")


def test_errno(d, j):
    j.clear()
    proc, r = start(["--socket", os.path.join(d, "e.sock"), "--device",
                     os.path.join(d, "no-such-device")], True, d)
    check(wait_exit(proc) == 1, "no hypervisor: exit 1")
    stderr_of(r)
    j.drain()
    rec = j.find("cannot open the hypervisor")
    check(rec.get("ERRNO") == "2" and rec.get("PRIORITY") == "3", "ERRNO=2, PRIORITY=3 (%s)"
          % rec)


def test_plain(d, j, what, stream_matches):
    if j:
        j.clear()
    proc, r = start(["--socket", os.path.join(d, "p.sock"), "--device",
                     os.path.join(d, "no-such-device")], stream_matches, d)
    check(wait_exit(proc) == 1, "%s: exit 1" % what)
    err = stderr_of(r)
    if j:
        j.drain(0.2)
    note("stderr: %r" % err)
    check("error: cannot open the hypervisor" in err and err.startswith("mshvd["),
          "%s: plain lines on stderr" % what)
    check(not j or not j.records, "%s: nothing in the journal" % what)


def inner():
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "mshvd-test", "/run"], check=True)
    d = tmpdir()
    j = FakeJournal()
    if not have_systemd():
        test_plain(d, j, "built without libsystemd", True)
        return
    test_structured(d, j)
    test_errno(d, j)
    test_plain(d, j, "JOURNAL_STREAM names another stream", False)
    j.sock.shutdown(socket.SHUT_RDWR)
    j.sock.close()
    os.unlink(JOURNAL)
    test_plain(d, None, "journal unreachable", True)


def main():
    require_kvm()
    if os.environ.get("MSHVD_TEST_IN_NS") == "1":
        inner()
        return
    unshare = shutil.which("unshare")
    if not unshare or not shutil.which("mount"):
        skip("unshare(1) or mount(8) is missing")
    probe = subprocess.run([unshare, "-m", "--propagation", "private", "mount", "-t", "tmpfs",
                            "probe", "/mnt"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    if probe.returncode != 0:
        skip("cannot create a private mount namespace here: %s" % probe.stderr.decode().strip())
    env = dict(os.environ, MSHVD_TEST_IN_NS="1")
    rc = subprocess.run([unshare, "-m", "--propagation", "private", sys.executable, "-B",
                         os.path.abspath(__file__)], env=env).returncode
    sys.exit(rc)


run_main(main)
