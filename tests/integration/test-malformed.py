#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Malformed input (QMP test_malformed pattern): every case gets the right JSON-RPC error and
# the same connection then still answers daemon-info; an oversize line closes by design.

import json
import subprocess
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from mshvd_test import Daemon, build_path, check, eq, run  # noqa: E402

PARSE, INVALID, NOMETHOD, PARAMS = -32700, -32600, -32601, -32602
NAMES = {PARSE: "parse-error", INVALID: "invalid-request", NOMETHOD: "method-not-found",
         PARAMS: "invalid-params"}


def req(method="daemon-info", params=None, id=1, **extra):
    m = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        m["params"] = params
    m.update(extra)
    return json.dumps(m)


def nest(n, inner="1"):
    return "[" * n + inner + "]" * n


CASES = [
    # Syntax.
    ("open brace", "{", PARSE),
    ("close brace", "}", PARSE),
    ("open bracket", "[", PARSE),
    ("trailing comma", '{"jsonrpc":"2.0","id":1,"method":"daemon-info",}', PARSE),
    ("single quotes", "{'jsonrpc':'2.0','id':1,'method':'daemon-info'}", PARSE),
    ("missing comma", '{"jsonrpc":"2.0" "id":1,"method":"daemon-info"}', PARSE),
    ("missing value", '{"jsonrpc":"2.0","id":,"method":"daemon-info"}', PARSE),
    ("missing colon", '{"jsonrpc" "2.0"}', PARSE),
    ("bare word", "daemon-info", PARSE),
    ("truncated literal", "tru", PARSE),
    ("unterminated string", '{"jsonrpc":"2.0', PARSE),
    ("trailing garbage", req() + "}", PARSE),
    ("two values", req() + " " + req(), PARSE),
    ("leading zero", '{"jsonrpc":"2.0","id":01,"method":"daemon-info"}', PARSE),
    ("plus sign", '{"jsonrpc":"2.0","id":+1,"method":"daemon-info"}', PARSE),
    ("NaN", '{"jsonrpc":"2.0","id":NaN,"method":"daemon-info"}', PARSE),
    ("Infinity", '{"jsonrpc":"2.0","id":Infinity,"method":"daemon-info"}', PARSE),
    ("mismatched brackets", '{"a":[1,2}', PARSE),
    ("comment", '/* hi */ ' + req(), PARSE),
    ("bad escape", '{"jsonrpc":"2.0","id":"\\x41","method":"daemon-info"}', PARSE),
    ("short unicode escape", '{"jsonrpc":"2.0","id":"\\u12","method":"daemon-info"}', PARSE),
    ("raw control character", '{"jsonrpc":"2.0","id":"a\tb","method":"daemon-info"}', PARSE),
    # Bytes.
    ("NUL", b"\x00", PARSE),
    ("0xFF", b"\xff", PARSE),
    ("0xFE 0xFF", b"\xfe\xff", PARSE),
    ("NUL after the request", req().encode() + b"\x00", PARSE),
    ("NUL inside a string", b'{"jsonrpc":"2.0","id":1,"method":"daemon\x00-info"}', PARSE),
    ("0xFF inside a string", b'{"jsonrpc":"2.0","id":"\xff","method":"daemon-info"}', PARSE),
    ("byte order mark", b"\xef\xbb\xbf" + req().encode(), PARSE),
    # Invalid and overlong UTF-8.
    ("overlong NUL", b'{"jsonrpc":"2.0","id":"\xc0\x80","method":"daemon-info"}', PARSE),
    ("overlong slash", b'{"jsonrpc":"2.0","id":"\xe0\x80\xaf","method":"daemon-info"}', PARSE),
    ("overlong 4-byte", b'{"jsonrpc":"2.0","id":"\xf0\x80\x80\xaf","method":"daemon-info"}',
     PARSE),
    ("truncated sequence", b'{"jsonrpc":"2.0","id":"\xc3","method":"daemon-info"}', PARSE),
    ("lone continuation byte", b'{"jsonrpc":"2.0","id":"\x80","method":"daemon-info"}', PARSE),
    ("UTF-8 encoded surrogate", b'{"jsonrpc":"2.0","id":"\xed\xa0\x80","method":"daemon-info"}',
     PARSE),
    ("beyond U+10FFFF", b'{"jsonrpc":"2.0","id":"\xf4\x90\x80\x80","method":"daemon-info"}',
     PARSE),
    ("5-byte sequence", b'{"jsonrpc":"2.0","id":"\xf8\x88\x80\x80\x80","method":"daemon-info"}',
     PARSE),
    ("invalid UTF-8 in a key", b'{"jsonrpc":"2.0","id":1,"method":"daemon-info","\xff":1}',
     PARSE),
    # Lone surrogates as escapes.
    ("lone high surrogate", '{"jsonrpc":"2.0","id":"\\ud800","method":"daemon-info"}', PARSE),
    ("lone low surrogate", '{"jsonrpc":"2.0","id":"\\udc00","method":"daemon-info"}', PARSE),
    ("high surrogate then letter",
     '{"jsonrpc":"2.0","id":"\\ud800\\u0041","method":"daemon-info"}', PARSE),
    ("surrogate in a method name", '{"jsonrpc":"2.0","id":1,"method":"daemon-info\\udfff"}',
     PARSE),
    ("surrogate in params", req("vm-info", None)[:-1] + ',"params":{"vm":"\\udbff"}}', PARSE),
    # Duplicate keys are rejected (never "last wins").
    ("duplicate id", '{"jsonrpc":"2.0","id":1,"id":2,"method":"daemon-info"}', PARSE),
    ("duplicate method",
     '{"jsonrpc":"2.0","id":1,"method":"daemon-info","method":"list-vms"}', PARSE),
    ("duplicate jsonrpc", '{"jsonrpc":"2.0","jsonrpc":"2.0","id":1,"method":"daemon-info"}',
     PARSE),
    ("duplicate param", '{"jsonrpc":"2.0","id":1,"method":"vm-info","params":{"vm":1,"vm":2}}',
     PARSE),
    # Wrong types for every JSON-RPC member.
    ("jsonrpc number", '{"jsonrpc":2.0,"id":1,"method":"daemon-info"}', INVALID, 1),
    ("jsonrpc null", '{"jsonrpc":null,"id":1,"method":"daemon-info"}', INVALID, 1),
    ("jsonrpc 2", '{"jsonrpc":"2","id":1,"method":"daemon-info"}', INVALID, 1),
    ("jsonrpc array", '{"jsonrpc":["2.0"],"id":1,"method":"daemon-info"}', INVALID, 1),
    ("jsonrpc true", '{"jsonrpc":true,"id":1,"method":"daemon-info"}', INVALID, 1),
    ("jsonrpc missing", '{"id":1,"method":"daemon-info"}', INVALID, 1),
    ("id float", '{"jsonrpc":"2.0","id":1.5,"method":"daemon-info"}', INVALID),
    ("id true", '{"jsonrpc":"2.0","id":true,"method":"daemon-info"}', INVALID),
    ("id object", '{"jsonrpc":"2.0","id":{},"method":"daemon-info"}', INVALID),
    ("id array", '{"jsonrpc":"2.0","id":[1],"method":"daemon-info"}', INVALID),
    ("method number", '{"jsonrpc":"2.0","id":1,"method":5}', INVALID, 1),
    ("method null", '{"jsonrpc":"2.0","id":1,"method":null}', INVALID, 1),
    ("method array", '{"jsonrpc":"2.0","id":1,"method":["daemon-info"]}', INVALID, 1),
    ("method object", '{"jsonrpc":"2.0","id":1,"method":{"a":1}}', INVALID, 1),
    ("method missing", '{"jsonrpc":"2.0","id":1}', INVALID, 1),
    ("method unknown", req("no-such-method"), NOMETHOD, 1),
    ("method empty", req(""), NOMETHOD, 1),
    ("params string", req(params="x"), INVALID, 1),
    ("params number", req(params=3), INVALID, 1),
    ("params true", req(params=True), INVALID, 1),
    ("params null", '{"jsonrpc":"2.0","id":1,"method":"daemon-info","params":null}', INVALID, 1),
    ("params by position", req("vm-info", [1]), PARAMS, 1),
    ("unknown member", req(extra=1), INVALID, 1),
    # Not a request at all.
    ("number", "1", INVALID),
    ("string", '"daemon-info"', INVALID),
    ("null", "null", INVALID),
    ("true", "true", INVALID),
    ("empty batch", "[]", INVALID),
    # Numbers.
    ("1e999 id", '{"jsonrpc":"2.0","id":1e999,"method":"daemon-info"}', PARSE),
    ("1e999 gpa", '{"jsonrpc":"2.0","id":1,"method":"read-memory",'
     '"params":{"vm":1,"gpa":1e999,"size":1}}', PARSE),
    ("huge integer", '{"jsonrpc":"2.0","id":123456789012345678901234567890,'
     '"method":"daemon-info"}', PARSE),
    ("negative size", req("read-memory", {"vm": 1, "gpa": 0, "size": -1}), PARAMS, 1),
    ("negative map size", req("map-memory", {"vm": 1, "gpa": 0, "size": -4096}), PARAMS, 1),
    ("negative index", req("create-vcpu", {"vm": 1, "index": -1}), PARAMS, 1),
    ("index over 32 bits", req("create-vcpu", {"vm": 1, "index": 1 << 32}), PARAMS, 1),
    ("negative vm id", req("vm-info", {"vm": -1}), PARAMS, 1),
    ("float gpa", req("read-memory", {"vm": 1, "gpa": 1.5, "size": 1}), PARAMS, 1),
    ("hex overflow", req("read-memory", {"vm": 1, "gpa": "0x1" + "0" * 16, "size": 1}),
     PARAMS, 1),
    ("empty hex", req("read-memory", {"vm": 1, "gpa": "0x", "size": 1}), PARAMS, 1),
    ("negative hex", req("read-memory", {"vm": 1, "gpa": "-0x10", "size": 1}), PARAMS, 1),
    ("not hex", req("read-memory", {"vm": 1, "gpa": "0xzz", "size": 1}), PARAMS, 1),
    ("bool as integer", req("create-vcpu", {"vm": 1, "index": True}), PARAMS, 1),
    ("string as bool", req("create-vm", {"autodestroy": "yes"}), PARAMS, 1),
    ("bad enum", req("run", {"vm": 1, "vcpu": 0, "mode": "fast"}), PARAMS, 1),
    ("missing required", req("read-memory", {"vm": 1}), PARAMS, 1),
    # Nesting.
    ("33 levels", nest(33), PARSE),
    ("33 levels of objects", '{"a":' * 33 + "1" + "}" * 33, PARSE),
    ("deep in params", req("daemon-info", {"x": json.loads(nest(40))}), PARSE),
    ("100000 levels", nest(100000), PARSE),
    ("32 levels are parsed", '{"jsonrpc":"2.0","id":1,"method":"daemon-info","params":{"x":' +
     nest(30) + "}}", PARAMS, 1),
    ("brackets in a string do not nest",
     req("daemon-info", {"x": "[" * 100 + "{" * 100}), PARAMS, 1),
    ("escaped quote then brackets", req("daemon-info", {"x": '\\"' + "[" * 100}), PARAMS, 1),
]


