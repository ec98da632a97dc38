//! The PROXY protocol decoder and the trusted-proxy resolver against a real HAProxy:
//! `send-proxy` (version 1) and `send-proxy-v2` in HTTP mode with `option forwardfor`, and
//! `send-proxy-v2` in TCP mode, to a test-only listener that decodes what HAProxy really
//! sends with `wsgiref::proxy` and reports it; then HAProxy in front of the real server
//! (`make_server_with`), once with `send-proxy-v2` to a server with
//! `ServerOptions::proxy_protocol`, once with `option forwardfor` alone to a server whose
//! `ServerOptions::forwarded_allow_ips` names HAProxy, and the application reports what it
//! sees. The second configuration is the one `docs/proxies.md` shows.
//!
//! HAProxy connects to the listener from 127.0.0.5 (`source` on the server line), so the
//! socket's peer is the proxy and the client (127.0.0.1) is known only from the PROXY header
//! and `X-Forwarded-For`. The client forges an `X-Forwarded-For` of its own, which must not
//! win. The listener is test scaffolding, not the product's listener, which comes with the
//! server rework (docs/proxies.md). HAProxy must be installed (`.ci/run` installs it); without
//! it this test fails, it does not skip. Talks to 127.x only; every wait is bounded.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use wsgiref::app::app_fn;
use wsgiref::proxy::forwarded::{Headers, ProxyHeaders, ProxyPolicy, TrustedProxies};
use wsgiref::proxy::protocol::{Decoder, Header};
use wsgiref::simple_server::{make_server_with, ServerOptions, WsgiRequestHandler};
use wsgiref::{AppError, Environ, StartResponse};

/// The longest a socket operation may wait.
const IO_LIMIT: Duration = Duration::from_secs(20);
/// Where HAProxy connects from.
const HAPROXY_SOURCE: &str = "127.0.0.5";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Read the PROXY header from `stream`; the header and the bytes read after it.
fn read_header(stream: &mut TcpStream) -> (Header, Vec<u8>) {
    let mut decoder = Decoder::default();
    let mut buf = [0u8; 512];
    loop {
        let n = stream.read(&mut buf).expect("read the PROXY header");
        assert!(n > 0, "connection closed inside the PROXY header");
        match decoder.feed(&buf[..n]) {
            Ok((used, Some(header))) => return (header, buf[used..n].to_vec()),
            Ok((_, None)) => {}
            Err(e) => panic!("HAProxy's header refused: {e}"),
        }
    }
}

/// Serve one connection: decode the PROXY header, then (HTTP mode) the request head, and
/// answer with a report of what was found.
fn serve(mut stream: TcpStream, http: bool) {
    stream.set_read_timeout(Some(IO_LIMIT)).unwrap();
    stream.set_write_timeout(Some(IO_LIMIT)).unwrap();
    let peer = stream.peer_addr().unwrap();
    let (header, mut rest) = read_header(&mut stream);
    let mut report = format!(
        "peer={}\nversion={:?}\ncommand={:?}\nsource={}\ndestination={}\n",
        peer.ip(),
        header.version,
        header.command,
        header.source().map(|s| s.to_string()).unwrap_or_default(),
        header
            .destination()
            .map(|s| s.to_string())
            .unwrap_or_default(),
    );
    if !http {
        // TCP mode: the client's first line follows the header.
        while !rest.contains(&b'\n') {
            let mut buf = [0u8; 256];
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0);
            rest.extend_from_slice(&buf[..n]);
        }
        report.push_str(&format!("data={}", String::from_utf8_lossy(&rest)));
        stream.write_all(report.as_bytes()).unwrap();
        return;
    }
    while !rest.windows(4).any(|w| w == b"\r\n\r\n") {
        let mut buf = [0u8; 1024];
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed inside the request head");
        rest.extend_from_slice(&buf[..n]);
    }
    let mut fields = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut fields);
    request.parse(&rest).unwrap();
    let xff: Vec<&[u8]> = request
        .headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("x-forwarded-for"))
        .map(|h| h.value)
        .collect();
    report.push_str(&format!("xff_lines={}\n", xff.len()));
    let policy = ProxyPolicy::new(TrustedProxies::<1>::parse(HAPROXY_SOURCE).unwrap());
    let headers = ProxyHeaders {
        x_forwarded_for: &xff,
        ..ProxyHeaders::default()
    };
    // Trust decided on the socket's peer (HAProxy): X-Forwarded-For counts.
    let by_socket = policy.resolve(peer.ip(), &headers);
    report.push_str(&format!(
        "xff_client={}\n",
        by_socket.client.map(|c| c.to_string()).unwrap_or_default()
    ));
    // Trust decided on the PROXY header's source, as a listener with the PROXY protocol on
    // will: the client is not trusted, so its headers change nothing.
    let by_header = policy.resolve(header.source().unwrap().ip(), &headers);
    report.push_str(&format!(
        "xff_client_behind_proxy_protocol={:?}\n",
        by_header.client
    ));
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{report}",
        report.len()
    );
    stream.write_all(response.as_bytes()).unwrap();
}

