//! The command line, shaped like `python3 -m http.server`'s:
//! `serve [-h] [-b ADDRESS] [-d DIRECTORY] [--no-dotfiles] [--protocol PROTOCOL] [--workers N]
//! [--proxy-protocol] [--forwarded-allow-ips LIST] [port]`.
//!
//! Parsed with [`lexopt`]: four options do not pay for a derive macro's compile time (the
//! example is built by `cargo test` on every run), and `lexopt` still does the fiddly parts
//! (`-bADDR`, `--bind=ADDR`, `--`, non-UTF-8 paths) for one dependency-free crate. Errors
//! follow `argparse`: usage and a message on stderr, exit status 2.

use std::ffi::OsString;
use std::path::PathBuf;

use wsgiref::gateway::Protocol;
use wsgiref::simple_server::ForwardedAllowIps;

/// The port when none is given, as in `python3 -m http.server`.
pub const DEFAULT_PORT: u16 = 8000;
/// The address when `-b` is not given. Loopback only: a directory server reachable from the
/// whole network by default would publish whatever folder it was started in.
pub const DEFAULT_BIND: &str = "127.0.0.1";

/// One line of usage, printed before every error and at the top of `--help`.
pub const USAGE: &str = "usage: serve [-h] [-b ADDRESS] [-d DIRECTORY] [--no-dotfiles] \
[--protocol PROTOCOL] [--workers N] [--proxy-protocol] [--forwarded-allow-ips LIST] [port]";

/// The `--help` text (after [`USAGE`]).
pub const HELP: &str = "\
Serve the files of a directory over HTTP, like `python3 -m http.server`.

positional arguments:
  port                  bind to this port (default: 8000; 0 picks a free one)

options:
  -h, --help            show this help message and exit
  -b ADDRESS, --bind ADDRESS
                        bind to this address (default: 127.0.0.1, this machine
                        only: anyone who can reach the port can read every file
                        in DIRECTORY, so opening it to the network is your
                        explicit choice, e.g. `-b 0.0.0.0` or `-b ::`)
  -d DIRECTORY, --directory DIRECTORY
                        serve this directory (default: the current directory)
  --no-dotfiles         neither list nor serve names starting with `.` (by
                        default they are, as python3 -m http.server does)
  --protocol PROTOCOL   http (the default), or fastcgi, scgi or uwsgi to serve
                        behind a front end such as nginx; with these, ADDRESS
                        may be unix:/path/to.sock (a Unix socket; port ignored)
  --proxy-protocol      every connection starts with a PROXY protocol header
                        (v1 or v2, as HAProxy's send-proxy sends): its source
                        is the client's address; a connection without one is
                        closed
  --forwarded-allow-ips LIST
                        trust the Forwarded and X-Forwarded-For/-Proto/-Host
                        headers of these peers (addresses and networks, such as
                        127.0.0.1,10.0.0.0/8, or * for all; default: none)
  --workers N           serve from N worker processes under a supervisor that
                        restarts any that dies; SIGHUP replaces them all without
                        dropping a connection (default: 0, serve in this process)

Files get ETag, Last-Modified and `Cache-Control: no-cache` (the browser keeps a
copy but asks each time, so an edited file shows on reload); conditional
requests (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since,
If-Range) and single byte ranges are honoured. Symlinks are followed only
within DIRECTORY. Stop with Ctrl-C.";

/// What the command line asked for.
// Built once per run: boxing `Options` (large since it holds the trusted-proxy list) would
// buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Print [`USAGE`] and [`HELP`] to stdout and exit 0.
    Help,
    /// Serve a directory.
    Serve(Options),
}

