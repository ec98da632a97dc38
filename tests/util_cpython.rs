//! Differential test: every case in `tests/data/util_cases.json` was recorded from CPython's
//! `wsgiref.util` by `tests/gen/gen_util.py`; here each one is replayed through the Rust API
//! and must give the same answer.
//!
//! Strings in the data file are CPython "native strings": code points U+0000..U+00FF standing
//! for bytes. Inputs are turned back into bytes with [`latin1`]; URIs are compared as strings,
//! because the Rust sink receives each verbatim byte >= 0x80 as that same code point.

use serde_json::Value;
use wsgiref::util::{
    application_uri, application_uri_string, guess_scheme, is_hop_by_hop, request_uri,
    request_uri_string, setup_testing_defaults, shift_path_info, shift_path_info_in, UtilError,
};
use wsgiref_core::environ::{Environ, EnvironBuf, UrlScheme, WsgiVars};

const DATA: &str = include_str!("data/util_cases.json");

/// The suite must not shrink silently: the generator writes more than this.
const MIN_CASES: usize = 500;

/// A native string back to its bytes.
fn latin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("native strings hold U+0000..U+00FF only"))
        .collect()
}

/// Bytes as the native string CPython would show.
fn native(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

fn scheme_of(name: &str) -> UrlScheme {
    match name {
        "http" => UrlScheme::Http,
        "https" => UrlScheme::Https,
        other => panic!("the generator only uses http/https, got {other:?}"),
    }
}

/// Fill `environ` from the case's `[key, value]` pairs, in order.
fn load(environ: &mut Environ<'_>, pairs: &Value) {
    for pair in pairs.as_array().expect("environ is a list of pairs") {
        let key = pair[0].as_str().unwrap();
        let value = pair[1].as_str().unwrap();
        if key == "wsgi.url_scheme" {
            environ.wsgi = Some(WsgiVars::testing(scheme_of(value)));
        } else {
            environ.set(key, latin1(value)).unwrap();
        }
    }
}

fn expected_uri(expect: &Value) -> Result<String, UtilError> {
    if let Some(uri) = expect.get("ok") {
        return Ok(uri.as_str().unwrap().to_owned());
    }
    assert_eq!(expect["err"], "KeyError");
    Err(UtilError::MissingKey(
        match expect["key"].as_str().unwrap() {
            "wsgi.url_scheme" => "wsgi.url_scheme",
            "SERVER_NAME" => "SERVER_NAME",
            "SERVER_PORT" => "SERVER_PORT",
            other => panic!("unexpected KeyError key {other:?}"),
        },
    ))
}

/// Run a URI function both into a fixed `heapless::String` (the no-allocation path) and into
/// a `String`; both must agree before the result is compared with CPython.
fn uri_both(
    sink_fn: impl Fn(&mut heapless::String<512>) -> Result<(), UtilError>,
    string_fn: impl Fn() -> Result<String, UtilError>,
) -> Result<String, UtilError> {
    let mut fixed = heapless::String::<512>::new();
    let from_sink = sink_fn(&mut fixed).map(|()| fixed.as_str().to_owned());
    let from_string = string_fn();
    assert_eq!(from_sink, from_string, "sink and String variants disagree");
    if from_sink.is_err() {
        assert!(fixed.is_empty(), "an error must come before any output");
    }
    from_sink
}

/// One step of a `shift_path_info` sequence, in the shape the generator records.
#[derive(Debug, PartialEq)]
enum Step {
    Shifted {
        segment: Option<String>,
        script_name: Option<String>,
        path_info: Option<String>,
    },
    IndexError,
}

fn expected_steps(expect: &Value) -> Vec<Step> {
    let text = |v: &Value| v.as_str().map(str::to_owned);
    expect
        .as_array()
        .unwrap()
        .iter()
        .map(|step| {
            if step.get("err").is_some() {
                Step::IndexError
            } else {
                Step::Shifted {
                    segment: text(&step["ok"]),
                    script_name: text(&step["SCRIPT_NAME"]),
                    path_info: text(&step["PATH_INFO"]),
                }
            }
        })
        .collect()
}

fn snapshot(environ: &Environ<'_>) -> Vec<(String, Vec<u8>)> {
    environ
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_vec()))
        .collect()
}

