//! [`FileWrapper`]: a response body read from a file-like source in fixed-size blocks.

use core::fmt;

use embedded_io::{Error as _, ErrorKind, Read};

use crate::app::Body;
use crate::error::AppError;

/// The block size of [`FileWrapper::new`], CPython's default.
pub const DEFAULT_BLKSIZE: usize = 8192;

/// A reader that holds a resource to release when the response is done: a file handle, a
/// flash page lock, a DMA channel.
///
/// `embedded_io::Read` has no `close`, so a [`FileWrapper`] calls this only when asked to,
/// through [`FileWrapper::closing`] (CPython's wrapper likewise only closes objects that have
/// a `close`).
pub trait Close {
    /// Release the resource. The wrapper calls it at most once.
    fn close(&mut self);
}

impl<T: Close + ?Sized> Close for &mut T {
    fn close(&mut self) {
        (**self).close();
    }
}

/// Reading the wrapped file failed; the body ends with this error (through [`AppError`],
/// where `downcast_ref::<ReadError>()` finds it again).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReadError {
    /// What kind of failure the reader reported.
    pub kind: ErrorKind,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "reading the wrapped file failed: {:?}", self.kind)
    }
}

impl core::error::Error for ReadError {}

/// One `'static` error per kind, so that a read error becomes an [`AppError`] without an
/// allocator (and without one even when `alloc` is on).
static READ_ERRORS: [ReadError; 18] = {
    use ErrorKind::*;
    let kinds = [
        Other,
        NotFound,
        PermissionDenied,
        ConnectionRefused,
        ConnectionReset,
        ConnectionAborted,
        NotConnected,
        AddrInUse,
        AddrNotAvailable,
        BrokenPipe,
        AlreadyExists,
        InvalidInput,
        InvalidData,
        TimedOut,
        Interrupted,
        Unsupported,
        OutOfMemory,
        WriteZero,
    ];
    let mut errors = [ReadError { kind: Other }; 18];
    let mut i = 0;
    while i < kinds.len() {
        errors[i] = ReadError { kind: kinds[i] };
        i += 1;
    }
    errors
};

fn read_error(kind: ErrorKind) -> AppError {
    // Kinds added to embedded-io later are reported as `Other`.
    let error = READ_ERRORS
        .iter()
        .find(|e| e.kind == kind)
        .unwrap_or(&READ_ERRORS[0]);
    AppError::from_static(error)
}

/// A response body that reads a file-like source `blksize` bytes at a time: CPython's
/// `wsgiref.util.FileWrapper`, and the body a server may turn into `sendfile` (see
/// [`file`](Self::file)).
///
/// # Buffer
///
/// Each chunk is read into a buffer the wrapper owns, of type `B`:
///
/// * [`new`](FileWrapper::new) and [`with_blksize`](FileWrapper::with_blksize) use an inline
///   `[u8; 8192]` ([`DEFAULT_BLKSIZE`]), so the wrapper is self-contained and needs no
///   allocator; a `blksize` above 8192 is capped at 8192 (the bytes sent are the same, only
///   the chunking differs);
/// * [`with_buffer`](FileWrapper::with_buffer) takes any `AsMut<[u8]>`: a `&mut [u8]` from a
///   static pool, a small array for a small device, a `Vec<u8>` for a large block. The block
///   size is the buffer's length.
///
/// # Chunks
///
/// Like Python's `file.read(blksize)`, a chunk is filled until it holds `blksize` bytes or the
/// reader reports end of file, so a short read from the reader does not make a short chunk.
/// The body ends at the first empty read; asking again reads again (CPython does too). A block
/// size of 0 gives an empty body. The length is unknown ([`Body::length`] is `None`), as
/// Python's wrapper has no `__len__`.
///
/// # Closing
///
/// Iterating never closes the reader. [`Body::close`] (which a handler calls exactly once)
/// calls the close hook, if one was set with [`closing`](Self::closing) or
/// [`on_close`](Self::on_close), at most once. [`into_inner`](Self::into_inner) hands the
/// reader back for anything else.
///
/// ```
/// use wsgiref_core::app::Body;
/// use wsgiref_core::util::FileWrapper;
///
/// let text = "xyz".repeat(50);
/// let mut body = FileWrapper::with_blksize(text.as_bytes(), 120);
/// assert_eq!(body.next_chunk()?.map(<[u8]>::len), Some(120));
/// assert_eq!(body.next_chunk()?.map(<[u8]>::len), Some(30));
/// assert_eq!(body.next_chunk()?, None);
/// # Ok::<(), wsgiref_core::AppError>(())
/// ```
pub struct FileWrapper<R, B = [u8; DEFAULT_BLKSIZE]> {
    reader: R,
    buf: B,
    blksize: usize,
    on_close: Option<fn(&mut R)>,
}

