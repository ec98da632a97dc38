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
//!   finish, closes idle connections, and `serve_forever` returns. The server's own
//!   listening socket is shut down meanwhile, so clients are refused at once instead of
//!   queued unanswered (Python's server leaves them queued until `server_close`); the next
//!   `serve_forever` or `handle_request` listens again on a new socket at the same address.
//! * A panicking application is answered `500`, logged to `wsgi.errors`, and the server
//!   serves on. Clients that disconnect are logged only at `debug` level.
//! * The access log goes through the [`log`] crate in wsgiref's format ([`access_log`]).
//!
//! # Design
//!
//! [`WsgiServer::serve_forever`] runs one event-loop worker per core
//! ([`ServerOptions::threads`]), on Linux pinned to a CPU of its own
//! ([`ServerOptions::pin_threads`]). Each has its own listening socket on the same address
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
//! Applications run inline, on the loop's thread: a request answered at once costs no thread
//! switch. A call that blocks (the application waits on a database, a body is read in
//! blocking mode, a large response is written to a slow client) does not hold the loop's
//! other connections: a monitor thread samples each loop's current call, and one still
//! running at two samples (about 0.1–0.2 ms apart while calls block, 2 ms otherwise) whose
//! thread is asleep in the kernel, or has been busy for 20 ms, loses its loop to a spare
//! thread, which goes on polling and serving. The blocked thread gives its one connection back
//! when the call returns and becomes a spare. After a call blocked, the loop gives each
//! request to an idle spare thread for 200 ms instead of running it inline (one wake-up per
//! request, off the loop's path). At most [`ServerOptions::max_blocking`] threads are blocked
//! at once, counted exactly. Idle spare threads exit after 10 s.
//!
//! Requests whose body does not fit the receive buffer, is chunked or waits for
//! `100 Continue` are served in blocking mode by the thread that runs them (each body read
//! may wait [`ServerOptions::body_timeout`]); the connection returns to its loop after that
//! request. Deadlines are checked by a sweep every 100 ms.
//!
//! Writes never block a loop. Small responses are queued and written with one system call;
//! each block of a streamed body (and each legacy `write()`) is written before the next is
//! pulled. A connection with 64 KiB of answers queued is neither read nor answered further
//! until its client takes them; a response that would queue more than 256 KiB is written in
//! blocking mode by its own thread (the loop is handed over if the client is slow). So a
//! client that never reads costs its connection's 16 KiB receive buffer and at most 256 KiB
//! of queue (about 86 KB resident each, measured with 64 such clients), never a worker, and a
//! streamed response of any size is never held in memory whole: at most 256 KiB of it is
//! queued at a time.

pub mod access_log;
mod affinity;
mod blocking;
mod demo_app;
mod event_loop;
mod handover;
mod listener;
mod options;
mod panic;
mod proxied;
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
pub use proxied::{ForwardedAllowIps, MAX_FORWARDED_ALLOW_IPS};
pub use request_handler::{BaseEnviron, ConnectionContext, RequestHandler, WsgiRequestHandler};
pub use server::{AppRef, WsgiServer};
pub use shutdown::ShutdownHandle;
use wsgiref_core::Application;

/// Python's `make_server(host, port, app)`: a [`WsgiServer`] with the default
/// [`WsgiRequestHandler`] and [`ServerOptions`], bound and ready to serve.
///
/// `host` `""` binds every interface, IPv6 and IPv4 together (a dual-stack `[::]`; IPv4
/// alone where the system has no IPv6); `"::"` every IPv6 one (and IPv4 where the system
/// allows dual stack); port 0 picks a free port ([`WsgiServer::server_address`] tells which).
/// A port another process listens on is refused with `AddrInUse`, as in Python.
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
