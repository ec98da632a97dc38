//! The response side of one request: `start_response`'s rules, the legacy `write`, and
//! framing (status line or `Status:`, automatic headers, Content-Length / chunked / close).
//!
//! The framing rules are documented (publicly) in the [handler module docs](crate::handler).

use embedded_io::Write;

use crate::app::{check_status, FileRegion, Respond, SendFile, StartResponseError};
use crate::bytes::{eq_ignore_case, prefix_on_boundary};
use crate::error::{AppError, OutputError};
use crate::handler::config::HandlerConfig;
use crate::handler::output::{classify, Output};
use crate::headers::{check_name, check_value, HeaderError};
use crate::proto::{chunk_header, HttpDate, Version, CHUNK_END, LAST_CHUNK};
use crate::storage::{CapacityError, CapacityKind};
use crate::util::is_hop_by_hop;

/// What the handler knows about the exchange when the response starts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Exchange {
    /// The request's protocol (from `SERVER_PROTOCOL`).
    pub(crate) request_version: Version,
    /// A HEAD request: no body bytes.
    pub(crate) head_request: bool,
    /// `None`: the handler does not manage the connection (SimpleHandler, CGI). `Some(wants)`:
    /// an HTTP server connection whose client wants it kept open (`wants`).
    pub(crate) persistent: Option<bool>,
}

/// The request body, as the response sees it when its head goes out.
///
/// The keep-alive decision is written into the head (`Connection: close`), so it must count
/// what will become of the request body: a body that the server will not read to its end
/// after the response closes the connection, and the head has to say so.
pub(crate) trait RequestBody {
    /// The response head is being written: no `100 Continue` may follow it. True when the
    /// rest of the body will be left unread after the response (see the implementation in
    /// `exchange`), so the connection must close.
    fn head_going_out(&self) -> bool;
}

/// How body bytes are framed once the head is out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Nothing sent yet.
    NotStarted,
    /// Bytes pass through; `Some(n)`: at most `n` more (a Content-Length).
    Raw(Option<u64>),
    /// Chunked transfer coding.
    Chunked,
    /// No body may be sent (HEAD, 1xx/204/304): bytes are counted and dropped.
    Discard,
}

pub(crate) struct Response<'h, 'o, W: Write> {
    config: &'h HandlerConfig,
    exchange: Exchange,
    date: Option<HttpDate>,
    code: u16,
    /// start_response was called (even if it failed: a second call then needs `exc_info`).
    started: bool,
    /// The last start_response succeeded: its head is staged in `out` (all but the framing
    /// headers, which wait for the body to be known).
    staged: bool,
    /// The application's own Content-Length: `None` when it set none, `Some(None)` when its
    /// value is not a plain number.
    app_length: Option<Option<u64>>,
    headers_sent: bool,
    pub(crate) out: Output<'o, W>,
    mode: Mode,
    /// The body's exact length, when known before the first chunk.
    pub(crate) length_hint: Option<u64>,
    /// Body bytes the application produced (CPython's `bytes_sent`).
    pub(crate) bytes_sent: u64,
    /// Set when the connection must close after this response.
    pub(crate) must_close: bool,
    /// The request body of a managed connection whose body is read while the application
    /// runs: told when the head goes out (so a late `100 Continue` is not sent after it), and
    /// asked whether its rest will be left unread.
    request_body: Option<&'h dyn RequestBody>,
    /// The driver's way of sending a file body without reading it (`BaseHandler.sendfile`).
    pub(crate) sendfile: Option<SendFile<W>>,
    /// `finish` flushes the transport (true), or only writes out what is staged, for a driver
    /// that writes more after the response and flushes then (FastCGI's `FCGI_END_REQUEST`:
    /// nginx drops a kept connection whose end record comes in a later segment than the
    /// body it completes).
    pub(crate) flush_at_finish: bool,
}

impl<'h, 'o, W: Write> Response<'h, 'o, W> {
    pub(crate) fn new(
        config: &'h HandlerConfig,
        exchange: Exchange,
        date: Option<HttpDate>,
        out: Output<'o, W>,
        request_body: Option<&'h dyn RequestBody>,
    ) -> Self {
        Response {
            config,
            exchange,
            date,
            code: 0,
            started: false,
            staged: false,
            app_length: None,
            headers_sent: false,
            out,
            mode: Mode::NotStarted,
            length_hint: None,
            bytes_sent: 0,
            must_close: exchange.persistent != Some(true),
            request_body,
            sendfile: None,
            flush_at_finish: true,
        }
    }

