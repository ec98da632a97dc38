//! [`AppError`]: what an application (or the handler on its behalf) reports when a request
//! cannot be completed.
//!
//! PEP 3333 applications raise exceptions; here they return `Err(AppError)`. The handler logs
//! it to `wsgi.errors` (the error chain, as deep as `traceback_limit` allows) and, when no
//! header has been sent yet, answers with the error page (`500 Internal Server Error`). A
//! client disconnect is the exception: like CPython, it ends the request quietly.
//!
//! Without an allocator an error is a static message, a reference to a static error value, or
//! one of this crate's typed errors. With `alloc`, any `core::error::Error` converts with `?`
//! (it is boxed), which is why `AppError` itself does not implement `Error` (the same choice
//! `anyhow::Error` makes: a blanket `From<E: Error>` and `impl Error for AppError` conflict).

use core::fmt;

use crate::app::StartResponseError;
use crate::environ::EnvironError;
use crate::headers::HeaderError;
use crate::stream::InputError;
use crate::validate::ValidationError;

/// The error an application returns instead of a body. See the [module docs](self).
pub struct AppError {
    repr: Repr,
}

#[cfg_attr(feature = "alloc", allow(dead_code))] // with `alloc` these arrive boxed instead
enum Repr {
    Message(&'static str),
    Static(&'static (dyn core::error::Error + Send + Sync)),
    Input(InputError),
    StartResponse(StartResponseError),
    Header(HeaderError),
    Environ(EnvironError),
    Output(OutputError),
    Validation(ValidationError),
    #[cfg(feature = "alloc")]
    Boxed(alloc::boxed::Box<dyn core::error::Error + Send + Sync>),
}

/// Writing the response to the client failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum OutputError {
    /// The client closed the connection (CPython's `BrokenPipeError`,
    /// `ConnectionResetError`, `ConnectionAbortedError`): ended quietly.
    Disconnected,
    /// `write()` was called before `start_response`.
    WriteBeforeStartResponse,
    /// The response head did not fit the handler's output buffer.
    HeadTooLarge,
    /// The body was longer than the `Content-Length` the application declared.
    LengthExceeded,
    /// The transport failed in another way.
    Io(embedded_io::ErrorKind),
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutputError::Disconnected => f.write_str("client disconnected"),
            OutputError::WriteBeforeStartResponse => f.write_str("write() before start_response()"),
            OutputError::HeadTooLarge => f.write_str("response head larger than the output buffer"),
            OutputError::LengthExceeded => {
                f.write_str("response body longer than its Content-Length")
            }
            OutputError::Io(kind) => write!(f, "output I/O error: {kind:?}"),
        }
    }
}

impl core::error::Error for OutputError {}

impl OutputError {
    /// The exception name the error log shows for this error: `AssertionError` for
    /// [`WriteBeforeStartResponse`](Self::WriteBeforeStartResponse), which is the
    /// `AssertionError` CPython's `write()` raises with the same message, so the log line reads
    /// as CPython's does; `OutputError` for the rest, which CPython has no check for (a body
    /// longer than its `Content-Length`, a response head too large for the output buffer) or
    /// reports as `OSError`s of its own.
    pub fn kind_name(&self) -> &'static str {
        match self {
            OutputError::WriteBeforeStartResponse => "AssertionError",
            _ => "OutputError",
        }
    }
}

impl AppError {
    /// An error with a fixed message; needs no allocator.
    ///
    /// ```
    /// use wsgiref_core::AppError;
    /// let e = AppError::msg("database unavailable");
    /// assert_eq!(e.to_string(), "database unavailable");
    /// ```
    pub const fn msg(message: &'static str) -> Self {
        AppError {
            repr: Repr::Message(message),
        }
    }

    /// Wrap a `'static` error value (a `static` of your own error type); needs no allocator.
    pub const fn from_static(error: &'static (dyn core::error::Error + Send + Sync)) -> Self {
        AppError {
            repr: Repr::Static(error),
        }
    }

