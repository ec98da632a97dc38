//! The uwsgi protocol (uWSGI's binary protocol, what nginx's `uwsgi_pass` speaks): the
//! request [`Decoder`].
//!
//! A request is a 4-byte header, the vars block, then the body:
//!
//! ```text
//! modifier1 (u8) | datasize (u16, little-endian) | modifier2 (u8)
//! datasize bytes of: name length (u16 LE) name value length (u16 LE) value ...
//! CONTENT_LENGTH body bytes
//! ```
//!
//! Only the WSGI request packet is accepted: modifier1 0 and modifier2 0 (nginx's default
//! `uwsgi_modifier1 0`). `CONTENT_LENGTH` missing or empty means no body (nginx sends it empty
//! for a request without one). One request per connection: after the body, the server answers
//! with raw HTTP-style output (`HTTP/1.1 200 OK`, header lines, empty line, body; nginx also
//! accepts a CGI-style `Status:` line) and closes, so, as for SCGI, no encoder is needed.

use super::params::{validate, Collector, Format};
use super::{body_step, parse_content_length, Error, ErrorKind, Event, Limits, Params};

/// Where the decoder is in the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The 4-byte packet header, `got` bytes of it so far.
    Header { got: u8, bytes: [u8; 4] },
    /// Vars bytes still to come.
    Vars { remaining: usize },
    /// Body bytes still to come.
    Body { remaining: u64 },
    /// The request is complete.
    Done,
    /// Refused; repeated on every later call.
    Failed(Error),
}

const START: State = State::Header {
    got: 0,
    bytes: [0; 4],
};

/// Decodes one uwsgi request fed in any pieces. See the [module docs](self).
///
/// The vars are copied into `buf` (the caller's; an array, a slice, a `Vec`), which with
/// [`Limits::max_params_bytes`] bounds them; the body comes back as slices of the input.
///
/// ```
/// use wsgiref_core::gateway::{uwsgi, Event};
///
/// // Vars: REQUEST_METHOD=GET, QUERY_STRING=a=1.
/// let vars = b"\x0e\x00REQUEST_METHOD\x03\x00GET\x0c\x00QUERY_STRING\x03\x00a=1";
/// let mut request = vec![0, vars.len() as u8, 0, 0];
/// request.extend_from_slice(vars);
///
/// let mut buf = [0u8; 512];
/// let mut decoder = uwsgi::Decoder::new(&mut buf[..], Default::default());
/// // Fed one byte at a time: `NeedMore` until the vars are complete.
/// for (i, byte) in request.iter().enumerate() {
///     let (used, event) = decoder.feed(core::slice::from_ref(byte))?;
///     assert_eq!(used, 1);
///     let last = i == request.len() - 1;
///     assert_eq!(event, if last { Event::Params } else { Event::NeedMore });
/// }
/// let params = decoder.params().unwrap();
/// assert_eq!(params.get(b"QUERY_STRING"), Some(&b"a=1"[..]));
/// // No CONTENT_LENGTH: no body.
/// assert_eq!(decoder.feed(b"")?, (0, Event::End));
/// # Ok::<(), wsgiref_core::gateway::Error>(())
/// ```
#[derive(Debug)]
pub struct Decoder<B> {
    params: Collector<B>,
    limits: Limits,
    state: State,
    count: Option<usize>,
    offset: u64,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Decoder<B> {
    /// A decoder collecting the vars in `buf`, bounded by `limits`.
    pub fn new(buf: B, limits: Limits) -> Self {
        Decoder {
            params: Collector::new(buf, &limits),
            limits,
            state: START,
            count: None,
            offset: 0,
        }
    }

    /// Start over for a new connection, keeping the buffer and limits.
    pub fn reset(&mut self) {
        self.params.clear();
        self.state = START;
        self.count = None;
        self.offset = 0;
    }

    /// The request's vars, once [`Event::Params`] was returned; `None` before.
    pub fn params(&self) -> Option<Params<'_>> {
        self.count
            .map(|count| Params::new(self.params.bytes(), Format::Uwsgi, count))
    }

    /// The body length, once the params are complete: `CONTENT_LENGTH`, or 0 when it is
    /// missing or empty.
    pub fn content_length(&self) -> Option<u64> {
        let params = self.params()?;
        match params.get(b"CONTENT_LENGTH") {
            None | Some(b"") => Some(0),
            Some(v) => parse_content_length(v),
        }
    }

