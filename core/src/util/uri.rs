//! `guess_scheme`, `application_uri` and `request_uri`: rebuilding a request's URL from its
//! environ.

use core::fmt::Write;

use super::quote::{quote, write_latin1, SkipFirstChar, PATH_INFO_SAFE, SCRIPT_NAME_SAFE};
use super::UtilError;
use crate::environ::{Environ, UrlScheme, HTTPS};

/// The scheme a CGI environ implies: [`UrlScheme::Https`] when `HTTPS` is exactly `yes`, `on`
/// or `1`, else [`UrlScheme::Http`].
///
/// Servers that set `HTTPS` use one of those three spellings, so the match is exact, as in
/// CPython: `ON`, `" on"` and `true` all mean plain HTTP.
///
/// ```
/// use wsgiref_core::environ::{EnvironBuf, UrlScheme};
/// use wsgiref_core::util::guess_scheme;
///
/// let mut buf = EnvironBuf::<64, 4>::new();
/// let mut environ = buf.environ();
/// assert_eq!(guess_scheme(&environ), UrlScheme::Http);
/// environ.set("HTTPS", "on")?;
/// assert_eq!(guess_scheme(&environ), UrlScheme::Https);
/// environ.set("HTTPS", "ON")?;
/// assert_eq!(guess_scheme(&environ), UrlScheme::Http);
/// # Ok::<(), wsgiref_core::environ::EnvironError>(())
/// ```
pub fn guess_scheme(environ: &Environ<'_>) -> UrlScheme {
    scheme_for_https(environ.get_known(HTTPS))
}

/// The scheme an `HTTPS` value (or its absence) stands for, by CPython's rule: exactly `yes`,
/// `on` or `1` is https.
pub(crate) fn scheme_for_https(https: Option<&[u8]>) -> UrlScheme {
    match https {
        Some(b"yes" | b"on" | b"1") => UrlScheme::Https,
        _ => UrlScheme::Http,
    }
}

/// Where the host part of the URL comes from, decided before anything is written so that a
/// missing key leaves the sink untouched.
enum Host<'e> {
    /// A non-empty `HTTP_HOST`, used verbatim.
    HttpHost(&'e [u8]),
    /// `SERVER_NAME`, plus `:SERVER_PORT` unless the port is the scheme's default.
    Server {
        name: &'e [u8],
        port: Option<&'e [u8]>,
    },
}

fn host<'e>(environ: &'e Environ<'_>, scheme: UrlScheme) -> Result<Host<'e>, UtilError> {
    if let Some(host) = environ.get("HTTP_HOST").filter(|h| !h.is_empty()) {
        return Ok(Host::HttpHost(host));
    }
    let name = environ
        .get("SERVER_NAME")
        .ok_or(UtilError::MissingKey("SERVER_NAME"))?;
    let port = environ
        .get("SERVER_PORT")
        .ok_or(UtilError::MissingKey("SERVER_PORT"))?;
    // Only the exact default spelling is omitted: "080" and "" are written out, as in CPython.
    let port = (port != scheme.default_port().as_bytes()).then_some(port);
    Ok(Host::Server { name, port })
}

/// Check everything `application_uri` reads, so that errors come before any output.
fn application_parts<'e>(
    environ: &'e Environ<'_>,
) -> Result<(UrlScheme, Host<'e>, &'e [u8]), UtilError> {
    let scheme = environ
        .url_scheme()
        .ok_or(UtilError::MissingKey("wsgi.url_scheme"))?;
    let host = host(environ, scheme)?;
    let script_name = environ
        .get("SCRIPT_NAME")
        .filter(|s| !s.is_empty())
        .unwrap_or(b"/");
    Ok((scheme, host, script_name))
}

