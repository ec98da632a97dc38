//! [`CatchPanic`]: a panicking application becomes an ordinary application error.
//!
//! The core has no unwinding story (it is `no_std`); on `std` the server wraps every
//! application in `CatchPanic`, which runs `call` and each `Body` method under
//! `catch_unwind` and turns a panic into an [`AppError`] carrying the panic message. The core's
//! usual error path then answers `500` (or truncates a response already under way), logs the
//! error to `wsgi.errors`, closes the body, and the server goes on serving.
//!
//! A body that panicked once is not touched again (a panic may have left it inconsistent),
//! except that `close` is still attempted, itself guarded.
//!
//! # One log entry per panic
//!
//! Rust's default panic hook prints every panic to stderr (the message, its location and,
//! when `RUST_BACKTRACE` asks, a backtrace) before `catch_unwind` sees it; the server would
//! then log the same message again through `wsgi.errors`. So the first `CatchPanic` call
//! installs a panic hook (once per process, chained to the hook that was there) that stays
//! silent for panics inside a `CatchPanic` and records their location, and their backtrace
//! when `RUST_BACKTRACE` (or `RUST_LIB_BACKTRACE`) asks for one ([`Backtrace::capture`]'s
//! rule). The error then carries both, and is logged once, by the core's error path, as
//! `Error: application panicked at src/main.rs:9:5: boom` (followed by the backtrace when
//! one was asked for). Panics anywhere else reach the previous hook unchanged.

use std::any::Any;
use std::backtrace::{Backtrace, BacktraceStatus};
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once as RunOnce;

use wsgiref_core::app::{Application, Body, StartResponse};
use wsgiref_core::{AppError, Environ};

/// An application whose panics are caught.
///
/// The core has no unwinding story (it is `no_std`); on `std` the server wraps every
/// application in `CatchPanic`, which runs `call` and each `Body` method under
/// `catch_unwind` and turns a panic into an [`AppError`] carrying the panic message. The core's
/// usual error path then answers `500` (or truncates a response already under way), logs the
/// error to `wsgi.errors`, closes the body, and the server goes on serving.
///
/// A body that panicked once is not touched again (a panic may have left it inconsistent),
/// except that `close` is still attempted, itself guarded.
///
/// ```
/// use wsgiref_core::app::{app_fn, Body, StartResponse};
/// use wsgiref_core::{AppError, Application, Environ};
/// use wsgiref_std::server::CatchPanic;
///
/// let app = CatchPanic(app_fn(|_: &mut Environ<'_>, _: &mut StartResponse<'_>| {
///     if true { panic!("boom") }
///     Ok::<_, AppError>(&b""[..])
/// }));
/// let mut env = Environ::new();
/// struct Sink;
/// impl wsgiref_core::app::Respond for Sink {
///     fn start_response(&mut self, _: &str, _: &[(&str, &str)], _: bool)
///         -> Result<(), wsgiref_core::app::StartResponseError> { Ok(()) }
///     fn write(&mut self, _: &[u8]) -> Result<(), AppError> { Ok(()) }
///     fn headers_sent(&self) -> bool { false }
/// }
/// let mut sink = Sink;
/// let err = app.call(&mut env, &mut StartResponse::new(&mut sink)).err().unwrap();
/// let text = err.to_string();
/// assert!(text.starts_with("application panicked at "), "{text}");
/// assert!(text.lines().next().unwrap().ends_with(": boom"), "{text}");
/// ```
#[derive(Clone, Debug, Default)]
pub struct CatchPanic<A>(pub A);

impl<A: Application> Application for CatchPanic<A> {
    type Body = Guarded<A::Body>;

    fn call(
        &self,
        environ: &mut Environ<'_>,
        start_response: &mut StartResponse<'_>,
    ) -> Result<Self::Body, AppError> {
        match guarded(|| self.0.call(environ, start_response)) {
            Ok(result) => result.map(|body| Guarded {
                body,
                poisoned: false,
            }),
            Err(payload) => Err(panic_error("application panicked", &*payload)),
        }
    }
}

/// A body whose methods are guarded against panics (the body type of [`CatchPanic`]).
#[derive(Debug)]
pub struct Guarded<B> {
    body: B,
    poisoned: bool,
}

impl<B> Guarded<B> {
    /// The wrapped body.
    pub fn inner(&self) -> &B {
        &self.body
    }

    /// The wrapped body, mutably.
    pub fn inner_mut(&mut self) -> &mut B {
        &mut self.body
    }
}

