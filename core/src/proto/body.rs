//! Request bodies: [`BodyDecoder`] removes `Content-Length` or `chunked` framing, and
//! [`chunk_header`] / [`CHUNK_END`] / [`LAST_CHUNK`] add chunked framing to a response.
//!
//! The decoder keeps its place in the framing as a small state value, so the caller can feed
//! it any slices it likes: data comes back as slices of the caller's bytes (no copy), and the
//! framing bytes (chunk-size lines, CRLFs, trailers) are consumed as they arrive. Feeding a
//! body whole or one byte at a time yields the same data bytes, the same end, the same error.
//!
//! Chunked framing is read strictly (see the [parsing policy](super)): this is where a proxy
//! and a server that disagree about a stray byte disagree about where the request ends.

use super::request::is_tchar;
use super::{Framing, Limits, ProtocolError};
use crate::bytes::byte_map;

/// Longest chunk extension (everything between the chunk size and its CRLF, whitespace
/// included) that is accepted. Extensions carry nothing we use, so a few hundred bytes is
/// generous; the bound keeps a client from sending framing without data forever in one line.
pub const MAX_CHUNK_EXTENSION: usize = 1024;

/// Most hex digits in a chunk size: 16 is every `u64`, leading zeros included.
pub const MAX_CHUNK_SIZE_DIGITS: u8 = 16;

/// What [`BodyDecoder::decode`] found at the front of its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded<'b> {
    /// Body bytes, a non-empty slice of the input.
    Data(&'b [u8]),
    /// The input ran out inside the body (possibly after consuming framing bytes): call again
    /// with more.
    NeedMore,
    /// The body is complete; what follows is the next request. Every later call says `End`
    /// again and consumes nothing.
    End,
}

/// Where the decoder is in the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// `Content-Length`: this many bytes still to come.
    Length { remaining: u64 },
    /// Reading the hex digits of a chunk size.
    Size { size: u64, digits: u8 },
    /// Whitespace after the digits: only a `;` (extension) may follow.
    SizeSpace { size: u64, len: usize },
    /// Inside a chunk extension, up to the CR: `at` says where in its grammar.
    Extension { size: u64, len: usize, at: Ext },
    /// The chunk-size line's CR was seen; its LF must follow.
    SizeLf { size: u64 },
    /// Inside chunk data.
    Data { remaining: u64 },
    /// Chunk data ended; its CR must follow.
    DataCr,
    /// Chunk data ended and its CR was seen; its LF must follow.
    DataLf,
    /// The trailer section after the last chunk.
    Trailer { line: TrailerLine },
    /// The body is complete.
    Done,
    /// A framing error; repeated on every later call.
    Failed(ProtocolError),
}

/// Where the decoder is inside a chunk extension, RFC 9112 §7.1.1:
/// `*( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )`, `name` a token: one of
/// the `EXT_*` states, the rows of [`EXT_NEXT`].
type Ext = u8;
/// After a `;`: optional whitespace, then the name.
const EXT_NAME_START: Ext = 0;
/// Inside the name: may end the line, or go on with `=`, `;` or whitespace.
const EXT_NAME: Ext = 1;
/// Whitespace after the name: only `=` or `;` may follow.
const EXT_NAME_SPACE: Ext = 2;
/// After `=`: optional whitespace, then a token or a quoted string.
const EXT_VALUE_START: Ext = 3;
/// Inside a token value: may end the line.
const EXT_VALUE: Ext = 4;
/// Whitespace after a value: only `;` may follow.
const EXT_VALUE_SPACE: Ext = 5;
/// Inside a quoted string.
const EXT_QUOTED: Ext = 6;
/// After a `\` in a quoted string.
const EXT_QUOTED_PAIR: Ext = 7;
/// Just after a quoted value's closing quote: may end the line.
const EXT_CLOSED: Ext = 8;
/// Not a state: the byte breaks the grammar.
const EXT_BAD: Ext = 9;
/// Not a state: the CR that ends the chunk-size line, where the grammar allows it.
const EXT_END: Ext = 10;