/// The settings of a `serve` run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Address to bind (`-b`).
    pub bind: String,
    /// Port to bind (positional).
    pub port: u16,
    /// Directory to serve (`-d`).
    pub directory: PathBuf,
    /// Hide names starting with `.` (`--no-dotfiles`).
    pub hide_dotfiles: bool,
    /// `--protocol fastcgi|scgi|uwsgi`: a gateway server; `None` (`http`) the HTTP one.
    pub protocol: Option<Protocol>,
    /// Expect a PROXY protocol header on every connection (`--proxy-protocol`).
    pub proxy_protocol: bool,
    /// Peers whose forwarding headers count (`--forwarded-allow-ips`).
    pub forwarded_allow_ips: ForwardedAllowIps,
    /// Worker processes (`--workers`, `ServerOptions::workers`); 0 serves in this process.
    pub workers: usize,
}

impl Options {
    /// The gateway server's address: `unix:/path` as given, else `HOST:PORT`.
    pub fn gateway_address(&self) -> String {
        if self.bind.starts_with("unix:") {
            self.bind.clone()
        } else if self.bind.contains(':') && !self.bind.starts_with('[') {
            format!("[{}]:{}", self.bind, self.port)
        } else {
            format!("{}:{}", self.bind, self.port)
        }
    }
}

/// The protocol's name in the start-up line.
pub fn protocol_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::FastCgi => "FastCGI",
        Protocol::Scgi => "SCGI",
        Protocol::Uwsgi => "uwsgi",
    }
}

/// Parse the arguments after the program name. The error is the message for `serve: error:`.
pub fn parse<I>(args: I) -> Result<Command, String>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    use lexopt::prelude::*;

    let mut parser = lexopt::Parser::from_args(args);
    let mut options = Options {
        bind: DEFAULT_BIND.to_string(),
        port: DEFAULT_PORT,
        directory: PathBuf::from("."),
        hide_dotfiles: false,
        protocol: None,
        proxy_protocol: false,
        forwarded_allow_ips: ForwardedAllowIps::none(),
        workers: 0,
    };
    let mut port_seen = false;
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help),
            Short('b') | Long("bind") => {
                let value = parser.value().map_err(|e| e.to_string())?;
                options.bind = value
                    .into_string()
                    .map_err(|v| format!("ADDRESS is not valid text: {v:?}"))?;
                if options.bind.is_empty() {
                    return Err("ADDRESS must not be empty".to_string());
                }
            }
            Short('d') | Long("directory") => {
                options.directory = PathBuf::from(parser.value().map_err(|e| e.to_string())?);
            }
            Long("no-dotfiles") => options.hide_dotfiles = true,
            Long("protocol") => {
                let value = parser.value().map_err(|e| e.to_string())?;
                options.protocol = match value.to_string_lossy().as_ref() {
                    "http" => None,
                    "fastcgi" => Some(Protocol::FastCgi),
                    "scgi" => Some(Protocol::Scgi),
                    "uwsgi" => Some(Protocol::Uwsgi),
                    other => {
                        return Err(format!(
                            "PROTOCOL must be http, fastcgi, scgi or uwsgi, not {other:?}"
                        ))
                    }
                };
            }
            Long("proxy-protocol") => options.proxy_protocol = true,
            Long("forwarded-allow-ips") => {
                let value = parser.value().map_err(|e| e.to_string())?;
                let list = value.to_string_lossy();
                options.forwarded_allow_ips = list
                    .parse()
                    .map_err(|e| format!("--forwarded-allow-ips {list:?}: {e}"))?;
            }
            Long("workers") => {
                let value = parser.value().map_err(|e| e.to_string())?;
                let text = value.to_string_lossy();
                options.workers = text
                    .parse()
                    .map_err(|_| format!("--workers must be a number, not {text:?}"))?;
            }
            Value(value) if !port_seen => {
                port_seen = true;
                options.port = port(&value)?;
            }
            Value(value) => {
                return Err(format!(
                    "unrecognized argument: {}",
                    value.to_string_lossy()
                ));
            }
            other => return Err(other.unexpected().to_string()),
        }
    }
    Ok(Command::Serve(options))
}

