//! Drive the gateway decoders (FastCGI, SCGI, uwsgi) over input pieces, record what they
//! yield as owned values, and build valid requests to feed them.
//!
//! Used by the `gateway_*` fuzz targets and, through a `#[path]` include, by
//! `tests/gateway_props.rs`, so both check the same invariants:
//!
//! * every call consumes at most its input, and `NeedMore` only once it consumed all of it;
//! * body slices are never empty;
//! * the same bytes cut anywhere give the same events (body bytes compared as one run between
//!   other events, since where a chunk ends depends on the cuts);
//! * a valid request decodes to exactly the params and body it was built from.

use wsgiref_core::gateway::{fastcgi, scgi, uwsgi, Error, Event, Limits};

/// Size of the params buffer every driver uses.
pub const PARAMS_BUF: usize = 4096;

/// One thing a decoder said, owned, with body bytes merged between other events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ev {
    /// The params, as (name, value) pairs.
    Params(Vec<(Vec<u8>, Vec<u8>)>),
    /// Body bytes received since the previous event.
    Body(Vec<u8>),
    /// The body ended (for FastCGI: the driver then ends the request, as an application
    /// answering at once would).
    End,
    /// FastCGI: the request was aborted (the driver then ends it).
    Abort,
    /// FastCGI: a record the decoder answered with.
    Reply(Vec<u8>),
    /// The decoder refused the input (always last).
    Error(Error),
}

fn push(events: &mut Vec<Ev>, ev: Ev) {
    if let (Some(Ev::Body(prev)), Ev::Body(more)) = (events.last_mut(), &ev) {
        prev.extend_from_slice(more);
        return;
    }
    events.push(ev);
}

fn pairs<'a>(params: impl Iterator<Item = (&'a [u8], &'a [u8])>) -> Ev {
    Ev::Params(params.map(|(n, v)| (n.to_vec(), v.to_vec())).collect())
}

/// What one `feed` call gave, protocol aside.
enum Fed {
    NeedMore,
    /// An event; `true` when the decoder is done with this connection.
    Event(Ev, bool),
}

/// Feed every piece to `feed`, calling it again with the rest of the piece until it needs
/// more. Stops at the first error, or once `feed` says the connection is done.
fn drive<'p>(
    pieces: impl IntoIterator<Item = &'p [u8]>,
    mut feed: impl FnMut(&[u8]) -> Result<(usize, Fed), Error>,
) -> Vec<Ev> {
    let mut events = Vec::new();
    for piece in pieces {
        let mut input = piece;
        loop {
            match feed(input) {
                Err(e) => {
                    events.push(Ev::Error(e));
                    return events;
                }
                Ok((used, fed)) => {
                    assert!(used <= input.len(), "used {used} of {} bytes", input.len());
                    input = &input[used..];
                    match fed {
                        Fed::NeedMore => {
                            assert!(input.is_empty(), "NeedMore with {} bytes left", input.len());
                            break;
                        }
                        Fed::Event(ev, done) => {
                            if let Ev::Body(b) = &ev {
                                assert!(!b.is_empty(), "an empty body slice");
                                assert!(used > 0, "a body slice that consumed nothing");
                            }
                            push(&mut events, ev);
                            if done {
                                return events;
                            }
                        }
                    }
                }
            }
        }
    }
    events
}

fn simple(event: Event<'_>, params: impl FnOnce() -> Ev) -> Fed {
    match event {
        Event::NeedMore => Fed::NeedMore,
        Event::Params => Fed::Event(params(), false),
        Event::Body(b) => Fed::Event(Ev::Body(b.to_vec()), false),
        Event::End => Fed::Event(Ev::End, true),
    }
}

/// Feed an SCGI decoder.
pub fn drive_scgi<'p>(pieces: impl IntoIterator<Item = &'p [u8]>, limits: Limits) -> Vec<Ev> {
    let mut d = scgi::Decoder::new([0u8; PARAMS_BUF], limits);
    drive(pieces, |input| {
        let (used, event) = d.feed(input)?;
        Ok((used, simple(event, || pairs(d.params().unwrap().iter()))))
    })
}

/// Feed a uwsgi decoder.
pub fn drive_uwsgi<'p>(pieces: impl IntoIterator<Item = &'p [u8]>, limits: Limits) -> Vec<Ev> {
    let mut d = uwsgi::Decoder::new([0u8; PARAMS_BUF], limits);
    drive(pieces, |input| {
        let (used, event) = d.feed(input)?;
        Ok((used, simple(event, || pairs(d.params().unwrap().iter()))))
    })
}

