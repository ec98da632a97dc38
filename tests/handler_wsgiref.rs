//! Our own versions of the HandlerTests and IntegrationTests of CPython's test_wsgiref.py,
//! run through the core handlers over in-memory streams.

use std::cell::{Cell, RefCell};

use wsgiref_core::app::{app_fn, Body, Chunks, Empty, StartResponse, StartResponseError};
use wsgiref_core::environ::Environ;
use wsgiref_core::handler::{
    BaseCgiHandler, Connection, HandlerConfig, MemoryBuf, Outcome, RunReport, Served, ServerConfig,
    SimpleHandler,
};
use wsgiref_core::headers::HeaderError;
use wsgiref_core::proto::HttpDate;
use wsgiref_core::storage::CapacityKind;
use wsgiref_core::stream::ErrorStream;
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

fn environ_from(pairs: &[(&str, &[u8])]) -> Environ<'static> {
    let mut env = Environ::new();
    for (k, v) in pairs {
        env.set(k, v).unwrap();
    }
    env
}

/// Run `app` under BaseCgiHandler with `setup_testing_defaults` applied to `pairs`.
fn run_cgi<A: Application>(app: &A, pairs: &[(&str, &[u8])]) -> (Vec<u8>, String, RunReport) {
    let mut env = environ_from(pairs);
    wsgiref_core::util::setup_testing_defaults(&mut env).unwrap();
    let errors = Captured::default();
    let mut out = Vec::new();
    let mut memory: MemoryBuf = MemoryBuf::new();
    let report = {
        let mut handler = BaseCgiHandler::new(&b""[..], &mut out, &errors, env, memory.memory());
        handler.run(app)
    };
    (out, errors.0.into_inner(), report)
}

/// Run `app` under SimpleHandler (origin framing) with `config` tweaks and a fixed date.
fn run_origin<A: Application>(
    app: &A,
    pairs: &[(&str, &[u8])],
    config: impl FnOnce(&mut HandlerConfig),
) -> (Vec<u8>, String) {
    let mut env = environ_from(pairs);
    wsgiref_core::util::setup_testing_defaults(&mut env).unwrap();
    let errors = Captured::default();
    let mut out = Vec::new();
    let mut memory: MemoryBuf = MemoryBuf::new();
    {
        let mut handler = SimpleHandler::new(&b""[..], &mut out, &errors, env, memory.memory());
        config(&mut handler.config);
        handler.set_date(Some(HttpDate::from_unix(1149533394)));
        handler.run(app);
    }
    (out, errors.0.into_inner())
}

#[test]
fn content_length_rules() {
    // One chunk of known length: Content-Length.
    let one = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.start("200 OK", &[])?;
        Ok::<_, AppError>(&b"http"[..])
    });
    let (out, _, _) = run_cgi(&one, &[]);
    assert_eq!(out, b"Status: 200 OK\r\nContent-Length: 4\r\n\r\nhttp");

    // write() before returning: no automatic Content-Length.
    let written = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.start("200 OK", &[])?.write(b"http")?;
        Ok::<_, AppError>(Empty)
    });
    let (out, _, _) = run_cgi(&written, &[]);
    assert_eq!(out, b"Status: 200 OK\r\n\r\nhttp");

    // Multi-byte UTF-8 counts bytes.
    let utf8 = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.start("200 OK", &[])?;
        Ok::<_, AppError>("тест")
    });
    let (out, _, _) = run_cgi(&utf8, &[]);
    assert!(out.starts_with(b"Status: 200 OK\r\nContent-Length: 8\r\n\r\n"));

    // An application's own Content-Length is kept verbatim.
    let own = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.start("200 OK", &[("Content-Length", "12345")])?;
        Ok::<_, AppError>(Empty)
    });
    let (out, _, _) = run_cgi(&own, &[]);
    assert_eq!(out, b"Status: 200 OK\r\nContent-Length: 12345\r\n\r\n");

    // Several chunks of unknown total: none (CPython's list of two chunks).
    let chunks = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.start("200 OK", &[])?;
        Ok::<_, AppError>(Chunks::new(["a", "bc"].into_iter()))
    });
    let (out, _, _) = run_cgi(&chunks, &[]);
    assert_eq!(out, b"Status: 200 OK\r\n\r\nabc");
}