impl<R: Read> FileWrapper<R> {
    /// Wrap `reader` with the default block size, 8192 bytes, in an inline buffer.
    pub fn new(reader: R) -> Self {
        Self::with_blksize(reader, DEFAULT_BLKSIZE)
    }

    /// Wrap `reader`, reading `blksize` bytes per chunk (at most [`DEFAULT_BLKSIZE`]; use
    /// [`with_buffer`](FileWrapper::with_buffer) for larger blocks).
    pub fn with_blksize(reader: R, blksize: usize) -> Self {
        FileWrapper {
            reader,
            buf: [0; DEFAULT_BLKSIZE],
            blksize: blksize.min(DEFAULT_BLKSIZE),
            on_close: None,
        }
    }
}

impl<R: Read, B: AsMut<[u8]>> FileWrapper<R, B> {
    /// Wrap `reader`, reading chunks of `buf`'s length into `buf`.
    ///
    /// ```
    /// use wsgiref_core::app::Body;
    /// use wsgiref_core::util::FileWrapper;
    ///
    /// let mut block = [0u8; 4];
    /// let mut body = FileWrapper::with_buffer(&b"abcdef"[..], &mut block[..]);
    /// assert_eq!(body.next_chunk()?, Some(&b"abcd"[..]));
    /// assert_eq!(body.next_chunk()?, Some(&b"ef"[..]));
    /// # Ok::<(), wsgiref_core::AppError>(())
    /// ```
    pub fn with_buffer(reader: R, mut buf: B) -> Self {
        let blksize = buf.as_mut().len();
        FileWrapper {
            reader,
            buf,
            blksize,
            on_close: None,
        }
    }
}

impl<R, B> FileWrapper<R, B> {
    /// Call `hook` on the reader when the body is closed (at most once). A plain `fn` keeps
    /// the wrapper free of allocation and of an extra type parameter; state belongs in `R`.
    pub fn on_close(mut self, hook: fn(&mut R)) -> Self {
        self.on_close = Some(hook);
        self
    }

    /// Close the reader through its [`Close`] impl when the body is closed.
    ///
    /// ```
    /// use wsgiref_core::app::Body;
    /// use wsgiref_core::util::{Close, FileWrapper};
    ///
    /// struct Page<'a> { data: &'a [u8], open: bool }
    /// impl embedded_io::ErrorType for Page<'_> { type Error = core::convert::Infallible; }
    /// impl embedded_io::Read for Page<'_> {
    ///     fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> { self.data.read(buf) }
    /// }
    /// impl Close for Page<'_> {
    ///     fn close(&mut self) { self.open = false; }
    /// }
    ///
    /// let mut body = FileWrapper::new(Page { data: b"hi", open: true }).closing();
    /// while body.next_chunk()?.is_some() {}
    /// assert!(body.file().open); // reading to the end does not close
    /// body.close();
    /// assert!(!body.file().open);
    /// # Ok::<(), wsgiref_core::AppError>(())
    /// ```
    pub fn closing(self) -> Self
    where
        R: Close,
    {
        self.on_close(<R as Close>::close)
    }

    /// Bytes read per chunk.
    pub fn blksize(&self) -> usize {
        self.blksize
    }

    /// The wrapped reader: a server checks it to send a real file with `sendfile`.
    pub fn file(&self) -> &R {
        &self.reader
    }

