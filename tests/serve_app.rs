//! The `serve` example's application driven through the core HTTP connection over in-memory
//! streams: raw request bytes in, raw response bytes out, no sockets and no timing. Every rule
//! in `examples/serve/site.rs` has a case here, and the path-escape cases are run in each
//! spelling a client could use.

#[allow(dead_code)]
#[path = "../examples/serve/mod.rs"]
mod serve;

use std::path::{Path, PathBuf};

use wsgiref_core::environ::Environ;
use wsgiref_core::handler::{Connection, MemoryBuf, Served, ServerConfig, SimpleHandler};
use wsgiref_core::validate::{validator, WarningLog};
use wsgiref_core::Application;

use serve::{Dotfiles, StaticFiles};

/// An in-memory transport: requests in, responses out.
struct Pipe {
    input: Vec<u8>,
    pos: usize,
    output: Vec<u8>,
}

impl embedded_io::ErrorType for Pipe {
    type Error = embedded_io::ErrorKind;
}

impl embedded_io::Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = buf.len().min(self.input.len() - self.pos);
        buf[..n].copy_from_slice(&self.input[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl embedded_io::Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// A parsed response.
#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A directory tree for one test, removed when dropped:
///
/// ```text
/// <base>/secret.txt                 outside the root
/// <base>/root/index.html
/// <base>/root/style.css, app.js, pixel.png, data.bin (0..=255 repeated), empty.txt, noext
/// <base>/root/sub/a.txt             a directory without index.html
/// <base>/root/sub/inner -> ../index.html   symlink inside the root
/// <base>/root/out -> ../            symlink to a directory outside
/// <base>/root/leak.txt -> ../secret.txt    symlink to a file outside
/// <base>/root/fifo                  a named pipe
/// ```
struct Tree {
    base: PathBuf,
    app: StaticFiles,
}

const SECRET: &[u8] = b"TOP SECRET outside the root";
const INDEX: &[u8] = b"<!DOCTYPE html><title>index</title>";

impl Tree {
    fn new(name: &str) -> Tree {
        let base =
            std::env::temp_dir().join(format!("wsgiref-serve-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let root = base.join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(base.join("secret.txt"), SECRET).unwrap();
        std::fs::write(root.join("index.html"), INDEX).unwrap();
        std::fs::write(root.join("style.css"), "h1{}").unwrap();
        std::fs::write(root.join("app.js"), "1").unwrap();
        std::fs::write(root.join("pixel.png"), b"\x89PNG").unwrap();
        std::fs::write(root.join("noext"), "x").unwrap();
        std::fs::write(root.join("empty.txt"), "").unwrap();
        let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        std::fs::write(root.join("data.bin"), data).unwrap();
        std::fs::write(root.join("sub/a.txt"), "in sub").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("../index.html", root.join("sub/inner")).unwrap();
            std::os::unix::fs::symlink("../", root.join("out")).unwrap();
            std::os::unix::fs::symlink("../secret.txt", root.join("leak.txt")).unwrap();
            let made = std::process::Command::new("mkfifo")
                .arg(root.join("fifo"))
                .status()
                .expect("mkfifo");
            assert!(made.success());
        }
        let app = StaticFiles::new(&root).unwrap();
        Tree { base, app }
    }

    fn root(&self) -> &Path {
        self.app.root()
    }

    /// Send `requests` (raw bytes, possibly several pipelined) on one connection; parse every
    /// response. `heads[i]` says whether response i answers a HEAD (so has no body).
    fn exchange(&self, requests: &[u8], heads: &[bool]) -> Vec<Response> {
        self.exchange_with(&self.app, requests, heads)
    }

    /// [`exchange`](Self::exchange) with another application (the validated one).
    fn exchange_with<A: Application>(
        &self,
        app: &A,
        requests: &[u8],
        heads: &[bool],
    ) -> Vec<Response> {
        let pipe = Pipe {
            input: requests.to_vec(),
            pos: 0,
            output: Vec::new(),
        };
        let mut rx = vec![0u8; 8192];
        let mut memory: Box<MemoryBuf> = Box::new(MemoryBuf::new());
        let mut base = Environ::new();
        for (k, v) in [
            ("SERVER_NAME", "localhost"),
            ("SERVER_PORT", "80"),
            ("SCRIPT_NAME", ""),
            ("REMOTE_ADDR", "127.0.0.1"),
        ] {
            base.set(k, v).unwrap();
        }
        let mut conn: Connection<'_, Pipe> =
            Connection::new(pipe, &mut rx, memory.memory(), ServerConfig::default());
        // Bounded: each request is at least a few bytes.
        for _ in 0..=requests.len() {
            match conn.serve_one(app, &base, None) {
                Ok(Served::Request(_)) => {}
                Ok(Served::Closed) => break,
                other => panic!("unexpected {other:?}"),
            }
        }
        parse_all(&conn.into_inner().output, heads)
    }

    /// One GET (or other method) with extra header lines; the one response.
    fn request(&self, method: &str, target: &str, extra: &[&str]) -> Response {
        let mut raw = format!("{method} {target} HTTP/1.1\r\nHost: x\r\n");
        for line in extra {
            raw.push_str(line);
            raw.push_str("\r\n");
        }
        raw.push_str("Connection: close\r\n\r\n");
        let mut all = self.exchange(raw.as_bytes(), &[method == "HEAD"]);
        assert_eq!(all.len(), 1, "{all:?}");
        all.remove(0)
    }

    fn get(&self, target: &str) -> Response {
        self.request("GET", target, &[])
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

fn parse_all(mut out: &[u8], heads: &[bool]) -> Vec<Response> {
    let mut responses = Vec::new();
    for &head in heads {
        if out.is_empty() {
            break;
        }
        let end = out
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete head");
        let text = std::str::from_utf8(&out[..end]).unwrap();
        let mut lines = text.split("\r\n");
        let status_line = lines.next().unwrap();
        let status = status_line[9..12].parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (n, v) = l.split_once(": ").unwrap();
                (n.to_string(), v.to_string())
            })
            .collect();
        out = &out[end + 4..];
        let mut response = Response {
            status,
            headers,
            body: Vec::new(),
        };
        if !head && status != 304 {
            let len: usize = response
                .header("Content-Length")
                .expect("every serve response has a length")
                .parse()
                .unwrap();
            response.body = out[..len].to_vec();
            out = &out[len..];
        }
        responses.push(response);
    }
    assert!(
        out.is_empty(),
        "trailing bytes: {:?}",
        String::from_utf8_lossy(out)
    );
    responses
}

fn assert_refused(tree: &Tree, target: &str) {
    let r = tree.get(target);
    assert_eq!(r.status, 404, "{target}: {r:?}");
    assert_eq!(r.body, b"404 Not Found\n", "{target}");
}

#[test]
fn traversal_is_refused_in_every_spelling() {
    let tree = Tree::new("traversal");
    for target in [
        "/../secret.txt",
        "/sub/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/%2e./secret.txt",
        "/sub/%2e%2e/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/sub%2f..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/%5c..%5csecret.txt",
        "/sub%5c..%5c..%5csecret.txt",
        "/..\\secret.txt",
        "/index.html%00.png",
        "/%00",
        "/..",
        "/./../secret.txt",
        "/sub/./../../secret.txt",
        // Symlinks leading outside: a directory, and a file.
        "/out/secret.txt",
        "/out/",
        "/leak.txt",
        // Decoded once only: a double-encoded dot-dot is a literal (missing) name.
        "/%252e%252e/secret.txt",
        // Absolute-form target: PATH_INFO does not start with `/`.
        "http://x/secret.txt",
    ] {
        assert_refused(&tree, target);
    }
    // The file the attempts aim at really is there, one level up.
    assert_eq!(
        std::fs::read(tree.root().parent().unwrap().join("secret.txt")).unwrap(),
        SECRET
    );
}

#[test]
fn encoded_slash_is_a_slash_and_stays_inside() {
    // The server decodes `%2F` once, as CPython does, so it names the same file as `/`.
    let tree = Tree::new("slash");
    let r = tree.get("/sub%2Fa.txt");
    assert_eq!((r.status, &r.body[..]), (200, &b"in sub"[..]));
}

#[test]
fn symlinks_inside_the_root_are_followed() {
    let tree = Tree::new("symlink");
    let r = tree.get("/sub/inner");
    assert_eq!((r.status, &r.body[..]), (200, INDEX));
}

#[test]
fn special_files_and_file_slash_are_not_found() {
    let tree = Tree::new("special");
    // A FIFO would block the worker forever if opened.
    assert_refused(&tree, "/fifo");
    assert_refused(&tree, "/index.html/");
    assert_refused(&tree, "/missing.html");
    assert_refused(&tree, "/sub/missing/");
}

#[test]
fn methods_other_than_get_and_head_get_405_with_allow() {
    let tree = Tree::new("methods");
    for method in ["POST", "PUT", "DELETE", "OPTIONS", "PATCH", "BREW"] {
        let r = tree.request(method, "/index.html", &["Content-Length: 0"]);
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("Allow"), Some("GET, HEAD"), "{method}");
    }
}

#[test]
fn content_types_by_extension() {
    let tree = Tree::new("mime");
    for (path, ty) in [
        ("/index.html", "text/html; charset=utf-8"),
        ("/style.css", "text/css; charset=utf-8"),
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/pixel.png", "image/png"),
        ("/data.bin", "application/octet-stream"),
        ("/noext", "application/octet-stream"),
        ("/sub/a.txt", "text/plain; charset=utf-8"),
    ] {
        let r = tree.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("Content-Type"), Some(ty), "{path}");
    }
}

#[test]
fn directories_index_listing_and_redirect() {
    let tree = Tree::new("dirs");
    let r = tree.get("/");
    assert_eq!((r.status, &r.body[..]), (200, INDEX));
    let r = tree.get("/sub/");
    assert_eq!(r.status, 200);
    let page = String::from_utf8(r.body).unwrap();
    assert!(page.contains("<a href=\"./a.txt\">a.txt</a>"), "{page}");
    assert!(page.contains("<a href=\"../\">"), "{page}");
    let r = tree.get("/sub");
    assert_eq!(r.status, 301);
    assert_eq!(r.header("Location"), Some("/sub/"));
    let r = tree.get("/sub?x=1&y=%20");
    assert_eq!(r.header("Location"), Some("/sub/?x=1&y=%20"));
    // Never a protocol-relative `//host/` redirect.
    let r = tree.get("//sub");
    assert_eq!(r.header("Location"), Some("/sub/"));
}

#[test]
fn redirect_under_a_mount_point_has_one_leading_slash() {
    let tree = Tree::new("mount");
    for (script_name, path_info, want) in [
        ("/files", "/sub", "/files/sub/"),
        ("/", "/sub", "/sub/"),
        ("//evil.example", "/sub", "/evil.example/sub/"),
        ("/a b", "/sub", "/a%20b/sub/"),
        // The mount point itself, without its slash.
        ("/files", "", "/files/"),
    ] {
        let mut environ = Environ::new();
        wsgiref_core::util::setup_testing_defaults(&mut environ).unwrap();
        environ.set("SCRIPT_NAME", script_name).unwrap();
        environ.set("PATH_INFO", path_info).unwrap();
        let mut out = Vec::new();
        let errors = NoErrors;
        let mut memory: MemoryBuf = MemoryBuf::new();
        let mut handler = SimpleHandler::new(&b""[..], &mut out, &errors, environ, memory.memory());
        handler.run(&tree.app);
        drop(handler);
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with("HTTP/1.0 301"), "{script_name}: {text}");
        assert!(
            text.contains(&format!("\r\nLocation: {want}\r\n")),
            "{script_name}: {text}"
        );
    }
}

