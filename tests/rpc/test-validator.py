#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The validator the integration tests rely on (rpc-schema/rpcschema.py) catches non-conforming
# traffic: undocumented or mistyped result fields, a success on a request the document rejects,
# malformed events, errors a method does not list, wrong data.name, and passes good traffic.

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpctest import done, fail, need_jsonschema  # noqa: E402

need_jsonschema()
import rpcschema  # noqa: E402

schema = rpcschema.Schema()


def problems(requests, replies):
    t = rpcschema.Tracker(schema)
    for r in requests:
        t.sent(r)
    for r in replies:
        t.received(r)
    return t.problems


def req(id, method, params=None):
    m = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        m["params"] = params
    return m


def ok(id, result):
    return {"jsonrpc": "2.0", "id": id, "result": result}


def err(id, code, name, **data):
    return {"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": "m",
                                                 "data": dict(data, name=name)}}


EV = {"seq": 3, "time": 5, "kind": "exit", "vm": 1, "vcpu": 0,
      "exit": {"type": "io", "port": "0xf8", "size": 1, "direction": "out", "data": "0x34",
               "rip": "0x1002"}}
good = [
    ([req(1, "create-vm", {"name": "a"})], [ok(1, {"vm": 1, "name": "a"})]),
    ([req(1, "create-vm", {"bogus": 1})], [err(1, -32602, "invalid-params")]),
    ([req(1, "map-memory", {"vm": 1, "gpa": "0x1000", "size": 4096})],
     [err(1, 4, "limit-exceeded", limit="max-mem-per-vm", value="0x1000")]),
    ([req(1, "vm-info", {"vm": "x"})], [err(1, 1, "no-such-vm")]),
    ([], [{"jsonrpc": "2.0", "method": "event", "params": EV}]),
    ([], [{"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "m",
                                                   "data": {"name": "parse-error"}}}]),
]
bad = [
    ("extra result field", [req(1, "create-vm")], [ok(1, {"vm": 1, "name": "a", "x": 1})]),
    ("mistyped result", [req(1, "create-vm")], [ok(1, {"vm": "1", "name": "a"})]),
    ("decimal instead of hex", [req(1, "unmap-memory", {"vm": 1, "gpa": 0})],
     [ok(1, {"gpa": 0})]),
    ("success on a rejected request", [req(1, "create-vm", {"bogus": 1})],
     [ok(1, {"vm": 1, "name": "a"})]),
    ("unlisted error", [req(1, "list-vms")], [err(1, 5, "invalid-state", state="x")]),
    ("wrong data.name", [req(1, "vm-info", {"vm": 1})], [err(1, 1, "no-such-vcpu")]),
    ("error data missing", [req(1, "create-vm")], [err(1, 4, "limit-exceeded")]),
    ("event without rip", [], [{"jsonrpc": "2.0", "method": "event",
                                "params": dict(EV, exit={"type": "halt"})}]),
    ("unknown event kind", [], [{"jsonrpc": "2.0", "method": "event",
                                 "params": dict(EV, kind="bogus")}]),
    ("result for nothing sent", [], [ok(7, {})]),
]
for reqs, reps in good:
    p = problems(reqs, reps)
    if p:
        fail("good traffic flagged: %s" % p)
for what, reqs, reps in bad:
    if not problems(reqs, reps):
        fail("not caught: %s" % what)
done("%d good and %d bad exchanges judged right" % (len(good), len(bad)))
