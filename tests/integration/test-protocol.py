#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# JSON-RPC 2.0 conformance of mshvd: framing, ids, notifications, batches, error codes, limits.

import json
import socket
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from mshvd_test import Daemon, Shared, check, eq, run  # noqa: E402


def raw(c, line):
    """Send one line and return the next message that has no numeric id of ours."""
    c.send_raw(line + "\n")
    return c.other()


def expect_error(msg, code, name, id=None):
    eq(msg.get("jsonrpc"), "2.0")
    check("error" in msg and "result" not in msg, "an error: %r" % msg)
    eq(msg["error"]["code"], code, "code")
    eq(msg["error"]["data"]["name"], name, "data.name")
    check(isinstance(msg["error"]["message"], str))
    eq(msg["id"], id, "id")


def test_parse_and_invalid_requests():
    c = Shared.get().client()
    expect_error(raw(c, "{"), -32700, "parse-error")
    expect_error(raw(c, "\x00\xff"), -32700, "parse-error")
    expect_error(raw(c, '{"a":1,"a":2}'), -32700, "parse-error")
    expect_error(raw(c, "1"), -32600, "invalid-request")
    expect_error(raw(c, '"x"'), -32600, "invalid-request")
    expect_error(raw(c, '{"id":null,"method":"daemon-info"}'), -32600, "invalid-request")
    expect_error(raw(c, '{"jsonrpc":"1.0","id":null,"method":"daemon-info"}'), -32600,
                 "invalid-request")
    expect_error(raw(c, '{"jsonrpc":"2.0","id":null,"method":5}'), -32600, "invalid-request")
    expect_error(raw(c, '{"jsonrpc":"2.0","id":null,"method":"daemon-info","params":3}'),
                 -32600, "invalid-request")
    expect_error(raw(c, '{"jsonrpc":"2.0","id":null,"method":"daemon-info","x":1}'),
                 -32600, "invalid-request")
    expect_error(raw(c, '{"jsonrpc":"2.0","id":1.5,"method":"daemon-info"}'), -32600,
                 "invalid-request")
    expect_error(raw(c, '{"jsonrpc":"2.0","id":{},"method":"daemon-info"}'), -32600,
                 "invalid-request")
    expect_error(raw(c, "[]"), -32600, "invalid-request")
    expect_error(raw(c, "[" + "[" * 40 + "]" * 40 + "]"), -32700, "parse-error")
    # The same connection still answers.
    eq(c.call("daemon-info")["backend"], Shared.get().client().call("daemon-info")["backend"])
    c.close()


def test_scanned_and_parsed_requests_agree():
    """The daemon takes common flat requests without a JSON parse (rpc-scan.h) and
    everything else through jansson: the same request both ways gets the same reply.  A key
    spelled with an escape ("\\u006dethod" is "method") always takes the parser."""
    c = Shared.get().client()
    forms = [
        ('{"jsonrpc":"2.0","id":%s,"method":"list-vms"}', 5),
        (' { "method" : "list-vms" ,\t"id" : %s , "jsonrpc" : "2.0" } \r', '"s-6"'),
        ('{"jsonrpc":"2.0","id":%s,"method":"list-vms","params":{}}', 7),
        ('{"jsonrpc":"2.0","id":%s,"method":"list-vms","params":[ ]}', 8),
        ('{"jsonrpc":"2.0","id":%s,"method":"daemon-info"}', 123456789012345678),
        ('{"jsonrpc":"2.0","id":%s,"method":"daemon-info"}', 1234567890123456789),
        ('{"jsonrpc":"2.0","id":%s,"method":"no-such-method"}', 9),
        ('{"jsonrpc":"2.0","id":%s,"method":"vm-info"}', 10),
    ]
    for form, id in forms:
        line = form % id
        escaped = line.replace('"method"', '"\\u006dethod"')
        replies = []
        for text in (line, escaped):
            c.send_raw(text + "\n")
            replies.append(c.response(json.loads(str(id)) if isinstance(id, str) else id))
        if "seq" in replies[0].get("result", {}):
            for r in replies:
                r["result"].pop("seq")
        eq(replies[0], replies[1], line)
    # id null: the reply has "id": null (collected with the replies without a usable id).
    for text in ('{"jsonrpc":"2.0","id":null,"method":"list-vms"}',
                 '{"jsonrpc":"2.0","id":null,"\\u006dethod":"list-vms"}'):
        m = raw(c, text)
        eq(m["id"], None)
        check("vms" in m["result"], "a list-vms result: %r" % m)
    # Notifications get no reply either way; what is not JSON is a parse error either way.
    c.send_raw('{"jsonrpc":"2.0","method":"list-vms"}\n'
               '{"jsonrpc":"2.0","\\u006dethod":"list-vms"}\n')
    eq(c.call("list-vms")["vms"], Shared.get().client().call("list-vms")["vms"])
    eq(len(c.others), 0, "replies to notifications")
    for text in ('{"jsonrpc":"2.0","id":07,"method":"list-vms"}',
                 '{"jsonrpc":"2.0","id":1,"id":2,"method":"list-vms"}',
                 '{"jsonrpc":"2.0","id":3,"method":"list-vms"} x',
                 '{"jsonrpc":"2.0","id":3,"method":"list-vms",}'):
        expect_error(raw(c, text), -32700, "parse-error")
    c.close()