/// `wsgi.errors` that must stay silent.
struct NoErrors;

impl wsgiref_core::stream::ErrorStream for NoErrors {
    fn write_str(&self, s: &str) -> core::fmt::Result {
        panic!("unexpected wsgi.errors output: {s}")
    }
}

#[test]
fn listing_escapes_names() {
    let tree = Tree::new("escape");
    std::fs::write(tree.root().join("sub/<b>&\"x y?.txt"), "").unwrap();
    let page = String::from_utf8(tree.get("/sub/").body).unwrap();
    assert!(
        page.contains("<a href=\"./%3Cb%3E%26%22x%20y%3F.txt\">&lt;b&gt;&amp;\"x y?.txt</a>"),
        "{page}"
    );
}

#[test]
fn hidden_dotfiles_are_not_found_even_through_an_inner_symlink() {
    let tree = Tree::new("dotfiles");
    std::fs::write(tree.root().join(".env"), "SECRET=1").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("../.env", tree.root().join("sub/env")).unwrap();
    assert_eq!(tree.get("/sub/env").status, 200);
    assert_eq!(tree.get("/.env").status, 200);
    let hidden = tree.app.clone().with_dotfiles(Dotfiles::Hide);
    for target in ["/.env", "/sub/env", "/%2Eenv"] {
        let raw = format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let got = tree.exchange_with(&hidden, raw.as_bytes(), &[false]);
        assert_eq!(got[0].status, 404, "{target}");
    }
}

