//! The adversarial HTTP suite: hostile and ambiguous requests sent as raw bytes to the real
//! `echo` example over TCP, whole and in small pieces with pauses.
//!
//! The cases live in `tests/adversarial/cases.txt` (format at the top of that file), plus a
//! few generated families below (every control byte in a header value, in a header name, in
//! the target, in a chunk size). Each case states the outcome:
//!
//! * accepted: a `200` whose body is exactly the body the framing says (echo answers with the
//!   body it read), and then a sentinel request that the harness appends is answered too, which
//!   proves that the server found the end of the case exactly where the framing puts it;
//! * refused: the given 4xx/5xx status, then the connection closes and nothing after it (the
//!   sentinel included) is answered.
//!
//! The `echo` server is spawned once for the test binary, on an ephemeral port.

mod harden_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use harden_support::Server;

/// The longest any single socket read or write may wait.
const IO_LIMIT: Duration = Duration::from_secs(10);

/// Appended to every case that does not end in a half-close: a request the server answers
/// (`200 SENTINEL`) only if it parsed the case exactly as the case expects.
const SENTINEL: &[u8] =
    b"POST /sentinel HTTP/1.1\r\nHost: s\r\nConnection: close\r\nContent-Length: 8\r\n\r\nSENTINEL";

/// What the server must answer, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Expect {
    /// A `200` with exactly this body.
    Ok(Vec<u8>),
    /// A refusal with one of these statuses; the connection must close after it. With
    /// `silent`, closing without any answer is right too (a request cut short by the
    /// client's own end of stream: nobody is left to read an answer).
    Refused { statuses: Vec<u16>, silent: bool },
    /// The connection closes after the previous answer, with no further response.
    Close,
    /// These exact bytes, then the close (HTTP/0.9 has no status line).
    Raw(Vec<u8>),
}

#[derive(Clone, Debug)]
struct Case {
    name: String,
    from: String,
    send: Vec<u8>,
    /// Half-close after sending: the server reads the end of the stream.
    eof: bool,
    expect: Vec<Expect>,
    /// A known server defect this case exposes (`pending REASON`): the case is left out of the
    /// main run, and [`pending_cases_still_fail`] checks that it still fails.
    pending: Option<String>,
}

impl Case {
    /// The bytes to send: the case, then the sentinel unless the case ends in a half-close.
    fn wire(&self) -> Vec<u8> {
        let mut bytes = self.send.clone();
        if !self.eof {
            bytes.extend_from_slice(SENTINEL);
        }
        bytes
    }

    /// The answers expected on the wire: the case's own, then the sentinel's when the case
    /// leaves the connection open.
    fn answers(&self) -> Vec<Expect> {
        let mut all = self.expect.clone();
        if !self.eof && matches!(all.last(), Some(Expect::Ok(_))) {
            all.push(Expect::Ok(b"SENTINEL".to_vec()));
        }
        all
    }
}

/// Undo the escapes of the case file: `\r \n \t \0 \\ \xHH`, and `\s` for a space (so that a
/// trailing space survives editors).
fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let Some(&e) = bytes.get(i + 1) else {
            return Err(format!("dangling backslash in {text:?}"));
        };
        i += 2;
        out.push(match e {
            b'r' => b'\r',
            b'n' => b'\n',
            b't' => b'\t',
            b'0' => 0,
            b's' => b' ',
            b'\\' => b'\\',
            b'x' => {
                let hex = text
                    .get(i..i + 2)
                    .ok_or_else(|| format!("short \\x escape in {text:?}"))?;
                i += 2;
                u8::from_str_radix(hex, 16).map_err(|_| format!("bad \\x{hex} in {text:?}"))?
            }
            other => return Err(format!("unknown escape \\{} in {text:?}", other as char)),
        });
    }
    Ok(out)
}

