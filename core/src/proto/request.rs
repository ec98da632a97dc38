//! Request heads: [`parse_head`] turns the first bytes of a request into a [`RequestHead`].
//!
//! The request line is scanned here byte by byte (so that HTTP/0.9 lines, Latin-1 targets and
//! the exact status of each refusal are ours to decide); the header fields go through
//! [`httparse::parse_headers`], whose coarse errors are then explained by re-reading the
//! offending line. The [parsing policy](super) lists what is accepted and refused.
//!
//! Every decision depends only on bytes already seen, read left to right, and on a window of
//! at most [`Limits::max_head_bytes`]: a prefix of a request either needs more bytes, or gives
//! the very answer the whole request gives. That is what lets a server re-parse from the start
//! of its receive buffer after every read.

use httparse::Header;

use super::environ::{MAX_ENVIRON_KEY, NAME_TOO_LONG};
use super::target::{check_host, check_target};
use super::{Framing, Limits, ProtocolError, Version};
use crate::bytes::{byte_map, eq_ignore_case};

/// A parsed request head, borrowing from the input and the caller's header array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestHead<'b> {
    /// The method, a token (`GET`, `POST`, `BREW`, also lower case: not normalised). Bytes,
    /// like `target`: a token is ASCII, and leaving it undecoded keeps the UTF-8 validator
    /// (about 600 B of flash on a Cortex-M) out of firmware that never needs it.
    pub method: &'b [u8],
    /// The request-target bytes as sent, possibly including bytes `0x80..=0xFF`.
    pub target: &'b [u8],
    /// The whole request line as sent, without its line end: what an access log shows
    /// (CPython's `requestline`). Kept here so a server need not find the line end again.
    pub request_line: &'b [u8],
    /// The protocol version.
    pub version: Version,
    /// The header fields in order, values without surrounding whitespace (empty for HTTP/0.9).
    pub headers: &'b [Header<'b>],
    /// How the body is delimited.
    pub framing: Framing,
    /// Whether the client lets the connection stay open after this exchange: HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`; never HTTP/0.9.
    pub keep_alive: bool,
    /// `Expect: 100-continue` on HTTP/1.1: the client waits for `100 Continue` (or a final
    /// status) before it sends the body.
    pub expect_continue: bool,
    /// The first `Content-Type` value, if any (noted while the fields are interpreted, so
    /// the environ needs no second search).
    pub content_type: Option<&'b [u8]>,
    /// The `Content-Length` value as sent, if any (several must all be equal).
    pub content_length: Option<&'b [u8]>,
    /// Bytes of input the head occupied, including leading empty lines and the empty line
    /// that ends it; the body (or the next request) starts here.
    pub head_len: usize,
}

impl<'b> RequestHead<'b> {
    /// The value of the first header field named `name` (ASCII case-insensitive).
    ///
    /// ```
    /// use wsgiref_core::proto::{parse_head, Limits};
    /// let mut headers = [httparse::EMPTY_HEADER; 4];
    /// let head = parse_head(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", &mut headers, &Limits::DEFAULT)
    ///     .unwrap()
    ///     .unwrap();
    /// assert_eq!(head.header("host"), Some(&b"a"[..]));
    /// ```
    pub fn header(&self, name: &str) -> Option<&'b [u8]> {
        self.headers
            .iter()
            .find(|h| eq_ignore_case(h.name.as_bytes(), name.as_bytes()))
            .map(|h| h.value)
    }
}

/// Parse one request head from the start of `input`.
///
/// * `Ok(Some(head))`: a complete head; the body starts at `input[head.head_len..]`.
/// * `Ok(None)`: the head is incomplete, feed more bytes and call again with the whole
///   buffer (unless a limit is already exceeded, in which case this is an `Err`).
/// * `Err(e)`: refuse the request with `e.status` and close the connection.
///
/// At most `min(headers.len(), limits.max_headers)` header fields are accepted.
///
/// The header array borrows from `input` for as long as the head is used, so declare it
/// where each parse attempt can have its own (it is a cheap array of empty slices):
///
/// ```
/// use wsgiref_core::proto::{parse_head, Limits};
/// let mut buf = heapless::Vec::<u8, 256>::new();
/// for piece in [&b"GET /a HT"[..], b"TP/1.1\r\nHost: x\r", b"\n\r\n"] {
///     buf.extend_from_slice(piece).unwrap();
///     let mut headers = [httparse::EMPTY_HEADER; 8];
///     if let Some(head) = parse_head(&buf, &mut headers, &Limits::DEFAULT)? {
///         assert_eq!(head.target, b"/a");
///         assert_eq!(head.head_len, buf.len());
///     }
/// }
/// # Ok::<(), wsgiref_core::proto::ProtocolError>(())
/// ```
pub fn parse_head<'h, 'b: 'h>(
    input: &'b [u8],
    headers: &'h mut [Header<'b>],
    limits: &Limits,
) -> Result<Option<RequestHead<'h>>, ProtocolError> {
    let truncated = input.len() > limits.max_head_bytes;
    let window = &input[..input.len().min(limits.max_head_bytes)];
    // Incomplete within the window: if bytes lie beyond it, the head cannot fit any more.
    let incomplete = || {
        if truncated {
            Err(HEAD_TOO_LARGE)
        } else {
            Ok(None)
        }
    };

    let start = match skip_empty_lines(window)? {
        Some(start) => start,
        None => return incomplete(),
    };
    let line = match scan_request_line(window, start, limits.max_request_line)? {
        Some(line) => line,
        None => return incomplete(),
    };
    let method = line.method;
    let version = match line.version {
        None if method == b"GET" => Version::Http09,
        None => {
            return Err(ProtocolError::bad_request(
                "request line without an HTTP version (HTTP/0.9) with a method other than GET",
            ))
        }
        Some(v) => parse_version(v)?,
    };
    let tunnel = check_target(method, line.target, limits.allow_connect)?;
    if version == Version::Http09 {
        return Ok(Some(RequestHead {
            method,
            target: line.target,
            request_line: line.text,
            version,
            headers: &headers[..0],
            framing: Framing::None,
            keep_alive: false,
            expect_continue: false,
            content_type: None,
            content_length: None,
            head_len: line.end,
        }));
    }

    let fields = &window[line.end..];
    let cap = headers.len().min(limits.max_headers);
    let (len, headers) = match httparse::parse_headers(fields, &mut headers[..cap]) {
        Ok(httparse::Status::Complete((len, headers))) => (len, headers),
        Ok(httparse::Status::Partial) => return incomplete(),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(ProtocolError::header_fields_too_large(
                if cap < limits.max_headers {
                    "more header fields than the header array holds"
                } else {
                    "more header fields than max_headers"
                },
            ))
        }
        Err(_) => return Err(explain_field_error(fields)),
    };
    let line_ends = LineEnds::new(&fields[..len], line.crlf);
    let semantics = interpret(version, headers, line_ends, limits)?;
    Ok(Some(RequestHead {
        method,
        target: line.target,
        request_line: line.text,
        version,
        headers,
        framing: semantics.framing,
        // An allowed CONNECT gets its answer, and no tunnel: never persistent.
        keep_alive: semantics.keep_alive && !tunnel,
        expect_continue: semantics.expect_continue,
        content_type: semantics.content_type,
        content_length: semantics.content_length,
        head_len: line.end + len,
    }))
}