def same_reply_both_ways(c, line, id):
    """Send line as is (scanned when it can be) and with "method" spelled with an escape (always
    parsed); return both replies, which must be equal but for an event's seq and time."""
    replies = []
    for text in (line, line.replace('"method"', '"\\u006dethod"', 1)):
        c.send_raw(text + "\n")
        replies.append(c.response(id))
    for r in replies:
        for k in ("seq", "time"):
            if isinstance(r.get("result"), dict):
                r["result"].pop(k, None)
    eq(replies[0], replies[1], line)
    return replies[0]


def test_scanned_params_agree():
    """Flat params (integers, booleans, plain strings) are scanned too (rpc-scan.h): every
    form, valid or not, gets the reply the parser gives, and a failed one changes nothing."""
    c = Shared.get().client()
    vm = c.boot_vm("bench-out", name="scan-1", regs={"rbx": 1000000, "rax": 1000000})
    v = str(vm)
    forms = [
        '{"jsonrpc":"2.0","id":1,"method":"vm-info","params":{"vm":%s}}' % v,
        '{"jsonrpc":"2.0","id":1,"method":"vm-info","params":{"vm":"scan-1"}}',
        '{ "params" : { "vm" : %s } , "jsonrpc":"2.0","method":"vm-info","id":1 }' % v,
        '{"jsonrpc":"2.0","id":1,"method":"vm-info","params":{"vm":"no-such"}}',
        '{"jsonrpc":"2.0","id":1,"method":"vm-info","params":{"vm":99999}}',
        '{"jsonrpc":"2.0","id":1,"method":"vm-info","params":{"vm":-1}}',
        '{"jsonrpc":"2.0","id":1,"method":"vm-info","params":{"vm":true}}',
        '{"jsonrpc":"2.0","id":1,"method":"vm-info","params":{"vm":1.0}}',
        '{"jsonrpc":"2.0","id":1,"method":"vm-info","params":{"vm":%s,"x":1}}' % v,
        '{"jsonrpc":"2.0","id":1,"method":"vm-info","params":{}}',
        '{"jsonrpc":"2.0","id":1,"method":"get-regs","params":{"vm":%s,"vcpu":0}}' % v,
        '{"jsonrpc":"2.0","id":1,"method":"get-regs","params":{"vm":%s,"vcpu":7}}' % v,
        '{"jsonrpc":"2.0","id":1,"method":"get-regs","params":{"vm":%s,"vcpu":"0"}}' % v,
        '{"jsonrpc":"2.0","id":1,"method":"get-regs","params":{"vm":%s,"vcpu":4294967296}}' % v,
        '{"jsonrpc":"2.0","id":1,"method":"get-regs","params":{"vm":%s}}' % v,
        '{"jsonrpc":"2.0","id":1,"method":"translate-gva","params":'
        '{"vm":%s,"vcpu":0,"gva":"0x1000","access":"read"}}' % v,
        '{"jsonrpc":"2.0","id":1,"method":"translate-gva","params":'
        '{"vm":%s,"vcpu":0,"gva":4096,"access":"bogus"}}' % v,
        '{"jsonrpc":"2.0","id":1,"method":"translate-gva","params":'
        '{"vm":%s,"vcpu":0,"gva":"0x10zz"}}' % v,
        '{"jsonrpc":"2.0","id":1,"method":"write-memory","params":'
        '{"vm":%s,"gpa":262144,"data":"c2Nhbm5lZA=="}}' % v,
        '{"jsonrpc":"2.0","id":1,"method":"read-memory","params":'
        '{"vm":%s,"gpa":"0x40000","size":7}}' % v,
        '{"jsonrpc":"2.0","id":1,"method":"run","params":'
        '{"vm":%s,"vcpu":0,"mode":"nope"}}' % v,
        '{"jsonrpc":"2.0","id":1,"method":"run","params":'
        '{"vm":%s,"vcpu":0,"timeout_ms":4294967296}}' % v,
        '{"jsonrpc":"2.0","id":1,"method":"complete","params":{"vm":%s,"vcpu":0}}' % v,
        '{"jsonrpc":"2.0","id":1,"method":"create-vm","params":{"name":"bad name"}}',
    ]
    for line in forms:
        same_reply_both_ways(c, line, 1)
    eq(c.call("read-memory", vm=vm, gpa=0x40000, size=7)["data"], "c2Nhbm5lZA==")
    # Not JSON either way.
    for text in ('{"jsonrpc":"2.0","id":1,"method":"vm-info","params":{"vm":%s,"vm":%s}}',
                 '{"jsonrpc":"2.0","id":1,"method":"vm-info","params":{"vm":0%s}}',
                 '{"jsonrpc":"2.0","id":1,"method":"vm-info","params":{"vm":%s,}}',
                 '{"jsonrpc":"2.0","id":1,"method":"vm-info","params":{"vm":%s}'):
        expect_error(raw(c, text.replace("%s", v)), -32700, "parse-error")
    # The step-mode loop: the same exit from the same state, either way.
    run = ('{"jsonrpc":"2.0","id":1,"method":"run","params":'
           '{"vm":%s,"vcpu":0,"wait":true}}' % v)
    for _ in range(2):
        c.call("set-regs", vm=vm, vcpu=0, regs={"rip": 0x1000, "rbx": 5})
        c.send_raw(run + "\n")
        first = c.response(1)["result"]
        c.call("complete", vm=vm, vcpu=0)
        c.call("set-regs", vm=vm, vcpu=0, regs={"rip": 0x1000, "rbx": 5})
        c.send_raw(run.replace('"method"', '"\\u006dethod"', 1) + "\n")
        second = c.response(1)["result"]
        for r in (first, second):
            for k in ("seq", "time"):
                r.pop(k, None)
        eq(first, second)
        eq(first["type"], "io")
        c.call("complete", vm=vm, vcpu=0)
    c.call("destroy-vm", vm=vm)
    c.close()


