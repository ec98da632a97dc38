//! The validator in front of the core handlers: our versions of the validator tests in
//! CPython's test_wsgiref.py (IntegrationTests), and a conforming application served clean.

use std::cell::RefCell;

use wsgiref::validate::{validator, Warning, WarningLog};
use wsgiref_core::app::{app_fn, StartResponse};
use wsgiref_core::environ::Environ;
use wsgiref_core::handler::{MemoryBuf, Outcome, RunReport, SimpleHandler};
use wsgiref_core::proto::HttpDate;
use wsgiref_core::stream::ErrorStream;
use wsgiref_core::util::setup_testing_defaults;
use wsgiref_core::{AppError, Application};

const ERROR_BODY: &[u8] = b"A server error occurred.  Please contact the administrator.";

/// `wsgi.errors` capturing text.
#[derive(Default)]
struct Captured(RefCell<String>);

impl ErrorStream for Captured {
    fn write_str(&self, s: &str) -> core::fmt::Result {
        self.0.borrow_mut().push_str(s);
        Ok(())
    }
}

/// Serve `app` once with SimpleHandler (origin framing, the tests' fixed date) for an environ
/// of `pairs` completed by `setup_testing_defaults`, with `stdin` as the request body.
fn serve<A: Application>(
    app: &A,
    pairs: &[(&str, &str)],
    stdin: &[u8],
) -> (Vec<u8>, String, RunReport) {
    let mut env = Environ::new();
    for (k, v) in pairs {
        env.set(k, v).unwrap();
    }
    setup_testing_defaults(&mut env).unwrap();
    env.setdefault("QUERY_STRING", "").unwrap();
    let errors = Captured::default();
    let mut out = Vec::new();
    let mut memory: MemoryBuf = MemoryBuf::new();
    let report = {
        let mut handler = SimpleHandler::new(stdin, &mut out, &errors, env, memory.memory());
        handler.set_date(Some(HttpDate::from_unix(1149533394)));
        handler.run(app)
    };
    (out, errors.0.into_inner(), report)
}

fn hello() -> impl Application {
    app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.start(
            "200 OK",
            &[
                ("Content-Type", "text/plain"),
                ("Date", "Mon, 05 Jun 2006 18:49:54 GMT"),
            ],
        )?;
        Ok::<_, AppError>(&b"Hello, world!"[..])
    })
}

/// CPython's test_validated_hello: a validated application's response is the plain one.
/// (CPython's differs by the missing Content-Length, since its wrapper has no len(); ours
/// passes Body::length on, so validating changes nothing.)
#[test]
fn validated_hello() {
    let log = WarningLog::<8>::new();
    let (plain, plain_err, _) = serve(&hello(), &[], b"");
    let (checked, err, report) = serve(&validator(hello()).with_sink(&log), &[], b"");
    assert_eq!(checked, plain);
    assert!(String::from_utf8_lossy(&checked).contains("Content-Length: 13\r\n"));
    assert_eq!(err, plain_err);
    assert_eq!(report.outcome, Outcome::Complete);
    assert!(log.is_empty(), "{:?}", log.warnings());
}

/// CPython's test_simple_validation_error passes a headers tuple, which cannot be written in
/// Rust; the nearest mistake that compiles (no Content-Type) is answered the same way: the
/// error page, and the assertion in the log.
#[test]
fn simple_validation_error() {
    let bad = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.start("200 OK", &[])?;
        Ok::<_, AppError>(&b"Hello, world!"[..])
    });
    let log = WarningLog::<8>::new();
    let (out, err, report) = serve(&validator(bad).with_sink(&log), &[], b"");
    assert!(out.starts_with(b"HTTP/1.0 500 Internal Server Error\r\n"));
    assert!(out.ends_with(ERROR_BODY));
    assert!(
        err.contains("AssertionError: No Content-Type header found in headers ([])\n"),
        "{err}"
    );
    assert_eq!(report.outcome, Outcome::ErrorPage);
}

