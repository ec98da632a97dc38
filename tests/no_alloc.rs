//! The no-allocation promise: with fixed storage, `Environ`, `Headers` and `util` never touch
//! the heap.
//!
//! A counting global allocator wraps the system one. It counts `alloc`, `alloc_zeroed` and
//! `realloc` calls, but only on the current thread and only between the start and the end of
//! [`assert_no_alloc`], so the test harness (which allocates on other threads, and on this one
//! before and after each test body) cannot disturb the count. Frees are not counted: the promise
//! is about acquiring memory, and dropping something built before the measured region is fine.
//!
//! [`allocator_counts_what_it_should`] shows the counter is live, so a zero cannot be vacuous.
//!
//! # Adding a case
//!
//! Build inputs (buffers, strings, fixtures) *outside* the closure, then measure only the path
//! under test:
//!
//! ```ignore
//! #[test]
//! fn my_path_does_not_allocate() {
//!     let mut buf = HeadersBuf::<256, 8>::new();
//!     assert_no_alloc("my path", || {
//!         let mut h = buf.headers();
//!         h.set("A", "b").unwrap();
//!     });
//! }
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt::Write as _;
use std::hint::black_box;

use wsgiref_core::app::Body;
use wsgiref_core::environ::{Environ, EnvironBuf};
use wsgiref_core::headers::{HeaderError, Headers, HeadersBuf};
use wsgiref_core::stream::{ErrorBuf, SliceInput};
use wsgiref_core::util::{
    application_uri, guess_scheme, is_hop_by_hop, request_uri, setup_testing_defaults,
    shift_path_info, shift_path_info_in, FileWrapper, UtilError,
};

// ---------------------------------------------------------------------------------------------
// The counting allocator

thread_local! {
    /// True while this thread is inside `count_allocations`.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    /// Allocation calls seen on this thread while `COUNTING` was true.
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

/// Delegates every call to [`System`] and counts the calls that acquire memory.
struct CountingAllocator;

fn note_allocation() {
    // `try_with`: the thread-locals may be gone while a thread shuts down; allocation must
    // still work then, so a missing counter is simply not counted. Const-initialised `Cell`s
    // need no lazy set-up, so touching them here cannot allocate and recurse.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = COUNT.try_with(|n| n.set(n.get() + 1));
        }
    });
}

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the only addition is bumping a thread-local counter, which neither
// allocates nor touches the memory being managed.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Switches counting off again even if the measured closure panics, so the panic machinery's
/// own allocations are not blamed on the next measurement.
struct CountingGuard;

impl Drop for CountingGuard {
    fn drop(&mut self) {
        COUNTING.with(|on| on.set(false));
    }
}

/// Run `f` and return its result with the number of allocation calls it made on this thread.
fn count_allocations<R>(f: impl FnOnce() -> R) -> (R, usize) {
    COUNT.with(|n| n.set(0));
    COUNTING.with(|on| on.set(true));
    let guard = CountingGuard;
    let result = f();
    drop(guard);
    (result, COUNT.with(Cell::get))
}

/// Run `f` and fail, naming `what`, if it allocated at all.
fn assert_no_alloc<R>(what: &str, f: impl FnOnce() -> R) -> R {
    let (result, n) = count_allocations(f);
    assert_eq!(n, 0, "{what}: {n} allocation call(s) on the no-alloc path");
    result
}

// ---------------------------------------------------------------------------------------------
// The counter works

#[test]
fn allocator_counts_what_it_should() {
    let ((), n) = count_allocations(|| {
        let mut v: Vec<u8> = Vec::with_capacity(16);
        v.push(1);
        black_box(&v);
        v.extend_from_slice(&[0; 64]); // a realloc
        black_box(&v);
    });
    assert!(
        n >= 2,
        "a Vec allocation and its growth were not counted ({n})"
    );

    let (s, n) = count_allocations(|| black_box(format!("{}", black_box(42))));
    assert_eq!(s, "42");
    assert!(n >= 1, "format! was not counted");

    // Allocations inside the library are seen too: growable headers allocate on first use.
    let (len, n) = count_allocations(|| {
        let mut h = Headers::new();
        h.set("A", "b").unwrap();
        black_box(h.len())
    });
    assert_eq!(len, 1);
    assert!(n >= 1, "growable Headers allocated nothing?");

    // Outside a measurement nothing is counted, and a measurement starts from zero.
    black_box(vec![0u8; 32]);
    let ((), n) = count_allocations(|| ());
    assert_eq!(n, 0);
}

