//! A fixed number of request cycles, for counting instructions with callgrind rather than
//! timing them: `bench/instructions.sh` runs this binary under `valgrind --tool=callgrind` at
//! two iteration counts and divides the difference, which cancels start-up and leaves the cost
//! of one request. Instruction counts repeat exactly on a busy machine, where wall-clock
//! benchmarks of a ~1 µs operation do not.
//!
//! ```text
//! instructions <typical|minimal> <httparse|floor|cycle|cycle-reading> <iterations>
//! ```
//!
//! `httparse` parses the request alone (the issue's anchor); `floor` parses it with httparse
//! and copies out the response the cycle writes for it, the least work any handler does (what
//! lies between `floor` and `cycle` is the handler's own); `cycle` runs the full cycle of
//! `benches/handler.rs`: bytes into a `Session`, environ set up, hello application run,
//! response framed into a reused buffer; `cycle-reading` is the same with an application that
//! first reads four variables (the environ's per-key answers).

use std::hint::black_box;
use std::process::ExitCode;

use wsgiref_core::environ::EnvironBuf;
use wsgiref_core::handler::{MemoryBuf, ServerConfig, Session, Step};
use wsgiref_core::proto::HttpDate;
use wsgiref_core::Application;

mod common;
use common::{
    base_environ, floor_once, hello, hello_reading, one_response, BROWSER_GET, MINIMAL_GET,
};

fn httparse_only(request: &[u8], iterations: u64) {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    for _ in 0..iterations {
        let mut req = httparse::Request::new(&mut headers);
        let status = req.parse(black_box(request)).expect("valid request");
        black_box((status.is_complete(), req.method, req.path));
    }
}

/// What any handler must at least do: parse the request with httparse and copy out the
/// response the full cycle writes for it (taken from one real cycle, not typed in).
fn floor(request: &[u8], iterations: u64) {
    let response = one_response(request);
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut out = heapless::Vec::<u8, 1024>::new();
    for _ in 0..iterations {
        floor_once(request, &response, &mut headers, &mut out);
    }
}

fn full_cycle<A: Application>(app: A, request: &[u8], iterations: u64) -> Result<(), String> {
    let mut rx = [0u8; 2048];
    let mut memory: MemoryBuf = MemoryBuf::new();
    let mut base_buf = EnvironBuf::<256, 8>::new();
    let base = base_environ(&mut base_buf);
    let mut session: Session<'_> = Session::new(&mut rx, memory.memory(), ServerConfig::default());
    let date = Some(HttpDate::from_unix(1_700_000_000));
    let mut out = heapless::Vec::<u8, 1024>::new();
    for _ in 0..iterations {
        out.clear();
        session.feed(black_box(request));
        let step = session.process(&app, &base, date, &mut out);
        if !matches!(step, Step::Answered(_)) || !out.ends_with(b"Hello, world!") {
            return Err(format!("the request was not answered: {step:?}"));
        }
        black_box(out.len());
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench`; ignore flags so the target also runs there (briefly).
    let args: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let (request, what, iterations) = match args[..] {
        [] => (MINIMAL_GET, "cycle", 1),
        [req, what, n] => {
            let request = match req {
                "typical" => BROWSER_GET,
                "minimal" => MINIMAL_GET,
                other => {
                    eprintln!("unknown request '{other}' (typical, minimal)");
                    return ExitCode::from(2);
                }
            };
            let Ok(n) = n.parse::<u64>() else {
                eprintln!("iterations must be a number, not '{n}'");
                return ExitCode::from(2);
            };
            (request, what, n)
        }
        _ => {
            eprintln!(
                "usage: instructions <typical|minimal> <httparse|floor|cycle|cycle-reading> <iterations>"
            );
            return ExitCode::from(2);
        }
    };
    match what {
        "httparse" => httparse_only(request, iterations),
        "floor" => floor(request, iterations),
        "cycle" | "cycle-reading" => {
            let result = if what == "cycle" {
                full_cycle(hello(), request, iterations)
            } else {
                full_cycle(hello_reading(), request, iterations)
            };
            if let Err(e) = result {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        }
        other => {
            eprintln!("unknown measurement '{other}' (httparse, floor, cycle, cycle-reading)");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
