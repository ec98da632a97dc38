//! The seed's `demo_app` on a real server: `cargo run --example demo -- [PORT]`.
//!
//! It answers every request with "Hello world!" and the request's environ, sorted. Port 0
//! picks a free port; the first line of output names the port. SIGINT or SIGTERM stop the
//! server gracefully.

use wsgiref::simple_server::{demo_app, init_stderr_logger, make_server};

fn main() -> std::io::Result<()> {
    let port = port_argument()?;
    init_stderr_logger();
    let server = make_server("", port, demo_app)?;
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
