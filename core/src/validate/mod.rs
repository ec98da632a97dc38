//! `wsgiref.validate`: middleware that checks both sides of every call for conformance.
//!
//! Put [`validator`] between a server and an application while developing either. It
//! changes nothing in a conforming exchange; a broken contract becomes a
//! [`ValidationError`] (CPython's `AssertionError`, with CPython's message), which the
//! handler logs and answers with its error page, and the softer findings become
//! [`Warning`]s sent to a [`WarningSink`]. Nothing here allocates, so the validator runs on
//! a microcontroller as well as on a server.
//!
//! ```
//! use wsgiref_core::app::{app_fn, Body, Respond, StartResponse, StartResponseError};
//! use wsgiref_core::environ::EnvironBuf;
//! use wsgiref_core::util::setup_testing_defaults;
//! use wsgiref_core::validate::{validator, ValidationError, WarningLog};
//! use wsgiref_core::{AppError, Application, Environ};
//!
//! // An application that forgets its Content-Type.
//! let app = app_fn(|_env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
//!     sr.start("200 OK", &[("X-Powered-By", "rust")])?;
//!     Ok::<_, AppError>(&b"hi"[..])
//! });
//! let warnings = WarningLog::<4>::new();
//! let checked = validator(app).with_sink(&warnings);
//!
//! // A stand-in for the server's side of start_response.
//! struct Server;
//! impl Respond for Server {
//!     fn start_response(&mut self, _: &str, _: &[(&str, &str)], _: bool) -> Result<(), StartResponseError> {
//!         Ok(())
//!     }
//!     fn write(&mut self, _: &[u8]) -> Result<(), AppError> { Ok(()) }
//!     fn headers_sent(&self) -> bool { false }
//! }
//!
//! let mut buf = EnvironBuf::<512, 16>::new();
//! let mut environ = buf.environ();
//! setup_testing_defaults(&mut environ).unwrap();
//! environ.set("QUERY_STRING", "").unwrap();
//! let mut server = Server;
//! let error = checked.call(&mut environ, &mut StartResponse::new(&mut server)).err().unwrap();
//! assert_eq!(error.kind_name(), "AssertionError");
//! assert_eq!(
//!     error.to_string(),
//!     "No Content-Type header found in headers ([('X-Powered-By', 'rust')])"
//! );
//! assert!(warnings.is_empty());
//! ```
//!
//! # What is checked
//!
//! Every check of CPython 3.11's `wsgiref/validate.py`, function by function, and what
//! became of it. Where Rust's types make a violation impossible to write, there is no run-time
//! check, and the reason is given. Test names are in `tests/validate_checks.rs` unless a
//! module is named.
//!
//! | CPython (function: check) | here | test |
//! |---|---|---|
//! | `lint_app`: exactly two positional arguments, no keywords | ruled out by the type system: [`Application::call`] takes an environ and a `start_response`, and Rust has no keyword arguments | — |
//! | `lint_app`: result is not `None`/false ("must return an iterator") | ruled out: `call` returns `Result<Body, AppError>`; there is no "nothing" to return | — |
//! | `check_iterator`: result is not a `str`/`bytes` | ruled out: a `&str` or `&[u8]` body is one chunk (it implements [`Body`] that way), so the character-by-character trap this guards against does not exist | — |
//! | `IteratorWrapper.__init__`: result is iterable | ruled out: the body type implements [`Body`] | — |
//! | `check_environ`: environ is exactly a `dict` | ruled out: it is an [`Environ`] | — |
//! | `check_environ`: `REQUEST_METHOD`, `SERVER_NAME`, `SERVER_PORT` present | [`ValidationError::MissingKey`] | `environ_required_keys` |
//! | `check_environ`: `wsgi.version`, `wsgi.multithread`, `wsgi.multiprocess`, `wsgi.run_once` present | the typed group [`Environ::wsgi`](crate::Environ) must be set, else `MissingKey("wsgi.version")` | `environ_required_keys` |
//! | `check_environ`: `wsgi.input`, `wsgi.errors` present | not required, by design: an environ without them reads an empty body and drops diagnostics, exactly what CPython's required `BytesIO()`/`StringIO()` do | `environ_without_streams_passes` |
//! | `check_environ`: no `HTTP_CONTENT_TYPE` / `HTTP_CONTENT_LENGTH` | [`ValidationError::ForbiddenKey`] | `environ_http_content_keys` |
//! | `check_environ`: `QUERY_STRING` present, else a warning | [`Warning::QueryStringMissing`] | `environ_query_string_warning` |
//! | `check_environ`: every non-dotted value is a `str` | ruled out: every value is a byte string, PEP 3333's "native string" made honest | — |
//! | `check_environ`: `wsgi.version` is a tuple | ruled out: it is a `(u8, u8)` | — |
//! | `check_environ`: `wsgi.url_scheme` is `http` or `https` (a missing one raises `KeyError`) | ruled out: [`UrlScheme`](crate::UrlScheme) has exactly those two values; a missing scheme is a missing `wsgi.*` group (above) | — |
//! | `check_input`: `wsgi.input` has `read`, `readline`, `readlines`, `__iter__` | ruled out: it is an [`InputStream`](crate::stream::InputStream) | — |
//! | `check_errors`: `wsgi.errors` has `flush`, `write`, `writelines` | ruled out: it is an [`ErrorStream`](crate::stream::ErrorStream) | — |
//! | `check_environ`: known `REQUEST_METHOD`, else a warning | [`Warning::UnknownRequestMethod`] | `environ_unknown_method_warning` |
//! | `check_environ`: `SCRIPT_NAME` empty or starts with `/` | [`ValidationError::ScriptNameNoSlash`]; an absent one passes (CPython raises `KeyError`, a quirk of its eager message) | `environ_script_name_slash` |
//! | `check_environ`: `PATH_INFO` empty or starts with `/` | [`ValidationError::PathInfoNoSlash`]; an absent one passes (same quirk) | `environ_path_info_slash` |
//! | `check_environ`: `CONTENT_LENGTH` is an integer ≥ 0 | Python's `int()` rules (surrounding whitespace, `+`/`-`, `_` between digits; `-0` is fine): [`ValidationError::ContentLengthNotInteger`] (CPython's `ValueError` text), [`ValidationError::ContentLengthNegative`] | `environ_content_length` |
//! | `check_environ`: `SCRIPT_NAME` or `PATH_INFO` set (`PATH_INFO` present, even empty, when `SCRIPT_NAME` is empty) | [`ValidationError::NoPath`] | `environ_needs_a_path` |
//! | `check_environ`: `SCRIPT_NAME` is not `/` | [`ValidationError::ScriptNameSlash`] | `environ_script_name_not_root` |
//! | `start_response_wrapper`: two or three positional arguments, no keywords | ruled out: [`StartResponse::start`] and [`StartResponse::start_with_exc_info`] are the only forms | — |
//! | `check_status`: status is a `str` | ruled out: `&str` | — |
//! | `check_status`: the first word has three characters (an empty status: `IndexError`) | [`ValidationError::StatusCodeLength`], [`ValidationError::StatusEmpty`] | `status_code_three_characters` |
//! | `check_status`: the first word is an integer (`ValueError`) | [`ValidationError::StatusCodeNotInteger`]; only ASCII digits count (CPython also takes other Unicode digits, which the handler then refuses) | `status_code_integer` |
//! | `check_status`: the code is ≥ 100 | [`ValidationError::StatusCodeTooLow`] | `status_code_at_least_100` |
//! | `check_status`: a space after the code, else a warning | [`Warning::StatusFormat`] | `status_format_warning` |
//! | `check_headers`: headers are exactly a `list` | ruled out: `&[(&str, &str)]`; CPython's `test_simple_validation_error` (a tuple passed instead) does not compile | — |
//! | `check_headers`: items are 2-tuples of `str` | ruled out: `(&str, &str)` | — |
//! | `check_headers`: no `Status` header | [`ValidationError::StatusHeader`] | `header_status_forbidden` |
//! | `check_headers`: names without `:` or `\n` | [`ValidationError::HeaderNameColonOrNewline`] | `header_name_colon_or_newline` |
//! | `check_headers`: names match `^[a-zA-Z][a-zA-Z0-9\-_]*$` | [`ValidationError::BadHeaderName`] | `header_name_pattern` |
//! | `check_headers`: names do not end in `-` or `_` | [`ValidationError::HeaderNameBadEnd`] | `header_name_end` |
//! | `check_headers`: values without `\x00`..`\x1f` | [`ValidationError::BadHeaderValue`] | `header_value_control_chars` |
//! | `check_content_type`: a `Content-Type` unless 204/304 | [`ValidationError::NoContentType`] | `content_type_required` |
//! | `check_content_type`: no `Content-Type` in a 204/304 | [`ValidationError::ContentTypeInEmptyResponse`] | `content_type_forbidden_in_204_304` |
//! | `check_exc_info`: `None` or a tuple | ruled out: `exc_info` is an [`AppError`] argument of `start_with_exc_info` | — |
//! | (the handler's) `start_response` called once unless with `exc_info` | [`ValidationError::HeadersAlreadySet`] | `start_response_once_unless_exc_info` |
//! | `WriteWrapper`: `write()` takes `bytes` | ruled out: `&[u8]` | — |
//! | `WriteWrapper`: `write` exists only once `start_response` returned it | [`StartResponse::write`] exists from the start, so it is checked: [`ValidationError::WriteBeforeStart`] | `write_before_start_response` |
//! | `InputWrapper.read`: exactly one (size) argument | ruled out: `read(buf)`'s buffer is the size; there is no unbounded "read everything" | — |
//! | `InputWrapper.read` / `readline` return `bytes` | ruled out: they fill a `&mut [u8]`. What can still go wrong is the count: [`ValidationError::InputOverRead`] | `input_count_fits_the_buffer` |
//! | `InputWrapper.readline`: at most one argument | ruled out: `read_line(buf)`. Checked instead: the line ends at its `\n`, [`ValidationError::InputLineOverrun`] | `input_line_ends_at_newline` |
//! | `InputWrapper.readlines` returns a list of `bytes`; `__iter__` | ruled out: neither exists (both would need an allocator); an application loops over `read_line` | — |
//! | `InputWrapper.close` must not be called | ruled out: the input has no `close` | — |
//! | (PEP 3333) no more input than `CONTENT_LENGTH` | [`ValidationError::InputPastContentLength`] | `input_not_past_content_length` |
//! | `ErrorWrapper.write`/`writelines` take `str` | ruled out: `write_str(&str)` and `write!` | — |
//! | `ErrorWrapper.close` must not be called | ruled out: the errors stream has no `close` | — |
//! | `IteratorWrapper.__next__`: not after `close()` | [`ValidationError::ReadAfterClose`] | `body_not_read_after_close` |
//! | `IteratorWrapper.__next__`: items are `bytes` | ruled out: chunks are `&[u8]` | — |
//! | `IteratorWrapper.__next__`: first item only after `start_response` | [`ValidationError::BodyBeforeStart`] | `body_not_pulled_before_start_response` |
//! | `IteratorWrapper.close`: passed on | passed on once; a second call is [`Warning::BodyClosedTwice`] | `body_closed_exactly_once` |
//! | `IteratorWrapper.__del__`: closed before it is collected | [`Warning::BodyNotClosed`], from `Drop` | `body_dropped_unclosed_warns` |
//! | `IteratorWrapper` has no `len()` (no automatic `Content-Length`) | deliberately different: [`Body::length`] is passed on | `validated_hello` |
//!
//! `PartialIteratorWrapper` is unused in CPython and has no counterpart.
//!
//! # How a failure surfaces
//!
//! A failed environ check returns the error before the application runs. A failed
//! `start_response` check hands the application
//! [`StartResponseError::Validation`](crate::app::StartResponseError::Validation), as
//! CPython raises inside `start_response`; a failed `write` or `wsgi.input` check hands it an
//! error too. Whatever the application then does (returns the error, or swallows it), the
//! validator returns the *first* violation as the call's error, closing the body if the
//! application returned one: a broken contract is never silently passed over.