#[test]
fn basic_error_output() {
    let empty = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.start("200 OK", &[])?;
        Ok::<_, AppError>(Empty)
    });
    let (out, errors, report) = run_cgi(&empty, &[]);
    assert_eq!(out, b"Status: 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(errors, "");
    assert_eq!(report.outcome, Outcome::Complete);

    let failing = app_fn(|_: &mut Environ<'_>, _: &mut StartResponse<'_>| {
        Err::<Empty, _>(AppError::msg("boom"))
    });
    let (out, errors, report) = run_cgi(&failing, &[]);
    let mut expected = b"Status: 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 59\r\n\r\n".to_vec();
    expected.extend_from_slice(ERROR_BODY);
    assert_eq!(out, expected);
    assert!(errors.contains("boom"), "{errors}");
    assert_eq!(report.outcome, Outcome::ErrorPage);
    assert_eq!(report.status, 500);
}

#[test]
fn error_after_output_truncates() {
    let app = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.start("200 OK", &[])?
            .write(b"Some output has been sent")?;
        Err::<Empty, _>(AppError::msg("late failure"))
    });
    let (out, errors, report) = run_cgi(&app, &[]);
    assert_eq!(out, b"Status: 200 OK\r\n\r\nSome output has been sent");
    assert!(errors.contains("late failure"));
    assert_eq!(report.outcome, Outcome::Truncated);
}

#[test]
fn header_formats() {
    let empty = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.start("200 OK", &[])?;
        Ok::<_, AppError>(Empty)
    });
    for software in [Some("FooBar/1.0"), None] {
        for version in [
            wsgiref_core::proto::Version::Http10,
            wsgiref_core::proto::Version::Http11,
        ] {
            for proto in ["HTTP/0.9", "HTTP/1.0", "HTTP/1.1"] {
                let pairs: &[(&str, &[u8])] = &[("SERVER_PROTOCOL", proto.as_bytes())];
                // CGI: always the same, whatever the protocol.
                let (out, _, _) = run_cgi(&empty, pairs);
                assert_eq!(out, b"Status: 200 OK\r\nContent-Length: 0\r\n\r\n");
                let (out, _) = run_origin(&empty, pairs, |c| {
                    c.server_software = software;
                    c.http_version = version;
                });
                if proto == "HTTP/0.9" {
                    assert_eq!(out, b"");
                    continue;
                }
                let v = if version == wsgiref_core::proto::Version::Http11 {
                    "1.1"
                } else {
                    "1.0"
                };
                let server = software
                    .map(|s| format!("Server: {s}\r\n"))
                    .unwrap_or_default();
                let expected = format!(
                    "HTTP/{v} 200 OK\r\nDate: Mon, 05 Jun 2006 18:49:54 GMT\r\n{server}Content-Length: 0\r\n\r\n"
                );
                assert_eq!(String::from_utf8_lossy(&out), expected);
            }
        }
    }
}

#[test]
fn bytes_data() {
    let app = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.start("200 OK", &[("Content-Type", "text/plain; charset=utf-8")])?;
        Ok::<_, AppError>(&b"data"[..])
    });
    let (out, _, _) = run_cgi(&app, &[]);
    assert_eq!(
        out,
        b"Status: 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 4\r\n\r\ndata"
    );
}

/// A body that yields once, then fails, and records its close calls.
struct FailingBody<'c> {
    closed: &'c Cell<u32>,
    step: u32,
}

impl Body for FailingBody<'_> {
    fn next_chunk(&mut self) -> Result<Option<&[u8]>, AppError> {
        self.step += 1;
        match self.step {
            1 => Ok(Some(b"first")),
            _ => Err(AppError::msg("iteration failed")),
        }
    }

    fn close(&mut self) {
        self.closed.set(self.closed.get() + 1);
    }
}

#[test]
fn close_on_error_exactly_once() {
    let closed = Cell::new(0);
    let app = |_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.start("200 OK", &[])?.write(b"x")?;
        Ok::<_, AppError>(FailingBody {
            closed: &closed,
            step: 0,
        })
    };
    let (out, errors, _) = run_cgi(&app, &[]);
    assert_eq!(closed.get(), 1);
    assert_eq!(out, b"Status: 200 OK\r\n\r\nxfirst");
    assert!(errors.contains("iteration failed"));
}

