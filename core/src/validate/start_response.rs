//! The application's side of `start_response` and `write`: status, headers, call order.

use core::cell::Cell;

use super::error::ValidationError;
use super::repr::{is_split_space, parse_int, Text};
use super::warning::{Warning, WarningSink};
use crate::app::{Respond, StartResponse, StartResponseError};
use crate::error::AppError;

/// The first violation found during one call, wherever it was found (`start_response`,
/// `write`, `wsgi.input`). The validator returns it once the application is done, whatever
/// the application made of the error it was handed at that point.
#[derive(Default)]
pub(crate) struct Violation(Cell<Option<ValidationError>>);

impl Violation {
    /// Keep `v` unless an earlier violation is already kept.
    pub(crate) fn record(&self, v: ValidationError) {
        let first = self.0.take().or(Some(v));
        self.0.set(first);
    }

    pub(crate) fn take(&self) -> Option<ValidationError> {
        self.0.take()
    }
}

/// CPython's `check_status`: the first word is a three-character integer of at least 100;
/// a status that is not "three characters, a space, a reason" draws a warning. Returns the
/// code.
pub(crate) fn check_status<S: WarningSink>(status: &str, sink: &S) -> Result<i32, ValidationError> {
    let rest = status.trim_start_matches(is_split_space);
    let token = &rest[..rest.find(is_split_space).unwrap_or(rest.len())];
    if token.is_empty() {
        return Err(ValidationError::StatusEmpty);
    }
    if token.chars().count() != 3 {
        return Err(ValidationError::StatusCodeLength(Text::repr(token)));
    }
    let code = match parse_int(token.chars()) {
        // Three characters hold at most 999, so the conversion cannot fail.
        Some((negative, magnitude)) => {
            let m = i32::try_from(magnitude).unwrap_or(i32::MAX);
            if negative {
                -m
            } else {
                m
            }
        }
        None => return Err(ValidationError::StatusCodeNotInteger(Text::repr(token))),
    };
    if code < 100 {
        return Err(ValidationError::StatusCodeTooLow(code));
    }
    if status.chars().nth(3) != Some(' ') {
        sink.warn(&Warning::StatusFormat(Text::repr(status)));
    }
    Ok(code)
}

/// CPython's `check_headers`, for each header in order: no `Status` header; names without
/// `:` or `\n`, matching `^[a-zA-Z][a-zA-Z0-9\-_]*$`, not ending in `-` or `_`; values
/// without `\x00`..`\x1f`.
pub(crate) fn check_headers(headers: &[(&str, &str)]) -> Result<(), ValidationError> {
    for &(name, value) in headers {
        // Python lower-cases with Unicode rules, but no non-ASCII character lower-cases into
        // the letters of "status", so an ASCII comparison gives the same answer.
        if name.eq_ignore_ascii_case("status") {
            return Err(ValidationError::StatusHeader(Text::repr(value)));
        }
        if name.contains(['\n', ':']) {
            return Err(ValidationError::HeaderNameColonOrNewline(Text::repr(name)));
        }
        let mut bytes = name.bytes();
        let well_formed = bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
            && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            return Err(ValidationError::BadHeaderName(Text::repr(name)));
        }
        if name.ends_with(['-', '_']) {
            return Err(ValidationError::HeaderNameBadEnd(Text::repr(name)));
        }
        if let Some(&bad) = value.as_bytes().iter().find(|&&b| b < 0x20) {
            return Err(ValidationError::BadHeaderValue {
                value: Text::repr(value),
                bad,
            });
        }
    }
    Ok(())
}

/// CPython's `check_content_type`: a `Content-Type` unless the code is 204 or 304, and none
/// for those two.
pub(crate) fn check_content_type(
    code: i32,
    headers: &[(&str, &str)],
) -> Result<(), ValidationError> {
    let no_body = code == 204 || code == 304;
    // As with "status", an ASCII case-insensitive comparison is what `lower()` gives here.
    let has_content_type = headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
    if has_content_type && no_body {
        // `no_body` means the code is 204 or 304, so it fits.
        Err(ValidationError::ContentTypeInEmptyResponse(code as u16))
    } else if !has_content_type && !no_body {
        Err(ValidationError::NoContentType(Text::repr_headers(headers)))
    } else {
        Ok(())
    }
}

/// The `start_response` the application sees: checks each call, then forwards it to the
/// server's.
pub(crate) struct Checker<'c, 'r, S> {
    inner: &'c mut StartResponse<'r>,
    sink: &'c S,
    violation: &'c Violation,
    /// `start_response` was called and passed the checks (set before the server sees the
    /// call, as CPython does).
    pub(crate) started: bool,
}

impl<'c, 'r, S: WarningSink> Checker<'c, 'r, S> {
    pub(crate) fn new(
        inner: &'c mut StartResponse<'r>,
        sink: &'c S,
        violation: &'c Violation,
    ) -> Self {
        Checker {
            inner,
            sink,
            violation,
            started: false,
        }
    }

    fn check(
        &self,
        status: &str,
        headers: &[(&str, &str)],
        exc_info: bool,
    ) -> Result<(), ValidationError> {
        let code = check_status(status, self.sink)?;
        check_headers(headers)?;
        check_content_type(code, headers)?;
        // CPython leaves this one to the handler, which looks only after the validator's
        // checks passed; same order here.
        if self.started && !exc_info {
            return Err(ValidationError::HeadersAlreadySet);
        }
        Ok(())
    }
}

impl<S: WarningSink> Respond for Checker<'_, '_, S> {
    fn start_response(
        &mut self,
        status: &str,
        headers: &[(&str, &str)],
        exc_info: bool,
    ) -> Result<(), StartResponseError> {
        if let Err(v) = self.check(status, headers, exc_info) {
            self.violation.record(v.clone());
            return Err(StartResponseError::Validation(v));
        }
        self.started = true;
        if !exc_info {
            return self.inner.start(status, headers).map(|_| ());
        }
        // `StartResponse` re-raises when headers were sent; it asked `headers_sent` of this
        // checker, which asks the server's, so the server will answer the same way. What
        // reaches here is the server's own refusal, which is a `StartResponseError`.
        self.inner
            .start_with_exc_info(status, headers, AppError::msg("start_response(exc_info)"))
            .map(|_| ())
            .map_err(|e| {
                e.downcast_ref::<StartResponseError>()
                    .cloned()
                    .unwrap_or(StartResponseError::HeadersAlreadySet)
            })
    }

    fn write(&mut self, data: &[u8]) -> Result<(), AppError> {
        if !self.started {
            self.violation.record(ValidationError::WriteBeforeStart);
            return Err(ValidationError::WriteBeforeStart.into());
        }
        self.inner.write(data)
    }

    fn headers_sent(&self) -> bool {
        self.inner.headers_sent()
    }
}
