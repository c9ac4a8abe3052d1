#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Golden cases (tests/rpc/golden.json): request -> expected response shape, for every method in
# the OpenRPC document, against a fresh mshvd; every response is validated against the document.

import array
import json
import os
import socket
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpctest import SRCDIR, done, fail, load_doc, need_jsonschema, skip  # noqa: E402

need_jsonschema()
import mshvd_test  # noqa: E402

mshvd_test.require_backend()
if mshvd_test.BACKEND != "kvm":
    skip("the golden cases are written for the kvm backend")
with open(os.path.join(SRCDIR, "tests", "rpc", "golden.json")) as f:
    steps = json.load(f)["steps"]

KINDS = {"<hex>": lambda v: isinstance(v, str) and v.startswith("0x"),
         "<int>": lambda v: isinstance(v, int) and not isinstance(v, bool),
         "<string>": lambda v: isinstance(v, str),
         "<bool>": lambda v: isinstance(v, bool),
         "<any>": lambda v: True}


def subst(v, saved):
    if isinstance(v, str) and v.startswith("$") and v[1:] in saved:
        return saved[v[1:]]
    if isinstance(v, dict):
        return {k: subst(x, saved) for k, x in v.items()}
    if isinstance(v, list):
        return [subst(x, saved) for x in v]
    return v


def match(expect, got, path="result"):
    """Problems of got against the expected shape (subset match)."""
    if isinstance(expect, str) and expect in KINDS:
        return [] if KINDS[expect](got) else ["%s: %r is not %s" % (path, got, expect)]
    if isinstance(expect, dict):
        if not isinstance(got, dict):
            return ["%s: %r is not an object" % (path, got)]
        out = []
        for k, v in expect.items():
            if k not in got:
                out.append("%s.%s is missing" % (path, k))
            else:
                out += match(v, got[k], "%s.%s" % (path, k))
        return out
    if isinstance(expect, list):
        if not isinstance(got, list) or len(got) != len(expect):
            return ["%s: %r has not %d elements" % (path, got, len(expect))]
        out = []
        for i, (e, g) in enumerate(zip(expect, got)):
            out += match(e, g, "%s[%d]" % (path, i))
        return out
    return [] if expect == got and type(expect) is type(got) else \
        ["%s: %r, expected %r" % (path, got, expect)]


def request_with_fd(c, method, params, fd):
    """A request whose first byte carries fd (SCM_RIGHTS): save-snapshot, load-snapshot."""
    id = c.next_id
    c.next_id += 1
    msg = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        msg["params"] = params
    data = (json.dumps(msg) + "\n").encode()
    if c.tracker:
        c.tracker.sent(data)
    n = c.sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))])
    c.sock.sendall(data[n:])
    return id


succeeded = set()
# "fd": true in a step sends the descriptor of one scratch file with the request (rewound
# first): save-snapshot writes it, a later load-snapshot reads it back.
scratch = tempfile.TemporaryFile()
d = mshvd_test.Daemon()
try:
    c = d.client()
    saved = {}
    for i, step in enumerate(steps):
        method = step["call"]
        params = subst(step.get("params"), saved)
        expect = subst(step["expect"], saved)
        if step.get("fd"):
            scratch.seek(0)
            reply = c.response(request_with_fd(c, method, params, scratch.fileno()), 20)
        else:
            reply = c.response(c.request(method, params), 20)
        where = "step %d %s %s" % (i, method, json.dumps(params))
        if "error" in expect:
            got = reply.get("error", {}).get("data", {}).get("name")
            if got != expect["error"]:
                fail("%s: expected error %s, got %s" % (where, expect["error"],
                                                       json.dumps(reply)[:300]))
            continue
        if "result" not in reply:
            fail("%s: %s" % (where, json.dumps(reply)[:300]))
            continue
        succeeded.add(method)
        for p in match(expect["result"], reply["result"]):
            fail("%s: %s" % (where, p))
        for var, key in step.get("save", {}).items():
            saved[var] = reply["result"][key]
    for p in mshvd_test.SCHEMA_PROBLEMS:
        fail("traffic: " + p)
    c.close()
finally:
    d.stop()
missing = {m["name"] for m in load_doc()["methods"]} - succeeded
if missing:
    fail("no successful golden case for %s" % ", ".join(sorted(missing)))
done("%d golden steps, every method covered" % len(steps))