fn write_application_uri<W: Write + ?Sized>(
    out: &mut W,
    (scheme, host, script_name): (UrlScheme, Host<'_>, &[u8]),
) -> Result<(), UtilError> {
    out.write_str(scheme.as_str())?;
    out.write_str("://")?;
    match host {
        Host::HttpHost(host) => write_latin1(out, host)?,
        Host::Server { name, port } => {
            write_latin1(out, name)?;
            if let Some(port) = port {
                out.write_char(':')?;
                write_latin1(out, port)?;
            }
        }
    }
    quote(script_name, SCRIPT_NAME_SAFE, out)?;
    Ok(())
}

/// Write the URL of the application (scheme, host and quoted `SCRIPT_NAME`, no `PATH_INFO`)
/// into `out`.
///
/// * The scheme is `wsgi.url_scheme` (never `HTTPS`); no `wsgi.*` group is
///   [`UtilError::MissingKey`]`("wsgi.url_scheme")`.
/// * The host is a non-empty `HTTP_HOST`, verbatim; otherwise `SERVER_NAME` followed by
///   `:SERVER_PORT` unless the port is exactly the scheme's default (`80`/`443`). Both keys
///   are then required.
/// * The path is `SCRIPT_NAME` (or `/` when it is absent or empty), percent-quoted with `/`
///   safe.
///
/// Values written verbatim (host, port) that hold bytes `>= 0x80` appear in `out` as the
/// characters U+0080..U+00FF, which is the string CPython returns. On an error other than
/// [`UtilError::Write`] nothing has been written. No allocation happens: `out` can be a
/// `heapless::String`.
///
/// ```
/// use wsgiref_core::environ::EnvironBuf;
/// use wsgiref_core::util::{application_uri, setup_testing_defaults};
///
/// let mut buf = EnvironBuf::<512, 16>::new();
/// let mut environ = buf.environ();
/// environ.set("SCRIPT_NAME", b"/sp\xe4m")?;
/// setup_testing_defaults(&mut environ)?;
/// let mut uri = heapless::String::<64>::new();
/// application_uri(&environ, &mut uri)?;
/// assert_eq!(uri, "http://127.0.0.1/sp%E4m");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn application_uri<W: Write + ?Sized>(
    environ: &Environ<'_>,
    out: &mut W,
) -> Result<(), UtilError> {
    let parts = application_parts(environ)?;
    write_application_uri(out, parts)
}

/// Write the full URL of the request into `out`: [`application_uri`], then the quoted
/// `PATH_INFO`, then (when `include_query` is true and `QUERY_STRING` is non-empty) `?` and
/// `QUERY_STRING` verbatim.
///
/// `PATH_INFO` is percent-quoted with `/ ; = ,` safe. The query string is neither quoted nor
/// checked, as in CPython.
///
/// # The first character of `PATH_INFO` when `SCRIPT_NAME` is empty
///
/// The application URI then ends in the `/` that stood in for the empty `SCRIPT_NAME`, so
/// CPython drops the first character of the quoted `PATH_INFO`, assuming it is that same `/`.
/// It drops it even when it is not: `PATH_INFO="abc"` gives `http://h/bc`, and `PATH_INFO=" x"`
/// (quoted `%20x`) gives `http://h/20x`. **This port does the same, deliberately**: the output
/// must agree with CPython's byte for byte (the differential suite checks it), and a
/// `PATH_INFO` without a leading `/` is malformed for any server that builds it from a request
/// line.
///
/// ```
/// use wsgiref_core::environ::EnvironBuf;
/// use wsgiref_core::util::{request_uri, setup_testing_defaults};
///
/// let mut buf = EnvironBuf::<512, 16>::new();
/// let mut environ = buf.environ();
/// environ.set("HTTP_HOST", "h")?;
/// environ.set("PATH_INFO", "abc")?;
/// environ.set("QUERY_STRING", "q=1")?;
/// setup_testing_defaults(&mut environ)?;
/// let mut uri = heapless::String::<64>::new();
/// request_uri(&environ, true, &mut uri)?;
/// assert_eq!(uri, "http://h/bc?q=1"); // CPython's quirk, kept on purpose
/// uri.clear();
/// request_uri(&environ, false, &mut uri)?;
/// assert_eq!(uri, "http://h/bc");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn request_uri<W: Write + ?Sized>(
    environ: &Environ<'_>,
    include_query: bool,
    out: &mut W,
) -> Result<(), UtilError> {
    let parts = application_parts(environ)?;
    let script_name_empty = environ.get("SCRIPT_NAME").is_none_or(<[u8]>::is_empty);
    write_application_uri(out, parts)?;
    let path_info = environ.get("PATH_INFO").unwrap_or(b"");
    if script_name_empty {
        quote(path_info, PATH_INFO_SAFE, &mut SkipFirstChar::new(out))?;
    } else {
        quote(path_info, PATH_INFO_SAFE, out)?;
    }
    if include_query {
        if let Some(query) = environ.get("QUERY_STRING").filter(|q| !q.is_empty()) {
            out.write_char('?')?;
            write_latin1(out, query)?;
        }
    }
    Ok(())
}

