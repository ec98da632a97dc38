//! Differential test: every case in `tests/data/handler_cases.json` is a scripted application
//! that `tests/gen/gen_handlers.py` ran under CPython's own `BaseCGIHandler` / `SimpleHandler`
//! (Date pinned), recording the bytes written. Here the same script runs under the Rust
//! [`BaseCgiHandler`] / [`SimpleHandler`] with the same environ and settings, and must write the
//! same bytes.
//!
//! Where a case runs into one of the documented deliberate differences (the module docs of
//! `core/src/handler/response.rs`), the generator names it, and CPython's bytes are turned into
//! the Rust handler's by the matching function below: one small function per documented rule.
//!
//! Error logs are not compared byte for byte (a Python traceback and a Rust error chain look
//! different): only whether something was logged, that the exception's message appears, and,
//! for a start_response / write() contract violation, that the line names CPython's exception
//! (`AssertionError: <message>`).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use serde_json::Value;
use wsgiref_core::app::{Body, StartResponse};
use wsgiref_core::environ::Environ;
use wsgiref_core::handler::{BaseCgiHandler, HandlerConfig, MemoryBuf, SimpleHandler};
use wsgiref_core::proto::{HttpDate, Version};
use wsgiref_core::stream::ErrorStream;
use wsgiref_core::{AppError, UrlScheme};

const DATA: &str = include_str!("data/handler_cases.json");

/// The suite must not shrink silently: the generator writes more than this.
const MIN_CASES: usize = 400;
/// Each framing and each listed category needs at least this many cases.
const MIN_FRAMING: usize = 10;
const MIN_CATEGORY: usize = 3;
const CATEGORIES: [&str; 10] = [
    "plain",
    "write",
    "error_before_output",
    "error_after_output",
    "exc_info",
    "head",
    "http09",
    "empty",
    "many_chunks",
    "no_body_status",
];

/// The instant the generator pinned CPython's `format_date_time` to.
const FIXED_TIME: u64 = 1149533394;

/// A native string (code points U+0000..U+00FF standing for bytes) back to its bytes.
fn latin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("native strings hold U+0000..U+00FF only"))
        .collect()
}

fn text(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
}

