//! Which worker process answered: `cargo run --example workers -- [-b ADDRESS] [--workers N] [PORT]`.
//!
//! Every response says `pid N` (the process that served it) and `wsgi.multiprocess true`
//! (or `false` without workers), so `curl` run a few times shows
//! the supervisor's workers taking turns, and a `kill -HUP` of the supervisor shows them all
//! replaced. `/slow` waits half a second before answering: a request in flight while the
//! workers are restarted or stopped, which must still be answered. Defaults: `127.0.0.1`, two
//! workers (`--workers 0` serves in this one process), port 8000 (0 picks a free one); the
//! first line of output names the port, and the supervisor's pid:
//! `Serving HTTP on port N (pid P)...`.

use std::time::Duration;

use wsgiref::simple_server::{
    init_stderr_logger, make_server_with, ServerOptions, WsgiRequestHandler,
};
use wsgiref::{AppError, Environ, StartResponse};

fn which_worker(
    environ: &mut Environ<'_>,
    start_response: &mut StartResponse<'_>,
) -> Result<Vec<u8>, AppError> {
    if environ.get("PATH_INFO") == Some(b"/slow".as_slice()) {
        // Says when the request is in flight (tests signal the worker then).
        eprintln!("pid {}: slow request started", std::process::id());
        std::thread::sleep(Duration::from_millis(500));
    }
    start_response.start("200 OK", &[("Content-Type", "text/plain; charset=utf-8")])?;
    let multiprocess = environ.wsgi.is_some_and(|w| w.multiprocess);
    // The supervisor's variable is for the worker alone, not for programs it starts.
    let variable = if std::env::var_os("WSGIREF_WORKER").is_some() {
        "set"
    } else {
        "unset"
    };
    Ok(format!(
        "pid {}\nwsgi.multiprocess {multiprocess}\nWSGIREF_WORKER {variable}\n",
        std::process::id()
    )
    .into_bytes())
}

fn main() -> std::io::Result<()> {
    let args = Args::parse()
        .map_err(|message| std::io::Error::new(std::io::ErrorKind::InvalidInput, message))?;
    init_stderr_logger();
    let options = ServerOptions {
        workers: args.workers,
        // Two event loops per worker are plenty for a demonstration.
        threads: 2,
        ..ServerOptions::default()
    };
    let server = make_server_with(
        &args.bind,
        args.port,
        which_worker,
        WsgiRequestHandler,
        options,
    )?;
    server.shutdown_handle().on_termination_signals()?;
    println!(
        "Serving HTTP on port {} (pid {})...",
        server.server_address().port(),
        std::process::id()
    );
    server.serve_forever()
}

/// The command line: `[-b ADDRESS] [--workers N] [PORT]`.
struct Args {
    bind: String,
    workers: usize,
    port: u16,
}

impl Args {
    fn parse() -> Result<Args, String> {
        use lexopt::prelude::*;

        let mut args = Args {
            bind: "127.0.0.1".into(),
            workers: 2,
            port: 8000,
        };
        let mut parser = lexopt::Parser::from_env();
        while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
            let value = |parser: &mut lexopt::Parser| -> Result<String, String> {
                parser
                    .value()
                    .map_err(|e| e.to_string())?
                    .string()
                    .map_err(|e| e.to_string())
            };
            match arg {
                Short('b') | Long("bind") => args.bind = value(&mut parser)?,
                Long("workers") => {
                    let n = value(&mut parser)?;
                    args.workers = n
                        .parse()
                        .map_err(|_| format!("--workers: not a number: {n:?}"))?;
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