def methods():
    out = subprocess.run([build_path("src/daemon/mshvd"), "--print-methods"],
                         capture_output=True, check=True).stdout
    return json.loads(out)


def expect(c, line, code, id=None, what=""):
    if isinstance(line, str):
        line = line.encode()
    c.send_raw(line + b"\n")
    m = c.other() if id is None else c.response(id)
    if isinstance(m, list):         # a batch answer
        eq(len(m), 1, what)
        m = m[0]
    check("error" in m, "%s: an error: %r" % (what, m))
    eq(m["error"]["code"], code, what + " code")
    eq(m["error"]["data"]["name"], NAMES[code], what + " name")
    eq(m.get("id"), id, what + " id")
    # The same connection still answers.
    check("backend" in c.call("daemon-info"), what + ": daemon-info after")


def test_cases():
    d = Daemon()
    try:
        c = d.client().unchecked()
        n = 0
        for case in CASES:
            name, line, code = case[:3]
            expect(c, line, code, case[3] if len(case) > 3 else None, name)
            n += 1
        # A batch whose members are malformed gets one error per member.
        c.send_raw('[1, {"jsonrpc":"2.0","id":7,"method":7}, {"jsonrpc":"2.0","id":8}]\n')
        m = c.other()
        eq(sorted((r["id"] or 0, r["error"]["code"]) for r in m),
           [(0, INVALID), (7, INVALID), (8, INVALID)])
        n += 1
        # The limits behind a refusal are named, with their values.
        c.send_raw(nest(33) + "\n")
        eq(c.other()["error"]["data"], {"name": "parse-error", "limit": "max-depth",
                                        "value": "0x20"})
        c.send_raw(json.dumps([json.loads(req())] * 65) + "\n")
        eq(c.other()["error"]["data"], {"name": "invalid-request", "limit": "max-batch",
                                        "value": "0x40"})
        n += 2
        # Unknown params, for every method, have no side effect.
        for m in methods():
            line = req(m["name"], {"no_such_param": 1}, id=m["name"])
            expect(c, line, PARAMS, m["name"], "unknown param of " + m["name"])
            n += 1
        eq(c.call("list-vms")["vms"], [], "no side effect")
        print("%d malformed cases" % n)
        check(n >= 60, "at least 60 cases")
        c.close()
    finally:
        d.stop()


def test_oversize_line():
    d = Daemon()
    try:
        c = d.client().unchecked()
        c.call("daemon-info")
        # 300 KiB without a newline: refused as soon as 256 KiB are buffered.
        try:
            c.send_raw(b'{"jsonrpc":"2.0","id":1,"method":"daemon-info","params":{"x":"' +
                       b"a" * (300 << 10))
        except (BrokenPipeError, ConnectionResetError):
            pass
        m = c.other()
        eq(m["error"]["data"]["name"], "limit-exceeded")
        eq(m["error"]["data"]["limit"], "max-request")
        check(c.eof(), "closed by design")
        # A long line that fits is fine, and a new connection works.
        c2 = d.client().unchecked()
        e = c2.error("vm-info", {"vm": "a" * (200 << 10)})
        eq(e.code, 4)   # max-string, not a framing problem
        eq(e.data["limit"], "max-string")
        check("backend" in d.client().call("daemon-info"))
    finally:
        d.stop()


run([test_cases, test_oversize_line])
