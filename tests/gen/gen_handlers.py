#!/usr/bin/env python3
"""Generate tests/data/handler_cases.json: scripted applications run under CPython's own
wsgiref.handlers.BaseCGIHandler and SimpleHandler, with the bytes they wrote. Replayed against
the Rust handlers by tests/handlers_cpython.rs.

Run from the repository root:  python3 tests/gen/gen_handlers.py

The output is deterministic (systematic enumeration plus a fixed-seed random part; the Date
header is pinned by replacing wsgiref.handlers.format_date_time), so running it again on the
same CPython gives the same file.

Strings holding bytes (body data, stdout) are "native strings": code points U+0000..U+00FF
standing for bytes, written with ensure_ascii so every byte >= 0x80 is an explicit \\u00XX.

A case:
  name          a short description
  handler       "cgi" (BaseCGIHandler) | "simple" (SimpleHandler)
  config        {"origin_server": bool, "http_version": "1.0"|"1.1",
                 "server_software": null | "FooBar/1.0"}; set on the handler instance
  environ       [[key, value], ...] given to setup_testing_defaults, which fills in the rest
  script        the application, a list of actions run in order (see below)
  categories    what the case exercises (the Rust test counts them)
  differences   documented deliberate differences of the Rust handlers the case runs into;
                the Rust test turns CPython's bytes into the expected Rust bytes for each
  expect        {"stdout": bytes, "error_logged": bool, "error_message": str | null,
                 "error_kind": str | null (CPython's exception class, for contract messages),
                 "closed": number of close() calls on the returned body,
                 "head": null | {"status": str, "auto_content_length": bool,
                                 "app_content_length": str | null}}
                head describes the response head CPython sent (null when none was sent);
                auto_content_length: the handler, not the application, set Content-Length;
                app_content_length: the application's own Content-Length value, if any.
                error_message is the exception text when it comes from the script itself or
                from a start_response / write() contract check (null for Python-internal
                failures whose wording is Python's own).

Actions (both sides interpret them the same way):
  {"op": "start", "status": s, "headers": [[n, v], ...]}   start_response(s, headers)
  {"op": "start_exc", "status": s, "headers": [...], "message": m}
        start_response(s, headers, exc_info) while handling RuntimeError(m)
  {"op": "write", "data": bytes}                            the legacy write(data)
  {"op": "raise", "message": m}                             raise RuntimeError(m)
  {"op": "return", "body": body}                            return the body, ending the script
A script that ends without "return" returns an empty body.

Bodies (every one counts close() calls):
  {"kind": "single", "data": bytes}       Python: a one-element list. Rust: exact length.
  {"kind": "sized", "data": [bytes, ...]} Python: a list of 2+ elements (no Content-Length).
                                          Rust: several chunks of exact total length.
  {"kind": "chunks", "data": [bytes, ...], "raise_at": k | null, "message": m}
        Python: a generator; Rust: unknown length. With raise_at, asking for chunk k (0-based)
        raises RuntimeError(m) instead.
  {"kind": "empty"}                       Python: []; Rust: an empty body of length 0.
  {"kind": "env", "keys": [k, ...]}       one chunk "k=value\\n" per key ("k absent\\n" when
                                          missing); wsgi.* flags print as Python's str().

Difference names (the framing rules in the module docs of core/src/handler/response.rs):
  exact_length      rule 3: a "sized" body gets Content-Length in Rust (CPython: only for a
                    one-element list)
  no_body_status    rules 3 and 5: 1xx/204/304 get no automatic Content-Length and no body
                    bytes in Rust
  head_no_body      rule 5: HEAD gets the head only in Rust
  length_exceeded   rule 7: Rust never sends more body bytes than the application's own
                    Content-Length, and logs the overrun

Cases the generator avoids: non-bytes body chunks and non-str headers (ruled out by Rust's
types), non-ASCII status or header text, and control characters in them (CPython 3.11 does
not check those yet; newer CPython and the Rust port refuse them).
"""

import io
import json
import os
import random
import sys
import traceback
from wsgiref import handlers, util

SEED = 20240612
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                   "handler_cases.json")

# The Date every origin response carries: CPython's own formatting of a fixed instant
# (the Rust side uses HttpDate::from_unix with the same number).
FIXED_TIME = 1149533394
FIXED_DATE = handlers.format_date_time(FIXED_TIME)
handlers.format_date_time = lambda _now: FIXED_DATE

# Messages whose wording both sides share: the script's own, and start_response's checks.
CONTRACT_MESSAGES = (
    "Headers already set!",
    "write() before start_response()",
    "Status must be at least 4 characters",
    "Status message must begin w/3-digit code",
    "Status message must have a space after code",
)


