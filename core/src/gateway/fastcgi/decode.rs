//! The FastCGI request [`Decoder`]: records in, requests (params, body, end) and the records
//! the protocol obliges the application to answer out.

use super::{
    end_request, padding_for, Config, ProtocolStatus, RecordHeader, RecordType, FLAG_KEEP_CONN,
    ROLE_RESPONDER,
};
use crate::gateway::params::{validate, Collector, Format};
use crate::gateway::{Error, ErrorKind, Limits, Params};

/// Longest `FCGI_GET_VALUES` query accepted. The three variables it may ask for take 48
/// bytes; a longer query is refused with [`ErrorKind::GetValuesTooLarge`] rather than
/// buffered.
pub const MAX_GET_VALUES: usize = 256;

/// The names `FCGI_GET_VALUES` may ask about, in the order the answer lists them.
const VALUE_NAMES: [&[u8]; 3] = [b"FCGI_MAX_CONNS", b"FCGI_MAX_REQS", b"FCGI_MPXS_CONNS"];

/// Room for the largest reply: an 8-byte header and the three answers with 10-digit values
/// (2 + 14 + 10, 2 + 13 + 10, 2 + 15 + 1 = 69 bytes), padded to 72.
const REPLY_CAPACITY: usize = 8 + 72;

/// What [`Decoder::feed`] found at the front of its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'i> {
    /// The input ran out (possibly after consuming some of it): feed more.
    NeedMore,
    /// The active request's params are complete: read them with [`Decoder::params`].
    Params,
    /// Body bytes of the active request (`FCGI_STDIN` content): a slice of the input.
    Body(&'i [u8]),
    /// The active request's body is complete (its empty `FCGI_STDIN`). Run the application,
    /// write its output with [`stream`](super::stream), then call [`Decoder::end_request`].
    End,
    /// The front end aborted the active request (`FCGI_ABORT_REQUEST`): stop the application
    /// and call [`Decoder::end_request`].
    Abort,
    /// A record the protocol says to answer: write [`Reply::as_bytes`] to the connection.
    Reply(Reply),
}

/// A record the decoder answers on its own: `FCGI_GET_VALUES_RESULT`, `FCGI_UNKNOWN_TYPE`, or
/// `FCGI_END_REQUEST` refusing a request (another role, or a second request at once).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    bytes: [u8; REPLY_CAPACITY],
    len: u8,
}

impl Reply {
    /// The record's bytes, header included.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    fn from(record: &[u8]) -> Self {
        let mut bytes = [0; REPLY_CAPACITY];
        let len = record.len().min(REPLY_CAPACITY);
        bytes[..len].copy_from_slice(&record[..len]);
        Reply {
            bytes,
            len: len as u8,
        }
    }
}

impl core::fmt::Debug for Reply {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("Reply").field(&self.as_bytes()).finish()
    }
}

/// What [`Decoder::end_request`] gives back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EndRequest {
    /// The `FCGI_END_REQUEST` record to write (after an empty `FCGI_STDOUT`).
    pub record: [u8; 16],
    /// Whether the front end asked to keep the connection (`FCGI_KEEP_CONN`); if not, close
    /// it once the record is written.
    pub keep_conn: bool,
}

/// Where the active request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Request {
    /// None active.
    Idle,
    /// Receiving params.
    Params,
    /// Receiving the body.
    Stdin,
    /// The body is complete; the application is answering.
    Answering,
}

/// What to do with a record's content, and once it is consumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Begin {
        got: u8,
        body: [u8; 8],
    },
    Abort,
    Params,
    ParamsEnd,
    Stdin,
    StdinEnd,
    GetValues,
    Unknown(u8),
    /// A record for a request that is not active: ignored, as the specification says.
    Skip,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Header {
        got: u8,
        bytes: [u8; 8],
    },
    Content {
        id: u16,
        remaining: u16,
        padding: u8,
        kind: Kind,
    },
    Padding {
        id: u16,
        remaining: u8,
        kind: Kind,
    },
    Failed(Error),
}