/// A writer that accepts at most 7 bytes per call.
struct Trickle(Vec<u8>);

impl embedded_io::ErrorType for Trickle {
    type Error = embedded_io::ErrorKind;
}

impl embedded_io::Write for Trickle {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        let n = buf.len().min(7);
        self.0.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[test]
fn partial_writes_are_completed() {
    let app = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.start(
            "200 OK",
            &[
                ("Content-Type", "text/plain"),
                ("Date", "Mon, 05 Jun 2006 18:49:54 GMT"),
            ],
        )?;
        Ok::<_, AppError>(&b"Hello, world!"[..])
    });
    let mut env = environ_from(&[]);
    wsgiref_core::util::setup_testing_defaults(&mut env).unwrap();
    let mut memory: MemoryBuf = MemoryBuf::new();
    let mut out = Trickle(Vec::new());
    let errors = Captured::default();
    SimpleHandler::new(&b""[..], &mut out, &errors, env, memory.memory()).run(&app);
    assert_eq!(
        out.0,
        b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nDate: Mon, 05 Jun 2006 18:49:54 GMT\r\nContent-Length: 13\r\n\r\nHello, world!"
    );
}

/// A writer whose every write fails with the given kind.
struct Broken(embedded_io::ErrorKind);

impl embedded_io::ErrorType for Broken {
    type Error = embedded_io::ErrorKind;
}

impl embedded_io::Write for Broken {
    fn write(&mut self, _: &[u8]) -> Result<usize, Self::Error> {
        Err(self.0)
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Err(self.0)
    }
}

#[test]
fn client_disconnects_are_quiet() {
    use embedded_io::ErrorKind;
    let app = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.start("200 OK", &[("Content-Type", "text/plain")])?;
        Ok::<_, AppError>(&b"Hello, world!"[..])
    });
    for kind in [
        ErrorKind::ConnectionAborted,
        ErrorKind::BrokenPipe,
        ErrorKind::ConnectionReset,
    ] {
        let mut env = environ_from(&[]);
        wsgiref_core::util::setup_testing_defaults(&mut env).unwrap();
        let errors = Captured::default();
        let mut memory: MemoryBuf = MemoryBuf::new();
        let report =
            SimpleHandler::new(&b""[..], Broken(kind), &errors, env, memory.memory()).run(&app);
        assert_eq!(report.outcome, Outcome::Disconnected);
        assert_eq!(errors.0.into_inner(), "");
    }
    // Any other write error is logged.
    let mut env = environ_from(&[]);
    wsgiref_core::util::setup_testing_defaults(&mut env).unwrap();
    let errors = Captured::default();
    let mut memory: MemoryBuf = MemoryBuf::new();
    let report = SimpleHandler::new(
        &b""[..],
        Broken(ErrorKind::Other),
        &errors,
        env,
        memory.memory(),
    )
    .run(&app);
    assert_ne!(report.outcome, Outcome::Complete);
    assert!(!errors.0.into_inner().is_empty());
}

#[test]
fn environ_layers_os_environ_request_and_wsgi() {
    let mut os = Environ::new();
    for (k, v) in [
        ("HOME", "/my/home"),
        ("PATH", "/my/path"),
        ("LANG", "Swedish"),
        ("SCRIPT_NAME", "/os/script"),
        ("SERVER_NAME", "os.example"),
    ] {
        os.set(k, v).unwrap();
    }
    let seen = RefCell::new(Vec::new());
    let app = |env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        let mut s = seen.borrow_mut();
        for (k, v) in env.iter() {
            s.push((k.to_string(), v.to_vec()));
        }
        s.push((
            "wsgi".into(),
            format!(
                "{:?}",
                env.wsgi
                    .map(|w| (w.multithread, w.multiprocess, w.run_once))
            )
            .into_bytes(),
        ));
        sr.start("200 OK", &[])?;
        Ok::<_, AppError>(Empty)
    };
    let mut env = environ_from(&[("X", b"Y"), ("HOME", b"/override/home")]);
    wsgiref_core::util::setup_testing_defaults(&mut env).unwrap();
    let mut memory: MemoryBuf = MemoryBuf::new();
    let mut out = Vec::new();
    {
        let mut handler = SimpleHandler::new(
            &b""[..],
            &mut out,
            Captured::default(),
            env,
            memory.memory(),
        )
        .with_flags(true, true);
        handler.set_os_environ(&os);
        handler.run(&app);
    }
    let seen = seen.into_inner();
    let get = |k: &str| {
        seen.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| String::from_utf8(v.clone()).unwrap())
    };
    assert_eq!(get("HOME").as_deref(), Some("/override/home"));
    assert_eq!(get("PATH").as_deref(), Some("/my/path"));
    assert_eq!(get("X").as_deref(), Some("Y"));
    assert_eq!(get("SCRIPT_NAME").as_deref(), Some(""));
    assert_eq!(get("SERVER_NAME").as_deref(), Some("127.0.0.1"));
    assert_eq!(get("wsgi").as_deref(), Some("Some((true, true, false))"));
    // CPython's dict order: the os_environ copy first.
    assert_eq!(seen[0].0, "HOME");
}