#[test]
fn head_has_headers_and_no_body_and_keeps_the_connection() {
    let tree = Tree::new("head");
    let requests = b"HEAD /data.bin HTTP/1.1\r\nHost: x\r\n\r\n\
                     GET /style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let all = tree.exchange(requests, &[true, false]);
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].status, 200);
    assert_eq!(all[0].header("Content-Length"), Some("100000"));
    assert!(all[0].body.is_empty());
    assert_eq!(all[1].body, b"h1{}");
}

#[test]
fn whole_file_is_sent_exactly() {
    let tree = Tree::new("whole");
    let r = tree.get("/data.bin");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Accept-Ranges"), Some("bytes"));
    assert_eq!(r.body, std::fs::read(tree.root().join("data.bin")).unwrap());
    let r = tree.get("/empty.txt");
    assert_eq!((r.status, r.body.len()), (200, 0));
}

fn data() -> Vec<u8> {
    (0..100_000u32).map(|i| i as u8).collect()
}

#[test]
fn single_ranges() {
    let tree = Tree::new("ranges");
    let all = data();
    for (range, start, end) in [
        ("bytes=0-4", 0, 4),
        ("bytes=99990-", 99_990, 99_999),
        ("bytes=-3", 99_997, 99_999),
        ("bytes=10-10", 10, 10),
        ("bytes=50000-999999999", 50_000, 99_999),
        ("bytes=-200000", 0, 99_999),
    ] {
        let r = tree.request("GET", "/data.bin", &[&format!("Range: {range}")]);
        assert_eq!(r.status, 206, "{range}");
        assert_eq!(
            r.header("Content-Range"),
            Some(format!("bytes {start}-{end}/100000").as_str()),
            "{range}"
        );
        assert_eq!(r.body, &all[start..=end], "{range}");
    }
}