#[test]
#[should_panic(expected = "allocation call(s) on the no-alloc path")]
fn assert_no_alloc_fails_on_an_allocation() {
    assert_no_alloc("a Box", || black_box(Box::new(7u64)));
}

// ---------------------------------------------------------------------------------------------
// Environ

#[test]
fn environ_on_fixed_storage() {
    let mut buf = EnvironBuf::<1024, 32>::new();
    let mut base_buf = EnvironBuf::<256, 8>::new();
    let body = SliceInput::new(b"line one\nline two\nrest");
    let errors = ErrorBuf::<64>::new();
    let mut debug = heapless::String::<1024>::new();

    assert_no_alloc("Environ", || {
        let mut base = base_buf.environ();
        base.set("HOME", "/root").unwrap();
        base.set("PATH_INFO", "/from-base").unwrap();

        let mut e = buf.environ();
        e.set("REQUEST_METHOD", "GET").unwrap();
        e.set("PATH_INFO", b"/caf\xe9").unwrap();
        e.set("REQUEST_METHOD", "POST").unwrap(); // replace in place
        assert_eq!(e.setdefault("QUERY_STRING", "a=1").unwrap(), b"a=1");
        assert_eq!(e.setdefault("QUERY_STRING", "ignored").unwrap(), b"a=1");
        e.append("HTTP_ACCEPT", b",", "text/html").unwrap();
        e.append("HTTP_ACCEPT", b",", "text/plain").unwrap();
        assert_eq!(e.get("HTTP_ACCEPT"), Some(&b"text/html,text/plain"[..]));
        assert_eq!(e.get_str("REQUEST_METHOD"), Some("POST"));
        assert_eq!(e.get_str("PATH_INFO"), None); // not UTF-8
        assert!(e.contains("QUERY_STRING"));
        assert!(e.remove("QUERY_STRING"));
        assert!(!e.remove("QUERY_STRING"));
        assert_eq!(e.iter().count(), 3);
        assert!(e.iter().all(|(k, v)| !k.is_empty() && !v.is_empty()));
        e.fill_from(&base).unwrap();
        assert_eq!(e.get("HOME"), Some(&b"/root"[..]));
        assert_eq!(e.get("PATH_INFO"), Some(&b"/caf\xe9"[..])); // kept, not overwritten
        assert_eq!((e.len(), e.is_empty()), (4, false));
        assert!(e.bytes_used() > 0);
        assert_eq!(e.url_scheme(), None);
        // Refusals are values, and allocation-free too.
        assert!(e.set("wsgi.input", "x").is_err());
        assert!(e.set("", "x").is_err());
        write!(debug, "{e:?}").unwrap();
        e.clear();
        assert!(e.is_empty());
    });
    assert!(debug.contains("HTTP_ACCEPT"));

    let mut line = [0u8; 32];
    let mut rest = [0u8; 32];
    assert_no_alloc("Environ streams", || {
        let mut e = buf.environ();
        e.set_input(&body);
        e.set_errors(&errors);
        assert!(e.has_input() && e.has_errors());
        let n = e.input().read_line(&mut line).unwrap();
        assert_eq!(&line[..n], b"line one\n");
        let n = e.input().read(&mut line[..4]).unwrap();
        assert_eq!(&line[..n], b"line");
        let n = e.input().read_full(&mut rest[..6]).unwrap();
        assert_eq!(&rest[..n], b" two\nr");
        assert_eq!(e.input().drain().unwrap(), 3);
        assert_eq!(e.input().read(&mut line).unwrap(), 0);
        write!(
            e.errors(),
            "status {} for {}",
            black_box(500),
            black_box("/x")
        )
        .unwrap();
        e.errors().flush();
        // With no stream attached: reads are empty and writes are dropped.
        let mut bare = Environ::fixed(&mut [], &mut []);
        assert_eq!(bare.input().read(&mut line).unwrap(), 0);
        write!(bare.errors(), "dropped").unwrap();
        assert!(bare.set("K", "v").is_err()); // zero capacity
    });
    assert_eq!(errors.text().as_str(), "status 500 for /x");
}

// ---------------------------------------------------------------------------------------------
// Headers

