//! Differential test of [`Headers`] against CPython's `wsgiref.headers.Headers`.
//!
//! `tests/gen/gen_headers.py` ran seeded random sequences of header operations through CPython
//! (with the newest CPython's control-character checks emulated on top of the local 3.11) and
//! recorded each operation's result and the entries after it in
//! `tests/data/headers_sequences.json`. Here every sequence is replayed twice, once on growable
//! storage ([`Headers::new`]) and once on fixed storage ([`HeadersBuf`]), and compared step by
//! step.
//!
//! Where the Rust port deliberately differs, the data says so (`deviation`, with the Rust
//! expectation in `rust_result` / `rust_items`); only the reasons in [`KNOWN_DEVIATIONS`] are
//! accepted, and the generator's docstring explains each one.

use serde_json::{json, Value};
use wsgiref_core::headers::{HeaderError, Headers, HeadersBuf, Param};

const DATA: &str = include_str!("data/headers_sequences.json");

/// Deviations the Rust port makes on purpose (see `tests/gen/gen_headers.py`).
const KNOWN_DEVIATIONS: &[&str] = &["set-atomic", "lookup-infallible", "utf8-wire"];

/// Fixed storage large enough for every generated sequence (at most ~25 short entries).
type Buf = HeadersBuf<8192, 64>;

fn sequences() -> Vec<Value> {
    let doc: Value = serde_json::from_str(DATA).expect("headers_sequences.json is valid JSON");
    doc["sequences"]
        .as_array()
        .expect("a `sequences` array")
        .clone()
}

fn s(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
}

fn opt_s(v: &Value) -> Option<&str> {
    if v.is_null() {
        None
    } else {
        Some(s(v))
    }
}

/// How CPython names the error that `e` stands for.
fn python_error(e: HeaderError) -> Value {
    match e {
        HeaderError::ControlCharacter { .. } => json!({"err": "ValueError"}),
        // CPython has no capacity limit: a capacity error here is a failure of the test setup,
        // and comparing it to the expected value reports it with the sequence and step.
        HeaderError::Capacity(c) => json!({ "err": format!("capacity: {c}") }),
    }
}

fn ok(v: impl Into<Value>) -> Value {
    json!({ "ok": v.into() })
}

