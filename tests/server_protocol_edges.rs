//! Issue 24's protocol edges through the real server on 127.0.0.1, with `demo_app` (which
//! answers with the request's environ, one `KEY = repr(value)` line each): an absolute-form
//! target's path and authority, the `Proxy` header (httpoxy), and CONNECT.

mod server_common;

use server_common::{connect, read_to_close, send, short_options, start_app};
use wsgiref::simple_server::{demo_app, ServerOptions};
use wsgiref_core::proto::ProxyHeaderPolicy;

/// Send `request` on a fresh connection to a demo server with `options`; everything the
/// server sent before it closed.
fn exchange(options: ServerOptions, request: &[u8]) -> String {
    let running = start_app(demo_app, options);
    let mut client = connect(running.addr);
    send(&mut client, request);
    let out = String::from_utf8_lossy(&read_to_close(&mut client)).into_owned();
    running.stop().unwrap();
    out
}

#[test]
fn absolute_form_gives_its_path_and_its_authority() {
    let out = exchange(
        short_options(),
        b"GET http://target.example:8080/p/q?r=1 HTTP/1.1\r\nHost: header.example\r\n\
          Connection: close\r\n\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.contains("\nPATH_INFO = '/p/q'\n"), "{out}");
    assert!(out.contains("\nQUERY_STRING = 'r=1'\n"), "{out}");
    assert!(
        out.contains("\nHTTP_HOST = 'target.example:8080'\n"),
        "{out}"
    );
    assert!(!out.contains("header.example"), "{out}");
}

#[test]
fn the_proxy_header_is_dropped_unless_kept() {
    let request = b"GET / HTTP/1.1\r\nHost: a\r\nProxy: http://attacker.example:1\r\n\
                    Connection: close\r\n\r\n";
    let out = exchange(short_options(), request);
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.contains("\nHTTP_HOST = 'a'\n"), "{out}");
    assert!(!out.contains("HTTP_PROXY"), "{out}");

    let mut keep = short_options();
    keep.config.handler.proxy_header = ProxyHeaderPolicy::Keep;
    let out = exchange(keep, request);
    assert!(
        out.contains("\nHTTP_PROXY = 'http://attacker.example:1'\n"),
        "{out}"
    );
}

#[test]
fn connect_is_refused_with_501_and_the_connection_closes() {
    // The tunnel bytes after the CONNECT must never be read as a request.
    let out = exchange(
        short_options(),
        b"CONNECT target.example:443 HTTP/1.1\r\nHost: target.example:443\r\n\r\n\
          GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 501 Not Implemented\r\n"), "{out}");
    assert!(out.contains("\r\nConnection: close\r\n"), "{out}");
    assert_eq!(out.matches("HTTP/1.1 ").count(), 1, "{out}");
    assert!(!out.contains("smuggled"), "{out}");
}

#[test]
fn an_allowed_connect_reaches_the_application_and_still_closes() {
    let mut options = short_options();
    options.config.limits.allow_connect = true;
    let out = exchange(
        options,
        b"CONNECT target.example:443 HTTP/1.1\r\nHost: target.example:443\r\n\r\n\
          GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.contains("\nREQUEST_METHOD = 'CONNECT'\n"), "{out}");
    assert!(
        out.contains("\nPATH_INFO = 'target.example:443'\n"),
        "{out}"
    );
    assert!(out.contains("\r\nConnection: close\r\n"), "{out}");
    assert_eq!(out.matches("HTTP/1.1 ").count(), 1, "{out}");
}

#[test]
fn bad_targets_and_hosts_are_400() {
    for request in [
        &b"GET ! HTTP/1.1\r\nHost: a\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a, b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a b@c/d\r\n\r\n",
    ] {
        let out = exchange(short_options(), request);
        assert!(
            out.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{}: {out}",
            String::from_utf8_lossy(request)
        );
    }
}