mod body;
mod environ;
mod error;
mod input;
mod repr;
mod start_response;
mod warning;

pub use body::ValidatedBody;
pub use error::ValidationError;
pub use repr::{Text, TEXT_CAP};
pub use warning::{DefaultSink, IgnoreWarnings, Warning, WarningLog, WarningSink};

use crate::app::{Application, Body, StartResponse};
use crate::environ::Environ;
use crate::error::AppError;

use input::CheckedInput;
use start_response::{Checker, Violation};

/// Wrap `app` in the conformance checker. See the [module docs](self).
///
/// Warnings go to [`DefaultSink`]; choose another with [`Validator::with_sink`].
pub fn validator<A: Application>(app: A) -> Validator<A> {
    Validator {
        app,
        sink: DefaultSink,
    }
}

/// An application wrapped by [`validator`]: it checks the environ, then calls the
/// application with a checking `start_response` and `wsgi.input`, and returns its body
/// wrapped in a [`ValidatedBody`].
#[derive(Clone, Debug)]
pub struct Validator<A, S = DefaultSink> {
    app: A,
    sink: S,
}

impl<A, S> Validator<A, S> {
    /// Send warnings to `sink` instead: a closure, `&`[`WarningLog`], [`IgnoreWarnings`]...
    pub fn with_sink<T: WarningSink>(self, sink: T) -> Validator<A, T> {
        Validator {
            app: self.app,
            sink,
        }
    }

    /// The wrapped application.
    pub fn app(&self) -> &A {
        &self.app
    }
}

impl<A: Application, S: WarningSink> Application for Validator<A, S> {
    type Body = ValidatedBody<A::Body, S>;

    fn call(
        &self,
        environ: &mut Environ<'_>,
        start_response: &mut StartResponse<'_>,
    ) -> Result<Self::Body, AppError> {
        let content_length = environ::check_environ(environ, &self.sink)?;
        let violation = Violation::default();
        let input = CheckedInput::new(environ.input_stream(), content_length, &violation);
        let mut checker = Checker::new(start_response, &self.sink, &violation);
        let result = environ.with_input(&input, |environ| {
            self.app
                .call(environ, &mut StartResponse::new(&mut checker))
        });
        let started = checker.started;
        match (result, violation.take()) {
            (Ok(body), None) => Ok(ValidatedBody::new(body, started, self.sink.clone())),
            (Ok(mut body), Some(v)) => {
                body.close();
                Err(v.into())
            }
            (Err(_), Some(v)) => Err(v.into()),
            (Err(e), None) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests;
