# SPDX-License-Identifier: MIT
"""The mshvd OpenRPC document (rpc-schema/mshvd.openrpc.json) as validators for requests,
responses and events, used by the tests (tests/rpc, tests/integration).  Needs python3-jsonschema.

Validation is strict on what the daemon sends: every object schema that lists "properties" is
closed (additionalProperties: false) unless the document says otherwise, so a field the daemon
sends and the document does not describe is reported.  The document itself stays open on
results (clients must ignore unknown result fields); the strictness is a test-side choice that
keeps the document complete.
"""

import json
import os

PROTOCOL_CODES = (-32700, -32600, -32601)


def default_path():
    top = os.environ.get("top_srcdir") or os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                       "..")
    return os.path.join(top, "rpc-schema", "mshvd.openrpc.json")


def load(path=None):
    with open(path or default_path(), encoding="utf-8") as f:
        return json.load(f)


def _close(node):
    """Strict copy: objects with properties and no additionalProperties get false."""
    if isinstance(node, list):
        return [_close(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: (v if k in ("enum", "const") else _close(v)) for k, v in node.items()}
    if "properties" in out and "additionalProperties" not in out \
            and "patternProperties" not in out:
        out["additionalProperties"] = False
    return out


def params_schema(method):
    """One JSON Schema for a method's params object (by name, unknown names rejected)."""
    return {
        "type": "object",
        "properties": {p["name"]: p["schema"] for p in method.get("params", [])},
        "required": [p["name"] for p in method.get("params", []) if p.get("required")],
        "additionalProperties": False,
    }


def _short(v, n=300):
    t = json.dumps(v)
    return t if len(t) <= n else t[:n] + "..."


class Schema:
    """Validators built from the document.  Each check_* returns a list of problems (strings);
    an empty list means the message conforms."""

    def __init__(self, doc=None, strict=True):
        import jsonschema  # python3-jsonschema; imported here so gen-man needs only the stdlib

        self._js = jsonschema
        self.doc = doc if doc is not None else load()
        self.components = _close(self.doc["components"]) if strict else self.doc["components"]
        self.strict = strict
        self.methods = {m["name"]: m for m in self.doc["methods"]}
        self.errors = {e["code"]: e for e in self.doc["x-errors"]}
        self._cache = {}

    def _validator(self, key, schema):
        v = self._cache.get(key)
        if v is None:
            # The schema becomes the root of a document that also holds components, so the
            # "#/components/..." references resolve without a resolver object.
            root = dict(_close(schema) if self.strict else schema)
            root["components"] = self.components
            self._js.Draft7Validator.check_schema(root)
            v = self._cache[key] = self._js.Draft7Validator(root)
        return v

    def _errors(self, key, schema, instance):
        v = self._validator(key, schema)
        out = []
        for e in sorted(v.iter_errors(instance), key=lambda e: list(e.absolute_path)):
            path = "/".join(str(p) for p in e.absolute_path)
            msg = e.message if len(e.message) < 300 else e.message[:300] + "..."
            out.append("%s: %s" % (path or "(top)", msg))
        return out

    def method_error_names(self, name):
        m = self.methods.get(name)
        if not m:
            return set()
        out = set()
        for e in m.get("errors", []):
            if "$ref" in e:
                out.add(e["$ref"].rsplit("/", 1)[1])
            else:
                out.add(e["message"])
        return out

    # ---- requests ---------------------------------------------------------------------------

    def check_params(self, method, params):
        m = self.methods.get(method)
        if m is None:
            return ["no method %r in the document" % method]
        if params is None or params == []:
            params = {}
        if isinstance(params, list):
            return ["params of %s must be passed by name" % method]
        return ["%s params %s" % (method, p)
                for p in self._errors(("params", method), params_schema(m), params)]

    def check_request(self, msg):
        """Problems of one request object (an element of a batch, or a whole line)."""
        if not isinstance(msg, dict):
            return ["a request must be an object"]
        probs = []
        extra = set(msg) - {"jsonrpc", "method", "params", "id"}
        if extra:
            probs.append("unknown members %s" % sorted(extra))
        if msg.get("jsonrpc") != "2.0":
            probs.append('jsonrpc must be "2.0"')
        if "id" in msg and not (msg["id"] is None or isinstance(msg["id"], str) or
                                (isinstance(msg["id"], int) and
                                 not isinstance(msg["id"], bool))):
            probs.append("bad id")
        if not isinstance(msg.get("method"), str):
            return probs + ["method must be a string"]
        return probs + self.check_params(msg["method"], msg.get("params"))

    # ---- responses ----------------------------------------------------------------------------

    def check_error_object(self, err):
        probs = self._errors("error", {"$ref": "#/components/schemas/error"}, err)
        if probs:
            return probs
        entry = self.errors.get(err["code"])
        if entry is None:
            return ["error code %r is not in x-errors" % err["code"]]
        if err["data"].get("name") != entry["name"]:
            return ["error code %d has data.name %r, x-errors says %r" %
                    (err["code"], err["data"].get("name"), entry["name"])]
        return ["error %s data %s" % (entry["name"], p)
                for p in self._errors(("error-data", entry["code"]), entry["data"], err["data"])]

    def check_response(self, msg, method=None, request_valid=True):
        """Problems of one response.  method: the method of the request it answers, when
        known; request_valid: whether that request conformed to the document."""
        if not isinstance(msg, dict):
            return ["a response must be an object: %s" % _short(msg)]
        probs = []
        if msg.get("jsonrpc") != "2.0":
            probs.append('jsonrpc must be "2.0"')
        if "id" not in msg:
            probs.append("a response has an id")
        if ("result" in msg) == ("error" in msg):
            return probs + ["a response has exactly one of result and error"]
        if set(msg) - {"jsonrpc", "id", "result", "error"}:
            probs.append("unknown members %s" % sorted(set(msg) - {"jsonrpc", "id", "result",
                                                                    "error"}))
        if "error" in msg:
            err = msg["error"]
            eprobs = self.check_error_object(err)
            if eprobs:
                return probs + eprobs
            if method in self.methods and request_valid:
                name = self.errors[err["code"]]["name"]
                if name not in self.method_error_names(method):
                    probs.append("%s returned error %s, which its errors list does not name" %
                                 (method, name))
            return probs
        if method is None:
            return probs + ["a result answers no known request"]
        if method not in self.methods:
            return probs + ["%s succeeded but the document has no such method" % method]
        if not request_valid:
            probs.append("%s succeeded on a request the document rejects" % method)
        m = self.methods[method]
        return probs + ["%s result %s" % (method, p)
                        for p in self._errors(("result", method), m["result"]["schema"],
                                              msg["result"])]

    # ---- events -------------------------------------------------------------------------------

    def check_event(self, msg):
        """Problems of one notification line from the daemon."""
        return ["event %s" % p for p in
                self._errors("event", {"$ref": "#/components/schemas/event"}, msg)]


class Tracker:
    """Validates the traffic of one connection: requests as they are sent, then each message
    from the daemon, matching responses to requests by id.  Problems go to self.problems."""

    def __init__(self, schema):
        self.schema = schema
        self.pending = {}       # json id text -> (method, request valid)
        self.problems = []

    def _fail(self, what, msg, probs):
        for p in probs:
            self.problems.append("%s %s: %s" % (what, _short(msg, 200), p))

    def _one_request(self, req):
        probs = self.schema.check_request(req)
        if isinstance(req, dict) and "id" in req and isinstance(req.get("method"), str):
            self.pending[json.dumps(req["id"])] = (req["method"], not probs)
        # An invalid request is fine (the tests send them on purpose); the daemon's answer
        # to it is what gets checked.

    def sent(self, data):
        """Record what went out: a str/bytes of lines, or one JSON value."""
        if isinstance(data, (bytes, bytearray)):
            data = data.decode("utf-8", "replace")
        if isinstance(data, str):
            for line in data.split("\n"):
                try:
                    v = json.loads(line)
                except ValueError:
                    continue
                if isinstance(v, (dict, list)):
                    self.sent(v)
            return
        for req in (data if isinstance(data, list) else [data]):
            self._one_request(req)

    def received(self, msg):
        if isinstance(msg, list):
            for r in msg:
                self._response(r)
        elif isinstance(msg, dict) and "method" in msg and "id" not in msg:
            self._fail("event", msg, self.schema.check_event(msg))
        else:
            self._response(msg)

    def _response(self, msg):
        method, valid = None, True
        if isinstance(msg, dict) and "id" in msg:
            method, valid = self.pending.pop(json.dumps(msg["id"]), (None, False))
        self._fail("response to %s" % (method or "?"), msg,
                   self.schema.check_response(msg, method, valid))