def test_ids_and_notifications():
    c = Shared.get().client()
    for id in ["abc", 7, 0, -3, 2**53]:
        c.send({"jsonrpc": "2.0", "id": id, "method": "daemon-info"})
        eq(c.response(id)["id"], id)
    c.send({"jsonrpc": "2.0", "id": None, "method": "daemon-info"})
    m = c.other()
    eq(m["id"], None)
    check("result" in m)
    # Notifications: no reply, even for errors; the next request is answered first.
    c.send({"jsonrpc": "2.0", "method": "daemon-info"})
    c.send({"jsonrpc": "2.0", "method": "no-such-method"})
    c.send({"jsonrpc": "2.0", "method": "create-vm", "params": {"bogus": 1}})
    c.send({"jsonrpc": "2.0", "method": "create-vm", "params": {"name": "by-notification"}})
    eq(c.call("list-vms")["vms"][0]["name"], "by-notification")
    c.drain(0.1)
    eq(c.others, [])
    eq(c.replies, {})
    c.call("destroy-vm", vm="by-notification")
    c.close()


def test_method_and_params_errors():
    c = Shared.get().client()
    e = c.error("no-such-method")
    eq((e.code, e.name), (-32601, "method-not-found"))
    e = c.error("daemon-info", {"unknown": 1})
    eq((e.code, e.name), (-32602, "invalid-params"))
    e = c.error("create-vm", [1])
    eq((e.code, e.name), (-32602, "invalid-params"))
    eq(c.call("daemon-info", [])["backend"] in ("kvm", "mshv", "emu"), True)
    e = c.error("create-vm", name=5)
    eq(e.code, -32602)
    e = c.error("map-memory", vm=1)
    eq(e.code, -32602)      # missing gpa/size, checked before the vm lookup
    e = c.error("map-memory", vm=1, gpa="0x10zz", size=4096)
    eq(e.code, -32602)
    e = c.error("map-memory", vm=1, gpa=-4096, size=4096)
    eq(e.code, -32602)
    # Unknown params are rejected before any side effect.
    e = c.error("create-vm", name="never", colour="blue")
    eq(e.code, -32602)
    check(all(v["name"] != "never" for v in c.call("list-vms")["vms"]))
    c.close()


