#!/usr/bin/env python3
"""Differential test data for `wsgiref_core::headers::Headers`.

Runs seeded random sequences of header operations through CPython's own
`wsgiref.headers.Headers` and records, after every step, what the operation
returned and the full list of entries. `tests/headers_cpython.rs` replays the
same sequences through the Rust API and compares step by step.

Usage (from the repository root):

    python3 tests/gen/gen_headers.py > tests/data/headers_sequences.json

The output is deterministic for a given seed and CPython version: rerunning it
must give a byte-identical file (`git diff` is the check).

Which CPython
-------------
The oracle is the local interpreter (3.11). The newest CPython (gh-143916,
backported to the 3.10+ security branches) refuses control characters with
`ValueError("Control characters not allowed in headers")`; we follow the newest,
so this script emulates that check *before* handing an operation to 3.11:

* names (header names, looked-up names, add_header parameter names):
  U+0000-U+001F and U+007F are refused;
* values (header values, add_header's value and parameter values):
  the same minus TAB.

The emulation follows the newest `headers.py` call order exactly, including the
places where it has side effects before raising (see "deviations").

Deviations
----------
Where the Rust port deliberately differs from the newest CPython, the step
carries `"deviation": "<reason>"` plus the result or entries the Rust port must
produce (`rust_result`, `rust_items`). The Rust replay accepts only the reasons
listed here:

* `set-atomic`: `h[name] = value` with a bad value deletes the existing
  entries and *then* raises in CPython; the Rust `set` checks first and changes
  nothing on error. The sequence ends at such a step, because the two states
  differ from there on.
* `lookup-infallible`: CPython raises ValueError for a control character in a
  name given to `get`/`get_all`/`in`/`del`; the Rust lookups cannot fail and
  report "not found" (no such name can ever be stored, so the answer is true).
* `utf8-wire`: `bytes(h)` encodes ISO-8859-1 in CPython (and raises
  UnicodeEncodeError above U+00FF); the Rust `write_to` writes the UTF-8 of the
  same text. The Rust expectation is computed here from CPython's `str(h)`.

Strings are restricted to what a Rust `&str` can carry (no lone surrogates) and
to characters whose lower-case mapping is the same in CPython 3.11's Unicode
tables and Rust's. GREEK CAPITAL SIGMA is left out on purpose: `str.lower()`
applies the final-sigma rule, which per-character lower-casing cannot; that
difference has its own test in `tests/headers_wsgiref.rs`.
"""

import json
import random
import re
import sys
from wsgiref.headers import Headers

SEED = 0x5EED_4EAD
SEQUENCES = 260
MIN_OPS, MAX_OPS = 3, 15

NAME_CTL = re.compile(r"[\x00-\x1F\x7F]")
VALUE_CTL = re.compile(r"[\x00-\x08\x0A-\x1F\x7F]")

# Header names: mixed-case variants are made at random from these.
BASE_NAMES = [
    "Content-Type", "Content-Disposition", "Set-Cookie", "X-Foo", "Foo",
    "a", "Cache-Control", "Vary", "X-Under_Score", "", "k-key", "i\u0307d",
    "\u00c9-Tag", "\u00e9-tag", "Stra\u00dfe", "\u00e5",
]
# Names beyond latin-1 whose lower-case forms meet ASCII or each other (KELVIN SIGN
# -> k, U+0130 -> "i" + U+0307, OHM SIGN -> omega, ...). Rarer, because bytes(h)
# cannot encode them.
WIDE_NAMES = [
    "STRA\u1e9eE", "\u212a-Key", "\u0130d", "\u2126-Unit", "\u03c9-unit",
    "\u212b", "\u01c5x", "\u65e5\u672c",
]
CTL_NAMES = ["X-Foo\r\n", "Bad\x00Name", "Tab\tName", "Del\x7f", "\x1b[1m", "\nLead"]

VALUES = [
    "", "text/plain", "text/html; charset=utf-8", "a b", " leading", "trailing ",
    'q"uote', "back\\slash", "tab\tinside", "\t", "caf\u00e9", "na\u00efve \u00ff",
    "nel\u0085", "a;b=c", "x,y", "=", ":", "\u00a0nbsp",
]
# Values beyond latin-1 (bytes(h) raises on them in CPython). Rarer for the same reason.
WIDE_VALUES = ["\u20acuro", "\u65e5\u672c\u8a9e", "ls\u2028", "\U0001f600"]
WIDE_RATE = 0.04
CTL_VALUES = ["a\r\nInjected: 1", "\x00", "bell\x07", "\x7f", "line\nfeed", "\x1b[31m", "cr\r"]

