//! A gateway request's params as an environ: the gateway side of the environ seam
//! (`environ::Source`).
//!
//! A front end speaking FastCGI, SCGI or uwsgi hands over the CGI variables it computed
//! (`REQUEST_METHOD`, `PATH_INFO`, `HTTP_HOST`, ...), so the environ is CPython's
//! `BaseCGIHandler.setup_environ`'s: the server's base first, then the request's variables over
//! it (a later pair with the same name replaces the value in place, as a dict assignment
//! does), then the `wsgi.*` group. Two things are not taken as given:
//!
//! * `HTTP_PROXY` is removed under [`ProxyHeaderPolicy::Drop`] (httpoxy), as the CGI handlers
//!   remove it from the environment a web server hands them;
//! * a pair whose name no environ key can have (not UTF-8, empty, holding `=` or NUL, or a
//!   `wsgi.*` name, which is a typed field here) is left out.
//!
//! [`ProxyHeaderPolicy::Drop`]: crate::proto::ProxyHeaderPolicy::Drop

use crate::environ::{Environ, Source, UrlScheme, HTTPS};
use crate::gateway::Params;
use crate::proto::ProxyHeaderPolicy;
use crate::storage::Table;
use crate::util::scheme_for_https;

/// The environ a gateway request's params and the server's base make.
pub(crate) struct ParamsSource<'a> {
    pub(crate) params: Params<'a>,
    pub(crate) base: &'a Table<'a>,
    pub(crate) proxy: ProxyHeaderPolicy,
}

impl ParamsSource<'_> {
    /// Whether the written-out variables certainly fit `bytes` and `slots`: every pair as a
    /// new variable (the params block as encoded holds each name and value plus its framing,
    /// so it bounds their bytes).
    pub(crate) fn fits(&self, bytes: usize, slots: usize) -> bool {
        self.base.bytes_used() + self.params.raw().len() <= bytes
            && self.base.len() + self.params.len() <= slots
    }
}

impl<'a> Source<'a> for ParamsSource<'a> {
    // `get` keeps its default (look in the written-out table): a gateway session writes the
    // environ out before the application runs, since the decoder that holds the params also
    // decodes the body the application reads.
    fn fill(&self, environ: &mut Environ<'_>) {
        if environ.copy_base(self.base).is_err() {
            return;
        }
        for (name, value) in self.params.iter() {
            let Ok(key) = core::str::from_utf8(name) else {
                continue;
            };
            match environ.set(key, value) {
                // An invalid or reserved name is left out; a full environ keeps what fits
                // (the session checked `fits` first).
                Ok(()) | Err(crate::environ::EnvironError::InvalidKey) => {}
                Err(crate::environ::EnvironError::ReservedKey) => {}
                Err(crate::environ::EnvironError::Capacity(_)) => return,
            }
        }
        if self.proxy == ProxyHeaderPolicy::Drop {
            environ.remove("HTTP_PROXY");
        }
    }
}

/// `wsgi.url_scheme` of a gateway request: CPython's `guess_scheme` (`HTTPS` is `yes`, `on`
/// or `1`), and failing that `REQUEST_SCHEME`, which nginx's `fastcgi_params`, `scgi_params`
/// and `uwsgi_params` and Apache's `mod_proxy_fcgi` send and which CPython's rule ignores.
pub(crate) fn url_scheme(environ: &Environ<'_>) -> UrlScheme {
    match scheme_for_https(environ.get_known(HTTPS)) {
        UrlScheme::Https => UrlScheme::Https,
        UrlScheme::Http => match environ.get("REQUEST_SCHEME") {
            Some(s) if s.eq_ignore_ascii_case(b"https") => UrlScheme::Https,
            _ => UrlScheme::Http,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environ::EnvironBuf;
    use crate::gateway::{scgi, Event, Limits};

    /// Decode an SCGI header block of `pairs` and hand its params to `f`.
    fn with_params(pairs: &[(&str, &str)], f: impl FnOnce(Params<'_>)) {
        let mut block = std::vec::Vec::new();
        let mut all = std::vec![("CONTENT_LENGTH", "0"), ("SCGI", "1")];
        all.extend_from_slice(pairs);
        for (n, v) in all {
            block.extend_from_slice(n.as_bytes());
            block.push(0);
            block.extend_from_slice(v.as_bytes());
            block.push(0);
        }
        let mut wire = std::format!("{}:", block.len()).into_bytes();
        wire.extend_from_slice(&block);
        wire.push(b',');
        let mut buf = [0u8; 1024];
        let mut decoder = scgi::Decoder::new(&mut buf[..], Limits::DEFAULT);
        let (_, event) = decoder.feed(&wire).unwrap();
        assert_eq!(event, Event::Params);
        f(decoder.params().unwrap());
    }

    #[test]
    fn params_go_over_the_base_in_order_and_httpoxy_is_dropped() {
        let mut base_buf = EnvironBuf::<256, 8>::new();
        let mut base = base_buf.environ();
        base.set("SERVER_NAME", "base").unwrap();
        base.set("OS_ONLY", "1").unwrap();
        with_params(
            &[
                ("REQUEST_METHOD", "GET"),
                ("SERVER_NAME", "front"),
                ("HTTP_PROXY", "evil:1"),
                ("wsgi.input", "x"),
                ("A=B", "x"),
                ("REQUEST_METHOD", "POST"),
            ],
            |params| {
                for (proxy, kept) in [
                    (ProxyHeaderPolicy::Drop, None),
                    (ProxyHeaderPolicy::Keep, Some(&b"evil:1"[..])),
                ] {
                    let source = ParamsSource {
                        params,
                        base: base.ready_table().unwrap(),
                        proxy,
                    };
                    let mut buf = EnvironBuf::<512, 16>::new();
                    let mut environ = buf.environ();
                    assert!(source.fits(512, 16));
                    source.fill(&mut environ);
                    let keys: std::vec::Vec<&str> = environ.iter().map(|(k, _)| k).collect();
                    let mut want = std::vec![
                        "SERVER_NAME",
                        "OS_ONLY",
                        "CONTENT_LENGTH",
                        "SCGI",
                        "REQUEST_METHOD",
                    ];
                    if kept.is_some() {
                        want.push("HTTP_PROXY");
                    }
                    assert_eq!(keys, want);
                    assert_eq!(environ.get("SERVER_NAME"), Some(&b"front"[..]));
                    // The later pair wins, in the first one's place.
                    assert_eq!(environ.get("REQUEST_METHOD"), Some(&b"POST"[..]));
                    assert_eq!(environ.get("HTTP_PROXY"), kept);
                }
            },
        );
    }

    #[test]
    fn url_scheme_reads_https_then_request_scheme() {
        for (pairs, want) in [
            (&[][..], UrlScheme::Http),
            (&[("HTTPS", "on")][..], UrlScheme::Https),
            (&[("HTTPS", "1")][..], UrlScheme::Https),
            (
                &[("HTTPS", "off"), ("REQUEST_SCHEME", "http")][..],
                UrlScheme::Http,
            ),
            (&[("REQUEST_SCHEME", "https")][..], UrlScheme::Https),
            (&[("REQUEST_SCHEME", "HTTPS")][..], UrlScheme::Https),
        ] {
            let mut buf = EnvironBuf::<256, 8>::new();
            let mut environ = buf.environ();
            for (k, v) in pairs {
                environ.set(k, v).unwrap();
            }
            assert_eq!(url_scheme(&environ), want, "{pairs:?}");
        }
    }
}
