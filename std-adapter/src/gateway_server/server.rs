//! [`GatewayServer`]: accept gateway connections and serve each on a thread of its own, taken
//! from the idle connection threads when one waits ([`Pool`]).

use std::io;
use std::os::fd::AsFd as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wsgiref_core::gateway::{GatewayConfig, Protocol};
use wsgiref_core::Application;

use super::connection::{name, Worker, TARGET};
use super::listener::{ListenAddress, Listener, Stream};
use super::pool::Pool;
use crate::server::{CatchPanic, ServerOptions, ShutdownHandle};

/// What every connection thread of one server shares.
pub(crate) struct Inner<A> {
    pub(crate) app: CatchPanic<A>,
    pub(crate) protocol: Protocol,
    pub(crate) config: GatewayConfig,
    pub(crate) options: ServerOptions,
    /// The base environ under the front end's variables.
    pub(crate) base: Vec<(String, Vec<u8>)>,
    stop: ShutdownHandle,
    /// Connections open now (served, or handed to an idle thread).
    open: AtomicUsize,
    /// The connection threads waiting for their next connection.
    pool: Pool,
}

impl<A> Inner<A> {
    /// The server is shutting down: idle connections close.
    pub(crate) fn stopping(&self) -> bool {
        self.stop.0.is_requested()
    }
}

/// Counts a connection as open until dropped (also if serving it panicked).
struct OpenGuard<'i, A>(&'i Inner<A>);

impl<A> Drop for OpenGuard<'_, A> {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A FastCGI, SCGI or uwsgi server: see the [module docs](super).
///
/// ```no_run
/// use wsgiref_core::gateway::Protocol;
/// use wsgiref_std::gateway_server::make_gateway_server;
/// use wsgiref_std::server::demo_app;
///
/// let server = make_gateway_server(Protocol::FastCgi, "127.0.0.1:9000", demo_app)?;
/// server.shutdown_handle().on_termination_signals()?;
/// println!("Serving FastCGI on {}...", server.local_address());
/// server.serve_forever()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct GatewayServer<A> {
    inner: Arc<Inner<A>>,
    listener: Listener,
    address: ListenAddress,
    /// The Unix socket file this server created, removed when it is dropped.
    owned_socket: Option<PathBuf>,
    running: AtomicBool,
    /// Who handed the listener over at `exec` (systemd, or our supervisor: then this process
    /// is a worker); `None` when it was bound or given here.
    pub(crate) origin: Option<crate::process::Origin>,
}