/// The byte classes of the extension grammar, the columns of [`EXT_NEXT`]: a token
/// character, SP or HTAB, `;`, `=`, `"`, `\`, any other byte a quoted string may hold
/// (visible ASCII, `0x80..=0xFF`), CR, and anything else (controls, DEL).
const fn ext_class_of(b: u8) -> u8 {
    match b {
        b' ' | b'\t' => 1,
        b';' => 2,
        b'=' => 3,
        b'"' => 4,
        b'\\' => 5,
        b'\r' => 7,
        _ if is_tchar(b) => 0,
        0x21..=0x7e | 0x80..=0xff => 6,
        _ => 8,
    }
}

byte_map! {
    /// [`ext_class_of`] through a table on hosts (see `bytes::byte_map`).
    fn ext_class = ext_class_of;
}

/// The next extension state for each state (row) and byte class (column): a table rather
/// than code, 81 bytes of flash for the whole grammar.
const EXT_NEXT: [[Ext; 9]; 9] = {
    const B: Ext = EXT_BAD;
    const N: Ext = EXT_NAME_START;
    const Q: Ext = EXT_QUOTED;
    [
        // tchar, ws, `;`, `=`, `"`, `\`, other, CR, control
        [EXT_NAME, N, B, B, B, B, B, B, B],
        [
            EXT_NAME,
            EXT_NAME_SPACE,
            N,
            EXT_VALUE_START,
            B,
            B,
            B,
            EXT_END,
            B,
        ],
        [B, EXT_NAME_SPACE, N, EXT_VALUE_START, B, B, B, B, B],
        [EXT_VALUE, EXT_VALUE_START, B, B, Q, B, B, B, B],
        [EXT_VALUE, EXT_VALUE_SPACE, N, B, B, B, B, EXT_END, B],
        [B, EXT_VALUE_SPACE, N, B, B, B, B, B, B],
        [Q, Q, Q, Q, EXT_CLOSED, EXT_QUOTED_PAIR, Q, B, B],
        [Q, Q, Q, Q, Q, Q, Q, B, B],
        [B, EXT_VALUE_SPACE, N, B, B, B, B, EXT_END, B],
    ]
};

/// Where the decoder is inside one trailer line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TrailerLine {
    Start,
    Name,
    Value,
    ValueLf,
    EndLf,
}

/// Removes the framing of one request body. See the [module docs](self).
///
/// ```
/// use wsgiref_core::proto::{BodyDecoder, Decoded, Framing, Limits};
///
/// let mut decoder = BodyDecoder::new(Framing::Chunked, &Limits::DEFAULT);
/// let mut input = &b"5\r\nhello\r\n0\r\n\r\nGET /next"[..];
/// let mut body = heapless::Vec::<u8, 16>::new();
/// loop {
///     let (used, event) = decoder.decode(input)?;
///     input = &input[used..];
///     match event {
///         Decoded::Data(data) => body.extend_from_slice(data).unwrap(),
///         Decoded::NeedMore => unreachable!("the whole body is here"),
///         Decoded::End => break,
///     }
/// }
/// assert_eq!(body, b"hello");
/// assert_eq!(input, b"GET /next");
/// # Ok::<(), wsgiref_core::proto::ProtocolError>(())
/// ```
#[derive(Clone, Debug)]
pub struct BodyDecoder {
    state: State,
    /// Chunk data announced so far, against `max_body`.
    received: u64,
    max_body: u64,
    /// Trailer bytes and fields seen so far, against the head limits.
    trailer_bytes: usize,
    trailer_fields: usize,
    max_trailer_bytes: usize,
    max_trailer_fields: usize,
}

const BARE_LF: ProtocolError =
    ProtocolError::bad_request("bare LF in chunked framing (CRLF required)");
const DATA_NOT_CRLF: ProtocolError = ProtocolError::bad_request("chunk data not followed by CRLF");

impl BodyDecoder {
    /// A decoder for a body with `framing`, bounded by `limits.max_body` (body bytes) and, for
    /// trailers, `limits.max_headers` and `limits.max_head_bytes`.
    ///
    /// A `Content-Length` above `max_body` (which [`parse_head`](super::parse_head) already
    /// refuses) makes the first [`decode`](Self::decode) fail with 413.
    pub fn new(framing: Framing, limits: &Limits) -> Self {
        let state = match framing {
            Framing::None => State::Done,
            Framing::Length(n) if n > limits.max_body => State::Failed(
                ProtocolError::content_too_large("Content-Length larger than max_body"),
            ),
            Framing::Length(n) => State::Length { remaining: n },
            Framing::Chunked => State::Size { size: 0, digits: 0 },
        };
        BodyDecoder {
            state,
            received: 0,
            max_body: limits.max_body,
            trailer_bytes: 0,
            trailer_fields: 0,
            max_trailer_bytes: limits.max_head_bytes,
            max_trailer_fields: limits.max_headers,
        }
    }