const HEAD_TOO_LARGE: ProtocolError =
    ProtocolError::header_fields_too_large("request head larger than max_head_bytes");
const BAD_METHOD: ProtocolError =
    ProtocolError::bad_request("invalid character in the request method");

/// `tchar` of RFC 9110 §5.6.2: the characters of methods, header names and codings.
pub(crate) const fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9'
        | b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+'
        | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~')
}

/// Skip the empty lines RFC 9112 §2.2 lets a server ignore before a request line. `None` when
/// the window holds nothing else yet.
fn skip_empty_lines(w: &[u8]) -> Result<Option<usize>, ProtocolError> {
    let mut i = 0;
    loop {
        match w.get(i) {
            None => return Ok(None),
            Some(b'\n') => i += 1,
            Some(b'\r') => match w.get(i + 1) {
                None => return Ok(None),
                Some(b'\n') => i += 2,
                Some(_) => {
                    return Err(ProtocolError::bad_request(
                        "bare CR before the request line",
                    ))
                }
            },
            Some(_) => return Ok(Some(i)),
        }
    }
}

/// The three (or two) parts of a request line, and where the line ends.
struct RequestLine<'b> {
    method: &'b [u8],
    target: &'b [u8],
    /// `None` for a two-word (HTTP/0.9) line.
    version: Option<&'b [u8]>,
    /// The whole line without its line end.
    text: &'b [u8],
    /// Index just after the line end.
    end: usize,
    /// The line ended in CRLF (else in a bare LF).
    crlf: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Method,
    Target,
    Version,
}

/// The byte classes of `b` in the request line, one bit per part: bit set = the byte
/// continues that part without changing the scanner's state.
const fn line_class(b: u8) -> u8 {
    let mut bits = 0;
    if is_tchar(b) {
        bits |= METHOD_BYTE;
    }
    if matches!(b, 0x21..=0x7e | 0x80..=0xff) {
        bits |= TARGET_BYTE;
    }
    if matches!(b, 0x21..=0x7e) {
        bits |= VERSION_BYTE;
    }
    bits
}

byte_map! {
    /// [`line_class`] of `b`, through one 256-byte table on hosts (not one per part; see
    /// `bytes::byte_map`).
    fn line_byte = line_class;
}

/// `tchar`.
const METHOD_BYTE: u8 = 1;
/// Visible ASCII and any byte `0x80..=0xFF`.
const TARGET_BYTE: u8 = 2;
/// Visible ASCII.
const VERSION_BYTE: u8 = 4;

