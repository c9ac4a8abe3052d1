#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The method table of mshvd (--print-methods) and rpc-schema/mshvd.openrpc.json agree both ways:
# same methods, same params (names, required, types), same permissions; the document is a
# well-formed OpenRPC document whose references resolve; its error table is protocol.h's; its
# version is the package's; the shipped mshvd-rpc(7) is rendered from it.

import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpctest import (SRCDIR, daemon_version, done, fail, load_doc,  # noqa: E402
                     method_table, need_jsonschema)

need_jsonschema()
import jsonschema  # noqa: E402

doc = load_doc()
table = method_table()
schemas = doc["components"]["schemas"]


def resolve(s):
    while isinstance(s, dict) and "$ref" in s:
        ref = s["$ref"]
        if not ref.startswith("#/"):
            fail("external reference %s" % ref)
            return {}
        node = doc
        for part in ref[2:].split("/"):
            if part not in node:
                fail("dangling reference %s" % ref)
                return {}
            node = node[part]
        s = node
    return s


def int_range(s):
    s = resolve(s)
    return s.get("type") == "integer", s.get("minimum"), s.get("maximum")


def type_ok(row_type, values, s):
    """Does schema s describe exactly what the table's param type accepts (ranges may narrow,
    the handler checks them)?  Returns a problem or None."""
    r = resolve(s)
    if row_type == "vm":
        return None if s == {"$ref": "#/components/schemas/vm-ref"} else "not vm-ref"
    if row_type == "snapshot":
        return None if s == {"$ref": "#/components/schemas/snapshot-ref"} else "not snapshot-ref"
    if row_type == "u64":
        return None if s == {"$ref": "#/components/schemas/u64"} else "not u64"
    if row_type == "uint32":
        is_int, lo, hi = int_range(s)
        if not is_int or lo is None or lo < 0 or hi is None or hi > 0xffffffff:
            return "not an integer within 0..2^32-1"
        return None
    if row_type == "boolean":
        return None if r.get("type") == "boolean" else "not boolean"
    if row_type == "string":
        return None if r.get("type") == "string" and "enum" not in r else "not string"
    if row_type == "enum":
        if r.get("type") != "string" or sorted(r.get("enum", [])) != sorted(values or []):
            return "enum %s, table %s" % (r.get("enum"), values)
        return None
    if row_type in ("enum-array", "string-array"):
        if r.get("type") != "array":
            return "not an array"
        items = resolve(r.get("items", {}))
        if items.get("type") != "string":
            return "items not strings"
        if row_type == "enum-array" and sorted(items.get("enum", [])) != sorted(values or []):
            return "item enum %s, table %s" % (items.get("enum"), values)
        return None
    if row_type == "object":
        return None if r.get("type") == "object" else "not object"
    if row_type == "array":
        return None if r.get("type") == "array" else "not array"
    return "unknown table type %s" % row_type


# ---- the document is OpenRPC and its schemas are JSON Schema --------------------------------
with open(os.path.join(SRCDIR, "tests", "rpc", "openrpc-meta.json")) as f:
    meta = json.load(f)
for e in jsonschema.Draft7Validator(meta).iter_errors(doc):
    fail("OpenRPC structure: %s: %s" % ("/".join(map(str, e.absolute_path)), e.message[:200]))
names = [m["name"] for m in doc["methods"]]
if len(names) != len(set(names)):
    fail("duplicate method names in the document")
for name, s in schemas.items():
    try:
        jsonschema.Draft7Validator.check_schema(s)
    except jsonschema.SchemaError as e:
        fail("components/schemas/%s is not a JSON Schema: %s" % (name, e.message))


def walk_refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            resolve(node)
        for v in node.values():
            walk_refs(v)
    elif isinstance(node, list):
        for v in node:
            walk_refs(v)


walk_refs(doc)

# ---- table <-> document ------------------------------------------------------------------------
rows = {r["name"]: r for r in table}
methods = {m["name"]: m for m in doc["methods"]}
for name in rows:
    if name not in methods:
        fail("method %s is in the daemon's table but not in the document" % name)
for name in methods:
    if name not in rows:
        fail("method %s is in the document but the daemon does not implement it" % name)
for name, row in rows.items():
    if row.get("permission") not in ("read", "owner", "admin"):
        fail("method %s has no permission class in its table row (%r)" %
             (name, row.get("permission")))
    m = methods.get(name)
    if not m:
        continue
    if m.get("x-permission") != row.get("permission"):
        fail("%s: permission %s in the table, %s in the document" %
             (name, row.get("permission"), m.get("x-permission")))
    if m.get("paramStructure") != "by-name":
        fail("%s: paramStructure must be by-name" % name)
    rp = {p["name"]: p for p in row["params"]}
    dp = {p["name"]: p for p in m["params"]}
    for pn in rp.keys() - dp.keys():
        fail("%s: param %s is in the table, not in the document" % (name, pn))
    for pn in dp.keys() - rp.keys():
        fail("%s: param %s is in the document, not in the table" % (name, pn))
    for pn in rp.keys() & dp.keys():
        if bool(dp[pn].get("required", False)) != rp[pn]["required"]:
            fail("%s: param %s required: table %s, document %s" %
                 (name, pn, rp[pn]["required"], dp[pn].get("required", False)))
        prob = type_ok(rp[pn]["type"], rp[pn].get("values"), dp[pn]["schema"])
        if prob:
            fail("%s: param %s (table type %s): %s" % (name, pn, rp[pn]["type"], prob))
    if m.get("summary") != row.get("summary"):
        fail("%s: summary differs: table %r, document %r" % (name, row.get("summary"),
                                                             m.get("summary")))
    errs = [resolve(e).get("message") for e in m.get("errors", [])]
    if "invalid-params" not in errs:
        fail("%s: every method can answer invalid-params (unknown params)" % name)
    if row.get("permission") == "admin" and "permission-denied" not in errs:
        fail("%s: an admin method can answer permission-denied" % name)

