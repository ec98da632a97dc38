//! `wsgiref.simple_server` for Rust: [`make_server`], [`WsgiServer`], [`WsgiRequestHandler`],
//! [`demo_app`].
//!
//! ```no_run
//! use wsgiref_std::server::{demo_app, make_server};
//!
//! let server = make_server("", 8000, demo_app)?;
//! println!("Serving HTTP on port {}...", server.server_address().port());
//! server.serve_forever()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Python's server answers one HTTP/1.0 request per connection on one thread. This one keeps
//! the API and speaks HTTP/1.1 through the core's state machine: keep-alive, pipelining,
//! chunked bodies, `Expect: 100-continue`.
//!
//! | Python | here |
//! |---|---|
//! | `make_server(host, port, app, server_class, handler_class)` | [`make_server`], [`make_server_with`] (handler value and [`ServerOptions`]) |
//! | `WSGIServer` | [`WsgiServer`]: `serve_forever`, `handle_request`, `shutdown`, `set_app`, `get_app`, `server_address`, `base_environ` |
//! | `WSGIRequestHandler` | [`RequestHandler`] (the hooks) and [`WsgiRequestHandler`] (the defaults) |
//! | `demo_app` | [`demo_app`] |
//! | an exception in the application | a panic is caught ([`CatchPanic`]) and answered `500` |
//!
//! # Robustness
//!
//! * Timeouts ([`ServerOptions`]): idle keep-alive connections close after `idle_timeout`; a
//!   request head must be complete `header_timeout` after its first byte, however slowly it
//!   trickles (slowloris); each body read and response write may wait `body_timeout`.
//! * Beyond `max_connections` open connections a client gets `503` and is closed at once.
//! * [`WsgiServer::shutdown`] (or SIGINT/SIGTERM through
//!   [`ShutdownHandle::on_termination_signals`]) stops accepting, lets requests in flight
//!   finish, closes idle connections, and `serve_forever` returns.
//! * A panicking application is answered `500`, logged to `wsgi.errors`, and the server
//!   serves on. Clients that disconnect are logged only at `debug` level.
//! * The access log goes through the [`log`] crate in wsgiref's format ([`access_log`]).
//!
//! # Design
//!
//! [`WsgiServer::serve_forever`] runs one event-loop worker per core
//! ([`ServerOptions::workers`]), on Linux pinned to a CPU of its own
//! ([`ServerOptions::pin_workers`]). Each has its own listening socket on the same address
//! (`SO_REUSEPORT`, so the kernel spreads connections without a shared accept lock; with
//! [`ServerOptions::steer_connections`] each connection goes to the worker on the CPU that
//! received it, which spares a cross-CPU wake-up per request) and its own
//! `mio` poller, and serves its connections through the core's sans-IO `Session`: read what a
//! socket has, answer every complete request in it (pipelining) into one transmit buffer,
//! write that with one system call. Idle keep-alive connections cost a buffer and a poller
//! entry, not a thread, so thousands of them do not starve active ones, and a request costs
//! no thread switch, which is what a thread-per-connection server (measured at 63–78k req/s
//! here) pays for.
//!
//! Requests the loop cannot finish without waiting (a body larger than the receive buffer, a
//! chunked upload that fills it, `Expect: 100-continue`) are handed with their connection to a
//! blocking helper thread running the core's `Connection` ([`RequestHandler::handle`]),
//! at most [`ServerOptions::max_blocking`] at a time. Deadlines are checked by a sweep every
//! 100 ms. Responses are generated whole into the transmit buffer; a very large response is
//! held in memory until written (the loop reads nothing more from that connection meanwhile).

pub mod access_log;
mod affinity;
mod blocking;
mod demo_app;
mod event_loop;
mod handover;
mod listener;
mod options;
mod panic;
mod request_handler;
#[allow(clippy::module_inception)] // `server::server` holds WsgiServer; the module is the API
mod server;
mod shutdown;
mod timed_stream;

use std::io;

pub use access_log::init_stderr_logger;
pub use demo_app::demo_app;
pub use options::ServerOptions;
pub use panic::{CatchPanic, Guarded};
pub use request_handler::{BaseEnviron, ConnectionContext, RequestHandler, WsgiRequestHandler};
pub use server::{AppRef, WsgiServer};
pub use shutdown::ShutdownHandle;
use wsgiref_core::Application;

/// Python's `make_server(host, port, app)`: a [`WsgiServer`] with the default
/// [`WsgiRequestHandler`] and [`ServerOptions`], bound and ready to serve.
///
/// `host` `""` binds every IPv4 interface, as in Python; `"::"` every IPv6 one (and IPv4 where
/// the system allows dual stack); port 0 picks a free port ([`WsgiServer::server_address`]
/// tells which).
pub fn make_server<A>(host: &str, port: u16, app: A) -> io::Result<WsgiServer<A>>
where
    A: Application + Send + Sync + 'static,
{
    make_server_with(
        host,
        port,
        app,
        WsgiRequestHandler,
        ServerOptions::default(),
    )
}

/// `make_server` with a custom request handler (Python's `handler_class`) and options (what a
/// Python `server_class` would change).
///
/// ```no_run
/// use std::time::Duration;
/// use wsgiref_std::server::{demo_app, make_server_with, ServerOptions, WsgiRequestHandler};
///
/// let mut options = ServerOptions::default();
/// options.idle_timeout = Duration::from_secs(5);
/// let server = make_server_with("127.0.0.1", 0, demo_app, WsgiRequestHandler, options)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn make_server_with<A, H>(
    host: &str,
    port: u16,
    app: A,
    handler: H,
    options: ServerOptions,
) -> io::Result<WsgiServer<A, H>>
where
    A: Application + Send + Sync + 'static,
    H: RequestHandler,
{
    WsgiServer::bind(host, port, app, handler, options)
}
