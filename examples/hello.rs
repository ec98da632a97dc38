//! The seed's `hello_world_app` on a real server:
//! `cargo run --release --example hello -- [-b ADDRESS] [--workers N] [PORT]`.
//!
//! `-b` picks the address (default `""`: every interface, IPv6 and IPv4); port 0 picks a free
//! port (default 8000); the first line of output names the port. SIGINT or SIGTERM stop the
//! server gracefully. `--workers N` (N ≥ 1) serves from N worker processes under a supervisor
//! (`ServerOptions::workers`: SIGHUP replaces them without dropping a connection); each worker
//! prints the start-up line too. Started by systemd's socket activation, it serves the socket
//! it was given.
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
    let args = Args::parse()
        .map_err(|message| std::io::Error::new(std::io::ErrorKind::InvalidInput, message))?;
    init_stderr_logger();
    let mut options = ServerOptions {
        workers: args.workers,
        ..ServerOptions::default()
    };
    match std::env::var("WSGIREF_PLACEMENT").as_deref() {
        Ok("none") => options.pin_threads = false,
        Ok("pin") => options.steer_connections = false,
        _ => {}
    }
    let server = make_server_with(
        &args.bind,
        args.port,
        hello_world_app,
        WsgiRequestHandler,
        options,
    )?;
    server.shutdown_handle().on_termination_signals()?;
    println!("Serving HTTP on port {}...", server.server_address().port());
    server.serve_forever()
}

/// The command line: `[-b ADDRESS] [--workers N] [PORT]`.
struct Args {
    /// Address to bind (`-b`, `--bind`); `""` is every interface.
    bind: String,
    /// Worker processes (`--workers`); 0 serves in this process.
    workers: usize,
    /// Port to bind (positional; 0 picks a free one).
    port: u16,
}

impl Args {
    fn parse() -> Result<Args, String> {
        use lexopt::prelude::*;

        let mut args = Args {
            bind: String::new(),
            workers: 0,
            port: 8000,
        };
        let mut parser = lexopt::Parser::from_env();
        while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
            match arg {
                Short('b') | Long("bind") => {
                    args.bind = parser
                        .value()
                        .map_err(|e| e.to_string())?
                        .string()
                        .map_err(|e| e.to_string())?;
                }
                Long("workers") => {
                    let workers = parser
                        .value()
                        .map_err(|e| e.to_string())?
                        .string()
                        .map_err(|e| e.to_string())?;
                    args.workers = workers
                        .parse()
                        .map_err(|_| format!("--workers: not a number: {workers:?}"))?;
                }
                Value(port) => {
                    let port = port.string().map_err(|e| e.to_string())?;
                    args.port = port
                        .parse()
                        .map_err(|_| format!("not a port number: {port:?}"))?;
                }
                other => return Err(other.unexpected().to_string()),
            }
        }
        Ok(args)
    }
}
