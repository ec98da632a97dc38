//! The seed's `wsgiref.validate` example, runnable: an application that breaks the gateway
//! contract in ways the Rust compiler cannot see, wrapped in `validator` and served by
//! `make_server`, and what the validator reports.
//!
//! ```text
//! cargo run --example validator
//! ```
//!
//! The example starts the server on a free port of 127.0.0.1, requests one path per fault,
//! prints each response's status line, and stops. The validator's findings reach the server's
//! `wsgi.errors` (standard error here) as `AssertionError: <CPython's message>` lines, followed
//! by the 500 the client receives; warnings are printed by the default warning sink. Finding
//! these faults is what the example demonstrates, so it exits 0.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use wsgiref::app::{Empty, Once};
use wsgiref::simple_server::make_server;
use wsgiref::validate::validator;
use wsgiref::{AppError, Body, Environ, StartResponse};

/// One route per contract violation (and one conforming route).
fn faulty_app(
    environ: &mut Environ<'_>,
    start_response: &mut StartResponse<'_>,
) -> Result<Box<dyn Body + Send>, AppError> {
    let path = environ.get_str("PATH_INFO").unwrap_or("").to_owned();
    match path.as_str() {
        // No Content-Type on a 200.
        "/no-content-type" => {
            start_response.start("200 OK", &[("X-Powered-By", "wsgiref")])?;
            Ok(Box::new(&b"Hello"[..]))
        }
        // A hop-by-hop header: refused by the server's start_response, not the validator.
        "/hop-by-hop" => {
            start_response.start(
                "200 OK",
                &[("Content-Type", "text/plain"), ("Connection", "close")],
            )?;
            Ok(Box::new(&b"Hello"[..]))
        }
        // write() before start_response.
        "/early-write" => {
            start_response.write(b"early")?;
            Ok(Box::new(Empty))
        }
        // A status code below 100.
        "/low-status" => {
            start_response.start("099 Too Low", &[("Content-Type", "text/plain")])?;
            Ok(Box::new(Empty))
        }
        // A status without a reason phrase: the validator only warns; the handler, as
        // CPython's, refuses a status shorter than four characters.
        "/no-reason" => {
            start_response.start("200", &[("Content-Type", "text/plain")])?;
            Ok(Box::new(&b"fine, mostly"[..]))
        }
        _ => {
            start_response.start("200 OK", &[("Content-Type", "text/plain")])?;
            let method = environ.get_str("REQUEST_METHOD").unwrap_or("?");
            Ok(Box::new(Once::new(format!("Hello, {method}!"))))
        }
    }
}

/// GET `path` over one connection; returns the status line.
fn status_of(port: u16, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response);
    Ok(text.lines().next().unwrap_or("(no response)").to_owned())
}

fn main() -> std::io::Result<()> {
    let app = validator(faulty_app as fn(&mut Environ<'_>, &mut StartResponse<'_>) -> _);
    let server = make_server("127.0.0.1", 0, app)?;
    let port = server.server_address().port();
    println!("Serving HTTP on port {port}...");
    std::thread::scope(|s| {
        let running = s.spawn(|| server.serve_forever());
        for path in [
            "/no-content-type",
            "/hop-by-hop",
            "/early-write",
            "/low-status",
            "/no-reason",
            "/conforming",
        ] {
            match status_of(port, path) {
                Ok(status) => println!("{path:<18} -> {status}"),
                Err(e) => println!("{path:<18} -> request failed: {e}"),
            }
        }
        server.shutdown();
        running.join().expect("the server thread ended")
    })
}