    /// Box any error (feature `alloc`). `?` does this for you.
    #[cfg(feature = "alloc")]
    pub fn new<E: core::error::Error + Send + Sync + 'static>(error: E) -> Self {
        AppError {
            repr: Repr::Boxed(alloc::boxed::Box::new(error)),
        }
    }

    /// An error with a message built at run time (feature `alloc`).
    #[cfg(feature = "alloc")]
    pub fn text(message: impl Into<alloc::string::String>) -> Self {
        #[derive(Debug)]
        struct Text(alloc::string::String);
        impl fmt::Display for Text {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl core::error::Error for Text {}
        AppError::new(Text(message.into()))
    }

    /// The response could not be written.
    pub const fn output(error: OutputError) -> Self {
        AppError {
            repr: Repr::Output(error),
        }
    }

    /// The error seen as `core::error::Error`, for its `source()` chain; `None` for a plain
    /// message.
    pub fn as_error(&self) -> Option<&(dyn core::error::Error + 'static)> {
        Some(match &self.repr {
            Repr::Message(_) => return None,
            Repr::Static(e) => *e,
            Repr::Input(e) => e,
            Repr::StartResponse(e) => e,
            Repr::Header(e) => e,
            Repr::Environ(e) => e,
            Repr::Output(e) => e,
            Repr::Validation(e) => e,
            #[cfg(feature = "alloc")]
            Repr::Boxed(e) => &**e,
        })
    }

    /// Downcast to a concrete error type.
    pub fn downcast_ref<E: core::error::Error + 'static>(&self) -> Option<&E> {
        // The core's own errors are compared by type through `Any` rather than through
        // `as_error`: a `dyn Error` vtable would link every one of their Display and Debug
        // impls (and `core::fmt`) into firmware that only asks "was it a disconnect?".
        let any: &dyn core::any::Any = match &self.repr {
            Repr::Message(_) => return None,
            Repr::Static(e) => return e.downcast_ref::<E>(),
            Repr::Input(e) => e,
            Repr::StartResponse(e) => e,
            Repr::Header(e) => e,
            Repr::Environ(e) => e,
            Repr::Output(e) => e,
            Repr::Validation(e) => e,
            #[cfg(feature = "alloc")]
            Repr::Boxed(e) => return e.downcast_ref::<E>(),
        };
        any.downcast_ref::<E>()
    }

    /// True when this error means the client went away: the handler then ends the request
    /// without logging and without an error page, as CPython does for `BrokenPipeError` and
    /// its siblings.
    pub fn is_disconnect(&self) -> bool {
        // The core's own reprs are matched directly, so firmware that asks this question does
        // not link `downcast_ref` and an `Any` vtable per error type (about 600 B on a
        // Cortex-M); only errors the application brought are downcast.
        match &self.repr {
            Repr::Output(e) => matches!(e, OutputError::Disconnected),
            Repr::Input(e) => matches!(e, InputError::Disconnected),
            _ => {
                matches!(
                    self.downcast_foreign::<OutputError>(),
                    Some(OutputError::Disconnected)
                ) || matches!(
                    self.downcast_foreign::<InputError>(),
                    Some(InputError::Disconnected)
                )
            }
        }
    }

    /// The input error behind this one, if the request body could not be read (a malformed
    /// chunk, a body over the limit): the server then answers 400/413 rather than 500.
    pub fn input_error(&self) -> Option<InputError> {
        match &self.repr {
            Repr::Input(e) => Some(*e),
            _ => self.downcast_foreign::<InputError>().copied(),
        }
    }

    /// [`downcast_ref`](Self::downcast_ref) limited to errors the application supplied (a
    /// `&'static dyn Error`, a box); the core's own kinds are matched by repr first.
    fn downcast_foreign<E: core::error::Error + 'static>(&self) -> Option<&E> {
        match &self.repr {
            Repr::Static(e) => e.downcast_ref::<E>(),
            #[cfg(feature = "alloc")]
            Repr::Boxed(e) => e.downcast_ref::<E>(),
            _ => None,
        }
    }

    /// A short name for the kind of error, used as the first word of the logged "traceback"
    /// line (CPython prints the exception class there).
    pub fn kind_name(&self) -> &'static str {
        match &self.repr {
            Repr::Message(_) | Repr::Static(_) => "Error",
            Repr::Input(_) => "InputError",
            Repr::StartResponse(_) => "AssertionError",
            Repr::Header(_) => "ValueError",
            Repr::Environ(_) => "EnvironError",
            Repr::Output(e) => e.kind_name(),
            Repr::Validation(_) => "AssertionError",
            #[cfg(feature = "alloc")]
            Repr::Boxed(e) => {
                if e.is::<InputError>() {
                    "InputError"
                } else if e.is::<StartResponseError>() || e.is::<ValidationError>() {
                    "AssertionError"
                } else if e.is::<HeaderError>() {
                    "ValueError"
                } else if let Some(e) = e.downcast_ref::<OutputError>() {
                    e.kind_name()
                } else {
                    "Error"
                }
            }
        }
    }

    /// Write the error and its `source()` chain, at most `limit` causes deep (`None`: all), in
    /// the shape the handler logs: `Error: message` then `  caused by: ...` lines.
    pub fn write_chain(&self, out: &mut dyn fmt::Write, limit: Option<usize>) -> fmt::Result {
        writeln!(out, "{}: {}", self.kind_name(), self)?;
        let mut next = self.as_error().and_then(|e| e.source());
        let mut depth = 0;
        while let Some(cause) = next {
            if limit.is_some_and(|l| depth >= l) {
                writeln!(out, "  ... (more causes not shown)")?;
                break;
            }
            writeln!(out, "  caused by: {cause}")?;
            next = cause.source();
            depth += 1;
        }
        Ok(())
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Message(m) => f.write_str(m),
            Repr::Static(e) => fmt::Display::fmt(e, f),
            Repr::Input(e) => fmt::Display::fmt(e, f),
            Repr::StartResponse(e) => fmt::Display::fmt(e, f),
            Repr::Header(e) => fmt::Display::fmt(e, f),
            Repr::Environ(e) => fmt::Display::fmt(e, f),
            Repr::Output(e) => fmt::Display::fmt(e, f),
            Repr::Validation(e) => fmt::Display::fmt(e, f),
            #[cfg(feature = "alloc")]
            Repr::Boxed(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl fmt::Debug for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AppError({:?})", format_args!("{self}"))
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for AppError {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "AppError({=str})", self.kind_name());
    }
}

