//! One test per check of `wsgiref::validate` (the table in its module docs names them): the
//! violation is caught with CPython's message, and the compliant case passes.
//!
//! The server side is a small recording [`Respond`], so these tests need no handler; they use
//! fixed environ storage only, so they also run with `--no-default-features`.

use std::cell::{Cell, RefCell};

use wsgiref::validate::{validator, ValidationError, Warning, WarningLog};
use wsgiref_core::app::{app_fn, Body, Chunks, Empty, Respond, StartResponse, StartResponseError};
use wsgiref_core::environ::{Environ, EnvironBuf, WsgiVars};
use wsgiref_core::error::OutputError;
use wsgiref_core::stream::{InputError, InputStream, SliceInput};
use wsgiref_core::util::setup_testing_defaults;
use wsgiref_core::{AppError, Application, UrlScheme};

/// One `start_response` call as the server saw it: status, headers, exc_info.
type Start = (String, Vec<(String, String)>, bool);

/// The server's side of `start_response`, recording what reached it.
#[derive(Default)]
struct Server {
    starts: Vec<Start>,
    written: Vec<u8>,
    sent: bool,
}

impl Respond for Server {
    fn start_response(
        &mut self,
        status: &str,
        headers: &[(&str, &str)],
        exc_info: bool,
    ) -> Result<(), StartResponseError> {
        let headers = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        self.starts.push((status.to_string(), headers, exc_info));
        Ok(())
    }

    fn write(&mut self, data: &[u8]) -> Result<(), AppError> {
        if self.starts.is_empty() {
            return Err(OutputError::WriteBeforeStartResponse.into());
        }
        self.sent = true;
        self.written.extend_from_slice(data);
        Ok(())
    }

    fn headers_sent(&self) -> bool {
        self.sent
    }
}

/// What one validated call produced.
struct Outcome {
    /// The error of the call or of pulling the body: (kind_name, message).
    error: Option<(&'static str, String)>,
    /// The typed error, when it was a validation error.
    validation: Option<ValidationError>,
    body: Vec<u8>,
    warnings: Vec<Warning>,
    server: Server,
}

impl Outcome {
    fn message(&self) -> &str {
        self.error.as_ref().map_or("", |(_, m)| m.as_str())
    }