#[test]
fn headers_on_fixed_storage() {
    let mut buf = HeadersBuf::<1024, 16>::new();
    let mut wire = [0u8; 512];
    let mut text = heapless::String::<512>::new();
    let mut debug = heapless::String::<512>::new();

    let n = assert_no_alloc("Headers", || {
        let mut h = buf.headers();
        h.extend([("Content-Type", "text/plain"), ("X-Dup", "1")])
            .unwrap();
        h.append("x-dup", "2").unwrap();
        h.set("Cache-Control", "no-cache").unwrap();
        h.set("cache-control", "no-store").unwrap(); // replaces
        assert_eq!(
            h.setdefault("CONTENT-TYPE", "ignored").unwrap(),
            "text/plain"
        );
        assert_eq!(h.setdefault("Vary", "Accept").unwrap(), "Accept");
        h.add_header(
            "Content-Disposition",
            Some("attachment"),
            &[("filename", Some("bud \"1\".gif")), ("size_hint", None)],
        )
        .unwrap();
        assert_eq!(h.get("x-DUP"), Some("1"));
        assert!(h.get_all("X-Dup").eq(["1", "2"]));
        assert!(h.contains("vary"));
        assert!(!h.contains("missing"));
        // The Unicode lower-casing path (KELVIN SIGN) is allocation-free too.
        h.set("\u{212a}-Key", "kelvin").unwrap();
        assert_eq!(h.get("k-key"), Some("kelvin"));
        assert_eq!(h.remove("K-KEY"), 1);
        assert_eq!(h.keys().count(), 6);
        assert_eq!(h.values().filter(|v| v.is_empty()).count(), 0);
        assert_eq!(h.items().count(), h.len());
        assert!(!h.is_empty());
        // Refusals: control characters and a full arena.
        assert!(matches!(
            h.set("X", "a\r\nb"),
            Err(HeaderError::ControlCharacter { .. })
        ));
        assert!(matches!(
            h.append("Big", core::str::from_utf8(&[b'x'; 1024]).unwrap()),
            Err(HeaderError::Capacity(_))
        ));
        let mut small = [0u8; 4];
        assert!(h.write_to(&mut small).is_err());
        let n = h.write_to(&mut wire).unwrap();
        assert_eq!(n, h.encoded_len());
        write!(text, "{h}").unwrap();
        write!(debug, "{h:?}").unwrap();
        n
    });
    assert_eq!(text.as_bytes(), &wire[..n]);
    assert!(text.starts_with("Content-Type: text/plain\r\nX-Dup: 1\r\nx-dup: 2\r\n"));
    assert!(text.contains("filename=\"bud \\\"1\\\".gif\"; size-hint\r\n"));
    assert!(debug.starts_with("Headers(["));

    assert_no_alloc("Headers::clear and error Display", || {
        let mut h = buf.headers();
        h.set("A", "1").unwrap();
        h.clear();
        assert!(h.is_empty());
        let mut msg = heapless::String::<128>::new();
        let err = h.set("A\n", "1").unwrap_err();
        write!(msg, "{err}").unwrap();
        assert_eq!(msg.as_str(), "Control characters not allowed in headers");
    });
}

// ---------------------------------------------------------------------------------------------
// util

#[test]
fn util_on_fixed_storage() {
    let mut buf = EnvironBuf::<1024, 32>::new();
    let mut uri = heapless::String::<256>::new();
    let mut scratch = [0u8; 128];

    assert_no_alloc("util", || {
        let mut e = buf.environ();
        e.set("HTTPS", "on").unwrap();
        assert_eq!(guess_scheme(&e).as_str(), "https");
        e.set("HTTPS", "off").unwrap();
        assert_eq!(guess_scheme(&e).as_str(), "http");
        // Without the wsgi.* group, the URI functions report the missing key.
        assert!(matches!(
            application_uri(&e, &mut uri),
            Err(UtilError::MissingKey(_))
        ));
        uri.clear();

        e.set("SCRIPT_NAME", "/app").unwrap();
        e.set("PATH_INFO", "/a b/c").unwrap();
        e.set("QUERY_STRING", "x=1").unwrap();
        setup_testing_defaults(&mut e).unwrap();
        assert_eq!(e.get("SERVER_PORT"), Some(&b"80"[..]));

        application_uri(&e, &mut uri).unwrap();
        assert_eq!(uri.as_str(), "http://127.0.0.1/app");
        uri.clear();
        request_uri(&e, true, &mut uri).unwrap();
        assert_eq!(uri.as_str(), "http://127.0.0.1/app/a%20b/c?x=1");
        uri.clear();

        let seg = shift_path_info(&mut e).unwrap().unwrap();
        assert_eq!(seg.as_bytes(), b"a b");
        let seg = shift_path_info_in(&mut e, &mut scratch).unwrap();
        assert_eq!(seg, Some(&b"c"[..]));
        assert_eq!(e.get("SCRIPT_NAME"), Some(&b"/app/a b/c"[..]));
        assert!(shift_path_info(&mut e).unwrap().is_none());
        e.set("PATH_INFO", "no-slash").unwrap();
        assert!(matches!(
            shift_path_info(&mut e),
            Err(UtilError::PathWithoutSlash)
        ));

        assert!(is_hop_by_hop("Keep-Alive"));
        assert!(is_hop_by_hop("\u{212a}eep-alive"));
        assert!(!is_hop_by_hop("Content-Type"));
    });
}

