//! The seed's `hello_world_app` on a real server: `cargo run --release --example hello -- [PORT]`.
//!
//! Port 0 picks a free port; the first line of output names the port. SIGINT or SIGTERM stop
//! the server gracefully.
//!
//! For benchmarks, `WSGIREF_PLACEMENT` chooses where the event-loop workers run:
//! `none` leaves them to the scheduler, `pin` pins them to a CPU each without steering
//! connections to them; unset, the server's defaults (pinned and steered, see
//! `ServerOptions::pin_threads` and `ServerOptions::steer_connections`).

use wsgiref::simple_server::{
    init_stderr_logger, make_server_with, ServerOptions, WsgiRequestHandler,
};
use wsgiref::{AppError, Environ, StartResponse};

fn hello_world_app(
    _environ: &mut Environ<'_>,
    start_response: &mut StartResponse<'_>,
) -> Result<&'static [u8], AppError> {
    start_response.start("200 OK", &[("Content-Type", "text/plain; charset=utf-8")])?;
    Ok(b"Hello World!")
}

fn main() -> std::io::Result<()> {
    let port = port_argument()?;
    init_stderr_logger();
    let mut options = ServerOptions::default();
    match std::env::var("WSGIREF_PLACEMENT").as_deref() {
        Ok("none") => options.pin_threads = false,
        Ok("pin") => options.steer_connections = false,
        _ => {}
    }
    let server = make_server_with("", port, hello_world_app, WsgiRequestHandler, options)?;
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
