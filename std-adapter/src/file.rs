//! [`FileBody`]: a response body that is a file, or a byte range of one — the std
//! counterpart of `wsgi.file_wrapper` that the server can send with `sendfile(2)`.
//!
//! Read chunk by chunk it behaves as any body (positional reads, so the file's own cursor is
//! never moved); it also offers itself as a [`FileRegion`], which the event-loop server sends
//! from the page cache to the socket without copying it through user space (on Linux). Other
//! drivers (CGI, the blocking handler, tests) simply read it.

use std::fs::File;
use std::io;

use wsgiref_core::app::{Body, FileRegion};
use wsgiref_core::AppError;

/// Bytes read per chunk when the body is read rather than sent as a file: large enough that a
/// big file costs few system calls, small enough to allocate per response.
pub const READ_BLOCK: usize = 256 * 1024;

/// A file, or `len` bytes of it from `offset`, as a response body.
///
/// The application sets `Content-Length` (or lets the handler take it from
/// [`Body::length`]); the server then sends the region with `sendfile(2)` where it can.
///
/// ```
/// use std::io::Write;
/// use wsgiref_core::app::Body;
/// use wsgiref_std::file::FileBody;
///
/// let file = tempfile_with(b"0123456789").expect("a temporary file");
/// let mut body = FileBody::range(file, 2, 5);
/// assert_eq!(body.length(), Some(5));
/// assert_eq!(body.file_region().map(|r| (r.offset, r.len)), Some((2, 5)));
/// let mut read = Vec::new();
/// while let Some(chunk) = body.next_chunk()? {
///     read.extend_from_slice(chunk);
/// }
/// assert_eq!(read, b"23456");
/// # fn tempfile_with(bytes: &[u8]) -> std::io::Result<std::fs::File> {
/// #     let path = std::env::temp_dir().join(format!("wsgiref-filebody-doc-{}", std::process::id()));
/// #     std::fs::File::create(&path)?.write_all(bytes)?;
/// #     let file = std::fs::File::open(&path)?;
/// #     std::fs::remove_file(&path)?;
/// #     Ok(file)
/// # }
/// # Ok::<(), wsgiref_core::AppError>(())
/// ```
#[derive(Debug)]
pub struct FileBody {
    file: File,
    /// Where the region starts in the file.
    offset: u64,
    /// The region's length.
    len: u64,
    /// Bytes of the region already returned by `next_chunk`.
    pos: u64,
    /// Read buffer, allocated on the first read (a body sent as a file never needs one).
    buf: Vec<u8>,
}

impl FileBody {
    /// The whole file, as long as it is now.
    pub fn new(file: File) -> io::Result<Self> {
        let len = file.metadata()?.len();
        Ok(FileBody::range(file, 0, len))
    }

    /// `len` bytes of `file` from `offset` (a single `Range` request).
    pub fn range(file: File, offset: u64, len: u64) -> Self {
        FileBody {
            file,
            offset,
            len,
            pos: 0,
            buf: Vec::new(),
        }
    }

    /// The open file.
    pub fn file(&self) -> &File {
        &self.file
    }

    fn read_at(&self, buf: &mut [u8], at: u64) -> io::Result<usize> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt;
            self.file.read_at(buf, at)
        }
        #[cfg(not(unix))]
        {
            use std::io::{Read, Seek, SeekFrom};
            let mut file = &self.file;
            file.seek(SeekFrom::Start(at))?;
            file.read(buf)
        }
    }
}

impl Body for FileBody {
    fn next_chunk(&mut self) -> Result<Option<&[u8]>, AppError> {
        let left = self.len - self.pos;
        if left == 0 {
            return Ok(None);
        }
        let want = left.min(READ_BLOCK as u64) as usize;
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        let mut buf = std::mem::take(&mut self.buf);
        let read = loop {
            match self.read_at(&mut buf[..want], self.offset + self.pos) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        self.buf = buf;
        match read {
            Ok(0) => Err(AppError::msg(
                "the file is shorter than the body's length (it shrank while being sent)",
            )),
            Ok(n) => {
                self.pos += n as u64;
                Ok(Some(&self.buf[..n]))
            }
            Err(e) => Err(AppError::from(e)),
        }
    }

    fn length(&self) -> Option<u64> {
        Some(self.len - self.pos)
    }

    fn file_region(&self) -> Option<FileRegion<'_>> {
        Some(FileRegion {
            file: &self.file,
            offset: self.offset + self.pos,
            len: self.len - self.pos,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(bytes: &[u8], tag: &str) -> File {
        let path =
            std::env::temp_dir().join(format!("wsgiref-filebody-{tag}-{}", std::process::id()));
        File::create(&path).unwrap().write_all(bytes).unwrap();
        let file = File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        file
    }

    #[test]
    fn whole_file_in_blocks_and_region_follows_reads() {
        let data: Vec<u8> = (0..READ_BLOCK * 2 + 10).map(|i| (i % 251) as u8).collect();
        let mut body = FileBody::new(file_with(&data, "whole")).unwrap();
        assert_eq!(body.length(), Some(data.len() as u64));
        let first = body.next_chunk().unwrap().unwrap().to_vec();
        assert_eq!(first.len(), READ_BLOCK);
        let region = body.file_region().unwrap();
        assert_eq!(
            (region.offset, region.len),
            (READ_BLOCK as u64, data.len() as u64 - READ_BLOCK as u64)
        );
        let mut all = first;
        while let Some(chunk) = body.next_chunk().unwrap() {
            all.extend_from_slice(chunk);
        }
        assert_eq!(all, data);
        assert_eq!(body.length(), Some(0));
    }

    #[test]
    fn a_file_shorter_than_the_range_is_an_error() {
        let mut body = FileBody::range(file_with(b"abc", "short"), 1, 10);
        assert_eq!(body.next_chunk().unwrap(), Some(&b"bc"[..]));
        assert!(body.next_chunk().is_err());
    }
}
