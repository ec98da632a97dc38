//! An in-memory loopback transport: the "client" side is a byte string handed over in pieces
//! of at most `piece` bytes per read (so the handler meets heads and bodies split across
//! reads, as from a real socket); the "server" side's writes are collected for checking.

use embedded_io::{ErrorKind, ErrorType, Read, Write};

/// Requests in, responses out. `OUT` bounds what the server may write.
pub struct Loopback<'a, const OUT: usize> {
    input: &'a [u8],
    piece: usize,
    /// Everything the server wrote, in order.
    pub output: heapless::Vec<u8, OUT>,
}

impl<'a, const OUT: usize> Loopback<'a, OUT> {
    /// A transport that delivers `input` at most `piece` bytes per read (`piece` 0 is read
    /// as 1, so reads always make progress), then end of stream.
    pub fn new(input: &'a [u8], piece: usize) -> Self {
        Loopback {
            input,
            piece: piece.max(1),
            output: heapless::Vec::new(),
        }
    }
}

impl<const OUT: usize> ErrorType for Loopback<'_, OUT> {
    type Error = ErrorKind;
}

impl<const OUT: usize> Read for Loopback<'_, OUT> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        let n = buf.len().min(self.input.len()).min(self.piece);
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Ok(n)
    }
}

impl<const OUT: usize> Write for Loopback<'_, OUT> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        // A full output buffer is a firmware sizing bug; report it instead of dropping bytes.
        self.output
            .extend_from_slice(buf)
            .map_err(|_| ErrorKind::OutOfMemory)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), ErrorKind> {
        Ok(())
    }
}