/// [`application_uri`] into a new `String` (feature `alloc`).
#[cfg(feature = "alloc")]
pub fn application_uri_string(environ: &Environ<'_>) -> Result<alloc::string::String, UtilError> {
    let mut out = alloc::string::String::new();
    application_uri(environ, &mut out)?;
    Ok(out)
}

/// [`request_uri`] into a new `String` (feature `alloc`).
#[cfg(feature = "alloc")]
pub fn request_uri_string(
    environ: &Environ<'_>,
    include_query: bool,
) -> Result<alloc::string::String, UtilError> {
    let mut out = alloc::string::String::new();
    request_uri(environ, include_query, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environ::{EnvironBuf, WsgiVars};

    fn uri(environ: &Environ<'_>, query: bool) -> Result<heapless::String<128>, UtilError> {
        let mut s = heapless::String::new();
        request_uri(environ, query, &mut s)?;
        Ok(s)
    }

    #[test]
    fn missing_keys_write_nothing() {
        let mut buf = EnvironBuf::<256, 8>::new();
        let mut env = buf.environ();
        let mut s = heapless::String::<64>::new();
        assert_eq!(
            application_uri(&env, &mut s),
            Err(UtilError::MissingKey("wsgi.url_scheme"))
        );
        env.wsgi = Some(WsgiVars::testing(UrlScheme::Https));
        assert_eq!(
            request_uri(&env, true, &mut s),
            Err(UtilError::MissingKey("SERVER_NAME"))
        );
        env.set("SERVER_NAME", "h").unwrap();
        assert_eq!(
            request_uri(&env, true, &mut s),
            Err(UtilError::MissingKey("SERVER_PORT"))
        );
        assert!(s.is_empty());
        // A non-empty HTTP_HOST makes SERVER_NAME and SERVER_PORT irrelevant.
        env.set("HTTP_HOST", "x:1").unwrap();
        assert_eq!(uri(&env, true).unwrap(), "https://x:1/");
    }

    #[test]
    fn ports_compare_as_exact_strings() {
        let mut buf = EnvironBuf::<256, 8>::new();
        let mut env = buf.environ();
        env.wsgi = Some(WsgiVars::testing(UrlScheme::Https));
        env.set("SERVER_NAME", "h").unwrap();
        for (port, expected) in [
            ("443", "https://h/"),
            ("80", "https://h:80/"),
            ("0443", "https://h:0443/"),
            ("", "https://h:/"),
        ] {
            env.set("SERVER_PORT", port).unwrap();
            assert_eq!(uri(&env, true).unwrap(), expected);
        }
    }

    #[test]
    fn quirk_drops_first_quoted_character() {
        let mut buf = EnvironBuf::<256, 8>::new();
        let mut env = buf.environ();
        env.wsgi = Some(WsgiVars::testing(UrlScheme::Http));
        env.set("HTTP_HOST", "h").unwrap();
        env.set("PATH_INFO", " x").unwrap();
        assert_eq!(uri(&env, true).unwrap(), "http://h/20x");
        env.set("SCRIPT_NAME", "/s").unwrap();
        assert_eq!(uri(&env, true).unwrap(), "http://h/s%20x");
    }

    #[test]
    fn a_full_sink_is_a_write_error() {
        let mut buf = EnvironBuf::<256, 8>::new();
        let mut env = buf.environ();
        env.wsgi = Some(WsgiVars::testing(UrlScheme::Http));
        env.set("HTTP_HOST", "a-rather-long-host-name.example")
            .unwrap();
        let mut s = heapless::String::<8>::new();
        assert_eq!(application_uri(&env, &mut s), Err(UtilError::Write));
    }
}