const START: State = State::Header {
    got: 0,
    bytes: [0; 8],
};

/// Decodes the records of one FastCGI connection fed in any pieces, one request at a time
/// (see the [module docs](super) on multiplexing).
///
/// The params are collected in `buf` (the caller's: an array, a slice, a `Vec`), bounded by
/// it and [`Limits::max_params_bytes`]; the body comes back as slices of the input, record by
/// record, and is never held.
///
/// ```
/// use wsgiref_core::gateway::fastcgi::{self, Decoder, Event, Output, RecordHeader};
///
/// // What a front end sends: BEGIN_REQUEST (Responder, keep-conn), the params
/// // REQUEST_METHOD=POST, an empty PARAMS, the body "hi", an empty STDIN.
/// let record = |t: u8, content: &[u8]| {
///     let header = RecordHeader { record_type: t, request_id: 1, content_length: content.len() as u16, padding_length: 0 };
///     [&header.encode()[..], content].concat()
/// };
/// let mut wire = record(1, &[0, 1, 1, 0, 0, 0, 0, 0]);
/// wire.extend(record(4, b"\x0e\x04REQUEST_METHODPOST"));
/// wire.extend(record(4, b""));
/// wire.extend(record(5, b"hi"));
/// wire.extend(record(5, b""));
///
/// let mut buf = [0u8; 1024];
/// let mut decoder = Decoder::new(&mut buf[..], Default::default(), Default::default());
/// let mut input = &wire[..];
/// let mut body = Vec::new();
/// loop {
///     let (used, event) = decoder.feed(input)?;
///     input = &input[used..];
///     match event {
///         Event::Params => assert_eq!(decoder.params().unwrap().get(b"REQUEST_METHOD"), Some(&b"POST"[..])),
///         Event::Body(data) => body.extend_from_slice(data),
///         Event::End => break,
///         other => panic!("unexpected {other:?}"),
///     }
/// }
/// assert_eq!(body, b"hi");
///
/// // The answer: the response on STDOUT, an empty STDOUT, END_REQUEST.
/// let mut out = Vec::new();
/// for frame in fastcgi::stream(Output::Stdout, 1, b"Status: 204 No Content\r\n\r\n") {
///     out.extend_from_slice(&frame.header);
///     out.extend_from_slice(frame.content);
///     out.extend_from_slice(frame.padding);
/// }
/// out.extend_from_slice(&fastcgi::stream_end(Output::Stdout, 1));
/// let end = decoder.end_request(0).unwrap();
/// out.extend_from_slice(&end.record);
/// assert!(end.keep_conn); // so the connection stays open for the next BEGIN_REQUEST
/// # Ok::<(), wsgiref_core::gateway::Error>(())
/// ```
#[derive(Debug)]
pub struct Decoder<B> {
    params: Collector<B>,
    limits: Limits,
    config: Config,
    state: State,
    request: Request,
    /// The active request's id (meaningful unless `request` is `Idle`).
    id: u16,
    keep_conn: bool,
    /// Pairs in the active request's params, once complete and valid.
    count: Option<usize>,
    /// Body bytes of the active request announced so far (by STDIN headers), against
    /// `max_body`.
    body: u64,
    get_values: [u8; MAX_GET_VALUES],
    get_values_len: usize,
    /// Bytes consumed so far, for error places.
    offset: u64,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Decoder<B> {
    /// A decoder collecting params in `buf`, bounded by `limits`, answering
    /// `FCGI_GET_VALUES` from `config`.
    pub fn new(buf: B, limits: Limits, config: Config) -> Self {
        Decoder {
            params: Collector::new(buf, &limits),
            limits,
            config,
            state: START,
            request: Request::Idle,
            id: 0,
            keep_conn: false,
            count: None,
            body: 0,
            get_values: [0; MAX_GET_VALUES],
            get_values_len: 0,
            offset: 0,
        }
    }

    /// Start over for a new connection, keeping the buffer, limits and config.
    pub fn reset(&mut self) {
        self.params.clear();
        self.state = START;
        self.request = Request::Idle;
        self.id = 0;
        self.keep_conn = false;
        self.count = None;
        self.body = 0;
        self.get_values_len = 0;
        self.offset = 0;
    }

    /// The active request's params, once [`Event::Params`] was returned for it.
    pub fn params(&self) -> Option<Params<'_>> {
        self.count
            .map(|count| Params::new(self.params.bytes(), Format::FastCgi, count))
    }

