//! Where response bytes go: a coalescing buffer in front of an `embedded_io::Write`.
//!
//! A typical small response (head plus a short body) leaves in one `write` call, which is what
//! makes a keep-alive server fast; larger bodies pass straight through without a copy.

use embedded_io::{Error as _, ErrorKind, Write};

use crate::bytes::copy_short;
use crate::error::OutputError;

/// Map a transport error to what the handler does about it: a vanished client is a
/// disconnect (quiet, like CPython's `BrokenPipeError`), anything else is an I/O error.
pub(crate) fn classify(kind: ErrorKind) -> OutputError {
    match kind {
        ErrorKind::BrokenPipe
        | ErrorKind::ConnectionReset
        | ErrorKind::ConnectionAborted
        | ErrorKind::NotConnected
        | ErrorKind::WriteZero => OutputError::Disconnected,
        other => OutputError::Io(other),
    }
}

/// Write all of `data` to `sink`, retrying interrupted writes. A writer that accepts nothing
/// can never make progress: that is `WriteZero` rather than a loop (embedded-io's own
/// `write_all` would panic there). The one write loop of the handlers.
pub(crate) fn write_all<W: Write>(sink: &mut W, mut data: &[u8]) -> Result<(), ErrorKind> {
    while !data.is_empty() {
        match sink.write(data) {
            Ok(0) => return Err(ErrorKind::WriteZero),
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e.kind()),
        }
    }
    Ok(())
}

/// A transport plus a caller-owned staging buffer.
pub(crate) struct Output<'o, W: Write> {
    pub(crate) sink: W,
    buf: &'o mut [u8],
    len: usize,
}

impl<'o, W: Write> Output<'o, W> {
    pub(crate) fn new(sink: W, buf: &'o mut [u8]) -> Self {
        Output { sink, buf, len: 0 }
    }

    /// Queue `data`: copied when it fits the buffer, otherwise the buffer is flushed and `data`
    /// written directly (no copy of large bodies).
    pub(crate) fn put(&mut self, data: &[u8]) -> Result<(), OutputError> {
        if self.stage(data) {
            return Ok(());
        }
        self.flush_buffer()?;
        if data.len() <= self.buf.len() / 2 {
            self.buf[..data.len()].copy_from_slice(data);
            self.len = data.len();
            return Ok(());
        }
        self.write_all(data)
    }

    /// [`put`](Self::put) for a few bytes known at compile time (a line end, a fixed
    /// header line): inlined, so the copy is a move of known size rather than a call to
    /// `memcpy` (42 instructions a response fewer for the head's final CRLF alone,
    /// `bench/instructions.sh`; `put` itself inlined everywhere cost 500 more).
    /// Bare-metal targets call `put` (smaller: 264 B of flash in the minimal firmware).
    #[inline(always)]
    pub(crate) fn put_const(&mut self, data: &'static [u8]) -> Result<(), OutputError> {
        #[cfg(not(target_os = "none"))]
        if self.stage(data) {
            return Ok(());
        }
        self.put(data)
    }

    /// Queue several pieces with one call: a response head is ~20 small pieces, and a call
    /// per piece cost more than copying them.
    pub(crate) fn put_parts(&mut self, parts: &[&[u8]]) -> Result<(), OutputError> {
        for part in parts {
            if !self.stage(part) {
                self.put(part)?;
            }
        }
        Ok(())
    }

    /// The staging buffer's size: the most a response head may take.
    pub(crate) fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Copy `parts` behind what is staged, as far as they fit; the caller has checked that
    /// they do (a response head is staged whole or not at all, never flushed in part).
    /// Inlined, so that the constant parts (`": "`, the line end) are moves of known size
    /// rather than calls to `memcpy` (85 instructions a minimal response). Out of line on
    /// bare-metal targets, where inlining cost 164 B of flash in the minimal firmware.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub(crate) fn stage_parts(&mut self, parts: &[&[u8]]) {
        for part in parts {
            let staged = self.stage(part);
            debug_assert!(staged, "the caller checked the room");
        }
    }

    /// Copy `data` behind what is staged if it fits (true), else leave everything as it is.
    /// Inlined into each caller, so a copy of known size is a plain move.
    #[inline(always)]
    fn stage(&mut self, data: &[u8]) -> bool {
        let fits = data.len() <= self.buf.len() - self.len;
        if fits {
            copy_short(&mut self.buf[self.len..self.len + data.len()], data);
            self.len += data.len();
        }
        fits
    }

    fn write_all(&mut self, data: &[u8]) -> Result<(), OutputError> {
        write_all(&mut self.sink, data).map_err(classify)
    }

    /// Write out what is staged, without flushing the transport itself.
    pub(crate) fn flush_buffer(&mut self) -> Result<(), OutputError> {
        let len = core::mem::take(&mut self.len);
        write_all(&mut self.sink, &self.buf[..len]).map_err(classify)
    }

    /// Write out what is staged and flush the transport.
    pub(crate) fn flush(&mut self) -> Result<(), OutputError> {
        self.flush_buffer()?;
        self.sink.flush().map_err(|e| classify(e.kind()))
    }

    /// Forget staged bytes (after an error that made them moot).
    pub(crate) fn discard(&mut self) {
        self.len = 0;
    }
}
