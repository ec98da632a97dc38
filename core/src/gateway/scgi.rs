//! SCGI (Neil Schemenauer's Simple Common Gateway Interface): the request [`Decoder`].
//!
//! A request is a netstring of headers, then the body:
//!
//! ```text
//! <length>:CONTENT_LENGTH<NUL><n><NUL>SCGI<NUL>1<NUL>name<NUL>value<NUL>...,<n body bytes>
//! ```
//!
//! `CONTENT_LENGTH` must come first and `SCGI` must be `1`; both are checked. One request per
//! connection: after the body, the server answers and closes.
//!
//! The response needs no encoder: it is CGI-style output (`Status: 200 OK`, header lines, an
//! empty line, the body) written to the connection as it is, and the end of the response is
//! the server closing the connection.

use super::params::{validate, Collector, Format};
use super::{body_step, parse_content_length, Error, ErrorKind, Event, Limits, Params};

/// Where the decoder is in the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The netstring's decimal length, up to `:`.
    Length { len: usize, digits: bool },
    /// Header bytes still to come.
    Headers { remaining: usize },
    /// The netstring's closing `,`.
    Comma,
    /// Body bytes still to come.
    Body { remaining: u64 },
    /// The request is complete.
    Done,
    /// Refused; repeated on every later call.
    Failed(Error),
}

/// Decodes one SCGI request fed in any pieces. See the [module docs](self).
///
/// The headers are copied into `buf` (the caller's; any `AsMut<[u8]>`: an array, a slice, a
/// `Vec`), which with [`Limits::max_params_bytes`] bounds them; the body is handed back as
/// slices of the input.
///
/// ```
/// use wsgiref_core::gateway::{scgi, Event};
///
/// let request = b"62:CONTENT_LENGTH\x005\x00SCGI\x001\x00REQUEST_METHOD\x00POST\x00PATH_INFO\x00/upload\x00,hello";
/// let mut buf = [0u8; 512];
/// let mut decoder = scgi::Decoder::new(&mut buf[..], Default::default());
/// let mut body = Vec::new();
/// // Any split works: here the bytes arrive 16 at a time.
/// for piece in request.chunks(16) {
///     let mut input = piece;
///     loop {
///         let (used, event) = decoder.feed(input)?;
///         input = &input[used..];
///         match event {
///             Event::Params => {
///                 let params = decoder.params().unwrap();
///                 assert_eq!(params.get(b"PATH_INFO"), Some(&b"/upload"[..]));
///             }
///             Event::Body(data) => body.extend_from_slice(data),
///             Event::NeedMore | Event::End => break,
///         }
///     }
/// }
/// assert_eq!(body, b"hello");
/// assert_eq!(decoder.feed(b"")?, (0, Event::End));
/// # Ok::<(), wsgiref_core::gateway::Error>(())
/// ```
#[derive(Debug)]
pub struct Decoder<B> {
    params: Collector<B>,
    limits: Limits,
    state: State,
    /// Pairs in the params block, once it is complete and valid.
    count: Option<usize>,
    /// Bytes consumed so far, for error places.
    offset: u64,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Decoder<B> {
    /// A decoder collecting the headers in `buf`, bounded by `limits`.
    pub fn new(buf: B, limits: Limits) -> Self {
        Decoder {
            params: Collector::new(buf, &limits),
            limits,
            state: State::Length {
                len: 0,
                digits: false,
            },
            count: None,
            offset: 0,
        }
    }

    /// Start over for a new connection, keeping the buffer and limits.
    pub fn reset(&mut self) {
        self.params.clear();
        self.state = State::Length {
            len: 0,
            digits: false,
        };
        self.count = None;
        self.offset = 0;
    }

    /// The request's headers, once [`Event::Params`] was returned; `None` before.
    pub fn params(&self) -> Option<Params<'_>> {
        self.count
            .map(|count| Params::new(self.params.bytes(), Format::Scgi, count))
    }

    /// The body length `CONTENT_LENGTH` announced, once the params are complete.
    pub fn content_length(&self) -> Option<u64> {
        self.params()
            .and_then(|p| p.get(b"CONTENT_LENGTH"))
            .and_then(parse_content_length)
    }