#[test]
fn file_wrapper_without_allocation() {
    let data = "xyz".repeat(50);
    let mut block = [0u8; 64];

    assert_no_alloc("FileWrapper", || {
        // The default wrapper keeps its 8 KiB block inline: no allocator needed.
        let mut body = FileWrapper::with_blksize(data.as_bytes(), 120);
        let mut sizes = [0usize; 4];
        let mut i = 0;
        while let Some(chunk) = body.next_chunk().unwrap() {
            sizes[i] = chunk.len();
            i += 1;
        }
        assert_eq!(sizes[..i], [120, 30]);
        assert_eq!(body.length(), None);
        body.close();

        // A caller-supplied block.
        let mut body = FileWrapper::with_buffer(data.as_bytes(), &mut block[..]);
        let mut total = 0;
        while let Some(chunk) = body.next_chunk().unwrap() {
            total += chunk.len();
        }
        assert_eq!(total, 150);
        body.close();
    });
}

// ---------------------------------------------------------------------------------------------
// Handlers: bytes in -> environ -> application -> bytes out
//
// Everything the handlers need is fixed memory made before the measurement: the receive
// buffer, `MemoryBuf`, the base environ, the output sink. The applications keep the promise
// too: they read `wsgi.input` into a `heapless::Vec`, answer with `&'static` bodies or `Once`,
// and fail with `AppError::msg` (a `?` on a library error would box it under `alloc`).

mod handlers {
    use super::assert_no_alloc;

    use std::convert::Infallible;

    use wsgiref_core::app::{app_fn, Once, StartResponse};
    use wsgiref_core::environ::{Environ, EnvironBuf};
    use wsgiref_core::handler::{
        BaseCgiHandler, Connection, MemoryBuf, Outcome, Served, ServerConfig, Session,
        SimpleHandler, Step,
    };
    use wsgiref_core::proto::HttpDate;
    use wsgiref_core::stream::ErrorBuf;
    use wsgiref_core::{AppError, Application};

    /// A typical browser navigation: 10 header fields, about 450 bytes.
    pub(super) const BROWSER_GET: &[u8] = b"GET /articles/embedded-http?page=2 HTTP/1.1\r\n\
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

    const DATE: u64 = 1_149_533_394;

