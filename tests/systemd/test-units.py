#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The installed units: configured paths substituted, the settings issue 8 asks for present,
# `systemd-analyze verify` clean (in a root made of the DESTDIR tree plus the host's system
# units), `systemd-analyze security` exposure <= 3.0, and the sysusers.d/tmpfiles.d snippets
# applied to that root create the mshv group and /run/mshvd.

import grp  # noqa: F401  (documents that the group is checked in the root, not on the host)
import os
import re
import shutil
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sdtest import (check, fail, have_systemd, install, install_dirs, note, run_main,  # noqa
                    skip, tmpdir, under)

MAX_EXPOSURE = 3.0

SOCKET_SETTINGS = [
    "ListenStream=/run/mshvd/mshvd.sock", "SocketMode=0660", "SocketGroup=mshv",
    "RemoveOnStop=yes",
]
SERVICE_SETTINGS = [
    "Type=notify", "Restart=on-failure", "DevicePolicy=closed", "DeviceAllow=/dev/mshv rw",
    "DeviceAllow=/dev/kvm rw", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
    "NoNewPrivileges=yes", "RestrictAddressFamilies=AF_UNIX", "CapabilityBoundingSet=",
    "SystemCallArchitectures=native", "MemoryDenyWriteExecute=yes", "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes", "ProtectControlGroups=yes", "RestrictNamespaces=yes",
    "LockPersonality=yes", "RestrictRealtime=yes", "SystemCallFilter=@system-service",
]


def settings(path):
    with open(path) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def test_contents(unitdir, dirs):
    sock = settings(os.path.join(unitdir, "mshvd.socket"))
    svc = settings(os.path.join(unitdir, "mshvd.service"))
    for s in SOCKET_SETTINGS:
        check(s in sock, "mshvd.socket: %s" % s)
    for s in SERVICE_SETTINGS:
        check(s in svc, "mshvd.service: %s" % s)
    check(any(re.fullmatch(r"WatchdogSec=[1-9]\d*s?", s) for s in svc),
          "mshvd.service: WatchdogSec=")
    check(any(re.fullmatch(r"LimitNOFILE=\d{4,}", s) for s in svc) and
          any(re.fullmatch(r"TasksMax=\d{4,}", s) for s in svc), "LimitNOFILE= and TasksMax= sized")
    exec_start = [s for s in svc if s.startswith("ExecStart=")]
    check(exec_start and exec_start[0].split("=", 1)[1].split()[0] ==
          os.path.join(dirs["sbindir"], "mshvd"), "ExecStart= names the configured sbindir")
    check(not any("@" in s and re.search(r"@[a-z_]+@", s) for s in sock + svc),
          "no unsubstituted @placeholders@")


def make_root(dest):
    """DESTDIR plus the host's system units, so that verify resolves sysinit.target & co."""
    for host in ("/usr/lib/systemd/system", "/lib/systemd/system"):
        if os.path.exists(os.path.join(host, "sysinit.target")):
            shutil.copytree(host, under(dest, "/usr/lib/systemd/system"), symlinks=True,
                            dirs_exist_ok=True)
            return True
    return False


def verify(analyze, dest, units, man):
    env = dict(os.environ, MANPATH=under(dest, man) if man else "")
    args = [analyze, "verify", "--root=" + dest, "--man=" + ("yes" if man else "no")] + units
    r = subprocess.run(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    return r.returncode, r.stdout.strip()


def test_verify(analyze, dest, dirs, unitdir):
    # With --root, verify finds units only on the standard search path, and the configured
    # unit directory need not be on it (distcheck's is not): check copies in /etc.
    etc = under(dest, "/etc/systemd/system")
    os.makedirs(etc, exist_ok=True)
    units = []
    for u in ("mshvd.socket", "mshvd.service"):
        shutil.copy(os.path.join(unitdir, u), etc)
        units.append(os.path.join(etc, u))
    unitdir = etc
    rpc7 = os.path.exists(under(dest, os.path.join(dirs["mandir"], "man7", "mshvd-rpc.7")))
    man = dirs["mandir"] if rpc7 else None
    if not rpc7:
        note("note: mshvd-rpc.7 is not installed yet: Documentation= is not checked with man")
    rc, out = verify(analyze, dest, units, man)
    note(out)
    check(rc == 0 and not out, "systemd-analyze verify: no complaints")

    # The same check must notice a broken unit here, or it proves nothing.
    bad = os.path.join(unitdir, "mshvd-broken.service")
    with open(units[1]) as f:
        text = f.read()
    with open(bad, "w") as f:
        f.write(text.replace("ExecStart=" + dirs["sbindir"], "ExecStart=" + dirs["sbindir"] +
                             "/missing"))
    rc, out = verify(analyze, dest, [bad], None)
    os.unlink(bad)
    check(rc != 0 and "not executable" in out, "and it fails on a unit with a missing binary")


def test_security(analyze, unitdir):
    unit = os.path.join(unitdir, "mshvd.service")
    r = subprocess.run([analyze, "security", "--offline=true", "--no-pager", unit],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    m = re.search(r"Overall exposure level for mshvd\.service: (\d+\.\d+)", r.stdout)
    if not m:
        note(r.stdout)
        fail("systemd-analyze security printed no exposure level")
    bad = [line.rstrip() for line in r.stdout.splitlines() if line.startswith("✗")]
    note("not set (each justified in the unit):\n  " + "\n  ".join(bad))
    exposure = float(m.group(1))
    note("EXPOSURE %.1f" % exposure)
    check(exposure <= MAX_EXPOSURE, "security exposure %.1f <= %.1f" % (exposure, MAX_EXPOSURE))


def test_snippets(dest, dirs):
    sysusers = shutil.which("systemd-sysusers")
    if sysusers:
        conf = under(dest, os.path.join(dirs["sysusersdir"], "mshvd.conf"))
        os.makedirs(under(dest, "/etc"), exist_ok=True)
        r = subprocess.run([sysusers, "--root=" + dest, conf], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        group = under(dest, "/etc/group")
        lines = open(group).read().splitlines() if os.path.exists(group) else []
        check(r.returncode == 0 and any(line.startswith("mshv:") for line in lines),
              "sysusers.d snippet creates group mshv (%s)" % r.stdout.strip())
    else:
        note("note: systemd-sysusers is missing; sysusers.d snippet not applied")
    tmpfiles = shutil.which("systemd-tmpfiles")
    if tmpfiles:
        conf = under(dest, os.path.join(dirs["tmpfilesdir"], "mshvd.conf"))
        r = subprocess.run([tmpfiles, "--root=" + dest, "--create", conf],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        st = os.stat(under(dest, "/run/mshvd")) if os.path.isdir(under(dest, "/run/mshvd")) \
            else None
        check(r.returncode == 0 and st and stat.S_IMODE(st.st_mode) == 0o755,
              "tmpfiles.d snippet creates /run/mshvd 0755 (%s)" % r.stdout.strip())
    else:
        note("note: systemd-tmpfiles is missing; tmpfiles.d snippet not applied")


def main():
    if not have_systemd():
        skip("built without libsystemd: the Type=notify units are not installed")
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        skip("systemd-analyze is not installed")
    d = tmpdir()
    dest = os.path.join(d, "root")
    dirs = install_dirs()
    install(dest)
    unitdir = under(dest, dirs["systemdsystemunitdir"])
    test_contents(unitdir, dirs)
    test_security(analyze, unitdir)
    if not make_root(dest):
        skip("no host system units (sysinit.target) to verify against")
    test_verify(analyze, dest, dirs, unitdir)
    test_snippets(dest, dirs)


run_main(main)