#[test]
fn scheme_follows_https() {
    let scheme = RefCell::new(None);
    let app = |env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        *scheme.borrow_mut() = env.url_scheme();
        sr.start("200 OK", &[])?;
        Ok::<_, AppError>(Empty)
    };
    run_cgi(&app, &[("HTTPS", b"on")]);
    assert_eq!(*scheme.borrow(), Some(wsgiref_core::UrlScheme::Https));
    run_cgi(&app, &[]);
    assert_eq!(*scheme.borrow(), Some(wsgiref_core::UrlScheme::Http));
}

#[test]
fn start_response_rules() {
    // A second call without exc_info fails; the first status stands.
    let twice = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.start("200 OK", &[])?;
        let second = sr.start("404 Not Found", &[]).map(|_| ());
        assert_eq!(second.unwrap_err().to_string(), "Headers already set!");
        Ok::<_, AppError>(&b"x"[..])
    });
    let (out, _, _) = run_cgi(&twice, &[]);
    assert!(out.starts_with(b"Status: 200 OK\r\n"));

    // exc_info before output replaces status and headers.
    let replaced = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.start("200 OK", &[("X-App", "1")])?;
        sr.start_with_exc_info("500 Oops", &[("X-Err", "1")], AppError::msg("caught"))?;
        Ok::<_, AppError>(&b"err"[..])
    });
    let (out, _, _) = run_cgi(&replaced, &[]);
    assert_eq!(
        out,
        b"Status: 500 Oops\r\nX-Err: 1\r\nContent-Length: 3\r\n\r\nerr"
    );

    // exc_info after output re-raises: the request is truncated and logged.
    let reraised = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.start("200 OK", &[])?.write(b"partial")?;
        sr.start_with_exc_info("500 Oops", &[], AppError::msg("original"))?;
        Ok::<_, AppError>(Empty)
    });
    let (out, errors, report) = run_cgi(&reraised, &[]);
    assert_eq!(out, b"Status: 200 OK\r\n\r\npartial");
    assert!(errors.contains("original"));
    assert_eq!(report.outcome, Outcome::Truncated);

    // Bad statuses and hop-by-hop headers become the error page, with CPython's messages.
    for (status, headers, message) in [
        ("200", &[][..], "Status must be at least 4 characters"),
        (
            "20X OK",
            &[][..],
            "Status message must begin w/3-digit code",
        ),
        (
            "200OK",
            &[][..],
            "Status message must have a space after code",
        ),
        (
            "200 OK",
            &[("Connection", "close")][..],
            "Hop-by-hop header, 'Connection: close', not allowed",
        ),
    ] {
        let app = |_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
            sr.start(status, headers)?;
            Ok::<_, AppError>(Empty)
        };
        let (out, errors, _) = run_cgi(&app, &[]);
        assert!(out.starts_with(b"Status: 500 Internal Server Error\r\n"));
        assert!(out.ends_with(ERROR_BODY));
        assert!(errors.contains(message), "{errors}");
    }

    // No start_response at all, with a body or without.
    let never =
        app_fn(|_: &mut Environ<'_>, _: &mut StartResponse<'_>| Ok::<_, AppError>(&b"x"[..]));
    let (out, errors, _) = run_cgi(&never, &[]);
    assert!(out.starts_with(b"Status: 500"));
    assert!(
        errors.contains("AssertionError: write() before start_response()\n"),
        "{errors}"
    );
    let never_empty =
        app_fn(|_: &mut Environ<'_>, _: &mut StartResponse<'_>| Ok::<_, AppError>(Empty));
    let (out, _, _) = run_cgi(&never_empty, &[]);
    assert!(out.starts_with(b"Status: 500"));
}

