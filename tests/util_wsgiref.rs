//! The `UtilityTests` of CPython's `test_wsgiref.py`, ported to the Rust API: the same
//! inputs and expectations, written for `wsgiref::util`.

use wsgiref::util::{
    application_uri, guess_scheme, is_hop_by_hop, request_uri, setup_testing_defaults,
    shift_path_info, Close, FileWrapper,
};
use wsgiref::Body;
use wsgiref_core::environ::{Environ, EnvironBuf, UrlScheme, WsgiVars};

type Buf = EnvironBuf<1024, 32>;

/// A fresh environ holding `vars`, in order.
fn environ_with<'b>(buf: &'b mut Buf, vars: &[(&str, &[u8])]) -> Environ<'b> {
    let mut environ = buf.environ();
    for (key, value) in vars {
        environ.set(key, value).unwrap();
    }
    environ
}

/// Shift once from `(script_name, path_info)` after `setup_testing_defaults`, and compare the
/// segment and both new values.
fn check_shift(script_name: &str, path_info: &str, segment: Option<&str>, sn: &str, pi: &str) {
    let mut buf = Buf::new();
    let mut environ = environ_with(
        &mut buf,
        &[
            ("SCRIPT_NAME", script_name.as_bytes()),
            ("PATH_INFO", path_info.as_bytes()),
        ],
    );
    setup_testing_defaults(&mut environ).unwrap();
    let got = shift_path_info(&mut environ).unwrap();
    let context = format!("shift of ({script_name:?}, {path_info:?})");
    assert_eq!(got.as_deref(), segment.map(str::as_bytes), "{context}");
    assert_eq!(environ.get_str("PATH_INFO"), Some(pi), "{context}");
    assert_eq!(environ.get_str("SCRIPT_NAME"), Some(sn), "{context}");
}

#[test]
fn simple_shifts() {
    check_shift("", "/", Some(""), "/", "");
    check_shift("", "/x", Some("x"), "/x", "");
    check_shift("/", "", None, "/", "");
    check_shift("/a", "/x/y", Some("x"), "/a/x", "/y");
    check_shift("/a", "/x/", Some("x"), "/a/x", "/");
}

#[test]
fn normalized_shifts() {
    check_shift("/a/b", "/../y", Some(".."), "/a", "/y");
    check_shift("", "/../y", Some(".."), "", "/y");
    check_shift("/a/b", "//y", Some("y"), "/a/b/y", "");
    check_shift("/a/b", "//y/", Some("y"), "/a/b/y", "/");
    check_shift("/a/b", "/./y", Some("y"), "/a/b/y", "");
    check_shift("/a/b", "/./y/", Some("y"), "/a/b/y", "/");
    check_shift("/a/b", "///./..//y/.//", Some(".."), "/a", "/y/");
    check_shift("/a/b", "///", Some(""), "/a/b/", "");
    check_shift("/a/b", "/.//", Some(""), "/a/b/", "");
    check_shift("/a/b", "/x//", Some("x"), "/a/b/x", "/");
    check_shift("/a/b", "/.", None, "/a/b", "");
}

#[test]
fn defaults_fill_an_empty_environ() {
    let expected: [(&str, &str); 7] = [
        ("SERVER_NAME", "127.0.0.1"),
        ("SERVER_PORT", "80"),
        ("SERVER_PROTOCOL", "HTTP/1.0"),
        ("HTTP_HOST", "127.0.0.1"),
        ("REQUEST_METHOD", "GET"),
        ("SCRIPT_NAME", ""),
        ("PATH_INFO", "/"),
    ];
    for (key, value) in expected {
        // Missing: the default is filled in.
        let mut buf = Buf::new();
        let mut environ = buf.environ();
        setup_testing_defaults(&mut environ).unwrap();
        assert_eq!(environ.get_str(key), Some(value), "default of {key}");

        // Present (here with a value no default has): it is kept.
        let mut buf = Buf::new();
        let mut environ = environ_with(&mut buf, &[(key, b"\xe9alt")]);
        setup_testing_defaults(&mut environ).unwrap();
        assert_eq!(environ.get(key), Some(&b"\xe9alt"[..]), "preset {key}");
    }

    // The wsgi.* group: version 1.0, flags off (CPython's integer 0), scheme http. wsgi.input
    // and wsgi.errors are the environ's empty defaults.
    let mut buf = Buf::new();
    let mut environ = buf.environ();
    setup_testing_defaults(&mut environ).unwrap();
    let wsgi = environ.wsgi.expect("the wsgi group is set");
    assert_eq!(wsgi.version, (1, 0));
    assert!(!wsgi.run_once && !wsgi.multithread && !wsgi.multiprocess);
    assert_eq!(wsgi.url_scheme, UrlScheme::Http);
    let mut body = [0u8; 4];
    assert_eq!(environ.input().read(&mut body).unwrap(), 0);

    // A preset group is kept as it is.
    let mut buf = Buf::new();
    let mut environ = buf.environ();
    let preset = WsgiVars {
        multithread: true,
        ..WsgiVars::testing(UrlScheme::Https)
    };
    environ.wsgi = Some(preset);
    setup_testing_defaults(&mut environ).unwrap();
    assert_eq!(environ.wsgi, Some(preset));
}

