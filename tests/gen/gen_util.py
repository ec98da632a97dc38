#!/usr/bin/env python3
"""Generate tests/data/util_cases.json: wsgiref.util behaviour recorded from this machine's
CPython, replayed against the Rust port by tests/util_cpython.rs.

Run from the repository root:  python3 tests/gen/gen_util.py

The output is deterministic (systematic enumeration plus a fixed-seed random part), so running
it again on the same CPython gives the same file.

Format: a JSON array, one case per line. Environ values are "native strings" (code points
U+0000..U+00FF standing for bytes); the file is written with ensure_ascii, so every byte >= 0x80
appears as an unambiguous \\u00XX escape. An environ is a list of [key, value] pairs in insertion
order; the key "wsgi.url_scheme" stands for the Rust environ's typed wsgi group.

Case shapes ("fn" says which):
  guess_scheme            environ -> expect "http" | "https"
  application_uri         environ -> expect {"ok": uri} | {"err": "KeyError", "key": k}
  request_uri             environ, include_query -> same as application_uri
  shift_path_info         environ -> expect: a list of successive shifts, each
                          {"ok": segment | null, "SCRIPT_NAME": v | null, "PATH_INFO": v | null}
                          or {"err": "IndexError"} (the environ is unchanged then); it stops after
                          the first null, error, or 4 shifts
  setup_testing_defaults  environ -> expect {"vars": [[k, v], ...] (CGI keys in order),
                          "url_scheme": scheme}
  is_hop_by_hop           name -> expect bool
"""

import itertools
import json
import os
import random
import sys
from wsgiref import util

SEED = 20240611
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "util_cases.json")

ABSENT = object()


def env_from(pairs):
    """Build an ordered environ from (key, value) pairs, skipping ABSENT values."""
    return {k: v for k, v in pairs if v is not ABSENT}


def env_pairs(environ):
    return [[k, v] for k, v in environ.items()]


def uri_result(fn, *args):
    try:
        return {"ok": fn(*args)}
    except KeyError as e:
        return {"err": "KeyError", "key": e.args[0]}


cases = []


def add(case):
    cases.append(case)


# --- guess_scheme ----------------------------------------------------------------------------
HTTPS_VALUES = [ABSENT, "", "on", "ON", "On", "yes", "YES", "Yes", "1", "0", "true", "off",
                " on", "on ", "no", "2", "11", "01", "y", "o", "\xe9", "on\x00"]
for https in HTTPS_VALUES:
    environ = env_from([("HTTPS", https)])
    add({"fn": "guess_scheme", "environ": env_pairs(environ),
         "expect": util.guess_scheme(environ)})

# --- application_uri / request_uri -----------------------------------------------------------
SCHEMES = ["http", "https", ABSENT]
HOSTS = [ABSENT, "", "example.com:8080", "h\xe9st", "[::1]:80"]
SERVER_NAMES = [ABSENT, "srv", "", "n\xf6de"]
PORTS = [ABSENT, "80", "443", "8080", "", "080", "0443"]
SCRIPT_NAMES = [ABSENT, "", "/", "/app", "/sp\xe4m", "/a b", "/x;y=z,w", "/%41", "//"]
PATH_INFOS = [ABSENT, "", "/", "abc", " x", "%41", "\xe9t\xe9", "/x/y", "/%41", "/;=,",
              "/caf\xe9/\xff", "//", "/?#", "/a+b@c:d!$&'()*", "/~_.-", "/\x00\x7f",
              "/spam;cookie=1234,5678"]
QUERIES = [ABSENT, "", "a=1&b=%20", "s\xe4y=ni", "x y#z"]

