//! The wsgiref side of `bench/load.sh`: this checkout's `make_server` on its default settings,
//! serving the same four routes as `bench/apps/app.py` and the hyper anchors:
//!
//! - `/` answers "Hello world!";
//! - `/sleep10` and `/sleep200` block the calling thread for 10 ms and 200 ms (a database
//!   query or an upstream call, as a real application would make), then answer "slept";
//! - `/demo` answers a 672-byte text body, the size of `demo_app`'s answer to a small request
//!   (the slow readers' route).
//!
//! Usage: `wsgiref-app PORT` (0 = ephemeral). Prints `wsgiref-app listening on port N` first.
//! SIGINT or SIGTERM stop it. `WSGIREF_LOG=off` silences the access log, as in every run.

use std::thread::sleep;
use std::time::Duration;

use wsgiref::app::Once;
use wsgiref::simple_server::{init_stderr_logger, make_server};
use wsgiref::{AppError, Environ, StartResponse};

/// The `/demo` body: "Hello world!" and filler lines up to 672 bytes.
fn demo_body() -> Vec<u8> {
    let mut body = b"Hello world!\n\n".to_vec();
    let mut i = 0;
    while body.len() < 672 {
        body.extend_from_slice(format!("LINE_{i:03} = 'some environ value here'\n").as_bytes());
        i += 1;
    }
    body.truncate(671);
    body.push(b'\n');
    body
}

fn app(
    environ: &mut Environ<'_>,
    start_response: &mut StartResponse<'_>,
) -> Result<Once<Vec<u8>>, AppError> {
    let body = match environ.get("PATH_INFO").unwrap_or(b"/") {
        b"/sleep10" => {
            sleep(Duration::from_millis(10));
            b"slept".to_vec()
        }
        b"/sleep200" => {
            sleep(Duration::from_millis(200));
            b"slept".to_vec()
        }
        b"/demo" => demo_body(),
        _ => b"Hello world!".to_vec(),
    };
    start_response.start("200 OK", &[("Content-Type", "text/plain")])?;
    Ok(Once::new(body))
}

fn main() -> std::io::Result<()> {
    let port: u16 = match std::env::args().nth(1) {
        None => 8000,
        Some(arg) => arg.parse().map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("not a port number: {arg:?}"),
            )
        })?,
    };
    init_stderr_logger();
    let server = make_server("127.0.0.1", port, app)?;
    server.shutdown_handle().on_termination_signals()?;
    println!(
        "wsgiref-app listening on port {}",
        server.server_address().port()
    );
    server.serve_forever()
}