#[test]
fn cross_defaults() {
    let after_defaults = |vars: &[(&str, &[u8])], key: &str| -> Option<String> {
        let mut buf = Buf::new();
        let mut environ = environ_with(&mut buf, vars);
        setup_testing_defaults(&mut environ).unwrap();
        if key == "wsgi.url_scheme" {
            return environ.url_scheme().map(|s| s.as_str().to_owned());
        }
        environ.get_str(key).map(str::to_owned)
    };
    let check = |key: &str, value: &str, vars: &[(&str, &[u8])]| {
        assert_eq!(
            after_defaults(vars, key).as_deref(),
            Some(value),
            "{key} from {vars:?}"
        );
    };
    check("HTTP_HOST", "foo.bar", &[("SERVER_NAME", b"foo.bar")]);
    check("wsgi.url_scheme", "https", &[("HTTPS", b"on")]);
    check("wsgi.url_scheme", "https", &[("HTTPS", b"1")]);
    check("wsgi.url_scheme", "https", &[("HTTPS", b"yes")]);
    check("wsgi.url_scheme", "http", &[("HTTPS", b"foo")]);
    check("SERVER_PORT", "80", &[("HTTPS", b"foo")]);
    check("SERVER_PORT", "443", &[("HTTPS", b"on")]);
}

#[test]
fn guessed_schemes() {
    let guess = |vars: &[(&str, &[u8])]| {
        let mut buf = Buf::new();
        guess_scheme(&environ_with(&mut buf, vars))
    };
    assert_eq!(guess(&[]), UrlScheme::Http);
    assert_eq!(guess(&[("HTTPS", b"foo")]), UrlScheme::Http);
    assert_eq!(guess(&[("HTTPS", b"on")]), UrlScheme::Https);
    assert_eq!(guess(&[("HTTPS", b"yes")]), UrlScheme::Https);
    assert_eq!(guess(&[("HTTPS", b"1")]), UrlScheme::Https);
}

fn app_uri(vars: &[(&str, &[u8])]) -> String {
    let mut buf = Buf::new();
    let mut environ = environ_with(&mut buf, vars);
    setup_testing_defaults(&mut environ).unwrap();
    let mut out = String::new();
    application_uri(&environ, &mut out).unwrap();
    out
}

#[test]
fn application_uris() {
    assert_eq!(app_uri(&[]), "http://127.0.0.1/");
    assert_eq!(
        app_uri(&[("SCRIPT_NAME", b"/spam")]),
        "http://127.0.0.1/spam"
    );
    assert_eq!(
        app_uri(&[("SCRIPT_NAME", b"/sp\xe4m")]),
        "http://127.0.0.1/sp%E4m"
    );
    assert_eq!(
        app_uri(&[
            ("HTTP_HOST", b"spam.example.com:2071"),
            ("SERVER_PORT", b"2071")
        ]),
        "http://spam.example.com:2071/"
    );
    assert_eq!(
        app_uri(&[("SERVER_NAME", b"spam.example.com")]),
        "http://spam.example.com/"
    );
    assert_eq!(
        app_uri(&[
            ("HTTP_HOST", b"127.0.0.1"),
            ("SERVER_NAME", b"spam.example.com")
        ]),
        "http://127.0.0.1/"
    );
    assert_eq!(app_uri(&[("HTTPS", b"on")]), "https://127.0.0.1/");
    // CPython passes HTTP_HOST=None, which is falsy like an empty value; an empty HTTP_HOST
    // is kept by setup_testing_defaults and ignored by application_uri.
    assert_eq!(
        app_uri(&[("SERVER_PORT", b"8000"), ("HTTP_HOST", b"")]),
        "http://127.0.0.1:8000/"
    );
}

