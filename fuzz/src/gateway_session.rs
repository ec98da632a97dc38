//! Drive a gateway `Session` (FastCGI, SCGI, uwsgi) that runs an application, over input cut
//! into pieces, and record what it wrote and reported.
//!
//! Used by the `gateway_session` fuzz target and, through a `#[path]` include, by
//! `tests/gateway_sessions.rs`, so both check the same invariants:
//!
//! * no panic, and the session ends (closed, or waiting for input that will not come) within
//!   a bounded number of steps;
//! * split invariance: however the connection's bytes are cut, and whichever of them arrive
//!   through `feed` and which through the body `source` the application reads from, the
//!   bytes written and the steps reported (`NeedInput` aside) are the same.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use wsgiref_core::app::{app_fn, Application, Chunks, StartResponse};
use wsgiref_core::environ::EnvironBuf;
use wsgiref_core::gateway::{GatewayConfig, Limits, Protocol, Session, Step};
use wsgiref_core::handler::MemoryBuf;
use wsgiref_core::stream::InputError;
use wsgiref_core::{AppError, Environ};

/// What a run produced: every byte written, and the steps (`NeedInput` left out, since how
/// often the session waits depends on the cuts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transcript {
    /// The sink's bytes.
    pub out: Vec<u8>,
    /// The steps, in order, `NeedInput` left out.
    pub steps: Vec<Step>,
}

/// The pieces not consumed yet, shared by the feeder and the body source.
struct Queue<'p> {
    pieces: RefCell<VecDeque<&'p [u8]>>,
}

impl<'p> Queue<'p> {
    fn next(&self) -> Option<&'p [u8]> {
        self.pieces.borrow_mut().pop_front()
    }

    fn put_back(&self, piece: &'p [u8]) {
        self.pieces.borrow_mut().push_front(piece);
    }
}

/// The body source: the next piece (or as much of it as fits), as a socket read would give.
struct Source<'q, 'p>(&'q Queue<'p>);

impl embedded_io::ErrorType for Source<'_, '_> {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for Source<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        loop {
            let Some(piece) = self.0.next() else {
                return Ok(0);
            };
            if piece.is_empty() {
                continue;
            }
            let n = piece.len().min(buf.len());
            buf[..n].copy_from_slice(&piece[..n]);
            if n < piece.len() {
                self.0.put_back(&piece[n..]);
            }
            return Ok(n);
        }
    }
}

/// A sink that keeps everything.
struct Sink(Vec<u8>);

impl embedded_io::ErrorType for Sink {
    type Error = core::convert::Infallible;
}

impl embedded_io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// The application every run uses: reads the body `read_size` bytes at a time (stopping at
/// an input error), then answers with what it saw: the method, a few variables, the body's
/// length and hash. `PATH_INFO=/fail` fails before answering; `/stream` answers in chunks
/// of unknown total length.
pub fn app(read_size: usize) -> impl Application {
    let read_size = read_size.clamp(1, 4096);
    app_fn(move |env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        let mut buf = vec![0u8; read_size];
        let (mut len, mut hash, mut error) = (0u64, 0xcbf2_9ce4_8422_2325u64, "none");
        loop {
            match env.input().read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    len += n as u64;
                    for &b in &buf[..n] {
                        hash = (hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
                    }
                }
                Err(e) => {
                    error = match e {
                        InputError::Disconnected => "disconnected",
                        InputError::Malformed(_) => "malformed",
                        _ => "other",
                    };
                    break;
                }
            }
        }
        let path = env.get("PATH_INFO").unwrap_or(b"").to_vec();
        if path == b"/fail" {
            return Err(AppError::msg("the application failed"));
        }
        let mut text = String::new();
        for key in [
            "REQUEST_METHOD",
            "QUERY_STRING",
            "HTTP_HOST",
            "CONTENT_TYPE",
        ] {
            let value = env
                .get(key)
                .map(|v| String::from_utf8_lossy(v).into_owned());
            text += &format!("{key}={value:?}\n");
        }
        text += &format!(
            "scheme={} body={len} hash={hash:x} input_error={error} vars={}\n",
            env.url_scheme().map_or("-", |s| s.as_str()),
            env.len()
        );
        sr.start("200 OK", &[("Content-Type", "text/plain")])?;
        let body: Vec<Vec<u8>> = if path == b"/stream" {
            text.as_bytes().chunks(7).map(<[u8]>::to_vec).collect()
        } else {
            vec![text.into_bytes()]
        };
        Ok(Chunks::new(body.into_iter()))
    })
}

/// Run a session of `protocol` over `pieces`: each piece is fed in turn (the rest of it
/// later when the receive buffer is full), and whatever the application reads beyond what
/// was fed comes from the pieces not fed yet. After the last piece, the end of input.
pub fn run(protocol: Protocol, pieces: &[&[u8]], read_size: usize, limits: Limits) -> Transcript {
    let queue = Queue {
        pieces: RefCell::new(pieces.iter().copied().collect()),
    };
    let (mut rx, mut params) = (vec![0u8; 512], vec![0u8; 4096]);
    let mut memory: MemoryBuf<4096, 128, 1024> = MemoryBuf::new();
    let mut config = GatewayConfig::new(protocol);
    config.limits = limits;
    let mut session = Session::new(protocol, &mut rx, &mut params, memory.memory(), config);
    let mut base_buf = EnvironBuf::<256, 8>::new();
    let mut base = base_buf.environ();
    base.set("SERVER_SOFTWARE", "fuzz/1").unwrap();
    let app = app(read_size);
    let mut sink = Sink(Vec::new());
    let mut steps = Vec::new();
    let eof_sent = Cell::new(false);
    // Every round feeds a piece (empty ones too) or consumes input or ends the session;
    // this bounds a run that did none of these.
    let mut budget = 64 + pieces.len() + pieces.iter().map(|p| p.len()).sum::<usize>() * 2;
    while !session.is_closed() {
        budget = budget.checked_sub(1).expect("the session made no progress");
        match queue.next() {
            Some(piece) => {
                let n = session.feed(piece);
                if n < piece.len() {
                    queue.put_back(&piece[n..]);
                }
            }
            None if eof_sent.replace(true) => break,
            None => session.receive_eof(),
        }
        loop {
            let step = session.process(&app, &base, None, Source(&queue), &mut sink);
            match step {
                Step::NeedInput => break,
                Step::Answered(_) => steps.push(step),
                Step::Failed(_) | Step::Close => {
                    steps.push(step);
                    break;
                }
            }
        }
    }
    Transcript { out: sink.0, steps }
}

/// Whole, one byte at a time and cut at `cuts` (taken modulo the length + 1): the same
/// transcript. Returns the whole run's.
pub fn assert_split_invariant(
    protocol: Protocol,
    data: &[u8],
    cuts: &[usize],
    read_size: usize,
    limits: Limits,
) -> Transcript {
    let whole = run(protocol, &[data], read_size, limits);
    let split = run(
        protocol,
        &crate::gateway::pieces(data, cuts),
        read_size,
        limits,
    );
    assert_eq!(whole, split, "{protocol:?}: cut at {cuts:?}");
    let bytes: Vec<&[u8]> = data.chunks(1).collect();
    let one = run(protocol, &bytes, read_size, limits);
    assert_eq!(whole, one, "{protocol:?}: one byte at a time");
    whole
}
