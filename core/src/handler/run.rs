//! Running one application call: CPython's `BaseHandler.run`, `finish_response`,
//! `handle_error` and `error_output`, shared by every handler.

use embedded_io::Write;

use crate::app::{Application, Body, Respond, StartResponse};
use crate::environ::Environ;
use crate::error::AppError;
use crate::handler::config::HandlerConfig;
use crate::handler::response::Response;
use crate::stream::InputError;

/// How one request ended, for access logs and for the server's connection handling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Outcome {
    /// The response went out complete.
    Complete,
    /// The application failed before sending headers; the error page went out instead.
    ErrorPage,
    /// The application failed after output had started: the response is truncated (logged).
    Truncated,
    /// The client went away. A disconnect during the application's own response is not
    /// logged (CPython ignores `BrokenPipeError` and `ConnectionResetError` there too). A
    /// disconnect while the error page was being sent follows the application's error, which
    /// was logged; the disconnect is not. CPython re-raises it there, and its server logs a
    /// second traceback: see the handler module's "Errors" section.
    Disconnected,
    /// Even the error page could not be sent (a double fault); logged.
    Failed,
}

/// What a handler reports after running an application once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RunReport {
    /// The status code sent (0 if nothing was sent).
    pub status: u16,
    /// Body bytes the application produced (CPython's `bytes_sent`, the access log's size).
    pub bytes_sent: u64,
    /// How it ended.
    pub outcome: Outcome,
    /// The connection cannot carry another request (framing unknown, error, client gone).
    pub must_close: bool,
}

/// Run `app` against `environ`, writing through `response`. Never panics; every error ends
/// in the outcome, a log line on `wsgi.errors`, or both.
///
/// Inlined into its callers on hosts: the report then goes straight into the caller's
/// result instead of being returned in registers, spilled and reloaded (43 instructions a
/// request fewer, `bench/instructions.sh`; about 3% of the typical cycle's time in
/// interleaved runs). Out of line on bare-metal targets, where one copy is smaller.
#[cfg_attr(not(target_os = "none"), inline(always))]
pub(crate) fn run_app<A: Application, W: Write>(
    app: &A,
    environ: &mut Environ<'_>,
    response: &mut Response<'_, '_, W>,
    config: &HandlerConfig,
    head_request: bool,
) -> RunReport {
    let called = {
        let mut start_response = StartResponse::new(response);
        app.call(environ, &mut start_response)
    };
    let failure = match called {
        Ok(mut body) => {
            let sent = send_body(&mut body, response, head_request);
            // Exactly once, whatever happened (CPython: finish_response's close, or the
            // except branch's result.close()).
            body.close();
            sent.err()
        }
        Err(e) => Some(e),
    };
    let outcome = match failure {
        None => Outcome::Complete,
        Some(error) => handle_error(error, environ, response, config),
    };
    RunReport {
        status: response.code(),
        bytes_sent: response.bytes_sent,
        outcome,
        must_close: response.must_close || outcome != Outcome::Complete,
    }
}

/// CPython's `finish_response`: iterate the body into the response, then finish it.
fn send_body<B: Body, W: Write>(
    body: &mut B,
    response: &mut Response<'_, '_, W>,
    head_request: bool,
) -> Result<(), AppError> {
    response.length_hint = body.length();
    // A file body goes out through the driver's sendfile hook when it has one.
    if response.try_sendfile(body.file_region())? {
        return response.finish();
    }
    // A body of known length is sent in as few writes as possible; an open-ended one is
    // flushed chunk by chunk so a streaming application's output is not held back.
    let stream = response.length_hint.is_none();
    // HEAD skips the body only when its length is known. An open-ended body is still
    // iterated (its bytes are discarded) so the head is the one a GET would get: skipping it
    // would make `finish` announce `Content-Length: 0` for a body that is not empty.
    if !head_request || stream {
        while let Some(chunk) = body.next_chunk()? {
            response.body(chunk)?;
            if stream {
                response.flush()?;
            }
        }
    }
    response.finish()
}

/// CPython's `handle_error` + `log_exception` + `error_output`.
fn handle_error<W: Write>(
    error: AppError,
    environ: &mut Environ<'_>,
    response: &mut Response<'_, '_, W>,
    config: &HandlerConfig,
) -> Outcome {
    response.must_close = true;
    if error.is_disconnect() {
        response.out.discard();
        return Outcome::Disconnected;
    }
    log_error(&error, environ, config);
    if response.headers_sent() {
        // Output already started: the response stays truncated. Push out what is staged so
        // the client sees as much as CPython would have sent.
        let _ = response.flush();
        return Outcome::Truncated;
    }
    // A request body that could not be read is the client's fault, not the application's.
    let (status, body): (&str, &'static [u8]) = match error.input_error() {
        Some(InputError::Malformed(_)) => ("400 Bad Request", b"Bad Request\n"),
        Some(InputError::TooLarge) => ("413 Content Too Large", b"Content Too Large\n"),
        _ => (config.error_status, config.error_body),
    };
    let sent = response
        .start_response(status, config.error_headers, true)
        .map_err(AppError::from)
        .and_then(|()| {
            response.length_hint = Some(body.len() as u64);
            response.body(body)?;
            response.finish()
        });
    match sent {
        Ok(()) => Outcome::ErrorPage,
        Err(e) if e.is_disconnect() => Outcome::Disconnected,
        Err(e) => {
            log_error(&e, environ, config);
            Outcome::Failed
        }
    }
}

/// Write the error and its cause chain to `wsgi.errors`, then flush it.
pub(crate) fn log_error(error: &AppError, environ: &Environ<'_>, config: &HandlerConfig) {
    let mut errors = environ.errors();
    // Through the stream, not formatted here: see ErrorStream::write_error.
    let _ = errors.write_error(error, config.traceback_limit);
    errors.flush();
}
