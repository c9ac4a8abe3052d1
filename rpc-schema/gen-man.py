#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Render mshvd-rpc(7) from the OpenRPC document: usage: gen-man.py mshvd.openrpc.json > mshvd-rpc.7
# Python 3 standard library only (a build-time tool); the output depends on the document alone.

import json
import sys

doc = json.load(open(sys.argv[1], encoding="utf-8"))
schemas = doc["components"]["schemas"]
out = []


def esc(text):
    text = str(text).replace("\\", "\\e")
    lines = []
    for line in text.split("\n"):
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def emit(*lines):
    out.extend(lines)


def ref_name(s):
    return s["$ref"].rsplit("/", 1)[1]


def resolve(s):
    while isinstance(s, dict) and "$ref" in s:
        s = schemas[ref_name(s)]
    return s


def type_str(s, depth=0):
    """A short human description of a schema."""
    if "$ref" in s:
        return ref_name(s)
    if "const" in s:
        return json.dumps(s["const"])
    if "oneOf" in s:
        return " | ".join(type_str(x, depth) for x in s["oneOf"])
    t = s.get("type", "any")
    if "enum" in s:
        return " | ".join(str(v) for v in s["enum"])
    if t == "integer":
        lo, hi = s.get("minimum"), s.get("maximum")
        if lo is not None and hi is not None:
            return "integer %d..%d" % (lo, hi) if hi < 1 << 32 else "integer >= %d" % lo
        return "integer >= %d" % lo if lo is not None else "integer"
    if t == "array":
        return "array of %s" % type_str(s.get("items", {}), depth) if "items" in s else "array"
    if t == "string" and "pattern" in s:
        return "string"
    return t


def fields(s, indent=0):
    """.IP lines for the properties of an object schema (one level)."""
    s = resolve(s)
    if "oneOf" in s:
        for alt in s["oneOf"]:
            emit(".IP \\(bu 2", "one of: " + esc(type_str(alt)))
            fields(alt)
        return
    req = set(s.get("required", []))
    for name, p in s.get("properties", {}).items():
        desc = p.get("description", "") if "$ref" not in p else ""
        emit(".IP \\(bu 2", "\\fB%s\\fR (%s%s)%s" % (esc(name), esc(type_str(p)),
                                                  "" if name in req else ", optional",
                                                  ": " + esc(desc) if desc else ""))


info = doc["info"]
emit('.\\" Generated from rpc-schema/mshvd.openrpc.json by rpc-schema/gen-man.py; do not edit.',
     '.TH MSHVD-RPC 7 "" "mshvd %s" "mshvd manual"' % esc(info["version"]),
     ".SH NAME", "mshvd-rpc \\- the JSON-RPC 2.0 interface of mshvd",
     ".SH DESCRIPTION", esc(info["description"]),
     ".PP",
     "This page is rendered from the OpenRPC %s document installed as "
     "\\fImshvd.openrpc.json\\fR in the package data directory; the daemon returns the same "
     "document from \\fBrpc.discover\\fR, and \\fBmshvctl help\\fR \\fIMETHOD\\fR renders "
     "one method of it." % esc(doc["openrpc"]),
     ".SH COMMON TYPES")
for name in ("u64", "hex", "vm-ref", "vcpu-index", "base64"):
    s = schemas[name]
    emit(".TP", "\\fB%s\\fR" % name, esc(s.get("description", "")))

emit(".SH METHODS")
for m in doc["methods"]:
    emit(".SS %s" % esc(m["name"]), esc(m.get("description") or m.get("summary", "")),
         ".PP", "Permission: \\fB%s\\fR." % esc(m.get("x-permission", "?")))
    if m["params"]:
        emit(".PP", "Params (by name):")
        for p in m["params"]:
            emit(".IP \\(bu 2", "\\fB%s\\fR (%s%s): %s" % (
                esc(p["name"]), esc(type_str(p["schema"])),
                "" if p.get("required") else ", optional", esc(p.get("description", ""))))
    else:
        emit(".PP", "Params: none.")
    r = m["result"]
    emit(".PP", "Result" + (": " + esc(r["description"]) if r.get("description") else ":"))
    fields(r["schema"])
    names = [e["$ref"].rsplit("/", 1)[1] if "$ref" in e else e["message"] for e in m["errors"]]
    emit(".PP", "Errors: %s." % esc(", ".join(names)))

ev = doc["x-events"]
emit(".SH EVENTS", esc(ev["description"]))
for kind, ref in ev["kinds"].items():
    s = resolve(ref)
    emit(".SS %s" % esc(kind), esc(s.get("description", "")))
    fields(s)
emit(".PP", "Exit types (the \\fBexit\\fR object of an exit event, and of run/wait and stop "
     "replies):")
for alt in schemas["exit"]["oneOf"]:
    s = resolve(alt)
    emit(".TP", "\\fB%s\\fR" % esc(s["properties"]["type"]["const"]),
         esc(s.get("description", "")) + " Fields: " +
         esc(", ".join(k if k in s.get("required", []) else k + "?"
                       for k in s["properties"] if k != "type")) + ".")

emit(".SH ERRORS",
     "Every error has \\fBdata.name\\fR, a stable symbolic name; some carry more data.")
for e in doc["x-errors"]:
    extra = [k for k in e["data"].get("properties", {}) if k != "name"]
    emit(".TP", "\\fB%d\\fR \\fB%s\\fR" % (e["code"], esc(e["name"])),
         esc(e["description"]) + (" data: %s." % esc(", ".join(extra)) if extra else ""))
emit(".SH SEE ALSO", "\\fBmshvd\\fR(8), \\fBmshvctl\\fR(1), https://spec.open-rpc.org/")
sys.stdout.write("\n".join(out) + "\n")
