//! Drive a [`Session`] over input pieces and check what every run must satisfy.
//!
//! Used by the fuzz targets and, through a `#[path]` include, by `tests/session_props.rs`.

use std::cell::RefCell;

use wsgiref_core::app::{app_fn, Once, StartResponse};
use wsgiref_core::environ::{Environ, EnvironBuf};
use wsgiref_core::handler::{MemoryBuf, RequestLine, ServerConfig, Session, Step};
use wsgiref_core::proto::HttpDate;
use wsgiref_core::{AppError, Application};

/// The interim response a session sends for `Expect: 100-continue`.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Most body bytes the echo application reads (and sends back).
pub const ECHO_MAX: usize = 1024;

/// Largest single response the echo application can cause (head, echoed line and body, or the
/// error page), with room to spare.
pub const RESPONSE_MAX: usize = 4096;

/// Handler memory large enough for generated heads (up to ~24 extra header fields).
pub type FuzzMemory = MemoryBuf<8192, 160, 2048>;

/// An application that exercises the handler: it reads `wsgi.input` (up to [`ECHO_MAX`]
/// bytes), then answers by its path: `/error` fails before starting the response, `/write`
/// uses the legacy `write()`, anything else echoes method, path and body with an exact length.
pub fn echo_app() -> impl Application {
    app_fn(|env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        let mut body = Vec::new();
        let mut buf = [0u8; 97];
        while body.len() < ECHO_MAX {
            let want = buf.len().min(ECHO_MAX - body.len());
            let n = env
                .input()
                .read(&mut buf[..want])
                .map_err(|_| AppError::msg("wsgi.input failed"))?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&buf[..n]);
        }
        let path = env.get("PATH_INFO").unwrap_or(b"").to_vec();
        let mut text = env.get("REQUEST_METHOD").unwrap_or(b"").to_vec();
        text.push(b' ');
        text.extend_from_slice(&path[..path.len().min(64)]);
        text.push(b'\n');
        text.extend_from_slice(&body);
        match path.as_slice() {
            b"/error" => Err(AppError::msg("the application failed on purpose")),
            b"/write" => {
                sr.start("200 OK", &[("Content-Type", "text/plain")])?
                    .write(&text)?;
                Ok(Once::new(Vec::new()))
            }
            _ => {
                sr.start("200 OK", &[("Content-Type", "text/plain")])?;
                Ok(Once::new(text))
            }
        }
    })
}

/// One call of [`Session::process`]: what it returned and what it wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The step returned.
    pub step: Step,
    /// The bytes written to the sink during that call.
    pub output: Vec<u8>,
}

/// Everything a run produced.
#[derive(Clone, Debug, Default)]
pub struct Run {
    /// Every `process` call, in order.
    pub calls: Vec<Call>,
}

impl Run {
    /// The output that must not depend on how the input was split: every byte written, except
    /// `100 Continue` interim responses (sent only when a head arrives before its body, which
    /// depends on the split by design).
    pub fn comparable_output(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for call in &self.calls {
            if !(call.step == Step::NeedInput && call.output == CONTINUE) {
                out.extend_from_slice(&call.output);
            }
        }
        out
    }

    /// The steps that must not depend on the split: all but `NeedInput`, and without the
    /// request line of a `Rejected` step (it holds "as much of the request line as was
    /// received", which depends on the split when a request is refused before its line is
    /// complete; [`assert_same_steps`] checks those lines separately).
    pub fn comparable_steps(&self) -> Vec<Step> {
        self.calls
            .iter()
            .filter(|c| c.step != Step::NeedInput)
            .map(|c| match &c.step {
                Step::Rejected { error, .. } => Step::Rejected {
                    error: *error,
                    request_line: RequestLine::new(b""),
                },
                step => step.clone(),
            })
            .collect()
    }

    fn rejected_line(&self) -> Option<&[u8]> {
        self.calls.iter().find_map(|c| match &c.step {
            Step::Rejected { request_line, .. } => Some(request_line.as_bytes()),
            _ => None,
        })
    }

    /// How many requests were answered.
    pub fn answered(&self) -> usize {
        self.calls
            .iter()
            .filter(|c| matches!(c.step, Step::Answered(_)))
            .count()
    }
}