    /// CPython's `sendfile()` step of `finish_response`: when the driver offers a way to send
    /// files and the body is a file region, send the head and then the region through it.
    /// `Ok(true)`: the body went out this way. `Ok(false)`: not applicable (no hook, no
    /// region, a HEAD or body-less status, no exact length, chunked framing, or the hook
    /// declined); the caller reads the body as usual.
    pub(crate) fn try_sendfile(
        &mut self,
        region: Option<FileRegion<'_>>,
    ) -> Result<bool, AppError> {
        let (Some(hook), Some(region)) = (self.sendfile, region) else {
            return Ok(false);
        };
        if !self.staged || self.exchange.head_request || self.length_hint != Some(region.len) {
            return Ok(false);
        }
        if !self.headers_sent {
            self.send_headers()?;
        }
        if self.mode != Mode::Raw(Some(region.len)) {
            // Chunked, discarded (204/304) or already partly sent: the ordinary path frames it.
            return Ok(false);
        }
        // The head (and anything staged) must reach the transport before the file does.
        self.out.flush_buffer()?;
        match hook(&mut self.out.sink, &region) {
            None => Ok(false),
            Some(Ok(sent)) => {
                let sent = sent.min(region.len);
                self.bytes_sent += sent;
                self.mode = Mode::Raw(Some(region.len - sent));
                Ok(true)
            }
            Some(Err(kind)) => Err(AppError::output(classify(kind))),
        }
    }

    /// The status code of the response that was (or will be) sent; 0 before start_response.
    pub(crate) fn code(&self) -> u16 {
        self.code
    }

    fn no_body_status(&self) -> bool {
        // 1xx only: a 0xx code (which CPython accepts) is not an interim response.
        (100..200).contains(&self.code) || self.code == 204 || self.code == 304
    }

    /// Decide the framing and queue the head's last lines (Content-Length or
    /// Transfer-Encoding, Connection, the empty line) behind the part start_response staged.
    /// Called on the first body byte or at finish, once a head is staged.
    fn send_headers(&mut self) -> Result<(), AppError> {
        // A body left unread closes the connection: known now, so the head can say it.
        let unread = match self.request_body {
            Some(body) => body.head_going_out(),
            None => false,
        };
        // As in CPython, headers count as sent before any byte is written: an error while
        // writing them does not lead to a second response.
        self.headers_sent = true;
        let origin = self.config.origin_server;
        if origin && self.exchange.request_version == Version::Http09 {
            self.mode = Mode::Raw(None);
            self.must_close = true;
            return Ok(());
        }
        let no_body = self.no_body_status();
        let app_length = self.app_length;
        let mut auto_length = None;
        if app_length.is_none() && !no_body {
            auto_length = self.length_hint;
        }
        let declared = match app_length {
            Some(Some(n)) => Some(n),
            // An unparsable application Content-Length is passed through verbatim (CPython),
            // but we cannot frame by it: the connection closes after the body.
            Some(None) => None,
            None => auto_length,
        };
        let managed = self.exchange.persistent.is_some();
        self.mode = if no_body || self.exchange.head_request {
            Mode::Discard
        } else if let Some(n) = declared {
            Mode::Raw(Some(n))
        } else if app_length.is_none()
            && managed
            && origin
            && self.config.http_version == Version::Http11
            && self.exchange.request_version == Version::Http11
        {
            Mode::Chunked
        } else {
            Mode::Raw(None)
        };
        let framed = !matches!(self.mode, Mode::Raw(None));
        // `must_close` may be set already: the error page of a failed application closes.
        self.must_close = self.must_close || !framed || unread;

        if let Some(n) = auto_length {
            let mut digits = [0u8; 20];
            self.out
                .put_parts(&[b"Content-Length: ", format_u64(n, &mut digits), b"\r\n"])?;
        }
        if self.mode == Mode::Chunked {
            self.out.put_const(b"Transfer-Encoding: chunked\r\n")?;
        }
        if managed && origin {
            let v11 = self.config.http_version == Version::Http11;
            match (self.exchange.request_version, self.must_close) {
                // An HTTP/1.1 response announces its end; an HTTP/1.0 client reads an HTTP/1.1
                // status line too, and without the header would take it as persistent.
                (Version::Http10 | Version::Http11, true) if v11 => {
                    self.out.put_const(b"Connection: close\r\n")?
                }
                (Version::Http10, false) => self.out.put_const(b"Connection: keep-alive\r\n")?,
                _ => {}
            }
        }
        self.out.put_const(b"\r\n")?;
        Ok(())
    }

