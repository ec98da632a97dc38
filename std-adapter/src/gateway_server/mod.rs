//! A FastCGI, SCGI or uwsgi server: behind nginx, Apache or lighttpd, on a TCP or Unix
//! socket, running one [`gateway::Session`](wsgiref_core::gateway::Session) per connection.
//!
//! ```no_run
//! use wsgiref_core::gateway::Protocol;
//! use wsgiref_std::gateway_server::make_gateway_server;
//! use wsgiref_std::server::{demo_app, init_stderr_logger};
//!
//! init_stderr_logger(); // the access log and protocol errors, on stderr
//! let server = make_gateway_server(Protocol::FastCgi, "unix:/run/app/fcgi.sock", demo_app)?;
//! server.shutdown_handle().on_termination_signals()?;
//! println!("Serving FastCGI on {}...", server.local_address());
//! server.serve_forever()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! nginx's side (`fastcgi_pass`, `scgi_pass`, `uwsgi_pass`) is in `docs/gateway.md`,
//! "Running a gateway server".
//!
//! # Execution model: a thread per connection, kept for the next one
//!
//! Each accepted connection is served by a thread of its own, which reads, runs the
//! application, and writes, blocking. At most [`ServerOptions::max_connections`] are open at
//! once; past that a new connection is logged (`warn`) and closed at once, and the front end
//! retries another upstream or answers `502`.
//!
//! A thread outlives its connection: when the connection closes it waits, idle, with its
//! buffers, and the server hands it the next connection it accepts; a new thread starts only
//! when no thread is idle. A few idle threads (4) stay however long they wait; more exit
//! after about ten seconds without work (as the HTTP server's spare threads do), so a burst
//! leaves no lasting crowd; all of them exit when
//! [`serve_forever`](GatewayServer::serve_forever) returns.
//! [`GatewayServer::idle_threads`] counts them.
//!
//! This is not the HTTP server's event loop, on purpose. Behind a front end, connections are
//! few: nginx keeps a small pool of FastCGI connections (`keepalive N` with
//! `fastcgi_keep_conn on`) and reuses them for request after request, instead of one per
//! client. The front end buffers slow clients (request bodies and responses), so a
//! connection is busy only while the application runs, and an application that blocks (a
//! database, an upstream call) then holds only its own connection's thread, never anyone
//! else's. The price, a thread and its (mostly untouched) stack per open connection, is small
//! for the tens of connections a front end has open at once.
//!
//! # Why the threads are kept (the measurement)
//!
//! SCGI and uwsgi carry one request per connection, and nginx opens a new connection for
//! each. With a thread started per connection, `perf record -a -g` over a 4-second window of
//! `ROWS=ours-scgi bench/gateway.sh` (nginx, `wrk -c32`) put about half of the server's CPU
//! samples in the thread's life (`clone3`, the stack's `mprotect`, `madvise` and `munmap`
//! with their TLB shootdowns, thread exit) and in zeroing ~100 KiB of fresh buffers. The
//! kept threads remove both. What remains per request is the accept, the hand-over to an
//! idle thread (a futex wake-up), one read and one write, and the close.
//!
//! A bodyless SCGI or uwsgi request is closed at once after its response (see Closing), for
//! the same reason: the lingering close cost a blocking read and a wake-up per request, and
//! held the thread until nginx closed.
//!
//! Method: `ROUNDS=3 DURATION=5s SCENARIOS=c32 ROWS="ours-scgi ours-uwsgi ours-fastcgi
//! uwsgi" bench/gateway.sh`, once on the thread-per-connection server and once on this one,
//! on 2 cores shared with other builds (load average 7 to 20, so requests per second were
//! noise); the figure that held is the CPU time of nginx and the server per request
//! (utime+stime from `/proc`, divided by the completed requests), median of the rounds, and
//! its ratio to uWSGI's (the same nginx, `uwsgi_pass`) measured in the same run:
//!
//! | row | thread per connection | kept threads + early close |
//! |---|---|---|
//! | SCGI | 167 µs (2.3× uWSGI's) | 55 µs (1.1× uWSGI's) |
//! | uwsgi (TCP) | 166 µs (2.3× uWSGI's) | 65 µs (1.3× uWSGI's) |
//! | FastCGI, keep-conn (unchanged) | 35 µs | 28 µs |
//!
//! nginx's own work per SCGI/uwsgi request (a new upstream connection each time) is now
//! the larger part of that CPU time: FastCGI with keep-conn stays the cheapest protocol.
//!
//! # Timeouts and limits ([`ServerOptions`])
//!
//! * `idle_timeout`: how long a connection may wait for its next request (FastCGI keep-conn);
//! * `header_timeout`: from a request's first byte until its params are complete;
//! * `body_timeout`: each read of the request body, and each write of the response;
//! * `receive_buffer`: each connection's receive buffer (the body is streamed through it,
//!   never held whole: `wsgi.input` reads from the socket as the application asks);
//! * the params are bounded by [`Limits::DEFAULT`](wsgiref_core::gateway::Limits).
//!
//! # What is logged (through the [`log`] crate)
//!
//! * each answered request, in the HTTP server's access-log format on target
//!   [`ACCESS_TARGET`](crate::server::access_log::ACCESS_TARGET), with the front end's
//!   `REMOTE_ADDR` (the client's address) and the request line built from `REQUEST_METHOD`,
//!   `REQUEST_URI` (or `SCRIPT_NAME` + `PATH_INFO` + `QUERY_STRING`) and `SERVER_PROTOCOL`;
//! * on target `wsgiref::gateway`: a protocol error (what and at which byte, then the
//!   connection is closed: `warn`), a front end that went away mid-response (`info`; the
//!   application's iterator is closed and the server serves on), refused connections (`warn`).
//!
//! A panicking application is answered with the error page ([`CatchPanic`](crate::server::CatchPanic)).
//!
//! # Closing
//!
//! SCGI and uwsgi connections end with the response; FastCGI ones when the front end did not
//! ask for keep-conn. Before closing, the server shuts down its sending side and reads what
//! the front end still sends (a body the application did not read, bounded by the request's
//! `CONTENT_LENGTH`, each read by `body_timeout`): closing with unread bytes would reset the
//! connection, and the front end could lose the end of the response. An SCGI or uwsgi
//! request without a body (`CONTENT_LENGTH` 0) is all the front end sends: when nothing
//! more has arrived, the server closes at once (a FIN, not a reset, since nothing is unread).
//!
//! # Shutdown
//!
//! [`ShutdownHandle::shutdown`](crate::server::ShutdownHandle::shutdown) (or SIGINT/SIGTERM
//! with [`on_termination_signals`](crate::server::ShutdownHandle::on_termination_signals))
//! stops accepting; requests in flight finish, idle connections close, and
//! [`GatewayServer::serve_forever`] returns within `shutdown_grace`. A Unix socket file that
//! [`make_gateway_server`] created is removed when the server is dropped.