    /// Consume bytes from the front of `input` until something happens: returns how many
    /// bytes were used and what they held. Call again with the rest (`input[used..]`) until
    /// [`Event::NeedMore`], then with the next bytes received.
    ///
    /// An `Err` is final: the request is malformed or exceeds a limit, and every later call
    /// returns the same error. Log it and close the connection.
    pub fn feed<'i>(&mut self, input: &'i [u8]) -> Result<(usize, Event<'i>), Error> {
        let mut used = 0;
        let result = self.step(input, &mut used);
        self.offset += used as u64;
        if let Err(e) = result {
            self.state = State::Failed(e);
        }
        result.map(|event| (used, event))
    }

    fn step<'i>(&mut self, input: &'i [u8], used: &mut usize) -> Result<Event<'i>, Error> {
        let offset = self.offset;
        let fail = |kind, at: usize| Error::at(kind, offset + at as u64);
        loop {
            match self.state {
                State::Failed(e) => return Err(e),
                State::Done => return Ok(Event::End),
                State::Length { len, digits } => {
                    let Some(&b) = input.get(*used) else {
                        return Ok(Event::NeedMore);
                    };
                    self.state = match b {
                        b'0'..=b'9' if digits && len == 0 => {
                            return Err(fail(ErrorKind::InvalidNetstringLength, *used))
                        }
                        b'0'..=b'9' => {
                            let len = len
                                .checked_mul(10)
                                .and_then(|n| n.checked_add(usize::from(b - b'0')))
                                .filter(|&n| n <= self.params.room())
                                .ok_or_else(|| fail(ErrorKind::ParamsTooLarge, *used))?;
                            State::Length { len, digits: true }
                        }
                        b':' if digits => State::Headers { remaining: len },
                        _ => return Err(fail(ErrorKind::InvalidNetstringLength, *used)),
                    };
                    *used += 1;
                }
                State::Headers { remaining } => {
                    let take = remaining.min(input.len() - *used);
                    // Cannot fail: the length was checked against the room.
                    if !self.params.push(&input[*used..*used + take]) {
                        return Err(fail(ErrorKind::ParamsTooLarge, *used));
                    }
                    *used += take;
                    if take == remaining {
                        self.state = State::Comma;
                    } else {
                        self.state = State::Headers {
                            remaining: remaining - take,
                        };
                        return Ok(Event::NeedMore);
                    }
                }
                State::Comma => {
                    let Some(&b) = input.get(*used) else {
                        return Ok(Event::NeedMore);
                    };
                    if b != b',' {
                        return Err(fail(ErrorKind::MissingNetstringComma, *used));
                    }
                    let remaining = self.check_headers().map_err(|kind| match kind {
                        Ok(kind) => fail(kind, *used),
                        Err(e) => e,
                    })?;
                    *used += 1;
                    self.state = State::Body { remaining };
                    return Ok(Event::Params);
                }
                State::Body { remaining } => {
                    let (event, take) = body_step(remaining, &input[*used..]);
                    *used += take;
                    self.state = match event {
                        Event::End => State::Done,
                        _ => State::Body {
                            remaining: remaining - take as u64,
                        },
                    };
                    return Ok(event);
                }
            }
        }
    }

    /// Validate the complete header block: the body length, or what is wrong (a kind placed
    /// at the comma, or an error already placed inside the params).
    fn check_headers(&mut self) -> Result<u64, Result<ErrorKind, Error>> {
        let count = validate(Format::Scgi, self.params.bytes(), &self.limits).map_err(Err)?;
        let params = Params::new(self.params.bytes(), Format::Scgi, count);
        let length = match params.iter().next() {
            Some((b"CONTENT_LENGTH", value)) => {
                parse_content_length(value).ok_or(Ok(ErrorKind::InvalidContentLength))?
            }
            _ => return Err(Ok(ErrorKind::ContentLengthNotFirst)),
        };
        if params.get(b"SCGI") != Some(b"1") {
            return Err(Ok(ErrorKind::MissingScgiHeader));
        }
        if length > self.limits.max_body {
            return Err(Ok(ErrorKind::BodyTooLarge));
        }
        self.count = Some(count);
        Ok(length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::Place;
    use std::vec::Vec;

    /// An SCGI request with `pairs` after the required two, and `body`.
    fn request(pairs: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
        let mut headers = Vec::new();
        let cl = std::format!("{}", body.len());
        for (n, v) in [("CONTENT_LENGTH", cl.as_str()), ("SCGI", "1")]
            .iter()
            .chain(pairs)
        {
            headers.extend_from_slice(n.as_bytes());
            headers.push(0);
            headers.extend_from_slice(v.as_bytes());
            headers.push(0);
        }
        let mut out = std::format!("{}:", headers.len()).into_bytes();
        out.extend(headers);
        out.push(b',');
        out.extend_from_slice(body);
        out
    }

    /// Feed `bytes` whole; the body, or the error.
    fn decode(bytes: &[u8], limits: Limits) -> Result<(Vec<u8>, Vec<u8>), Error> {
        let mut d = Decoder::new(std::vec![0u8; 4096], limits);
        let mut input = bytes;
        let mut body = Vec::new();
        let mut method = Vec::new();
        loop {
            let (used, event) = d.feed(input)?;
            input = &input[used..];
            match event {
                Event::Params => {
                    method = d
                        .params()
                        .unwrap()
                        .get(b"REQUEST_METHOD")
                        .unwrap_or(b"")
                        .to_vec()
                }
                Event::Body(b) => body.extend_from_slice(b),
                Event::End => return Ok((method, body)),
                Event::NeedMore => return Err(Error::at(ErrorKind::TruncatedPair, u64::MAX)),
            }
        }
    }

    #[test]
    fn a_request_with_a_body() {
        let bytes = request(&[("REQUEST_METHOD", "PUT")], b"data");
        let (method, body) = decode(&bytes, Limits::DEFAULT).unwrap();
        assert_eq!(method, b"PUT");
        assert_eq!(body, b"data");
    }

    #[test]
    fn the_body_stops_at_content_length_and_end_repeats() {
        let mut bytes = request(&[], b"ab");
        bytes.extend_from_slice(b"trailing");
        let mut d = Decoder::new([0u8; 64], Limits::DEFAULT);
        let (used, e) = d.feed(&bytes).unwrap();
        assert_eq!(e, Event::Params);
        assert_eq!(d.content_length(), Some(2));
        assert_eq!(d.feed(&bytes[used..]).unwrap(), (2, Event::Body(b"ab")));
        assert_eq!(d.feed(b"trailing").unwrap(), (0, Event::End));
        assert_eq!(d.feed(b"trailing").unwrap(), (0, Event::End));
    }

    #[test]
    fn malformed_requests_are_refused_where_they_go_wrong() {
        let refuse = |bytes: &[u8]| decode(bytes, Limits::DEFAULT).unwrap_err();
        let at = |kind, n| Error::at(kind, n);
        assert_eq!(refuse(b":"), at(ErrorKind::InvalidNetstringLength, 0));
        assert_eq!(refuse(b"01:"), at(ErrorKind::InvalidNetstringLength, 1));
        assert_eq!(refuse(b"1 :"), at(ErrorKind::InvalidNetstringLength, 1));
        assert_eq!(
            refuse(b"24:CONTENT_LENGTH\x000\x00SCGI\x001\x00;"),
            at(ErrorKind::MissingNetstringComma, 27)
        );
        assert_eq!(
            refuse(b"24:SCGI\x001\x00CONTENT_LENGTH\x000\x00,"),
            at(ErrorKind::ContentLengthNotFirst, 27)
        );
        assert_eq!(
            refuse(b"17:CONTENT_LENGTH\x000\x00,"),
            at(ErrorKind::MissingScgiHeader, 20)
        );
        assert_eq!(
            refuse(b"24:CONTENT_LENGTH\x000\x00SCGI\x002\x00,"),
            at(ErrorKind::MissingScgiHeader, 27)
        );
        assert_eq!(
            refuse(b"25:CONTENT_LENGTH\x00-1\x00SCGI\x001\x00,"),
            at(ErrorKind::InvalidContentLength, 28)
        );
        assert_eq!(
            refuse(b"23:CONTENT_LENGTH\x000\x00SCGI\x001,"),
            Error {
                kind: ErrorKind::TruncatedPair,
                place: Place::Params(17)
            }
        );
        // Larger than the buffer: refused at the digit that says so, before any header byte.
        assert_eq!(refuse(b"4097:"), at(ErrorKind::ParamsTooLarge, 3));
        let small = Limits {
            max_params_bytes: 10,
            ..Limits::DEFAULT
        };
        assert_eq!(
            decode(b"11:", small).unwrap_err(),
            at(ErrorKind::ParamsTooLarge, 1)
        );
        let no_body = Limits {
            max_body: 3,
            ..Limits::DEFAULT
        };
        assert_eq!(
            decode(&request(&[], b"four"), no_body).unwrap_err().kind,
            ErrorKind::BodyTooLarge
        );
    }

    #[test]
    fn an_error_is_final() {
        let mut d = Decoder::new([0u8; 64], Limits::DEFAULT);
        let e = d.feed(b"x").unwrap_err();
        assert_eq!(d.feed(request(&[], b"").as_slice()), Err(e));
        d.reset();
        assert_eq!(
            d.feed(request(&[], b"").as_slice()).unwrap().1,
            Event::Params
        );
    }
}