    pub(super) fn hello() -> impl Application {
        app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
            sr.start("200 OK", &[("Content-Type", "text/plain")])?;
            Ok::<_, AppError>(&b"Hello, world!"[..])
        })
    }

    /// Reads the whole body and answers with it (and the path in a header).
    fn echo() -> impl Application {
        app_fn(|env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
            let mut body = heapless::Vec::<u8, 512>::new();
            let mut buf = [0u8; 64];
            loop {
                let n = env
                    .input()
                    .read(&mut buf)
                    .map_err(|_| AppError::msg("read failed"))?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&buf[..n])
                    .map_err(|_| AppError::msg("body too long"))?;
            }
            let path = env.get_str("PATH_INFO").unwrap_or("?");
            sr.start(
                "200 OK",
                &[("Content-Type", "text/plain"), ("X-Path", path)],
            )?;
            Ok::<_, AppError>(Once::new(body))
        })
    }

    fn failing() -> impl Application {
        app_fn(|_: &mut Environ<'_>, _: &mut StartResponse<'_>| {
            Err::<&'static [u8], _>(AppError::msg("database unavailable"))
        })
    }

    fn base_environ(buf: &mut EnvironBuf<256, 8>) -> Environ<'_> {
        let mut base = buf.environ();
        base.set("SERVER_NAME", "localhost").unwrap();
        base.set("SERVER_PORT", "80").unwrap();
        base.set("REMOTE_ADDR", "127.0.0.1").unwrap();
        base.set("SCRIPT_NAME", "").unwrap();
        base
    }

    /// Feed `input` whole into a fresh session and process until it needs input or closes;
    /// the responses go to the fixed `out` slice. Returns the bytes written and the steps.
    fn session_round<A: Application>(
        app: &A,
        input: &[u8],
        out: &mut [u8],
        steps: &mut heapless::Vec<Step, 8>,
    ) -> usize {
        let mut rx = [0u8; 2048];
        let mut memory: MemoryBuf = MemoryBuf::new();
        let mut base_buf = EnvironBuf::<256, 8>::new();
        let base = base_environ(&mut base_buf);
        let total = out.len();
        let mut sink = out;
        assert_no_alloc("Session", || {
            let mut session: Session<'_> =
                Session::new(&mut rx, memory.memory(), ServerConfig::default());
            assert_eq!(session.feed(input), input.len());
            for _ in 0..8 {
                let step = session.process(app, &base, Some(HttpDate::from_unix(DATE)), &mut sink);
                let again = matches!(step, Step::Answered(_));
                steps.push(step).unwrap();
                if !again {
                    break;
                }
            }
        });
        total - sink.len()
    }

    #[test]
    fn session_single_get() {
        let mut out = [0u8; 1024];
        let mut steps = heapless::Vec::new();
        let n = session_round(&hello(), BROWSER_GET, &mut out, &mut steps);
        let out = &out[..n];
        assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n"), "{out:?}");
        assert!(out.ends_with(b"Content-Length: 13\r\n\r\nHello, world!"));
        assert!(matches!(&steps[0], Step::Answered(log) if log.status == 200));
        assert_eq!(steps[1], Step::NeedInput);
    }

    #[test]
    fn session_pipelined_pair() {
        let mut input = heapless::Vec::<u8, 1024>::new();
        input.extend_from_slice(BROWSER_GET).unwrap();
        input
            .extend_from_slice(b"GET /second HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut out = [0u8; 2048];
        let mut steps = heapless::Vec::new();
        let n = session_round(&echo(), &input, &mut out, &mut steps);
        let text = std::str::from_utf8(&out[..n]).unwrap();
        assert_eq!(text.matches("HTTP/1.1 200 OK\r\n").count(), 2, "{text}");
        assert!(text.contains("X-Path: /articles/embedded-http\r\n"));
        assert!(text.contains("X-Path: /second\r\n"));
        assert_eq!(steps.len(), 3, "{steps:?}");
        assert_eq!(steps[2], Step::NeedInput);
    }

    #[test]
    fn session_chunked_upload_read_through_wsgi_input() {
        let input = b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n";
        let mut out = [0u8; 1024];
        let mut steps = heapless::Vec::new();
        let n = session_round(&echo(), input, &mut out, &mut steps);
        let out = &out[..n];
        assert!(out.ends_with(b"\r\n\r\nhello, world"), "{out:?}");
        assert!(matches!(&steps[0], Step::Answered(log) if log.status == 200));
    }

    #[test]
    fn session_error_page_and_refusal() {
        let mut out = [0u8; 1024];
        let mut steps = heapless::Vec::new();
        let n = session_round(&failing(), BROWSER_GET, &mut out, &mut steps);
        assert!(out[..n].starts_with(b"HTTP/1.1 500 Internal Server Error\r\n"));
        assert!(
            matches!(&steps[0], Step::Answered(log) if log.outcome == Outcome::ErrorPage),
            "{steps:?}"
        );

        // A request the parser refuses never reaches the application.
        let mut steps = heapless::Vec::new();
        let n = session_round(
            &hello(),
            b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
            &mut out,
            &mut steps,
        );
        assert!(out[..n].starts_with(b"HTTP/1.1 400 Bad Request\r\n"));
        assert!(matches!(&steps[0], Step::Rejected { .. }));
    }

    /// An in-memory transport: `read` hands out at most `piece` bytes at a time; responses go
    /// into a fixed buffer.
    struct Wire<'a> {
        input: &'a [u8],
        piece: usize,
        output: heapless::Vec<u8, 4096>,
    }

    impl embedded_io::ErrorType for Wire<'_> {
        type Error = Infallible;
    }

    impl embedded_io::Read for Wire<'_> {
        fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
            let n = buf.len().min(self.input.len()).min(self.piece);
            buf[..n].copy_from_slice(&self.input[..n]);
            self.input = &self.input[n..];
            Ok(n)
        }
    }

    impl embedded_io::Write for Wire<'_> {
        fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
            let n = buf.len().min(self.output.capacity() - self.output.len());
            let _ = self.output.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> Result<(), Infallible> {
            Ok(())
        }
    }

    /// Serve everything in `input` over a `Connection`, reading `piece` bytes at a time.
    fn connection_round<A: Application>(
        app: &A,
        input: &[u8],
        piece: usize,
    ) -> (heapless::Vec<u8, 4096>, heapless::Vec<Served, 8>) {
        let mut rx = [0u8; 1024];
        let mut memory: MemoryBuf = MemoryBuf::new();
        let mut base_buf = EnvironBuf::<256, 8>::new();
        let base = base_environ(&mut base_buf);
        let wire = Wire {
            input,
            piece,
            output: heapless::Vec::new(),
        };
        let mut served = heapless::Vec::new();
        let output = assert_no_alloc("Connection", || {
            let mut conn: Connection<'_, _> =
                Connection::new(wire, &mut rx, memory.memory(), ServerConfig::default());
            for _ in 0..8 {
                match conn.serve_one(app, &base, Some(HttpDate::from_unix(DATE))) {
                    Ok(Served::Closed) => break,
                    Ok(s) => served.push(s).unwrap(),
                    Err(e) => panic!("connection error: {e:?}"),
                }
            }
            conn.into_inner().output
        });
        (output, served)
    }

    #[test]
    fn connection_get_pipelined_upload_and_error() {
        let (out, served) = connection_round(&hello(), BROWSER_GET, 7);
        assert!(out.ends_with(b"\r\n\r\nHello, world!"));
        assert_eq!(served.len(), 1);

        let mut input = heapless::Vec::<u8, 1024>::new();
        input.extend_from_slice(BROWSER_GET).unwrap();
        input
            .extend_from_slice(
                b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n",
            )
            .unwrap();
        let (out, served) = connection_round(&echo(), &input, 5);
        let text = std::str::from_utf8(&out).unwrap();
        assert_eq!(served.len(), 2, "{served:?}");
        assert!(text.ends_with("\r\n\r\nabcdefg"), "{text}");

        let (out, served) = connection_round(&failing(), BROWSER_GET, 64);
        assert!(out.starts_with(b"HTTP/1.1 500 "));
        assert!(matches!(&served[0], Served::Request(log) if log.outcome == Outcome::ErrorPage));
    }

    #[test]
    fn simple_and_cgi_handlers() {
        let mut env_buf = EnvironBuf::<512, 16>::new();
        let mut memory: MemoryBuf = MemoryBuf::new();
        let errors = ErrorBuf::<256>::new();
        let mut out = [0u8; 1024];
        let n = {
            let mut sink = &mut out[..];
            assert_no_alloc("SimpleHandler", || {
                let mut env = env_buf.environ();
                env.set("REQUEST_METHOD", "POST").unwrap();
                env.set("SERVER_PROTOCOL", "HTTP/1.0").unwrap();
                env.set("PATH_INFO", "/simple").unwrap();
                env.set("CONTENT_LENGTH", "4").unwrap();
                let mut handler =
                    SimpleHandler::new(&b"bodyEXTRA"[..], &mut sink, &errors, env, memory.memory());
                handler.set_date(Some(HttpDate::from_unix(DATE)));
                let report = handler.run(&echo());
                assert_eq!(report.outcome, Outcome::Complete);
            });
            1024 - sink.len()
        };
        let text = std::str::from_utf8(&out[..n]).unwrap();
        assert!(text.starts_with("HTTP/1.0 200 OK\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\nbody"), "{text}");

        let n = {
            let mut sink = &mut out[..];
            assert_no_alloc("BaseCgiHandler error page", || {
                let mut env = env_buf.environ();
                env.set("REQUEST_METHOD", "GET").unwrap();
                let mut handler =
                    BaseCgiHandler::new(&b""[..], &mut sink, &errors, env, memory.memory());
                let report = handler.run(&failing());
                assert_eq!(report.outcome, Outcome::ErrorPage);
            });
            1024 - sink.len()
        };
        assert!(out[..n].starts_with(b"Status: 500 Internal Server Error\r\n"));
        // The error was logged to wsgi.errors, into fixed storage.
        assert!(errors.text().contains("database unavailable"));
    }
}