#[test]
fn unsatisfiable_and_ignored_ranges() {
    let tree = Tree::new("badranges");
    for range in ["bytes=100000-", "bytes=-0", "bytes=200000-300000"] {
        let r = tree.request("GET", "/data.bin", &[&format!("Range: {range}")]);
        assert_eq!(r.status, 416, "{range}");
        assert_eq!(r.header("Content-Range"), Some("bytes */100000"), "{range}");
    }
    let r = tree.request("GET", "/empty.txt", &["Range: bytes=0-"]);
    assert_eq!(
        (r.status, r.header("Content-Range")),
        (416, Some("bytes */0"))
    );
    // Several ranges, other units and malformed specs: the whole file.
    for range in [
        "bytes=0-1,5-6",
        "pages=1-2",
        "bytes=5-1",
        "bytes=a-b",
        "bytes",
    ] {
        let r = tree.request("GET", "/data.bin", &[&format!("Range: {range}")]);
        assert_eq!((r.status, r.body.len()), (200, 100_000), "{range}");
    }
    // HEAD ignores Range (RFC 9110 defines it for GET only).
    let r = tree.request("HEAD", "/data.bin", &["Range: bytes=0-4"]);
    assert_eq!(
        (r.status, r.header("Content-Length")),
        (200, Some("100000"))
    );
}

#[test]
fn if_range_needs_the_exact_last_modified() {
    let tree = Tree::new("ifrange");
    let lm = tree
        .get("/data.bin")
        .header("Last-Modified")
        .unwrap()
        .to_string();
    let r = tree.request(
        "GET",
        "/data.bin",
        &["Range: bytes=0-0", &format!("If-Range: {lm}")],
    );
    assert_eq!(r.status, 206);
    let r = tree.request(
        "GET",
        "/data.bin",
        &[
            "Range: bytes=0-0",
            "If-Range: Thu, 01 Jan 1970 00:00:00 GMT",
        ],
    );
    assert_eq!(r.status, 200);
    let r = tree.request(
        "GET",
        "/data.bin",
        &["Range: bytes=0-0", "If-Range: \"etag\""],
    );
    assert_eq!(r.status, 200);
}

