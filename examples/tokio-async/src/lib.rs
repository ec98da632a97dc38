//! **This example uses `wsgiref-core` directly**, not the `wsgiref` facade that applications
//! depend on: it shows the core's `AsyncConnection` driven by another runtime, with the core's own
//! feature `async`. Everything it names is also reachable from `wsgiref` (with
//! `default-features = false` on bare metal).
//!
//! wsgiref-core's [`AsyncConnection`] on tokio: the same handler state machine that runs on a
//! Cortex-M and behind the C API, here awaited on tokio sockets through `embedded-io-adapters`.
//!
//! Every connection gets its own fixed buffers inside its task (no allocation by the core);
//! tasks are `spawn_local`ed on a `LocalSet`, so applications need not be `Send`.

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use embedded_io_adapters::tokio_1::FromTokio;
use heapless::Vec;
use tokio::net::{TcpListener, TcpStream};
use wsgiref_core::app::{Once, StartResponse};
use wsgiref_core::environ::EnvironBuf;
use wsgiref_core::handler::{AsyncConnection, ConnError, MemoryBuf, Served, ServerConfig};
use wsgiref_core::proto::HttpDate;
use wsgiref_core::{AppError, Application, Environ};

/// The demonstration application: `/` says hello, `/env` reports parts of the environ,
/// `/echo` returns the request body.
pub struct Demo;

impl Application for Demo {
    type Body = Once<Vec<u8, 1024>>;

    fn call(
        &self,
        env: &mut Environ<'_>,
        sr: &mut StartResponse<'_>,
    ) -> Result<Self::Body, AppError> {
        let full = |_| AppError::msg("response larger than its 1 KiB buffer");
        let mut text: Vec<u8, 1024> = Vec::new();
        match env.get("PATH_INFO").unwrap_or(b"") {
            b"/" => text
                .extend_from_slice(b"Hello from tokio!\n")
                .map_err(full)?,
            b"/env" => {
                for key in [
                    "REQUEST_METHOD",
                    "QUERY_STRING",
                    "REMOTE_ADDR",
                    "SERVER_PORT",
                    "HTTP_HOST",
                ] {
                    for part in [key.as_bytes(), b"=", env.get(key).unwrap_or(b"-"), b"\n"] {
                        text.extend_from_slice(part).map_err(full)?;
                    }
                }
            }
            b"/echo" => {
                let mut body = [0u8; 512];
                let n = env.input().read_full(&mut body)?;
                text.extend_from_slice(b"echo: ").map_err(full)?;
                text.extend_from_slice(&body[..n]).map_err(full)?;
            }
            _ => {
                sr.start("404 Not Found", &[("Content-Type", "text/plain")])?;
                text.extend_from_slice(b"not found\n").map_err(full)?;
                return Ok(Once::new(text));
            }
        }
        sr.start("200 OK", &[("Content-Type", "text/plain")])?;
        Ok(Once::new(text))
    }
}

/// The current time as an HTTP date (a clock the caller owns: the core never reads one).
fn now() -> Option<HttpDate> {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(HttpDate::from_unix(secs))
}

/// Serve one accepted connection until it ends; returns how many requests were answered.
pub async fn serve_connection<A: Application>(
    app: &A,
    stream: TcpStream,
    local: SocketAddr,
    peer: SocketAddr,
) -> Result<u32, ConnError> {
    let (mut rx, mut tx) = ([0u8; 8192], [0u8; 4096]);
    let mut memory: MemoryBuf = MemoryBuf::new();
    let mut base = EnvironBuf::<256, 8>::new();
    let mut base = base.environ();
    let mut text = [0u8; 64];
    // Server variables laid under every request's own; they fit the base buffer.
    let _ = base.set("SERVER_NAME", "127.0.0.1");
    let _ = base.set("SERVER_PORT", decimal(local.port().into(), &mut text));
    let _ = base.set("REMOTE_ADDR", peer.ip().to_string());
    let _ = base.set("REMOTE_PORT", decimal(peer.port().into(), &mut text));
    let mut conn: AsyncConnection<'_, _> = AsyncConnection::new(
        FromTokio::new(stream),
        &mut rx,
        &mut tx,
        memory.memory(),
        ServerConfig::default(),
    );
    // serve_one rather than serve: the Date header is read from the clock per request.
    let mut answered = 0u32;
    while !conn.is_closed() {
        match conn.serve_one(app, &base, now()).await? {
            Served::Request(_) => answered += 1,
            Served::Rejected { .. } | Served::Closed => break,
        }
    }
    Ok(answered)
}

fn decimal(n: u64, buf: &mut [u8; 64]) -> &[u8] {
    use std::io::Write;
    let mut cursor = std::io::Cursor::new(&mut buf[..]);
    let _ = write!(cursor, "{n}");
    let len = cursor.position() as usize;
    &buf[..len]
}

/// Accept and serve connections on `listener`, each in its own local task; stop after
/// `max_connections` connections when given (their tasks finish first).
pub async fn run(listener: TcpListener, max_connections: Option<u32>) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    let tasks = tokio::task::LocalSet::new();
    tasks
        .run_until(async {
            let mut handles = std::vec::Vec::new();
            let mut accepted = 0u32;
            while max_connections.is_none_or(|max| accepted < max) {
                let (stream, peer) = listener.accept().await?;
                accepted += 1;
                handles.push(tokio::task::spawn_local(async move {
                    match serve_connection(&Demo, stream, local, peer).await {
                        Ok(n) => eprintln!("{peer}: {n} request(s) answered"),
                        Err(e) => eprintln!("{peer}: {e}"),
                    }
                }));
            }
            for handle in handles {
                let _ = handle.await;
            }
            Ok(())
        })
        .await
}