# Event kinds: subscribe's kinds values are the document's event kinds.
kinds_row = [p for p in rows.get("subscribe", {}).get("params", []) if p["name"] == "kinds"]
if kinds_row and sorted(kinds_row[0].get("values", [])) != sorted(doc["x-events"]["kinds"]):
    fail("event kinds: subscribe accepts %s, x-events describes %s" %
         (kinds_row[0].get("values"), sorted(doc["x-events"]["kinds"])))
for k, ref in doc["x-events"]["kinds"].items():
    if resolve(ref).get("properties", {}).get("kind", {}).get("const") != k:
        fail("x-events kind %s: its schema's kind is not %s" % (k, k))

# ---- errors <-> include/mshvd/protocol.h -----------------------------------------------------
with open(os.path.join(SRCDIR, "include", "mshvd", "protocol.h")) as f:
    text = f.read()
codes = {m.group(1): int(m.group(2)) for m in
         re.finditer(r"#define MSHVD_ERR_(\w+)\s+\(?(-?\d+)\)?", text)}
ename = {m.group(1): m.group(2) for m in
         re.finditer(r'#define MSHVD_ERRNAME_(\w+)\s+"([^"]+)"', text)}
header = {codes[k]: ename.get(k) for k in codes}
xerr = {e["code"]: e["name"] for e in doc["x-errors"]}
if header != xerr:
    fail("x-errors %s differs from protocol.h %s" % (sorted(xerr.items()),
                                                    sorted(header.items())))
for key, e in doc["components"]["errors"].items():
    if xerr.get(e["code"]) != e["message"] or key != e["message"]:
        fail("components/errors/%s does not match x-errors" % key)

# ---- version and the man page ------------------------------------------------------------------
if doc["info"]["version"] != daemon_version():
    fail("info.version %s is not the package version %s" % (doc["info"]["version"],
                                                           daemon_version()))
page = subprocess.run([sys.executable, os.path.join(SRCDIR, "rpc-schema", "gen-man.py"),
                       os.path.join(SRCDIR, "rpc-schema", "mshvd.openrpc.json")],
                      capture_output=True, check=True).stdout.decode()
shipped = os.path.join(SRCDIR, "man", "mshvd-rpc.7")
if not os.path.exists(shipped):
    fail("%s is missing" % shipped)
else:
    with open(shipped) as f:
        if f.read() != page:
            fail("%s is stale: make man/mshvd-rpc.7 refreshes it" % shipped)

# Every row declares its target consistently with its params and permission: the dispatcher
# resolves params.vm (and params.vcpu, params.snapshot) for it, and an owner-only row needs a
# target.
for row in table:
    req = {p["name"]: p for p in row["params"] if p["required"]}
    want = "vcpu" if "vcpu" in req and "vm" in req else "vm" if "vm" in req else \
        "snapshot" if "snapshot" in req else "none"
    if row.get("target") != want:
        fail("%s: target %r, its params say %r" % (row["name"], row.get("target"), want))
    if row["permission"] == "owner" and row.get("target") == "none":
        fail("%s: owner-only without a target" % row["name"])

# The limits table (mshvd --print-limits) against daemon-info's schema and mshvd(8): every
# limit is reported, required and documented with its option and default.
from rpctest import MSHVD  # noqa: E402
limits = json.loads(subprocess.run([MSHVD, "--print-limits"], capture_output=True, check=True,
                                   timeout=30).stdout)
info = [m for m in doc["methods"] if m["name"] == "daemon-info"][0]
lim_schema = info["result"]["schema"]["properties"]["limits"]
man8 = open(os.path.join(SRCDIR, "man", "mshvd.8"), encoding="utf-8").read()
for row in limits:
    if row["name"] not in lim_schema["properties"]:
        fail("limit %s is not in daemon-info's schema" % row["name"])
    if row["name"] not in lim_schema.get("required", []) and \
            not row["name"].endswith(("-per-uid",)) and row["unit"] != "ms" and \
            row["name"] not in ("max-string", "max-array", "max-output"):
        fail("limit %s is not required in daemon-info's schema" % row["name"])
    opt = ".BI \\-\\-%s " % row["option"].replace("-", "\\-")
    at = man8.find(opt)
    if at < 0:
        fail("mshvd(8) does not document --%s" % row["option"])
        continue
    entry = man8[at:man8.find(".TP", at + 1) if man8.find(".TP", at + 1) > 0 else len(man8)]
    v, suffix = row["default"], ""
    if row["unit"] in ("size", "mem"):
        for sfx in "KMG":
            if v and v % 1024 == 0:
                v, suffix = v // 1024, sfx
    if "default %d%s" % (v, suffix) not in entry and "default %d" % row["default"] not in entry:
        fail("mshvd(8) --%s: default is not %d%s" % (row["option"], v, suffix))
    if row["max"] is not None and row["max"] < (1 << 20) and \
            "at most %d" % row["max"] not in entry:
        fail("mshvd(8) --%s: does not say at most %d" % (row["option"], row["max"]))
for name in lim_schema["properties"]:
    if name != "max-name" and name not in [r["name"] for r in limits]:
        fail("daemon-info's schema reports %s, which is not in the limits table" % name)

done("%d methods, table and document agree; %d limits, table, schema and mshvd(8) agree"
     % (len(rows), len(limits)))