/// Scan the request line that starts at `w[start]`, byte-class runs first, then one byte at
/// a time where the state changes.
fn scan_request_line(
    w: &[u8],
    start: usize,
    max_len: usize,
) -> Result<Option<RequestLine<'_>>, ProtocolError> {
    let mut part = Part::Method;
    let mut target_start = start;
    let mut version_start = start;
    let mut i = start;
    // Bytes at or past `limit` that do not end the line make the line too long.
    let limit = start.saturating_add(max_len).min(w.len());
    let (content_end, end) = loop {
        // Fast path: skip the run of bytes the current part accepts without a change of
        // state (the per-byte `match` below costs about five times as much per byte). It stops
        // at `limit`, so the length check below still sees the first byte past it.
        let class = match part {
            Part::Method => METHOD_BYTE,
            Part::Target => TARGET_BYTE,
            Part::Version => VERSION_BYTE,
        };
        #[cfg(not(target_os = "none"))]
        if class == TARGET_BYTE {
            i = skip_target(w, i, limit);
        }
        while i < limit && line_byte(w[i]) & class != 0 {
            i += 1;
        }
        let Some(&b) = w.get(i) else {
            return Ok(None);
        };
        match b {
            b'\n' => break (i, i + 1),
            b'\r' => match w.get(i + 1) {
                None => return Ok(None),
                Some(b'\n') => break (i, i + 2),
                Some(_) => return Err(ProtocolError::bad_request("bare CR in the request line")),
            },
            _ => {}
        }
        if i - start >= max_len {
            return Err(ProtocolError::uri_too_long(
                "request line longer than max_request_line",
            ));
        }
        match (part, b) {
            (Part::Method, b' ') if i == start => {
                return Err(ProtocolError::bad_request(
                    "request line starts with a space (empty method)",
                ))
            }
            (Part::Method, b' ') => {
                part = Part::Target;
                target_start = i + 1;
            }
            (Part::Method, b) if is_tchar(b) => {}
            (Part::Method, _) => return Err(BAD_METHOD),
            (Part::Target, b' ') if i == target_start => {
                return Err(ProtocolError::bad_request(
                    "empty request target (two spaces after the method)",
                ))
            }
            (Part::Target, b' ') => {
                part = Part::Version;
                version_start = i + 1;
                // The usual versions' eight bytes at once rather than through the byte loop
                // (26 instructions a request fewer; on bare-metal targets, 128 B of flash
                // more, so not there). Only within `limit`, so the length check still sees
                // every byte past it.
                #[cfg(not(target_os = "none"))]
                if version_start + 8 <= limit {
                    if let Some(b"HTTP/1.0" | b"HTTP/1.1") = w.get(version_start..version_start + 8)
                    {
                        i += 8;
                    }
                }
            }
            (Part::Target, 0x21..=0x7e | 0x80..=0xff) => {}
            (Part::Target, _) => {
                return Err(ProtocolError::bad_request(
                    "control character in the request target",
                ))
            }
            (Part::Version, b' ') => {
                return Err(ProtocolError::bad_request(
                    "request line has more than three space-separated parts",
                ))
            }
            (Part::Version, 0x21..=0x7e) => {}
            (Part::Version, _) => {
                return Err(ProtocolError::bad_request(
                    "invalid character in the HTTP version",
                ))
            }
        }
        i += 1;
    };
    match part {
        Part::Method => Err(ProtocolError::bad_request(
            "request line has no request target",
        )),
        Part::Target if content_end == target_start => Err(ProtocolError::bad_request(
            "empty request target (request line ends after a space)",
        )),
        Part::Target => Ok(Some(RequestLine {
            method: &w[start..target_start - 1],
            target: &w[target_start..content_end],
            version: None,
            text: &w[start..content_end],
            end,
            crlf: end - content_end == 2,
        })),
        Part::Version if content_end == version_start => Err(ProtocolError::bad_request(
            "empty HTTP version (request line ends after a space)",
        )),
        Part::Version => Ok(Some(RequestLine {
            method: &w[start..target_start - 1],
            target: &w[target_start..version_start - 1],
            version: Some(&w[version_start..content_end]),
            text: &w[start..content_end],
            end,
            crlf: end - content_end == 2,
        })),
    }
}

/// Where the run of request-target bytes (visible ASCII and `0x80..=0xFF`) that starts at
/// `w[i]` stops, eight bytes per step, at most up to the last whole word before `limit`: the
/// request line's byte loop goes on from there (and sees the byte that stopped the run). On
/// hosts only: the target of a typical request is 30-odd bytes, 80 instructions a request
/// fewer, 25 more for the one-byte target `/` (`bench/instructions.sh`); on a
/// microcontroller the byte loop is smaller. (The method and version are a few bytes: the
/// byte loop is quicker for them.)
#[cfg(not(target_os = "none"))]
fn skip_target(w: &[u8], mut i: usize, limit: usize) -> usize {
    use crate::bytes::word;
    while i + 8 <= limit {
        let x = word::load(w, i);
        let stop = word::below(x, 0x21) | word::equal(x, 0x7f);
        if stop != 0 {
            return i + (stop.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i
}

/// `HTTP/1.0` and `HTTP/1.1` are ours; any other `HTTP/<digit>.<digit>` is a version we do
/// not speak (505); anything else is not a version at all (400).
fn parse_version(v: &[u8]) -> Result<Version, ProtocolError> {
    match v {
        b"HTTP/1.1" => Ok(Version::Http11),
        b"HTTP/1.0" => Ok(Version::Http10),
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            Err(ProtocolError::version_not_supported(
                "HTTP version other than 1.0 and 1.1",
            ))
        }
        _ => Err(ProtocolError::bad_request(
            "malformed HTTP version (expected HTTP/<digit>.<digit>)",
        )),
    }
}

/// Every line of a head ends the way its request line does: all CRLF, or all bare LF.
///
/// RFC 9112 §2.2 lets a recipient accept a bare LF as a line end, and CPython's own tests send
/// `GET / HTTP/1.0\n\n`, so a head written with bare LFs throughout is accepted. A head that
/// mixes the two is refused: a peer that honours only CRLF reads `Dummy: x\nContent-Length: 23`
/// as one field, where a bare-LF reader sees a `Content-Length`, and the two then disagree
/// about where the request ends (llhttp's "missing CR between headers" smuggling vector).
///
/// `fields` is the complete field section, its final empty line included, and the fields are
/// what httparse parsed from it. httparse has already refused a bare CR, CR inside values and
/// obsolete line folding, so each field's line ends exactly where the next field's name
/// starts (the last one where the final empty line starts), and it ends in CRLF exactly when
/// the byte before its closing LF is a CR. That looks at two bytes per line instead of every
/// byte of the head (a counting pass over the bytes cost a third of what httparse does), and
/// [`interpret`] looks at them in the loop it runs over the fields anyway.
struct LineEnds<'f> {
    fields: &'f [u8],
    crlf: bool,
    mismatch: bool,
}

impl<'f> LineEnds<'f> {
    /// Check the final empty line and the line before it.
    #[inline(always)]
    fn new(fields: &'f [u8], crlf: bool) -> Self {
        // Where the final empty line starts: `fields` ends in its LF.
        let last_line_crlf = fields.len() >= 2 && fields[fields.len() - 2] == b'\r';
        let mut ends = LineEnds {
            fields,
            crlf,
            mismatch: last_line_crlf != crlf,
        };
        ends.line_before(fields.len() - 1 - usize::from(last_line_crlf));
        ends
    }

    /// Check the end of the line before the one starting at `name` (a field's name, which
    /// points into `fields`).
    #[inline(always)]
    fn field(&mut self, name: &str) {
        // An offset into `fields` (the subtraction cannot wrap; `get` refuses a bad index).
        self.line_before((name.as_ptr() as usize).wrapping_sub(self.fields.as_ptr() as usize));
    }

    /// The line that ends just before offset `start`, if `start` is not the first line.
    #[inline(always)]
    fn line_before(&mut self, start: usize) {
        let crlf = self.fields.get(start.wrapping_sub(2)) == Some(&b'\r');
        self.mismatch |= start != 0 && crlf != self.crlf;
    }

    fn finish(self) -> Result<(), ProtocolError> {
        if !self.mismatch {
            return Ok(());
        }
        Err(ProtocolError::bad_request(if self.crlf {
            "bare LF line end in a head whose request line ends in CRLF"
        } else {
            "CRLF line end in a head whose request line ends in a bare LF"
        }))
    }
}

/// httparse says only which class of error it met; find the first faulty byte in `fields`
/// and say exactly what is wrong there. Each message depends only on the bytes up to that
/// byte, as httparse's own decision does, so a prefix of a request gets the same explanation
/// as the whole. Runs only on the error path, over a window of at most `max_head_bytes`.
#[cfg(not(feature = "terse-errors"))]
fn explain_field_error(fields: &[u8]) -> ProtocolError {
    let bad = ProtocolError::bad_request;
    let mut i = 0;
    'lines: while let Some(&first) = fields.get(i) {
        match first {
            b'\r' => match fields.get(i + 1) {
                Some(b'\n') | None => break,
                Some(_) => return bad("bare CR at the end of the header section"),
            },
            b'\n' => break,
            b' ' | b'\t' => {
                return bad("obsolete line folding (a header line starting with whitespace)")
            }
            b':' => return bad("empty header name"),
            _ => {}
        }
        while fields.get(i).is_some_and(|&b| is_tchar(b)) {
            i += 1;
        }
        match fields.get(i) {
            None => break,
            Some(b':') => i += 1,
            Some(b' ' | b'\t') => return bad("whitespace in a header name or before its colon"),
            Some(b'\r' | b'\n') => return bad("header line without a colon"),
            Some(_) => return bad("invalid character in a header name"),
        }
        loop {
            match fields.get(i) {
                None => break 'lines,
                Some(b'\n') => {
                    i += 1;
                    break;
                }
                Some(b'\r') => match fields.get(i + 1) {
                    None => break 'lines,
                    Some(b'\n') => {
                        i += 2;
                        break;
                    }
                    Some(_) => return bad("bare CR in a header value"),
                },
                Some(0) => return bad("NUL byte in a header value"),
                Some(b'\t' | 0x20..=0x7e | 0x80..=0xff) => i += 1,
                Some(_) => return bad("control character in a header value"),
            }
        }
    }
    // httparse refused something this re-reading does not pin down; say so plainly.
    bad("malformed header section")
}