    /// Queue body bytes (sending the head first if needed).
    pub(crate) fn body(&mut self, data: &[u8]) -> Result<(), AppError> {
        if !self.staged {
            return Err(AppError::output(OutputError::WriteBeforeStartResponse));
        }
        if !self.headers_sent {
            self.send_headers()?;
        }
        self.bytes_sent += data.len() as u64;
        if data.is_empty() {
            return Ok(());
        }
        match self.mode {
            Mode::NotStarted | Mode::Discard => Ok(()),
            Mode::Raw(None) => Ok(self.out.put(data)?),
            Mode::Raw(Some(left)) => {
                let take = (data.len() as u64).min(left) as usize;
                self.out.put(&data[..take])?;
                self.mode = Mode::Raw(Some(left - take as u64));
                if take < data.len() {
                    // More than the declared Content-Length: never send it (the excess
                    // would be read as the next response), close, and report.
                    self.must_close = true;
                    return Err(AppError::output(OutputError::LengthExceeded));
                }
                Ok(())
            }
            Mode::Chunked => {
                let mut hdr = [0u8; 18];
                self.out.put(chunk_header(data.len(), &mut hdr))?;
                self.out.put(data)?;
                self.out.put_const(CHUNK_END)?;
                Ok(())
            }
        }
    }

    /// CPython's `finish_content`: send the head of an empty response, end the body.
    pub(crate) fn finish(&mut self) -> Result<(), AppError> {
        if !self.staged {
            // CPython fails here too (its headers are None); the error page follows. So does
            // a response whose start_response failed: its head was never staged.
            return Err(AppError::output(OutputError::WriteBeforeStartResponse));
        }
        if !self.headers_sent {
            if self.length_hint.is_none() {
                self.length_hint = Some(0);
            }
            self.send_headers()?;
        }
        match self.mode {
            Mode::Chunked => self.out.put_const(LAST_CHUNK)?,
            Mode::Raw(Some(left)) if left > 0 => {
                // Fewer bytes than declared: the client would wait for the rest.
                self.must_close = true;
            }
            _ => {}
        }
        if self.flush_at_finish {
            Ok(self.out.flush()?)
        } else {
            Ok(self.out.flush_buffer()?)
        }
    }

    /// Push out what is staged (the head and body so far), keeping the connection usable.
    pub(crate) fn flush(&mut self) -> Result<(), AppError> {
        Ok(self.out.flush()?)
    }

    pub(crate) fn headers_sent(&self) -> bool {
        self.headers_sent
    }

    /// Stage the head as far as start_response knows it: the status line (or CGI's
    /// `Status:`), `Date` and `Server` unless the application set them, then the
    /// application's headers, in CPython's order. `header_bytes` is what the application's
    /// lines take. The whole of it must fit the output buffer, so that a later start_response
    /// with `exc_info` can still replace it: nothing is written to the transport here.
    fn stage_head(
        &mut self,
        status: &str,
        headers: &[(&str, &str)],
        header_bytes: usize,
        has_date: bool,
        has_server: bool,
    ) -> Result<(), StartResponseError> {
        let origin = self.config.origin_server;
        if origin && self.exchange.request_version == Version::Http09 {
            // An HTTP/0.9 response is its body alone.
            return Ok(());
        }
        let version: &[u8] = match self.config.http_version {
            Version::Http09 | Version::Http10 => b"HTTP/1.0 ",
            Version::Http11 => b"HTTP/1.1 ",
        };
        let date = self.date.as_ref().filter(|_| origin && !has_date);
        let server = self
            .config
            .server_software
            .filter(|s| origin && !s.is_empty() && !has_server);
        let first: &[u8] = if origin { version } else { b"Status: " };
        // The first line; `Date: ` and `Server: ` lines; the application's.
        let needed = header_bytes
            + first.len()
            + status.len()
            + 2
            + date.map_or(0, |d| 8 + d.as_bytes().len())
            + server.map_or(0, |s| 10 + s.len());
        if needed > self.out.capacity() {
            return Err(StartResponseError::Header(HeaderError::Capacity(
                CapacityError {
                    kind: CapacityKind::Bytes,
                    needed,
                    capacity: self.out.capacity(),
                },
            )));
        }
        self.out.stage_parts(&[first, status.as_bytes(), b"\r\n"]);
        if let Some(date) = date {
            self.out.stage_parts(&[b"Date: ", date.as_bytes(), b"\r\n"]);
        }
        if let Some(software) = server {
            self.out
                .stage_parts(&[b"Server: ", software.as_bytes(), b"\r\n"]);
        }
        for &(name, value) in headers {
            self.out
                .stage_parts(&[name.as_bytes(), b": ", value.as_bytes(), b"\r\n"]);
        }
        Ok(())
    }
}

