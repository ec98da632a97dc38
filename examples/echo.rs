//! An echo server for tests and benchmarks: `cargo run --example echo -- [PORT]`.
//!
//! Every request is answered `200 OK` with the request body it read from `wsgi.input` (up to
//! 64 MiB; a larger body is answered 413). Port 0 picks a free port; the first line of output
//! names the port. SIGINT or SIGTERM stop the server gracefully.

use wsgiref::app::Once;
use wsgiref::simple_server::{init_stderr_logger, make_server};
use wsgiref::{AppError, Environ, StartResponse};

/// The largest body echoed.
const LIMIT: usize = 64 * 1024 * 1024;

fn echo_app(
    environ: &mut Environ<'_>,
    start_response: &mut StartResponse<'_>,
) -> Result<Once<Vec<u8>>, AppError> {
    // A larger body fails with InputError::TooLarge, which the handler answers with 413.
    let body = environ.input().read_to_vec(LIMIT)?;
    start_response.start("200 OK", &[("Content-Type", "application/octet-stream")])?;
    Ok(Once::new(body))
}

fn main() -> std::io::Result<()> {
    let port = port_argument()?;
    init_stderr_logger();
    let server = make_server("", port, echo_app)?;
    server.shutdown_handle().on_termination_signals()?;
    println!("Serving HTTP on port {}...", server.server_address().port());
    server.serve_forever()
}

/// The optional first argument: a port number (default 8000).
fn port_argument() -> std::io::Result<u16> {
    match std::env::args().nth(1) {
        None => Ok(8000),
        Some(arg) => arg.parse().map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("not a port number: {arg:?}"),
            )
        }),
    }
}