/// HAProxy in the foreground with its own config; killed on drop.
struct Haproxy {
    child: Child,
    dir: PathBuf,
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn haproxy_binary() -> PathBuf {
    for candidate in [
        "/usr/sbin/haproxy",
        "/usr/bin/haproxy",
        "/usr/local/sbin/haproxy",
    ] {
        if Path::new(candidate).exists() {
            return candidate.into();
        }
    }
    panic!(
        "HAProxy is not installed: this test needs it (.ci/run installs it with \
         `apt-get install -y --no-install-recommends haproxy`)"
    );
}

fn start_haproxy(ports: [u16; 3], http_backend: u16, tcp_backend: u16) -> Haproxy {
    let [v1, v2, tcp] = ports;
    // `http-reuse never`: every request its own backend connection, so its own header.
    let conf = format!(
        "global\n    maxconn 64\n\
         defaults\n    mode http\n    timeout connect 10s\n    timeout client 30s\n    timeout server 30s\n    http-reuse never\n\
         frontend v1\n    bind 127.0.0.1:{v1}\n    option forwardfor\n    default_backend v1\n\
         frontend v2\n    bind 127.0.0.1:{v2}\n    option forwardfor\n    default_backend v2\n\
         frontend tcp\n    mode tcp\n    bind 127.0.0.1:{tcp}\n    default_backend tcp\n\
         backend v1\n    server s 127.0.0.1:{http_backend} send-proxy source {HAPROXY_SOURCE}\n\
         backend v2\n    server s 127.0.0.1:{http_backend} send-proxy-v2 source {HAPROXY_SOURCE}\n\
         backend tcp\n    mode tcp\n    server s 127.0.0.1:{tcp_backend} send-proxy-v2 source {HAPROXY_SOURCE}\n"
    );
    run_haproxy("decoders", &conf, &ports)
}

/// Run HAProxy with `conf` until it listens on every one of `ports`.
fn run_haproxy(name: &str, conf: &str, ports: &[u16]) -> Haproxy {
    let dir = std::env::temp_dir().join(format!(
        "wsgiref-proxy-haproxy-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let conf_path = dir.join("haproxy.cfg");
    std::fs::write(&conf_path, conf).unwrap();
    let child = Command::new(haproxy_binary())
        .arg("-db")
        .arg("-f")
        .arg(&conf_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("HAProxy could not be started");
    let mut haproxy = Haproxy { child, dir };
    let deadline = Instant::now() + Duration::from_secs(20);
    while ports
        .iter()
        .any(|p| TcpStream::connect(("127.0.0.1", *p)).is_err())
    {
        if let Ok(Some(status)) = haproxy.child.try_wait() {
            let mut stderr = String::new();
            if let Some(mut e) = haproxy.child.stderr.take() {
                let _ = e.read_to_string(&mut stderr);
            }
            panic!("HAProxy exited ({status}) before listening:\n{stderr}");
        }
        assert!(
            Instant::now() < deadline,
            "HAProxy did not listen within 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    haproxy
}

/// Listen on a free port; every connection is served on its own thread.
fn listener(http: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve(stream, http));
        }
    });
    port
}

/// Send `request` to `port`; the reply and the client's own address.
fn exchange(port: u16, request: &[u8]) -> (String, SocketAddr) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(IO_LIMIT)).unwrap();
    let me = stream.local_addr().unwrap();
    stream.write_all(request).unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).unwrap();
    (String::from_utf8(reply).unwrap(), me)
}