    #[track_caller]
    fn assert_clean(&self) {
        assert!(self.error.is_none(), "unexpected error: {:?}", self.error);
        assert!(
            self.warnings.is_empty(),
            "unexpected warnings: {:?}",
            self.warnings
        );
    }
}

/// A complete, conforming environ: `setup_testing_defaults` plus a `QUERY_STRING`.
fn conforming(env: &mut Environ<'_>) {
    setup_testing_defaults(env).unwrap();
    env.set("QUERY_STRING", "").unwrap();
}

/// Run `app` through the validator against a conforming environ changed by `prepare`, then
/// drive its body the way a handler does (pull every chunk, close once).
fn run<A: Application>(app: A, prepare: impl FnOnce(&mut Environ<'_>)) -> Outcome {
    run_with_input(app, prepare, None)
}

fn run_with_input<A: Application>(
    app: A,
    prepare: impl FnOnce(&mut Environ<'_>),
    input: Option<&dyn InputStream>,
) -> Outcome {
    let log = WarningLog::<8>::new();
    let mut buf = EnvironBuf::<1024, 32>::new();
    let mut env = buf.environ();
    conforming(&mut env);
    prepare(&mut env);
    if let Some(input) = input {
        env.set_input(input);
    }
    let mut server = Server::default();
    let checked = validator(app).with_sink(&log);
    let mut body_bytes = Vec::new();
    let called = checked.call(&mut env, &mut StartResponse::new(&mut server));
    let failure = match called {
        Ok(mut body) => {
            let mut pulled = Ok(());
            for _ in 0..1000 {
                match body.next_chunk() {
                    Ok(Some(chunk)) => body_bytes.extend_from_slice(chunk),
                    Ok(None) => break,
                    Err(e) => {
                        pulled = Err(e);
                        break;
                    }
                }
            }
            body.close();
            pulled.err()
        }
        Err(e) => Some(e),
    };
    Outcome {
        validation: failure
            .as_ref()
            .and_then(|e| e.downcast_ref::<ValidationError>().cloned()),
        error: failure.map(|e| (e.kind_name(), e.to_string())),
        body: body_bytes,
        warnings: log.warnings().to_vec(),
        server,
    }
}

/// An application that starts the response with `status` and `headers` and returns `body`.
fn starting(
    status: &'static str,
    headers: &'static [(&'static str, &'static str)],
) -> impl Application {
    app_fn(move |_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.start(status, headers)?;
        Ok::<_, AppError>(&b"ok"[..])
    })
}

fn hello() -> impl Application {
    starting("200 OK", &[("Content-Type", "text/plain")])
}

// ---------------------------------------------------------------------------------------------
// The environ

#[test]
fn environ_required_keys() {
    for key in ["REQUEST_METHOD", "SERVER_NAME", "SERVER_PORT"] {
        let out = run(hello(), |env| {
            env.remove(key);
        });
        assert_eq!(
            out.message(),
            format!("Environment missing required key: '{key}'")
        );
        assert_eq!(out.validation, Some(ValidationError::MissingKey(key)));
        assert!(out.server.starts.is_empty(), "the application must not run");
    }
    let out = run(hello(), |env| env.wsgi = None);
    assert_eq!(
        out.message(),
        "Environment missing required key: 'wsgi.version'"
    );
    assert_eq!(out.error.as_ref().unwrap().0, "AssertionError");
    run(hello(), |_| {}).assert_clean();
}

#[test]
fn environ_without_streams_passes() {
    // setup_testing_defaults attaches no streams; the environ is still complete.
    let out = run(hello(), |env| {
        assert!(!env.has_input() && !env.has_errors());
    });
    out.assert_clean();
    assert_eq!(out.body, b"ok");
}

#[test]
fn environ_http_content_keys() {
    for (key, plain) in [
        ("HTTP_CONTENT_TYPE", "CONTENT_TYPE"),
        ("HTTP_CONTENT_LENGTH", "CONTENT_LENGTH"),
    ] {
        let out = run(hello(), |env| env.set(key, "1").unwrap());
        assert_eq!(
            out.message(),
            format!("Environment should not have the key: {key} (use {plain} instead)")
        );
        run(hello(), |env| env.set(plain, "1").unwrap()).assert_clean();
    }
}

#[test]
fn environ_query_string_warning() {
    let out = run(hello(), |env| {
        env.remove("QUERY_STRING");
    });
    assert!(out.error.is_none());
    assert_eq!(out.warnings, [Warning::QueryStringMissing]);
    assert_eq!(
        out.warnings[0].to_string(),
        "QUERY_STRING is not in the WSGI environment; the cgi module will use sys.argv when \
         this variable is missing, so application errors are more likely"
    );
    assert_eq!(out.warnings[0].category(), "WSGIWarning");
    run(hello(), |env| env.set("QUERY_STRING", "a=1").unwrap()).assert_clean();
}

#[test]
fn environ_unknown_method_warning() {
    let out = run(hello(), |env| env.set("REQUEST_METHOD", "CONNECT").unwrap());
    assert!(out.error.is_none());
    assert_eq!(out.warnings.len(), 1);
    assert_eq!(
        out.warnings[0].to_string(),
        "Unknown REQUEST_METHOD: 'CONNECT'"
    );
    // Case matters, as in CPython.
    let out = run(hello(), |env| env.set("REQUEST_METHOD", "get").unwrap());
    assert_eq!(out.warnings[0].to_string(), "Unknown REQUEST_METHOD: 'get'");
    for method in [
        "GET", "HEAD", "POST", "OPTIONS", "PATCH", "PUT", "DELETE", "TRACE",
    ] {
        run(hello(), |env| env.set("REQUEST_METHOD", method).unwrap()).assert_clean();
    }
}

#[test]
fn environ_script_name_slash() {
    let out = run(hello(), |env| env.set("SCRIPT_NAME", "app").unwrap());
    assert_eq!(out.message(), "SCRIPT_NAME doesn't start with /: 'app'");
    // Latin-1 bytes are shown as Python shows the native string.
    let out = run(hello(), |env| {
        env.set("SCRIPT_NAME", b"caf\xe9\x00").unwrap()
    });
    assert_eq!(
        out.message(),
        "SCRIPT_NAME doesn't start with /: 'caf\u{e9}\\x00'"
    );
    run(hello(), |env| env.set("SCRIPT_NAME", "/app").unwrap()).assert_clean();
    run(hello(), |env| env.set("SCRIPT_NAME", "").unwrap()).assert_clean();
    // Absent (with PATH_INFO present) passes: CPython's KeyError is a quirk not followed.
    run(hello(), |env| {
        env.remove("SCRIPT_NAME");
    })
    .assert_clean();
}

#[test]
fn environ_path_info_slash() {
    let out = run(hello(), |env| env.set("PATH_INFO", "x/y").unwrap());
    assert_eq!(out.message(), "PATH_INFO doesn't start with /: 'x/y'");
    run(hello(), |env| env.set("PATH_INFO", "/x/y").unwrap()).assert_clean();
    run(hello(), |env| {
        env.set("SCRIPT_NAME", "/app").unwrap();
        env.set("PATH_INFO", "").unwrap();
    })
    .assert_clean();
    run(hello(), |env| {
        env.set("SCRIPT_NAME", "/app").unwrap();
        env.remove("PATH_INFO");
    })
    .assert_clean();
}

#[test]
fn environ_content_length() {
    // Python's int(): whitespace, '+', '_' between digits and '-0' are accepted.
    for ok in [
        "12",
        " 12 ",
        "+12",
        "1_2",
        "-0",
        "007",
        "",
        "99999999999999999999999",
    ] {
        run(hello(), |env| env.set("CONTENT_LENGTH", ok).unwrap()).assert_clean();
    }
    for bad in [
        "abc", "1__2", "_12", "12_", "0x10", "- 1", " ", "1 2", "\x1c1",
    ] {
        let out = run(hello(), |env| env.set("CONTENT_LENGTH", bad).unwrap());
        let want = format!(
            "invalid literal for int() with base 10: {}",
            wsgiref::validate::Text::repr(bad)
        );
        assert_eq!(out.message(), want, "CONTENT_LENGTH {bad:?}");
        assert!(matches!(
            out.validation,
            Some(ValidationError::ContentLengthNotInteger(_))
        ));
    }
    let out = run(hello(), |env| env.set("CONTENT_LENGTH", "-1").unwrap());
    assert_eq!(out.message(), "Invalid CONTENT_LENGTH: '-1'");
    let out = run(hello(), |env| env.set("CONTENT_LENGTH", " -0_1").unwrap());
    assert_eq!(out.message(), "Invalid CONTENT_LENGTH: ' -0_1'");
}

#[test]
fn environ_needs_a_path() {
    let want = "One of SCRIPT_NAME or PATH_INFO are required (PATH_INFO should at least be '/' \
                if SCRIPT_NAME is empty)";
    let out = run(hello(), |env| {
        env.remove("SCRIPT_NAME");
        env.remove("PATH_INFO");
    });
    assert_eq!(out.message(), want);
    let out = run(hello(), |env| {
        env.set("SCRIPT_NAME", "").unwrap();
        env.remove("PATH_INFO");
    });
    assert_eq!(out.validation, Some(ValidationError::NoPath));
    // As in CPython, a present PATH_INFO is enough, even an empty one.
    run(hello(), |env| env.set("PATH_INFO", "").unwrap()).assert_clean();
    run(hello(), |env| {
        env.set("SCRIPT_NAME", "/app").unwrap();
        env.remove("PATH_INFO");
    })
    .assert_clean();
}

#[test]
fn environ_script_name_not_root() {
    let out = run(hello(), |env| env.set("SCRIPT_NAME", "/").unwrap());
    assert_eq!(
        out.message(),
        "SCRIPT_NAME cannot be '/'; it should instead be '', and PATH_INFO should be '/'"
    );
    run(hello(), |env| env.set("SCRIPT_NAME", "/a").unwrap()).assert_clean();
}

#[test]
fn environ_typed_fields_need_no_check() {
    // What CPython checks at run time (url_scheme, version) is a type here: any value the
    // types allow passes.
    let out = run(hello(), |env| {
        env.wsgi = Some(WsgiVars {
            version: (1, 0),
            url_scheme: UrlScheme::Https,
            multithread: true,
            multiprocess: true,
            run_once: true,
            file_wrapper: false,
        })
    });
    out.assert_clean();
}

// ---------------------------------------------------------------------------------------------
// start_response: status

#[test]
fn status_code_three_characters() {
    let out = run(
        starting("2000 OK", &[("Content-Type", "text/plain")]),
        |_| {},
    );
    assert_eq!(
        out.message(),
        "Status codes must be three characters: '2000'"
    );
    let out = run(starting("200OK", &[("Content-Type", "text/plain")]), |_| {});
    assert_eq!(
        out.message(),
        "Status codes must be three characters: '200OK'"
    );
    // Only the first word counts, after leading whitespace (str.split()).
    let out = run(
        starting("\x1c20 OK", &[("Content-Type", "text/plain")]),
        |_| {},
    );
    assert_eq!(out.message(), "Status codes must be three characters: '20'");
    for empty in ["", "   "] {
        let out = run(starting(empty, &[("Content-Type", "text/plain")]), |_| {});
        assert_eq!(out.validation, Some(ValidationError::StatusEmpty));
    }
    assert!(run(hello(), |_| {}).server.starts.len() == 1);
    hello_passes();
}

fn hello_passes() {
    let out = run(hello(), |_| {});
    out.assert_clean();
    assert_eq!(out.body, b"ok");
    assert_eq!(
        out.server.starts,
        [(
            "200 OK".to_string(),
            vec![("Content-Type".to_string(), "text/plain".to_string())],
            false
        )]
    );
}

#[test]
fn status_code_integer() {
    let out = run(
        starting("20X OK", &[("Content-Type", "text/plain")]),
        |_| {},
    );
    assert_eq!(
        out.message(),
        "invalid literal for int() with base 10: '20X'"
    );
    // Unicode digits: CPython's int() takes them; here they are refused.
    let out = run(
        starting("٢٠٠ OK", &[("Content-Type", "text/plain")]),
        |_| {},
    );
    assert!(matches!(
        out.validation,
        Some(ValidationError::StatusCodeNotInteger(_))
    ));
    hello_passes();
}

#[test]
fn status_code_at_least_100() {
    let cases = [
        ("099 Low", "Status code is invalid: 99"),
        ("+12 X", "Status code is invalid: 12"),
        ("-12 X", "Status code is invalid: -12"),
        ("1_0 X", "Status code is invalid: 10"),
        ("000 X", "Status code is invalid: 0"),
    ];
    for (status, want) in cases {
        let out = run(starting(status, &[("Content-Type", "text/plain")]), |_| {});
        assert_eq!(out.message(), want);
        assert!(
            out.server.starts.is_empty(),
            "refused before the server saw it"
        );
    }
    // No upper bound, as in CPython.
    run(
        starting("600 Beyond", &[("Content-Type", "text/plain")]),
        |_| {},
    )
    .assert_clean();
    run(
        starting("100 Continue", &[("Content-Type", "text/plain")]),
        |_| {},
    )
    .assert_clean();
}

#[test]
fn status_format_warning() {
    for (status, repr) in [
        ("200", "'200'"),
        ("200\tOK", "'200\\tOK'"),
        (" 200 OK", "' 200 OK'"),
    ] {
        let out = run(starting(status, &[("Content-Type", "text/plain")]), |_| {});
        assert!(
            out.error.is_none(),
            "{status:?} only warns: {:?}",
            out.error
        );
        assert_eq!(
            out.warnings
                .iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>(),
            [format!(
                "The status string ({repr}) should be a three-digit integer followed by a single \
                 space and a status explanation"
            )]
        );
        // The validator passed it on; refusing it is the handler's business.
        assert_eq!(out.server.starts.len(), 1);
    }
    hello_passes();
}

// ---------------------------------------------------------------------------------------------
// start_response: headers

const CT: (&str, &str) = ("Content-Type", "text/plain");

#[test]
fn header_status_forbidden() {
    let out = run(
        starting("200 OK", &[CT, ("status", "404 Not Found")]),
        |_| {},
    );
    assert_eq!(
        out.message(),
        "The Status header cannot be used; it conflicts with CGI script, and HTTP status is not \
         given through headers (value: '404 Not Found')."
    );
    run(starting("200 OK", &[CT, ("Status-Page", "x")]), |_| {}).assert_clean();
}

#[test]
fn header_name_colon_or_newline() {
    let out = run(starting("200 OK", &[CT, ("X:Y", "1")]), |_| {});
    assert_eq!(
        out.message(),
        "Header names may not contain ':' or '\\n': 'X:Y'"
    );
    let out = run(starting("200 OK", &[CT, ("X\nY", "1")]), |_| {});
    assert_eq!(
        out.message(),
        "Header names may not contain ':' or '\\n': 'X\\nY'"
    );
    run(starting("200 OK", &[CT, ("X-Y", "1")]), |_| {}).assert_clean();
}

#[test]
fn header_name_pattern() {
    for (name, repr) in [
        ("", "''"),
        ("1X", "'1X'"),
        ("X Y", "'X Y'"),
        ("X.Y", "'X.Y'"),
        ("Xé", "'Xé'"),
        ("-X", "'-X'"),
    ] {
        let headers: &'static [(&str, &str)] = Box::leak(Box::new([CT, (name, "1")]));
        let out = run(starting("200 OK", headers), |_| {});
        assert_eq!(out.message(), format!("Bad header name: {repr}"));
    }
    run(starting("200 OK", &[CT, ("x_Y-9", "1")]), |_| {}).assert_clean();
}

#[test]
fn header_name_end() {
    for (name, repr) in [("X-", "'X-'"), ("X_", "'X_'")] {
        let headers: &'static [(&str, &str)] = Box::leak(Box::new([CT, (name, "1")]));
        let out = run(starting("200 OK", headers), |_| {});
        assert_eq!(
            out.message(),
            format!("Names may not end in '-' or '_': {repr}")
        );
    }
    run(starting("200 OK", &[CT, ("X-1", "1")]), |_| {}).assert_clean();
}

#[test]
fn header_value_control_chars() {
    let cases = [
        ("a\tb", "Bad header value: 'a\\tb' (bad char: '\\t')"),
        ("a\r\nb", "Bad header value: 'a\\r\\nb' (bad char: '\\r')"),
        ("\x00", "Bad header value: '\\x00' (bad char: '\\x00')"),
        ("x\x1f", "Bad header value: 'x\\x1f' (bad char: '\\x1f')"),
    ];
    for (value, want) in cases {
        let headers: &'static [(&str, &str)] = Box::leak(Box::new([CT, ("X", value)]));
        let out = run(starting("200 OK", headers), |_| {});
        assert_eq!(out.message(), want);
    }
    // DEL and non-ASCII are fine, as in CPython.
    run(starting("200 OK", &[CT, ("X", "a\x7fé")]), |_| {}).assert_clean();
}

#[test]
fn content_type_required() {
    let out = run(starting("200 OK", &[("X", "y")]), |_| {});
    assert_eq!(
        out.message(),
        "No Content-Type header found in headers ([('X', 'y')])"
    );
    // Redirects and informational responses too, as in CPython.
    let out = run(starting("302 Found", &[("Location", "/")]), |_| {});
    assert_eq!(
        out.message(),
        "No Content-Type header found in headers ([('Location', '/')])"
    );
    let out = run(starting("200 OK", &[]), |_| {});
    assert_eq!(
        out.message(),
        "No Content-Type header found in headers ([])"
    );
    run(starting("200 OK", &[("content-TYPE", "text/html")]), |_| {}).assert_clean();
}

#[test]
fn content_type_forbidden_in_204_304() {
    for code in ["204 No Content", "304 Not Modified"] {
        let status: &'static str = code;
        let out = run(starting(status, &[CT]), |_| {});
        assert_eq!(
            out.message(),
            format!(
                "Content-Type header found in a {} response, which must not return content.",
                &code[..3]
            )
        );
        run(starting(status, &[("X", "y")]), |_| {}).assert_clean();
    }
}

#[test]
fn long_values_are_cut() {
    let long: &'static str = Box::leak("v".repeat(500).into_boxed_str());
    let headers: &'static [(&str, &str)] = Box::leak(Box::new([("X", long)]));
    let out = run(starting("200 OK", headers), |_| {});
    let msg = out.message();
    assert!(msg.starts_with("No Content-Type header found in headers ([('X', 'vvv"));
    assert!(msg.ends_with("...)"), "{msg}");
    assert!(msg.len() < 200);
}

#[test]
fn start_response_once_unless_exc_info() {
    let twice = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.start("200 OK", &[CT])?;
        sr.start("200 OK", &[CT])?;
        Ok::<_, AppError>(Empty)
    });
    let out = run(twice, |_| {});
    assert_eq!(out.message(), "Headers already set!");
    assert_eq!(out.error.as_ref().unwrap().0, "AssertionError");
    assert_eq!(
        out.server.starts.len(),
        1,
        "the second call did not reach the server"
    );

