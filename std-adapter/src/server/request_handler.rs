//! [`RequestHandler`] (Python's `handler_class`) and its default, [`WsgiRequestHandler`].
//!
//! Python's `WSGIRequestHandler` is instantiated per connection and overridden to change the
//! environ, the error stream or the logging. Here a handler is one value shared by every
//! connection (so it is `Sync`), with the same hooks as trait methods:
//!
//! | Python | here |
//! |---|---|
//! | `get_environ()` | [`RequestHandler::get_environ`]: the per-connection variables over the server's base environ; the request's own (`REQUEST_METHOD`, `PATH_INFO`, `HTTP_*`...) are added per request by the core |
//! | `get_stderr()` | [`RequestHandler::get_stderr`]: `wsgi.errors` |
//! | `handle()` | [`RequestHandler::handle`]: serve one connection, blocking |
//! | `log_request()` / `log_message()` | [`RequestHandler::log_request`] / [`RequestHandler::log_refusal`] |

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::AtomicBool;

use wsgiref_core::environ::EnvironError;
use wsgiref_core::handler::{RequestLine, RequestLog};
use wsgiref_core::proto::ProtocolError;
use wsgiref_core::stream::ErrorStream;
use wsgiref_core::{Application, Environ};

use super::access_log;
use super::blocking;
use super::options::ServerOptions;
use crate::errors::Stderr;

/// The server's base environ (Python's `WSGIServer.base_environ`): `SERVER_NAME`,
/// `GATEWAY_INTERFACE`, `SERVER_PORT`, `REMOTE_HOST`, `CONTENT_LENGTH`, `SCRIPT_NAME`, in that
/// order, plus any variables added with [`set`](Self::set).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BaseEnviron {
    vars: Vec<(String, Vec<u8>)>,
}

impl BaseEnviron {
    /// Python's `setup_environ` for a server named `server_name` on `port`.
    ///
    /// ```
    /// use wsgiref_std::server::BaseEnviron;
    /// let base = BaseEnviron::new("localhost", 8000);
    /// assert_eq!(base.get("SERVER_PORT"), Some(&b"8000"[..]));
    /// assert_eq!(base.get("SCRIPT_NAME"), Some(&b""[..]));
    /// ```
    pub fn new(server_name: &str, port: u16) -> Self {
        let mut base = BaseEnviron::default();
        base.set("SERVER_NAME", server_name);
        base.set("GATEWAY_INTERFACE", "CGI/1.1");
        base.set("SERVER_PORT", port.to_string());
        base.set("REMOTE_HOST", "");
        base.set("CONTENT_LENGTH", "");
        base.set("SCRIPT_NAME", "");
        base
    }

    /// Set (or replace) a variable.
    pub fn set(&mut self, key: &str, value: impl AsRef<[u8]>) {
        let value = value.as_ref().to_vec();
        match self.vars.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.vars.push((key.to_owned(), value)),
        }
    }

    /// A variable's value.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.vars
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }

    /// All variables, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// Copy every variable into `environ`.
    pub fn fill(&self, environ: &mut Environ<'_>) -> Result<(), EnvironError> {
        for (k, v) in self.iter() {
            environ.set(k, v)?;
        }
        Ok(())
    }
}

/// What a handler needs to serve a connection in blocking mode (see
/// [`RequestHandler::handle`]).
pub struct ConnectionContext<'c, A> {
    /// The application (already guarded against panics by the server).
    pub app: &'c A,
    /// The connection's base environ, [`RequestHandler::get_environ`]'s result.
    pub environ: &'c Environ<'c>,
    /// Timeouts and sizes.
    pub options: &'c ServerOptions,
    /// Set when the server is shutting down: finish the request in flight, then close.
    pub stopping: &'c AtomicBool,
    /// Request bytes already received for this connection (by an event loop that handed the
    /// connection over); they are read before the socket.
    pub received: Vec<u8>,
}

/// Python's `handler_class`: how a server turns connections into environs and log lines.
///
/// Python's `WSGIRequestHandler` is instantiated per connection and overridden to change the
/// environ, the error stream or the logging. Here a handler is one value shared by every
/// connection (so it is `Sync`), with the same hooks as trait methods:
///
/// | Python | here |
/// |---|---|
/// | `get_environ()` | [`RequestHandler::get_environ`]: the per-connection variables over the server's base environ; the request's own (`REQUEST_METHOD`, `PATH_INFO`, `HTTP_*`...) are added per request by the core |
/// | `get_stderr()` | [`RequestHandler::get_stderr`]: `wsgi.errors` |
/// | `handle()` | [`RequestHandler::handle`]: serve one connection, blocking |
/// | `log_request()` / `log_message()` | [`RequestHandler::log_request`] / [`RequestHandler::log_refusal`] |
pub trait RequestHandler: Send + Sync + 'static {
    /// Python's `get_environ`: the variables every request of a connection from `client`
    /// starts with. The default copies the server's `base` and adds `REMOTE_ADDR` and
    /// `REMOTE_PORT`.
    fn get_environ(
        &self,
        base: &BaseEnviron,
        client: &SocketAddr,
        environ: &mut Environ<'_>,
    ) -> Result<(), EnvironError> {
        base.fill(environ)?;
        environ.set("REMOTE_ADDR", client.ip().to_string())?;
        environ.set("REMOTE_PORT", client.port().to_string())
    }

    /// Python's `get_stderr`: the `wsgi.errors` stream. Default: the process's stderr.
    fn get_stderr(&self) -> &dyn ErrorStream {
        &Stderr
    }

    /// Log an answered request. Default: the access log in wsgiref's format.
    fn log_request(&self, client: &SocketAddr, log: &RequestLog) {
        access_log::log_request(client, log);
    }

    /// Log a refused request (malformed, too large, timed out). Default: `http.server`'s
    /// `code N, message ...` line and an access-log line.
    fn log_refusal(&self, client: &SocketAddr, error: &ProtocolError, request_line: &RequestLine) {
        // With the core's `terse-errors` the detail is empty; the reason phrase stands in.
        let message = if error.detail.is_empty() {
            error.reason
        } else {
            error.detail
        };
        access_log::log_refusal(client, error.status, message, request_line);
    }

    /// Python's `handle`: serve every request of one connection, blocking, until it closes,
    /// times out or the server stops. The default runs the core's
    /// [`Connection`](wsgiref_core::handler::Connection) with the server's timeouts.
    ///
    /// The event-loop workers serve small requests themselves and call this only for
    /// connections they hand over (large uploads, streamed responses), and
    /// [`WsgiServer::handle_request`](super::WsgiServer::handle_request) calls it directly.
    fn handle<A: Application>(
        &self,
        stream: TcpStream,
        client: SocketAddr,
        context: ConnectionContext<'_, A>,
    ) {
        blocking::serve_connection(self, stream, client, context);
    }
}

/// Python's `WSGIRequestHandler`: every default of [`RequestHandler`].
#[derive(Clone, Copy, Debug, Default)]
pub struct WsgiRequestHandler;

impl RequestHandler for WsgiRequestHandler {}