    /// Decode from the front of `input`: returns how many bytes of `input` were consumed and
    /// what was found. `Data` slices point into `input` and are counted in the consumed bytes
    /// (together with any framing before them); `NeedMore` means all of `input` was consumed.
    ///
    /// After an error the decoder is stuck: every later call returns the same error.
    pub fn decode<'b>(&mut self, input: &'b [u8]) -> Result<(usize, Decoded<'b>), ProtocolError> {
        let mut i = 0;
        loop {
            match self.state {
                State::Done => return Ok((i, Decoded::End)),
                State::Failed(e) => return Err(e),
                State::Length { remaining: 0 } => {
                    self.state = State::Done;
                    return Ok((i, Decoded::End));
                }
                State::Length { remaining } | State::Data { remaining } => {
                    let available = input.len() - i;
                    if available == 0 {
                        return Ok((i, Decoded::NeedMore));
                    }
                    // `n` fits in usize: it is at most `available`.
                    let n = remaining.min(available as u64) as usize;
                    let left = remaining - n as u64;
                    self.state = match self.state {
                        State::Length { .. } => State::Length { remaining: left },
                        _ if left == 0 => State::DataCr,
                        _ => State::Data { remaining: left },
                    };
                    return Ok((i + n, Decoded::Data(&input[i..i + n])));
                }
                _ => {
                    let Some(&b) = input.get(i) else {
                        return Ok((i, Decoded::NeedMore));
                    };
                    i += 1;
                    match self.step(b) {
                        Ok(state) => self.state = state,
                        Err(e) => {
                            self.state = State::Failed(e);
                            return Err(e);
                        }
                    }
                }
            }
        }
    }

    /// The state after one framing byte `b`.
    fn step(&mut self, b: u8) -> Result<State, ProtocolError> {
        let bad = ProtocolError::bad_request;
        Ok(match self.state {
            State::Size { size, digits } => match (hex_value(b), digits) {
                (Some(_), MAX_CHUNK_SIZE_DIGITS) => {
                    return Err(bad("chunk size longer than 16 hex digits"))
                }
                (Some(v), _) => State::Size {
                    size: size << 4 | u64::from(v),
                    digits: digits + 1,
                },
                (None, 0) => return Err(bad("chunk size does not start with a hex digit")),
                (None, _) => match b {
                    b'\r' => State::SizeLf { size },
                    b';' => State::Extension {
                        size,
                        len: 1,
                        at: EXT_NAME_START,
                    },
                    b' ' | b'\t' => State::SizeSpace { size, len: 1 },
                    b'\n' => return Err(BARE_LF),
                    _ => return Err(bad("invalid character after the chunk size")),
                },
            },
            State::SizeSpace { size, len } => match b {
                _ if len >= MAX_CHUNK_EXTENSION => {
                    return Err(bad("chunk extension longer than MAX_CHUNK_EXTENSION"))
                }
                b' ' | b'\t' => State::SizeSpace { size, len: len + 1 },
                b';' => State::Extension {
                    size,
                    len: len + 1,
                    at: EXT_NAME_START,
                },
                _ => return Err(bad("whitespace after a chunk size without an extension")),
            },
            State::Extension { size, len, at } => {
                // `at` is always a state (a row): `EXT_BAD` and `EXT_END` are never stored.
                match EXT_NEXT[usize::from(at)][usize::from(ext_class(b))] {
                    EXT_END => State::SizeLf { size },
                    _ if b == b'\n' => return Err(BARE_LF),
                    EXT_BAD => return Err(bad(
                        "malformed chunk extension (not ;name, ;name=token or ;name=\"quoted\")",
                    )),
                    _ if len >= MAX_CHUNK_EXTENSION => {
                        return Err(bad("chunk extension longer than MAX_CHUNK_EXTENSION"))
                    }
                    next => State::Extension {
                        size,
                        len: len + 1,
                        at: next,
                    },
                }
            }
            State::SizeLf { size } => match b {
                b'\n' if size == 0 => State::Trailer {
                    line: TrailerLine::Start,
                },
                b'\n' => {
                    self.received = match self.received.checked_add(size) {
                        Some(total) if total <= self.max_body => total,
                        _ => {
                            return Err(ProtocolError::content_too_large(
                                "chunked body larger than max_body",
                            ))
                        }
                    };
                    State::Data { remaining: size }
                }
                _ => return Err(bad("bare CR in a chunk-size line")),
            },
            State::DataCr => match b {
                b'\r' => State::DataLf,
                _ => return Err(DATA_NOT_CRLF),
            },
            State::DataLf => match b {
                b'\n' => State::Size { size: 0, digits: 0 },
                _ => return Err(DATA_NOT_CRLF),
            },
            State::Trailer { line } => {
                self.trailer_bytes += 1;
                if self.trailer_bytes > self.max_trailer_bytes {
                    return Err(ProtocolError::header_fields_too_large(
                        "trailer section larger than max_head_bytes",
                    ));
                }
                match self.trailer_step(line, b)? {
                    Some(line) => State::Trailer { line },
                    None => State::Done,
                }
            }
            // Handled in `decode` without reading a framing byte.
            State::Length { .. } | State::Data { .. } | State::Done | State::Failed(_) => {
                self.state
            }
        })
    }

    /// One byte of the trailer section: the next place in it, or `None` when the empty line
    /// that ends it is complete.
    fn trailer_step(
        &mut self,
        line: TrailerLine,
        b: u8,
    ) -> Result<Option<TrailerLine>, ProtocolError> {
        let bad = ProtocolError::bad_request;
        Ok(Some(match (line, b) {
            (TrailerLine::Start, b'\r') => TrailerLine::EndLf,
            (TrailerLine::Start, b' ' | b'\t') => {
                return Err(bad("obsolete line folding in the trailer section"))
            }
            (TrailerLine::Start, b) if is_tchar(b) => {
                self.trailer_fields += 1;
                if self.trailer_fields > self.max_trailer_fields {
                    return Err(ProtocolError::header_fields_too_large(
                        "more trailer fields than max_headers",
                    ));
                }
                TrailerLine::Name
            }
            (TrailerLine::Start, b'\n') => return Err(BARE_LF),
            (TrailerLine::Start, _) => return Err(bad("invalid character in a trailer name")),
            (TrailerLine::Name, b) if is_tchar(b) => TrailerLine::Name,
            (TrailerLine::Name, b':') => TrailerLine::Value,
            (TrailerLine::Name, b' ' | b'\t') => {
                return Err(bad("whitespace between a trailer name and its colon"))
            }
            (TrailerLine::Name, b'\r' | b'\n') => return Err(bad("trailer line without a colon")),
            (TrailerLine::Name, _) => return Err(bad("invalid character in a trailer name")),
            (TrailerLine::Value, b'\r') => TrailerLine::ValueLf,
            (TrailerLine::Value, b'\n') => return Err(BARE_LF),
            (TrailerLine::Value, b'\t' | 0x20..=0x7e | 0x80..=0xff) => TrailerLine::Value,
            (TrailerLine::Value, 0) => return Err(bad("NUL byte in a trailer value")),
            (TrailerLine::Value, _) => return Err(bad("control character in a trailer value")),
            (TrailerLine::ValueLf, b'\n') => TrailerLine::Start,
            (TrailerLine::ValueLf, _) => return Err(bad("bare CR in a trailer field")),
            (TrailerLine::EndLf, b'\n') => return Ok(None),
            (TrailerLine::EndLf, _) => {
                return Err(bad("bare CR at the end of the trailer section"))
            }
        }))
    }

    /// True once the whole body has been seen: no more body bytes will be consumed and
    /// [`decode`](Self::decode) says `End`. False after an error.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done | State::Length { remaining: 0 })
    }

    /// Body bytes still to come, when the framing says: the rest of a `Content-Length`, or 0
    /// when done. `None` for a chunked body in progress (and after an error).
    pub fn remaining_hint(&self) -> Option<u64> {
        match self.state {
            State::Length { remaining } => Some(remaining),
            State::Done => Some(0),
            _ => None,
        }
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Ends one chunk's data.
pub const CHUNK_END: &[u8] = b"\r\n";
/// The zero-size chunk and the empty trailer section that end a chunked body.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// The chunk-size line for a chunk of `len` bytes: lower-case hex without leading zeros, then
/// CRLF, written into `buf` (18 bytes hold any `usize`). Send it, the data, then
/// [`CHUNK_END`]; end the body with [`LAST_CHUNK`]. A chunk of length 0 would end the body,
/// so never frame an empty chunk.
///
/// ```
/// use wsgiref_core::proto::{chunk_header, CHUNK_END, LAST_CHUNK};
/// let mut buf = [0; 18];
/// assert_eq!(chunk_header(300, &mut buf), b"12c\r\n");
/// assert_eq!([CHUNK_END, LAST_CHUNK], [&b"\r\n"[..], b"0\r\n\r\n"]);
/// ```
pub fn chunk_header(len: usize, buf: &mut [u8; 18]) -> &[u8] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let len = len as u64; // usize is at most 64 bits on every target Rust supports
    let digits = ((64 - len.leading_zeros()).div_ceil(4)).max(1) as usize;
    for (k, slot) in buf[..digits].iter_mut().enumerate() {
        let shift = 4 * (digits - 1 - k);
        *slot = HEX[(len >> shift & 0xf) as usize];
    }
    buf[digits] = b'\r';
    buf[digits + 1] = b'\n';
    &buf[..digits + 2]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// Decode `input` whole; the data, the bytes left over, or the error.
    fn run(framing: Framing, limits: &Limits, input: &[u8]) -> Result<(Vec<u8>, usize), u16> {
        let mut d = BodyDecoder::new(framing, limits);
        let mut data = Vec::new();
        let mut at = 0;
        for _ in 0..=input.len() + 1 {
            match d.decode(&input[at..]) {
                Err(e) => return Err(e.status),
                Ok((n, event)) => {
                    at += n;
                    match event {
                        Decoded::Data(b) => data.extend_from_slice(b),
                        Decoded::NeedMore => return Err(0),
                        Decoded::End => return Ok((data, input.len() - at)),
                    }
                }
            }
        }
        panic!("decoder made no progress");
    }

    fn chunked(input: &[u8]) -> Result<(Vec<u8>, usize), u16> {
        run(Framing::Chunked, &Limits::DEFAULT, input)
    }

    #[test]
    fn none_ends_at_once_and_stays_done() {
        let mut d = BodyDecoder::new(Framing::None, &Limits::DEFAULT);
        assert!(d.is_done());
        assert_eq!(d.decode(b"GET / HTTP/1.1"), Ok((0, Decoded::End)));
        assert_eq!(d.decode(b""), Ok((0, Decoded::End)));
        assert_eq!(d.remaining_hint(), Some(0));
    }

    #[test]
    fn content_length() {
        let mut d = BodyDecoder::new(Framing::Length(5), &Limits::DEFAULT);
        assert_eq!(d.remaining_hint(), Some(5));
        assert_eq!(d.decode(b""), Ok((0, Decoded::NeedMore)));
        assert_eq!(d.decode(b"he"), Ok((2, Decoded::Data(b"he"))));
        assert!(!d.is_done());
        assert_eq!(d.decode(b"lloXX"), Ok((3, Decoded::Data(b"llo"))));
        assert!(d.is_done());
        assert_eq!(d.decode(b"XX"), Ok((0, Decoded::End)));
        assert_eq!(d.decode(b"XX"), Ok((0, Decoded::End)));
        let mut zero = BodyDecoder::new(Framing::Length(0), &Limits::DEFAULT);
        assert!(zero.is_done());
        assert_eq!(zero.decode(b"X"), Ok((0, Decoded::End)));
    }

    #[test]
    fn content_length_over_max_body_fails_on_first_decode() {
        let limits = Limits {
            max_body: 4,
            ..Limits::DEFAULT
        };
        let mut d = BodyDecoder::new(Framing::Length(5), &limits);
        assert_eq!(d.decode(b"hello").unwrap_err().status, 413);
        assert!(!d.is_done());
    }

    #[test]
    fn good_chunked_bodies() {
        let cases: &[(&[u8], &[u8], usize)] = &[
            (b"0\r\n\r\n", b"", 0),
            (b"5\r\nhello\r\n0\r\n\r\n", b"hello", 0),
            (
                b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nNEXT",
                b"hello world",
                4,
            ),
            (b"A\r\n0123456789\r\n0\r\n\r\n", b"0123456789", 0),
            (b"a\r\n0123456789\r\n000\r\n\r\n", b"0123456789", 0),
            (b"3;name=value\r\nabc\r\n0;x\r\n\r\n", b"abc", 0),
            (b"3 ;name\r\nabc\r\n0\t; y=\"q\"\r\n\r\n", b"abc", 0),
            (b"0\r\nExpires: never\r\nX-Sum:\r\n\r\n", b"", 0),
            (b"0000000000000003\r\nabc\r\n0\r\n\r\n", b"abc", 0),
        ];
        for (input, data, rest) in cases {
            assert_eq!(
                chunked(input),
                Ok((data.to_vec(), *rest)),
                "{:?}",
                std::string::String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn bad_chunked_bodies() {
        let cases: &[(&[u8], u16)] = &[
            (b"\r\n", 400),
            (b" 5\r\nhello\r\n0\r\n\r\n", 400),
            (b"+5\r\nhello\r\n0\r\n\r\n", 400),
            (b"0x5\r\nhello\r\n0\r\n\r\n", 400),
            (b"-1\r\n", 400),
            (b"5 \r\nhello\r\n0\r\n\r\n", 400),
            (b"5\nhello\r\n0\r\n\r\n", 400),
            (b"5\rhello", 400),
            (b"5\r\nhelloX\r\n0\r\n\r\n", 400),
            (b"5\r\nhello\n0\r\n\r\n", 400),
            (b"5\r\nhello\r\r\n", 400),
            (b"5\r\nhello\r\n0\r\n\n", 400),
            (b"5\r\nhello\r\n0\n\r\n", 400),
            (b"00000000000000001\r\n", 400),
            (b"ffffffffffffffff0\r\n", 400),
            (b"5;a\x00\r\n", 400),
            (b"5;a\nhello", 400),
            (b"0\r\n folded\r\n\r\n", 400),
            (b"0\r\nX : y\r\n\r\n", 400),
            (b"0\r\nX\r\n\r\n", 400),
            (b"0\r\n: y\r\n\r\n", 400),
            (b"0\r\nX: a\x00\r\n\r\n", 400),
            (b"0\r\nX: a\rb\r\n\r\n", 400),
            (b"0\r\nX: a\x01\r\n\r\n", 400),
            (b"0\r\nX: a\nY: b\r\n\r\n", 400),
            (b"0\r\n\rX", 400),
        ];
        for (input, status) in cases {
            assert_eq!(
                chunked(input),
                Err(*status),
                "{:?}",
                std::string::String::from_utf8_lossy(input)
            );
        }
    }

    /// RFC 9112 §7.1.1: `;name`, `;name=token`, `;name="quoted"`, with optional whitespace
    /// around `;` and `=`; anything else is refused (RFC 9112 §7.1.1), in every build.
    #[test]
    fn chunk_extensions_follow_the_grammar() {
        let good: &[&[u8]] = &[
            b";a",
            b";a=b",
            b";a=b;c",
            b";a=b ;c=d",
            b" ; a = b",
            b";a=\"\"",
            b";a=\"x y;z=\\\"q\\\\\"",
            b";a=\"\x80\xff\t\"",
            b";a=\"\\\xff\"",
            b";a;b;c",
            b";!#$%&'*+-.^_`|~09AZaz=!#$%&'*+-.^_`|~",
            b";a=\"q\";b",
            b";a=\"q\" ;b",
        ];
        for ext in good {
            let input = [&b"3"[..], ext, b"\r\nabc\r\n0\r\n\r\n"].concat();
            assert_eq!(
                chunked(&input),
                Ok((b"abc".to_vec(), 0)),
                "{:?}",
                std::string::String::from_utf8_lossy(ext)
            );
        }
        let bad: &[&[u8]] = &[
            b";a=\"",
            b";a=\"abc",
            b";\"",
            b";=x",
            b";",
            b"; ",
            b";;a",
            b";a b",
            b";a=\xff",
            b";a=",
            b";a= ",
            b";a=b c",
            b";a=\"q\"x",
            b";a=\"q\"\"",
            b";a=b=c",
            b";a=\"\\\x01\"",
            b";a=\"\x7f\"",
            b";a\x80",
            b";a,b",
            b";a/b",
            b";a=b/c",
            b";a=\"\\",
            b";a ",
            b";a=b ",
            b";a=\"q\" ",
            b";a\t",
            b";a=@",
            b"x",
        ];
        for ext in bad {
            let input = [&b"3"[..], ext, b"\r\nabc\r\n0\r\n\r\n"].concat();
            assert_eq!(
                chunked(&input),
                Err(400),
                "{:?}",
                std::string::String::from_utf8_lossy(ext)
            );
        }
    }

    // The sentences are what this checks; `terse-errors` leaves them out by design.
    #[cfg(not(feature = "terse-errors"))]
    #[test]
    fn errors_are_sticky_and_say_what_was_wrong() {
        let mut d = BodyDecoder::new(Framing::Chunked, &Limits::DEFAULT);
        assert_eq!(d.decode(b"5\r\nhelloX"), Ok((8, Decoded::Data(b"hello"))));
        let e = d.decode(b"X").unwrap_err();
        assert_eq!(e.detail, "chunk data not followed by CRLF");
        // The consumed data was already handed out; the error repeats, whatever comes next.
        assert_eq!(d.decode(b"\r\n0\r\n\r\n"), Err(e));
        assert!(!d.is_done());
        assert_eq!(d.remaining_hint(), None);
    }

    #[test]
    fn limits_on_chunked_bodies() {
        let limits = Limits {
            max_body: 8,
            max_headers: 1,
            max_head_bytes: 16,
            ..Limits::DEFAULT
        };
        let run = |input: &[u8]| run(Framing::Chunked, &limits, input);
        assert_eq!(
            run(b"4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n").unwrap().0,
            b"abcdefgh"
        );
        assert_eq!(run(b"4\r\nabcd\r\n5\r\n"), Err(413));
        // The running total cannot overflow into acceptance either.
        let unlimited = Limits::DEFAULT;
        assert_eq!(
            super::tests::run(
                Framing::Chunked,
                &unlimited,
                b"1\r\na\r\nffffffffffffffff\r\n"
            ),
            Err(413)
        );
        assert!(run(b"0\r\nA: 1\r\n\r\n").is_ok());
        assert_eq!(run(b"0\r\nA: 1\r\nB: 2\r\n\r\n"), Err(431));
        // 16 trailer bytes including the final CRLF are fine; 17 are not.
        assert!(run(b"0\r\nA: 012345678\r\n\r\n").is_ok());
        assert_eq!(run(b"0\r\nA: 0123456789\r\n\r\n"), Err(431));
        let long_ext = [&b"1;"[..], &[b'x'; MAX_CHUNK_EXTENSION]].concat();
        assert_eq!(run(&long_ext), Err(400));
        let ok_ext = [
            &b"1;"[..],
            &[b'x'; MAX_CHUNK_EXTENSION - 1],
            b"\r\na\r\n0\r\n\r\n",
        ]
        .concat();
        assert_eq!(run(&ok_ext).unwrap().0, b"a");
    }

    #[test]
    fn chunk_header_is_minimal_lower_hex() {
        let mut buf = [0; 18];
        assert_eq!(chunk_header(0, &mut buf), b"0\r\n");
        assert_eq!(chunk_header(1, &mut buf), b"1\r\n");
        assert_eq!(chunk_header(15, &mut buf), b"f\r\n");
        assert_eq!(chunk_header(16, &mut buf), b"10\r\n");
        assert_eq!(chunk_header(0xabcdef, &mut buf), b"abcdef\r\n");
        #[cfg(target_pointer_width = "64")]
        assert_eq!(chunk_header(usize::MAX, &mut buf), b"ffffffffffffffff\r\n");
    }
}