fn field<'a>(report: &'a str, key: &str) -> &'a str {
    report
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key} in {report}"))
}

#[test]
fn haproxy_send_proxy_v1_v2_and_forwardfor_are_decoded() {
    let http_backend = listener(true);
    let tcp_backend = listener(false);
    let ports = [free_port(), free_port(), free_port()];
    let _haproxy = start_haproxy(ports, http_backend, tcp_backend);

    for (port, version) in [(ports[0], "V1"), (ports[1], "V2")] {
        // The client forges a chain naming HAProxy's own address.
        let request = format!(
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Forwarded-For: 10.9.9.9, {HAPROXY_SOURCE}\r\nConnection: close\r\n\r\n"
        );
        let (reply, me) = exchange(port, request.as_bytes());
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        assert_eq!(field(&reply, "peer"), HAPROXY_SOURCE, "{reply}");
        assert_eq!(field(&reply, "version"), version, "{reply}");
        assert_eq!(field(&reply, "command"), "Proxy", "{reply}");
        assert_eq!(field(&reply, "source"), me.to_string(), "{reply}");
        assert_eq!(
            field(&reply, "destination"),
            format!("127.0.0.1:{port}"),
            "{reply}"
        );
        // HAProxy added its own line after the client's: the walk from the right skips
        // 127.0.0.5 only where HAProxy vouches for it, and stops at the real client.
        assert_eq!(field(&reply, "xff_lines"), "2", "{reply}");
        assert_eq!(field(&reply, "xff_client"), "127.0.0.1", "{reply}");
        assert_eq!(
            field(&reply, "xff_client_behind_proxy_protocol"),
            "None",
            "{reply}"
        );
    }

    let (reply, me) = exchange(ports[2], b"hello over tcp\n");
    assert_eq!(field(&reply, "peer"), HAPROXY_SOURCE, "{reply}");
    assert_eq!(field(&reply, "version"), "V2", "{reply}");
    assert_eq!(field(&reply, "source"), me.to_string(), "{reply}");
    assert_eq!(field(&reply, "data"), "hello over tcp", "{reply}");
}

/// What the application behind HAProxy sees.
fn report(
    environ: &mut Environ<'_>,
    start_response: &mut StartResponse<'_>,
) -> Result<String, AppError> {
    let mut out = String::new();
    for key in [
        "REMOTE_ADDR",
        "REMOTE_PORT",
        "HTTP_HOST",
        "wsgiref.proxy.peer",
    ] {
        out.push_str(&format!("{key}={}\n", environ.get_str(key).unwrap_or("-")));
    }
    let scheme = environ.url_scheme().map_or("-", |s| s.as_str());
    out.push_str(&format!("wsgi.url_scheme={scheme}\n"));
    start_response.start("200 OK", &[("Content-Type", "text/plain")])?;
    Ok(out)
}

/// The real server with `options` on a free port of 127.0.0.1, serving on a thread for the
/// rest of the test process (its threads are not pinned: HAProxy shares the CPUs).
fn real_server(options: ServerOptions) -> u16 {
    let options = ServerOptions {
        threads: 1,
        pin_threads: false,
        ..options
    };
    let server = make_server_with("127.0.0.1", 0, app_fn(report), WsgiRequestHandler, options)
        .expect("bind the server");
    let port = server.server_address().port();
    std::thread::spawn(move || server.serve_forever());
    port
}