/// Parse the case file (format described at its top).
fn parse_cases(text: &str) -> Result<Vec<Case>, String> {
    let mut cases: Vec<Case> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let at = |msg: String| format!("cases.txt line {}: {msg}", n + 1);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        if word == "case" {
            if rest.is_empty() || cases.iter().any(|c| c.name == rest) {
                return Err(at(format!("missing or repeated case name {rest:?}")));
            }
            cases.push(Case {
                name: rest.to_string(),
                from: String::new(),
                send: Vec::new(),
                eof: false,
                expect: Vec::new(),
                pending: None,
            });
            continue;
        }
        let case = cases
            .last_mut()
            .ok_or_else(|| at("directive before the first `case`".into()))?;
        match word {
            "from" => case.from = rest.to_string(),
            "send" => case.send.extend(unescape(rest).map_err(at)?),
            "sendrep" => {
                let (count, what) = rest
                    .split_once(' ')
                    .ok_or_else(|| at("sendrep needs COUNT TEXT".into()))?;
                let count: usize = count
                    .parse()
                    .map_err(|_| at(format!("bad count {count}")))?;
                let what = unescape(what).map_err(at)?;
                for _ in 0..count {
                    case.send.extend_from_slice(&what);
                }
            }
            "eof" => case.eof = true,
            "pending" => case.pending = Some(rest.to_string()),
            "expect" => {
                let (kind, arg) = rest.split_once(' ').unwrap_or((rest, ""));
                case.expect.push(match kind {
                    "200" => Expect::Ok(unescape(arg).map_err(at)?),
                    "close" => Expect::Close,
                    "raw" => Expect::Raw(unescape(arg).map_err(at)?),
                    // `400`, `400|431`, `close|400`
                    alternatives => {
                        let mut statuses = Vec::new();
                        let mut silent = false;
                        for alt in alternatives.split('|') {
                            match alt.parse::<u16>() {
                                _ if alt == "close" => silent = true,
                                Ok(s @ 400..=599) => statuses.push(s),
                                _ => return Err(at(format!("unknown expectation {rest:?}"))),
                            }
                        }
                        if statuses.is_empty() {
                            return Err(at(format!("no status in {rest:?}")));
                        }
                        Expect::Refused { statuses, silent }
                    }
                });
            }
            _ => return Err(at(format!("unknown directive {word:?}"))),
        }
    }
    for case in &cases {
        let bad = |why: &str| Err(format!("case {}: {why}", case.name));
        if case.send.is_empty() || case.expect.is_empty() || case.from.is_empty() {
            return bad("needs `from`, `send` and `expect`");
        }
        let terminal = |e: &Expect| !matches!(e, Expect::Ok(_));
        if case.expect[..case.expect.len() - 1].iter().any(terminal) {
            return bad("a refusal, close or raw answer must be the last expectation");
        }
    }
    Ok(cases)
}

/// Generated families: each control byte where the policy refuses it.
fn generated_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let refused = |name: String, send: Vec<u8>, status: u16| Case {
        name,
        from: "ours (generated)".into(),
        send,
        eof: false,
        expect: vec![Expect::Refused {
            statuses: vec![status],
            silent: false,
        }],
        pending: None,
    };
    // Every control byte but HTAB inside a header value (RFC 9110 §5.5); CR and LF have
    // cases of their own in the file, where they end lines.
    for b in (0u8..0x20).chain([0x7f]) {
        if matches!(b, b'\t' | b'\r' | b'\n') {
            continue;
        }
        let mut send = b"GET / HTTP/1.1\r\nHost: a\r\nX-Test: a".to_vec();
        send.extend([b, b'b']);
        send.extend_from_slice(b"\r\n\r\n");
        cases.push(refused(format!("gen-value-ctl-{b:02x}"), send, 400));
    }
    // Bytes that are not token characters in a header name.
    for &b in b"\"(),/;<=>?@[\\]{}\x00\x01\x7f\x80\xff" {
        let mut send = b"GET / HTTP/1.1\r\nHost: a\r\nX-".to_vec();
        send.extend([b, b'Y']);
        send.extend_from_slice(b": 1\r\n\r\n");
        cases.push(refused(format!("gen-name-byte-{b:02x}"), send, 400));
    }
    // Control bytes in the request target.
    for b in [0u8, 0x01, 0x08, 0x0b, 0x0c, 0x1b, 0x1f, 0x7f] {
        let mut send = b"GET /a".to_vec();
        send.push(b);
        send.extend_from_slice(b"b HTTP/1.1\r\nHost: a\r\n\r\n");
        cases.push(refused(format!("gen-target-ctl-{b:02x}"), send, 400));
    }
    // Anything but a hex digit where a chunk size starts.
    for &b in b"+- \tgxX;\x00\x0b" {
        let mut send = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        send.push(b);
        send.extend_from_slice(b"5\r\nhello\r\n0\r\n\r\n");
        cases.push(refused(format!("gen-chunk-size-lead-{b:02x}"), send, 400));
    }
    cases
}