fn port(value: &std::ffi::OsStr) -> Result<u16, String> {
    let text = value.to_string_lossy();
    text.parse::<u16>().map_err(|_| {
        let hint = if std::path::Path::new(value).is_dir() {
            format!(" (to serve the directory, use -d {text})")
        } else {
            String::new()
        };
        format!("port must be a number from 0 to 65535, not {text:?}{hint}")
    })
}

/// The URL to open for a server bound to `address` (an IPv6 host goes in brackets).
pub fn url(address: std::net::SocketAddr) -> String {
    match address {
        std::net::SocketAddr::V4(v4) => format!("http://{}:{}/", v4.ip(), v4.port()),
        std::net::SocketAddr::V6(v6) => format!("http://[{}]:{}/", v6.ip(), v6.port()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> Options {
        match parse(args.iter().copied()) {
            Ok(Command::Serve(options)) => options,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn defaults_and_forms() {
        let default = serve(&[]);
        assert_eq!(
            default,
            Options {
                bind: "127.0.0.1".into(),
                port: 8000,
                directory: ".".into(),
                hide_dotfiles: false,
                protocol: None,
                proxy_protocol: false,
                forwarded_allow_ips: ForwardedAllowIps::none(),
                workers: 0,
            }
        );
        let o = serve(&[
            "--proxy-protocol",
            "--forwarded-allow-ips",
            "10.0.0.0/8,::1",
        ]);
        assert!(o.proxy_protocol);
        assert!(o.forwarded_allow_ips.trusts("10.1.1.1".parse().unwrap()));
        assert!(!o.forwarded_allow_ips.trusts("127.0.0.1".parse().unwrap()));
        let o = serve(&["-b", "::", "-d", "/tmp", "--no-dotfiles", "9000"]);
        assert_eq!((o.bind.as_str(), o.port), ("::", 9000));
        assert_eq!(o.directory, PathBuf::from("/tmp"));
        assert!(o.hide_dotfiles);
        let o = serve(&["--bind=0.0.0.0", "--directory", "x", "0"]);
        assert_eq!((o.bind.as_str(), o.port), ("0.0.0.0", 0));
        assert_eq!(o.directory, PathBuf::from("x"));
        let o = serve(&["--protocol", "fastcgi", "-b", "unix:/run/s.sock"]);
        assert_eq!(o.protocol, Some(Protocol::FastCgi));
        assert_eq!(o.gateway_address(), "unix:/run/s.sock");
        let o = serve(&["--protocol=uwsgi", "-b", "::1", "9000"]);
        assert_eq!(o.protocol, Some(Protocol::Uwsgi));
        assert_eq!(o.gateway_address(), "[::1]:9000");
        assert_eq!(serve(&["--protocol", "http"]).protocol, None);
        assert_eq!(serve(&["--workers", "3"]).workers, 3);
        assert_eq!(parse(["-h"]), Ok(Command::Help));
        assert_eq!(parse(["9000", "--help"]), Ok(Command::Help));
    }

    #[test]
    fn errors() {
        for bad in [
            &["--forwarded-allow-ips", "10.0.0.1/8"][..],
            &["--forwarded-allow-ips"],
            &["-p", "9000"],
            &["--port", "9000"],
            &["70000"],
            &["abc"],
            &["1", "2"],
            &["-b"],
            &["-d"],
            &["-b", ""],
            &["--protocol", "gopher"],
            &["--protocol"],
            &["--workers", "many"],
            &["--workers"],
        ] {
            assert!(parse(bad.iter().copied()).is_err(), "{bad:?}");
        }
        let e = parse(["/"]).unwrap_err();
        assert!(e.contains("use -d /"), "{e}");
    }

    #[test]
    fn urls() {
        assert_eq!(
            url("127.0.0.1:8000".parse().unwrap()),
            "http://127.0.0.1:8000/"
        );
        assert_eq!(url("[::1]:80".parse().unwrap()), "http://[::1]:80/");
    }
}
