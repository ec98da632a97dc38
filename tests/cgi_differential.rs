//! CGI differential suite: the same scripted application under CPython's
//! `wsgiref.handlers.CGIHandler` (`tests/cgi/cpython_cgi.py`) and under our `CgiHandler`
//! (`examples/cgi_cases.rs`), with the same environment and stdin; stdout must be the same
//! bytes. Where we differ on purpose (no body for HEAD and for 1xx/204/304, no automatic
//! `Content-Length` on 204/304; see `wsgiref_core::handler`'s response module), the case
//! states the difference and the test checks exactly that difference.

#[path = "cgi/support.rs"]
mod support;

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;

use support::{example, run_cgi, show};

/// How our output must relate to CPython's.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// Byte-identical.
    Same,
    /// HEAD: the same head, no body.
    HeadNoBody,
    /// 204/304: the same head without CPython's `Content-Length`, and no body.
    NoBodyStatus,
}

struct Case {
    name: &'static str,
    script: String,
    env: Vec<(String, Vec<u8>)>,
    stdin: Vec<u8>,
    expect: Expect,
}

/// The environment every case starts from: what a server sets for a GET of
/// `/cgi-bin/app` (plus a UTF-8 locale so CPython does not coerce one into its environment).
fn base_env() -> Vec<(String, Vec<u8>)> {
    [
        ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("SERVER_SOFTWARE", "test-server/1.0"),
        ("SERVER_NAME", "127.0.0.1"),
        ("SERVER_PORT", "8080"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("REQUEST_METHOD", "GET"),
        ("SCRIPT_NAME", "/cgi-bin/app"),
        ("PATH_INFO", "/"),
        ("QUERY_STRING", ""),
        ("LC_ALL", "C.UTF-8"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
    .collect()
}

struct Builder {
    cases: Vec<Case>,
}

impl Builder {
    /// A case: `vars` override the base environment (`None` removes a variable).
    fn add(
        &mut self,
        name: &'static str,
        script: &str,
        vars: &[(&str, Option<&[u8]>)],
        stdin: &[u8],
        expect: Expect,
    ) {
        let mut env = base_env();
        for (key, value) in vars {
            env.retain(|(k, _)| k != key);
            if let Some(v) = value {
                env.push((key.to_string(), v.to_vec()));
            }
        }
        self.cases.push(Case {
            name,
            script: script.to_owned(),
            env,
            stdin: stdin.to_vec(),
            expect,
        });
    }

    fn same(&mut self, name: &'static str, script: &str) {
        self.add(name, script, &[], b"", Expect::Same);
    }

    fn env(&mut self, name: &'static str, script: &str, vars: &[(&str, Option<&[u8]>)]) {
        self.add(name, script, vars, b"", Expect::Same);
    }
}

const ECHO_REQUEST: &str =
    "h:Content-Type=text/plain;start:200 OK;echo:REQUEST_METHOD;echo:SCRIPT_NAME;echo:PATH_INFO;echo:QUERY_STRING";

fn cases() -> Vec<Case> {
    let mut b = Builder { cases: Vec::new() };
    use Expect::*;

    // Bodies and Content-Length: a one-element list gets one, anything else does not,
    // an empty body gets 0.
    b.same(
        "hello",
        "h:Content-Type=text/plain;start:200 OK;chunk:Hello, world!",
    );
    b.same("empty list", "start:200 OK");
    b.same("one empty chunk", "start:200 OK;chunk:");
    b.same("two chunks", "start:200 OK;chunk:a;chunk:bc");
    b.same(
        "three chunks, empty first",
        "start:200 OK;chunk:;chunk:x;chunk:yz",
    );
    b.same("generator, one chunk", "start:200 OK;chunk:abc;ret:gen");
    b.same("generator, empty", "start:200 OK;ret:gen");
    b.same(
        "generator, empty chunks",
        "start:200 OK;chunk:;chunk:;ret:gen",
    );
    b.same(
        "generator, many chunks",
        "start:200 OK;chunk:1;chunk:22;chunk:333;chunk:4444;ret:gen",
    );
    b.same(
        "binary chunk",
        "h:Content-Type=application/octet-stream;start:200 OK;chunk:%00%01%FF%FE%0D%0A",
    );
    b.same(
        "app Content-Length kept",
        "h:Content-Length=3;start:200 OK;chunk:abc",
    );
    b.same(
        "app Content-Length, generator",
        "h:Content-Length=6;start:200 OK;chunk:abc;chunk:def;ret:gen",
    );
    b.same(
        "app content-length lowercase",
        "h:content-length=2;start:200 OK;chunk:ab",
    );

    // The legacy write().
    b.same("write only", "start:200 OK;write:abc");
    b.same("write then list", "start:200 OK;write:abc;chunk:def");
    b.same("write empty", "start:200 OK;write:");
    b.same(
        "write twice then generator",
        "start:200 OK;write:a;write:b;chunk:c;ret:gen",
    );

    // Statuses and headers.
    b.same(
        "201 with Location",
        "h:Location=/cgi-bin/app/items/1;start:201 Created;chunk:made",
    );
    b.same(
        "301",
        "h:Location=http://example.com/;start:301 Moved Permanently",
    );
    b.same(
        "302 with body",
        "h:Location=/x;h:Content-Type=text/html;start:302 Found;chunk:<a href=/x>x</a>",
    );
    b.same("400", "start:400 Bad Request;chunk:bad");
    b.same(
        "401",
        "h:WWW-Authenticate=Basic realm=\"x\";start:401 Unauthorized;chunk:who?",
    );
    b.same("403", "start:403 Forbidden");
    b.same(
        "404",
        "h:Content-Type=text/plain;start:404 Not Found;chunk:Not Found",
    );
    b.same(
        "405",
        "h:Allow=GET, HEAD;start:405 Method Not Allowed;chunk:no",
    );
    b.same("418", "start:418 I'm a teapot;chunk:short and stout");
    b.same(
        "500 from the app",
        "start:500 Internal Server Error;chunk:own error page",
    );
    b.same(
        "503",
        "h:Retry-After=120;start:503 Service Unavailable;chunk:later",
    );
    b.same("odd status text", "start:299 Anything Goes Here;chunk:x");
    b.same("status 000", "start:000 Zero;chunk:x");
    b.same(
        "repeated headers",
        "h:Set-Cookie=a=1;h:Set-Cookie=b=2;h:X-Empty=;start:200 OK;chunk:x",
    );
    b.same(
        "many headers",
        "h:A=1;h:B=2;h:C=3;h:D=4;h:E=5;h:F=6;h:G=7;h:H=8;start:200 OK;chunk:x",
    );

    // Application errors: the error page before output, truncation after.
    b.same("fail before start", "fail:boom");
    b.same("fail after start", "h:X-App=1;start:200 OK;fail:boom");
    b.same("fail after write", "start:200 OK;write:partial;fail:boom");
    b.same(
        "generator fails at once",
        "start:200 OK;chunk:a;ret:genfail:0",
    );
    b.same(
        "generator fails after one",
        "start:200 OK;chunk:a;chunk:b;chunk:c;ret:genfail:1",
    );
    b.same(
        "generator fails at its end",
        "start:200 OK;chunk:a;ret:genfail:5",
    );
    b.same("no start_response, empty", "");
    b.same("no start_response, a chunk", "chunk:x");
    b.same("write before start_response", "write:x");
    b.same(
        "start_response twice",
        "start:200 OK;start:201 Created;chunk:x",
    );
    b.same(
        "exc_info replaces",
        "h:X-A=1;start:200 OK;h:X-B=2;start_exc:503 Service Unavailable;chunk:later",
    );
    b.same("exc_info first call", "start_exc:500 Oops;chunk:x");
    b.same(
        "exc_info after output",
        "start:200 OK;write:x;start_exc:500 Oops;chunk:y",
    );
    b.same("status too short", "start:200;chunk:x");
    b.same("status without code", "start:2x0 OK;chunk:x");
    b.same("status without space", "start:200OK;chunk:x");
    b.same(
        "hop-by-hop header",
        "h:Connection=close;start:200 OK;chunk:x",
    );
    b.same(
        "hop-by-hop Transfer-Encoding",
        "h:Transfer-Encoding=chunked;start:200 OK;chunk:x",
    );

    // The environ as read from the process environment: raw bytes of request variables.
    b.env(
        "echo plain",
        ECHO_REQUEST,
        &[
            ("PATH_INFO", Some(b"/a/b")),
            ("QUERY_STRING", Some(b"q=1&r=2")),
        ],
    );
    b.env(
        "echo percent",
        ECHO_REQUEST,
        &[
            ("PATH_INFO", Some(b"/a%20b/%2F")),
            ("QUERY_STRING", Some(b"x=%E9%00")),
        ],
    );
    b.env(
        "echo latin-1",
        ECHO_REQUEST,
        &[
            ("PATH_INFO", Some(b"/caf\xe9")),
            ("QUERY_STRING", Some(b"n=\xe9\xff")),
        ],
    );
    b.env(
        "echo utf-8",
        ECHO_REQUEST,
        &[
            ("PATH_INFO", Some("/café/€".as_bytes())),
            ("SCRIPT_NAME", Some("/ünï".as_bytes())),
        ],
    );
    b.env(
        "echo invalid utf-8",
        ECHO_REQUEST,
        &[
            ("PATH_INFO", Some(b"/\xff\xfe\xc3")),
            ("QUERY_STRING", Some(b"\x80")),
        ],
    );
    b.env(
        "echo absent",
        ECHO_REQUEST,
        &[
            ("PATH_INFO", None),
            ("QUERY_STRING", None),
            ("REQUEST_METHOD", None),
        ],
    );
    b.env(
        "echo empty",
        ECHO_REQUEST,
        &[("PATH_INFO", Some(b"")), ("SCRIPT_NAME", Some(b""))],
    );
    b.env(
        "echo headers",
        "start:200 OK;echo:HTTP_HOST;echo:HTTP_X_CUSTOM;echo:HTTP_COOKIE;echo:REDIRECT_HTTP_X;echo:CONTENT_TYPE",
        &[
            ("HTTP_HOST", Some(b"example.com:8080")),
            ("HTTP_X_CUSTOM", Some(b"v\xe9\xff")),
            ("HTTP_COOKIE", Some(b"a=1; b=2")),
            ("REDIRECT_HTTP_X", Some(b"\xe9")),
            ("CONTENT_TYPE", Some(b"text/plain; charset=latin-1")),
        ],
    );
    b.env("wsgi flags", "start:200 OK;wsgi", &[]);
    b.env(
        "wsgi https on",
        "start:200 OK;wsgi",
        &[("HTTPS", Some(b"on"))],
    );
    b.env(
        "wsgi https 1",
        "start:200 OK;wsgi",
        &[("HTTPS", Some(b"1"))],
    );
    b.env(
        "wsgi https off",
        "start:200 OK;wsgi",
        &[("HTTPS", Some(b"off"))],
    );
    b.env(
        "uri plain",
        "start:200 OK;uri",
        &[("PATH_INFO", Some(b"/x/y")), ("QUERY_STRING", Some(b"a=1"))],
    );
    b.env(
        "uri host and bytes",
        "start:200 OK;uri",
        &[
            ("HTTP_HOST", Some(b"h.example")),
            ("PATH_INFO", Some(b"/caf\xe9 x;y=1")),
            ("QUERY_STRING", Some(b"q=\xe9")),
        ],
    );
    b.env(
        "uri https port",
        "start:200 OK;uri",
        &[
            ("HTTPS", Some(b"on")),
            ("SERVER_PORT", Some(b"443")),
            ("SCRIPT_NAME", Some(b"/s p")),
        ],
    );
    b.env(
        "shift",
        "start:200 OK;shift;shift;shift",
        &[("PATH_INFO", Some(b"/a/b"))],
    );
    b.env(
        "shift dots",
        "start:200 OK;shift;shift;shift",
        &[("PATH_INFO", Some(b"/./x/../y//z"))],
    );
    b.env(
        "shift empty",
        "start:200 OK;shift",
        &[("PATH_INFO", Some(b""))],
    );
    b.env(
        "shift trailing slash",
        "start:200 OK;shift;shift",
        &[("PATH_INFO", Some(b"/dir/"))],
    );
    b.env(
        "shift latin-1",
        "start:200 OK;shift;uri",
        &[("PATH_INFO", Some(b"/\xe9t\xe9/x"))],
    );

    // Request bodies read from stdin by CONTENT_LENGTH.
    let post = |len: &'static [u8]| -> Vec<(&'static str, Option<&'static [u8]>)> {
        vec![
            ("REQUEST_METHOD", Some(b"POST")),
            ("CONTENT_TYPE", Some(b"application/x-www-form-urlencoded")),
            ("CONTENT_LENGTH", Some(len)),
        ]
    };
    b.add(
        "post body",
        "start:200 OK;input",
        &post(b"11"),
        b"a=1&b=%20&c",
        Same,
    );
    b.add(
        "post body, generator",
        "start:200 OK;input;ret:gen",
        &post(b"5"),
        b"hello",
        Same,
    );
    b.add(
        "post shorter stdin",
        "start:200 OK;input",
        &post(b"100"),
        b"only this",
        Same,
    );
    b.add(
        "post longer stdin",
        "start:200 OK;input",
        &post(b"3"),
        b"abcdef",
        Same,
    );
    b.add(
        "post zero length",
        "start:200 OK;input",
        &post(b"0"),
        b"ignored",
        Same,
    );
    b.add(
        "post binary",
        "start:200 OK;input",
        &post(b"6"),
        b"\x00\xff\r\n\xe9\x80",
        Same,
    );
    b.add(
        "post lines",
        "start:200 OK;line;chunk:|;line;ret:gen",
        &post(b"12"),
        b"line1\nline2\n",
        Same,
    );
    b.add(
        "post no length",
        "start:200 OK;input",
        &[("REQUEST_METHOD", Some(b"POST"))],
        b"data",
        Same,
    );
    let big: Vec<u8> = (0..200_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    b.add(
        "post large",
        "start:200 OK;input",
        &post(b"200000"),
        &big,
        Same,
    );
    b.add(
        "post large, generator",
        "start:200 OK;input;ret:gen",
        &post(b"200000"),
        &big,
        Same,
    );

    // Our deliberate differences, checked as such.
    let head: &[(&str, Option<&[u8]>)] = &[("REQUEST_METHOD", Some(b"HEAD"))];
    b.add(
        "HEAD, one chunk",
        "h:Content-Type=text/plain;start:200 OK;chunk:body",
        head,
        b"",
        HeadNoBody,
    );
    b.add(
        "HEAD, generator",
        "start:200 OK;chunk:a;chunk:b;ret:gen",
        head,
        b"",
        HeadNoBody,
    );
    // An empty HEAD response has no body to drop: identical.
    b.add("HEAD, empty", "start:200 OK", head, b"", Same);
    b.add("204", "start:204 No Content", &[], b"", NoBodyStatus);
    b.add(
        "204 with a body",
        "start:204 No Content;chunk:dropped",
        &[],
        b"",
        NoBodyStatus,
    );
    b.add(
        "304",
        "h:ETag=\"x\";start:304 Not Modified",
        &[],
        b"",
        NoBodyStatus,
    );
    b.cases
}

/// CPython's interpreter: `python3` resolved once, so the cases can run it with an empty
/// environment (no PATH).
fn python() -> PathBuf {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 is needed for the CGI differential suite");
    assert!(
        out.status.success(),
        "python3 failed: {}",
        show(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).expect("UTF-8 path").trim())
}

/// CPython's output transformed by our documented difference for `expect`.
fn expected(python_out: &[u8], expect: Expect) -> Vec<u8> {
    let split = python_out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .unwrap_or(python_out.len());
    let head = &python_out[..split];
    match expect {
        Expect::Same => python_out.to_vec(),
        Expect::HeadNoBody => head.to_vec(),
        Expect::NoBodyStatus => {
            let text = String::from_utf8_lossy(head);
            text.split_inclusive("\r\n")
                .filter(|line| !line.to_ascii_lowercase().starts_with("content-length:"))
                .collect::<String>()
                .into_bytes()
        }
    }
}

#[test]
fn cgi_output_matches_cpython_byte_for_byte() {
    let cases = cases();
    assert!(cases.len() >= 50, "only {} cases", cases.len());
    let python = python();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cgi/cpython_cgi.py");
    let ours = example("cgi_cases");
    let mut failures = Vec::new();
    let mut differences = 0;
    for case in &cases {
        let theirs = run_cgi(
            python.as_os_str(),
            &[script.as_os_str(), OsStr::new(&case.script)],
            &case.env,
            &case.stdin,
        );
        let mine = run_cgi(
            ours.as_os_str(),
            &[OsStr::new(&case.script)],
            &case.env,
            &case.stdin,
        );
        assert_eq!(
            theirs.code,
            Some(0),
            "{}: CPython failed: {}",
            case.name,
            show(&theirs.stderr)
        );
        assert_eq!(
            mine.code,
            Some(0),
            "{}: ours exited badly: {}",
            case.name,
            show(&mine.stderr)
        );
        assert!(
            !String::from_utf8_lossy(&mine.stderr).contains("panicked"),
            "{}: panic: {}",
            case.name,
            show(&mine.stderr)
        );
        // An application error is logged on both sides, and only then.
        assert_eq!(
            theirs.stderr.is_empty(),
            mine.stderr.is_empty(),
            "{}: CPython stderr {:?}, ours {:?}",
            case.name,
            show(&theirs.stderr),
            show(&mine.stderr)
        );
        if case.expect != Expect::Same {
            differences += 1;
            // The documented difference must be a real one, or the case tests nothing.
            assert_ne!(
                mine.stdout, theirs.stdout,
                "{}: no difference left",
                case.name
            );
        }
        let want = expected(&theirs.stdout, case.expect);
        if mine.stdout != want {
            failures.push(format!(
                "{} ({:?}):\n  script: {}\n  CPython: {}\n  want:    {}\n  ours:    {}",
                case.name,
                case.expect,
                case.script,
                show(&theirs.stdout),
                show(&want),
                show(&mine.stdout)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    let identical = cases.len() - differences;
    assert!(identical >= 50, "only {identical} byte-identical cases");
    eprintln!(
        "{} cases: {identical} byte-identical, {differences} documented differences",
        cases.len()
    );
}