// ---------------------------------------------------------------------------------------------
// Sizes: the figures documented in the handler module docs (`core/src/handler/mod.rs`,
// "Memory footprint"). Run with `--nocapture` to see them; the asserts are the documented
// upper bounds, so the docs cannot silently go stale.

#[test]
#[cfg(target_pointer_width = "64")]
fn documented_sizes_hold() {
    use std::cell::Cell;
    use std::convert::Infallible;
    use std::mem::size_of;

    use wsgiref_core::app::{app_fn, StartResponse};
    use wsgiref_core::handler::{Connection, MemoryBuf, ServerConfig, Session, Step};
    use wsgiref_core::AppError;

    /// A transport of one pointer, as a socket handle or a `&mut` driver would be.
    struct Handle<'a>(&'a mut [u8]);
    impl embedded_io::ErrorType for Handle<'_> {
        type Error = Infallible;
    }
    impl embedded_io::Read for Handle<'_> {
        fn read(&mut self, _: &mut [u8]) -> Result<usize, Infallible> {
            Ok(0)
        }
    }
    impl embedded_io::Write for Handle<'_> {
        fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
            Ok(buf.len().min(self.0.len()))
        }
        fn flush(&mut self) -> Result<(), Infallible> {
            Ok(())
        }
    }

    let session_size = size_of::<Session<'static>>();
    let connection = size_of::<Connection<'static, &mut Handle<'static>>>();
    let memory_buf = size_of::<MemoryBuf>();
    let environ = size_of::<Environ<'static>>();
    let headers = size_of::<Headers<'static>>();

    // What the typical browser GET needs, measured from inside the application.
    let seen = Cell::new((0usize, 0usize));
    let app = app_fn(|env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        seen.set((env.bytes_used(), env.len()));
        sr.start("200 OK", &[("Content-Type", "text/plain")])?;
        Ok::<_, AppError>(&b"Hello, world!"[..])
    });
    let mut rx = [0u8; 2048];
    let mut memory: MemoryBuf = MemoryBuf::new();
    let mut base_buf = EnvironBuf::<256, 8>::new();
    let mut base = base_buf.environ();
    for (k, v) in [
        ("SERVER_NAME", "localhost"),
        ("SERVER_PORT", "80"),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("SCRIPT_NAME", ""),
    ] {
        base.set(k, v).unwrap();
    }
    let mut out = heapless::Vec::<u8, 1024>::new();
    let mut session: Session<'_> = Session::new(&mut rx, memory.memory(), ServerConfig::default());
    session.feed(handlers::BROWSER_GET);
    let step = session.process(
        &app,
        &base,
        Some(wsgiref_core::proto::HttpDate::from_unix(0)),
        &mut out,
    );
    assert!(matches!(step, Step::Answered(_)), "{step:?}");
    let (env_bytes, env_vars) = seen.get();
    let request = handlers::BROWSER_GET.len();
    let head = out.len() - b"Hello, world!".len();

    println!("size_of::<Session>()            = {session_size}");
    println!("size_of::<Connection<&mut T>>() = {connection}");
    println!("size_of::<MemoryBuf>() default  = {memory_buf}");
    println!("size_of::<Environ>()            = {environ}");
    println!("size_of::<Headers>()            = {headers}");
    println!("typical GET: {request} request bytes (rx), environ {env_bytes} bytes in {env_vars} variables, response head {head} bytes (output staging)");

    // The bounds the docs state.
    assert!(session_size <= 320, "Session is {session_size} bytes");
    assert!(connection <= 320, "Connection is {connection} bytes");
    assert!(memory_buf <= 5120, "MemoryBuf is {memory_buf} bytes");
    assert!(environ <= 160, "Environ is {environ} bytes");
    assert!(headers <= 96, "Headers is {headers} bytes");
    assert!(
        (400..=512).contains(&request),
        "the typical GET is {request} bytes"
    );
    assert!(env_bytes <= 768, "environ bytes {env_bytes}");
    assert!(env_vars <= 24, "environ variables {env_vars}");
    assert!(head <= 160, "response head {head}");
}