    /// The active request's id, if one is active (from its `FCGI_BEGIN_REQUEST` until
    /// [`end_request`](Self::end_request)).
    pub fn request_id(&self) -> Option<u16> {
        (self.request != Request::Idle).then_some(self.id)
    }

    /// No request is active and no record is partly read: the connection may end here
    /// without cutting anything short (the records of an answered request's unread body,
    /// skipped, and management records leave it so).
    pub(crate) fn between_requests(&self) -> bool {
        self.request == Request::Idle && matches!(self.state, State::Header { got: 0, .. })
    }

    /// Whether the active request asked to keep the connection (`FCGI_KEEP_CONN`).
    pub fn keep_conn(&self) -> bool {
        self.request != Request::Idle && self.keep_conn
    }

    /// The active request is over (answered, or aborted): its `FCGI_END_REQUEST` record with
    /// `app_status` and `FCGI_REQUEST_COMPLETE`, and whether to keep the connection. The
    /// decoder is then ready for the next request; records still arriving for this one
    /// (the rest of a body the application did not read) are skipped. `None` when no request
    /// is active.
    pub fn end_request(&mut self, app_status: u32) -> Option<EndRequest> {
        let id = self.request_id()?;
        let keep_conn = self.keep_conn;
        self.request = Request::Idle;
        self.count = None;
        self.params.clear();
        Some(EndRequest {
            record: end_request(id, app_status, ProtocolStatus::RequestComplete),
            keep_conn,
        })
    }

