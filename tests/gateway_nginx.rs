//! `wsgiref::gateway_server` behind a real front end: nginx with `fastcgi_pass` (keep-conn,
//! over TCP), `scgi_pass` (over a Unix socket) and `uwsgi_pass` (over TCP), configured by
//! `tests/nginx/gateway.conf.in` (whose blocks `docs/gateway.md` quotes), reaching one
//! application through three gateway servers.
//!
//! Checked: the environ nginx gives is the same through the three protocols (documented
//! differences aside); a 1 MiB upload streamed through `wsgi.input`; a 300 KB response of no
//! announced length; the error page; keep-conn reuse (one FastCGI connection, kept; SCGI and
//! uwsgi connections closed with each response); an upload the application leaves unread
//! (the lingering close: the response arrives whole, nginx logs no reset); a client that
//! disconnects mid-response (the application's iterator is closed, the next request is
//! answered); garbage
//! sent straight to a listener (one log line with the byte offset, the connection closed);
//! the access log; and the Unix socket file removed once the server is gone.
//!
//! nginx must be installed (`.ci/run` installs it); without it this test fails, it does not
//! skip. Talks to 127.0.0.1 only; every wait is bounded. The application, the backends,
//! the front-end process and curl come from `tests/gateway_support`.

mod gateway_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::Mutex;

use gateway_support::*;
use wsgiref::gateway::Protocol;
use wsgiref::gateway_server::{make_gateway_server_with, ListenAddress};
use wsgiref::simple_server::ServerOptions;

const ALL: [Protocol; 3] = [Protocol::FastCgi, Protocol::Scgi, Protocol::Uwsgi];

// ---------------------------------------------------------------------------------------
// The server's log lines, captured.
// ---------------------------------------------------------------------------------------

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.target().starts_with("wsgiref")
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let line = format!("{} {}: {}", record.level(), record.target(), record.args());
            LINES.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        }
    }
    fn flush(&self) {}
}

fn capture_log() {
    static CAPTURE: Capture = Capture;
    if log::set_logger(&CAPTURE).is_ok() {
        log::set_max_level(log::LevelFilter::Debug);
    }
}

