//! `read_environ()`: the process environment as a CGI environ of byte strings.
//!
//! A CGI server hands the request to the program in environment variables. Python's
//! `wsgiref.handlers.read_environ` has to undo a bytes-to-text decoding that the OS (or the
//! server) already did, so that request variables hold the request's original bytes. Here
//! [`Environ`] values *are* bytes, so the rules become:
//!
//! * **Unix**: every value is the raw bytes of the variable (`OsStrExt::as_bytes`): exactly
//!   what Python's surrogateescape + latin-1 dance recovers for request variables, and the
//!   honest value for the others. A variable whose *name* is not UTF-8 is skipped, because
//!   environ keys are `&str` (no CGI server produces such names; Python would keep it with
//!   surrogates). Names that [`Environ`] refuses (empty, containing `=`, or starting with
//!   `wsgi.`) are skipped too.
//! * **Windows**: the environment is UTF-16 text, and how request bytes became text depends
//!   on the server. [`transcode_windows`] applies CPython's per-server rules (selected by
//!   `SERVER_SOFTWARE`, see [`WindowsServer`]) to the variables that
//!   [`needs_transcoding`]; it is a pure function, so the rules are tested on every platform.

use std::borrow::Cow;

use wsgiref_core::environ::{Environ, EnvironError};

/// True for the variables whose values come from the request and so may hold arbitrary
/// bytes: CPython's list (`SCRIPT_NAME`, `PATH_INFO`, `QUERY_STRING`, `REQUEST_METHOD`,
/// `AUTH_TYPE`, `CONTENT_TYPE`, `CONTENT_LENGTH`, `HTTPS`, `REMOTE_USER`, `REMOTE_IDENT`),
/// every `HTTP_*` and `SSL_*` variable, and `REDIRECT_` + any of those (recursively, as
/// Apache prefixes each internal redirect).
///
/// ```
/// use wsgiref_std::cgi::needs_transcoding;
/// assert!(needs_transcoding("PATH_INFO"));
/// assert!(needs_transcoding("REDIRECT_REDIRECT_HTTP_HOST"));
/// assert!(!needs_transcoding("REDIRECT_STATUS"));
/// assert!(!needs_transcoding("SERVER_NAME"));
/// ```
pub fn needs_transcoding(key: &str) -> bool {
    const REQUEST: [&str; 10] = [
        "SCRIPT_NAME",
        "PATH_INFO",
        "QUERY_STRING",
        "REQUEST_METHOD",
        "AUTH_TYPE",
        "CONTENT_TYPE",
        "CONTENT_LENGTH",
        "HTTPS",
        "REMOTE_USER",
        "REMOTE_IDENT",
    ];
    let mut key = key;
    // A loop rather than recursion: a hostile environment cannot grow the stack.
    loop {
        if REQUEST.contains(&key) || key.starts_with("HTTP_") || key.starts_with("SSL_") {
            return true;
        }
        match key.strip_prefix("REDIRECT_") {
            Some(rest) => key = rest,
            None => return false,
        }
    }
}

/// Build an environ from raw name/value byte pairs, as Unix supplies them.
///
/// Pairs whose name is not UTF-8, or is a name [`Environ::set`] refuses (empty, with `=` or
/// NUL, or `wsgi.*`), are skipped: they cannot be environ keys, and no CGI server sends them.
/// Fails only when the environment is larger than [`Environ::new`]'s limits.
///
/// ```
/// use wsgiref_std::cgi::environ_from_bytes;
/// let vars: [(&[u8], &[u8]); 2] = [(b"PATH_INFO", b"/caf\xe9"), (b"BAD\xff", b"x")];
/// let environ = environ_from_bytes(vars).unwrap();
/// assert_eq!(environ.get("PATH_INFO"), Some(&b"/caf\xe9"[..]));
/// assert_eq!(environ.len(), 1);
/// ```
pub fn environ_from_bytes<K, V>(
    vars: impl IntoIterator<Item = (K, V)>,
) -> Result<Environ<'static>, EnvironError>
where
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let mut environ = Environ::new();
    for (key, value) in vars {
        let Ok(key) = std::str::from_utf8(key.as_ref()) else {
            continue;
        };
        match environ.set(key, value.as_ref()) {
            Ok(()) => {}
            Err(EnvironError::InvalidKey | EnvironError::ReservedKey) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(environ)
}

/// Which server's text conversion a Windows CGI environment went through, chosen from
/// `SERVER_SOFTWARE` by CPython's rules (case-insensitive prefixes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowsServer {
    /// `Microsoft-IIS/...`: IIS decodes request bytes as UTF-8 when they are valid UTF-8
    /// (and with the ANSI code page otherwise, which cannot be detected), so the bytes are
    /// recovered by encoding as UTF-8.
    Iis,
    /// `Apache/...`: mod_cgi writes each byte as the character of the same number (latin-1),
    /// so each character below U+0100 is one byte.
    Apache,
    /// `SimpleHTTP/...` with `Python/3` in it: Python's `CGIHTTPRequestHandler`, which
    /// decodes with UTF-8; recovered by encoding as UTF-8.
    PythonSimpleHttp,
    /// Anything else: CPython encodes with the filesystem encoding (UTF-8 on Windows) and
    /// replaces what cannot be encoded with `?`.
    Other,
}