impl<B: Body> Body for Guarded<B> {
    fn next_chunk(&mut self) -> Result<Option<&[u8]>, AppError> {
        if self.poisoned {
            return Err(AppError::msg("body used after it panicked"));
        }
        let Guarded { body, poisoned } = self;
        // Moving the reference into the closure lets the chunk borrow outlive the call.
        match guarded(once(move || body.next_chunk())) {
            Ok(result) => result,
            Err(payload) => {
                *poisoned = true;
                Err(panic_error("response body panicked", &*payload))
            }
        }
    }

    fn length(&self) -> Option<u64> {
        if self.poisoned {
            return None;
        }
        guarded(|| self.body.length()).unwrap_or(None)
    }

    fn close(&mut self) {
        if let Err(payload) = guarded(|| self.body.close()) {
            // No error path is left to carry it (close reports nothing): log it here, once.
            let error = panic_error("response body panicked in close()", &*payload);
            log::error!(target: "wsgiref::server", "{error}");
        }
    }

    fn file_region(&self) -> Option<wsgiref_core::app::FileRegion<'_>> {
        if self.poisoned {
            return None;
        }
        // Forwarded so that file bodies reach sendfile; a panic here only loses that (the
        // body is then read through `next_chunk`, which is guarded as well).
        guarded(|| self.body.file_region()).unwrap_or(None)
    }
}

/// Fix a closure's kind to `FnOnce` (hidden from inference by `AssertUnwindSafe`), so it can
/// return a borrow of the reference it captured.
fn once<R, F: FnOnce() -> R>(f: F) -> F {
    f
}

thread_local! {
    /// How many `guarded` calls this thread is inside (they nest: a body inside a call).
    static GUARDING: Cell<u32> = const { Cell::new(0) };
    /// Where the last guarded panic of this thread happened, for the error that reports it.
    static CAUGHT: RefCell<Option<Caught>> = const { RefCell::new(None) };
}

/// What the panic hook records about a guarded panic.
struct Caught {
    location: Option<String>,
    backtrace: Option<String>,
}

/// Install the hook described in the module docs, once per process.
fn install_hook() {
    static INSTALL: RunOnce = RunOnce::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDING.with(Cell::get) == 0 {
                return previous(info);
            }
            let backtrace = Backtrace::capture();
            let caught = Caught {
                location: info.location().map(ToString::to_string),
                backtrace: (backtrace.status() == BacktraceStatus::Captured)
                    .then(|| backtrace.to_string()),
            };
            CAUGHT.with(|c| *c.borrow_mut() = Some(caught));
        }));
    });
}

/// Run `f` under `catch_unwind`, with the panic hook quiet for it.
fn guarded<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    install_hook();
    GUARDING.with(|g| g.set(g.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(f));
    GUARDING.with(|g| g.set(g.get() - 1));
    result
}

/// `prefix at location: message` from a panic payload (`&str` or `String`, as `panic!` makes
/// them), with the backtrace on the following lines when the hook captured one.
fn panic_error(prefix: &str, payload: &(dyn Any + Send)) -> AppError {
    let message = if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.as_str()
    } else {
        "(a non-string panic payload)"
    };
    let caught = CAUGHT.with(|c| c.borrow_mut().take());
    let mut text = String::from(prefix);
    if let Some(location) = caught.as_ref().and_then(|c| c.location.as_deref()) {
        text.push_str(" at ");
        text.push_str(location);
    }
    text.push_str(": ");
    text.push_str(message);
    if let Some(backtrace) = caught.and_then(|c| c.backtrace) {
        text.push_str("\nstack backtrace:\n");
        text.push_str(backtrace.trim_end());
    }
    // Logged once, by the core's error path (to `wsgi.errors`, stderr by default), like any
    // other application error.
    AppError::text(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Exploding(u8);
    impl Body for Exploding {
        fn next_chunk(&mut self) -> Result<Option<&[u8]>, AppError> {
            self.0 += 1;
            if self.0 == 2 {
                panic!("chunk {}", self.0);
            }
            Ok(Some(b"ok"))
        }
        fn close(&mut self) {
            panic!("close too");
        }
    }

    #[test]
    fn body_panics_become_errors_and_poison_the_body() {
        let mut body = Guarded {
            body: Exploding(0),
            poisoned: false,
        };
        assert_eq!(body.next_chunk().unwrap(), Some(&b"ok"[..]));
        let err = body.next_chunk().unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("response body panicked at "), "{text}");
        assert!(
            text.lines().next().unwrap().ends_with(": chunk 2"),
            "{text}"
        );
        assert!(body.next_chunk().is_err());
        assert_eq!(body.inner().0, 2, "not called again after the panic");
        body.close(); // guarded: does not unwind into the caller
    }
}