    /// Consume bytes from the front of `input` until something happens: returns how many
    /// bytes were used and what they held. Call again with the rest until
    /// [`Event::NeedMore`], then with the next bytes received.
    ///
    /// An `Err` is final: log it and close the connection. Errors about a record are placed
    /// at the first byte of its header (size limits are judged there, from the lengths it
    /// announces, so where the input was cut never changes the answer); a malformed params
    /// block, inside the block.
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
                State::Header { got, mut bytes } => {
                    let Some(&b) = input.get(*used) else {
                        return Ok(Event::NeedMore);
                    };
                    bytes[usize::from(got)] = b;
                    *used += 1;
                    if got < 7 {
                        self.state = State::Header {
                            got: got + 1,
                            bytes,
                        };
                        continue;
                    }
                    // Errors in a header are placed at its first byte, 8 back (possibly in an
                    // earlier feed, which `offset` counts).
                    let start = (offset + *used as u64) - 8;
                    let header = RecordHeader::parse(&bytes).map_err(|k| Error::at(k, start))?;
                    let kind = self.classify(&header).map_err(|k| Error::at(k, start))?;
                    self.state = State::Content {
                        id: header.request_id,
                        remaining: header.content_length,
                        padding: header.padding_length,
                        kind,
                    };
                }
                State::Content {
                    id,
                    remaining,
                    padding,
                    kind,
                } => {
                    if remaining == 0 {
                        self.state = State::Padding {
                            id,
                            remaining: padding,
                            kind,
                        };
                        continue;
                    }
                    let rest = &input[*used..];
                    if rest.is_empty() {
                        return Ok(Event::NeedMore);
                    }
                    let take = rest.len().min(usize::from(remaining));
                    let content = &rest[..take];
                    let mut kind = kind;
                    match &mut kind {
                        Kind::Begin { got, body } => {
                            // `classify` made sure the content is exactly 8 bytes.
                            let start = usize::from(*got);
                            if let Some(dst) = body.get_mut(start..start + take) {
                                dst.copy_from_slice(content);
                            }
                            *got += take as u8;
                        }
                        // Cannot fail: the header was checked against the room.
                        Kind::Params if !self.params.push(content) => {
                            return Err(fail(ErrorKind::ParamsTooLarge, *used));
                        }
                        Kind::GetValues => {
                            let end = self.get_values_len + take;
                            if let Some(dst) = self.get_values.get_mut(self.get_values_len..end) {
                                dst.copy_from_slice(content);
                                self.get_values_len = end;
                            }
                        }
                        _ => {}
                    }
                    *used += take;
                    self.state = State::Content {
                        id,
                        remaining: remaining - take as u16,
                        padding,
                        kind,
                    };
                    if kind == Kind::Stdin {
                        return Ok(Event::Body(content));
                    }
                }
                State::Padding {
                    id,
                    remaining,
                    kind,
                } => {
                    if remaining > 0 {
                        let take = (input.len() - *used).min(usize::from(remaining));
                        if take == 0 {
                            return Ok(Event::NeedMore);
                        }
                        *used += take;
                        self.state = State::Padding {
                            id,
                            remaining: remaining - take as u8,
                            kind,
                        };
                        continue;
                    }
                    self.state = START;
                    // Errors are placed at the end of the record, where it was judged.
                    let at = offset + *used as u64;
                    if let Some(event) = self.complete(id, kind, at)? {
                        return Ok(event);
                    }
                }
            }
        }
    }

    /// Check a record header against the active request; what to do with its content.
    fn classify(&mut self, header: &RecordHeader) -> Result<Kind, ErrorKind> {
        let t = header.record_type;
        let id = header.request_id;
        let len = header.content_length;
        let active = self.request != Request::Idle && id == self.id;
        let Some(record_type) = RecordType::from_byte(t) else {
            return Ok(Kind::Unknown(t));
        };
        // Management records have id 0; the rest must not.
        let management = record_type == RecordType::GetValues;
        if management != (id == 0) {
            return Err(ErrorKind::OutOfOrder(t));
        }
        Ok(match record_type {
            RecordType::BeginRequest if len != 8 => return Err(ErrorKind::BadBeginRequest),
            RecordType::BeginRequest => Kind::Begin {
                got: 0,
                body: [0; 8],
            },
            RecordType::AbortRequest if active => Kind::Abort,
            RecordType::Params if active && self.request != Request::Params => {
                return Err(ErrorKind::OutOfOrder(t))
            }
            RecordType::Params if active && len == 0 => Kind::ParamsEnd,
            // Judged by the header, so that where the input is cut cannot change the answer.
            RecordType::Params if active && usize::from(len) > self.params.room() => {
                return Err(ErrorKind::ParamsTooLarge)
            }
            RecordType::Params if active => Kind::Params,
            RecordType::Stdin if active && self.request != Request::Stdin => {
                return Err(ErrorKind::OutOfOrder(t))
            }
            RecordType::Stdin if active && len == 0 => Kind::StdinEnd,
            RecordType::Stdin if active => {
                self.body += u64::from(len);
                if self.body > self.limits.max_body {
                    return Err(ErrorKind::BodyTooLarge);
                }
                Kind::Stdin
            }
            RecordType::AbortRequest | RecordType::Params | RecordType::Stdin => Kind::Skip,
            RecordType::GetValues if usize::from(len) > MAX_GET_VALUES => {
                return Err(ErrorKind::GetValuesTooLarge)
            }
            RecordType::GetValues => {
                self.get_values_len = 0;
                Kind::GetValues
            }
            RecordType::EndRequest
            | RecordType::Stdout
            | RecordType::Stderr
            | RecordType::Data
            | RecordType::GetValuesResult
            | RecordType::UnknownType => return Err(ErrorKind::UnexpectedRecord(t)),
        })
    }

    /// A record was consumed whole: act on it.
    /// `at` is the stream offset errors other than in the params are placed at.
    fn complete(&mut self, id: u16, kind: Kind, at: u64) -> Result<Option<Event<'static>>, Error> {
        Ok(match kind {
            Kind::Begin { body, .. } => self.begin(id, body).map_err(|k| Error::at(k, at))?,
            Kind::Abort => Some(Event::Abort),
            Kind::ParamsEnd => {
                // Placed inside the params block, where the bad pair is.
                let count = validate(Format::FastCgi, self.params.bytes(), &self.limits)?;
                self.count = Some(count);
                self.request = Request::Stdin;
                Some(Event::Params)
            }
            Kind::StdinEnd => {
                self.request = Request::Answering;
                Some(Event::End)
            }
            Kind::GetValues => Some(Event::Reply(self.get_values_result())),
            Kind::Unknown(t) => {
                let header = RecordHeader {
                    record_type: RecordType::UnknownType as u8,
                    request_id: 0,
                    content_length: 8,
                    padding_length: 0,
                }
                .encode();
                let mut record = [0u8; 16];
                record[..8].copy_from_slice(&header);
                record[8] = t;
                Some(Event::Reply(Reply::from(&record)))
            }
            Kind::Params | Kind::Stdin | Kind::Skip => None,
        })
    }

    fn begin(&mut self, id: u16, body: [u8; 8]) -> Result<Option<Event<'static>>, ErrorKind> {
        let refuse = |status| Ok(Some(Event::Reply(Reply::from(&end_request(id, 0, status)))));
        if self.request != Request::Idle {
            if id == self.id {
                return Err(ErrorKind::DuplicateRequest);
            }
            return refuse(ProtocolStatus::CantMpxConn);
        }
        if u16::from_be_bytes([body[0], body[1]]) != ROLE_RESPONDER {
            return refuse(ProtocolStatus::UnknownRole);
        }
        self.request = Request::Params;
        self.id = id;
        self.keep_conn = body[2] & FLAG_KEEP_CONN != 0;
        self.count = None;
        self.body = 0;
        self.params.clear();
        Ok(None)
    }

    /// The answer to the `FCGI_GET_VALUES` query just read: each variable asked for that we
    /// know, once, in a fixed order; unknown names are left out, as the specification says.
    fn get_values_result(&self) -> Reply {
        let query = &self.get_values[..self.get_values_len];
        // A malformed query is answered with what could be read of it.
        let params = Params::new(query, Format::FastCgi, usize::MAX);
        let mut asked = [false; 3];
        for (name, _) in params.iter() {
            if let Some(i) = VALUE_NAMES.iter().position(|n| *n == name) {
                asked[i] = true;
            }
        }
        let mut record = [0u8; REPLY_CAPACITY];
        let mut len = 8;
        let mut digits = [0u8; 10];
        for (i, name) in VALUE_NAMES.iter().enumerate() {
            if !asked[i] {
                continue;
            }
            let value = match i {
                0 => decimal(self.config.max_conns, &mut digits),
                1 => decimal(self.config.max_reqs, &mut digits),
                _ => b"0",
            };
            // Names and values are under 128 bytes: 1-byte lengths. Fits REPLY_CAPACITY.
            let pair = [&[name.len() as u8, value.len() as u8][..], name, value];
            for part in pair {
                record[len..len + part.len()].copy_from_slice(part);
                len += part.len();
            }
        }
        let content = len - 8;
        let padding = padding_for(content);
        let header = RecordHeader {
            record_type: RecordType::GetValuesResult as u8,
            request_id: 0,
            content_length: content as u16,
            padding_length: padding,
        };
        record[..8].copy_from_slice(&header.encode());
        Reply::from(&record[..len + usize::from(padding)])
    }
}

/// `n` in decimal, in `out`.
fn decimal(mut n: u32, out: &mut [u8; 10]) -> &[u8] {
    let mut i = out.len();
    loop {
        i -= 1;
        out[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &out[i..];
        }
    }
}