fn items(h: &Headers<'_>) -> Value {
    Value::Array(h.items().map(|(n, v)| json!([n, v])).collect())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Run one operation and describe its outcome the way the generator recorded CPython's.
fn apply(h: &mut Headers<'_>, op: &Value) -> Value {
    let name = || s(&op["name"]);
    match s(&op["op"]) {
        "construct" => {
            let pairs: Vec<(&str, &str)> = op["pairs"]
                .as_array()
                .expect("pairs")
                .iter()
                .map(|p| (s(&p[0]), s(&p[1])))
                .collect();
            match h.extend(pairs) {
                Ok(()) => ok(Value::Null),
                Err(e) => python_error(e),
            }
        }
        "set" => match h.set(name(), s(&op["value"])) {
            Ok(()) => ok(Value::Null),
            Err(e) => python_error(e),
        },
        "del" => ok(h.remove(name())),
        "get" => ok(h.get(name())),
        "get_all" => ok(h.get_all(name()).collect::<Vec<_>>()),
        "in" => ok(h.contains(name())),
        "setdefault" => match h.setdefault(name(), s(&op["value"])) {
            Ok(v) => ok(v),
            Err(e) => python_error(e),
        },
        "add_header" => {
            let params: Vec<Param<'_>> = op["params"]
                .as_array()
                .expect("params")
                .iter()
                .map(|p| (s(&p[0]), opt_s(&p[1])))
                .collect();
            match h.add_header(name(), opt_s(&op["value"]), &params) {
                Ok(()) => ok(Value::Null),
                Err(e) => python_error(e),
            }
        }
        "len" => ok(h.len()),
        "keys" => ok(h.keys().collect::<Vec<_>>()),
        "values" => ok(h.values().collect::<Vec<_>>()),
        "items" => ok(items(h)),
        "str" => ok(h.to_string()),
        "bytes" => {
            let mut out = [0u8; 8192];
            match h.write_to(&mut out) {
                Ok(n) => {
                    // The three ways to get the wire form must agree.
                    assert_eq!(n, h.encoded_len(), "encoded_len disagrees with write_to");
                    assert_eq!(h.to_bytes(), &out[..n], "to_bytes disagrees with write_to");
                    ok(hex(&out[..n]))
                }
                Err(e) => python_error(e),
            }
        }
        other => panic!("unknown op {other:?} in the data"),
    }
}

fn replay(seq: &Value, h: &mut Headers<'_>, storage: &str) {
    let id = &seq["id"];
    for (i, step) in seq["steps"].as_array().expect("steps").iter().enumerate() {
        let op = &step["op"];
        let at = || format!("sequence {id} step {i} ({storage} storage), op {op}");
        if let Some(reason) = step.get("deviation") {
            assert!(
                KNOWN_DEVIATIONS.contains(&s(reason)),
                "{}: unknown deviation {reason}",
                at()
            );
        }
        let want_result = step.get("rust_result").unwrap_or(&step["result"]);
        let want_items = step.get("rust_items").unwrap_or(&step["items"]);
        let got = apply(h, op);
        assert_eq!(&got, want_result, "{}: result differs", at());
        assert_eq!(&items(h), want_items, "{}: entries differ", at());
        assert_eq!(
            h.len(),
            want_items.as_array().map_or(0, Vec::len),
            "{}",
            at()
        );
    }
}

#[test]
fn data_has_enough_sequences_of_the_right_length() {
    let seqs = sequences();
    assert!(seqs.len() >= 200, "only {} sequences", seqs.len());
    for seq in &seqs {
        let steps = seq["steps"].as_array().expect("steps");
        assert!(
            (3..=15).contains(&steps.len()),
            "sequence {} has {} steps",
            seq["id"],
            steps.len()
        );
        assert_eq!(steps[0]["op"]["op"], "construct", "sequence {}", seq["id"]);
    }
}

#[test]
fn data_covers_every_operation_and_error() {
    let seqs = sequences();
    let steps: Vec<&Value> = seqs
        .iter()
        .flat_map(|q| q["steps"].as_array().expect("steps"))
        .collect();
    for op in [
        "construct",
        "set",
        "del",
        "setdefault",
        "add_header",
        "get",
        "get_all",
        "in",
        "len",
        "keys",
        "values",
        "items",
        "str",
        "bytes",
    ] {
        let n = steps.iter().filter(|s| s["op"]["op"] == op).count();
        let refused = steps
            .iter()
            .filter(|s| s["op"]["op"] == op && s["result"] == json!({"err": "ValueError"}))
            .count();
        assert!(n >= 20, "only {n} {op} steps");
        if ["construct", "set", "setdefault", "add_header"].contains(&op) {
            assert!(refused >= 5, "only {refused} refused {op} steps");
        }
    }
    for reason in KNOWN_DEVIATIONS {
        assert!(
            steps.iter().any(|s| s["deviation"] == *reason),
            "no step shows the {reason} deviation"
        );
    }
    // Plain ASCII wire bytes must be compared with no deviation at all.
    assert!(steps
        .iter()
        .any(|s| s["op"]["op"] == "bytes" && s.get("deviation").is_none()));
}

#[test]
fn growable_headers_match_cpython() {
    for seq in sequences() {
        let mut h = Headers::new();
        replay(&seq, &mut h, "growable");
    }
}

#[test]
fn fixed_headers_match_cpython() {
    for seq in sequences() {
        let mut buf = Buf::new();
        let mut h = buf.headers();
        replay(&seq, &mut h, "fixed");
    }
}
