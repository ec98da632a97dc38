//! [`Params`]: the CGI-style variables of one request, read in place from the params block as
//! the protocol encoded it, and the buffer the decoders collect that block in.
//!
//! The three protocols encode pairs differently (FastCGI: 1- or 4-byte big-endian lengths;
//! SCGI: NUL-terminated strings; uwsgi: 2-byte little-endian lengths), but a block is checked
//! whole before a decoder says [`Event::Params`](super::Event::Params), so reading it again is
//! infallible and needs no copy into another layout.

use super::{Error, ErrorKind, Limits, Place};

/// How the pairs of a params block are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// FastCGI name-value pairs: name length, value length (each 1 byte below 128, else 4
    /// bytes big-endian with the top bit set), name, value.
    FastCgi,
    /// SCGI: `name NUL value NUL`, repeated.
    Scgi,
    /// uwsgi: name length (u16 LE), name, value length (u16 LE), value.
    Uwsgi,
}

/// A pair, or where the block went wrong.
type Next<'a> = Result<Option<(&'a [u8], &'a [u8], usize)>, (ErrorKind, usize)>;

/// The pair starting at `pos`, and where the next one starts; `None` at the end of `bytes`.
fn next_pair(format: Format, bytes: &[u8], pos: usize) -> Next<'_> {
    if pos >= bytes.len() {
        return Ok(None);
    }
    let truncated = (ErrorKind::TruncatedPair, pos);
    let rest = &bytes[pos..];
    let (name, value, used) = match format {
        Format::FastCgi => {
            let (name_len, a) = fcgi_length(rest).ok_or(truncated)?;
            let (value_len, b) = fcgi_length(&rest[a..]).ok_or(truncated)?;
            let start = a + b;
            let name_end = start.checked_add(name_len).ok_or(truncated)?;
            let end = name_end.checked_add(value_len).ok_or(truncated)?;
            if end > rest.len() {
                return Err(truncated);
            }
            (&rest[start..name_end], &rest[name_end..end], end)
        }
        Format::Scgi => {
            let name_end = rest.iter().position(|&b| b == 0).ok_or(truncated)?;
            let after = &rest[name_end + 1..];
            let value_len = after.iter().position(|&b| b == 0).ok_or(truncated)?;
            (
                &rest[..name_end],
                &after[..value_len],
                name_end + 1 + value_len + 1,
            )
        }
        Format::Uwsgi => {
            let name_len = u16_le(rest).ok_or(truncated)?;
            let name_end = 2 + name_len;
            let value_len = rest.get(name_end..).and_then(u16_le).ok_or(truncated)?;
            let end = name_end + 2 + value_len;
            if end > rest.len() {
                return Err(truncated);
            }
            (&rest[2..name_end], &rest[name_end + 2..end], end)
        }
    };
    Ok(Some((name, value, pos + used)))
}

/// A FastCGI length and how many bytes encoded it.
fn fcgi_length(bytes: &[u8]) -> Option<(usize, usize)> {
    let first = *bytes.first()?;
    if first < 0x80 {
        return Some((usize::from(first), 1));
    }
    let b: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    let n = u32::from_be_bytes(b) & 0x7fff_ffff;
    Some((usize::try_from(n).ok()?, 4))
}

fn u16_le(bytes: &[u8]) -> Option<usize> {
    let b: [u8; 2] = bytes.get(..2)?.try_into().ok()?;
    Some(usize::from(u16::from_le_bytes(b)))
}