fn logged() -> Vec<String> {
    LINES.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

// ---------------------------------------------------------------------------------------
// nginx.
// ---------------------------------------------------------------------------------------

/// nginx on a prefix of its own, configured by `tests/nginx/gateway.conf.in` with the three
/// backends' addresses.
fn start_nginx(fcgi: &str, scgi: &str, uwsgi: &str) -> FrontEnd {
    let nginx = binary(
        &["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"],
        "nginx",
    );
    let dir = TempDir::new("gateway-nginx");
    let port = free_port();
    // As root, nginx would run its worker as nobody, which cannot use this prefix.
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    let conf = include_str!("nginx/gateway.conf.in")
        .replace("@DIR@", dir.0.to_str().unwrap())
        .replace("@USER@", if is_root { "user root;" } else { "" })
        .replace("@FCGI_ADDRESS@", fcgi)
        .replace("@SCGI_ADDRESS@", scgi)
        .replace("@UWSGI_ADDRESS@", uwsgi)
        .replace("@NGINX_PORT@", &port.to_string());
    let conf_path = dir.0.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let log = dir.0.join("error.log");
    let mut command = Command::new(nginx);
    command
        .arg("-p")
        .arg(&dir.0)
        .arg("-c")
        .arg(&conf_path)
        .arg("-e")
        .arg(&log);
    FrontEnd::start("nginx", command, port, log, dir)
}

/// The environ lines of a report, with the documented differences between the protocols
/// taken out: the location prefix (`/fcgi`, `/scgi`, `/uwsgi`) in SCRIPT_NAME and
/// REQUEST_URI; SCGI's `SCGI=1`; and CONTENT_LENGTH, which nginx always sends over SCGI
/// (`0` for a GET) and sends empty over FastCGI and uwsgi when the request has no body.
fn comparable_environ(report: &str, prefix: &str) -> Vec<String> {
    let mut lines: Vec<String> = report
        .lines()
        .filter(|l| l.starts_with("env ") || l.starts_with("wsgi "))
        .filter(|l| *l != "env SCGI=1")
        .map(|l| match l {
            "env CONTENT_LENGTH=0" => "env CONTENT_LENGTH=".to_string(),
            l => l.replace(&format!("/{prefix}/"), "/P/"),
        })
        .collect();
    lines.sort();
    lines
}

#[test]
fn nginx_reaches_one_application_through_the_three_gateway_servers() {
    capture_log();
    let socket_dir = TempDir::new("gateway-sock");
    let scgi_socket = socket_dir.0.join("scgi.sock");
    // A stale socket file from a server that died: replaced, since nothing answers on it.
    drop(std::os::unix::net::UnixListener::bind(&scgi_socket).unwrap());
    assert!(scgi_socket.exists());

    let fcgi = start_backend(Protocol::FastCgi);
    let scgi = start_backend_at(Protocol::Scgi, &format!("unix:{}", scgi_socket.display()));
    let uwsgi = start_backend(Protocol::Uwsgi);
    assert_eq!(
        scgi.server.local_address(),
        &ListenAddress::Unix(scgi_socket.clone())
    );
    // A live socket is refused, never replaced.
    let taken = make_gateway_server_with(
        Protocol::Scgi,
        &format!("unix:{}", scgi_socket.display()),
        ReportApp {
            state: Default::default(),
        },
        ServerOptions::default(),
    );
    assert_eq!(
        taken.err().map(|e| e.kind()),
        Some(std::io::ErrorKind::AddrInUse)
    );

    let nginx = start_nginx(&fcgi.upstream(), &scgi.upstream(), &uwsgi.upstream());
    let upload_path = nginx.dir.0.join("upload.bin");
    let upload = pattern(UPLOAD);
    std::fs::write(&upload_path, &upload).unwrap();

    let mut environs = Vec::new();
    for proto in ALL {
        let p = prefix(proto);
        let r = exercise_common(&nginx, p, &format!("nginx {proto:?}"));
        let ctx = format!("{proto:?}:\n{r}");
        // The params as nginx passes them, beyond the common ones.
        assert_eq!(
            field(&r, "env REQUEST_URI"),
            Some(format!("/{p}/app/extra/path?a=1&b=%20x").as_str()),
            "{ctx}"
        );
        assert_eq!(field(&r, "env REMOTE_ADDR"), Some("127.0.0.1"), "{ctx}");
        // The server's base environ lies under the front end's variables.
        assert_eq!(field(&r, "env GATEWAY_INTERFACE"), Some("CGI/1.1"), "{ctx}");
        if proto == Protocol::Scgi {
            // nginx puts CONTENT_LENGTH first and SCGI=1, as the specification requires:
            // they follow the base environ's two variables.
            let env: Vec<&str> = r.lines().filter(|l| l.starts_with("env ")).collect();
            assert_eq!(env[2..4], ["env CONTENT_LENGTH=0", "env SCGI=1"], "{ctx}");
        }
        environs.push(comparable_environ(&r, p));
    }
    // The same application saw the same environ through all three, differences aside.
    assert_eq!(environs[0], environs[1], "FastCGI and SCGI environs differ");
    assert_eq!(
        environs[0], environs[2],
        "FastCGI and uwsgi environs differ"
    );

    // Keep-conn: the FastCGI requests come over one connection, which the server keeps open
    // because nginx set FCGI_KEEP_CONN. (The error page above closed the connection it was
    // sent on: the first request opens the one kept.)
    report(&nginx, "/fcgi/app/one", None);
    let kept = established_to(fcgi.port);
    assert_eq!(
        kept.len(),
        1,
        "FastCGI connections to the backend: {kept:?}"
    );
    for path in ["/fcgi/app/two", "/fcgi/app/three"] {
        report(&nginx, path, None);
        assert_eq!(established_to(fcgi.port), kept, "after {path}");
    }
    wait_until("one FastCGI connection open in the server", || {
        fcgi.server.open_connections() == 1
    });
    // SCGI and uwsgi: a connection per request, closed with the response.
    for backend in [&scgi, &uwsgi] {
        wait_until("no SCGI or uwsgi connection kept", || {
            backend.server.open_connections() == 0
        });
    }
    // The access log: the front end's REMOTE_ADDR and the request line.
    let lines = logged();
    assert!(
        lines.iter().any(|l| {
            l.starts_with("INFO wsgiref::access: 127.0.0.1 - - [")
                && l.contains("] \"GET /fcgi/app/one HTTP/1.1\" 200 ")
        }),
        "{lines:#?}"
    );

    // An upload the application does not read: SCGI and uwsgi close the connection after the
    // response with the body unread. The lingering close lets nginx read the whole response
    // (a close with unread bytes would reset the connection under it).
    for proto in [Protocol::Scgi, Protocol::Uwsgi] {
        let p = prefix(proto);
        for _ in 0..3 {
            let (status, body) = curl(&nginx, &format!("/{p}/app/ignore"), Some(&upload_path));
            assert_eq!(
                (status, body.as_slice()),
                (200, &b"ignored the body\n"[..]),
                "{proto:?}: {}",
                nginx.log()
            );
        }
    }
    let errors = nginx.log();
    assert!(!errors.contains("reset"), "nginx saw a reset:\n{errors}");

    // A client that disconnects mid-response: nginx closes the upstream connection, the
    // application's iterator is closed, the servers serve on.
    for (proto, backend) in [(Protocol::FastCgi, &fcgi), (Protocol::Uwsgi, &uwsgi)] {
        let p = prefix(proto);
        hang_up_mid_response(
            &nginx,
            backend,
            &format!("/{p}/app/endless"),
            &format!("{proto:?}"),
        );
        let r = report(&nginx, &format!("/{p}/app/after"), None);
        assert_eq!(field(&r, "env PATH_INFO"), Some("/after"), "{proto:?}");
    }
    let lines = logged();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("front end closed the connection")),
        "{lines:#?}"
    );

    // Garbage straight to a listener: one log line saying what and where, the connection
    // closed, the server serving on.
    let ListenAddress::Tcp(fcgi_address) = *fcgi.server.local_address() else {
        unreachable!()
    };
    let mut raw = TcpStream::connect(fcgi_address).unwrap();
    raw.set_read_timeout(Some(WAIT)).unwrap();
    raw.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut rest = Vec::new();
    match raw.read_to_end(&mut rest) {
        Ok(_) => assert!(rest.is_empty(), "answered garbage: {rest:?}"),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
    wait_until("the protocol error is logged", || {
        logged().iter().any(|l| {
            l.starts_with("WARN wsgiref::gateway: ")
                && l.contains("FastCGI protocol error: ")
                && l.contains(" at byte ")
        })
    });
    let r = report(&nginx, "/fcgi/app/still", None);
    assert_eq!(field(&r, "env PATH_INFO"), Some("/still"));

    drop(nginx);
    // Stopped (dropped: serve_forever returned, or the drop fails): the Unix socket file goes
    // with the server.
    drop((fcgi, uwsgi, scgi));
    assert!(
        !scgi_socket.exists(),
        "{} left behind",
        scgi_socket.display()
    );
}

/// `docs/gateway.md` quotes the nginx blocks this test runs, verbatim but for the addresses.
#[test]
fn the_guide_quotes_the_nginx_configuration_this_test_runs() {
    let docs = include_str!("../docs/gateway.md");
    let template: Vec<&str> = include_str!("nginx/gateway.conf.in")
        .lines()
        .map(str::trim)
        .collect();
    let mut quoted = 0;
    for block in docs.split("```nginx\n").skip(1) {
        let block = &block[..block.find("```").expect("an unclosed ```nginx block")];
        let lines: Vec<String> = block
            .lines()
            .map(|l| {
                l.trim()
                    .replace("127.0.0.1:9000", "@FCGI_ADDRESS@")
                    .replace("unix:/run/app/scgi.sock", "@SCGI_ADDRESS@")
                    .replace("127.0.0.1:9001", "@UWSGI_ADDRESS@")
            })
            .collect();
        assert!(
            template
                .windows(lines.len())
                .any(|w| w.iter().zip(&lines).all(|(a, b)| a == b)),
            "docs/gateway.md quotes a block that tests/nginx/gateway.conf.in does not hold:\n{block}"
        );
        quoted += 1;
    }
    assert_eq!(quoted, 4, "the FastCGI upstream and the three locations");
}