def test_batches():
    c = Shared.get().client()
    c.send([
        {"jsonrpc": "2.0", "id": 1, "method": "daemon-info"},
        {"jsonrpc": "2.0", "method": "daemon-info"},
        {"jsonrpc": "2.0", "id": 2, "method": "nope"},
        5,
        {"jsonrpc": "2.0", "id": "x", "method": "list-vms"},
    ])
    m = c.other()
    check(isinstance(m, list), "batch reply is an array")
    eq(len(m), 4)
    by_id = {json.dumps(r["id"]): r for r in m}
    check("result" in by_id["1"])
    eq(by_id["2"]["error"]["code"], -32601)
    eq(by_id["null"]["error"]["code"], -32600)
    check("vms" in by_id['"x"']["result"])
    # Only notifications: no reply at all.
    c.send([{"jsonrpc": "2.0", "method": "daemon-info"}])
    c.drain(0.1)
    eq(c.others, [])
    # Bounded.
    c.send([{"jsonrpc": "2.0", "id": i, "method": "daemon-info"} for i in range(1000)])
    expect_error(c.other(), -32600, "invalid-request")
    c.close()


def test_daemon_info():
    c = Shared.get().client()
    info = c.call("daemon-info")
    check(info["version"])
    eq(info["backend"], __import__("mshvd_test").BACKEND)
    check(isinstance(info["capabilities"], list))
    for k in ("max-clients", "max-vms", "max-vcpus", "max-mem-per-vm", "max-request",
              "max-io", "event-ring"):
        check(k in info["limits"], k)
    eq(info["limits"]["event-ring"], 4096)
    check(info["limits"]["max-mem-per-vm"].startswith("0x"))
    check(info["counts"]["clients"] >= 1)
    c.close()


def test_request_line_limit():
    d = Daemon("--max-request", "4096")
    try:
        c = d.client()
        eq(c.call("daemon-info")["limits"]["max-request"], 4096)
        c.send_raw('{"jsonrpc":"2.0","id":1,"method":"daemon-info","params":{"x":"' +
                   "a" * 10000)
        m = c.other()
        eq(m["error"]["data"]["name"], "limit-exceeded")
        check(c.eof(), "the connection is closed")
        # Others are unaffected.
        d.client().call("daemon-info")
    finally:
        d.stop()


def test_max_clients():
    d = Daemon("--max-clients", "2")
    try:
        a, b = d.client(), d.client()
        a.call("daemon-info")
        b.call("daemon-info")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(d.path)
        s.settimeout(5)
        line = s.makefile().readline()
        eq(json.loads(line)["error"]["data"]["name"], "limit-exceeded")
        eq(s.recv(10), b"")
        s.close()
        a.close()
        b.call("daemon-info")
    finally:
        d.stop()


def test_zz_stop_shared():
    Shared.get().stop()


run([test_parse_and_invalid_requests, test_scanned_and_parsed_requests_agree,
     test_scanned_params_agree,
     test_ids_and_notifications, test_method_and_params_errors, test_batches, test_daemon_info,
     test_request_line_limit, test_max_clients, test_zz_stop_shared])