/// Check a whole block against `limits`; the number of pairs when it is good.
pub(crate) fn validate(format: Format, bytes: &[u8], limits: &Limits) -> Result<usize, Error> {
    let fail = |kind, at| Error {
        kind,
        place: Place::Params(at),
    };
    let mut pos = 0;
    let mut count = 0;
    loop {
        match next_pair(format, bytes, pos) {
            Err((kind, at)) => return Err(fail(kind, at)),
            Ok(None) => return Ok(count),
            Ok(Some((name, value, next))) => {
                if count == limits.max_pairs {
                    return Err(fail(ErrorKind::TooManyParams, pos));
                }
                if name.is_empty() {
                    return Err(fail(ErrorKind::EmptyName, pos));
                }
                if name.len() > limits.max_name {
                    return Err(fail(ErrorKind::NameTooLong, pos));
                }
                if value.len() > limits.max_value {
                    return Err(fail(ErrorKind::ValueTooLong, pos));
                }
                count += 1;
                pos = next;
            }
        }
    }
}

/// The params of one request: name/value byte strings in the order the front end sent them.
///
/// Borrowed from the decoder's params buffer; nothing is copied or allocated to read them.
/// Names are the CGI variable names as sent (`REQUEST_METHOD`, `HTTP_USER_AGENT`); values are
/// bytes, since a front end passes the request's bytes through undecoded.
///
/// ```
/// use wsgiref_core::gateway::{scgi, Event};
/// let mut buf = [0u8; 256];
/// let mut decoder = scgi::Decoder::new(&mut buf[..], Default::default());
/// let (_, event) = decoder.feed(b"43:CONTENT_LENGTH\x000\x00SCGI\x001\x00REQUEST_METHOD\x00GET\x00,")?;
/// assert_eq!(event, Event::Params);
/// let params = decoder.params().unwrap();
/// assert_eq!(params.len(), 3);
/// assert_eq!(params.get(b"REQUEST_METHOD"), Some(&b"GET"[..]));
/// let names: Vec<&[u8]> = params.iter().map(|(name, _)| name).collect();
/// assert_eq!(names, [&b"CONTENT_LENGTH"[..], b"SCGI", b"REQUEST_METHOD"]);
/// # Ok::<(), wsgiref_core::gateway::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params<'a> {
    bytes: &'a [u8],
    format: Format,
    count: usize,
}

impl<'a> Params<'a> {
    /// A view of a block `validate` accepted with `count` pairs.
    pub(crate) fn new(bytes: &'a [u8], format: Format, count: usize) -> Self {
        Params {
            bytes,
            format,
            count,
        }
    }

    /// How many pairs there are.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are none (a FastCGI front end may send an empty params stream).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The params block as it arrived, without framing: what a log or a forwarding proxy
    /// would copy.
    pub fn raw(&self) -> &'a [u8] {
        self.bytes
    }

    /// The pairs in order.
    pub fn iter(&self) -> ParamsIter<'a> {
        ParamsIter {
            bytes: self.bytes,
            format: self.format,
            pos: 0,
        }
    }

    /// The value of the first pair named exactly `name` (CGI names are case-sensitive).
    pub fn get(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

impl<'a> IntoIterator for Params<'a> {
    type Item = (&'a [u8], &'a [u8]);
    type IntoIter = ParamsIter<'a>;
    fn into_iter(self) -> ParamsIter<'a> {
        self.iter()
    }
}

/// The pairs of a [`Params`], as `(name, value)`.
#[derive(Clone, Debug)]
pub struct ParamsIter<'a> {
    bytes: &'a [u8],
    format: Format,
    pos: usize,
}

impl<'a> Iterator for ParamsIter<'a> {
    type Item = (&'a [u8], &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        // The block was validated, so an error cannot happen; ending there is still safe.
        match next_pair(self.format, self.bytes, self.pos) {
            Ok(Some((name, value, next))) => {
                self.pos = next;
                Some((name, value))
            }
            _ => {
                self.pos = self.bytes.len();
                None
            }
        }
    }
}