    /// The wrapped reader, mutably (to seek it, for example).
    pub fn file_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    /// Unwrap the reader without closing it.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

impl<R, B> fmt::Debug for FileWrapper<R, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileWrapper")
            .field("blksize", &self.blksize)
            .field("closes_reader", &self.on_close.is_some())
            .finish_non_exhaustive()
    }
}

impl<R: Read, B: AsMut<[u8]>> Body for FileWrapper<R, B> {
    fn next_chunk(&mut self) -> Result<Option<&[u8]>, AppError> {
        let buf = self.buf.as_mut();
        let block = buf.len().min(self.blksize);
        let buf = &mut buf[..block];
        let mut filled = 0;
        // Each pass either adds at least one byte or ends the loop, so it runs at most
        // `block` times.
        while filled < block {
            match self.reader.read(&mut buf[filled..]) {
                Ok(0) => break,
                // `min` guards against a reader that claims more than it was given.
                Ok(n) => filled = (filled + n).min(block),
                Err(e) => return Err(read_error(e.kind())),
            }
        }
        Ok((filled > 0).then_some(&buf[..filled]))
    }

    fn close(&mut self) {
        if let Some(hook) = self.on_close.take() {
            hook(&mut self.reader);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `step` bytes per read, then fails if asked to.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
        fail_at_end: bool,
    }

    impl embedded_io::ErrorType for Trickle<'_> {
        type Error = ErrorKind;
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
            if self.data.is_empty() && self.fail_at_end {
                return Err(ErrorKind::TimedOut);
            }
            let n = buf.len().min(self.step).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn short_reads_still_fill_whole_blocks() {
        let reader = Trickle {
            data: b"abcdefghij",
            step: 3,
            fail_at_end: false,
        };
        let mut body = FileWrapper::with_blksize(reader, 4);
        assert_eq!(body.next_chunk().unwrap(), Some(&b"abcd"[..]));
        assert_eq!(body.next_chunk().unwrap(), Some(&b"efgh"[..]));
        assert_eq!(body.next_chunk().unwrap(), Some(&b"ij"[..]));
        assert_eq!(body.next_chunk().unwrap(), None);
        assert_eq!(body.next_chunk().unwrap(), None);
        assert_eq!(body.length(), None);
    }

    #[test]
    fn read_errors_become_app_errors_with_their_kind() {
        let reader = Trickle {
            data: b"ab",
            step: 8,
            fail_at_end: true,
        };
        let mut body = FileWrapper::with_blksize(reader, 4);
        let err = body.next_chunk().unwrap_err();
        assert_eq!(
            err.downcast_ref::<ReadError>(),
            Some(&ReadError {
                kind: ErrorKind::TimedOut
            })
        );
    }

    #[test]
    fn blksize_zero_is_empty_and_large_is_capped() {
        let mut body = FileWrapper::with_blksize(&b"abc"[..], 0);
        assert_eq!(body.next_chunk().unwrap(), None);
        let body = FileWrapper::with_blksize(&b"abc"[..], 1 << 20);
        assert_eq!(body.blksize(), DEFAULT_BLKSIZE);
    }

    #[test]
    fn every_kind_has_a_static_error() {
        for e in &READ_ERRORS {
            assert_eq!(
                read_error(e.kind).downcast_ref::<ReadError>(),
                Some(e),
                "{e:?}"
            );
        }
    }

    #[test]
    fn on_close_hook_reaches_the_reader() {
        let mut body = FileWrapper::with_blksize(&b"abc"[..], 2).on_close(|r| *r = &b""[..]);
        assert_eq!(body.next_chunk().unwrap(), Some(&b"ab"[..]));
        body.close();
        assert_eq!(body.next_chunk().unwrap(), None);
    }

    #[test]
    fn close_hook_runs_once() {
        struct Counted(&'static [u8], u32);
        impl embedded_io::ErrorType for Counted {
            type Error = core::convert::Infallible;
        }
        impl Read for Counted {
            fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
                self.0.read(buf)
            }
        }
        impl Close for Counted {
            fn close(&mut self) {
                self.1 += 1;
            }
        }
        let mut body = FileWrapper::new(Counted(b"x", 0)).closing();
        body.close();
        body.close();
        assert_eq!(body.into_inner().1, 1);
    }
}