    let recovered = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.start("200 OK", &[CT])?;
        sr.start_with_exc_info("500 Oops", &[CT], AppError::msg("boom"))?;
        Ok::<_, AppError>(&b"sorry"[..])
    });
    let out = run(recovered, |_| {});
    out.assert_clean();
    assert_eq!(out.server.starts.len(), 2);
    assert_eq!(out.server.starts[1].0, "500 Oops");
    assert!(out.server.starts[1].2, "passed on as an exc_info call");
    assert_eq!(out.body, b"sorry");
}

#[test]
fn the_application_sees_the_validation_error() {
    let seen = RefCell::new(None);
    let app = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        if let Err(e) = sr.start("99 Low", &[CT]) {
            *seen.borrow_mut() = Some(e);
        }
        // Swallowing it does not help: the violation is still reported.
        Ok::<_, AppError>(&b"ignored"[..])
    });
    let out = run(app, |_| {});
    assert_eq!(out.message(), "Status codes must be three characters: '99'");
    assert_eq!(
        seen.into_inner(),
        Some(StartResponseError::Validation(
            ValidationError::StatusCodeLength(wsgiref::validate::Text::repr("99"))
        ))
    );
    assert!(out.body.is_empty());
}

// ---------------------------------------------------------------------------------------------
// write and the body

