//! The gateway server behind Apache (`mod_proxy_fcgi`, `mod_proxy_scgi`) and lighttpd
//! (`mod_fastcgi`, `mod_scgi`): one application answers the same requests through each, with
//! the same environ (the documented differences aside), and each front end is checked with a
//! 1 MiB upload read through `wsgi.input`, a 300 KB streamed response, an application error,
//! a client that hangs up mid-response, and backend connection reuse where the front end
//! supports it.
//!
//! Each test starts its front end itself, with its own config file in a temporary directory
//! (tests/apache/gateway.conf.in, tests/lighttpd/gateway.conf.in), on a free port of
//! 127.0.0.1, and stops it with SIGTERM. A missing front end fails the test (`.ci/run`
//! installs apache2 and lighttpd); it never skips.

mod gateway_support;

use std::path::Path;
use std::process::Command;

use gateway_support::*;
use wsgiref::gateway::Protocol;

fn fill(template: &str, dir: &Path, port: u16, fcgi: u16, scgi: u16) -> String {
    template
        .replace("@DIR@", dir.to_str().unwrap())
        .replace("@PORT@", &port.to_string())
        .replace("@FCGI_PORT@", &fcgi.to_string())
        .replace("@SCGI_PORT@", &scgi.to_string())
}

fn start_apache(fcgi: u16, scgi: u16) -> FrontEnd {
    let apache2 = binary(&["/usr/sbin/apache2", "/usr/sbin/httpd"], "apache2");
    let dir = TempDir::new("apache");
    let port = free_port();
    let conf = dir.0.join("apache2.conf");
    let text = fill(
        include_str!("apache/gateway.conf.in"),
        &dir.0,
        port,
        fcgi,
        scgi,
    );
    std::fs::write(&conf, text).unwrap();
    let mut command = Command::new(apache2);
    // -X: one process, in the foreground; SIGTERM stops it.
    command.arg("-X").arg("-f").arg(&conf);
    // Apache passes its own PATH (and LD_LIBRARY_PATH, if set) on to the backend: a clean
    // environment keeps the test's out of the environ.
    command
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    let log = dir.0.join("error.log");
    FrontEnd::start("apache2", command, port, log, dir)
}

fn start_lighttpd(fcgi: u16, scgi: u16) -> FrontEnd {
    let lighttpd = binary(&["/usr/sbin/lighttpd"], "lighttpd");
    let dir = TempDir::new("lighttpd");
    let port = free_port();
    let conf = dir.0.join("lighttpd.conf");
    let text = fill(
        include_str!("lighttpd/gateway.conf.in"),
        &dir.0,
        port,
        fcgi,
        scgi,
    );
    std::fs::write(&conf, text).unwrap();
    let mut command = Command::new(lighttpd);
    command.arg("-D").arg("-f").arg(&conf);
    let log = dir.0.join("error.log");
    FrontEnd::start("lighttpd", command, port, log, dir)
}

/// Everything but keep-conn, through one front end and one protocol. Returns the report of
/// `GET /P/app/extra/path?a=1&b=%20x`.
fn exercise(front: &FrontEnd, protocol: Protocol, backend: &Backend) -> String {
    let p = prefix(protocol);
    let who = format!("{} {protocol:?}", front.name);
    let r = exercise_common(front, p, &who);

    // A client that hangs up mid-response: the front end drops the backend connection, the
    // server stops the response and closes the body (close() ran, short of the cap)...
    hang_up_mid_response(front, backend, &format!("/{p}/app/endless"), &who);
    // ... and serves on.
    let again = report(front, &format!("/{p}/app/again"), None);
    assert_eq!(field(&again, "env PATH_INFO"), Some("/again"), "{who}");

    r
}

/// The variables every front end and protocol must pass alike (after the location prefix
/// and the front end's port): what a WSGI application relies on.
const CONTRACT: &[&str] = &[
    "REQUEST_METHOD",
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
    "REQUEST_URI",
    "SERVER_PROTOCOL",
    "SERVER_NAME",
    "SERVER_PORT",
    "SERVER_ADDR",
    "REMOTE_ADDR",
    "REQUEST_SCHEME",
    "HTTP_HOST",
    "HTTP_X_TEST",
    "HTTP_ACCEPT",
];

/// The contract variables of a report, the prefix replaced by `/P/` and the front end's
/// port by `PORT`, followed by the `wsgi` line.
fn contract(report: &str, prefix: &str, port: u16) -> Vec<String> {
    let mut lines: Vec<String> = CONTRACT
        .iter()
        .map(|name| {
            let value = field(report, &format!("env {name}")).unwrap_or("<absent>");
            format!("{name}={}", value.replace(&format!("/{prefix}/"), "/P/"))
                .replace(&port.to_string(), "PORT")
        })
        .collect();
    lines.extend(
        report
            .lines()
            .filter(|l| l.starts_with("wsgi "))
            .map(String::from),
    );
    lines
}

/// What the contract variables must be for `GET /P/app/extra/path?a=1&b=%20x` (curl, with
/// `X-Test: hello`).
const EXPECTED_CONTRACT: &[&str] = &[
    "REQUEST_METHOD=GET",
    "SCRIPT_NAME=/P/app",
    "PATH_INFO=/extra/path",
    "QUERY_STRING=a=1&b=%20x",
    "REQUEST_URI=/P/app/extra/path?a=1&b=%20x",
    "SERVER_PROTOCOL=HTTP/1.1",
    "SERVER_NAME=127.0.0.1",
    "SERVER_PORT=PORT",
    "SERVER_ADDR=127.0.0.1",
    "REMOTE_ADDR=127.0.0.1",
    "REQUEST_SCHEME=http",
    "HTTP_HOST=127.0.0.1:PORT",
    "HTTP_X_TEST=hello",
    "HTTP_ACCEPT=*/*",
    "wsgi url_scheme=http multithread=true multiprocess=false run_once=false",
];

