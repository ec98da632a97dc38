//! The seed's `hello_world_app` on a real server:
//! `cargo run --release --example hello -- [-b ADDRESS] [--protocol PROTOCOL] [--workers N]
//! [--proxy-protocol] [--forwarded-allow-ips LIST] [PORT]`.
//!
//! `-b` picks the address (default `""`: every interface, IPv6 and IPv4); port 0 picks a free
//! port (default 8000); the first line of output names the port. SIGINT or SIGTERM stop the
//! server gracefully. `--workers N` (N ≥ 1) serves from N worker processes under a supervisor
//! (`ServerOptions::workers`: SIGHUP replaces them without dropping a connection); each worker
//! prints the start-up line too. Started by systemd's socket activation, it serves the socket
//! it was given.
//!
//! `--protocol` is `http` (the default), `fastcgi`, `scgi` or `uwsgi`: the last three serve
//! a front end (nginx's `fastcgi_pass`, `scgi_pass`, `uwsgi_pass`) through
//! `wsgiref::gateway_server`, and `-b unix:/path/to.sock` binds a Unix socket instead of a
//! port (with no `-b`, a gateway server listens on every IPv4 interface, `0.0.0.0`). The
//! first line then reads `Serving FastCGI on port 9000...` or
//! `Serving uwsgi on unix:/path/to.sock...`.
//!
//! Behind a proxy (`docs/proxies.md`): `--proxy-protocol` expects a PROXY protocol header
//! (v1 or v2) at the start of every connection (`ServerOptions::proxy_protocol`), and
//! `--forwarded-allow-ips 127.0.0.1,10.0.0.0/8` (or `*`) names the peers whose `Forwarded`
//! and `X-Forwarded-*` headers count (`ServerOptions::forwarded_allow_ips`; default: none).
//!
//! For benchmarks, `WSGIREF_PLACEMENT` chooses where the event-loop workers run:
//! `none` leaves them to the scheduler, `pin` pins them to a CPU each without steering
//! connections to them; unset, the server's defaults (pinned and steered, see
//! `ServerOptions::pin_threads` and `ServerOptions::steer_connections`).

use wsgiref::gateway::Protocol;
use wsgiref::gateway_server::{make_gateway_server_with, ListenAddress};
use wsgiref::simple_server::{
    init_stderr_logger, make_server_with, ForwardedAllowIps, ServerOptions, WsgiRequestHandler,
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
        proxy_protocol: args.proxy_protocol,
        forwarded_allow_ips: args.forwarded_allow_ips,
        workers: args.workers,
        ..ServerOptions::default()
    };
    match std::env::var("WSGIREF_PLACEMENT").as_deref() {
        Ok("none") => options.pin_threads = false,
        Ok("pin") => options.steer_connections = false,
        _ => {}
    }
    if let Some(protocol) = args.protocol {
        let name = match protocol {
            Protocol::FastCgi => "FastCGI",
            Protocol::Scgi => "SCGI",
            Protocol::Uwsgi => "uwsgi",
        };
        // `-b` as the HTTP server reads it (a host; "" every interface), or a Unix socket.
        let address = &args.bind;
        let address = if address.starts_with("unix:") {
            address.clone()
        } else if address.is_empty() {
            format!("0.0.0.0:{}", args.port)
        } else if address.contains(':') && !address.starts_with('[') {
            format!("[{address}]:{}", args.port)
        } else {
            format!("{address}:{}", args.port)
        };
        let server = make_gateway_server_with(protocol, &address, hello_world_app, options)?;
        server.shutdown_handle().on_termination_signals()?;
        match server.local_address() {
            ListenAddress::Tcp(a) => println!("Serving {name} on port {}...", a.port()),
            unix => println!("Serving {name} on {unix}..."),
        }
        return server.serve_forever();
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

/// The command line: `[-b ADDRESS] [--protocol PROTOCOL] [--workers N] [--proxy-protocol]
/// [--forwarded-allow-ips LIST] [PORT]`.
struct Args {
    /// `--protocol fastcgi|scgi|uwsgi`: a gateway server; `None` (or `http`) the HTTP one.
    protocol: Option<Protocol>,
    /// Address to bind (`-b`, `--bind`); `""` is every interface.
    bind: String,
    /// Worker processes (`--workers`); 0 serves in this process.
    workers: usize,
    /// Port to bind (positional; 0 picks a free one).
    port: u16,
    /// Every connection starts with a PROXY protocol header (`--proxy-protocol`).
    proxy_protocol: bool,
    /// Peers whose forwarding headers count (`--forwarded-allow-ips`).
    forwarded_allow_ips: ForwardedAllowIps,
}

impl Args {
    fn parse() -> Result<Args, String> {
        use lexopt::prelude::*;

        let mut args = Args {
            bind: String::new(),
            workers: 0,
            port: 8000,
            protocol: None,
            proxy_protocol: false,
            forwarded_allow_ips: ForwardedAllowIps::none(),
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
                Long("protocol") => {
                    let name = parser
                        .value()
                        .map_err(|e| e.to_string())?
                        .string()
                        .map_err(|e| e.to_string())?;
                    args.protocol = match name.as_str() {
                        "http" => None,
                        "fastcgi" => Some(Protocol::FastCgi),
                        "scgi" => Some(Protocol::Scgi),
                        "uwsgi" => Some(Protocol::Uwsgi),
                        _ => {
                            return Err(format!(
                                "--protocol: {name:?} is not http, fastcgi, scgi or uwsgi"
                            ))
                        }
                    };
                }
                Long("proxy-protocol") => args.proxy_protocol = true,
                Long("forwarded-allow-ips") => {
                    let list = parser
                        .value()
                        .map_err(|e| e.to_string())?
                        .string()
                        .map_err(|e| e.to_string())?;
                    args.forwarded_allow_ips = list
                        .parse()
                        .map_err(|e| format!("--forwarded-allow-ips {list:?}: {e}"))?;
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