def b(text):
    """A native string (code points < 256) as bytes."""
    return text.encode("latin-1")


def native(data):
    return data.decode("latin-1")


class Tracked(list):
    """A list body whose close() calls are counted."""

    def __init__(self, items, closes):
        super().__init__(items)
        self._closes = closes

    def close(self):
        self._closes[0] += 1


class TrackedGen:
    """A generator-like body (no len()) that may raise at chunk k; close() is counted."""

    def __init__(self, items, raise_at, message, closes):
        self._items = items
        self._raise_at = raise_at
        self._message = message
        self._closes = closes
        self._next = 0

    def __iter__(self):
        return self

    def __next__(self):
        if self._raise_at is not None and self._next == self._raise_at:
            raise RuntimeError(self._message)
        if self._next >= len(self._items):
            raise StopIteration
        self._next += 1
        return self._items[self._next - 1]

    def close(self):
        self._closes[0] += 1


def env_value(environ, key):
    if key not in environ:
        return b(key + " absent\n")
    value = environ[key]
    if not isinstance(value, str):
        value = str(value)
    return b(key + "=" + value + "\n")


def make_body(spec, environ, closes):
    kind = spec["kind"]
    if kind == "single":
        return Tracked([b(spec["data"])], closes)
    if kind == "sized":
        assert len(spec["data"]) >= 2
        return Tracked([b(d) for d in spec["data"]], closes)
    if kind == "chunks":
        return TrackedGen([b(d) for d in spec["data"]], spec.get("raise_at"),
                          spec.get("message", ""), closes)
    if kind == "empty":
        return Tracked([], closes)
    if kind == "env":
        return Tracked([b"".join(env_value(environ, k) for k in spec["keys"])], closes)
    raise ValueError(kind)


def make_app(script, closes):
    def app(environ, start_response):
        for action in script:
            op = action["op"]
            headers = [tuple(h) for h in action.get("headers", [])]
            if op == "start":
                start_response(action["status"], headers)
            elif op == "start_exc":
                try:
                    raise RuntimeError(action["message"])
                except RuntimeError:
                    start_response(action["status"], headers, sys.exc_info())
            elif op == "write":
                app.writer(b(action["data"]))
            elif op == "raise":
                raise RuntimeError(action["message"])
            elif op == "return":
                return make_body(action["body"], environ, closes)
            else:
                raise ValueError(op)
        return Tracked([], closes)
    return app


def traced(base):
    """A handler class recording what the Rust side needs to know about the head it sent."""

    class Traced(base):
        head = None
        app_headers = None

        def start_response(self, status, headers, exc_info=None):
            # Record before CPython validates anything (it stores before it checks, too).
            self.app_headers = [h[0].lower() for h in headers]
            return super().start_response(status, headers, exc_info)

        def send_headers(self):
            super().send_headers()
            app_length = "content-length" in (self.app_headers or [])
            auto = "Content-Length" in self.headers and not app_length
            self.head = {"status": self.status, "auto_content_length": auto,
                         "app_content_length": self.headers["Content-Length"]
                         if app_length else None}

    return Traced


def run_case(case):
    environ = dict(case["environ"])
    util.setup_testing_defaults(environ)
    stdout = io.BytesIO()
    stderr = io.StringIO()
    cls = traced(handlers.BaseCGIHandler if case["handler"] == "cgi" else handlers.SimpleHandler)
    handler = cls(io.BytesIO(b""), stdout, stderr, environ)
    handler.os_environ = {}  # not this process's environment
    config = case["config"]
    handler.origin_server = config["origin_server"]
    handler.http_version = config["http_version"]
    handler.server_software = config["server_software"]
    closes = [0]
    app = make_app(case["script"], closes)
    # The legacy write() is the bound method start_response returns; the script's "write"
    # action calls it through the handler, which is the same object.
    app.writer = lambda data: handler.write(data)
    handler.run(app)
    log = stderr.getvalue()
    message = None
    error_kind = None
    if log:
        last = log.rstrip("\n").splitlines()[-1]
        kind, _, text = last.partition(": ")
        if kind == "RuntimeError" or text in CONTRACT_MESSAGES:
            message = text
        if text in CONTRACT_MESSAGES:
            # The exception class CPython names for a contract violation: the Rust log line
            # must start with the same name.
            error_kind = kind
    case["expect"] = {
        "stdout": native(stdout.getvalue()),
        "error_logged": bool(log),
        "error_message": message,
        "error_kind": error_kind,
        "closed": closes[0],
        "head": handler.head,
    }
    return case


# --- building cases --------------------------------------------------------------------------

