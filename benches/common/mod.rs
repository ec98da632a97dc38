//! What the core's benchmarks share: the two requests they measure, the hello application
//! and the base environ, so `handler.rs` (criterion, time) and `instructions.rs`
//! (callgrind, instructions) measure exactly the same work, the `floor` included.

use std::hint::black_box;

use wsgiref_core::app::{app_fn, StartResponse};
use wsgiref_core::environ::{Environ, EnvironBuf};
use wsgiref_core::handler::{MemoryBuf, ServerConfig, Session, Step};
use wsgiref_core::proto::HttpDate;
use wsgiref_core::{AppError, Application};

/// The same request as the footprint figures in the handler docs (`tests/no_alloc.rs`).
pub const BROWSER_GET: &[u8] = b"GET /articles/embedded-http?page=2 HTTP/1.1\r\n\
Host: www.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Referer: https://www.example.com/articles/\r\n\
Cookie: session=4f2a9c1e8b7d; theme=dark\r\n\
Connection: keep-alive\r\n\
Upgrade-Insecure-Requests: 1\r\n\
Cache-Control: max-age=0\r\n\r\n";

pub const MINIMAL_GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

pub fn hello() -> impl Application {
    app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.start("200 OK", &[("Content-Type", "text/plain")])?;
        Ok::<_, AppError>(&b"Hello, world!"[..])
    })
}

/// The hello application, after reading the four variables a router typically looks at
/// (`REQUEST_METHOD`, `PATH_INFO`, `QUERY_STRING`, `HTTP_HOST`): what a deferred environ
/// costs an application that does look at it.
pub fn hello_reading() -> impl Application {
    app_fn(|env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        let seen = ["REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "HTTP_HOST"]
            .iter()
            .filter(|key| env.get(key).is_some())
            .count();
        if seen != 4 {
            return Err(AppError::msg("a variable is missing"));
        }
        sr.start("200 OK", &[("Content-Type", "text/plain")])?;
        Ok::<_, AppError>(&b"Hello, world!"[..])
    })
}

pub fn base_environ(buf: &mut EnvironBuf<256, 8>) -> Environ<'_> {
    let mut base = buf.environ();
    for (k, v) in [
        ("SERVER_NAME", "localhost"),
        ("SERVER_PORT", "80"),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("SCRIPT_NAME", ""),
    ] {
        base.set(k, v).unwrap();
    }
    base
}

/// One `floor` iteration, the same in `benches/handler.rs` and `benches/instructions.rs`:
/// parse `request` with httparse, then copy `response` (from [`one_response`]) into `out`.
/// What any handler must at least do; the full cycle minus this is the handler's own work.
#[inline(always)]
pub fn floor_once<'r>(
    request: &'r [u8],
    response: &[u8],
    headers: &mut [httparse::Header<'r>],
    out: &mut heapless::Vec<u8, 1024>,
) {
    out.clear();
    let mut req = httparse::Request::new(headers);
    let status = req.parse(black_box(request)).expect("valid request");
    black_box((status.is_complete(), req.method, req.path));
    out.extend_from_slice(black_box(response))
        .expect("the response fits");
    black_box(out.len());
}

/// The response the hello application's full cycle writes for `request` (the `floor`
/// measurements copy it out after parsing: what any handler must at least do).
pub fn one_response(request: &[u8]) -> heapless::Vec<u8, 1024> {
    let mut rx = [0u8; 2048];
    let mut memory: MemoryBuf = MemoryBuf::new();
    let mut base_buf = EnvironBuf::<256, 8>::new();
    let base = base_environ(&mut base_buf);
    let mut session: Session<'_> = Session::new(&mut rx, memory.memory(), ServerConfig::default());
    let mut out = heapless::Vec::new();
    session.feed(request);
    let date = Some(HttpDate::from_unix(1_700_000_000));
    let step = session.process(&hello(), &base, date, &mut out);
    assert!(matches!(step, Step::Answered(_)), "{step:?}");
    out
}
