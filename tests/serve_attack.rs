//! The `serve` example under attack, over real TCP: path traversal in every encoding we know
//! (`..`, `%2e%2e`, `%2f`, backslashes, overlong UTF-8, NUL, symlinks out of the root), absurd
//! `Range` headers and huge `If-Modified-Since` values. Nothing may escape the served
//! directory, and nothing may crash the server.
//!
//! The served root sits next to a secret file (and a secret directory) whose contents must
//! never appear in any answer; symlinks inside the root point at both.

mod harden_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use harden_support::Server;

const IO_LIMIT: Duration = Duration::from_secs(10);
/// The content of every file outside the root; it must never be served.
const SECRET: &str = "TOP-SECRET-4f1c";
/// The content of the one regular file inside the root (26 bytes).
const PUBLIC: &str = "abcdefghijklmnopqrstuvwxyz";

/// `base/root/` (served): `public.txt`, `sub/inner.txt`, symlinks `escape-file` and
/// `escape-dir` pointing out; `base/secret.txt` and `base/secretdir/secret.txt` outside.
struct Tree {
    base: PathBuf,
    root: PathBuf,
}

impl Tree {
    fn new() -> Tree {
        let base = std::env::temp_dir().join(format!(
            "wsgiref-serve-attack-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        let root = base.join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(base.join("secretdir")).unwrap();
        std::fs::write(base.join("secret.txt"), SECRET).unwrap();
        std::fs::write(base.join("secretdir/secret.txt"), SECRET).unwrap();
        std::fs::write(root.join("public.txt"), PUBLIC).unwrap();
        std::fs::write(root.join("sub/inner.txt"), "inner").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(base.join("secret.txt"), root.join("escape-file")).unwrap();
            std::os::unix::fs::symlink(base.join("secretdir"), root.join("escape-dir")).unwrap();
            std::os::unix::fs::symlink("/etc", root.join("etc-link")).unwrap();
            std::os::unix::fs::symlink("../secret.txt", root.join("sub/relative-escape")).unwrap();
        }
        Tree { base, root }
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

/// Send `request` on a fresh connection and read until the server closes. The requests
/// below all say `Connection: close`.
fn raw(server: &Server, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect_timeout(&server.addr(), IO_LIMIT).expect("connect");
    stream.set_read_timeout(Some(IO_LIMIT)).unwrap();
    stream.set_write_timeout(Some(IO_LIMIT)).unwrap();
    let _ = stream.write_all(request);
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    out
}

fn get(server: &Server, target: &[u8], extra: &str) -> (u16, String) {
    let mut request = b"GET ".to_vec();
    request.extend_from_slice(target);
    request.extend_from_slice(
        format!(" HTTP/1.1\r\nHost: t\r\n{extra}Connection: close\r\n\r\n").as_bytes(),
    );
    let reply = raw(server, &request);
    let text = String::from_utf8_lossy(&reply).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn body_of(reply: &str) -> &str {
    reply.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

fn header<'r>(reply: &'r str, name: &str) -> Option<&'r str> {
    let head = reply.split_once("\r\n\r\n").map_or(reply, |(h, _)| h);
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Traversal attempts: none may answer with the secret, none may be a success.
const TRAVERSALS: &[&[u8]] = &[
    b"/../secret.txt",
    b"/../../../../../../etc/passwd",
    b"/sub/../../secret.txt",
    b"/./../secret.txt",
    b"/..%2fsecret.txt",
    b"/%2e%2e/secret.txt",
    b"/%2E%2E/secret.txt",
    b"/%2e%2e%2fsecret.txt",
    b"/%2e./secret.txt",
    b"/.%2e/secret.txt",
    b"/sub/%2e%2e/%2e%2e/secret.txt",
    b"/%252e%252e/secret.txt",
    b"/%25%32%65%25%32%65/secret.txt",
    b"/..%5csecret.txt",
    b"/..\\secret.txt",
    b"/sub\\..\\..\\secret.txt",
    b"/%5c..%5c..%5csecret.txt",
    b"/%c0%ae%c0%ae/secret.txt",
    b"/%c0%ae%c0%ae%c0%afsecret.txt",
    b"/%e0%80%ae%e0%80%ae/secret.txt",
    b"/%c1%9c..%c1%9csecret.txt",
    b"/..%c0%afsecret.txt",
    b"/..%c1%9csecret.txt",
    b"/.%00./secret.txt",
    b"/public.txt%00/../../secret.txt",
    b"/%00/../secret.txt",
    b"/..;/secret.txt",
    b"/...//secret.txt",
    b"//../secret.txt",
    b"/%2f%2e%2e%2fsecret.txt",
    b"/%2e%2e%5csecret.txt",
    b"/escape-file",
    b"/escape-dir/secret.txt",
    b"/escape-dir/",
    b"/escape-dir",
    b"/etc-link/passwd",
    b"/etc-link/",
    b"/sub/relative-escape",
    b"/%65scape-file",
    b"/sub/../escape-file",
    b"http://t/../secret.txt",
    b"http://t/%2e%2e/secret.txt",
    b"*",
    b"/\xc0\xae\xc0\xae/secret.txt",
    b"/\xff\xfe/../../secret.txt",
];

#[test]
fn no_traversal_escapes_the_root() {
    let tree = Tree::new();
    let mut server = Server::start("serve", &["-d", tree.root.to_str().unwrap(), "0"]);
    // The control: the public file is served, so a refusal below means something.
    let (status, reply) = get(&server, b"/public.txt", "");
    assert_eq!((status, body_of(&reply)), (200, PUBLIC), "{reply}");
    let mut failures = Vec::new();
    for target in TRAVERSALS {
        let (status, reply) = get(&server, target, "");
        let shown = String::from_utf8_lossy(target);
        if reply.contains(SECRET) || reply.contains("root:x:0:0") {
            failures.push(format!("{shown}: LEAKED ({status})"));
        } else if status == 0 {
            failures.push(format!("{shown}: no HTTP answer: {reply:?}"));
        } else if (200..300).contains(&status) && !listing_of_root(&reply, &tree.root) {
            failures.push(format!("{shown}: success {status}: {reply}"));
        }
    }
    assert!(server.is_running(), "serve died: {}", server.stop());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A path that normalises to the root itself (`/sub/..`) may list the root; that is inside.
fn listing_of_root(reply: &str, _root: &Path) -> bool {
    body_of(reply).contains("public.txt")
}

#[test]
fn absurd_ranges_are_answered_sanely() {
    let tree = Tree::new();
    let mut server = Server::start("serve", &["-d", tree.root.to_str().unwrap(), "0"]);
    let many = format!("bytes={}", vec!["0-0"; 2000].join(","));
    let huge_number = format!("bytes={}-", "9".repeat(5000));
    let ranges: Vec<String> = [
        "bytes=0-99999999999999999999999999",
        "bytes=18446744073709551615-",
        "bytes=18446744073709551615-18446744073709551615",
        "bytes=18446744073709551616-",
        "bytes=-18446744073709551615",
        "bytes=-18446744073709551616",
        "bytes=-0",
        "bytes=0--1",
        "bytes=--1",
        "bytes=5-1",
        "bytes=26-",
        "bytes=25-",
        "bytes=-1",
        "bytes=-26",
        "bytes=-27",
        "bytes= 0 - 5 ",
        "bytes=0-1,2-3",
        "bytes=0-0,-1",
        "bytes=",
        "bytes",
        "bytes=-",
        "bytes=a-b",
        "bytes=0x10-0x20",
        "bytes=+1-+2",
        "bytes=1e3-",
        "items=0-5",
        "BYTES=0-5",
        "bytes=0-5\t",
        "bytes=\u{00e9}-1",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([many, huge_number])
    .collect();
    let mut failures = Vec::new();
    for range in &ranges {
        let (status, reply) = get(&server, b"/public.txt", &format!("Range: {range}\r\n"));
        let body = body_of(&reply);
        let ok = match status {
            200 => body == PUBLIC,
            206 => partial_is_consistent(&reply),
            416 => header(&reply, "Content-Range") == Some("bytes */26"),
            // A header line too long for the server is refused before the application.
            400 | 431 => range.len() > 1000,
            _ => false,
        };
        if !ok {
            failures.push(format!("Range: {range:.60} -> {status}: {reply:.300}"));
        }
    }
    assert!(server.is_running(), "serve died: {}", server.stop());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A 206 whose `Content-Range` lies inside the 26-byte file and whose body is exactly that
/// slice of it.
fn partial_is_consistent(reply: &str) -> bool {
    let Some(range) = header(reply, "Content-Range").and_then(|v| v.strip_prefix("bytes ")) else {
        return false;
    };
    let Some((span, total)) = range.split_once('/') else {
        return false;
    };
    let Some((start, end)) = span.split_once('-') else {
        return false;
    };
    let (Ok(start), Ok(end)) = (start.parse::<usize>(), end.parse::<usize>()) else {
        return false;
    };
    total == "26" && start <= end && end < 26 && body_of(reply) == &PUBLIC[start..=end]
}

#[test]
fn huge_and_odd_if_modified_since_values() {
    let tree = Tree::new();
    let mut server = Server::start("serve", &["-d", tree.root.to_str().unwrap(), "0"]);
    let long = format!("Sun, 06 Nov 1994 08:49:37 GMT{}", " x".repeat(4000));
    let values: Vec<String> = [
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "Sat, 01 Jan 99999999999 00:00:00 GMT",
        "Thu, 01 Jan 1970 00:00:00 GMT",
        "Wed, 31 Dec 1969 23:59:59 GMT",
        "Mon, 01 Jan 0000 00:00:00 GMT",
        "Sun, 99 Nov 1994 99:99:99 GMT",
        "Sun, 06 Xyz 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
        "-1",
        "18446744073709551615",
        "",
        "\u{00e9}\u{00e9}",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([long])
    .collect();
    let mut failures = Vec::new();
    for value in &values {
        let (status, reply) = get(
            &server,
            b"/public.txt",
            &format!("If-Modified-Since: {value}\r\n"),
        );
        let ok = match status {
            200 => body_of(&reply) == PUBLIC,
            304 => body_of(&reply).is_empty(),
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "If-Modified-Since: {value:.60} -> {status}: {reply:.300}"
            ));
        }
    }
    // A date far in the future means "not modified since": 304, the file is older.
    let (status, _) = get(
        &server,
        b"/public.txt",
        "If-Modified-Since: Fri, 31 Dec 9999 23:59:59 GMT\r\n",
    );
    assert_eq!(status, 304);
    assert!(server.is_running(), "serve died: {}", server.stop());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
