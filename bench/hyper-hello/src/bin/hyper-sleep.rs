//! The hyper 1.x anchors of `bench/load.sh`'s blocking, mixed and slow-reader runs: the same
//! four routes as `bench/wsgiref-app` and `bench/apps/app.py` (`/` "Hello world!", `/sleep10`
//! and `/sleep200` that block for 10 ms and 200 ms, `/demo` a 672-byte body), on a
//! multi-threaded tokio runtime with its defaults.
//!
//! Usage: `hyper-sleep PORT MODE`, where MODE says where the blocking sleep runs:
//!
//! - `spawn-blocking`: inside `tokio::task::spawn_blocking`, as tokio's documentation asks of
//!   blocking code (its blocking pool grows up to 512 threads);
//! - `inline`: `std::thread::sleep` directly in the async handler, the common mistake, which
//!   blocks one of the runtime's worker threads (one per CPU) for the whole sleep.
//!
//! Prints `hyper-sleep listening on port N` first.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

#[derive(Clone, Copy)]
enum Mode {
    SpawnBlocking,
    Inline,
}

/// The `/demo` body: "Hello world!" and filler lines up to 672 bytes, as in wsgiref-app.
fn demo_body() -> Bytes {
    let mut body = b"Hello world!\n\n".to_vec();
    let mut i = 0;
    while body.len() < 672 {
        body.extend_from_slice(format!("LINE_{i:03} = 'some environ value here'\n").as_bytes());
        i += 1;
    }
    body.truncate(671);
    body.push(b'\n');
    Bytes::from(body)
}

async fn handle(
    mode: Mode,
    demo: Bytes,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let millis = match request.uri().path() {
        "/sleep10" => Some(10),
        "/sleep200" => Some(200),
        _ => None,
    };
    let body = match (millis, request.uri().path()) {
        (Some(ms), _) => {
            let pause = Duration::from_millis(ms);
            match mode {
                Mode::SpawnBlocking => {
                    tokio::task::spawn_blocking(move || std::thread::sleep(pause))
                        .await
                        .expect("the sleeping task does not panic")
                }
                Mode::Inline => std::thread::sleep(pause),
            }
            Bytes::from_static(b"slept")
        }
        (None, "/demo") => demo,
        (None, _) => Bytes::from_static(b"Hello world!"),
    };
    let mut response = Response::new(Full::new(body));
    response
        .headers_mut()
        .insert("content-type", "text/plain".parse().expect("static header"));
    Ok(response)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port: u16 = match args.next() {
        Some(p) => p.parse().map_err(|e| format!("bad port {p:?}: {e}"))?,
        None => 8000,
    };
    let mode = match args.next().as_deref() {
        Some("spawn-blocking") => Mode::SpawnBlocking,
        Some("inline") => Mode::Inline,
        other => {
            return Err(format!("MODE must be spawn-blocking or inline, not {other:?}").into())
        }
    };
    let demo = demo_body();
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    println!(
        "hyper-sleep listening on port {}",
        listener.local_addr()?.port()
    );
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let demo = demo.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(mode, demo.clone(), request));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