/// An application that sets one header `X: <n x's>` and answers `ok`, keeping what its
/// start_response call returned.
fn one_header_app(n: usize, seen: &RefCell<Option<StartResponseError>>) -> impl Application + '_ {
    app_fn(move |_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        let value = "x".repeat(n);
        if let Err(e) = sr.start("200 OK", &[("X", &value)]) {
            *seen.borrow_mut() = Some(e.clone());
            return Err(e.into());
        }
        Ok::<_, AppError>(&b"ok"[..])
    })
}

#[test]
fn the_response_head_must_fit_the_output_buffer() {
    // start_response writes the head into the output buffer (2048 B by default), where a
    // later call with exc_info can still replace it. CGI framing: `Status: 200 OK\r\n` (16)
    // and `X: <value>\r\n` (5 + n).
    let seen = RefCell::new(None);
    let (out, _, _) = run_cgi(&one_header_app(2048 - 16 - 5, &seen), &[]);
    assert!(seen.borrow().is_none());
    assert!(out.starts_with(b"Status: 200 OK\r\nX: xxx"), "{out:?}");
    assert!(out.ends_with(b"\r\nContent-Length: 2\r\n\r\nok"));

    let (out, errors, report) = run_cgi(&one_header_app(2048 - 16 - 4, &seen), &[]);
    match seen.borrow_mut().take() {
        Some(StartResponseError::Header(HeaderError::Capacity(c))) => {
            assert_eq!(
                (c.kind, c.needed, c.capacity),
                (CapacityKind::Bytes, 2049, 2048)
            );
        }
        other => panic!("expected a capacity error, got {other:?}"),
    }
    // The application passed the error on: the error page replaces the response.
    assert!(out.starts_with(b"Status: 500 Internal Server Error\r\n"));
    assert!(out.ends_with(ERROR_BODY));
    assert!(errors.contains("2049"), "{errors}");
    assert_eq!(report.outcome, Outcome::ErrorPage);

    // Origin framing counts the status line, Date and Server too: find where the
    // application's line starts in a response that fits, and move the value to the edge.
    let (out, _) = run_origin(&one_header_app(1, &seen), &[], |_| {});
    let before = out.windows(5).position(|w| w == b"X: x\r").unwrap();
    assert!(out.starts_with(b"HTTP/1.0 200 OK\r\nDate: "));
    let edge = 2048 - before - 5;
    let (out, _) = run_origin(&one_header_app(edge, &seen), &[], |_| {});
    assert!(seen.borrow().is_none());
    assert!(out.ends_with(b"\r\n\r\nok"));
    let (out, _) = run_origin(&one_header_app(edge + 1, &seen), &[], |_| {});
    assert!(
        matches!(&*seen.borrow(), Some(StartResponseError::Header(HeaderError::Capacity(c))) if c.needed == 2049)
    );
    assert!(out.starts_with(b"HTTP/1.0 500 Internal Server Error\r\n"));
}

#[test]
fn a_failed_start_response_never_sends_its_head() {
    // The application ignores start_response's refusal and returns a body anyway: it gets
    // the error page, never a head with the refused status or header.
    for (status, headers) in [
        ("20X OK", &[][..]),
        ("200 OK", &[("Connection", "close")][..]),
        ("200 OK", &[("X-Ok", "1"), ("X-Bad", "a\r\nb")][..]),
    ] {
        let app = |_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
            assert!(sr.start(status, headers).is_err());
            Ok::<_, AppError>(&b"body"[..])
        };
        let (out, errors, report) = run_cgi(&app, &[]);
        assert!(
            out.starts_with(b"Status: 500 Internal Server Error\r\n"),
            "{status} {headers:?}: {}",
            String::from_utf8_lossy(&out)
        );
        assert!(!out.windows(4).any(|w| w == b"X-Ok" || w == b"body"));
        assert!(
            errors.contains("AssertionError: write() before start_response()\n"),
            "{errors}"
        );
        assert_eq!(report.outcome, Outcome::ErrorPage);
    }
}