/// The caller's params buffer, filled from the front.
#[derive(Debug)]
pub(crate) struct Collector<B> {
    buf: B,
    len: usize,
    cap: usize,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Collector<B> {
    pub(crate) fn new(buf: B, limits: &Limits) -> Self {
        let cap = buf.as_ref().len().min(limits.max_params_bytes);
        Collector { buf, len: 0, cap }
    }

    /// How many more bytes fit.
    pub(crate) fn room(&self) -> usize {
        self.cap - self.len
    }

    /// Append `bytes`, which must fit in [`room`](Self::room) (callers check first; too much
    /// is refused rather than truncated).
    pub(crate) fn push(&mut self, bytes: &[u8]) -> bool {
        let end = self.len + bytes.len();
        match self.buf.as_mut().get_mut(self.len..end) {
            Some(dst) if end <= self.cap => {
                dst.copy_from_slice(bytes);
                self.len = end;
                true
            }
            _ => false,
        }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf.as_ref()[..self.len]
    }

    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(format: Format, bytes: &[u8]) -> std::vec::Vec<(&[u8], &[u8])> {
        let count = validate(format, bytes, &Limits::DEFAULT).unwrap();
        let p = Params::new(bytes, format, count);
        assert_eq!(p.iter().count(), count);
        p.iter().collect()
    }

    #[test]
    fn fastcgi_one_and_four_byte_lengths() {
        let mut block = std::vec![1, 0x80, 0, 1, 0, b'A'];
        block.extend(core::iter::repeat_n(b'v', 256));
        block.extend([2, 1, b'B', b'C', b'x']);
        let got = pairs(Format::FastCgi, &block);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, b"A");
        assert_eq!(got[0].1.len(), 256);
        assert_eq!(got[1], (&b"BC"[..], &b"x"[..]));
    }

    #[test]
    fn scgi_and_uwsgi_pairs() {
        assert_eq!(
            pairs(Format::Scgi, b"A\x001\x00B\x00\x00"),
            [(&b"A"[..], &b"1"[..]), (b"B", b"")]
        );
        assert_eq!(
            pairs(Format::Uwsgi, b"\x01\x00A\x02\x00xy"),
            [(&b"A"[..], &b"xy"[..])]
        );
    }

    #[test]
    fn malformed_blocks_say_where() {
        let err = |f, b: &[u8], l: &Limits| validate(f, b, l).unwrap_err();
        let d = Limits::DEFAULT;
        let at = |kind, n| Error {
            kind,
            place: Place::Params(n),
        };
        assert_eq!(
            err(Format::FastCgi, &[1, 1, b'A', b'b', 1, 5, b'C'], &d),
            at(ErrorKind::TruncatedPair, 4)
        );
        assert_eq!(
            err(Format::FastCgi, &[1, 0x80, 0], &d),
            at(ErrorKind::TruncatedPair, 0)
        );
        assert_eq!(
            err(Format::Scgi, b"A\x001", &d),
            at(ErrorKind::TruncatedPair, 0)
        );
        assert_eq!(
            err(Format::Uwsgi, b"\x01\x00A\x05\x00x", &d),
            at(ErrorKind::TruncatedPair, 0)
        );
        assert_eq!(
            err(Format::Scgi, b"\x00x\x00", &d),
            at(ErrorKind::EmptyName, 0)
        );
        let tight = Limits {
            max_pairs: 1,
            max_name: 2,
            max_value: 2,
            ..d
        };
        assert_eq!(
            err(Format::Scgi, b"A\x00x\x00B\x00y\x00", &tight),
            at(ErrorKind::TooManyParams, 4)
        );
        assert_eq!(
            err(Format::Scgi, b"ABC\x00x\x00", &tight),
            at(ErrorKind::NameTooLong, 0)
        );
        assert_eq!(
            err(Format::Scgi, b"A\x00xyz\x00", &tight),
            at(ErrorKind::ValueTooLong, 0)
        );
    }

    #[test]
    fn collector_refuses_what_does_not_fit() {
        let limits = Limits {
            max_params_bytes: 4,
            ..Limits::DEFAULT
        };
        let mut c = Collector::new([0u8; 8], &limits);
        assert!(c.push(b"abc"));
        assert_eq!(c.room(), 1);
        assert!(!c.push(b"de"));
        assert_eq!(c.bytes(), b"abc");
        c.clear();
        assert_eq!(c.room(), 4);
    }
}