/// With `terse-errors` every explanation would be dropped (the detail is empty) and every
/// answer is the same 400, so the bytes are not re-read: 428 B less flash in the minimal
/// Cortex-M firmware.
#[cfg(feature = "terse-errors")]
fn explain_field_error(_fields: &[u8]) -> ProtocolError {
    ProtocolError::bad_request("malformed header section")
}

/// What the header fields say about the message, once they are all known.
struct Semantics<'b> {
    framing: Framing,
    keep_alive: bool,
    expect_continue: bool,
    content_type: Option<&'b [u8]>,
    content_length: Option<&'b [u8]>,
}

/// The header fields the request's framing and persistence depend on.
enum Field {
    TransferEncoding,
    ContentLength,
    ContentType,
    Connection,
    Expect,
    Host,
    /// A name too long for its `HTTP_*` environ key.
    TooLong,
    Other,
}

/// Which [`Field`] `name` is. The length picks the one candidate, so each header costs at most
/// one comparison.
fn field_of(name: &str) -> Field {
    let (candidate, field): (&[u8], Field) = match name.len() {
        17 => (b"transfer-encoding", Field::TransferEncoding),
        14 => (b"content-length", Field::ContentLength),
        12 => (b"content-type", Field::ContentType),
        10 => (b"connection", Field::Connection),
        6 => (b"expect", Field::Expect),
        4 => (b"host", Field::Host),
        n if n > MAX_ENVIRON_KEY - 5 => return Field::TooLong,
        _ => return Field::Other,
    };
    // `name` is a token (httparse checked it) and `candidate` lower-case letters and `-`:
    // setting bit 5 lower-cases a letter, and among token bytes only `-` itself maps to `-`,
    // so one OR per byte decides, with no case table and no call.
    let same = name
        .bytes()
        .zip(candidate)
        .all(|(got, &want)| got | 0x20 == want);
    if same {
        field
    } else {
        Field::Other
    }
}

