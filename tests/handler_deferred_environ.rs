//! The per-request environ through the public handlers: the sans-IO session's deferred
//! environ (answered from the request head) and the blocking connection's written-out one
//! (its body streamed into the buffer behind the head) give the application the same
//! variables; requests whose variables might not fit the environ storage are refused before
//! the application runs.

use std::cell::RefCell;

use wsgiref_core::app::{app_fn, StartResponse};
use wsgiref_core::environ::EnvironBuf;
use wsgiref_core::handler::{Connection, MemoryBuf, Served, ServerConfig, Session, Step};
use wsgiref_core::{AppError, Environ};

/// Hands out at most `piece` bytes per read, so a body arrives over many reads.
struct Trickle<'a> {
    input: &'a [u8],
    piece: usize,
    output: Vec<u8>,
}

impl embedded_io::ErrorType for Trickle<'_> {
    type Error = embedded_io::ErrorKind;
}

impl embedded_io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = buf.len().min(self.input.len()).min(self.piece);
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Ok(n)
    }
}

impl embedded_io::Write for Trickle<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// What the application saw: its body, then (after reading it) some variables and the whole
/// environ in order.
#[derive(Default, Debug, PartialEq)]
struct Seen {
    body: Vec<u8>,
    vars: Vec<(String, Option<Vec<u8>>)>,
    all: Vec<(String, Vec<u8>)>,
}

fn recording_app(seen: &RefCell<Vec<Seen>>) -> impl wsgiref_core::Application + '_ {
    app_fn(move |env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        let mut record = Seen::default();
        let mut buf = [0u8; 7];
        loop {
            let n = env.input().read(&mut buf).map_err(AppError::from)?;
            if n == 0 {
                break;
            }
            record.body.extend_from_slice(&buf[..n]);
        }
        for key in [
            "REQUEST_METHOD",
            "PATH_INFO",
            "QUERY_STRING",
            "HTTP_X_TAG",
            "HTTP_HOST",
        ] {
            record
                .vars
                .push((key.into(), env.get(key).map(<[u8]>::to_vec)));
        }
        record.all = env.iter().map(|(k, v)| (k.into(), v.to_vec())).collect();
        seen.borrow_mut().push(record);
        sr.start("200 OK", &[("Content-Type", "text/plain")])?;
        Ok::<_, AppError>(&b"ok"[..])
    })
}

const UPLOAD: &[u8] = b"POST /up%6Coad?x=1 HTTP/1.1\r\nHost: h\r\nX-Tag: a\r\nx-tag: b\r\n\
Content-Length: 300\r\n\r\n";

fn upload() -> Vec<u8> {
    let mut request = UPLOAD.to_vec();
    request.extend((0..300u32).map(|i| b'a' + (i % 26) as u8));
    request.extend_from_slice(b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
    request
}

/// Serve `request` (one request with a body, then a GET) through a `Connection` with a
/// receive buffer of `rx_len` bytes and reads of at most `piece` bytes; what the
/// application saw, or `None` when the connection refused it.
fn through_connection(request: &[u8], rx_len: usize, piece: usize) -> Option<Vec<Seen>> {
    let seen = RefCell::new(Vec::new());
    let app = recording_app(&seen);
    let mut base_buf = EnvironBuf::<256, 8>::new();
    let mut base = base_buf.environ();
    base.set("SERVER_NAME", "s").unwrap();
    let mut rx = vec![0u8; rx_len];
    let mut memory: MemoryBuf = MemoryBuf::new();
    let transport = Trickle {
        input: request,
        piece,
        output: Vec::new(),
    };
    let mut conn: Connection<'_, _, 16> =
        Connection::new(transport, &mut rx, memory.memory(), ServerConfig::default());
    for _ in 0..2 {
        if !matches!(conn.serve_one(&app, &base, None), Ok(Served::Request(_))) {
            return None;
        }
    }
    drop(conn);
    drop(app);
    Some(seen.into_inner())
}

/// The same two requests through a sans-IO `Session` that buffers each whole (its environ
/// deferred): what the application saw.
fn through_session(request: &[u8]) -> Vec<Seen> {
    let seen = RefCell::new(Vec::new());
    let app = recording_app(&seen);
    let mut base_buf = EnvironBuf::<256, 8>::new();
    let mut base = base_buf.environ();
    base.set("SERVER_NAME", "s").unwrap();
    let mut rx = vec![0u8; 8192];
    let mut memory: MemoryBuf = MemoryBuf::new();
    let mut session: Session<'_> = Session::new(&mut rx, memory.memory(), ServerConfig::default());
    session.feed(request);
    let mut out = Vec::new();
    for _ in 0..2 {
        let step = session.process(&app, &base, None, &mut out);
        assert!(matches!(step, Step::Answered(_)), "{step:?}");
    }
    drop(app);
    seen.into_inner()
}

/// A body streamed through a small receive buffer in small reads reaches the application
/// whole, the environ is the request's, and the pipelined request after it is served too.
#[test]
fn streamed_body_and_environ_reach_the_application() {
    let request = upload();
    // Room for the head plus a little: the body must be received in pieces.
    let seen = through_connection(&request, 192, 13).expect("both requests served");
    let body: Vec<u8> = (0..300u32).map(|i| b'a' + (i % 26) as u8).collect();
    assert_eq!(seen[0].body, body);
    let var = |i: usize, k: &str| {
        seen[i]
            .vars
            .iter()
            .find(|(key, _)| key == k)
            .and_then(|(_, v)| v.clone())
    };
    assert_eq!(var(0, "REQUEST_METHOD").as_deref(), Some(&b"POST"[..]));
    assert_eq!(var(0, "PATH_INFO").as_deref(), Some(&b"/upload"[..]));
    assert_eq!(var(0, "QUERY_STRING").as_deref(), Some(&b"x=1"[..]));
    assert_eq!(var(0, "HTTP_X_TAG").as_deref(), Some(&b"a,b"[..]));
    assert_eq!(var(1, "PATH_INFO").as_deref(), Some(&b"/next"[..]));
    assert_eq!(var(1, "HTTP_X_TAG"), None);
    // The order of a written-out environ: the base, then the request's variables.
    let keys: Vec<&str> = seen[0].all.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys[0], "SERVER_NAME");
    assert!(keys.contains(&"CONTENT_LENGTH") && keys.contains(&"SERVER_SOFTWARE"));
}