CGI = {"origin_server": False, "http_version": "1.0", "server_software": None}
ORIGIN = {"origin_server": True, "http_version": "1.0", "server_software": None}
ORIGIN_11 = {"origin_server": True, "http_version": "1.1", "server_software": "FooBar/1.0"}
FRAMINGS = [("cgi", CGI), ("simple", ORIGIN), ("simple", ORIGIN_11)]

cases = []


def start(status="200 OK", headers=()):
    return {"op": "start", "status": status, "headers": [list(h) for h in headers]}


def start_exc(status, headers=(), message="handled"):
    return {"op": "start_exc", "status": status, "headers": [list(h) for h in headers],
            "message": message}


def write(data):
    return {"op": "write", "data": data}


def fail(message):
    return {"op": "raise", "message": message}


def ret(body):
    return {"op": "return", "body": body}


def single(data):
    return {"kind": "single", "data": data}


def sized(*data):
    return {"kind": "sized", "data": list(data)}


def chunks(*data, raise_at=None, message="generator failed"):
    body = {"kind": "chunks", "data": list(data)}
    if raise_at is not None:
        body["raise_at"] = raise_at
        body["message"] = message
    return body


EMPTY = {"kind": "empty"}
TEXT = [("Content-Type", "text/plain")]


def add(name, handler, config, script, environ=()):
    cases.append({"name": name, "handler": handler, "config": dict(config),
                  "environ": [list(p) for p in environ], "script": script})


# Systematic part: each shape under each framing, then under HEAD, HTTP/0.9 and 1.1.
SHAPES = [
    ("plain single", [start("200 OK", TEXT), ret(single("Hello, world!"))]),
    ("plain empty single", [start("200 OK", TEXT), ret(single(""))]),
    ("empty list", [start("200 OK"), ret(EMPTY)]),
    ("no return value", [start("200 OK")]),
    ("sized list", [start("200 OK", TEXT), ret(sized("ab", "cd", "e"))]),
    ("generator", [start("200 OK", TEXT), ret(chunks("ab", "", "cde"))]),
    ("empty generator", [start("200 OK"), ret(chunks())]),
    ("generator of one empty chunk", [start("200 OK"), ret(chunks(""))]),
    ("many chunks", [start("200 OK", TEXT), ret(chunks(*[f"chunk{i};" for i in range(40)]))]),
    ("many sized chunks", [start("200 OK"), ret(sized(*["x" * i for i in range(1, 30)]))]),
    ("write then empty", [start("200 OK"), write("written"), ret(EMPTY)]),
    ("write then body", [start("200 OK"), write("a"), write(""), ret(single("b"))]),
    ("write then generator", [start("200 OK"), write("a"), ret(chunks("b", "c"))]),
    ("app content-length", [start("200 OK", [("Content-Length", "5")]), ret(single("12345"))]),
    ("app content-length short body",
     [start("200 OK", [("Content-Length", "9")]), ret(chunks("12", "34"))]),
    ("app content-length long body",
     [start("200 OK", [("Content-Length", "3")]), ret(single("12345"))]),
    ("app content-length exceeded by write",
     [start("200 OK", [("Content-Length", "2")]), write("abc"), ret(EMPTY)]),
    ("app content-length exceeded by chunks",
     [start("200 OK", [("Content-Length", "4")]), ret(chunks("ab", "cd", "ef"))]),
    ("error before start", [fail("before start")]),
    ("error after start", [start("200 OK", TEXT), fail("after start")]),
    ("error after write", [start("200 OK"), write("partial"), fail("after write")]),
    ("error at first chunk", [start("200 OK"), ret(chunks("a", raise_at=0))]),
    ("error at third chunk", [start("200 OK"), ret(chunks("a", "b", "c", raise_at=2))]),
    ("exc_info replaces", [start("200 OK", [("X-App", "1")]),
                           start_exc("500 Oops", [("X-Err", "1")]), ret(single("err"))]),
    ("exc_info first", [start_exc("503 Busy", TEXT), ret(single("busy"))]),
    ("exc_info after write", [start("200 OK"), write("partial"), start_exc("500 Oops")]),
    ("start twice", [start("200 OK"), start("404 Not Found"), ret(single("x"))]),
    ("bad status", [start("200OK"), ret(EMPTY)]),
    ("short status", [start("200"), ret(EMPTY)]),
    ("hop-by-hop header", [start("200 OK", [("Connection", "close")]), ret(EMPTY)]),
    ("write before start", [write("early")]),
    ("body without start", [ret(single("x"))]),
    ("204", [start("204 No Content"), ret(EMPTY)]),
    ("204 with body", [start("204 No Content"), ret(single("oops"))]),
    ("304", [start("304 Not Modified", [("ETag", '"x"')]), ret(chunks())]),
    ("304 with generator body", [start("304 Not Modified"), ret(chunks("a", "b"))]),
    ("app date and server", [start("200 OK", [("Date", "Tue, 01 Jan 2030 00:00:00 GMT"),
                                              ("Server", "App/2")]), ret(single("d"))]),
    ("environ echo", [start("200 OK"), ret({"kind": "env", "keys": [
        "REQUEST_METHOD", "SERVER_PROTOCOL", "PATH_INFO", "SERVER_SOFTWARE", "HTTPS",
        "wsgi.url_scheme", "wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once"]})]),
]