/// What the fields say about framing and persistence, checked as the [parsing policy](super)
/// says; `line_ends` sees every field's name on the way.
fn interpret<'b>(
    version: Version,
    headers: &[Header<'b>],
    mut line_ends: LineEnds<'_>,
    limits: &Limits,
) -> Result<Semantics<'b>, ProtocolError> {
    let mut content_type: Option<&'b [u8]> = None;
    let mut transfer_encoding: Option<&[u8]> = None;
    let mut content_length: Option<(&'b [u8], u64)> = None;
    let mut close = false;
    let mut keep_alive_token = false;
    let mut expect_continue = false;
    let mut hosts = 0u32;
    for h in headers {
        line_ends.field(h.name);
        match field_of(h.name) {
            Field::TransferEncoding => {
                if transfer_encoding.is_some() {
                    return Err(ProtocolError::bad_request(
                        "more than one Transfer-Encoding header",
                    ));
                }
                transfer_encoding = Some(h.value);
            }
            Field::ContentLength => {
                let n = parse_content_length(h.value)?;
                if let Some((first, _)) = content_length {
                    if first != h.value {
                        return Err(ProtocolError::bad_request(
                            "several Content-Length headers with different values",
                        ));
                    }
                }
                content_length = Some((h.value, n));
            }
            Field::ContentType => {
                content_type.get_or_insert(h.value);
            }
            Field::Connection => {
                for token in h.value.split(|&b| b == b',').map(trim_ows) {
                    close |= eq_ignore_case(token, b"close");
                    keep_alive_token |= eq_ignore_case(token, b"keep-alive");
                }
            }
            Field::Expect => expect_continue |= eq_ignore_case(h.value, b"100-continue"),
            Field::Host => {
                hosts += 1;
                if hosts > 1 {
                    return Err(ProtocolError::bad_request("more than one Host header"));
                }
                check_host(trim_ows(h.value))?;
            }
            Field::TooLong => return Err(ProtocolError::header_fields_too_large(NAME_TOO_LONG)),
            Field::Other => {}
        }
    }
    line_ends.finish()?;
    let framing = match (transfer_encoding, content_length) {
        (Some(_), _) if version != Version::Http11 => {
            return Err(ProtocolError::bad_request(
                "Transfer-Encoding in an HTTP/1.0 request",
            ))
        }
        (Some(_), Some(_)) => {
            return Err(ProtocolError::bad_request(
                "Content-Length and Transfer-Encoding both present",
            ))
        }
        (Some(te), None) => {
            check_transfer_encoding(te)?;
            Framing::Chunked
        }
        (None, Some((_, n))) if n > limits.max_body => {
            return Err(ProtocolError::content_too_large(
                "Content-Length larger than max_body",
            ))
        }
        (None, Some((_, n))) => Framing::Length(n),
        (None, None) => Framing::None,
    };
    let keep_alive = match version {
        Version::Http11 => !close,
        Version::Http10 => keep_alive_token && !close,
        Version::Http09 => false,
    };
    Ok(Semantics {
        framing,
        keep_alive,
        expect_continue: expect_continue && version == Version::Http11,
        content_type,
        content_length: content_length.map(|(value, _)| value),
    })
}

/// Optional whitespace (SP / HTAB) trimmed from both ends.
///
/// httparse already trims the values it returns, so the usual answer is `v` itself: on hosts
/// two inlined byte tests replace two scans and a call (165 instructions fewer for the
/// typical request, `bench/instructions.sh`). Inlined at its dozen call sites that test cost
/// 500 B of flash on a Cortex-M, so bare-metal builds scan.
#[cfg_attr(not(target_os = "none"), inline)]
pub(crate) fn trim_ows(v: &[u8]) -> &[u8] {
    #[cfg(not(target_os = "none"))]
    {
        let is_ows = |b: &u8| matches!(b, b' ' | b'\t');
        if !v.first().is_some_and(is_ows) && !v.last().is_some_and(is_ows) {
            return v;
        }
    }
    trim_both(v)
}

#[cfg_attr(not(target_os = "none"), inline(never))]
fn trim_both(v: &[u8]) -> &[u8] {
    let start = v.iter().position(|&b| b != b' ' && b != b'\t');
    let end = v.iter().rposition(|&b| b != b' ' && b != b'\t');
    match (start, end) {
        (Some(s), Some(e)) => &v[s..=e],
        _ => &[],
    }
}