#[test]
fn head_and_bodyless_statuses_send_no_body() {
    let app = app_fn(|env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        let status = if env.get("PATH_INFO") == Some(b"/204") {
            "204 No Content"
        } else {
            "200 OK"
        };
        sr.start(status, &[])?;
        Ok::<_, AppError>(&b"body"[..])
    });
    let (out, _, _) = run_cgi(&app, &[("REQUEST_METHOD", b"HEAD")]);
    assert_eq!(out, b"Status: 200 OK\r\nContent-Length: 4\r\n\r\n");
    let (out, _, _) = run_cgi(&app, &[("PATH_INFO", b"/204")]);
    assert_eq!(out, b"Status: 204 No Content\r\n\r\n");
}

// --- integration: HTTP requests through Connection ------------------------------------------

/// In-memory transport: reads from `input`, collects output.
struct Pipe<'a> {
    input: &'a [u8],
    output: Vec<u8>,
}

impl embedded_io::ErrorType for Pipe<'_> {
    type Error = embedded_io::ErrorKind;
}

impl embedded_io::Read for Pipe<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = buf.len().min(self.input.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Ok(n)
    }
}

impl embedded_io::Write for Pipe<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

fn serve_all<A: Application>(
    app: &A,
    request: &[u8],
    config: ServerConfig,
) -> (Vec<u8>, Vec<Served>) {
    let mut rx = vec![0u8; 70_000];
    let mut memory = wsgiref_core::handler::OwnedMemory::default();
    let mut conn: Connection<'_, _> = Connection::new(
        Pipe {
            input: request,
            output: Vec::new(),
        },
        &mut rx,
        memory.memory(),
        config,
    );
    let mut base = Environ::new();
    for (k, v) in [
        ("SERVER_NAME", "localhost"),
        ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("SERVER_PORT", "80"),
        ("REMOTE_HOST", ""),
        ("CONTENT_LENGTH", ""),
        ("SCRIPT_NAME", ""),
        ("REMOTE_ADDR", "127.0.0.1"),
    ] {
        base.set(k, v).unwrap();
    }
    let mut served = Vec::new();
    for _ in 0..16 {
        match conn.serve_one(app, &base, Some(HttpDate::from_unix(1149533394))) {
            Ok(Served::Closed) => break,
            Ok(s) => {
                let closed = conn.is_closed();
                served.push(s);
                if closed {
                    break;
                }
            }
            Err(e) => panic!("connection error: {e}"),
        }
    }
    (conn.into_inner().output, served)
}

fn hello_app() -> impl Application {
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

#[test]
fn plain_hello_http10() {
    let mut config = ServerConfig::default();
    config.handler.server_software = Some("WSGIServer/0.2");
    config.handler.http_version = wsgiref_core::proto::Version::Http10;
    let (out, _) = serve_all(&hello_app(), b"GET / HTTP/1.0\n\n", config);
    assert_eq!(
        String::from_utf8_lossy(&out),
        "HTTP/1.0 200 OK\r\nServer: WSGIServer/0.2\r\nContent-Type: text/plain\r\nDate: Mon, 05 Jun 2006 18:49:54 GMT\r\nContent-Length: 13\r\n\r\nHello, world!"
    );
}

#[test]
fn environ_from_request() {
    let app = app_fn(|env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.start("200 OK", &[("Content-Type", "text/plain")])?;
        let mut body = Vec::new();
        for key in ["HTTP_X_TEST_HEADER", "QUERY_STRING", "PATH_INFO"] {
            body.extend_from_slice(env.get(key).unwrap_or(b"-"));
            body.push(b';');
        }
        Ok::<_, AppError>(wsgiref_core::app::Once::new(body))
    });
    let request = b"GET /p%61th/?query=test HTTP/1.0\nX-Test-Header: Python test \nX-Test-Header: Python test 2\nContent-Length: 0\n\n";
    let (out, _) = serve_all(&app, request, ServerConfig::default());
    assert!(
        out.ends_with(b"Python test,Python test 2;query=test;/path/;"),
        "{}",
        String::from_utf8_lossy(&out)
    );
}