fn header_pairs(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .map(|list| {
            list.iter()
                .map(|h| (text(&h[0]).to_owned(), text(&h[1]).to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// `wsgi.errors` capturing text.
#[derive(Default)]
struct Captured(RefCell<String>);

impl ErrorStream for Captured {
    fn write_str(&self, s: &str) -> core::fmt::Result {
        self.0.borrow_mut().push_str(s);
        Ok(())
    }
}

// --- the script interpreter ------------------------------------------------------------------

/// The body a script returns. Every kind counts its `close` calls, as the Python side does.
struct ScriptBody<'c> {
    chunks: Vec<Vec<u8>>,
    next: usize,
    /// Reports an exact length (Python: a list; here any number of chunks).
    sized: bool,
    /// Asking for this chunk fails with `message` (Python: the generator raises).
    raise_at: Option<usize>,
    message: String,
    closes: &'c Cell<u32>,
}

impl Body for ScriptBody<'_> {
    fn next_chunk(&mut self) -> Result<Option<&[u8]>, AppError> {
        if self.raise_at == Some(self.next) {
            return Err(AppError::text(self.message.clone()));
        }
        let Some(chunk) = self.chunks.get(self.next) else {
            return Ok(None);
        };
        self.next += 1;
        Ok(Some(chunk))
    }

    fn length(&self) -> Option<u64> {
        self.sized.then(|| {
            self.chunks[self.next..]
                .iter()
                .map(|c| c.len() as u64)
                .sum()
        })
    }

    fn close(&mut self) {
        self.closes.set(self.closes.get() + 1);
    }
}

/// Python's `str()` of a flag.
fn py_bool(flag: bool) -> &'static str {
    if flag {
        "True"
    } else {
        "False"
    }
}

/// One `key=value\n` line per key, as the Python script's "env" body writes it.
fn env_lines(environ: &Environ<'_>, keys: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    for key in keys.as_array().expect("env keys are a list") {
        let key = text(key);
        let wsgi = environ.wsgi;
        let value: Option<Vec<u8>> = match key {
            "wsgi.url_scheme" => environ.url_scheme().map(|s| {
                match s {
                    UrlScheme::Http => "http",
                    UrlScheme::Https => "https",
                }
                .into()
            }),
            "wsgi.multithread" => wsgi.map(|w| py_bool(w.multithread).into()),
            "wsgi.multiprocess" => wsgi.map(|w| py_bool(w.multiprocess).into()),
            "wsgi.run_once" => wsgi.map(|w| py_bool(w.run_once).into()),
            _ => environ.get(key).map(<[u8]>::to_vec),
        };
        out.extend_from_slice(key.as_bytes());
        match value {
            Some(v) => {
                out.push(b'=');
                out.extend_from_slice(&v);
                out.push(b'\n');
            }
            None => out.extend_from_slice(b" absent\n"),
        }
    }
    out
}

fn make_body<'c>(spec: &Value, environ: &Environ<'_>, closes: &'c Cell<u32>) -> ScriptBody<'c> {
    let data = |v: &Value| -> Vec<Vec<u8>> {
        v.as_array()
            .expect("body data is a list")
            .iter()
            .map(|d| latin1(text(d)))
            .collect()
    };
    let (chunks, sized, raise_at) = match text(&spec["kind"]) {
        "single" => (vec![latin1(text(&spec["data"]))], true, None),
        "sized" => (data(&spec["data"]), true, None),
        "chunks" => (
            data(&spec["data"]),
            false,
            spec.get("raise_at")
                .and_then(Value::as_u64)
                .map(|k| k as usize),
        ),
        "empty" => (Vec::new(), true, None),
        "env" => (vec![env_lines(environ, &spec["keys"])], true, None),
        other => panic!("unknown body kind {other:?}"),
    };
    ScriptBody {
        chunks,
        next: 0,
        sized,
        raise_at,
        message: spec
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        closes,
    }
}

/// Run the script's actions in order, as the Python `make_app` does.
fn run_script<'c>(
    script: &Value,
    environ: &mut Environ<'_>,
    sr: &mut StartResponse<'_>,
    closes: &'c Cell<u32>,
) -> Result<ScriptBody<'c>, AppError> {
    for action in script.as_array().expect("a script is a list") {
        let owned = header_pairs(&action["headers"]);
        let headers: Vec<(&str, &str)> = owned
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        match text(&action["op"]) {
            "start" => {
                sr.start(text(&action["status"]), &headers)?;
            }
            "start_exc" => {
                let caught = AppError::text(text(&action["message"]));
                sr.start_with_exc_info(text(&action["status"]), &headers, caught)?;
            }
            "write" => sr.write(&latin1(text(&action["data"])))?,
            "raise" => return Err(AppError::text(text(&action["message"]))),
            "return" => return Ok(make_body(&action["body"], environ, closes)),
            other => panic!("unknown action {other:?}"),
        }
    }
    Ok(make_body(
        &serde_json::json!({"kind": "empty"}),
        environ,
        closes,
    ))
}

/// What the Rust handler did with one case.
struct Ran {
    stdout: Vec<u8>,
    log: String,
    closed: u32,
}

fn configure(config: &mut HandlerConfig, case: &Value) {
    let c = &case["config"];
    config.origin_server = c["origin_server"].as_bool().expect("origin_server");
    config.http_version = match text(&c["http_version"]) {
        "1.0" => Version::Http10,
        "1.1" => Version::Http11,
        other => panic!("unexpected http_version {other:?}"),
    };
    // HandlerConfig holds a &'static str; the generator only uses these values.
    config.server_software = match c["server_software"].as_str() {
        None => None,
        Some("") => Some(""),
        Some("FooBar/1.0") => Some("FooBar/1.0"),
        Some(other) => panic!("unexpected server_software {other:?}"),
    };
}

fn run_rust(case: &Value) -> Ran {
    let mut environ = Environ::new();
    for pair in case["environ"].as_array().expect("environ pairs") {
        environ
            .set(text(&pair[0]), latin1(text(&pair[1])))
            .expect("environ variable");
    }
    wsgiref_core::util::setup_testing_defaults(&mut environ).expect("testing defaults");
    let closes = Cell::new(0);
    let app = |env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        run_script(&case["script"], env, sr, &closes)
    };
    let errors = Captured::default();
    let mut stdout = Vec::new();
    let mut memory: MemoryBuf = MemoryBuf::new();
    match text(&case["handler"]) {
        "cgi" => {
            let mut handler =
                BaseCgiHandler::new(&b""[..], &mut stdout, &errors, environ, memory.memory());
            configure(handler.config_mut(), case);
            handler.run(&app);
        }
        "simple" => {
            let mut handler =
                SimpleHandler::new(&b""[..], &mut stdout, &errors, environ, memory.memory());
            configure(&mut handler.config, case);
            handler.set_date(Some(HttpDate::from_unix(FIXED_TIME)));
            handler.run(&app);
        }
        other => panic!("unknown handler {other:?}"),
    }
    Ran {
        stdout,
        log: errors.0.into_inner(),
        closed: closes.get(),
    }
}

