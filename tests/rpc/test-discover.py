#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# rpc.discover on a running mshvd: a valid OpenRPC 1.x document (tests/rpc/openrpc-meta.json),
# the very document of rpc-schema/, naming every method the daemon answers and only those.

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpctest import done, fail, load_doc, method_table, need_jsonschema, SRCDIR  # noqa: E402

need_jsonschema()
import jsonschema  # noqa: E402
import mshvd_test  # noqa: E402

mshvd_test.require_backend()
with open(os.path.join(SRCDIR, "tests", "rpc", "openrpc-meta.json")) as f:
    meta = json.load(f)

d = mshvd_test.Daemon()
try:
    c = d.client()
    got = c.call("rpc.discover")
    for e in jsonschema.Draft7Validator(meta).iter_errors(got):
        fail("not OpenRPC: %s: %s" % ("/".join(map(str, e.absolute_path)), e.message[:200]))
    if got != load_doc():
        fail("rpc.discover differs from rpc-schema/mshvd.openrpc.json")
    if got["info"]["version"] != c.call("daemon-info")["version"]:
        fail("info.version is not the daemon's version")
    documented = {m["name"] for m in got["methods"]}
    if documented != {r["name"] for r in method_table()}:
        fail("documented %s, table %s" % (sorted(documented),
                                          sorted(r["name"] for r in method_table())))
    # Every documented method is answered (anything but method-not-found, even for bad
    # params); a name the document lacks is not.
    for name in sorted(documented):
        r = c.response(c.request(name, {"__probe__": 1}))
        if r.get("error", {}).get("code") == -32601:
            fail("documented method %s: method-not-found" % name)
        elif r.get("error", {}).get("code") != -32602:
            fail("%s accepted an unknown parameter: %s" % (name, json.dumps(r)[:200]))
    for name in ("rpc.describe", "discover", "event", "daemon_info"):
        r = c.response(c.request(name))
        if r.get("error", {}).get("code") != -32601:
            fail("undocumented method %s is answered: %s" % (name, json.dumps(r)[:200]))
    if mshvd_test.SCHEMA_PROBLEMS:
        fail("traffic: " + "; ".join(mshvd_test.SCHEMA_PROBLEMS))
    c.close()
finally:
    d.stop()
done("rpc.discover names the %d methods the daemon answers" % len(documented))
