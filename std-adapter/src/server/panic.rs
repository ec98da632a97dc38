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

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

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
/// assert_eq!(err.to_string(), "application panicked: boom");
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
        match catch_unwind(AssertUnwindSafe(|| self.0.call(environ, start_response))) {
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
        match catch_unwind(AssertUnwindSafe(once(move || body.next_chunk()))) {
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
        catch_unwind(AssertUnwindSafe(|| self.body.length())).unwrap_or(None)
    }

    fn close(&mut self) {
        if catch_unwind(AssertUnwindSafe(|| self.body.close())).is_err() {
            log::error!(target: "wsgiref::server", "response body panicked in close()");
        }
    }

    fn file_region(&self) -> Option<wsgiref_core::app::FileRegion<'_>> {
        if self.poisoned {
            return None;
        }
        // Forwarded so that file bodies reach sendfile; a panic here only loses that (the
        // body is then read through `next_chunk`, which is guarded as well).
        catch_unwind(AssertUnwindSafe(|| self.body.file_region())).unwrap_or(None)
    }
}

/// Fix a closure's kind to `FnOnce` (hidden from inference by `AssertUnwindSafe`), so it can
/// return a borrow of the reference it captured.
fn once<R, F: FnOnce() -> R>(f: F) -> F {
    f
}

/// `prefix: message` from a panic payload (`&str` or `String`, as `panic!` makes them).
fn panic_error(prefix: &str, payload: &(dyn Any + Send)) -> AppError {
    let message = if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.as_str()
    } else {
        "(a non-string panic payload)"
    };
    // wsgi.errors gets the error through the core's error path when the environ has one; the
    // log makes sure the panic is recorded either way.
    log::error!(target: "wsgiref::server", "{prefix}: {message}");
    AppError::text(format!("{prefix}: {message}"))
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
        assert_eq!(err.to_string(), "response body panicked: chunk 2");
        assert!(body.next_chunk().is_err());
        assert_eq!(body.inner().0, 2, "not called again after the panic");
        body.close(); // guarded: does not unwind into the caller
    }
}