// --- the documented deliberate differences ---------------------------------------------------

/// Where the head ends: the index just past its blank line.
fn head_end(out: &[u8]) -> usize {
    out.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .expect("a response with a head has a blank line")
}

/// response.rs rule 3: a body that reports its exact length gets `Content-Length` however
/// many chunks it has (CPython: only a one-element list). The header goes where CPython puts
/// its own automatic one: after the application's headers.
fn add_exact_length(out: &mut Vec<u8>, length: u64) {
    let at = head_end(out) - 2;
    let line = format!("Content-Length: {length}\r\n");
    out.splice(at..at, line.into_bytes());
}

/// response.rs rule 3: no automatic `Content-Length` on 1xx/204/304 responses (CPython adds
/// one; RFC 9110 forbids it for 204). CPython's automatic header is the head's last line.
fn drop_auto_content_length(out: &mut Vec<u8>) {
    let end = head_end(out) - 2;
    let start = out[..end - 2]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    assert!(
        out[start..end].starts_with(b"Content-Length: "),
        "CPython's automatic Content-Length is the last header line: {:?}",
        String::from_utf8_lossy(&out[start..end])
    );
    out.drain(start..end);
}

/// response.rs rule 5: HEAD requests and 1xx/204/304 responses send no body bytes (CPython
/// sends what the application produced).
fn strip_body(out: &mut Vec<u8>) {
    let end = head_end(out);
    out.truncate(end);
}

/// response.rs rule 7: body bytes beyond the application's own `Content-Length` are never
/// sent, and the handler logs the overrun (CPython sends them all, silently).
fn truncate_to_declared_length(out: &mut Vec<u8>, declared: u64) {
    let end = head_end(out) + usize::try_from(declared).expect("a small declared length");
    assert!(end < out.len(), "the case does overrun its Content-Length");
    out.truncate(end);
}

/// Rule 7 seen from the application: when its own `write()` calls overrun the declared
/// length, that `write()` fails, the scripted application returns the error and so never
/// returns the body that CPython went on to close.
fn overrun_in_write(case: &Value) -> bool {
    if !has_difference(case, "length_exceeded") {
        return false;
    }
    let declared: usize = text(&case["expect"]["head"]["app_content_length"])
        .parse()
        .expect("a decimal length");
    let written: usize = case["script"]
        .as_array()
        .expect("script")
        .iter()
        .filter(|a| a["op"] == "write")
        .map(|a| latin1(text(&a["data"])).len())
        .sum();
    written > declared
}

/// Does the generator say this case runs into the named difference?
fn has_difference(case: &Value, name: &str) -> bool {
    case["differences"]
        .as_array()
        .expect("differences")
        .iter()
        .any(|d| d == name)
}

/// The bytes the Rust handler should write: CPython's, with each documented difference the
/// case runs into applied.
fn expected_stdout(case: &Value) -> Vec<u8> {
    let expect = &case["expect"];
    let mut out = latin1(text(&expect["stdout"]));
    // Header changes first, while the body is still there to be measured.
    if has_difference(case, "exact_length") {
        let script = case["script"].as_array().expect("script");
        let body = &script.last().expect("a sized body is returned")["body"];
        let total: usize = body["data"]
            .as_array()
            .expect("sized data")
            .iter()
            .map(|d| latin1(text(d)).len())
            .sum();
        add_exact_length(&mut out, total as u64);
    }
    if has_difference(case, "length_exceeded") {
        let declared = text(&expect["head"]["app_content_length"]);
        truncate_to_declared_length(&mut out, declared.parse().expect("a decimal length"));
    }
    if has_difference(case, "no_body_status") {
        if expect["head"]["auto_content_length"] == Value::Bool(true) {
            drop_auto_content_length(&mut out);
        }
        strip_body(&mut out);
    }
    if has_difference(case, "head_no_body") {
        strip_body(&mut out);
    }
    out
}

// --- the test --------------------------------------------------------------------------------