impl WindowsServer {
    /// Classify a `SERVER_SOFTWARE` value (absent: pass `""`).
    ///
    /// ```
    /// use wsgiref_std::cgi::WindowsServer;
    /// assert_eq!(WindowsServer::from_software("Microsoft-IIS/10.0"), WindowsServer::Iis);
    /// assert_eq!(WindowsServer::from_software("Apache/2.4.58 (Win64)"), WindowsServer::Apache);
    /// assert_eq!(
    ///     WindowsServer::from_software("SimpleHTTP/0.6 Python/3.12.1"),
    ///     WindowsServer::PythonSimpleHttp
    /// );
    /// assert_eq!(WindowsServer::from_software("SimpleHTTP/0.6 Python/2.7"), WindowsServer::Other);
    /// ```
    pub fn from_software(software: &str) -> Self {
        let software = software.to_lowercase();
        if software.starts_with("microsoft-iis/") {
            WindowsServer::Iis
        } else if software.starts_with("apache/") {
            WindowsServer::Apache
        } else if software.starts_with("simplehttp/") && software.contains("python/3") {
            WindowsServer::PythonSimpleHttp
        } else {
            WindowsServer::Other
        }
    }

    /// The request bytes behind `value`, a request variable as Windows gives it.
    ///
    /// For [`Apache`](Self::Apache), characters up to U+00FF become the byte of the same
    /// number. CPython keeps any larger character as it is, which no byte string can hold;
    /// such a character is kept as its UTF-8 bytes (so no information is lost). Every other
    /// server's value is UTF-8 encoded: that is CPython's IIS and `CGIHTTPRequestHandler`
    /// rule, and its fallback rule too, because a Rust `&str` has nothing UTF-8 cannot encode
    /// (Windows' unpaired surrogates are replaced with `?` before this, see
    /// [`read_environ`]).
    ///
    /// ```
    /// use wsgiref_std::cgi::WindowsServer;
    /// assert_eq!(&*WindowsServer::Apache.transcode("/caf\u{e9}"), b"/caf\xe9");
    /// assert_eq!(&*WindowsServer::Iis.transcode("/caf\u{e9}"), b"/caf\xc3\xa9");
    /// ```
    pub fn transcode(self, value: &str) -> Cow<'_, [u8]> {
        match self {
            WindowsServer::Apache if !value.is_ascii() => {
                let mut out = Vec::with_capacity(value.len());
                for c in value.chars() {
                    match u8::try_from(u32::from(c)) {
                        Ok(byte) => out.push(byte),
                        Err(_) => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
                    }
                }
                Cow::Owned(out)
            }
            _ => Cow::Borrowed(value.as_bytes()),
        }
    }
}