/// Feed `pieces` into a fresh session with a receive buffer of `rx_len` bytes, calling
/// `process` after every piece until it stops answering, then signal end of input and process
/// once more. Panics (a finding) if the session gets stuck: buffer full yet not closed, or
/// more `process` answers than input bytes.
pub fn drive<'i, A: Application>(
    app: &A,
    pieces: impl IntoIterator<Item = &'i [u8]>,
    rx_len: usize,
) -> Run {
    let mut rx = vec![0u8; rx_len];
    let mut memory = Box::new(FuzzMemory::new());
    let mut base_buf = EnvironBuf::<256, 8>::new();
    let mut base = base_buf.environ();
    for (k, v) in [
        ("SERVER_NAME", "fuzz"),
        ("SERVER_PORT", "80"),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("SCRIPT_NAME", ""),
    ] {
        base.set(k, v).expect("base environ fits");
    }
    let mut session: Session<'_> = Session::new(&mut rx, memory.memory(), ServerConfig::default());
    let date = Some(HttpDate::from_unix(1_149_533_394));
    let run = RefCell::new(Run::default());
    let mut fed = 0usize;
    let process_all = |session: &mut Session<'_>, fed: usize| {
        // Every answer consumes at least one byte, so more answers than bytes is a loop.
        for _ in 0..fed + 2 {
            let mut output = Vec::new();
            let step = session.process(app, &base, date, &mut output);
            let again = matches!(step, Step::Answered(_));
            run.borrow_mut().calls.push(Call { step, output });
            if !again {
                return;
            }
        }
        panic!("process kept answering: more answers than input bytes");
    };
    'pieces: for piece in pieces {
        let mut rest = piece;
        while !rest.is_empty() {
            if session.is_closed() {
                break 'pieces;
            }
            let n = session.feed(rest);
            fed += n;
            rest = &rest[n..];
            process_all(&mut session, fed);
            if n == 0 && !session.is_closed() {
                panic!("receive buffer full, yet the session neither answered nor closed");
            }
        }
    }
    session.receive_eof();
    process_all(&mut session, fed);
    assert!(
        session.is_closed(),
        "after end of input the session must close"
    );
    run.into_inner()
}

fn is_http09(request_line: &[u8]) -> bool {
    request_line
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .count()
        == 2
}

fn status_of(output: &[u8]) -> Option<u16> {
    let code = output.get(9..12)?;
    std::str::from_utf8(code).ok()?.parse().ok()
}

/// Check what must hold for any run over `input`, whatever the bytes.
pub fn check_invariants(input: &[u8], run: &Run) {
    let mut closed = false;
    for (i, call) in run.calls.iter().enumerate() {
        assert!(
            !closed || (call.step == Step::Close && call.output.is_empty()),
            "call {i} after the session closed: {call:?}"
        );
        assert!(
            call.output.len() <= RESPONSE_MAX,
            "call {i} wrote {} bytes",
            call.output.len()
        );
        match &call.step {
            Step::NeedInput => assert!(
                call.output.is_empty() || call.output == CONTINUE,
                "NeedInput wrote {:?}",
                String::from_utf8_lossy(&call.output)
            ),
            Step::Answered(log) => {
                assert!((100..=599).contains(&log.status), "status {}", log.status);
                if !is_http09(log.request_line.as_bytes()) {
                    assert!(
                        call.output.starts_with(b"HTTP/1.") || call.output.is_empty(),
                        "response does not start with a status line: {:?}",
                        String::from_utf8_lossy(&call.output)
                    );
                    if !call.output.is_empty() {
                        assert_eq!(status_of(&call.output), Some(log.status));
                    }
                }
            }
            Step::Rejected { error, .. } => {
                closed = true;
                assert!((400..=599).contains(&error.status), "{error:?}");
                assert!(call.output.starts_with(b"HTTP/1.1 "));
                assert_eq!(status_of(&call.output), Some(error.status));
            }
            Step::Close => {
                closed = true;
                assert!(call.output.is_empty());
            }
        }
    }
    assert!(closed, "the run did not end closed");
    // Every request needs a line feed to end its request line.
    let line_feeds = input.iter().filter(|&&b| b == b'\n').count();
    assert!(
        run.answered() <= line_feeds,
        "{} answers for {line_feeds} line feeds",
        run.answered()
    );
}

/// Check that two runs over the same bytes took the same steps and wrote the same bytes (see
/// [`Run::comparable_steps`] and [`Run::comparable_output`]). The request lines of a refusal
/// may differ only in how much of the line had arrived: one must be a prefix of the other.
pub fn assert_same_steps(whole: &Run, split: &Run, context: &dyn std::fmt::Debug) {
    assert_eq!(
        whole.comparable_steps(),
        split.comparable_steps(),
        "steps differ for {context:?}"
    );
    if let (Some(a), Some(b)) = (whole.rejected_line(), split.rejected_line()) {
        let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
        assert!(
            long.starts_with(short),
            "refused request lines disagree: {a:?} vs {b:?} for {context:?}"
        );
    }
    let (w, s) = (whole.comparable_output(), split.comparable_output());
    assert!(
        w == s,
        "output differs for {context:?}:\nwhole: {:?}\nsplit: {:?}",
        String::from_utf8_lossy(&w),
        String::from_utf8_lossy(&s)
    );
}