fn all_cases() -> Vec<Case> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/adversarial/cases.txt");
    let text = std::fs::read_to_string(path).expect("read tests/adversarial/cases.txt");
    let mut cases = parse_cases(&text).unwrap_or_else(|e| panic!("{e}"));
    cases.extend(generated_cases());
    cases
}

/// One parsed response: status and body (1xx interim responses are skipped by the parser).
#[derive(Debug)]
struct Response {
    status: u16,
    body: Vec<u8>,
}

/// Split what a server sent into responses. Bodies are delimited by `Content-Length`, by
/// chunked framing, or (neither) by the end of the stream. Unparseable bytes are an error.
fn parse_responses(mut wire: &[u8]) -> Result<Vec<Response>, String> {
    let mut out = Vec::new();
    while !wire.is_empty() {
        let end = find(wire, b"\r\n\r\n").ok_or("response head without an end")?;
        let head = std::str::from_utf8(&wire[..end]).map_err(|_| "response head not UTF-8")?;
        wire = &wire[end + 4..];
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or("");
        let status: u16 = status_line
            .strip_prefix("HTTP/1.1 ")
            .or_else(|| status_line.strip_prefix("HTTP/1.0 "))
            .and_then(|s| s.get(..3))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {status_line:?}"))?;
        let mut length = None;
        let mut chunked = false;
        for line in lines {
            let (name, value) = line.split_once(':').ok_or("header without a colon")?;
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.parse::<usize>().map_err(|_| "bad Content-Length")?);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
        if (100..200).contains(&status) {
            continue;
        }
        let body = if chunked {
            let mut body = Vec::new();
            loop {
                let eol = find(wire, b"\r\n").ok_or("chunk size line without an end")?;
                let size_text = std::str::from_utf8(&wire[..eol]).map_err(|_| "chunk size")?;
                let size = usize::from_str_radix(size_text.split(';').next().unwrap_or(""), 16)
                    .map_err(|_| format!("bad chunk size {size_text:?}"))?;
                wire = &wire[eol + 2..];
                if size == 0 {
                    let end = find(wire, b"\r\n").ok_or("no end after the last chunk")?;
                    wire = &wire[end + 2..];
                    break body;
                }
                if wire.len() < size + 2 {
                    return Err("truncated chunk".into());
                }
                body.extend_from_slice(&wire[..size]);
                wire = &wire[size + 2..];
            }
        } else if let Some(n) = length {
            if wire.len() < n {
                return Err(format!("body of {} bytes, {n} announced", wire.len()));
            }
            let body = wire[..n].to_vec();
            wire = &wire[n..];
            body
        } else {
            std::mem::take(&mut wire).to_vec()
        };
        out.push(Response { status, body });
    }
    Ok(out)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// How a case is put on the wire.
#[derive(Clone, Copy, Debug)]
enum Mode {
    Whole,
    /// Pieces of 1..=8 bytes (at most ~64 pieces per case) with a pause after each.
    Split {
        seed: u64,
    },
    /// One byte at a time, with a pause after each: every split point at once.
    Bytewise,
}

/// A tiny deterministic generator (xorshift), so that a failing split is reproducible.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Send one case and read until the server closes. Write errors after the server has closed
/// (it refused the request mid-way) end the sending; what it answered is still read.
fn exchange(addr: std::net::SocketAddr, case: &Case, mode: Mode) -> Result<Vec<u8>, String> {
    let mut stream =
        TcpStream::connect_timeout(&addr, IO_LIMIT).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(IO_LIMIT)).unwrap();
    stream.set_write_timeout(Some(IO_LIMIT)).unwrap();
    let _ = stream.set_nodelay(true);
    let wire = case.wire();
    match mode {
        Mode::Whole => {
            let _ = stream.write_all(&wire);
        }
        Mode::Bytewise => {
            for byte in wire.chunks(1) {
                if stream.write_all(byte).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        Mode::Split { seed } => {
            let mut state = seed | 1;
            let floor = wire.len() / 64;
            let mut rest = &wire[..];
            while !rest.is_empty() {
                let n = (floor + 1 + (next(&mut state) % 8) as usize).min(rest.len());
                if stream.write_all(&rest[..n]).is_err() {
                    break;
                }
                rest = &rest[n..];
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
    if case.eof {
        let _ = stream.shutdown(std::net::Shutdown::Write);
    }
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let deadline = Instant::now() + IO_LIMIT;
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            // A reset after the answer (the server closed with our bytes unread) ends it too.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(out),
            Err(e) => return Err(format!("read after {} bytes: {e}", out.len())),
        }
        if Instant::now() > deadline {
            return Err("the server did not close the connection".into());
        }
    }
}

/// Check what came back against the case's expectations; `Err` says what differed.
fn check(case: &Case, wire: &[u8]) -> Result<(), String> {
    let answers = case.answers();
    if let Some(Expect::Raw(raw)) = answers.last() {
        return if wire == raw.as_slice() {
            Ok(())
        } else {
            Err(format!(
                "expected raw {:?}, got {:?}",
                String::from_utf8_lossy(raw),
                String::from_utf8_lossy(wire)
            ))
        };
    }
    let got = parse_responses(wire)
        .map_err(|e| format!("{e}; wire: {:?}", String::from_utf8_lossy(wire)))?;
    let mut got = got.iter();
    for want in &answers {
        let next = got.next();
        match (want, next) {
            (Expect::Ok(body), Some(r)) if r.status == 200 && &r.body == body => {}
            (Expect::Refused { statuses, .. }, Some(r)) if statuses.contains(&r.status) => {}
            (Expect::Refused { silent: true, .. } | Expect::Close, None) => {}
            (want, got) => {
                return Err(format!(
                    "expected {}, got {}; wire: {:?}",
                    describe(want),
                    got.map_or("the close".into(), |r| format!(
                        "{} {:?}",
                        r.status,
                        String::from_utf8_lossy(&r.body)
                    )),
                    String::from_utf8_lossy(wire)
                ))
            }
        }
    }
    match got.next() {
        None => Ok(()),
        Some(r) => Err(format!(
            "an extra response after the expected ones: {} {:?}",
            r.status,
            String::from_utf8_lossy(&r.body)
        )),
    }
}

fn describe(e: &Expect) -> String {
    match e {
        Expect::Ok(body) => format!("200 {:?}", String::from_utf8_lossy(body)),
        Expect::Refused { statuses, silent } => format!(
            "{statuses:?}{} and the close",
            if *silent { " (or nothing)" } else { "" }
        ),
        Expect::Close => "the close".into(),
        Expect::Raw(raw) => format!("raw {:?}", String::from_utf8_lossy(raw)),
    }
}

/// Run `cases` in `mode` over `workers` threads; the failures, one line each.
fn run_all(
    addr: std::net::SocketAddr,
    cases: &[Case],
    mode: fn(usize) -> Mode,
    workers: usize,
) -> Vec<String> {
    let next_case = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next_case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(case) = cases.get(i) else { return };
                let mode = mode(i);
                let outcome = exchange(addr, case, mode).and_then(|wire| check(case, &wire));
                if let Err(why) = outcome {
                    failures.lock().unwrap().push(format!(
                        "{} [{mode:?}] (from {}): {why}",
                        case.name, case.from
                    ));
                }
            });
        }
    });
    failures.into_inner().unwrap()
}