impl<W: Write> Respond for Response<'_, '_, W> {
    fn start_response(
        &mut self,
        status: &str,
        headers: &[(&str, &str)],
        exc_info: bool,
    ) -> Result<(), StartResponseError> {
        if self.started && !exc_info {
            return Err(StartResponseError::HeadersAlreadySet);
        }
        if self.headers_sent {
            // With exc_info after the head went out, CPython re-raises; the caller
            // (StartResponse::start_with_exc_info) handles that before coming here.
            return Err(StartResponseError::HeadersAlreadySet);
        }
        // CPython stores status and headers before validating them, so a failed first call
        // still counts as "headers set" for a second one.
        self.started = true;
        self.staged = false;
        self.code = 0;
        // Before the head is sent, `out` holds nothing but an earlier call's staged head.
        self.out.discard();
        self.code = check_status(status)?;
        // One pass checks every header and notes the three the head depends on; a second
        // writes the head out. Both run over the application's slice, not a copy of it.
        let mut app_length = None;
        let (mut has_date, mut has_server) = (false, false);
        let mut needed = 0;
        for &(name, value) in headers {
            if is_hop_by_hop(name) {
                // `name: value`, cut at a character boundary to what the error holds.
                let mut text = heapless::String::<96>::new();
                for part in [name, ": ", value] {
                    let room = text.capacity() - text.len();
                    let _ = text.push_str(prefix_on_boundary(part, room));
                }
                return Err(StartResponseError::HopByHop(text));
            }
            check_name(name)?;
            check_value(value)?;
            match framing_header(name.as_bytes()) {
                Some(FramingHeader::ContentLength) if app_length.is_none() => {
                    app_length = Some(parse_length(value.as_bytes()));
                }
                Some(FramingHeader::Date) => has_date = true,
                Some(FramingHeader::Server) => has_server = true,
                _ => {}
            }
            needed += name.len() + value.len() + 4;
        }
        self.stage_head(status, headers, needed, has_date, has_server)?;
        self.app_length = app_length;
        self.staged = true;
        Ok(())
    }

    fn write(&mut self, data: &[u8]) -> Result<(), AppError> {
        self.body(data)?;
        // The legacy write is unbuffered, as in CPython (it flushes after each call).
        self.flush()
    }

    fn headers_sent(&self) -> bool {
        self.headers_sent
    }
}

/// The application headers the framing depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FramingHeader {
    ContentLength,
    Date,
    Server,
}

/// Which framing header `name` is, by Python's `name.lower() == "content-length"` (and so
/// on). The one non-ASCII character that lower-cases to ASCII is the KELVIN SIGN (`k`), which
/// none of the three names holds, so only a name of the same length can match and ASCII case
/// folding decides: a length test answers for nearly every other header without a call, and
/// the crate's out-of-line `eq_ignore_case` compares the rest (84 B less flash on a Cortex-M
/// than three inlined comparisons).
fn framing_header(name: &[u8]) -> Option<FramingHeader> {
    match name.len() {
        14 if eq_ignore_case(name, b"Content-Length") => Some(FramingHeader::ContentLength),
        4 if eq_ignore_case(name, b"Date") => Some(FramingHeader::Date),
        6 if eq_ignore_case(name, b"Server") => Some(FramingHeader::Server),
        _ => None,
    }
}