#[test]
fn if_modified_since_gives_304() {
    let tree = Tree::new("ims");
    let first = tree.get("/style.css");
    let lm = first.header("Last-Modified").unwrap().to_string();
    let r = tree.request("GET", "/style.css", &[&format!("If-Modified-Since: {lm}")]);
    assert_eq!(r.status, 304);
    assert_eq!(r.header("Last-Modified"), Some(lm.as_str()));
    // Content-Length on a 304 is the 200's (RFC 9110 §8.6), and no body follows.
    assert_eq!(r.header("Content-Length"), Some("4"));
    // Later dates also count as "not modified"; older ones and garbage do not.
    let r = tree.request(
        "GET",
        "/style.css",
        &["If-Modified-Since: Fri, 31 Dec 9999 23:59:59 GMT"],
    );
    assert_eq!(r.status, 304);
    for since in ["Thu, 01 Jan 1970 00:00:00 GMT", "yesterday", ""] {
        let r = tree.request(
            "GET",
            "/style.css",
            &[&format!("If-Modified-Since: {since}")],
        );
        assert_eq!((r.status, &r.body[..]), (200, &b"h1{}"[..]), "{since}");
    }
    // An entity tag we never sent outranks the date.
    let r = tree.request(
        "GET",
        "/style.css",
        &[&format!("If-Modified-Since: {lm}"), "If-None-Match: \"x\""],
    );
    assert_eq!(r.status, 200);
    // A 304 keeps the connection usable.
    let requests = format!(
        "GET /style.css HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: {lm}\r\n\r\n\
         GET /app.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    );
    let all = tree.exchange(requests.as_bytes(), &[false, false]);
    assert_eq!((all[0].status, all[1].status), (304, 200));
    assert_eq!(all[1].body, b"1");
}

#[test]
fn every_kind_of_response_passes_the_validator() {
    // The validator turns a broken contract into a 500 and softer findings into warnings; the
    // statuses must come out as without it, and no warning may be raised.
    let tree = Tree::new("validate");
    let first = tree.get("/style.css");
    let lm = first.header("Last-Modified").unwrap().to_string();
    let etag = first.header("ETag").unwrap().to_string();
    let cases: Vec<(String, bool, u16)> = vec![
        ("GET / HTTP/1.1".into(), false, 200),
        ("HEAD /data.bin HTTP/1.1".into(), true, 200),
        ("GET /sub/ HTTP/1.1".into(), false, 200),
        ("GET /sub HTTP/1.1".into(), false, 301),
        ("GET /../secret.txt HTTP/1.1".into(), false, 404),
        ("POST / HTTP/1.1\r\nContent-Length: 0".into(), false, 405),
        (
            "GET /data.bin HTTP/1.1\r\nRange: bytes=5-9".into(),
            false,
            206,
        ),
        (
            "GET /data.bin HTTP/1.1\r\nRange: bytes=999999-".into(),
            false,
            416,
        ),
        (
            format!("GET /style.css HTTP/1.1\r\nIf-Modified-Since: {lm}"),
            false,
            304,
        ),
        (
            format!("GET /style.css HTTP/1.1\r\nIf-None-Match: {etag}"),
            false,
            304,
        ),
        (
            "GET /style.css HTTP/1.1\r\nIf-Match: \"nope\"".into(),
            false,
            412,
        ),
        (
            "HEAD /style.css HTTP/1.1\r\nIf-Match: \"nope\"".into(),
            true,
            412,
        ),
    ];
    let warnings = WarningLog::<8>::new();
    let checked = validator(tree.app.clone()).with_sink(&warnings);
    for (request, head, status) in cases {
        let raw = format!("{request}\r\nHost: x\r\nConnection: close\r\n\r\n");
        let got = tree.exchange_with(&checked, raw.as_bytes(), &[head]);
        assert_eq!(got.len(), 1, "{request}");
        assert_eq!(got[0].status, status, "{request}: {:?}", got[0]);
    }
    assert!(warnings.is_empty(), "{:?}", warnings.warnings());
}
