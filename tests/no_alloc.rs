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