/// A Content-Length value: plain decimal digits only (no sign, no spaces).
fn parse_length(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // At most 19 digits: cannot overflow a u64.
    Some(v.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')))
}

/// Decimal digits of `n` in `buf`, without `core::fmt` (small firmware, fast path).
pub(crate) fn format_u64(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    // Lengths below 4 GiB (nearly all): one 32-bit division per digit, which compilers turn
    // into a multiplication (74 instructions fewer per request, `bench/instructions.sh`).
    if let Ok(mut small) = u32::try_from(n) {
        loop {
            i -= 1;
            buf[i] = b'0' + (small % 10) as u8;
            small /= 10;
            if small == 0 {
                return &buf[i..];
            }
        }
    }
    loop {
        i -= 1;
        let (q, digit) = div10(n);
        buf[i] = b'0' + digit;
        n = q;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

/// `(n / 10, n % 10)` with 32-bit divisions only: on a 32-bit microcontroller `u64 / 10`
/// calls the 64-bit division routine of compiler-builtins (close to 1 KiB of flash), while
/// long division over 16-bit limbs uses the hardware divider.
fn div10(n: u64) -> (u64, u8) {
    let mut quotient = 0u64;
    let mut rem = 0u32;
    for shift in [48, 32, 16, 0] {
        // rem < 10, so this fits 20 bits.
        let cur = (rem << 16) | ((n >> shift) as u32 & 0xFFFF);
        quotient |= u64::from(cur / 10) << shift;
        rem = cur % 10;
    }
    (quotient, rem as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn div10_agrees_with_u64_division() {
        let mut n: u64 = 0x9E37_79B9_7F4A_7C15;
        for edge in [
            0,
            9,
            10,
            65_535,
            65_536,
            u32::MAX as u64,
            u64::MAX,
            u64::MAX - 1,
        ] {
            assert_eq!(div10(edge), (edge / 10, (edge % 10) as u8), "{edge}");
        }
        for _ in 0..10_000 {
            // xorshift: spread over all magnitudes.
            n ^= n << 13;
            n ^= n >> 7;
            n ^= n << 17;
            let v = n >> (n % 64);
            assert_eq!(div10(v), (v / 10, (v % 10) as u8), "{v}");
        }
    }

    #[test]
    fn framing_headers_are_found_as_python_lowercase_finds_them() {
        extern crate alloc;
        let stored = [
            "Content-Length",
            "content-length",
            "CONTENT-LENGTH",
            "Content-Lengt",
            "Content-Lengthx",
            "Date",
            "dATE",
            "Server",
            "Ser\u{212A}er",
            "\u{212A}eep-Alive",
            "Keep-Alive",
            "K\u{0130}",
            "Dat\u{e9}",
            "",
            "\u{212B}",
        ];
        let framing = [
            ("content-length", FramingHeader::ContentLength),
            ("date", FramingHeader::Date),
            ("server", FramingHeader::Server),
        ];
        for s in stored {
            let unicode = framing
                .iter()
                .find(|(lower, _)| s.to_lowercase() == *lower)
                .map(|&(_, which)| which);
            assert_eq!(framing_header(s.as_bytes()), unicode, "{s:?}");
        }
    }

    #[test]
    fn formats_numbers() {
        let mut b = [0u8; 20];
        assert_eq!(format_u64(0, &mut b), b"0");
        assert_eq!(format_u64(1234567890, &mut b), b"1234567890");
        assert_eq!(format_u64(u64::MAX, &mut b), b"18446744073709551615");
        // Both sides of the 32-bit fast path.
        assert_eq!(format_u64(u64::from(u32::MAX), &mut b), b"4294967295");
        assert_eq!(format_u64(u64::from(u32::MAX) + 1, &mut b), b"4294967296");
        assert_eq!(format_u64(10_000_000_000, &mut b), b"10000000000");
    }

    #[test]
    fn lengths_are_strict() {
        assert_eq!(parse_length(b"12"), Some(12));
        for bad in ["", "+1", " 1", "1 ", "0x1", "99999999999999999999"] {
            assert_eq!(parse_length(bad.as_bytes()), None, "{bad:?}");
        }
    }
}
