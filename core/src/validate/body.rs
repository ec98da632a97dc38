//! The body as the server drives it: pulled only after `start_response`, never after
//! `close()`, closed exactly once.

use super::error::ValidationError;
use super::warning::{Warning, WarningSink};
use crate::app::Body;
use crate::error::AppError;

/// The application's body, checked while the server pulls and closes it (CPython's
/// `IteratorWrapper`). [`Validator`](super::Validator) returns it.
///
/// * a chunk pulled although the application never called `start_response` is an error
///   ([`ValidationError::BodyBeforeStart`]; an empty body never triggers it), and so is a
///   chunk pulled after `close()` ([`ValidationError::ReadAfterClose`]);
/// * a second `close()` is reported as [`Warning::BodyClosedTwice`] and not passed on;
/// * a body dropped without `close()` is reported as [`Warning::BodyNotClosed`] (from `Drop`,
///   where an error cannot be returned and a panic would be worse).
///
/// Unlike CPython's wrapper, which has no `len()` and so costs a validated application its
/// automatic `Content-Length`, this one passes [`Body::length`] through: a Rust body states
/// its length on purpose, and validating an application should not change its response.
pub struct ValidatedBody<B: Body, S: WarningSink> {
    inner: B,
    sink: S,
    started: bool,
    pulled: bool,
    closed: bool,
}

impl<B: Body, S: WarningSink> ValidatedBody<B, S> {
    pub(crate) fn new(inner: B, started: bool, sink: S) -> Self {
        ValidatedBody {
            inner,
            sink,
            started,
            pulled: false,
            closed: false,
        }
    }

    /// The application's own body.
    pub fn get_ref(&self) -> &B {
        &self.inner
    }
}

impl<B: Body, S: WarningSink> Body for ValidatedBody<B, S> {
    fn next_chunk(&mut self) -> Result<Option<&[u8]>, AppError> {
        if self.closed {
            return Err(ValidationError::ReadAfterClose.into());
        }
        let chunk = self.inner.next_chunk()?;
        // Like CPython, the first chunk is what counts, even an empty one.
        if chunk.is_some() && !self.pulled {
            self.pulled = true;
            if !self.started {
                return Err(ValidationError::BodyBeforeStart.into());
            }
        }
        Ok(chunk)
    }

    fn length(&self) -> Option<u64> {
        self.inner.length()
    }

    fn close(&mut self) {
        if self.closed {
            self.sink.warn(&Warning::BodyClosedTwice);
            return;
        }
        self.closed = true;
        self.inner.close();
    }
}

impl<B: Body, S: WarningSink> Drop for ValidatedBody<B, S> {
    fn drop(&mut self) {
        if !self.closed {
            self.sink.warn(&Warning::BodyNotClosed);
        }
    }
}