mod connection;
mod listener;
mod pool;
mod server;

use std::io;

pub use listener::{ListenAddress, Listener};
pub use server::GatewayServer;
use wsgiref_core::gateway::Protocol;
use wsgiref_core::Application;

use crate::server::ServerOptions;

/// A gateway server for `protocol` on `address`, with the default [`ServerOptions`], bound
/// and ready to serve.
///
/// `address` is `HOST:PORT` (`127.0.0.1:9000`, `[::1]:9000`; port 0 picks a free one) or
/// `unix:/path/to.sock` (see [`Listener::bind`] for stale socket files and permissions).
///
/// ```no_run
/// use wsgiref_core::gateway::Protocol;
/// use wsgiref_std::gateway_server::make_gateway_server;
/// use wsgiref_std::server::demo_app;
///
/// let server = make_gateway_server(Protocol::Uwsgi, "127.0.0.1:0", demo_app)?;
/// println!("Serving uwsgi on port {}...", server.local_address().port().unwrap());
/// server.serve_forever()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn make_gateway_server<A>(
    protocol: Protocol,
    address: &str,
    app: A,
) -> io::Result<GatewayServer<A>>
where
    A: Application + Send + Sync + 'static,
{
    make_gateway_server_with(protocol, address, app, ServerOptions::default())
}

/// [`make_gateway_server`] with options: timeouts, `max_connections`, buffer sizes.
///
/// ```no_run
/// use std::time::Duration;
/// use wsgiref_core::gateway::Protocol;
/// use wsgiref_std::gateway_server::make_gateway_server_with;
/// use wsgiref_std::server::{demo_app, ServerOptions};
///
/// let mut options = ServerOptions::default();
/// options.max_connections = 64; // threads: one per connection
/// options.idle_timeout = Duration::from_secs(120); // longer than nginx keeps idle upstreams
/// let server = make_gateway_server_with(Protocol::FastCgi, "127.0.0.1:9000", demo_app, options)?;
/// server.serve_forever()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn make_gateway_server_with<A>(
    protocol: Protocol,
    address: &str,
    app: A,
    options: ServerOptions,
) -> io::Result<GatewayServer<A>>
where
    A: Application + Send + Sync + 'static,
{
    if let Some((listener, origin)) = crate::process::take_inherited()? {
        // A worker of our supervisor, or a socket systemd handed over: serve that socket.
        let listener = match listener {
            crate::process::InheritedListener::Tcp(l) => Listener::Tcp(l),
            crate::process::InheritedListener::Unix(l) => Listener::Unix(l),
        };
        let mut options = options;
        if let crate::process::Origin::Supervisor(_) = origin {
            // Other processes run the same application at the same time (PEP 3333).
            options.config.handler.multiprocess = true;
        }
        let mut server = GatewayServer::from_listener(protocol, listener, app, options)?;
        log::info!(
            target: "wsgiref::gateway",
            "serving the inherited socket {} instead of binding {address}",
            server.local_address()
        );
        server.origin = Some(origin);
        return Ok(server);
    }
    let listener = Listener::bind(address)?;
    Ok(GatewayServer::from_listener(protocol, listener, app, options)?.owning_socket())
}

#[cfg(test)]
mod tests;
