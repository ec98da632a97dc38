//! Serve a directory over HTTP: the closing example of Python's `wsgiref` documentation,
//! grown into something a browser is happy with.
//!
//! ```text
//! cargo run --release --example serve -- [DIR] [PORT]
//! ```
//!
//! `DIR` defaults to the current directory, `PORT` to 8000 (0 picks a free port). A single
//! argument that is a number and not an existing directory is taken as the port. The first
//! line of output names the port: `serving /abs/dir on port 8000: http://127.0.0.1:8000/`.
//!
//! It listens on 127.0.0.1 only: a directory server reachable from the whole network by
//! default would publish whatever folder it was started in.
//!
//! What it answers (details in `examples/serve/site.rs`): GET and HEAD (405 with `Allow`
//! otherwise), `index.html` for a directory or else a listing, a 301 from `/dir` to `/dir/`,
//! content types from an extension table, `Last-Modified` with `If-Modified-Since` → 304,
//! single `Range` requests → 206 (416 past the end). Paths that try to leave the directory
//! (`..`, `%2e%2e`, backslashes, NUL, symlinks pointing outside) get the same 404 as a missing
//! file.

#[path = "serve/mod.rs"]
mod serve;

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use wsgiref_core::environ::Environ;
use wsgiref_core::handler::{ConnError, Connection, MemoryBuf, ServerConfig};
use wsgiref_core::proto::HttpDate;
use wsgiref_std::io::StdIo;

use serve::StaticFiles;

/// `[DIR] [PORT]` from the command line.
fn parse_args(args: &[String]) -> Result<(PathBuf, u16), String> {
    let port = |text: &str| {
        text.parse::<u16>()
            .map_err(|e| format!("PORT must be a number from 0 to 65535, not {text:?}: {e}"))
    };
    match args {
        [] => Ok((PathBuf::from("."), 8000)),
        [one] if one.parse::<u16>().is_ok() && !std::path::Path::new(one).is_dir() => {
            Ok((PathBuf::from("."), port(one)?))
        }
        [dir] => Ok((PathBuf::from(dir), 8000)),
        [dir, p] => Ok((PathBuf::from(dir), port(p)?)),
        _ => Err("usage: serve [DIR] [PORT]".to_string()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, port) = match parse_args(&args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("serve: {message}");
            return ExitCode::from(2);
        }
    };
    let app = match StaticFiles::new(&dir) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("serve: cannot serve {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("serve: cannot listen on 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let bound = listener.local_addr().map_or(port, |a| a.port());
    println!(
        "serving {} on port {bound}: http://127.0.0.1:{bound}/",
        app.root().display()
    );
    let app = Arc::new(app);
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let app = Arc::clone(&app);
        std::thread::spawn(move || serve_connection(&app, stream, bound));
    }
    ExitCode::SUCCESS
}

/// The current time for the `Date` header.
fn now() -> HttpDate {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    HttpDate::from_unix(secs)
}

/// One connection, HTTP/1.1 keep-alive, until the client closes or idles for 30 s.
fn serve_connection(app: &StaticFiles, stream: TcpStream, port: u16) {
    let peer = stream
        .peer_addr()
        .unwrap_or(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)));
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = stream.set_nodelay(true);
    let mut base = Environ::new();
    let port_text = port.to_string();
    let peer_ip = peer.ip().to_string();
    for (key, value) in [
        ("SERVER_NAME", "localhost"),
        ("SERVER_PORT", port_text.as_str()),
        ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("REMOTE_ADDR", peer_ip.as_str()),
        ("REMOTE_HOST", ""),
        ("SCRIPT_NAME", ""),
        ("CONTENT_LENGTH", ""),
    ] {
        if base.set(key, value).is_err() {
            return;
        }
    }
    let mut rx = vec![0u8; 16 * 1024];
    let mut memory: Box<MemoryBuf> = Box::new(MemoryBuf::new());
    let mut conn: Connection<'_, _> = Connection::new(
        StdIo(stream),
        &mut rx,
        memory.memory(),
        ServerConfig::default(),
    );
    // Each pass serves one request or ends the connection; the idle timeout bounds the wait.
    loop {
        match conn.serve_one(app, &base, Some(now())) {
            Ok(wsgiref_core::handler::Served::Request(log)) => {
                eprintln!(
                    "{peer_ip} - - \"{}\" {} {}",
                    log.request_line, log.status, log.bytes_sent
                );
            }
            Ok(_) | Err(ConnError::Timeout { .. }) | Err(_) => break,
        }
        if conn.is_closed() {
            break;
        }
    }
}