// Without an allocator, this crate's own errors convert into `AppError` one by one. With
// `alloc`, one blanket conversion boxes any error (these included), so `?` works on
// `std::io::Error` and friends too.
#[cfg(not(feature = "alloc"))]
mod conversions {
    use super::*;

    impl From<InputError> for AppError {
        fn from(e: InputError) -> Self {
            AppError {
                repr: Repr::Input(e),
            }
        }
    }

    impl From<StartResponseError> for AppError {
        fn from(e: StartResponseError) -> Self {
            AppError {
                repr: Repr::StartResponse(e),
            }
        }
    }

    impl From<HeaderError> for AppError {
        fn from(e: HeaderError) -> Self {
            AppError {
                repr: Repr::Header(e),
            }
        }
    }

    impl From<EnvironError> for AppError {
        fn from(e: EnvironError) -> Self {
            AppError {
                repr: Repr::Environ(e),
            }
        }
    }

    impl From<OutputError> for AppError {
        fn from(e: OutputError) -> Self {
            AppError {
                repr: Repr::Output(e),
            }
        }
    }

    impl From<ValidationError> for AppError {
        fn from(e: ValidationError) -> Self {
            AppError {
                repr: Repr::Validation(e),
            }
        }
    }

    impl From<crate::storage::CapacityError> for AppError {
        fn from(e: crate::storage::CapacityError) -> Self {
            AppError {
                repr: Repr::Header(HeaderError::Capacity(e)),
            }
        }
    }

    impl From<core::fmt::Error> for AppError {
        fn from(_: core::fmt::Error) -> Self {
            AppError::msg("formatting error (buffer full?)")
        }
    }
}

#[cfg(feature = "alloc")]
impl<E: core::error::Error + Send + Sync + 'static> From<E> for AppError {
    fn from(e: E) -> Self {
        AppError::new(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(Inner);
    #[derive(Debug)]
    struct Inner;
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("outer")
        }
    }
    impl fmt::Display for Inner {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("inner")
        }
    }
    impl core::error::Error for Outer {
        fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    impl core::error::Error for Inner {}
    static OUTER: Outer = Outer(Inner);

    #[test]
    fn chain_respects_the_limit() {
        let e = AppError::from_static(&OUTER);
        let mut s = heapless::String::<128>::new();
        e.write_chain(&mut s, None).unwrap();
        assert_eq!(s.as_str(), "Error: outer\n  caused by: inner\n");
        s.clear();
        e.write_chain(&mut s, Some(0)).unwrap();
        assert_eq!(s.as_str(), "Error: outer\n  ... (more causes not shown)\n");
    }

    #[test]
    fn write_before_start_response_is_cpythons_assertion_error() {
        let e = AppError::output(OutputError::WriteBeforeStartResponse);
        assert_eq!(e.kind_name(), "AssertionError");
        assert_eq!(
            AppError::output(OutputError::LengthExceeded).kind_name(),
            "OutputError"
        );
    }

    #[test]
    fn disconnects_are_recognised() {
        assert!(AppError::from(InputError::Disconnected).is_disconnect());
        assert!(AppError::output(OutputError::Disconnected).is_disconnect());
        assert!(!AppError::msg("x").is_disconnect());
        assert_eq!(
            AppError::from(InputError::TooLarge).input_error(),
            Some(InputError::TooLarge)
        );
    }
}
