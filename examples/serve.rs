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

use std::path::PathBuf;
use std::process::ExitCode;

use wsgiref::simple_server::{init_stderr_logger, make_server};

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
    let root = app.root().to_path_buf();
    init_stderr_logger();
    let server = match make_server("127.0.0.1", port, app) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("serve: cannot listen on 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = server.shutdown_handle().on_termination_signals() {
        eprintln!("serve: cannot install the SIGINT/SIGTERM handler: {e}");
        return ExitCode::FAILURE;
    }
    let bound = server.server_address().port();
    println!(
        "serving {} on port {bound}: http://127.0.0.1:{bound}/",
        root.display()
    );
    match server.serve_forever() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("serve: {e}");
            ExitCode::FAILURE
        }
    }
}