/// Feed a FastCGI decoder; each request is ended as soon as its body ends or it is aborted,
/// and the connection goes on (as with keep-conn).
pub fn drive_fastcgi<'p>(pieces: impl IntoIterator<Item = &'p [u8]>, limits: Limits) -> Vec<Ev> {
    let mut d = fastcgi::Decoder::new([0u8; PARAMS_BUF], limits, fastcgi::Config::DEFAULT);
    drive(pieces, |input| {
        let (used, event) = d.feed(input)?;
        let ev = match event {
            fastcgi::Event::NeedMore => return Ok((used, Fed::NeedMore)),
            fastcgi::Event::Params => pairs(d.params().unwrap().iter()),
            fastcgi::Event::Body(b) => Ev::Body(b.to_vec()),
            fastcgi::Event::End | fastcgi::Event::Abort => {
                let id = d.request_id();
                let end = d.end_request(0).expect("a request is active");
                assert_eq!(
                    end.record,
                    fastcgi::end_request(id.unwrap(), 0, fastcgi::ProtocolStatus::RequestComplete)
                );
                if matches!(event, fastcgi::Event::End) {
                    Ev::End
                } else {
                    Ev::Abort
                }
            }
            fastcgi::Event::Reply(r) => Ev::Reply(r.as_bytes().to_vec()),
        };
        Ok((used, Fed::Event(ev, false)))
    })
}

/// A request to encode: params and a body.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// The pairs (SCGI adds `CONTENT_LENGTH` first and `SCGI`; uwsgi adds `CONTENT_LENGTH`).
    pub params: Vec<(Vec<u8>, Vec<u8>)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// The params made valid for all three protocols and within the default limits and
    /// [`PARAMS_BUF`]: at most 6 pairs; names non-empty, without NUL (SCGI's separator), not
    /// one the encoders add, at most 65 bytes; values without NUL, at most 512 bytes.
    pub fn sanitized(mut self) -> Self {
        self.params.truncate(6);
        for (n, v) in &mut self.params {
            n.retain(|&b| b != 0);
            n.truncate(64);
            n.insert(0, b'X');
            v.retain(|&b| b != 0);
            v.truncate(512);
        }
        self
    }

    /// What SCGI and uwsgi decoders must yield for [`scgi`](Self::scgi) and
    /// [`uwsgi`](Self::uwsgi): the added variables, then the pairs, then the body, the end.
    pub fn expected(&self, scgi: bool) -> Vec<Ev> {
        let mut params = vec![(
            b"CONTENT_LENGTH".to_vec(),
            self.body.len().to_string().into_bytes(),
        )];
        if scgi {
            params.push((b"SCGI".to_vec(), b"1".to_vec()));
        }
        params.extend(self.params.iter().cloned());
        let mut out = vec![Ev::Params(params)];
        if !self.body.is_empty() {
            out.push(Ev::Body(self.body.clone()));
        }
        out.push(Ev::End);
        out
    }

    /// The request as SCGI.
    pub fn scgi(&self) -> Vec<u8> {
        let mut headers = Vec::new();
        let cl = self.body.len().to_string().into_bytes();
        let fixed = [(&b"CONTENT_LENGTH"[..], &cl[..]), (b"SCGI", b"1")];
        for (n, v) in fixed
            .into_iter()
            .chain(self.params.iter().map(|(n, v)| (&n[..], &v[..])))
        {
            headers.extend_from_slice(n);
            headers.push(0);
            headers.extend_from_slice(v);
            headers.push(0);
        }
        let mut out = format!("{}:", headers.len()).into_bytes();
        out.extend(headers);
        out.push(b',');
        out.extend_from_slice(&self.body);
        out
    }

    /// The request as uwsgi (modifier1 0, modifier2 0). Panics if the vars exceed 65,535
    /// bytes (sanitized requests of a few pairs never do).
    pub fn uwsgi(&self) -> Vec<u8> {
        let mut vars = Vec::new();
        let cl = self.body.len().to_string().into_bytes();
        let fixed = [(&b"CONTENT_LENGTH"[..], &cl[..])];
        for (n, v) in fixed
            .into_iter()
            .chain(self.params.iter().map(|(n, v)| (&n[..], &v[..])))
        {
            vars.extend_from_slice(&u16::try_from(n.len()).unwrap().to_le_bytes());
            vars.extend_from_slice(n);
            vars.extend_from_slice(&u16::try_from(v.len()).unwrap().to_le_bytes());
            vars.extend_from_slice(v);
        }
        let mut out = vec![0];
        out.extend_from_slice(&u16::try_from(vars.len()).unwrap().to_le_bytes());
        out.push(0);
        out.extend(vars);
        out.extend_from_slice(&self.body);
        out
    }

    /// The request as FastCGI records for request `id`: the params stream cut into records
    /// of at most `record` bytes (so pairs straddle records), the body likewise, each record
    /// padded by `padding` bytes.
    pub fn fastcgi(&self, id: u16, keep_conn: bool, record: usize, padding: u8) -> Vec<u8> {
        let record = record.clamp(1, fastcgi::MAX_CONTENT);
        let mut out = Vec::new();
        let mut put = |t: u8, content: &[u8], padding: u8| {
            let header = fastcgi::RecordHeader {
                record_type: t,
                request_id: id,
                content_length: u16::try_from(content.len()).unwrap(),
                padding_length: padding,
            };
            out.extend_from_slice(&header.encode());
            out.extend_from_slice(content);
            out.extend(std::iter::repeat_n(0x5A, usize::from(padding)));
        };
        put(1, &[0, 1, u8::from(keep_conn), 0, 0, 0, 0, 0], 0);
        let mut stream = Vec::new();
        for (n, v) in &self.params {
            for len in [n.len(), v.len()] {
                if len < 128 {
                    stream.push(len as u8);
                } else {
                    stream.extend_from_slice(&(len as u32 | 0x8000_0000).to_be_bytes());
                }
            }
            stream.extend_from_slice(n);
            stream.extend_from_slice(v);
        }
        for chunk in stream.chunks(record) {
            put(4, chunk, padding);
        }
        put(4, b"", 0);
        for chunk in self.body.chunks(record) {
            put(5, chunk, padding);
        }
        put(5, b"", padding);
        out
    }

    /// What a FastCGI decoder must yield for [`fastcgi`](Self::fastcgi).
    pub fn expected_fastcgi(&self) -> Vec<Ev> {
        let mut out = vec![Ev::Params(self.params.clone())];
        if !self.body.is_empty() {
            out.push(Ev::Body(self.body.clone()));
        }
        out.push(Ev::End);
        out
    }
}