/// `Content-Length = 1*DIGIT`, as a u64. httparse has already trimmed the surrounding
/// whitespace, so anything but digits is refused.
fn parse_content_length(v: &[u8]) -> Result<u64, ProtocolError> {
    if v.is_empty() {
        return Err(ProtocolError::bad_request("empty Content-Length"));
    }
    if v.contains(&b',') {
        return Err(ProtocolError::bad_request(
            "Content-Length is a comma-separated list",
        ));
    }
    let mut n: u64 = 0;
    for &b in v {
        if !b.is_ascii_digit() {
            return Err(ProtocolError::bad_request(
                "Content-Length is not a plain decimal number",
            ));
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or(ProtocolError::bad_request(
                "Content-Length does not fit in 64 bits",
            ))?;
    }
    Ok(n)
}

/// Accept exactly `chunked`; explain everything else (RFC 9112 §6.1).
fn check_transfer_encoding(v: &[u8]) -> Result<(), ProtocolError> {
    if eq_ignore_case(v, b"chunked") {
        return Ok(());
    }
    let mut chunked = 0u32;
    let mut chunked_last = false;
    let mut other = false;
    for coding in v.split(|&b| b == b',').map(trim_ows) {
        if coding.is_empty() {
            return Err(ProtocolError::bad_request(
                "empty element in the Transfer-Encoding list",
            ));
        }
        if !coding.iter().all(|&b| is_tchar(b)) {
            return Err(ProtocolError::bad_request(
                "malformed transfer coding (not a token)",
            ));
        }
        chunked_last = eq_ignore_case(coding, b"chunked");
        if chunked_last {
            chunked += 1;
        } else {
            other = true;
        }
    }
    if chunked > 1 {
        return Err(ProtocolError::bad_request(
            "chunked transfer coding applied more than once",
        ));
    }
    if chunked == 1 && !chunked_last {
        return Err(ProtocolError::bad_request(
            "chunked is not the final transfer coding",
        ));
    }
    if !other {
        // Only reachable for a lone `chunked` that the fast path above did not see because of
        // whitespace httparse left in place; it is still exactly `chunked`.
        return Ok(());
    }
    Err(ProtocolError::not_implemented(
        "transfer coding other than chunked",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_ows_trims_spaces_and_tabs_only() {
        for (input, want) in [
            (&b""[..], &b""[..]),
            (b" ", b""),
            (b"\t \t", b""),
            (b"a", b"a"),
            (b" a", b"a"),
            (b"a\t", b"a"),
            (b"\ta b ", b"a b"),
            (b"a  b", b"a  b"),
            (b"\x0ba\x0c", b"\x0ba\x0c"),
        ] {
            assert_eq!(trim_ows(input), want, "{input:?}");
        }
    }

    #[test]
    fn field_names_match_case_insensitively_and_exactly() {
        let is = |name: &str, want: fn(&Field) -> bool| want(&field_of(name));
        assert!(is("Transfer-Encoding", |f| matches!(
            f,
            Field::TransferEncoding
        )));
        assert!(is("CONTENT-LENGTH", |f| matches!(f, Field::ContentLength)));
        assert!(is("content-Type", |f| matches!(f, Field::ContentType)));
        assert!(is("cOnNeCtIoN", |f| matches!(f, Field::Connection)));
        assert!(is("Expect", |f| matches!(f, Field::Expect)));
        assert!(is("HOST", |f| matches!(f, Field::Host)));
        // Same lengths, other names: `_` is not `-`, digits and symbols are not letters.
        for other in [
            "Content_Length",
            "Content-Lengtx",
            "Hos7",
            "Hos~",
            "Connectio^",
            "Accept",
        ] {
            assert!(is(other, |f| matches!(f, Field::Other)), "{other}");
        }
    }

    #[test]
    fn content_type_and_length_are_noted_once() {
        let head = parse(
            b"POST / HTTP/1.1\r\ncontent-TYPE: a/b\r\nContent-Length: 2\r\n\
              Content-Type: c/d\r\nCONTENT-LENGTH: 2\r\n\r\nhi",
        )
        .unwrap()
        .unwrap();
        assert_eq!(head.content_type, Some(&b"a/b"[..]));
        assert_eq!(head.content_length, Some(&b"2"[..]));
        let head = parse(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!((head.content_type, head.content_length), (None, None));
    }

    #[test]
    fn content_length_range_is_exactly_u64() {
        assert_eq!(parse_content_length(b"0"), Ok(0));
        assert_eq!(parse_content_length(b"18446744073709551615"), Ok(u64::MAX));
        assert_eq!(
            parse_content_length(b"00000000000000000000018446744073709551615"),
            Ok(u64::MAX)
        );
        assert_eq!(parse_content_length(b"0000000000000000000000042"), Ok(42));
        for over in [
            &b"18446744073709551616"[..],
            b"99999999999999999999",
            b"100000000000000000000",
        ] {
            assert_eq!(
                parse_content_length(over).unwrap_err().status,
                400,
                "{over:?}"
            );
        }
        assert!(parse_content_length(b"1a").is_err());
        assert!(parse_content_length(b"").is_err());
    }

    fn parse(input: &[u8]) -> Result<Option<RequestHead<'_>>, ProtocolError> {
        // The header array is leaked (a few hundred bytes per call, tests only) so that the
        // helper can return a head that borrows from it.
        let headers = std::boxed::Box::leak(std::boxed::Box::new([httparse::EMPTY_HEADER; 32]));
        parse_head(input, headers, &Limits::DEFAULT)
    }

    fn status(input: &[u8]) -> u16 {
        match parse(input) {
            Ok(Some(_)) => 200,
            Ok(None) => 0,
            Err(e) => e.status,
        }
    }

    /// (input, expected status: 200 = complete head, 0 = incomplete, else the refusal)
    const TABLE: &[(&[u8], u16)] = &[
        (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 200),
        (b"GET / HTTP/1.0\n\n", 200),
        (b"get /x?y HTTP/1.0\r\n\r\n", 200),
        (b"BREW /pot HTTP/1.1\r\n\r\n", 200),
        (b"GET /\x80%80 HTTP/1.0\r\n\r\n", 200),
        (b"\r\n\r\nGET / HTTP/1.1\r\n\r\n", 200),
        (b"\nGET / HTTP/1.1\r\n\r\n", 200),
        (b"GET /\r\n", 200),
        (b"GET /\n", 200),
        (b"OPTIONS * HTTP/1.1\r\n\r\n", 200),
        (b"GET http://example.com/x HTTP/1.1\r\n\r\n", 200),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
            200,
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding:  Chunked \r\n\r\n",
            200,
        ),
        (b"GET / HTTP/1.1\r\nX: a\tb\x80\xff\r\n\r\n", 200),
        (b"GET / HTTP/1.1\r\nX:\r\n\r\n", 200),
        (b"GET / HTTP/1.1\r\nX_Y: 1\r\n\r\n", 200),
        // incomplete
        (b"", 0),
        (b"\r\n", 0),
        (b"\r", 0),
        (b"GET", 0),
        (b"GET / HTTP/1.1\r", 0),
        (b"GET / HTTP/1.1\r\nHost: a\r\n", 0),
        (b"GET / HTTP/1.1\r\nHost: a\r\n\r", 0),
        // 400: request line
        (b"POST /\r\n", 400),
        (b"HEAD /\r\n", 400),
        (b"GET\r\n", 400),
        (b"GET \r\n", 400),
        (b"GET / \r\n", 400),
        (b"GET  / HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/1.1 x\r\n\r\n", 400),
        (b"GET / HTTP/1.1 \r\n\r\n", 400),
        (b" GET / HTTP/1.1\r\n\r\n", 400),
        (b" / HTTP/1.1\r\n\r\n", 400),
        (b" /\r\n", 400),
        (b"G(T / HTTP/1.1\r\n\r\n", 400),
        (b"\x16\x03\x01\x02\x00", 400),
        (b"GET /\x00 HTTP/1.1\r\n\r\n", 400),
        (b"GET /\x7f HTTP/1.1\r\n\r\n", 400),
        (b"GET /\ta HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\rX", 400),
        (b"\rX", 400),
        (b"GET / http/1.1\r\n\r\n", 400),
        (b"GET / HTTP/1.10\r\n\r\n", 400),
        (b"GET / HTTP/1\r\n\r\n", 400),
        (b"GET / FOO\r\n\r\n", 400),
        (b"GET / HTTP/1.\x801\r\n\r\n", 400),
        // 505
        (b"GET / HTTP/2.0\r\n\r\n", 505),
        (b"GET / HTTP/1.2\r\n\r\n", 505),
        (b"GET / HTTP/0.9\r\n\r\n", 505),
        (b"GET / HTTP/9.9\r\n", 505),
        // 400: header fields
        (b"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n X: a\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nX : a\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nX\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n: a\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nX(: a\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nX: a\x7fb\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nX: a\r\n\rX", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        // Host values and target authorities (RFC 9112 §3.2), in every build: `terse-errors`
        // drops only the sentences.
        (b"GET / HTTP/1.1\r\nHost: a b@c\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400),
        (b"GET http://u@a/ HTTP/1.1\r\n\r\n", 400),
        (b"GET http://a\"/ HTTP/1.1\r\n\r\n", 400),
        (b"CONNECT a HTTP/1.1\r\n\r\n", 400),
        // mixed line ends
        (b"GET / HTTP/1.1\r\nX: a\nContent-Length: 5\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nX: a\r\n\n", 400),
        (b"GET / HTTP/1.1\r\n\n", 400),
        (b"GET / HTTP/1.1\nX: a\r\n\r\n", 400),
        (b"GET / HTTP/1.1\nX: a\n\r\n", 400),
        (b"GET / HTTP/1.1\nX: a\nY: b\n\n", 200),
        // framing
        (b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 5 5\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n",
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 05\r\n\r\n",
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n",
            400,
        ),
        (
            b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: ,chunked\r\n\r\n",
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            400,
        ),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n", 400),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked;x=1\r\n\r\n",
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            501,
        ),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n",
            501,
        ),
    ];

    #[test]
    fn table_of_heads() {
        for (input, want) in TABLE {
            assert_eq!(
                status(input),
                *want,
                "{:?} -> {:?}",
                std::string::String::from_utf8_lossy(input),
                parse(input)
            );
        }
    }

    #[test]
    fn fields_of_a_complete_head() {
        let input = b"\r\nPOST /a?b HTTP/1.1\r\nHost: h\r\nContent-Length:  7 \r\nExpect: 100-Continue\r\n\r\nbody";
        let head = parse(input).unwrap().unwrap();
        assert_eq!(head.method, b"POST");
        assert_eq!(head.target, b"/a?b");
        assert_eq!(head.version, Version::Http11);
        assert_eq!(head.headers.len(), 3);
        assert_eq!(head.header("content-length"), Some(&b"7"[..]));
        assert_eq!(head.framing, Framing::Length(7));
        assert!(head.keep_alive);
        assert!(head.expect_continue);
        assert_eq!(&input[head.head_len..], b"body");
    }

    #[test]
    fn http09_has_no_headers_and_ends_at_the_line() {
        let head = parse(b"GET /x\r\nHost: ignored\r\n\r\n").unwrap().unwrap();
        assert_eq!(head.version, Version::Http09);
        assert_eq!(head.target, b"/x");
        assert!(head.headers.is_empty());
        assert_eq!(head.head_len, 8);
        assert_eq!(head.framing, Framing::None);
        assert!(!head.keep_alive);
    }

    #[test]
    fn keep_alive_and_expect_rules() {
        let ka = |s: &[u8]| parse(s).unwrap().unwrap().keep_alive;
        assert!(ka(b"GET / HTTP/1.1\r\n\r\n"));
        assert!(!ka(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
        assert!(!ka(b"GET / HTTP/1.1\r\nConnection: Upgrade, CLOSE\r\n\r\n"));
        assert!(!ka(b"GET / HTTP/1.0\r\n\r\n"));
        assert!(ka(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
        assert!(!ka(
            b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"
        ));
        let ex = |s: &[u8]| parse(s).unwrap().unwrap().expect_continue;
        assert!(ex(b"PUT / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n"));
        assert!(!ex(b"PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n"));
        assert!(!ex(b"PUT / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n"));
    }

    // The sentences are what this checks; `terse-errors` leaves them out by design.
    #[cfg(not(feature = "terse-errors"))]
    #[test]
    fn each_refusal_says_what_was_wrong() {
        let detail = |s: &[u8]| parse(s).unwrap_err().detail;
        assert_eq!(
            detail(b"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n"),
            "obsolete line folding (a header line starting with whitespace)"
        );
        assert_eq!(
            detail(b"GET / HTTP/1.1\r\nX : a\r\n\r\n"),
            "whitespace in a header name or before its colon"
        );
        assert_eq!(
            detail(b"GET / HTTP/1.1\r\nX\r\n\r\n"),
            "header line without a colon"
        );
        assert_eq!(
            detail(b"GET / HTTP/1.1\r\nX: a\x00\r\n\r\n"),
            "NUL byte in a header value"
        );
        assert_eq!(
            detail(b"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n"),
            "bare CR in a header value"
        );
        assert_eq!(
            detail(b"GET / HTTP/1.1\r\nX(: a\r\n\r\n"),
            "invalid character in a header name"
        );
        assert_eq!(
            detail(b"GET / HTTP/1.1\r\nX: a\r\n\rX"),
            "bare CR at the end of the header section"
        );
        assert_eq!(
            detail(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            "Content-Length and Transfer-Encoding both present"
        );
    }

    #[test]
    fn request_line_limit_is_exact() {
        let limits = Limits {
            max_request_line: 16,
            ..Limits::DEFAULT
        };
        let mut h = [httparse::EMPTY_HEADER; 4];
        // "GET /xxxxxxxxxxx HTTP/1.1" is 25 bytes; "GET /234 HTTP/1.1" is 17.
        let exact = b"GET /23 HTTP/1.1\r\n\r\n"; // 16 bytes of line
        assert!(parse_head(exact, &mut h, &limits).unwrap().is_some());
        let mut h = [httparse::EMPTY_HEADER; 4];
        let over = b"GET /234 HTTP/1.1\r\n\r\n";
        assert_eq!(parse_head(over, &mut h, &limits).unwrap_err().status, 414);
        // Refused before the line ends: no need to wait for more bytes.
        let mut h = [httparse::EMPTY_HEADER; 4];
        assert_eq!(
            parse_head(b"GET /2345678901234567", &mut h, &limits)
                .unwrap_err()
                .status,
            414
        );
    }

    // The sentences are what this checks; `terse-errors` leaves them out by design.
    #[cfg(not(feature = "terse-errors"))]
    #[test]
    fn head_and_header_count_limits() {
        let limits = Limits {
            max_headers: 2,
            max_head_bytes: 64,
            ..Limits::DEFAULT
        };
        let mut h = [httparse::EMPTY_HEADER; 8];
        let two = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n";
        assert!(parse_head(two, &mut h, &limits).unwrap().is_some());
        let mut h = [httparse::EMPTY_HEADER; 8];
        let three = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
        let e = parse_head(three, &mut h, &limits).unwrap_err();
        assert_eq!(
            (e.status, e.detail),
            (431, "more header fields than max_headers")
        );
        // A caller array smaller than max_headers is the limit too.
        let mut h = [httparse::EMPTY_HEADER; 1];
        let e = parse_head(two, &mut h, &limits).unwrap_err();
        assert_eq!(
            (e.status, e.detail),
            (431, "more header fields than the header array holds")
        );
        // 65 bytes without the end of the head: refused, not incomplete.
        let mut h = [httparse::EMPTY_HEADER; 8];
        let long = b"GET / HTTP/1.1\r\nA: 0123456789012345678901234567890123456789xxxxxx";
        assert_eq!(long.len(), 65);
        assert_eq!(parse_head(long, &mut h, &limits).unwrap_err().status, 431);
        let mut h = [httparse::EMPTY_HEADER; 8];
        assert_eq!(parse_head(&long[..64], &mut h, &limits), Ok(None));
        // Content-Length over max_body.
        let limits = Limits {
            max_body: 10,
            ..Limits::DEFAULT
        };
        let mut h = [httparse::EMPTY_HEADER; 8];
        let big = b"POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n";
        assert_eq!(parse_head(big, &mut h, &limits).unwrap_err().status, 413);
        let mut h = [httparse::EMPTY_HEADER; 8];
        let ok = b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n";
        assert_eq!(
            parse_head(ok, &mut h, &limits).unwrap().unwrap().framing,
            Framing::Length(10)
        );
    }

    /// Every byte value at every position of targets of 1 to 40 bytes (the word-wise scan's
    /// whole words, tails and boundaries): controls, space and DEL stop the target where the
    /// byte-wise rule says; `0x80..=0xFF` are part of it.
    #[cfg_attr(miri, ignore)] // 200,000 parses
    #[test]
    fn target_bytes_are_judged_the_same_at_every_position() {
        for len in 1..=40usize {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut target = std::vec![b'a'; len];
                    target[0] = b'/';
                    if at == 0 && b == b' ' {
                        continue; // a space there means an empty target: another refusal
                    }
                    target[at] = b;
                    let input = [&b"GET "[..], &target, b" HTTP/1.1\r\n\r\n"].concat();
                    let mut h = [httparse::EMPTY_HEADER; 1];
                    let got = parse_head(&input, &mut h, &Limits::DEFAULT);
                    match b {
                        // The first byte decides the form: only `/` is origin-form (the
                        // tests of `target` cover the others).
                        0x21..=0x7e | 0x80..=0xff if at == 0 && b != b'/' => {
                            assert_eq!(got.unwrap_err().status, 400, "{b:#x} first");
                        }
                        0x21..=0x7e | 0x80..=0xff => {
                            let head = got.unwrap().unwrap();
                            assert_eq!(head.target, &target[..], "{b:#x} at {at} of {len}");
                        }
                        // A space ends the target early: the rest is a version, then more.
                        b' ' => assert_eq!(got.unwrap_err().status, 400),
                        // A line end ends the line (an HTTP/0.9 line, or a refusal): the
                        // tests of line ends cover those.
                        b'\n' | b'\r' => {}
                        _ => assert_eq!(
                            got.unwrap_err(),
                            ProtocolError::bad_request("control character in the request target"),
                            "{b:#x} at {at} of {len}"
                        ),
                    }
                }
            }
        }
    }

    #[test]
    fn a_name_too_long_for_its_environ_key_is_refused_while_parsing() {
        let head_with = |name_len: usize| {
            [
                &b"GET / HTTP/1.1\r\n"[..],
                &"x".repeat(name_len).into_bytes(),
                b": v\r\n\r\n",
            ]
            .concat()
        };
        // `HTTP_` + 251 bytes is the longest key (MAX_ENVIRON_KEY).
        let ok = head_with(MAX_ENVIRON_KEY - 5);
        let mut h = [httparse::EMPTY_HEADER; 4];
        assert!(parse_head(&ok, &mut h, &Limits::DEFAULT).unwrap().is_some());
        let long = head_with(MAX_ENVIRON_KEY - 4);
        let mut h = [httparse::EMPTY_HEADER; 4];
        let e = parse_head(&long, &mut h, &Limits::DEFAULT).unwrap_err();
        assert_eq!(e, ProtocolError::header_fields_too_large(NAME_TOO_LONG));
    }

    #[test]
    fn empty_lines_alone_are_bounded() {
        let limits = Limits {
            max_head_bytes: 100,
            ..Limits::DEFAULT
        };
        let crlfs = b"\r\n".repeat(50);
        let mut h = [httparse::EMPTY_HEADER; 2];
        assert_eq!(parse_head(&crlfs, &mut h, &limits), Ok(None));
        let crlfs = b"\r\n".repeat(51);
        let mut h = [httparse::EMPTY_HEADER; 2];
        assert_eq!(parse_head(&crlfs, &mut h, &limits).unwrap_err().status, 431);
    }
}