PARAM_NAMES = [
    "filename", "max_age", "_lead", "trail_", "a_b_c", "", "a b", "x-y",
    "Charset", "q\"k", "caf\u00e9",
]
CTL_PARAM_NAMES = ["tab\tname", "c\nr", "nul\x00"]
PARAM_VALUES = [
    None, None, "", "bud.gif", 'say "hi"', "back\\slash", 'both\\"', "tab\tok",
    "plain", "\u00e9t\u00e9", "\u20ac",
]
CTL_PARAM_VALUES = ["a\rb", "\x1f"]

CTL_RATE = 0.07


def mixed_case(rng, s):
    """Flip the case of ASCII letters at random (non-ASCII is kept as is, because
    str.upper() of e.g. U+00DF gives two letters)."""
    out = []
    for c in s:
        if c.isascii() and c.isalpha():
            r = rng.random()
            c = c.upper() if r < 0.35 else c.lower() if r < 0.7 else c
        out.append(c)
    return "".join(out)


def pick_name(rng, h, allow_ctl=True):
    if allow_ctl and rng.random() < CTL_RATE:
        return rng.choice(CTL_NAMES)
    # Prefer names already present, so lookups, deletes and duplicates happen.
    if h is not None and len(h) and rng.random() < 0.5:
        return mixed_case(rng, rng.choice(h.keys()))
    if rng.random() < WIDE_RATE:
        return mixed_case(rng, rng.choice(WIDE_NAMES))
    return mixed_case(rng, rng.choice(BASE_NAMES))


def pick_value(rng, allow_ctl=True):
    if allow_ctl and rng.random() < CTL_RATE:
        return rng.choice(CTL_VALUES)
    if rng.random() < WIDE_RATE:
        return rng.choice(WIDE_VALUES)
    return rng.choice(VALUES)


def pick_params(rng):
    params = {}
    for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
        if rng.random() < CTL_RATE:
            k = rng.choice(CTL_PARAM_NAMES)
        else:
            k = rng.choice(PARAM_NAMES)
        if rng.random() < CTL_RATE:
            v = rng.choice(CTL_PARAM_VALUES)
        else:
            v = rng.choice(PARAM_VALUES)
        params[k] = v  # a dict, like Python keyword arguments: keys are unique
    return params


def bad_name(s):
    return NAME_CTL.search(s) is not None


def bad_value(s):
    return VALUE_CTL.search(s) is not None


def ok(v):
    return {"ok": v}


VALUE_ERROR = {"err": "ValueError"}


def pairs(h):
    return [list(kv) for kv in h.items()]


def wire_utf8_hex(h):
    return str(h).encode("utf-8").hex()


def run_step(rng, h, op):
    """Apply `op` to `h` with the newest CPython's checks; return (h, record)."""
    kind = op["op"]
    rec = {"op": op}
    before = pairs(h) if h is not None else []

    if kind == "construct":
        lst = [tuple(p) for p in op["pairs"]]
        # Newest CPython checks each pair in debug mode; a failed constructor
        # leaves no object, and the sequence goes on with an empty Headers.
        if any(bad_name(k) or bad_value(v) for k, v in lst):
            h, rec["result"] = Headers(), VALUE_ERROR
        else:
            h, rec["result"] = Headers(lst), ok(None)
    elif kind == "set":
        name, value = op["name"], op["value"]
        if bad_name(name):
            rec["result"] = VALUE_ERROR  # raised by the delete, before any change
        elif bad_value(value):
            # Newest CPython: `del self[name]` runs, then the append's check raises.
            del h[name]
            rec["result"] = VALUE_ERROR
            if pairs(h) != before:
                rec["deviation"] = "set-atomic"
                rec["rust_items"] = before
        else:
            h[name] = value
            rec["result"] = ok(None)
    elif kind == "del":
        name = op["name"]
        if bad_name(name):
            rec["result"] = VALUE_ERROR
            rec["deviation"] = "lookup-infallible"
            rec["rust_result"] = ok(0)
        else:
            n = len(h)
            del h[name]
            # Python returns None; Rust's `remove` returns how many entries went,
            # which is the drop in len(h).
            rec["result"] = ok(n - len(h))
    elif kind in ("get", "get_all", "in"):
        name = op["name"]
        if bad_name(name):
            rec["result"] = VALUE_ERROR
            rec["deviation"] = "lookup-infallible"
            rec["rust_result"] = ok({"get": None, "get_all": [], "in": False}[kind])
        elif kind == "get":
            rec["result"] = ok(h.get(name))
        elif kind == "get_all":
            rec["result"] = ok(h.get_all(name))
        else:
            rec["result"] = ok(name in h)
    elif kind == "setdefault":
        name, value = op["name"], op["value"]
        if bad_name(name):
            rec["result"] = VALUE_ERROR  # from the get()
        elif h.get(name) is None and bad_value(value):
            rec["result"] = VALUE_ERROR
        else:
            rec["result"] = ok(h.setdefault(name, value))
    elif kind == "add_header":
        name, value, params = op["name"], op["value"], op["params"]
        bad = (value is not None and bad_value(value)) or any(
            bad_name(k) or (v is not None and bad_value(v)) for k, v in params
        ) or bad_name(name)
        if bad:
            rec["result"] = VALUE_ERROR
        else:
            h.add_header(name, value, **dict(params))
            rec["result"] = ok(None)
    elif kind == "len":
        rec["result"] = ok(len(h))
    elif kind == "keys":
        rec["result"] = ok(h.keys())
    elif kind == "values":
        rec["result"] = ok(h.values())
    elif kind == "items":
        rec["result"] = ok(pairs(h))
    elif kind == "str":
        rec["result"] = ok(str(h))
    elif kind == "bytes":
        try:
            rec["result"] = ok(bytes(h).hex())
            if not str(h).isascii():
                rec["deviation"] = "utf8-wire"
                rec["rust_result"] = ok(wire_utf8_hex(h))
        except UnicodeEncodeError:
            rec["result"] = {"err": "UnicodeEncodeError"}
            rec["deviation"] = "utf8-wire"
            rec["rust_result"] = ok(wire_utf8_hex(h))
    else:
        raise AssertionError(kind)

    rec["items"] = pairs(h)
    return h, rec