#[test]
fn write_before_start_response() {
    let early = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.write(b"too soon")?;
        Ok::<_, AppError>(Empty)
    });
    let out = run(early, |_| {});
    assert_eq!(out.message(), "write() before start_response()");
    assert!(out.server.written.is_empty());

    let legacy = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        let mut write = sr.start("200 OK", &[CT])?;
        write.write(b"in time")?;
        Ok::<_, AppError>(Empty)
    });
    let out = run(legacy, |_| {});
    out.assert_clean();
    assert_eq!(out.server.written, b"in time");
}

#[test]
fn body_not_pulled_before_start_response() {
    let lazy =
        app_fn(|_: &mut Environ<'_>, _: &mut StartResponse<'_>| Ok::<_, AppError>(&b"body"[..]));
    let out = run(lazy, |_| {});
    assert_eq!(
        out.message(),
        "The application returns and we started iterating over its body, but start_response \
         has not yet been called"
    );
    // The first chunk counts even when it is empty (as CPython's first item does).
    let empty_first = app_fn(|_: &mut Environ<'_>, _: &mut StartResponse<'_>| {
        Ok::<_, AppError>(Chunks::new([&b""[..]].into_iter()))
    });
    assert_eq!(
        run(empty_first, |_| {}).validation,
        Some(ValidationError::BodyBeforeStart)
    );
    // A body with no chunks at all is never a problem.
    let nothing = app_fn(|_: &mut Environ<'_>, _: &mut StartResponse<'_>| Ok::<_, AppError>(Empty));
    run(nothing, |_| {}).assert_clean();
    hello_passes();
}

