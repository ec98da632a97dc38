//! `wsgi.input` as the server provides it: counts that fit the buffer, lines that end at
//! their `\n`, no more bytes than `CONTENT_LENGTH`.

use core::cell::Cell;

use super::error::ValidationError;
use super::start_response::Violation;
use crate::stream::{InputError, InputStream};

/// What the application is told when the stream broke its contract; the validator then
/// reports the [`ValidationError`] itself.
const BROKEN: InputError =
    InputError::Malformed("wsgi.input broke its contract (see the validator's error)");

/// The server's `wsgi.input`, checked on every read (CPython's `InputWrapper`; which of its
/// checks Rust's types already make is in the module table).
pub(crate) struct CheckedInput<'i> {
    inner: Option<&'i dyn InputStream>,
    content_length: Option<u64>,
    read: Cell<u64>,
    violation: &'i Violation,
}

impl<'i> CheckedInput<'i> {
    pub(crate) fn new(
        inner: Option<&'i dyn InputStream>,
        content_length: Option<u64>,
        violation: &'i Violation,
    ) -> Self {
        CheckedInput {
            inner,
            content_length,
            read: Cell::new(0),
            violation,
        }
    }

    fn fail(&self, v: ValidationError) -> InputError {
        self.violation.record(v);
        BROKEN
    }

    /// Check a count the stream returned for a buffer of `asked` bytes, and the running total.
    fn account(&self, asked: usize, got: usize) -> Result<usize, InputError> {
        if got > asked {
            return Err(self.fail(ValidationError::InputOverRead { asked, got }));
        }
        let total = self.read.get().saturating_add(got as u64);
        self.read.set(total);
        match self.content_length {
            Some(limit) if total > limit => {
                Err(self.fail(ValidationError::InputPastContentLength(limit)))
            }
            _ => Ok(got),
        }
    }
}

impl InputStream for CheckedInput<'_> {
    fn read(&self, buf: &mut [u8]) -> Result<usize, InputError> {
        match self.inner {
            Some(inner) => {
                let got = inner.read(buf)?;
                self.account(buf.len(), got)
            }
            None => Ok(0),
        }
    }

    fn read_line(&self, buf: &mut [u8]) -> Result<usize, InputError> {
        let Some(inner) = self.inner else {
            return Ok(0);
        };
        let got = inner.read_line(buf)?;
        let got = self.account(buf.len(), got)?;
        if buf[..got]
            .iter()
            .position(|&b| b == b'\n')
            .is_some_and(|i| i + 1 < got)
        {
            return Err(self.fail(ValidationError::InputLineOverrun));
        }
        Ok(got)
    }
}