OP_WEIGHTS = [
    ("set", 14), ("del", 7), ("setdefault", 8), ("add_header", 12), ("get", 8),
    ("get_all", 6), ("in", 5), ("len", 3), ("keys", 3), ("values", 3),
    ("items", 3), ("str", 5), ("bytes", 5),
]


def make_op(rng, h):
    kind = rng.choices([k for k, _ in OP_WEIGHTS], [w for _, w in OP_WEIGHTS])[0]
    if kind == "set" or kind == "setdefault":
        return {"op": kind, "name": pick_name(rng, h), "value": pick_value(rng)}
    if kind in ("del", "get", "get_all", "in"):
        return {"op": kind, "name": pick_name(rng, h)}
    if kind == "add_header":
        value = None if rng.random() < 0.25 else pick_value(rng)
        params = [[k, v] for k, v in pick_params(rng).items()]
        return {"op": kind, "name": pick_name(rng, h), "value": value, "params": params}
    return {"op": kind}


def make_construct(rng):
    lst = []
    for _ in range(rng.choice([0, 0, 1, 2, 3, 4, 6])):
        lst.append([pick_name(rng, None, allow_ctl=False), pick_value(rng, allow_ctl=False)])
        # Duplicates: sometimes repeat a name in another case.
        if rng.random() < 0.2:
            lst.append([mixed_case(rng, lst[-1][0]), pick_value(rng, allow_ctl=False)])
    if rng.random() < 0.1:
        # A control character somewhere in the list: the whole construction fails.
        bad = [pick_name(rng, None, allow_ctl=False), rng.choice(CTL_VALUES)]
        if rng.random() < 0.5:
            bad = [rng.choice(CTL_NAMES), "v"]
        lst.insert(rng.randrange(len(lst) + 1), bad)
    return {"op": "construct", "pairs": lst}


def make_sequence(rng, index):
    steps = []
    n_ops = rng.randint(MIN_OPS, MAX_OPS)
    h, rec = run_step(rng, None, make_construct(rng))
    steps.append(rec)
    while len(steps) < n_ops:
        saved = pairs(h)
        h, rec = run_step(rng, h, make_op(rng, h))
        if rec.get("deviation") == "set-atomic":
            if len(steps) + 1 < MIN_OPS:
                # Too early to end the sequence here: undo and draw another op.
                h = Headers([tuple(p) for p in saved])
                continue
            steps.append(rec)
            break
        steps.append(rec)
    return {"id": index, "steps": steps}


def main():
    rng = random.Random(SEED)
    sequences = [make_sequence(rng, i) for i in range(SEQUENCES)]
    doc = {
        "generator": "tests/gen/gen_headers.py",
        "oracle": "CPython %d.%d.%d wsgiref.headers with newest control-character checks"
        % sys.version_info[:3],
        "seed": SEED,
        "sequences": sequences,
    }
    # One sequence per line, so a regenerated file diffs readably.
    compact = dict(ensure_ascii=True, separators=(",", ":"))
    head = {k: v for k, v in doc.items() if k != "sequences"}
    out = sys.stdout
    out.write(json.dumps(head, **compact)[:-1] + ',"sequences":[\n')
    for i, seq in enumerate(sequences):
        out.write(json.dumps(seq, **compact))
        out.write(",\n" if i + 1 < len(sequences) else "\n")
    out.write("]}\n")


if __name__ == "__main__":
    main()