/// Counts `close()` calls on the application's own body.
struct Counted<'c> {
    closes: &'c Cell<u32>,
    left: u32,
}

impl Body for Counted<'_> {
    fn next_chunk(&mut self) -> Result<Option<&[u8]>, AppError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        Ok(Some(b"x"))
    }

    fn close(&mut self) {
        self.closes.set(self.closes.get() + 1);
    }
}

fn counted(closes: &Cell<u32>, left: u32) -> impl Application + '_ {
    app_fn(move |_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.start("200 OK", &[CT])?;
        Ok::<_, AppError>(Counted { closes, left })
    })
}

/// Call `app` through the validator and hand back the validated body for a test to drive.
fn with_body<A: Application, R>(
    app: A,
    log: &WarningLog<8>,
    f: impl FnOnce(&mut dyn Body) -> R,
) -> R {
    let mut buf = EnvironBuf::<1024, 32>::new();
    let mut env = buf.environ();
    conforming(&mut env);
    let mut server = Server::default();
    let checked = validator(app).with_sink(log);
    let mut body = checked
        .call(&mut env, &mut StartResponse::new(&mut server))
        .unwrap();
    f(&mut body)
}

#[test]
fn body_not_read_after_close() {
    let closes = Cell::new(0);
    let log = WarningLog::<8>::new();
    let (first, after) = with_body(counted(&closes, 3), &log, |body| {
        let first = body.next_chunk().unwrap().map(<[u8]>::to_vec);
        body.close();
        let after = body.next_chunk().map(|c| c.map(<[u8]>::to_vec));
        (first, after.map_err(|e| e.to_string()))
    });
    assert_eq!(first.as_deref(), Some(&b"x"[..]));
    assert_eq!(after, Err("Iterator read after closed".to_string()));
    assert!(log.is_empty());
}