fn req_uri(include_query: bool, vars: &[(&str, &[u8])]) -> String {
    let mut buf = Buf::new();
    let mut environ = environ_with(&mut buf, vars);
    setup_testing_defaults(&mut environ).unwrap();
    let mut out = heapless::String::<128>::new();
    request_uri(&environ, include_query, &mut out).unwrap();
    out.as_str().to_owned()
}

#[test]
fn request_uris() {
    assert_eq!(req_uri(true, &[]), "http://127.0.0.1/");
    assert_eq!(
        req_uri(true, &[("SCRIPT_NAME", b"/spam")]),
        "http://127.0.0.1/spam"
    );
    assert_eq!(
        req_uri(true, &[("SCRIPT_NAME", b"/sp\xe4m")]),
        "http://127.0.0.1/sp%E4m"
    );
    let spammity = |path: &'static [u8]| [("SCRIPT_NAME", &b"/spammity"[..]), ("PATH_INFO", path)];
    assert_eq!(
        req_uri(true, &spammity(b"/spam")),
        "http://127.0.0.1/spammity/spam"
    );
    assert_eq!(
        req_uri(true, &spammity(b"/sp\xe4m")),
        "http://127.0.0.1/spammity/sp%E4m"
    );
    assert_eq!(
        req_uri(true, &spammity(b"/spam;ham")),
        "http://127.0.0.1/spammity/spam;ham"
    );
    assert_eq!(
        req_uri(true, &spammity(b"/spam;cookie=1234,5678")),
        "http://127.0.0.1/spammity/spam;cookie=1234,5678"
    );
    let with_query = |query: &'static [u8]| {
        [
            ("SCRIPT_NAME", &b"/spammity"[..]),
            ("PATH_INFO", b"/spam"),
            ("QUERY_STRING", query),
        ]
    };
    assert_eq!(
        req_uri(true, &with_query(b"say=ni")),
        "http://127.0.0.1/spammity/spam?say=ni"
    );
    assert_eq!(
        req_uri(true, &with_query(b"s%E4y=ni")),
        "http://127.0.0.1/spammity/spam?s%E4y=ni"
    );
    assert_eq!(
        req_uri(false, &with_query(b"say=ni")),
        "http://127.0.0.1/spammity/spam"
    );
}

/// A file-like reader that records whether it was closed, like the `StringIO` the CPython
/// test wraps.
struct TextFile {
    data: Vec<u8>,
    pos: usize,
    closed: bool,
}

impl embedded_io::ErrorType for TextFile {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for TextFile {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = buf.len().min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Close for TextFile {
    fn close(&mut self) {
        self.closed = true;
    }
}

#[test]
fn file_wrapper_reads_blocks_and_closes_only_on_close() {
    let text = "xyz".repeat(50);
    let file = TextFile {
        data: text.into_bytes(),
        pos: 0,
        closed: false,
    };
    let mut wrapper = FileWrapper::with_blksize(file, 120).closing();
    let mut chunks = Vec::new();
    while let Some(chunk) = wrapper.next_chunk().unwrap() {
        chunks.push(String::from_utf8(chunk.to_vec()).unwrap());
    }
    assert_eq!(chunks, ["xyz".repeat(40), "xyz".repeat(10)]);
    // Exhausted, it stays exhausted.
    assert_eq!(wrapper.next_chunk().unwrap(), None);
    assert!(!wrapper.file().closed, "iterating must not close the file");
    wrapper.close();
    assert!(wrapper.file().closed, "close() must reach the file");
}

#[test]
fn hop_by_hop_names_in_every_casing() {
    fn title(name: &str) -> String {
        // Python's str.title(): upper-case after every non-letter, lower-case elsewhere.
        let mut out = String::new();
        let mut start = true;
        for c in name.chars() {
            out.push(if start {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            });
            start = !c.is_ascii_alphabetic();
        }
        out
    }
    let casings = |name: &str| {
        [
            name.to_owned(),
            title(name),
            name.to_ascii_uppercase(),
            name.to_ascii_lowercase(),
        ]
    };
    for hop in "Connection Keep-Alive Proxy-Authenticate Proxy-Authorization TE Trailers \
                Transfer-Encoding Upgrade"
        .split_whitespace()
    {
        for name in casings(hop) {
            assert!(is_hop_by_hop(&name), "{name} is hop-by-hop");
        }
    }
    for other in "Accept Cache-Control Date Pragma Trailer Via Warning".split_whitespace() {
        for name in casings(other) {
            assert!(!is_hop_by_hop(&name), "{name} is end-to-end");
        }
    }
}