/// The same bytes through a sans-IO session (whole body buffered) give the application the
/// same environ as the streaming connection.
#[test]
fn session_and_connection_see_the_same_environ() {
    let request = upload();
    assert_eq!(
        Some(through_session(&request)),
        through_connection(&request, 200, 64)
    );
}

/// The environ storage is checked against an upper bound of the variables before the
/// application runs: every header field counted as its own `HTTP_*` variable.
#[test]
fn variables_that_might_not_fit_are_refused_with_431() {
    let called = RefCell::new(0);
    let app = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        *called.borrow_mut() += 1;
        sr.start("200 OK", &[])?;
        Ok::<_, AppError>(&b""[..])
    });
    let base_buf = &mut EnvironBuf::<64, 2>::new();
    let base = base_buf.environ();
    let mut rx = [0u8; 1024];
    // 160 bytes of environ: enough for a bare GET, not for ten 10-byte fields.
    let mut memory: MemoryBuf<160, 24> = MemoryBuf::new();
    let mut session: Session<'_> = Session::new(&mut rx, memory.memory(), ServerConfig::default());
    let mut out = Vec::new();
    session.feed(b"GET / HTTP/1.1\r\n\r\n");
    assert!(matches!(
        session.process(&app, &base, None, &mut out),
        Step::Answered(_)
    ));
    let mut big = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..10 {
        big.extend_from_slice(format!("X-Field-{i}: 0123456789\r\n").as_bytes());
    }
    big.extend_from_slice(b"\r\n");
    session.feed(&big);
    match session.process(&app, &base, None, &mut out) {
        Step::Rejected { error, .. } => assert_eq!(error.status, 431),
        other => panic!("expected a 431, got {other:?}"),
    }
    assert_eq!(*called.borrow(), 1);
}

mod streamed {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// However small the receive buffer and the reads, a connection that streams the body
        /// gives the application what the sans-IO session (deferred environ, whole request
        /// buffered) gives it; the request after it is read from where the body ended.
        #[test]
        fn connection_agrees_with_session(
            body in prop::collection::vec(any::<u8>(), 0..600),
            chunked in any::<bool>(),
            spare in 1usize..300,
            piece in 1usize..80,
        ) {
            let mut request =
                b"PUT /a%20b/c?q=1 HTTP/1.1\r\nHost: h\r\nX-Tag: one\r\nX-Tag: two\r\n".to_vec();
            if chunked {
                request.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                for part in body.chunks(97) {
                    request.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
                    request.extend_from_slice(part);
                    request.extend_from_slice(b"\r\n");
                }
                request.extend_from_slice(b"0\r\n\r\n");
            } else {
                request.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
                request.extend_from_slice(&body);
            }
            request.extend_from_slice(b"GET /next?x HTTP/1.1\r\nHost: h2\r\n\r\n");
            // Room for the longer head plus `spare` bytes.
            let rx_len = 110 + spare;
            let want = through_session(&request);
            prop_assert_eq!(&want[0].body, &body);
            let got = through_connection(&request, rx_len, piece);
            prop_assert_eq!(got, Some(want));
        }
    }
}

/// Heads are parsed into a small header array first and into the full one when it runs out:
/// a head with more fields than the small array is served whole, one with more than the full
/// array is refused with 431, as always.
#[test]
fn many_header_fields_are_served_up_to_the_array() {
    for (fields, answered) in [(10, true), (30, true), (64, true), (65, false)] {
        let mut request = b"GET /many HTTP/1.1\r\n".to_vec();
        for i in 0..fields {
            request.extend_from_slice(format!("X-Field-{i}: v{i}\r\n").as_bytes());
        }
        request.extend_from_slice(b"\r\n");
        let seen = RefCell::new(None);
        let app = app_fn(|env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
            let last = format!("HTTP_X_FIELD_{}", fields - 1);
            *seen.borrow_mut() = env.get(&last).map(<[u8]>::to_vec);
            sr.start("200 OK", &[])?;
            Ok::<_, AppError>(&b""[..])
        });
        let base_buf = &mut EnvironBuf::<64, 2>::new();
        let base = base_buf.environ();
        let mut rx = [0u8; 4096];
        let mut memory: MemoryBuf<4096, 96> = MemoryBuf::new();
        let mut session: Session<'_> =
            Session::new(&mut rx, memory.memory(), ServerConfig::default());
        session.feed(&request);
        let mut out = Vec::new();
        match session.process(&app, &base, None, &mut out) {
            Step::Answered(_) => {
                assert!(answered, "{fields} fields");
                let want = format!("v{}", fields - 1).into_bytes();
                assert_eq!(seen.borrow().as_deref(), Some(&want[..]), "{fields} fields");
            }
            Step::Rejected { error, .. } => {
                assert!(!answered, "{fields} fields: {error:?}");
                assert_eq!(error.status, 431);
            }
            other => panic!("{fields} fields: {other:?}"),
        }
    }
}