#[test]
fn haproxy_reaches_the_real_server_and_the_application_sees_the_client() {
    // Behind `send-proxy-v2`: the PROXY header names the client. HAProxy is listed too, to
    // show that with the PROXY protocol the header's source is what is judged: the client's
    // forged X-Forwarded-For changes nothing, although HAProxy, its socket's peer, is trusted.
    let proxied = real_server(ServerOptions {
        proxy_protocol: true,
        forwarded_allow_ips: HAPROXY_SOURCE.parse().unwrap(),
        ..ServerOptions::default()
    });
    // Behind `option forwardfor` alone: HAProxy is the peer, trusted, and its headers count.
    // It sets X-Forwarded-Proto; the server believes only X-Forwarded-* (HAProxy does not
    // remove a client's `Forwarded`).
    let forwarded = real_server(ServerOptions {
        forwarded_allow_ips: HAPROXY_SOURCE
            .parse::<wsgiref::simple_server::ForwardedAllowIps>()
            .unwrap()
            .with_headers(Headers::XForwarded),
        ..ServerOptions::default()
    });
    let ports = [free_port(), free_port()];
    let [via_proxy_protocol, via_forwardfor] = ports;
    // The configuration docs/proxies.md shows (ports and `source` aside).
    let conf = format!(
        "global\n    maxconn 64\n\
         defaults\n    mode http\n    timeout connect 10s\n    timeout client 30s\n    timeout server 30s\n\
         frontend pp\n    bind 127.0.0.1:{via_proxy_protocol}\n    option forwardfor\n    default_backend pp\n\
         frontend xff\n    bind 127.0.0.1:{via_forwardfor}\n    option forwardfor\n\
         \x20   http-request set-header X-Forwarded-Proto https\n    default_backend xff\n\
         backend pp\n    server app 127.0.0.1:{proxied} send-proxy-v2 source {HAPROXY_SOURCE}\n\
         backend xff\n    server app 127.0.0.1:{forwarded} source {HAPROXY_SOURCE}\n"
    );
    let _haproxy = run_haproxy("server", &conf, &ports);

    for port in ports {
        // The client forges both kinds of header, with a chain naming HAProxy's address.
        let request = format!(
            "GET / HTTP/1.1\r\nHost: app.example\r\n\
             X-Forwarded-For: 10.9.9.9, {HAPROXY_SOURCE}\r\nX-Forwarded-Proto: http\r\n\
             Forwarded: for=10.8.8.8;proto=http\r\nConnection: close\r\n\r\n"
        );
        let (reply, me) = exchange(port, request.as_bytes());
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        // Either way the application sees the client's own address, not HAProxy's.
        assert_eq!(field(&reply, "REMOTE_ADDR"), me.ip().to_string(), "{reply}");
        assert_eq!(
            field(&reply, "wsgiref.proxy.peer"),
            HAPROXY_SOURCE,
            "{reply}"
        );
        assert_eq!(field(&reply, "HTTP_HOST"), "app.example", "{reply}");
        if port == via_proxy_protocol {
            // The PROXY header carries the client's port too; the scheme is the listener's.
            assert_eq!(
                field(&reply, "REMOTE_PORT"),
                me.port().to_string(),
                "{reply}"
            );
            assert_eq!(field(&reply, "wsgi.url_scheme"), "http", "{reply}");
        } else {
            // X-Forwarded-For names no port; HAProxy's X-Forwarded-Proto counts.
            assert_eq!(field(&reply, "REMOTE_PORT"), "-", "{reply}");
            assert_eq!(field(&reply, "wsgi.url_scheme"), "https", "{reply}");
        }
    }
}