/// CPython's test_status_validation_errors runs these statuses unvalidated (the handler's own
/// messages); validated, the validator speaks first where it has a check, and a status that
/// only draws its warning is then refused by the handler.
#[test]
fn status_validation_errors() {
    for (status, logged, warned) in [
        (
            "200",
            "AssertionError: Status must be at least 4 characters",
            true,
        ),
        (
            "20X OK",
            "AssertionError: invalid literal for int() with base 10: '20X'",
            false,
        ),
        (
            "200OK",
            "AssertionError: Status codes must be three characters: '200OK'",
            false,
        ),
    ] {
        let app = app_fn(move |_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
            sr.start(status, &[("Content-Type", "text/plain")])?;
            Ok::<_, AppError>(&b"Hello, world!"[..])
        });
        let log = WarningLog::<8>::new();
        let (out, err, _) = serve(&validator(app).with_sink(&log), &[], b"");
        assert!(out.ends_with(ERROR_BODY), "{status:?}");
        assert!(err.contains(logged), "{status:?}: {err}");
        assert_eq!(
            log.warnings()
                .iter()
                .any(|w| matches!(w, Warning::StatusFormat(_))),
            warned,
            "{status:?}"
        );
    }
}

/// CPython's test_wsgi_input calls `wsgi.input.read()` without a size, which Rust's
/// `read(buf)` cannot express. What can still go wrong is the server's side: the handler's
/// input must stop at CONTENT_LENGTH even when stdin holds more, and it does.
#[test]
fn wsgi_input() {
    let echo = app_fn(|env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        let mut body = [0u8; 64];
        let n = env.input().read_full(&mut body)?;
        sr.start("200 OK", &[("Content-Type", "text/plain")])?;
        Ok::<_, AppError>(wsgiref_core::app::Once::new(body[..n].to_vec()))
    });
    let log = WarningLog::<8>::new();
    let (out, err, report) = serve(
        &validator(echo).with_sink(&log),
        &[("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "5")],
        b"hello, and the next request",
    );
    assert_eq!(report.outcome, Outcome::Complete, "{err}");
    assert!(out.ends_with(b"\r\n\r\nhello"));
    assert!(log.is_empty(), "{:?}", log.warnings());
}

/// CPython's test_bytes_validation: a validated application with a charset and its own Date
/// is served as it would be unvalidated.
#[test]
fn bytes_validation() {
    let app = || {
        app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
            sr.start(
                "200 OK",
                &[
                    ("Content-Type", "text/plain; charset=utf-8"),
                    ("Date", "Wed, 24 Dec 2008 13:29:32 GMT"),
                ],
            )?;
            Ok::<_, AppError>(&b"data"[..])
        })
    };
    let log = WarningLog::<8>::new();
    let (plain, _, _) = serve(&app(), &[], b"");
    let (checked, err, report) = serve(&validator(app()).with_sink(&log), &[], b"");
    assert_eq!(checked, plain);
    assert!(checked.ends_with(b"Content-Type: text/plain; charset=utf-8\r\nDate: Wed, 24 Dec 2008 13:29:32 GMT\r\nContent-Length: 4\r\n\r\ndata"));
    assert!(err.is_empty(), "{err}");
    assert_eq!(report.bytes_sent, 4);
    assert!(log.is_empty());
}

/// Every environ SimpleHandler builds passes the validator, for each method the tests use.
#[test]
fn handler_environs_pass_the_validator() {
    let ok = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.start("204 No Content", &[])?;
        Ok::<_, AppError>(wsgiref_core::app::Empty)
    });
    for method in ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"] {
        let log = WarningLog::<8>::new();
        let (out, err, report) = serve(
            &validator(&ok).with_sink(&log),
            &[
                ("REQUEST_METHOD", method),
                ("PATH_INFO", "/a/b"),
                ("SCRIPT_NAME", "/app"),
            ],
            b"",
        );
        assert_eq!(report.outcome, Outcome::Complete, "{method}: {err}");
        assert!(out.starts_with(b"HTTP/1.0 204 No Content\r\n"), "{method}");
        assert!(log.is_empty(), "{method}: {:?}", log.warnings());
    }
}