/// Replay successive shifts as the generator did, through both entry points at once.
fn rust_steps(pairs: &Value) -> Vec<Step> {
    let mut buf_a = EnvironBuf::<2048, 16>::new();
    let mut a = buf_a.environ();
    load(&mut a, pairs);
    let mut buf_b = EnvironBuf::<2048, 16>::new();
    let mut b = buf_b.environ();
    load(&mut b, pairs);

    let mut steps = Vec::new();
    for _ in 0..4 {
        let before = snapshot(&a);
        let owned = shift_path_info(&mut a);
        let mut scratch = [0u8; 512];
        let borrowed = shift_path_info_in(&mut b, &mut scratch).map(|s| s.map(<[u8]>::to_vec));
        assert_eq!(
            owned.clone().map(|s| s.map(|s| s.to_vec())),
            borrowed,
            "shift_path_info and shift_path_info_in disagree"
        );
        assert_eq!(snapshot(&a), snapshot(&b));
        match owned {
            Err(UtilError::PathWithoutSlash) => {
                assert_eq!(
                    snapshot(&a),
                    before,
                    "an error must leave the environ unchanged"
                );
                steps.push(Step::IndexError);
                break;
            }
            Err(other) => panic!("unexpected error {other:?}"),
            Ok(segment) => {
                let done = segment.is_none();
                steps.push(Step::Shifted {
                    segment: segment.map(|s| native(&s)),
                    script_name: a.get("SCRIPT_NAME").map(native),
                    path_info: a.get("PATH_INFO").map(native),
                });
                if done {
                    break;
                }
            }
        }
    }
    steps
}

fn check_case(case: &Value) {
    let mut buf = EnvironBuf::<2048, 32>::new();
    let mut environ = buf.environ();
    if let Some(pairs) = case.get("environ") {
        load(&mut environ, pairs);
    }
    let expect = &case["expect"];
    match case["fn"].as_str().unwrap() {
        "guess_scheme" => {
            assert_eq!(guess_scheme(&environ).as_str(), expect.as_str().unwrap());
        }
        "application_uri" => {
            let got = uri_both(
                |out| application_uri(&environ, out),
                || application_uri_string(&environ),
            );
            assert_eq!(got, expected_uri(expect));
        }
        "request_uri" => {
            let query = case["include_query"].as_bool().unwrap();
            let got = uri_both(
                |out| request_uri(&environ, query, out),
                || request_uri_string(&environ, query),
            );
            assert_eq!(got, expected_uri(expect));
        }
        "shift_path_info" => {
            assert_eq!(rust_steps(&case["environ"]), expected_steps(expect));
        }
        "setup_testing_defaults" => {
            setup_testing_defaults(&mut environ).unwrap();
            let got: Vec<(String, String)> = environ
                .iter()
                .map(|(k, v)| (k.to_owned(), native(v)))
                .collect();
            let want: Vec<(String, String)> = expect["vars"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p[0].as_str().unwrap().to_owned(),
                        p[1].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            assert_eq!(got, want);
            let scheme = environ.url_scheme().expect("wsgi group set");
            assert_eq!(scheme.as_str(), expect["url_scheme"].as_str().unwrap());
        }
        "is_hop_by_hop" => {
            let name = case["name"].as_str().unwrap();
            assert_eq!(is_hop_by_hop(name), expect.as_bool().unwrap());
        }
        other => panic!("unknown function {other:?}"),
    }
}

#[test]
fn every_cpython_case_agrees() {
    let cases: Vec<Value> = serde_json::from_str(DATA).expect("util_cases.json parses");
    assert!(
        cases.len() >= MIN_CASES,
        "only {} cases; regenerate with python3 tests/gen/gen_util.py",
        cases.len()
    );
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let outcome = std::panic::catch_unwind(|| check_case(case));
        if let Err(panic) = outcome {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            failures.push(format!("case {i}: {case}\n  {why}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from CPython:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn every_function_is_covered() {
    let cases: Vec<Value> = serde_json::from_str(DATA).unwrap();
    for name in [
        "guess_scheme",
        "application_uri",
        "request_uri",
        "shift_path_info",
        "setup_testing_defaults",
        "is_hop_by_hop",
    ] {
        let n = cases.iter().filter(|c| c["fn"] == name).count();
        assert!(n >= 20, "only {n} cases for {name}");
    }
}