#[test]
fn case_file_parses_and_is_large_enough() {
    let cases = all_cases();
    let from_file = cases
        .iter()
        .filter(|c| !c.from.contains("generated"))
        .count();
    assert!(from_file >= 200, "only {from_file} cases in cases.txt");
    for source in ["ours", "llhttp", "h11", "hyper"] {
        assert!(
            cases.iter().any(|c| c.from.starts_with(source)),
            "no case from {source}"
        );
    }
    let refused = cases
        .iter()
        .filter(|c| matches!(c.expect.last(), Some(Expect::Refused { .. })))
        .count();
    let accepted = cases
        .iter()
        .filter(|c| matches!(c.expect.last(), Some(Expect::Ok(_))))
        .count();
    assert!(
        refused > 50 && accepted > 50,
        "{refused} refused, {accepted} accepted"
    );
}

#[test]
fn escapes_and_responses_parse() {
    assert_eq!(unescape(r"a\r\n\t\0\s\\\x7f").unwrap(), b"a\r\n\t\0 \\\x7f");
    assert!(unescape(r"\q").is_err());
    let wire = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi\
HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n";
    let r = parse_responses(wire).unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!((r[0].status, &r[0].body[..]), (200, &b"hi"[..]));
    assert_eq!(r[1].body, b"abc");
    let case = Case {
        name: "t".into(),
        from: "ours".into(),
        send: b"x".to_vec(),
        eof: false,
        expect: vec![Expect::Ok(b"hi".to_vec())],
        pending: None,
    };
    // The sentinel's answer is missing: a failure, not a pass.
    assert!(check(&case, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi").is_err());
}

#[test]
fn every_case_whole_and_split() {
    let cases: Vec<Case> = all_cases()
        .into_iter()
        .filter(|c| c.pending.is_none())
        .collect();
    let server = Server::start("echo", &["0"]);
    let addr = server.addr();
    let mut failures = run_all(addr, &cases, |_| Mode::Whole, 4);
    failures.extend(run_all(
        addr,
        &cases,
        |i| Mode::Split {
            seed: 0x9e37_79b9_7f4a_7c15 ^ i as u64,
        },
        8,
    ));
    let mut server = server;
    let alive = server.is_running();
    let log = server.stop();
    assert!(alive, "the echo server died; its log:\n{log}");
    assert!(
        failures.is_empty(),
        "{} of {} runs failed:\n{}",
        failures.len(),
        cases.len() * 2,
        failures.join("\n")
    );
}

/// The classes of request-target forms, Host values, CONNECT and chunk extensions, sent one
/// byte at a time: the server reads each case at every split point and must answer as it does
/// to the whole case.
#[test]
fn target_host_connect_and_chunk_ext_classes_byte_by_byte() {
    let classes = [
        "target-",
        "host-",
        "connect-",
        "chunk-ext-",
        "odd-uri-",
        "llhttp-uri-",
        "llhttp-host-",
    ];
    let cases: Vec<Case> = all_cases()
        .into_iter()
        .filter(|c| c.pending.is_none() && classes.iter().any(|p| c.name.starts_with(p)))
        .collect();
    assert!(
        cases.len() >= 130,
        "only {} cases of the target, Host, CONNECT and chunk-extension classes",
        cases.len()
    );
    let server = Server::start("echo", &["0"]);
    let failures = run_all(server.addr(), &cases, |_| Mode::Bytewise, 8);
    let mut server = server;
    let alive = server.is_running();
    let log = server.stop();
    assert!(alive, "the echo server died; its log:\n{log}");
    assert!(
        failures.is_empty(),
        "{} of {} runs failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The cases marked `pending` in cases.txt (none today): each exposes a known server defect
/// (its reason is in the file) and is left out of the main run. This test checks that each one
/// still fails, so that the fix of a defect cannot go unnoticed: when a pending case starts to
/// pass, the test fails and asks for its `pending` line to be dropped, which moves the case
/// into the main run.
#[test]
fn pending_cases_still_fail() {
    let cases: Vec<Case> = all_cases()
        .into_iter()
        .filter(|c| c.pending.is_some())
        .collect();
    if cases.is_empty() {
        return; // no known defect: nothing to start a server for
    }
    let server = Server::start("echo", &["0"]);
    let fixed: Vec<&str> = cases
        .iter()
        .filter(|case| {
            let one = std::slice::from_ref(*case);
            run_all(server.addr(), one, |_| Mode::Whole, 1).is_empty()
                && run_all(server.addr(), one, |_| Mode::Split { seed: 7 }, 1).is_empty()
        })
        .map(|case| case.name.as_str())
        .collect();
    assert!(
        fixed.is_empty(),
        "these pending cases pass now: drop their `pending` line in tests/adversarial/cases.txt: {fixed:?}"
    );
}