    /// Consume bytes from the front of `input` until something happens: returns how many
    /// bytes were used and what they held. Call again with the rest until
    /// [`Event::NeedMore`], then with the next bytes received.
    ///
    /// An `Err` is final: log it and close the connection.
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
                State::Header { got, mut bytes } => {
                    let Some(&b) = input.get(*used) else {
                        return Ok(Event::NeedMore);
                    };
                    bytes[usize::from(got)] = b;
                    *used += 1;
                    if got < 3 {
                        self.state = State::Header {
                            got: got + 1,
                            bytes,
                        };
                        continue;
                    }
                    let [modifier1, lo, hi, modifier2] = bytes;
                    if (modifier1, modifier2) != (0, 0) {
                        let kind = ErrorKind::UnsupportedModifier {
                            modifier1,
                            modifier2,
                        };
                        // At modifier1, 4 bytes back (possibly in an earlier feed).
                        return Err(Error::at(kind, (offset + *used as u64) - 4));
                    }
                    let size = usize::from(u16::from_le_bytes([lo, hi]));
                    if size > self.params.room() {
                        // At datasize, 3 bytes back.
                        return Err(Error::at(
                            ErrorKind::ParamsTooLarge,
                            (offset + *used as u64) - 3,
                        ));
                    }
                    self.state = State::Vars { remaining: size };
                }
                State::Vars { remaining } => {
                    let take = remaining.min(input.len() - *used);
                    if !self.params.push(&input[*used..*used + take]) {
                        return Err(fail(ErrorKind::ParamsTooLarge, *used));
                    }
                    *used += take;
                    if take < remaining {
                        self.state = State::Vars {
                            remaining: remaining - take,
                        };
                        return Ok(Event::NeedMore);
                    }
                    let count = validate(Format::Uwsgi, self.params.bytes(), &self.limits)?;
                    self.count = Some(count);
                    let Some(length) = self.content_length() else {
                        self.count = None;
                        return Err(fail(ErrorKind::InvalidContentLength, *used));
                    };
                    if length > self.limits.max_body {
                        self.count = None;
                        return Err(fail(ErrorKind::BodyTooLarge, *used));
                    }
                    self.state = State::Body { remaining: length };
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::Place;
    use std::vec::Vec;

    fn request(pairs: &[(&[u8], &[u8])], body: &[u8]) -> Vec<u8> {
        let mut vars = Vec::new();
        for (n, v) in pairs {
            vars.extend_from_slice(&(n.len() as u16).to_le_bytes());
            vars.extend_from_slice(n);
            vars.extend_from_slice(&(v.len() as u16).to_le_bytes());
            vars.extend_from_slice(v);
        }
        let mut out = std::vec![0];
        out.extend_from_slice(&(vars.len() as u16).to_le_bytes());
        out.push(0);
        out.extend(vars);
        out.extend_from_slice(body);
        out
    }

    fn feed_all(d: &mut Decoder<Vec<u8>>, bytes: &[u8]) -> Result<Vec<u8>, Error> {
        let mut input = bytes;
        let mut body = Vec::new();
        loop {
            let (used, event) = d.feed(input)?;
            input = &input[used..];
            match event {
                Event::Params => {}
                Event::Body(b) => body.extend_from_slice(b),
                Event::End | Event::NeedMore => return Ok(body),
            }
        }
    }

    #[test]
    fn vars_then_the_body_by_content_length() {
        let bytes = request(
            &[(b"CONTENT_LENGTH", b"3"), (b"PATH_INFO", b"/x")],
            b"abcNEXT",
        );
        let mut d = Decoder::new(std::vec![0; 256], Limits::DEFAULT);
        assert_eq!(feed_all(&mut d, &bytes).unwrap(), b"abc");
        assert_eq!(d.params().unwrap().get(b"PATH_INFO"), Some(&b"/x"[..]));
        assert_eq!(d.content_length(), Some(3));
        assert_eq!(d.feed(b"NEXT").unwrap(), (0, Event::End));
    }

    #[test]
    fn an_empty_content_length_means_no_body() {
        let bytes = request(&[(b"CONTENT_LENGTH", b"")], b"");
        let mut d = Decoder::new(std::vec![0; 256], Limits::DEFAULT);
        assert_eq!(d.feed(&bytes).unwrap(), (bytes.len(), Event::Params));
        assert_eq!(d.feed(b"").unwrap(), (0, Event::End));
    }

    #[test]
    fn refusals() {
        let mut d = Decoder::new(std::vec![0; 64], Limits::DEFAULT);
        let refuse = |d: &mut Decoder<Vec<u8>>, bytes: &[u8]| {
            d.reset();
            feed_all(d, bytes).unwrap_err()
        };
        assert_eq!(
            refuse(&mut d, &[5, 0, 0, 0]),
            Error::at(
                ErrorKind::UnsupportedModifier {
                    modifier1: 5,
                    modifier2: 0
                },
                0
            )
        );
        assert_eq!(
            refuse(&mut d, &[0, 65, 0, 0]),
            Error::at(ErrorKind::ParamsTooLarge, 1)
        );
        assert_eq!(
            refuse(&mut d, &request(&[(b"CONTENT_LENGTH", b"x")], b"")),
            Error::at(ErrorKind::InvalidContentLength, 23)
        );
        assert_eq!(
            refuse(&mut d, &[0, 3, 0, 0, 1, 0, b'A']),
            Error {
                kind: ErrorKind::TruncatedPair,
                place: Place::Params(0)
            }
        );
        let mut small = Decoder::new(
            std::vec![0; 64],
            Limits {
                max_body: 1,
                ..Limits::DEFAULT
            },
        );
        assert_eq!(
            refuse(&mut small, &request(&[(b"CONTENT_LENGTH", b"2")], b"ab")).kind,
            ErrorKind::BodyTooLarge
        );
        // Final until reset.
        let e = refuse(&mut d, &[1, 0, 0, 0]);
        assert_eq!(d.feed(&request(&[], b"")), Err(e));
    }
}