#[test]
fn body_closed_exactly_once() {
    let closes = Cell::new(0);
    let log = WarningLog::<8>::new();
    with_body(counted(&closes, 1), &log, |body| {
        body.close();
        body.close();
    });
    assert_eq!(closes.get(), 1, "the application's body saw one close");
    assert_eq!(log.warnings().as_slice(), &[Warning::BodyClosedTwice]);

    closes.set(0);
    let log = WarningLog::<8>::new();
    with_body(counted(&closes, 1), &log, |body| body.close());
    assert_eq!(closes.get(), 1);
    assert!(log.is_empty());
}

#[test]
fn body_dropped_unclosed_warns() {
    let closes = Cell::new(0);
    let log = WarningLog::<8>::new();
    with_body(counted(&closes, 1), &log, |body| {
        let _ = body.next_chunk();
    });
    assert_eq!(closes.get(), 0);
    assert_eq!(log.warnings().as_slice(), &[Warning::BodyNotClosed]);
    assert_eq!(
        Warning::BodyNotClosed.to_string(),
        "Iterator garbage collected without being closed"
    );
}

#[test]
fn a_refused_call_closes_the_returned_body() {
    // The application ignores the refusal and returns a body anyway; the validator reports
    // the violation and closes that body, as the handler would have.
    let closes = Cell::new(0);
    let app = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        let _ = sr.start("200 OK", &[("Status", "200")]);
        Ok::<_, AppError>(Counted {
            closes: &closes,
            left: 1,
        })
    });
    let out = run(app, |_| {});
    assert!(out
        .message()
        .starts_with("The Status header cannot be used"));
    assert_eq!(closes.get(), 1);
}