#[test]
fn request_line_too_long() {
    let mut request = b"GET ".to_vec();
    request.extend(std::iter::repeat_n(b'x', 65537));
    request.extend_from_slice(b" HTTP/1.0\r\n\r\n");
    let (out, served) = serve_all(&hello_app(), &request, ServerConfig::default());
    assert!(
        out.starts_with(b"HTTP/1.1 414 "),
        "{}",
        String::from_utf8_lossy(&out[..40])
    );
    assert!(matches!(served[0], Served::Rejected { .. }));
}

#[test]
fn cp1252_url_bytes_pass_through() {
    let app = app_fn(|env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.start("200 OK", &[("Content-Type", "text/plain")])?;
        Ok::<_, AppError>(wsgiref_core::app::Once::new(
            env.get("PATH_INFO").unwrap_or_default().to_vec(),
        ))
    });
    let (out, _) = serve_all(&app, b"GET /\x80%80 HTTP/1.0\n\n", ServerConfig::default());
    assert!(out.ends_with(b"\r\n\r\n/\x80\x80"), "{:?}", out);
}

#[test]
fn keep_alive_and_pipelining() {
    let request = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let (out, served) = serve_all(&hello_app(), request, ServerConfig::default());
    assert_eq!(served.len(), 2);
    let text = String::from_utf8_lossy(&out);
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 2, "{text}");
    assert!(
        text.ends_with("Connection: close\r\n\r\nHello, world!"),
        "{text}"
    );
}

#[test]
fn chunked_upload_is_decoded_for_the_application() {
    let app = app_fn(|env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        let body = env.input().read_to_vec(1 << 20)?;
        sr.start("200 OK", &[("Content-Type", "application/octet-stream")])?;
        Ok::<_, AppError>(wsgiref_core::app::Once::new(body))
    });
    let request = b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    let (out, served) = serve_all(&app, request, ServerConfig::default());
    assert!(
        out.ends_with(b"Content-Length: 11\r\n\r\nhello world"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    assert!(matches!(&served[0], Served::Request(log) if log.status == 200));
}

#[test]
fn streaming_response_is_chunked_on_http11() {
    let app = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.start("200 OK", &[("Content-Type", "text/plain")])?;
        Ok::<_, AppError>(Chunks::new(["ab", "", "cde"].into_iter()))
    });
    let (out, _) = serve_all(
        &app,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        ServerConfig::default(),
    );
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("Transfer-Encoding: chunked\r\n"), "{text}");
    assert!(
        text.ends_with("\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n"),
        "{text}"
    );
}

#[test]
fn malformed_request_gets_400_and_closes() {
    let request = b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /next HTTP/1.1\r\n\r\n";
    let (out, served) = serve_all(&hello_app(), request, ServerConfig::default());
    assert!(out.starts_with(b"HTTP/1.1 400 Bad Request\r\n"));
    assert_eq!(served.len(), 1);
    assert_eq!(String::from_utf8_lossy(&out).matches("HTTP/1.1").count(), 1);
}

#[test]
fn the_base_environ_errors_stream_reaches_each_request() {
    let failing = app_fn(|_: &mut Environ<'_>, _: &mut StartResponse<'_>| {
        Err::<Empty, _>(AppError::msg("logged through the base environ"))
    });
    let errors = Captured::default();
    let mut base = Environ::new();
    base.set("SERVER_NAME", "localhost").unwrap();
    base.set_errors(&errors);
    let mut rx = vec![0u8; 4096];
    let mut memory = wsgiref_core::handler::OwnedMemory::default();
    let pipe = Pipe {
        input: b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        output: Vec::new(),
    };
    let mut conn: Connection<'_, _> =
        Connection::new(pipe, &mut rx, memory.memory(), ServerConfig::default());
    let served = conn.serve_one(&failing, &base, None).unwrap();
    assert!(matches!(served, Served::Request(ref log) if log.status == 500));
    assert!(errors
        .0
        .borrow()
        .contains("logged through the base environ"));
}

#[test]
fn closing_after_an_http10_request_says_so() {
    // An HTTP/1.1 status line to an HTTP/1.0 client that did not ask for keep-alive: the
    // response must say the connection ends, or the client may wait for more.
    let (out, _) = serve_all(
        &hello_app(),
        b"GET / HTTP/1.0\r\n\r\n",
        ServerConfig::default(),
    );
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("\r\nConnection: close\r\n"), "{text}");
}
