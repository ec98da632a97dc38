//! Serve a directory over HTTP: the closing example of Python's `wsgiref` documentation,
//! grown into something a browser is happy with, with the command line of
//! `python3 -m http.server`.
//!
//! ```text
//! cargo run --release --example serve -- [-h] [-b ADDRESS] [-d DIRECTORY] [--no-dotfiles]
//!     [--protocol PROTOCOL] [--workers N] [--proxy-protocol] [--forwarded-allow-ips LIST] [port]
//! ```
//!
//! `--protocol fastcgi|scgi|uwsgi` serves the directory behind a front end (nginx's
//! `fastcgi_pass`, ...) through `wsgiref::gateway_server`; `-b unix:/path` then binds a Unix
//! socket. Its first line reads `Serving FastCGI on 127.0.0.1 port 9000 ...` or
//! `Serving SCGI on unix:/path ...`.
//!
//! `DIRECTORY` defaults to the current directory, `port` to 8000 (0 picks a free port),
//! `ADDRESS` to 127.0.0.1. The first line of output names the address and the URL to open:
//! `Serving HTTP on 127.0.0.1 port 8000 (http://127.0.0.1:8000/) ...`. Bad arguments get the
//! usage and an error on stderr, exit status 2; `--help` explains every option.
//!
//! It listens on 127.0.0.1 unless told otherwise: a directory server reachable from the whole
//! network by default would publish whatever folder it was started in. `-b 0.0.0.0` (or
//! `-b ::`) opens it up, as a deliberate choice.
//!
//! What it answers (details in `examples/serve/site.rs`): GET and HEAD (405 with `Allow`
//! otherwise), `index.html` for a directory or else a listing with sizes and dates, a 301
//! from `/dir` to `/dir/`, content types from `mime_guess`, `ETag` and `Last-Modified` with
//! the conditional requests of RFC 9110 §13 (304, 412), single `Range` requests → 206 (416
//! past the end). Paths that try to leave the directory (`..`, `%2e%2e`, backslashes, NUL,
//! symlinks pointing outside) get the same 404 as a missing file.

#[path = "serve/mod.rs"]
mod serve;

use std::io::Write as _;
use std::process::ExitCode;

use wsgiref::gateway_server::{make_gateway_server_with, ListenAddress};
use wsgiref::simple_server::{
    init_stderr_logger, make_server_with, ServerOptions, WsgiRequestHandler,
};

use serve::cli::{self, Command, HELP, USAGE};
use serve::{Dotfiles, StaticFiles};

fn main() -> ExitCode {
    let options = match cli::parse(std::env::args_os().skip(1)) {
        Ok(Command::Serve(options)) => options,
        Ok(Command::Help) => {
            // Not `println!`: `serve --help | head` closes the pipe early, which is no error.
            let _ = writeln!(std::io::stdout(), "{USAGE}\n\n{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            // argparse's shape and status, so scripts treat both servers alike.
            eprintln!("{USAGE}\nserve: error: {message}");
            return ExitCode::from(2);
        }
    };
    let dotfiles = if options.hide_dotfiles {
        Dotfiles::Hide
    } else {
        Dotfiles::Show
    };
    let app = match StaticFiles::new(&options.directory) {
        Ok(app) => app.with_dotfiles(dotfiles),
        Err(e) => {
            eprintln!("serve: cannot serve {}: {e}", options.directory.display());
            return ExitCode::FAILURE;
        }
    };
    let root = app.root().to_path_buf();
    init_stderr_logger();
    let server_options = ServerOptions {
        proxy_protocol: options.proxy_protocol,
        forwarded_allow_ips: options.forwarded_allow_ips.clone(),
        workers: options.workers,
        ..ServerOptions::default()
    };
    if let Some(protocol) = options.protocol {
        let address = options.gateway_address();
        return serve_gateway(protocol, &address, app, server_options, &root);
    }
    let server = match make_server_with(
        &options.bind,
        options.port,
        app,
        WsgiRequestHandler,
        server_options,
    ) {
        Ok(server) => server,
        Err(e) => {
            eprintln!(
                "serve: cannot listen on {} port {}: {e}",
                options.bind, options.port
            );
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = server.shutdown_handle().on_termination_signals() {
        eprintln!("serve: cannot install the SIGINT/SIGTERM handler: {e}");
        return ExitCode::FAILURE;
    }
    let address = server.server_address();
    // A closed stdout (a script that read this line and went away) must not stop the server,
    // so the error is ignored rather than panicking as `println!` would.
    let _ = writeln!(
        std::io::stdout(),
        "Serving HTTP on {} port {} ({}) ...",
        address.ip(),
        address.port(),
        cli::url(address)
    );
    // On stderr with the access log: stdout holds the one line scripts wait for.
    eprintln!("Directory: {}", root.display());
    exit_code(server.serve_forever())
}

/// What `serve_forever` returned, as the process's exit status.
fn exit_code(served: std::io::Result<()>) -> ExitCode {
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("serve: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Serve the directory to a front end in a gateway protocol.
fn serve_gateway(
    protocol: wsgiref::gateway::Protocol,
    address: &str,
    app: StaticFiles,
    options: ServerOptions,
    root: &std::path::Path,
) -> ExitCode {
    let name = cli::protocol_name(protocol);
    let server = match make_gateway_server_with(protocol, address, app, options) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("serve: cannot listen on {address}: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = server.shutdown_handle().on_termination_signals() {
        eprintln!("serve: cannot install the SIGINT/SIGTERM handler: {e}");
        return ExitCode::FAILURE;
    }
    let _ = match server.local_address() {
        ListenAddress::Tcp(a) => writeln!(
            std::io::stdout(),
            "Serving {name} on {} port {} ...",
            a.ip(),
            a.port()
        ),
        unix => writeln!(std::io::stdout(), "Serving {name} on {unix} ..."),
    };
    eprintln!("Directory: {}", root.display());
    exit_code(server.serve_forever())
}