for name, script in SHAPES:
    for handler, config in FRAMINGS:
        add(name, handler, config, script)

# HEAD, HTTP/0.9 and HTTP/1.1 requests, under both framings.
for name, script in SHAPES:
    for environ in ([("REQUEST_METHOD", "HEAD")], [("SERVER_PROTOCOL", "HTTP/0.9")],
                    [("SERVER_PROTOCOL", "HTTP/1.1"), ("HTTPS", "on")]):
        for handler, config in (("cgi", CGI), ("simple", ORIGIN_11)):
            add(name, handler, config, script, environ)

# Other statuses without a body, and a few settings combinations.
for status in ("100 Continue", "101 Switching Protocols", "199 Odd", "204 No Content",
               "304 Not Modified", "205 Reset Content"):
    for handler, config in (("cgi", CGI), ("simple", ORIGIN)):
        add(f"status {status}", handler, config, [start(status), ret(single("xy"))])
        add(f"status {status} written", handler, config,
            [start(status), write("w"), ret(EMPTY)])
for software in (None, "FooBar/1.0", ""):
    for version in ("1.0", "1.1"):
        config = {"origin_server": True, "http_version": version, "server_software": software}
        add("settings", "simple", config, [start("200 OK"), ret(single("s"))])
        add("settings echo", "simple", config,
            [start("200 OK"), ret({"kind": "env", "keys": ["SERVER_SOFTWARE"]})],
            [("SERVER_PROTOCOL", "HTTP/1.1")])
add("simple handler with cgi framing", "simple", CGI, [start("200 OK"), ret(single("c"))])
add("protocol lower case", "simple", ORIGIN, [start("200 OK"), ret(single("x"))],
    [("SERVER_PROTOCOL", "http/0.9")])

# Random part: scripts drawn from a small grammar with a fixed seed.
rng = random.Random(SEED)
STATUSES = ["200 OK", "201 Created", "404 Not Found", "500 Oops", "204 No Content",
            "304 Not Modified", "302 Found", "200 Fine thanks"]
HEADER_POOL = [("Content-Type", "text/html"), ("X-Thing", "a b"), ("Set-Cookie", "k=v"),
               ("Content-Length", "3"), ("ETag", '"e"'), ("Location", "/there"),
               ("Date", "Sat, 01 Jan 2000 00:00:00 GMT"), ("Server", "Mine")]
ENVIRONS = [[], [("REQUEST_METHOD", "HEAD")], [("SERVER_PROTOCOL", "HTTP/0.9")],
            [("SERVER_PROTOCOL", "HTTP/1.1")], [("REQUEST_METHOD", "POST"), ("HTTPS", "1")],
            [("PATH_INFO", "/caf\xe9"), ("SCRIPT_NAME", "/app")]]


def random_data():
    n = rng.choice([0, 1, 3, 10, 100, 700])
    return "".join(chr(rng.randrange(256)) for _ in range(n))