# Every host-part combination, with SCRIPT_NAME cycling through its list.
for i, (scheme, host, name, port) in enumerate(
        itertools.product(SCHEMES, HOSTS, SERVER_NAMES, PORTS)):
    environ = env_from([("wsgi.url_scheme", scheme), ("HTTP_HOST", host),
                        ("SERVER_NAME", name), ("SERVER_PORT", port),
                        ("SCRIPT_NAME", SCRIPT_NAMES[i % len(SCRIPT_NAMES)])])
    add({"fn": "application_uri", "environ": env_pairs(environ),
         "expect": uri_result(util.application_uri, environ)})

# Every path/query combination over a few valid host setups.
HOST_SETUPS = [
    [("wsgi.url_scheme", "http"), ("HTTP_HOST", "h")],
    [("wsgi.url_scheme", "https"), ("SERVER_NAME", "s"), ("SERVER_PORT", "8443")],
    [("wsgi.url_scheme", "http"), ("HTTP_HOST", ""), ("SERVER_NAME", "s"),
     ("SERVER_PORT", "80")],
]
for i, (sn, pi, qs) in enumerate(itertools.product(SCRIPT_NAMES, PATH_INFOS, QUERIES)):
    environ = env_from(HOST_SETUPS[i % len(HOST_SETUPS)]
                       + [("SCRIPT_NAME", sn), ("PATH_INFO", pi), ("QUERY_STRING", qs)])
    include_query = (i // len(HOST_SETUPS)) % 2 == 0
    if i % 5 == 0:
        # Some of them also without the query, to pin include_query=False.
        add({"fn": "request_uri", "environ": env_pairs(environ), "include_query": False,
             "expect": uri_result(util.request_uri, environ, False)})
    add({"fn": "request_uri", "environ": env_pairs(environ), "include_query": include_query,
         "expect": uri_result(util.request_uri, environ, include_query)})

rng = random.Random(SEED)
URI_ALPHABET = ["a", "Z", "0", "/", "/", ".", "%", " ", ";", "=", ",", "?", "#", "+", "~",
                "\xe9", "\xff", "\x80", "\x00", "&", ":", "@"]


def random_text(alphabet, max_len):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, max_len)))


for _ in range(150):
    environ = env_from([
        ("wsgi.url_scheme", rng.choice(["http", "https"])),
        ("HTTP_HOST", rng.choice(HOSTS)),
        ("SERVER_NAME", rng.choice(SERVER_NAMES[1:])),
        ("SERVER_PORT", rng.choice(PORTS[1:])),
        ("SCRIPT_NAME", rng.choice([ABSENT, random_text(URI_ALPHABET, 8)])),
        ("PATH_INFO", rng.choice([ABSENT, random_text(URI_ALPHABET, 12)])),
        ("QUERY_STRING", rng.choice([ABSENT, random_text(URI_ALPHABET, 6)])),
    ])
    include_query = rng.random() < 0.7
    add({"fn": "request_uri", "environ": env_pairs(environ), "include_query": include_query,
         "expect": uri_result(util.request_uri, environ, include_query)})

# --- shift_path_info -------------------------------------------------------------------------


def shift_steps(environ):
    steps = []
    for _ in range(4):
        try:
            name = util.shift_path_info(environ)
        except IndexError:
            steps.append({"err": "IndexError"})
            break
        steps.append({"ok": name, "SCRIPT_NAME": environ.get("SCRIPT_NAME"),
                      "PATH_INFO": environ.get("PATH_INFO")})
        if name is None:
            break
    return steps


SHIFT_SCRIPT_NAMES = [ABSENT, "", "/", "/a", "/a/b", "//a", "a", "/s/", "///", "/a/..", ".."]
SHIFT_PATH_INFOS = [ABSENT, "", "/", "//", "///", "/x", "/x/", "/x/y", "/x//y/", "/.", "/..",
                    "/./y", "/../y", "//y", "//y/", "/./y/", "///./..//y/.//", "/.//", "/x//",
                    "abc", "a/b/c", "./x", "../x", "/%2e%2e/x", "/\xe9/\xff", "/a b/c",
                    "/../..", "/x/../y", "/.../y", "/y/.", "/y/..", "x/"]