/// Cut `data` at `cuts` (taken modulo its length + 1, sorted).
pub fn pieces<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut at = 0;
    for cut in cuts.into_iter().chain([data.len()]) {
        out.push(&data[at..cut]);
        at = cut;
    }
    out
}

/// Which decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// [`drive_fastcgi`].
    FastCgi,
    /// [`drive_scgi`].
    Scgi,
    /// [`drive_uwsgi`].
    Uwsgi,
}

impl Protocol {
    /// Feed `pieces` to this protocol's decoder.
    pub fn drive<'p>(self, pieces: impl IntoIterator<Item = &'p [u8]>, limits: Limits) -> Vec<Ev> {
        match self {
            Protocol::FastCgi => drive_fastcgi(pieces, limits),
            Protocol::Scgi => drive_scgi(pieces, limits),
            Protocol::Uwsgi => drive_uwsgi(pieces, limits),
        }
    }

    /// `request` encoded for this protocol (FastCGI: request id 1, keep-conn, records of at
    /// most `record` bytes with `padding`).
    pub fn encode(self, request: &Request, record: usize, padding: u8) -> Vec<u8> {
        match self {
            Protocol::FastCgi => request.fastcgi(1, true, record, padding),
            Protocol::Scgi => request.scgi(),
            Protocol::Uwsgi => request.uwsgi(),
        }
    }

    /// What this protocol's decoder yields for [`encode`](Self::encode)d `request`.
    pub fn expected(self, request: &Request) -> Vec<Ev> {
        match self {
            Protocol::FastCgi => request.expected_fastcgi(),
            Protocol::Scgi => request.expected(true),
            Protocol::Uwsgi => request.expected(false),
        }
    }

    /// Whole, one byte at a time and cut at `cuts`: the same events.
    pub fn assert_split_invariant(self, data: &[u8], cuts: &[usize], limits: Limits) {
        let whole = self.drive([data], limits);
        let split = self.drive(pieces(data, cuts), limits);
        assert_eq!(whole, split, "{self:?}: cut at {cuts:?}");
        let bytes = self.drive(data.chunks(1), limits);
        assert_eq!(whole, bytes, "{self:?}: one byte at a time");
    }
}

/// Whole, one byte at a time and cut at `cuts`: the same events, for all three decoders.
pub fn assert_split_invariant(data: &[u8], cuts: &[usize], limits: Limits) {
    for protocol in [Protocol::FastCgi, Protocol::Scgi, Protocol::Uwsgi] {
        protocol.assert_split_invariant(data, cuts, limits);
    }
}