/// CPython's Windows `read_environ` rules as a pure function: build an environ from the
/// variables as Windows gives them (text), recovering the request bytes of every variable
/// that [`needs_transcoding`] according to `server` (see [`WindowsServer`]). Other
/// variables are stored as UTF-8.
///
/// [`read_environ`] on Windows calls it with the process environment and the
/// classification of its own `SERVER_SOFTWARE`; it is public so the rules can be checked
/// (and reused by a server that receives a Windows environment block) on any platform.
///
/// ```
/// use wsgiref_std::cgi::{transcode_windows, WindowsServer};
/// let vars = [("PATH_INFO", "/caf\u{e9}"), ("SERVER_NAME", "h\u{e9}")];
/// let environ = transcode_windows(vars, WindowsServer::Apache).unwrap();
/// assert_eq!(environ.get("PATH_INFO"), Some(&b"/caf\xe9"[..]));
/// assert_eq!(environ.get("SERVER_NAME"), Some("h\u{e9}".as_bytes()));
/// ```
pub fn transcode_windows<K, V>(
    vars: impl IntoIterator<Item = (K, V)>,
    server: WindowsServer,
) -> Result<Environ<'static>, EnvironError>
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut environ = Environ::new();
    for (key, value) in vars {
        let (key, value) = (key.as_ref(), value.as_ref());
        let bytes = if needs_transcoding(key) {
            server.transcode(value)
        } else {
            Cow::Borrowed(value.as_bytes())
        };
        match environ.set(key, bytes) {
            Ok(()) => {}
            Err(EnvironError::InvalidKey | EnvironError::ReservedKey) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(environ)
}

/// The process environment as a CGI environ (CPython's `read_environ()`); see the
/// [module docs](self) for the per-platform rules.
///
/// Fails only when the environment exceeds [`Environ::new`]'s limits (1 MiB, 4096
/// variables); [`CgiHandler`](crate::cgi::CgiHandler) answers that with its error page.
pub fn read_environ() -> Result<Environ<'static>, EnvironError> {
    platform::read_environ()
}

#[cfg(unix)]
mod platform {
    use std::os::unix::ffi::OsStrExt;

    use super::*;

    pub(super) fn read_environ() -> Result<Environ<'static>, EnvironError> {
        environ_from_bytes(
            std::env::vars_os().map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec())),
        )
    }
}

#[cfg(windows)]
mod platform {
    use std::ffi::OsStr;
    use std::os::windows::ffi::OsStrExt;

    use super::*;

    /// Windows text as a Rust string, with unpaired surrogates replaced by `?` (what
    /// CPython's `'replace'` error handler produces for them).
    fn text(s: &OsStr) -> String {
        char::decode_utf16(s.encode_wide())
            .map(|c| c.unwrap_or('?'))
            .collect()
    }

    pub(super) fn read_environ() -> Result<Environ<'static>, EnvironError> {
        let vars: Vec<(String, String)> = std::env::vars_os()
            .map(|(k, v)| (text(&k), text(&v)))
            .collect();
        let software = vars
            .iter()
            .find(|(k, _)| k == "SERVER_SOFTWARE")
            .map_or("", |(_, v)| v.as_str());
        let server = WindowsServer::from_software(software);
        transcode_windows(vars.iter().map(|(k, v)| (k, v)), server)
    }
}

#[cfg(not(any(unix, windows)))]
mod platform {
    use super::*;