for sn, pi in itertools.product(SHIFT_SCRIPT_NAMES, SHIFT_PATH_INFOS):
    environ = env_from([("SCRIPT_NAME", sn), ("PATH_INFO", pi)])
    before = env_pairs(environ)
    add({"fn": "shift_path_info", "environ": before, "expect": shift_steps(environ)})

SEGMENTS = ["", "", ".", "..", "a", "bc", "\xe9", "%2F", "x y", "..."]
for _ in range(200):
    def random_path():
        parts = [rng.choice(SEGMENTS) for _ in range(rng.randint(1, 6))]
        return "/".join(parts)
    environ = env_from([("SCRIPT_NAME", rng.choice([ABSENT, random_path()])),
                        ("PATH_INFO", random_path())])
    before = env_pairs(environ)
    add({"fn": "shift_path_info", "environ": before, "expect": shift_steps(environ)})

# --- setup_testing_defaults ------------------------------------------------------------------
DEFAULT_KEYS = [
    ("SERVER_NAME", ["example.org", ""]),
    ("SERVER_PROTOCOL", ["HTTP/1.1"]),
    ("HTTP_HOST", ["host:81", ""]),
    ("REQUEST_METHOD", ["POST"]),
    ("SCRIPT_NAME", ["/app", ""]),
    ("PATH_INFO", ["/p", ""]),
    ("SERVER_PORT", ["8000"]),
    ("HTTPS", ["on", "1", "yes", "off", "ON"]),
    ("wsgi.url_scheme", ["http", "https"]),
]
for mask in range(1 << len(DEFAULT_KEYS)):
    pairs = []
    for bit, (key, values) in enumerate(DEFAULT_KEYS):
        if mask >> bit & 1:
            pairs.append((key, values[(mask >> 3) % len(values)]))
    # A seeded shuffle for some, so insertion order is exercised too.
    if mask % 3 == 0:
        rng.shuffle(pairs)
    pairs.append(("X_EXTRA", "keep\xe9"))
    environ = env_from(pairs)
    before = env_pairs(environ)
    util.setup_testing_defaults(environ)
    add({"fn": "setup_testing_defaults", "environ": before,
         "expect": {"vars": [[k, v] for k, v in environ.items() if not k.startswith("wsgi.")],
                    "url_scheme": environ["wsgi.url_scheme"]}})

# --- is_hop_by_hop ---------------------------------------------------------------------------
HOP_NAMES = ["Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE",
             "Trailers", "Transfer-Encoding", "Upgrade"]
OTHER_NAMES = ["Accept", "Cache-Control", "Date", "Pragma", "Trailer", "Via", "Warning",
               "Proxy-Connection", "Content-Length", "Content-Type", "Keep_Alive", "T", "TEE",
               "Upgrades", ""]
names = []
for name in HOP_NAMES + OTHER_NAMES:
    names += [name, name.title(), name.upper(), name.lower(), name.swapcase(),
              " " + name, name + " ", name + "\t"]
names += ["\u212aeep-Alive", "\u212aEEP-ALIVE", "T\u212a", "\u0130", "TE\u0130",
          "Upgr\u0430de", "CONNECTION\u0307", "\xe9", "Connectio\u0131"]
for name in dict.fromkeys(names):
    add({"fn": "is_hop_by_hop", "name": name, "expect": util.is_hop_by_hop(name)})

with open(OUT, "w", encoding="ascii", newline="\n") as f:
    f.write("[\n")
    f.write(",\n".join(json.dumps(c, ensure_ascii=True) for c in cases))
    f.write("\n]\n")

counts = {}
for c in cases:
    counts[c["fn"]] = counts.get(c["fn"], 0) + 1
print(f"{len(cases)} cases from CPython {sys.version.split()[0]}: {counts}", file=sys.stderr)