/// The whole environ of a report, sorted, without what differs by connection or backend
/// (`REMOTE_PORT`, and `SCRIPT_FILENAME`, which Apache makes `proxy:fcgi://HOST:PORT/...`),
/// the prefix replaced by `/P/`, and the documented per-protocol differences of `front`
/// (see `documented_differences`) taken out.
fn comparable(report: &str, prefix: &str, documented: &[&str]) -> Vec<String> {
    let mut lines: Vec<String> = report
        .lines()
        .filter(|l| l.starts_with("env ") || l.starts_with("wsgi "))
        .filter(|l| !l.starts_with("env REMOTE_PORT=") && !l.starts_with("env SCRIPT_FILENAME="))
        .filter(|l| !documented.contains(l))
        .map(|l| l.replace(&format!("/{prefix}/"), "/P/"))
        .collect();
    lines.sort();
    lines
}

/// Checks the environs of one front end: both protocols pass the contract, and FastCGI and
/// SCGI pass the same environ but for the front end's documented differences.
fn same_environ(front: &FrontEnd, fcgi: &str, scgi: &str, scgi_only: &[&str], fcgi_only: &[&str]) {
    for (report, p) in [(fcgi, "fcgi"), (scgi, "scgi")] {
        assert_eq!(
            contract(report, p, front.port),
            EXPECTED_CONTRACT,
            "{} {p}:\n{report}",
            front.name
        );
    }
    for line in scgi_only {
        assert!(
            scgi.lines().any(|l| l == *line),
            "{}: SCGI without {line}:\n{scgi}",
            front.name
        );
    }
    for line in fcgi_only {
        assert!(
            fcgi.lines().any(|l| l == *line),
            "{}: FastCGI without {line}:\n{fcgi}",
            front.name
        );
    }
    let documented: Vec<&str> = scgi_only.iter().chain(fcgi_only).copied().collect();
    assert_eq!(
        comparable(fcgi, "fcgi", &documented),
        comparable(scgi, "scgi", &documented),
        "{}: FastCGI and SCGI environs differ beyond the documented differences",
        front.name
    );
}

/// Four requests over FastCGI; with `reuse`, the front end keeps one backend connection and
/// carries them all over it; without, it keeps none between requests.
fn check_connections(front: &FrontEnd, protocol: Protocol, backend: &Backend, reuse: bool) {
    let who = format!("{} {protocol:?}", front.name);
    let p = prefix(protocol);
    let mut seen = Vec::new();
    for i in 0..4 {
        report(front, &format!("/{p}/app/conn/{i}"), None);
        if reuse {
            let now = established_to(backend.port);
            assert_eq!(
                now.len(),
                1,
                "{who}: backend connections after request {i}: {now:?}"
            );
            seen.push(now[0]);
        } else {
            wait_until(&format!("{who}: no backend connection kept"), || {
                established_to(backend.port).is_empty()
            });
        }
    }
    if reuse {
        assert!(
            seen.iter().all(|&port| port == seen[0]),
            "{who}: not one kept connection: {seen:?}"
        );
    }
}

#[test]
fn apache_mod_proxy_fcgi_and_scgi() {
    let fcgi = start_backend(Protocol::FastCgi);
    let scgi = start_backend(Protocol::Scgi);
    let apache = start_apache(fcgi.port, scgi.port);
    let f = exercise(&apache, Protocol::FastCgi, &fcgi);
    let s = exercise(&apache, Protocol::Scgi, &scgi);
    // Apache's documented differences between its two modules: over SCGI, CONTENT_LENGTH is
    // always sent (the protocol requires it; over FastCGI only with a body), PATH_TRANSLATED
    // is derived from PATH_INFO, and the config's proxy-scgi-pathinfo switch shows as a
    // variable. (mod_proxy_scgi sends no GATEWAY_INTERFACE; the server's base environ
    // supplies CGI/1.1 under the front end's variables, so the application sees it anyway.)
    let dir = apache.dir.0.display();
    same_environ(
        &apache,
        &f,
        &s,
        &[
            "env SCGI=1",
            "env CONTENT_LENGTH=0",
            &format!("env PATH_TRANSLATED={dir}/extra/path"),
            "env proxy-scgi-pathinfo=1",
        ],
        &[],
    );
    // enablereuse=on: mod_proxy_fcgi sets FCGI_KEEP_CONN and reuses the connection.
    check_connections(&apache, Protocol::FastCgi, &fcgi, true);
    check_connections(&apache, Protocol::Scgi, &scgi, false);
}

#[test]
fn lighttpd_mod_fastcgi_and_scgi() {
    let fcgi = start_backend(Protocol::FastCgi);
    let scgi = start_backend(Protocol::Scgi);
    let lighttpd = start_lighttpd(fcgi.port, scgi.port);
    let f = exercise(&lighttpd, Protocol::FastCgi, &fcgi);
    let s = exercise(&lighttpd, Protocol::Scgi, &scgi);
    // lighttpd passes the same variables through both modules; SCGI adds SCGI=1.
    same_environ(&lighttpd, &f, &s, &["env SCGI=1"], &[]);
    // lighttpd's mod_fastcgi never keeps a backend connection (no FCGI_KEEP_CONN): a
    // connection per request, as over SCGI.
    check_connections(&lighttpd, Protocol::FastCgi, &fcgi, false);
    check_connections(&lighttpd, Protocol::Scgi, &scgi, false);
}