fn show(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

#[test]
fn rust_handlers_write_cpythons_bytes() {
    let cases: Vec<Value> = serde_json::from_str(DATA).expect("handler_cases.json parses");
    assert!(
        cases.len() >= MIN_CASES,
        "only {} cases; regenerate with python3 tests/gen/gen_handlers.py",
        cases.len()
    );
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        for label in case["categories"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(case["differences"].as_array().into_iter().flatten())
        {
            *counts.entry(text(label).to_owned()).or_default() += 1;
        }
        let ran = run_rust(case);
        let expect = &case["expect"];
        let mut problems = Vec::new();
        let want = expected_stdout(case);
        if ran.stdout != want {
            problems.push(format!(
                "stdout differs\n   rust: {}\n  wants: {}\n cpython: {}",
                show(&ran.stdout),
                show(&want),
                show(&latin1(text(&expect["stdout"])))
            ));
        }
        let overrun = has_difference(case, "length_exceeded");
        // An overrun is logged by the Rust handler (rule 7), whatever CPython logged.
        let logged = expect["error_logged"].as_bool().expect("error_logged") || overrun;
        if ran.log.is_empty() == logged {
            problems.push(format!(
                "error logged: rust {}, cpython {logged}; rust log: {:?}",
                !ran.log.is_empty(),
                ran.log
            ));
        }
        // After an overrun the Rust handler stops there; a later failure never happens.
        if let Some(message) = expect["error_message"].as_str().filter(|_| !overrun) {
            if !ran.log.contains(message) {
                problems.push(format!(
                    "the log lacks CPython's message {message:?}: {:?}",
                    ran.log
                ));
            }
        }
        // A contract violation is logged under CPython's exception name, as CPython's last
        // traceback line: `AssertionError: write() before start_response()`.
        if let (Some(kind), Some(message)) = (
            expect["error_kind"].as_str(),
            expect["error_message"].as_str().filter(|_| !overrun),
        ) {
            let line = format!("{kind}: {message}\n");
            if !ran.log.contains(&line) {
                problems.push(format!(
                    "the log lacks CPython's line {line:?}: {:?}",
                    ran.log
                ));
            }
        }
        let closed = expect["closed"].as_u64().expect("closed") - u64::from(overrun_in_write(case));
        if u64::from(ran.closed) != closed {
            problems.push(format!(
                "close() calls: rust {}, cpython {closed}",
                ran.closed
            ));
        }
        if !problems.is_empty() {
            failures.push(format!("case {i}: {case}\n  {}", problems.join("\n  ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
    for framing in ["cgi_framing", "origin_framing"] {
        let n = counts.get(framing).copied().unwrap_or(0);
        assert!(n >= MIN_FRAMING, "only {n} {framing} cases");
    }
    for category in CATEGORIES {
        let n = counts.get(category).copied().unwrap_or(0);
        assert!(n >= MIN_CATEGORY, "only {n} {category} cases");
    }
}

/// The transformations themselves, on hand-made responses, so a broken one cannot hide a
/// difference.
#[test]
fn transformations_do_what_their_rules_say() {
    let mut out = b"Status: 200 OK\r\nX: 1\r\n\r\nabc".to_vec();
    add_exact_length(&mut out, 3);
    assert_eq!(
        out,
        b"Status: 200 OK\r\nX: 1\r\nContent-Length: 3\r\n\r\nabc"
    );

    let mut out = b"HTTP/1.0 204 No Content\r\nDate: d\r\nContent-Length: 2\r\n\r\nxy".to_vec();
    drop_auto_content_length(&mut out);
    strip_body(&mut out);
    assert_eq!(out, b"HTTP/1.0 204 No Content\r\nDate: d\r\n\r\n");

    let mut out = b"Status: 304 Not Modified\r\nContent-Length: 0\r\n\r\n".to_vec();
    drop_auto_content_length(&mut out);
    assert_eq!(out, b"Status: 304 Not Modified\r\n\r\n");

    let mut out = b"Status: 200 OK\r\nContent-Length: 2\r\n\r\nabc".to_vec();
    truncate_to_declared_length(&mut out, 2);
    assert_eq!(out, b"Status: 200 OK\r\nContent-Length: 2\r\n\r\nab");

    let mut out = b"Status: 200 OK\r\n\r\nbody\r\n\r\nmore".to_vec();
    strip_body(&mut out);
    assert_eq!(out, b"Status: 200 OK\r\n\r\n");
}
