//! [`HandlerConfig`]: the knobs that are class attributes on CPython's `BaseHandler`.

use crate::environ::{UrlScheme, WsgiVars};
use crate::proto::{ProxyHeaderPolicy, Version};

/// How a handler frames and reports responses: CPython's `BaseHandler` class attributes.
///
/// The defaults ([`HandlerConfig::SIMPLE`]) are CPython's: an HTTP/1.0 origin server with no
/// `Server` header, the same error page, multithread and multiprocess flags as
/// `SimpleHandler`. [`HandlerConfig::CGI`] is `BaseCGIHandler`'s; [`HandlerConfig::SERVER`] is
/// what the HTTP/1.1 server uses.
///
/// ```
/// use wsgiref_core::handler::HandlerConfig;
/// let mut config = HandlerConfig::SIMPLE;
/// config.server_software = Some("MyServer/1.0");
/// assert_eq!(config.error_body.len(), 59);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandlerConfig {
    /// True: answer with a status line (`HTTP/1.0 200 OK`), `Date` and `Server`. False: CGI
    /// framing (`Status: 200 OK`), for a web server to complete.
    pub origin_server: bool,
    /// The version on the status line (CPython's `http_version`, default `"1.0"`). With
    /// [`Version::Http11`] the HTTP server uses chunked encoding and keep-alive.
    pub http_version: Version,
    /// `Server` header and `SERVER_SOFTWARE` default for origin servers; `None` (or `""`)
    /// sends none. [`SIMPLE`](Self::SIMPLE) and [`CGI`](Self::CGI) have none, as CPython's
    /// `BaseHandler`; [`SERVER`](Self::SERVER), which the HTTP server uses, has
    /// `wsgiref-rs/<version>` (`wsgiref-rs/0.1.0` for this release) where CPython's
    /// `simple_server` sends `WSGIServer/0.2 CPython/3.x`. Change it with
    /// `ServerOptions { config: ServerConfig { handler: HandlerConfig { server_software:
    /// Some("MyApp/1.0"), ..HandlerConfig::SERVER }, ..ServerConfig::default() },
    /// ..ServerOptions::default() }` for `make_server_with`. An environ that already holds
    /// `SERVER_SOFTWARE` (the server's base environ, a CGI server's) keeps it; the `Server`
    /// header is this value either way, unless the application sends its own.
    pub server_software: Option<&'static str>,
    /// Status of the error page sent when an application fails before sending headers.
    pub error_status: &'static str,
    /// Headers of the error page.
    pub error_headers: &'static [(&'static str, &'static str)],
    /// Body of the error page.
    pub error_body: &'static [u8],
    /// How many `caused by` levels of an error chain are logged (`None`: all). CPython's
    /// `traceback_limit` limits stack frames; an error chain is the Rust counterpart.
    pub traceback_limit: Option<usize>,
    /// `wsgi.multithread`.
    pub multithread: bool,
    /// `wsgi.multiprocess`.
    pub multiprocess: bool,
    /// `wsgi.run_once`.
    pub run_once: bool,
    /// `wsgi.file_wrapper`: advertise that a `FileWrapper` body is handled efficiently.
    pub file_wrapper: bool,
    /// What becomes of a client's `Proxy` request header, which would be `HTTP_PROXY`: by
    /// default ([`ProxyHeaderPolicy::Drop`]) no environ a handler builds or is given holds
    /// it. The HTTP server leaves the header out of the request's environ; the CGI handlers
    /// remove `HTTP_PROXY` from the environment the web server handed them.
    ///
    /// Why: CGI programs, and applications that copy the environ into a process environment,
    /// hand `HTTP_PROXY` to HTTP client libraries, which take it as the proxy for their own
    /// outgoing requests (httpoxy, CVE-2016-5385). No standard header is called `Proxy`.
    /// [`ProxyHeaderPolicy::Keep`] restores CPython's behaviour.
    ///
    /// ```
    /// use wsgiref_core::handler::{HandlerConfig, ServerConfig};
    /// use wsgiref_core::proto::ProxyHeaderPolicy;
    /// assert_eq!(HandlerConfig::CGI.proxy_header, ProxyHeaderPolicy::Drop);
    /// let mut config = ServerConfig::default();
    /// // Only where no client is untrusted and nothing passes the environ on:
    /// config.handler.proxy_header = ProxyHeaderPolicy::Keep;
    /// ```
    pub proxy_header: ProxyHeaderPolicy,
}

impl HandlerConfig {
    /// CPython's error page body: 59 bytes, two spaces after the first period.
    pub const ERROR_BODY: &'static [u8] =
        b"A server error occurred.  Please contact the administrator.";

    /// `SimpleHandler`'s defaults (CPython `BaseHandler` + `SimpleHandler(multithread=True,
    /// multiprocess=False)`).
    pub const SIMPLE: HandlerConfig = HandlerConfig {
        origin_server: true,
        http_version: Version::Http10,
        server_software: None,
        error_status: "500 Internal Server Error",
        error_headers: &[("Content-Type", "text/plain")],
        error_body: Self::ERROR_BODY,
        traceback_limit: None,
        multithread: true,
        multiprocess: false,
        run_once: false,
        file_wrapper: true,
        proxy_header: ProxyHeaderPolicy::Drop,
    };

    /// `BaseCGIHandler`'s defaults: like [`SIMPLE`](Self::SIMPLE) but CGI framing.
    pub const CGI: HandlerConfig = HandlerConfig {
        origin_server: false,
        ..Self::SIMPLE
    };

    /// The HTTP/1.1 server's defaults: keep-alive, chunked responses, a `Server` header.
    pub const SERVER: HandlerConfig = HandlerConfig {
        http_version: Version::Http11,
        server_software: Some(concat!("wsgiref-rs/", env!("CARGO_PKG_VERSION"))),
        multithread: true,
        multiprocess: false,
        ..Self::SIMPLE
    };
}

impl HandlerConfig {
    /// The `wsgi.*` group a handler with these settings gives a request of `url_scheme`.
    pub(crate) fn wsgi_vars(&self, url_scheme: UrlScheme) -> WsgiVars {
        WsgiVars {
            version: (1, 0),
            url_scheme,
            multithread: self.multithread,
            multiprocess: self.multiprocess,
            run_once: self.run_once,
            file_wrapper: self.file_wrapper,
        }
    }

    /// The `SERVER_SOFTWARE` an origin server sets unless the environ has one. An empty name
    /// counts as none, as in CPython (`if self.server_software`) and as for the `Server`
    /// header.
    pub(crate) fn default_server_software(&self) -> Option<&'static str> {
        self.server_software
            .filter(|s| self.origin_server && !s.is_empty())
    }
}

impl Default for HandlerConfig {
    fn default() -> Self {
        Self::SIMPLE
    }
}