impl<A> GatewayServer<A>
where
    A: Application + Send + Sync + 'static,
{
    /// Serve `protocol` on a listener bound elsewhere: an inherited socket (systemd, a
    /// supervisor that forks workers), or one made with [`Listener::bind`]. A Unix socket file
    /// given this way is left in place when the server is dropped (its owner removes it).
    ///
    /// Of `options`, the gateway server uses `max_connections`, `idle_timeout`,
    /// `header_timeout` (until a request's params are complete), `body_timeout` (each body
    /// read and response write), `receive_buffer` and `shutdown_grace`; `config.handler`'s
    /// `proxy_header` and `error_status` apply, and `workers` (worker processes under a
    /// supervisor, as for the HTTP server: [`crate::process`]). `threads` and the event-loop
    /// settings do not (a thread per connection: see the [module docs](super)).
    ///
    /// `proxy_protocol` and `forwarded_allow_ips` are refused (`InvalidInput`): a front end
    /// speaking a gateway protocol passes the client's address as `REMOTE_ADDR` and its scheme
    /// as `HTTPS`/`REQUEST_SCHEME` itself, and trusting forwarding headers on top of that is
    /// the front end's business (nginx's `real_ip` module, Apache's `mod_remoteip`).
    ///
    /// ```no_run
    /// use wsgiref_core::gateway::Protocol;
    /// use wsgiref_std::gateway_server::{GatewayServer, Listener};
    /// use wsgiref_std::server::{demo_app, ServerOptions};
    ///
    /// let listener = Listener::Tcp(std::net::TcpListener::bind("127.0.0.1:9000")?);
    /// let server =
    ///     GatewayServer::from_listener(Protocol::Scgi, listener, demo_app, ServerOptions::default())?;
    /// server.serve_forever()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_listener(
        protocol: Protocol,
        listener: Listener,
        app: A,
        options: ServerOptions,
    ) -> io::Result<Self> {
        if options.proxy_protocol {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "proxy_protocol is an HTTP server option: a gateway front end passes the \
                 client's address in REMOTE_ADDR",
            ));
        }
        let trusted = &options.forwarded_allow_ips.policy().trusted;
        if trusted.trusts_everyone() || !trusted.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "forwarded_allow_ips is an HTTP server option: a gateway front end passes the \
                 client's address in REMOTE_ADDR",
            ));
        }
        let address = listener.local_address()?;
        let mut config = GatewayConfig::new(protocol);
        config.handler.proxy_header = options.config.handler.proxy_header;
        config.handler.error_status = options.config.handler.error_status;
        // True in a worker process (set by `make_gateway_server_with`), as PEP 3333 asks.
        config.handler.multiprocess = options.config.handler.multiprocess;
        let base = vec![
            ("GATEWAY_INTERFACE".to_string(), b"CGI/1.1".to_vec()),
            ("SCRIPT_NAME".to_string(), Vec::new()),
        ];
        Ok(GatewayServer {
            inner: Arc::new(Inner {
                app: CatchPanic(app),
                protocol,
                config,
                options,
                base,
                stop: ShutdownHandle(Arc::default()),
                open: AtomicUsize::new(0),
                pool: Pool::default(),
            }),
            listener,
            address,
            owned_socket: None,
            running: AtomicBool::new(false),
            origin: None,
        })
    }

    /// Accept connections and serve each on a thread of its own until the server is shut
    /// down; then wait for requests in flight (at most `shutdown_grace`) and return. A
    /// second call while one runs is refused; after it returns, it may be called again.
    ///
    /// ```no_run
    /// use wsgiref_core::gateway::Protocol;
    /// use wsgiref_std::gateway_server::make_gateway_server;
    /// use wsgiref_std::server::demo_app;
    ///
    /// let server = make_gateway_server(Protocol::FastCgi, "127.0.0.1:0", demo_app)?;
    /// server.shutdown_handle().on_termination_signals()?;
    /// server.serve_forever()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn serve_forever(&self) -> io::Result<()> {
        if self.running.swap(true, Ordering::AcqRel) {
            return Err(io::Error::other("serve_forever is already running"));
        }
        self.inner.pool.open();
        let fd = match &self.listener {
            Listener::Tcp(l) => l.as_fd(),
            Listener::Unix(l) => l.as_fd(),
        };
        // Serve here, as a worker of our supervisor, or supervise workers (`crate::process`);
        // a supervisor has no connections of its own, so the wait below is then over at once.
        let result = crate::process::serve_forever(
            self.origin.as_ref(),
            &self.inner.options,
            fd,
            &self.shutdown_handle(),
            || self.accept_loop(),
        );
        let until = Instant::now() + self.inner.options.shutdown_grace;
        while self.open_connections() > 0 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        let left = self.open_connections();
        if left > 0 {
            log::warn!(
                target: TARGET,
                "shutdown_grace over with {left} connection(s) still open; returning"
            );
        }
        // Idle connection threads exit; busy ones (past shutdown_grace) once they are done.
        self.inner.pool.close();
        self.inner.stop.0.reset();
        self.running.store(false, Ordering::Release);
        result
    }

    fn accept_loop(&self) -> io::Result<()> {
        const LISTENER: mio::Token = mio::Token(0);
        const WAKE: mio::Token = mio::Token(1);
        let mut poll = mio::Poll::new()?;
        let waker = Arc::new(mio::Waker::new(poll.registry(), WAKE)?);
        self.inner.stop.0.register(waker)?;
        let mut listener = match self.listener.try_clone()? {
            Listener::Tcp(l) => {
                l.set_nonblocking(true)?;
                MioListener::Tcp(mio::net::TcpListener::from_std(l))
            }
            Listener::Unix(l) => {
                l.set_nonblocking(true)?;
                MioListener::Unix(mio::net::UnixListener::from_std(l))
            }
        };
        match &mut listener {
            MioListener::Tcp(l) => {
                poll.registry()
                    .register(l, LISTENER, mio::Interest::READABLE)?
            }
            MioListener::Unix(l) => {
                poll.registry()
                    .register(l, LISTENER, mio::Interest::READABLE)?
            }
        }
        let mut events = mio::Events::with_capacity(8);
        if let Some(crate::process::Origin::Supervisor(link)) = &self.origin {
            link.announce_ready();
        }
        log::debug!(
            target: TARGET,
            "serving {} on {}",
            name(self.inner.protocol),
            self.address
        );
        while !self.inner.stopping() {
            match listener.accept() {
                Ok(stream) => self.start(stream),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if let Err(e) = poll.poll(&mut events, None) {
                        if e.kind() != io::ErrorKind::Interrupted {
                            return Err(e);
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // Out of descriptors or memory, for instance: say so, wait, go on.
                    log::error!(target: TARGET, "accept failed: {e}");
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
        Ok(())
    }

    /// Serve an accepted connection on a thread of its own, unless `max_connections` are open.
    fn start(&self, stream: Stream) {
        let inner = &self.inner;
        let max = inner.options.max_connections;
        if inner
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_err()
        {
            // A front end retries elsewhere or answers 502; a thread per connection must
            // stay bounded.
            log::warn!(
                target: TARGET,
                "{}: connection limit ({max}) reached, connection closed",
                stream.peer()
            );
            return;
        }
        // An idle connection thread takes it; else a new thread starts with it.
        let Err(stream) = inner.pool.hand(stream) else {
            return;
        };
        let inner = Arc::clone(inner);
        let spawned = std::thread::Builder::new()
            .name("wsgiref-gateway".into())
            .spawn(move || connection_thread(&inner, stream));
        if let Err(e) = spawned {
            self.inner.open.fetch_sub(1, Ordering::AcqRel);
            log::error!(target: TARGET, "no thread for a new connection: {e}; closed");
        }
    }
}

/// The body of a connection thread: serve `first`, then the connections the accept loop
/// hands over while this thread is idle, with the same buffers, until the pool lets it go.
fn connection_thread<A: Application>(inner: &Inner<A>, first: Stream) {
    let mut worker = Worker::new(inner);
    let mut stream = first;
    loop {
        {
            let _open = OpenGuard(inner);
            worker.serve(stream);
        }
        match inner.pool.next() {
            Some(next) => stream = next,
            None => return,
        }
    }
}

impl<A> GatewayServer<A> {
    pub(crate) fn owning_socket(mut self) -> Self {
        if let ListenAddress::Unix(path) = &self.address {
            self.owned_socket = Some(path.clone());
        }
        self
    }

    /// Where the server listens (with the real port when port 0 was asked for).
    ///
    /// ```no_run
    /// use wsgiref_core::gateway::Protocol;
    /// use wsgiref_std::gateway_server::make_gateway_server;
    /// use wsgiref_std::server::demo_app;
    ///
    /// let server = make_gateway_server(Protocol::FastCgi, "127.0.0.1:0", demo_app)?;
    /// let port = server.local_address().port().expect("a TCP address");
    /// println!("Serving FastCGI on port {port}...");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_address(&self) -> &ListenAddress {
        &self.address
    }

    /// The protocol it speaks.
    ///
    /// ```no_run
    /// use wsgiref_core::gateway::Protocol;
    /// use wsgiref_std::gateway_server::make_gateway_server;
    /// use wsgiref_std::server::demo_app;
    ///
    /// let server = make_gateway_server(Protocol::FastCgi, "127.0.0.1:0", demo_app)?;
    /// assert_eq!(server.protocol(), Protocol::FastCgi);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn protocol(&self) -> Protocol {
        self.inner.protocol
    }

    /// A handle that stops [`serve_forever`](Self::serve_forever) from anywhere:
    /// `shutdown()` stops accepting, lets requests in flight finish, closes idle keep-conn
    /// connections, and `serve_forever` returns within `shutdown_grace`;
    /// `on_termination_signals()` does that on SIGINT/SIGTERM.
    ///
    /// ```no_run
    /// use wsgiref_core::gateway::Protocol;
    /// use wsgiref_std::gateway_server::make_gateway_server;
    /// use wsgiref_std::server::demo_app;
    ///
    /// let server = make_gateway_server(Protocol::FastCgi, "127.0.0.1:0", demo_app)?;
    /// let stop = server.shutdown_handle();
    /// std::thread::spawn(move || {
    ///     std::thread::sleep(std::time::Duration::from_secs(60));
    ///     stop.shutdown();
    /// });
    /// server.serve_forever()?; // returns after the minute, once requests in flight are done
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.inner.stop.clone()
    }

    /// Connections open right now (each has a thread of its own): for a status page or a
    /// test.
    ///
    /// ```no_run
    /// use wsgiref_core::gateway::Protocol;
    /// use wsgiref_std::gateway_server::make_gateway_server;
    /// use wsgiref_std::server::demo_app;
    ///
    /// let server = make_gateway_server(Protocol::FastCgi, "127.0.0.1:0", demo_app)?;
    /// assert_eq!(server.open_connections(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn open_connections(&self) -> usize {
        self.inner.open.load(Ordering::Acquire)
    }

    /// Connection threads idle right now, each waiting (with its buffers) for the next
    /// connection the server accepts: for a status page or a test. A few stay however long
    /// they wait; more exit after about ten seconds without work, and all of them when
    /// [`serve_forever`](Self::serve_forever) returns (see the [module docs](super)).
    ///
    /// ```no_run
    /// use wsgiref_core::gateway::Protocol;
    /// use wsgiref_std::gateway_server::make_gateway_server;
    /// use wsgiref_std::server::demo_app;
    ///
    /// let server = make_gateway_server(Protocol::Scgi, "127.0.0.1:0", demo_app)?;
    /// assert_eq!(server.idle_threads(), 0); // threads start with the first connections
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn idle_threads(&self) -> usize {
        self.inner.pool.idle()
    }
}

impl<A> Drop for GatewayServer<A> {
    fn drop(&mut self) {
        if let Some(path) = &self.owned_socket {
            let _ = std::fs::remove_file(path);
        }
    }
}

enum MioListener {
    Tcp(mio::net::TcpListener),
    Unix(mio::net::UnixListener),
}

impl MioListener {
    fn accept(&self) -> io::Result<Stream> {
        match self {
            MioListener::Tcp(l) => {
                let (s, _) = l.accept()?;
                let s = std::net::TcpStream::from(s);
                let _ = s.set_nodelay(true);
                Ok(Stream::Tcp(s))
            }
            MioListener::Unix(l) => {
                let (s, _) = l.accept()?;
                Ok(Stream::Unix(std::os::unix::net::UnixStream::from(s)))
            }
        }
    }
}
