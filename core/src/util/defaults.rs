//! `setup_testing_defaults`: make a hand-built environ complete enough to run an application.

use super::uri::guess_scheme;
use crate::environ::{Environ, EnvironError, WsgiVars};

/// Fill in the variables every WSGI application may expect, without replacing any that are
/// present (even empty ones), in CPython's order:
///
/// 1. `SERVER_NAME = "127.0.0.1"`, `SERVER_PROTOCOL = "HTTP/1.0"`;
/// 2. `HTTP_HOST` = the `SERVER_NAME` from step 1;
/// 3. `REQUEST_METHOD = "GET"`;
/// 4. `SCRIPT_NAME = ""` and `PATH_INFO = "/"`, only when **both** are absent;
/// 5. the `wsgi.*` group, only when `environ.wsgi` is `None`:
///    [`WsgiVars::testing`] with the scheme [`guess_scheme`] reads from `HTTPS`;
/// 6. `SERVER_PORT` = the scheme's default port, `80` or `443`.
///
/// One difference from CPython: the `wsgi.*` group here says `wsgi.file_wrapper` is
/// available, where CPython's `setup_testing_defaults` sets no `wsgi.file_wrapper`. Every
/// handler of this crate advertises it ([`HandlerConfig`](crate::handler::HandlerConfig)'s
/// `file_wrapper` is true by default, as CPython's `BaseHandler.wsgi_file_wrapper` is set),
/// so an application tested over these defaults takes the same path it takes when served.
/// Set `environ.wsgi` yourself first (for example `WsgiVars { file_wrapper: false,
/// ..WsgiVars::testing(scheme) }`) to test the fallback.
///
/// CPython also installs an empty `wsgi.input` and `wsgi.errors`; an [`Environ`] without
/// streams already behaves that way (input reads as empty, errors are dropped), so none is
/// attached here.
///
/// Nothing is allocated. When the environ's storage fills up the error is returned; defaults
/// set before the failing one stay, and the failing one is not half-written.
///
/// ```
/// use wsgiref_core::environ::{EnvironBuf, UrlScheme};
/// use wsgiref_core::util::setup_testing_defaults;
///
/// let mut buf = EnvironBuf::<512, 16>::new();
/// let mut environ = buf.environ();
/// environ.set("HTTPS", "on")?;
/// setup_testing_defaults(&mut environ)?;
/// assert_eq!(environ.url_scheme(), Some(UrlScheme::Https));
/// assert_eq!(environ.get_str("SERVER_PORT"), Some("443"));
/// assert_eq!(environ.get_str("HTTP_HOST"), Some("127.0.0.1"));
/// # Ok::<(), wsgiref_core::environ::EnvironError>(())
/// ```
pub fn setup_testing_defaults(environ: &mut Environ<'_>) -> Result<(), EnvironError> {
    environ.setdefault("SERVER_NAME", "127.0.0.1")?;
    environ.setdefault("SERVER_PROTOCOL", "HTTP/1.0")?;
    if !environ.contains("HTTP_HOST") {
        copy_value(environ, "SERVER_NAME", "HTTP_HOST")?;
    }
    environ.setdefault("REQUEST_METHOD", "GET")?;
    if !environ.contains("SCRIPT_NAME") && !environ.contains("PATH_INFO") {
        environ.set("SCRIPT_NAME", "")?;
        environ.set("PATH_INFO", "/")?;
    }
    if environ.wsgi.is_none() {
        environ.wsgi = Some(WsgiVars::testing(guess_scheme(environ)));
    }
    if let Some(scheme) = environ.url_scheme() {
        environ.setdefault("SERVER_PORT", scheme.default_port())?;
    }
    Ok(())
}

/// Set the absent key `to` to the value of `from`.
///
/// The source lives in the same arena the copy goes to, so it cannot be passed to `set`
/// directly; it is copied through a small stack buffer, one piece at a time, which needs no
/// allocator and has no length limit. If the environ fills up midway, `to` is removed again.
fn copy_value(environ: &mut Environ<'_>, from: &str, to: &str) -> Result<(), EnvironError> {
    const PIECE: usize = 64;
    let len = environ.get(from).map_or(0, <[u8]>::len);
    environ.set(to, "")?;
    let mut piece = [0u8; PIECE];
    for start in (0..len).step_by(PIECE) {
        let end = (start + PIECE).min(len);
        let n = end - start;
        match environ.get(from).and_then(|v| v.get(start..end)) {
            Some(src) => piece[..n].copy_from_slice(src),
            None => break,
        }
        if let Err(e) = environ.append(to, b"", &piece[..n]) {
            environ.remove(to);
            return Err(e);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environ::{EnvironBuf, UrlScheme};

    #[test]
    fn long_server_names_are_copied_whole() {
        let mut buf = EnvironBuf::<1024, 16>::new();
        let mut env = buf.environ();
        let name = [b'n'; 200];
        env.set("SERVER_NAME", name).unwrap();
        setup_testing_defaults(&mut env).unwrap();
        assert_eq!(env.get("HTTP_HOST"), Some(&name[..]));
    }

    #[test]
    fn a_preset_wsgi_group_decides_the_port() {
        let mut buf = EnvironBuf::<512, 16>::new();
        let mut env = buf.environ();
        env.wsgi = Some(WsgiVars::testing(UrlScheme::Https));
        setup_testing_defaults(&mut env).unwrap();
        assert_eq!(env.get_str("SERVER_PORT"), Some("443"));
        assert_eq!(env.url_scheme(), Some(UrlScheme::Https));
    }

    #[test]
    fn a_failed_copy_leaves_no_partial_host() {
        // Room for SERVER_NAME and SERVER_PROTOCOL but not a 100-byte HTTP_HOST.
        let mut buf = EnvironBuf::<190, 16>::new();
        let mut env = buf.environ();
        env.set("SERVER_NAME", [b'n'; 100]).unwrap();
        let err = setup_testing_defaults(&mut env).unwrap_err();
        assert!(matches!(err, EnvironError::Capacity(_)));
        assert!(!env.contains("HTTP_HOST"));
        assert!(env.contains("SERVER_PROTOCOL"));
    }
}