#[test]
fn body_length_is_passed_on() {
    let closes = Cell::new(0);
    let log = WarningLog::<8>::new();
    assert_eq!(
        with_body(hello(), &log, |body| {
            let n = body.length();
            body.close();
            n
        }),
        Some(2)
    );
    assert_eq!(
        with_body(counted(&closes, 2), &log, |body| {
            let n = body.length();
            body.close();
            n
        }),
        None
    );
}

// ---------------------------------------------------------------------------------------------
// wsgi.input

/// An input stream that misbehaves in a chosen way.
enum BadInput {
    /// Claims to have read more than the buffer holds.
    Overcount,
    /// Returns more than the line from `read_line`.
    LongLine,
}

impl InputStream for BadInput {
    fn read(&self, buf: &mut [u8]) -> Result<usize, InputError> {
        Ok(match self {
            BadInput::Overcount => buf.len() + 1,
            BadInput::LongLine => 0,
        })
    }

    fn read_line(&self, buf: &mut [u8]) -> Result<usize, InputError> {
        match self {
            BadInput::Overcount => self.read(buf),
            BadInput::LongLine => {
                let line = b"a\nb";
                let n = line.len().min(buf.len());
                buf[..n].copy_from_slice(&line[..n]);
                Ok(n)
            }
        }
    }
}