    /// Neither Unix nor Windows: only variables that are valid Unicode can be read.
    pub(super) fn read_environ() -> Result<Environ<'static>, EnvironError> {
        environ_from_bytes(std::env::vars().map(|(k, v)| (k.into_bytes(), v.into_bytes())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcoding_keys_follow_cpython() {
        for key in [
            "SCRIPT_NAME",
            "PATH_INFO",
            "QUERY_STRING",
            "REQUEST_METHOD",
            "AUTH_TYPE",
            "CONTENT_TYPE",
            "CONTENT_LENGTH",
            "HTTPS",
            "REMOTE_USER",
            "REMOTE_IDENT",
            "HTTP_",
            "HTTP_X_Y",
            "SSL_CLIENT_S_DN",
            "REDIRECT_PATH_INFO",
            "REDIRECT_REDIRECT_SSL_X",
        ] {
            assert!(needs_transcoding(key), "{key}");
        }
        for key in [
            "",
            "PATH",
            "HOME",
            "SERVER_NAME",
            "SERVER_SOFTWARE",
            "REMOTE_ADDR",
            "GATEWAY_INTERFACE",
            "REDIRECT_",
            "REDIRECT_STATUS",
            "REDIRECT_URL",
            "path_info",
            "http_host",
            "XHTTP_HOST",
        ] {
            assert!(!needs_transcoding(key), "{key}");
        }
    }

    #[test]
    fn server_classification_is_case_insensitive_prefix() {
        use WindowsServer::*;
        let cases = [
            ("", Other),
            ("microsoft-iis/7.5", Iis),
            ("MICROSOFT-IIS/8", Iis),
            ("Microsoft-IIS", Other),
            ("IIS/10", Other),
            ("apache/2.2", Apache),
            ("Apache", Other),
            ("nginx/1.25", Other),
            ("SimpleHTTP/0.6 Python/3.11.7", PythonSimpleHttp),
            ("simplehttp/0.6 python/3", PythonSimpleHttp),
            ("SimpleHTTP/0.6 Python/2.7.18", Other),
            ("Python/3.11 SimpleHTTP/0.6", Other),
        ];
        for (software, want) in cases {
            assert_eq!(WindowsServer::from_software(software), want, "{software:?}");
        }
    }

    #[test]
    fn windows_rules_recover_request_bytes() {
        let vars = [
            ("PATH_INFO", "/caf\u{e9}/\u{20ac}"),
            ("QUERY_STRING", "q=\u{ff}"),
            ("HTTP_X", "\u{e9}"),
            ("REDIRECT_QUERY_STRING", "\u{e9}"),
            ("SERVER_NAME", "h\u{e9}st"),
            ("REDIRECT_STATUS", "\u{e9}"),
        ];
        let apache = transcode_windows(vars, WindowsServer::Apache).unwrap();
        assert_eq!(apache.get("PATH_INFO"), Some(&b"/caf\xe9/\xe2\x82\xac"[..]));
        assert_eq!(apache.get("QUERY_STRING"), Some(&b"q=\xff"[..]));
        assert_eq!(apache.get("HTTP_X"), Some(&b"\xe9"[..]));
        assert_eq!(apache.get("REDIRECT_QUERY_STRING"), Some(&b"\xe9"[..]));
        // Not a request variable: plain UTF-8 whatever the server.
        assert_eq!(apache.get("SERVER_NAME"), Some("h\u{e9}st".as_bytes()));
        assert_eq!(apache.get("REDIRECT_STATUS"), Some("\u{e9}".as_bytes()));
        for server in [
            WindowsServer::Iis,
            WindowsServer::PythonSimpleHttp,
            WindowsServer::Other,
        ] {
            let environ = transcode_windows(vars, server).unwrap();
            assert_eq!(
                environ.get("PATH_INFO"),
                Some(&b"/caf\xc3\xa9/\xe2\x82\xac"[..]),
                "{server:?}"
            );
            assert_eq!(environ.get("QUERY_STRING"), Some(&b"q=\xc3\xbf"[..]));
        }
        // Order is kept, as in os.environ.
        let keys: Vec<&str> = apache.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vars.map(|(k, _)| k));
    }

    #[test]
    fn unusable_names_are_skipped_not_fatal() {
        let vars: [(&[u8], &[u8]); 5] = [
            (b"A", b"1"),
            (b"\xff", b"x"),
            (b"wsgi.input", b"x"),
            (b"", b"x"),
            (b"QUERY_STRING", b"a=\x80\x00"),
        ];
        let environ = environ_from_bytes(vars).unwrap();
        assert_eq!(environ.len(), 2);
        assert_eq!(environ.get("QUERY_STRING"), Some(&b"a=\x80\x00"[..]));
        let environ = transcode_windows([("wsgi.x", "1"), ("B", "2")], WindowsServer::Iis).unwrap();
        assert_eq!(environ.len(), 1);
    }

    #[test]
    fn oversized_environment_is_an_error() {
        let big = vec![b'x'; Environ::DEFAULT_BYTE_LIMIT + 1];
        let vars: [(&[u8], &[u8]); 1] = [(b"HUGE", &big)];
        assert!(matches!(
            environ_from_bytes(vars),
            Err(EnvironError::Capacity(_))
        ));
    }

    #[cfg(unix)]
    #[test]
    fn reads_this_process_environment() {
        use std::os::unix::ffi::OsStrExt;
        let environ = read_environ().unwrap();
        let mut expected = 0;
        for (k, v) in std::env::vars_os() {
            if let Some(k) = k.to_str() {
                if !k.is_empty() && !k.starts_with("wsgi.") {
                    expected += 1;
                    assert_eq!(environ.get(k), Some(v.as_bytes()), "{k}");
                }
            }
        }
        assert_eq!(environ.len(), expected);
    }
}