def random_body():
    kind = rng.choice(["single", "sized", "chunks", "chunks", "empty", "env"])
    if kind == "single":
        return single(random_data())
    if kind == "sized":
        return sized(*[random_data() for _ in range(rng.randrange(2, 6))])
    if kind == "chunks":
        data = [random_data() for _ in range(rng.randrange(0, 12))]
        raise_at = rng.choice([None, None, None, 0, len(data) // 2])
        return chunks(*data, raise_at=raise_at, message=f"chunk failure {rng.randrange(100)}")
    if kind == "empty":
        return EMPTY
    return {"kind": "env", "keys": rng.sample(["REQUEST_METHOD", "SERVER_PROTOCOL",
                                                "PATH_INFO", "SCRIPT_NAME", "wsgi.url_scheme",
                                                "SERVER_SOFTWARE", "HTTP_HOST"], 3)}


def random_script():
    script = []
    started = False
    for _ in range(rng.randrange(0, 5)):
        roll = rng.random()
        headers = rng.sample(HEADER_POOL, rng.randrange(0, 3))
        if roll < 0.35 and not started:
            script.append(start(rng.choice(STATUSES), headers))
            started = True
        elif roll < 0.45:
            script.append(start_exc(rng.choice(STATUSES), headers,
                                    f"handled {rng.randrange(100)}"))
            started = True
        elif roll < 0.75 and started:
            script.append(write(random_data()))
        elif roll < 0.8:
            script.append(fail(f"random failure {rng.randrange(100)}"))
            return script
        elif not started:
            script.append(start(rng.choice(STATUSES), headers))
            started = True
    if rng.random() < 0.9:
        script.append(ret(random_body()))
    return script


for i in range(160):
    handler = rng.choice(["cgi", "simple", "simple"])
    if handler == "cgi":
        config = dict(CGI)
    else:
        config = {"origin_server": rng.random() < 0.9,
                  "http_version": rng.choice(["1.0", "1.1"]),
                  "server_software": rng.choice([None, "FooBar/1.0"])}
    add(f"random {i}", handler, config, random_script(), rng.choice(ENVIRONS))


# --- running and classifying -----------------------------------------------------------------

def status_code(status):
    return int(status[:3])


def no_body_code(code):
    return code < 200 or code in (204, 304)


def classify(case):
    """Fill in categories and the deliberate differences (see the module docs)."""
    expect = case["expect"]
    script = case["script"]
    environ = dict(case["environ"])
    method = environ.get("REQUEST_METHOD", "GET")
    http09 = environ.get("SERVER_PROTOCOL", "HTTP/1.0").upper() == "HTTP/0.9"
    origin = case["config"]["origin_server"]
    head = expect["head"]
    ops = [a["op"] for a in script]
    body = script[-1]["body"] if ops and ops[-1] == "return" else None
    categories = ["origin_framing" if origin else "cgi_framing"]
    differences = []

    if not expect["error_logged"] and ops == ["start", "return"] \
            and body["kind"] in ("single", "env"):
        categories.append("plain")
    if "write" in ops:
        categories.append("write")
    if "start_exc" in ops:
        categories.append("exc_info")
    if method == "HEAD":
        categories.append("head")
    if http09:
        categories.append("http09")
    if body is not None and (body["kind"] == "empty" or body.get("data") in ("", [])):
        categories.append("empty")
    if body is not None and body["kind"] in ("chunks", "sized") and len(body["data"]) >= 3:
        categories.append("many_chunks")
    if expect["error_logged"]:
        # The error page carries error_status; a truncated response does not.
        error_page = head is not None and head["status"] == "500 Internal Server Error" \
            and ("500 Internal Server Error" not in [a.get("status") for a in script])
        if error_page or (head is None and expect["stdout"] == ""):
            categories.append("error_before_output")
        elif http09 and origin:
            # No head to look at: the error page body tells.
            if expect["stdout"].endswith(native(handlers.BaseHandler.error_body)):
                categories.append("error_before_output")
            else:
                categories.append("error_after_output")
        else:
            categories.append("error_after_output")

    # Differences. The response the Rust handler frames is the one whose head CPython sent.
    bare09 = http09 and origin  # no head at all: the Rust handler passes bytes through
    if head is not None and not bare09:
        code = status_code(head["status"])
        app_response = "error_before_output" not in categories
        if no_body_code(code):
            categories.append("no_body_status")
            differences.append("no_body_status")
        elif method == "HEAD":
            differences.append("head_no_body")
        declared = head["app_content_length"]
        if app_response and body is not None and body["kind"] == "sized" \
                and "write" not in ops and not no_body_code(code) \
                and not head["auto_content_length"] and declared is None:
            differences.append("exact_length")
        if declared is not None and declared.isascii() and declared.isdigit() \
                and not no_body_code(code) and method != "HEAD":
            sent = len(expect["stdout"]) - expect["stdout"].index("\r\n\r\n") - 4
            if sent > int(declared):
                differences.append("length_exceeded")
    case["categories"] = categories
    case["differences"] = differences
    return case


for case in cases:
    run_case(case)
    classify(case)

with open(OUT, "w", encoding="ascii", newline="\n") as f:
    f.write("[\n")
    f.write(",\n".join(json.dumps(c, ensure_ascii=True) for c in cases))
    f.write("\n]\n")

counts = {}
for c in cases:
    for cat in c["categories"] + c["differences"]:
        counts[cat] = counts.get(cat, 0) + 1
print(f"{len(cases)} cases from CPython {sys.version.split()[0]}: "
      f"{dict(sorted(counts.items()))}", file=sys.stderr)