/// An application that reads the body with `read` (or `read_line`) into a 4-byte buffer and
/// echoes what it got; an input error is returned as the application's error.
fn reader(lines: bool) -> impl Application {
    app_fn(move |env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        let mut got = heapless::Vec::<u8, 64>::new();
        let mut buf = [0u8; 4];
        for _ in 0..16 {
            let n = if lines {
                env.input().read_line(&mut buf)?
            } else {
                env.input().read(&mut buf)?
            };
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n])
                .map_err(|_| AppError::msg("too long"))?;
        }
        sr.start("200 OK", &[CT])?;
        Ok::<_, AppError>(wsgiref_core::app::Once::new(got))
    })
}

#[test]
fn input_count_fits_the_buffer() {
    let bad = BadInput::Overcount;
    let out = run_with_input(reader(false), |_| {}, Some(&bad));
    assert_eq!(
        out.message(),
        "wsgi.input returned 5 bytes for a read into 4 bytes"
    );
    let out = run_with_input(reader(true), |_| {}, Some(&bad));
    assert_eq!(
        out.validation,
        Some(ValidationError::InputOverRead { asked: 4, got: 5 })
    );
    let good = SliceInput::new(b"hello, world");
    let out = run_with_input(reader(false), |_| {}, Some(&good));
    out.assert_clean();
    assert_eq!(out.body, b"hello, world");
}

#[test]
fn input_line_ends_at_newline() {
    let bad = BadInput::LongLine;
    let out = run_with_input(reader(true), |_| {}, Some(&bad));
    assert_eq!(
        out.message(),
        "wsgi.input returned bytes past the end of a line"
    );
    let good = SliceInput::new(b"ab\ncd\nef");
    let out = run_with_input(reader(true), |_| {}, Some(&good));
    out.assert_clean();
    assert_eq!(out.body, b"ab\ncd\nef");
}

#[test]
fn input_not_past_content_length() {
    // A stream that ignores CONTENT_LENGTH (the server's bug).
    let body = SliceInput::new(b"0123456789");
    let out = run_with_input(
        reader(false),
        |env| env.set("CONTENT_LENGTH", "6").unwrap(),
        Some(&body),
    );
    assert_eq!(
        out.message(),
        "wsgi.input returned more bytes than CONTENT_LENGTH (6)"
    );
    // Exactly CONTENT_LENGTH bytes is right; so is no CONTENT_LENGTH at all.
    let body = SliceInput::new(b"012345");
    run_with_input(
        reader(false),
        |env| env.set("CONTENT_LENGTH", "6").unwrap(),
        Some(&body),
    )
    .assert_clean();
    let body = SliceInput::new(b"0123456789");
    let out = run_with_input(reader(false), |_| {}, Some(&body));
    out.assert_clean();
    assert_eq!(out.body, b"0123456789");
}

#[test]
fn the_original_input_is_attached_again() {
    let body = SliceInput::new(b"abc");
    let mut buf = EnvironBuf::<1024, 32>::new();
    let mut env = buf.environ();
    conforming(&mut env);
    env.set_input(&body);
    let app = app_fn(|env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        env.set("X_SEEN", "1")?;
        let mut one = [0u8; 1];
        env.input().read(&mut one)?;
        sr.start("200 OK", &[CT])?;
        Ok::<_, AppError>(Empty)
    });
    let log = WarningLog::<8>::new();
    let mut server = Server::default();
    let mut result = validator(app)
        .with_sink(&log)
        .call(&mut env, &mut StartResponse::new(&mut server))
        .unwrap();
    result.close();
    // The application's change to the environ stayed; the server's stream is back, one byte
    // further on.
    assert_eq!(env.get_str("X_SEEN"), Some("1"));
    let mut rest = [0u8; 8];
    assert_eq!(env.input().read(&mut rest).unwrap(), 2);
    assert_eq!(&rest[..2], b"bc");
}
