//! [`WsgiServer`]: Python's `WSGIServer`: a listening socket, an application, the base environ,
//! `serve_forever`, `handle_request` and `shutdown`.

use std::io::{self, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wsgiref_core::{Application, Environ};

use super::affinity::Placement;
use super::options::ServerOptions;
use super::panic::CatchPanic;
use super::request_handler::{BaseEnviron, ConnectionContext, RequestHandler};
use super::shutdown::{Shutdown, ShutdownHandle};

/// The application slot: `set_app` replaces it while the server runs; connections that start
/// afterwards use the new one.
pub(crate) struct AppSlot<A> {
    current: Mutex<Arc<CatchPanic<A>>>,
}

impl<A> AppSlot<A> {
    fn new(app: A) -> Self {
        AppSlot {
            current: Mutex::new(Arc::new(CatchPanic(app))),
        }
    }

    pub(crate) fn load(&self) -> Arc<CatchPanic<A>> {
        self.current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn store(&self, app: A) {
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Arc::new(CatchPanic(app));
    }
}

/// State shared by the server's threads.
pub(crate) struct Shared<A, H> {
    pub(crate) app: AppSlot<A>,
    pub(crate) handler: H,
    pub(crate) options: ServerOptions,
    pub(crate) base: BaseEnviron,
    pub(crate) stop: Arc<Shutdown>,
    /// Mirrors `stop` for blocking connection threads (a plain flag they poll).
    pub(crate) stopping: AtomicBool,
    /// Connections open now (event loops and blocking threads together).
    pub(crate) open: AtomicUsize,
    /// A descriptor in reserve for answering 503 when the process runs out (see the event
    /// loop's `accept`).
    pub(crate) spare_fd: Arc<Mutex<Option<std::fs::File>>>,
}

impl<A: Application, H: RequestHandler> Shared<A, H> {
    /// Serve one connection on this thread (blocking).
    pub(crate) fn serve_stream(
        &self,
        mut stream: TcpStream,
        mut client: SocketAddr,
        mut received: Vec<u8>,
    ) {
        let shared = self;
        if let Err(e) = stream.set_nonblocking(false) {
            log::debug!(target: "wsgiref::server", "{client}: {e}");
            return;
        }
        let app = shared.app.load();
        let mut environ = shared.connection_environ(&client);
        if shared.options.proxy_protocol {
            let limit = shared.options.header_timeout;
            let Some((header, rest)) =
                super::proxied::read_header_blocking(&mut stream, &client, limit)
            else {
                return;
            };
            let peer = super::proxied::effective_peer(&header, client);
            environ = shared.connection_environ(&peer);
            super::proxied::annotate(&mut environ, &header, client, peer);
            (client, received) = (peer, rest);
        }
        let app = super::proxied::Forwarding::new(&*app, &shared.options, client);
        let context = ConnectionContext {
            app: &app,
            environ: &environ,
            options: &shared.options,
            stopping: &shared.stopping,
            received,
        };
        shared.handler.handle(stream, client, context);
    }

    /// The base environ of a connection from `client` (the handler's `get_environ`).
    pub(crate) fn connection_environ(&self, client: &SocketAddr) -> Environ<'_> {
        let mut environ = Environ::new();
        if let Err(e) = self.handler.get_environ(&self.base, client, &mut environ) {
            log::error!(target: "wsgiref::server", "get_environ failed: {e}");
        }
        environ.set_errors(self.handler.get_stderr());
        environ
    }
}

/// Counts a connection as open until dropped.
pub(crate) struct OpenGuard<'a>(&'a AtomicUsize);

impl<'a> OpenGuard<'a> {
    /// Count one more connection, unless `max` are open already.
    pub(crate) fn try_new(open: &'a AtomicUsize, max: usize) -> Option<Self> {
        let mut now = open.load(Ordering::Relaxed);
        loop {
            if now >= max {
                return None;
            }
            match open.compare_exchange_weak(now, now + 1, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return Some(OpenGuard(open)),
                Err(actual) => now = actual,
            }
        }
    }
}

impl Drop for OpenGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The canned answer to a client over the connection limit.
pub(crate) const BUSY_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
Content-Type: text/plain\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: 20\r\n\r\n\
Server is too busy.\n";

/// Answer 503 and close, without blocking (the socket's send buffer takes the few bytes).
pub(crate) fn refuse_busy(mut stream: TcpStream, client: &SocketAddr) {
    log::warn!(
        target: "wsgiref::server",
        "{client}: connection limit reached, answered 503"
    );
    let _ = stream.set_nonblocking(true);
    let _ = stream.write(BUSY_RESPONSE);
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

/// Python's `WSGIServer`: see the [module docs](super).
///
/// `A` is the application, `H` the request handler (Python's `handler_class`).
pub struct WsgiServer<A, H = super::WsgiRequestHandler> {
    pub(crate) shared: Arc<Shared<A, H>>,
    /// The server's socket. A stop shuts it down (if it is the server's own, see
    /// [`WsgiServer::shutdown`]); the next run replaces it with a new one on the same address.
    pub(crate) listener: Mutex<TcpListener>,
    pub(crate) address: SocketAddr,
    /// `serve_forever` is running (a second concurrent call is refused).
    running: AtomicBool,
    /// Who handed the listener over at `exec` (systemd, or our supervisor: then this process
    /// is a worker); `None` when it was bound here.
    origin: Option<crate::process::Origin>,
}

impl<A, H> WsgiServer<A, H>
where
    A: Application + Send + Sync + 'static,
    H: RequestHandler,
{
    /// Bind `host:port` and prepare to serve `app` (Python's `server_class(...)` followed by
    /// `set_app`). See [`make_server`](super::make_server) for the address rules.
    pub fn bind(
        host: &str,
        port: u16,
        app: A,
        handler: H,
        options: ServerOptions,
    ) -> io::Result<Self> {
        if let Some((listener, origin)) = crate::process::take_inherited()? {
            let crate::process::InheritedListener::Tcp(listener) = listener else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the inherited socket (descriptor 3) is a Unix socket: the HTTP server \
                     listens on TCP only",
                ));
            };
            let mut options = options;
            if let crate::process::Origin::Supervisor(_) = origin {
                // Other processes run the same application at the same time (PEP 3333).
                options.config.handler.multiprocess = true;
            }
            let mut server = Self::from_listener(listener, host, app, handler, options)?;
            log::info!(
                target: "wsgiref::server",
                "serving the inherited socket {} instead of binding {host:?} port {port}",
                server.address
            );
            server.origin = Some(origin);
            return Ok(server);
        }
        let addresses = resolve(host, port)?;
        let mut last_error = None;
        for address in addresses {
            match super::listener::bind(address) {
                Ok(listener) => return Self::from_listener(listener, host, app, handler, options),
                // A port in use is in use on every address: no point trying the next one
                // (for `""`, IPv4 alone would then serve only half of the clients).
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => return Err(e),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("no address for {host:?}"),
            )
        }))
    }

    /// Serve on a listener bound elsewhere (it is switched to non-blocking mode).
    pub fn from_listener(
        listener: TcpListener,
        host: &str,
        app: A,
        handler: H,
        options: ServerOptions,
    ) -> io::Result<Self> {
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let base = BaseEnviron::new(&server_name(host), address.port());
        Ok(WsgiServer {
            shared: Arc::new(Shared {
                app: AppSlot::new(app),
                handler,
                options,
                base,
                stop: Arc::new(Shutdown::default()),
                stopping: AtomicBool::new(false),
                open: AtomicUsize::new(0),
                spare_fd: Arc::new(Mutex::new(super::event_loop::spare_descriptor())),
            }),
            listener: Mutex::new(listener),
            address,
            running: AtomicBool::new(false),
            origin: None,
        })
    }

    /// The bound address (with the real port when port 0 was asked for).
    pub fn server_address(&self) -> SocketAddr {
        self.address
    }

    /// The base environ (Python's `base_environ`).
    pub fn base_environ(&self) -> &BaseEnviron {
        &self.shared.base
    }

    /// Replace the application; requests that start afterwards use the new one.
    pub fn set_app(&self, app: A) {
        self.shared.app.store(app);
    }

    /// The current application.
    pub fn get_app(&self) -> AppRef<A> {
        AppRef(self.shared.app.load())
    }

    /// The options the server runs with.
    pub fn options(&self) -> &ServerOptions {
        &self.shared.options
    }

    /// The request handler (Python's `RequestHandlerClass`).
    pub fn handler(&self) -> &H {
        &self.shared.handler
    }

    /// A handle that stops this server from anywhere.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.shared.stop.clone())
    }

    /// Stop [`serve_forever`](Self::serve_forever): it stops accepting, finishes requests in
    /// flight and returns. Callable from any thread; returns without waiting.
    ///
    /// The server's own listening socket is shut down as it stops accepting, so that a client
    /// connecting meanwhile is refused at once (a front end then tries another server) rather
    /// than queued by the kernel, unanswered, until the process exits. Python's server leaves
    /// such clients queued until `server_close`. The next `serve_forever` or
    /// [`handle_request`](Self::handle_request) listens again, on a new socket bound to the
    /// same address (a socket shut down cannot listen again); until then, clients are
    /// refused. A socket inherited from a supervisor or systemd is left open for the
    /// processes that share it.
    pub fn shutdown(&self) {
        self.shared.stop.request();
    }

    /// Connections open right now.
    pub fn open_connections(&self) -> usize {
        self.shared.open.load(Ordering::Relaxed)
    }

    /// Serve until [`shutdown`](Self::shutdown): accept connections and serve them, each on a
    /// thread of its own (see the [module docs](super) for the design).
    pub fn serve_forever(&self) -> io::Result<()> {
        if self.running.swap(true, Ordering::AcqRel) {
            return Err(io::Error::other("serve_forever is already running"));
        }
        use std::os::fd::AsFd as _;
        // A duplicate of the socket's descriptor for the supervisor, so that the lock is not
        // held while `accept_loop` may replace a socket a previous stop shut down.
        // (In a statement of its own: the guard must be gone before the closure runs.)
        let listener = self.listener().try_clone();
        let result = listener.and_then(|listener| {
            crate::process::serve_forever(
                self.origin.as_ref(),
                &self.shared.options,
                listener.as_fd(),
                &self.shutdown_handle(),
                || self.accept_loop(),
            )
        });
        self.running.store(false, Ordering::Release);
        result
    }

    fn accept_loop(&self) -> io::Result<()> {
        let shared = &self.shared;
        shared.stopping.store(false, Ordering::Relaxed);
        self.listen_again()?;
        let workers = shared.options.threads.max(1);
        let mut listeners = vec![self.listener().try_clone()?];
        // Every worker has a socket of its own (not a clone of another worker's), except on
        // an inherited socket: sockets of our own there would be outside the supervisor's or
        // systemd's (and would reset the connections queued on them when this process stops).
        let mut own_listeners = self.origin.is_none();
        for _ in 1..workers {
            if !own_listeners {
                listeners.push(self.listener().try_clone()?);
                continue;
            }
            // Each worker gets a listener of its own so the kernel spreads connections over
            // them (SO_REUSEPORT); where that is refused, workers share the first one.
            let extra = super::listener::bind_shared(self.address).or_else(|_| {
                own_listeners = false;
                self.listener().try_clone()
            })?;
            listeners.push(extra);
        }
        let placement = if shared.options.pin_threads {
            Placement::plan(workers)
        } else {
            None
        };
        let steer = own_listeners && shared.options.steer_connections;
        if let Some(placement) = &placement {
            if steer {
                for (n, listener) in listeners.iter().enumerate() {
                    placement.steer(listener, n);
                }
            }
        }
        let loops = listeners
            .into_iter()
            .map(|listener| super::event_loop::Loop::new(self, listener, self.origin.is_none()))
            .collect::<io::Result<Vec<_>>>()?;
        let crew = super::handover::Crew::new(self, loops, placement);
        if let Some(crate::process::Origin::Supervisor(link)) = &self.origin {
            link.announce_ready();
        }
        let crew = &crew;
        std::thread::scope(|scope| {
            for n in 0..workers {
                let spawned = std::thread::Builder::new()
                    .name(format!("wsgiref-worker-{n}"))
                    .spawn_scoped(scope, move || {
                        if let Some(placement) = &placement {
                            placement.pin(n);
                        }
                        crew.thread(Some(n), placement.is_some());
                    });
                if let Err(e) = spawned {
                    // No worker thread: stop the others too.
                    shared.stop.request();
                    crew.error
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_or_insert(e);
                    // Its loop still has to end for the others to: run it here.
                    crew.thread(Some(n), false);
                }
            }
            let _ = std::thread::Builder::new()
                .name("wsgiref-monitor".into())
                .spawn_scoped(scope, move || crew.monitor(scope));
        });
        let result = match crew.error.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(e) => Err(e),
            None => Ok(()),
        };
        // Blocking helpers finish their request in flight, then close.
        shared.stopping.store(true, Ordering::Relaxed);
        self.wait_for_connections();
        shared.stop.reset();
        result
    }

    fn listener(&self) -> std::sync::MutexGuard<'_, TcpListener> {
        self.listener.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Listen on the server's address again when a stop shut its own socket down (so that
    /// clients were refused, not queued) and the server is run again: a socket shut down
    /// cannot listen again, so a new one is bound to the same address. An inherited socket is
    /// never shut down.
    fn listen_again(&self) -> io::Result<()> {
        let mut listener = self.listener();
        if self.origin.is_some() || socket2::SockRef::from(&*listener).is_listener()? {
            return Ok(());
        }
        let fresh = super::listener::bind(self.address)?;
        fresh.set_nonblocking(true)?;
        *listener = fresh;
        Ok(())
    }

    /// Wait until every connection has closed, or the grace period ran out.
    fn wait_for_connections(&self) {
        let until = Instant::now() + self.shared.options.shutdown_grace;
        while self.shared.open.load(Ordering::Acquire) > 0 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Python's `handle_request`: wait for one connection (until `timeout`, or for ever with
    /// `None`) and serve it on this thread until it closes. Returns whether one was served.
    pub fn handle_request(&self, timeout: Option<Duration>) -> io::Result<bool> {
        self.listen_again()?;
        let mut poll = mio::Poll::new()?;
        let mut listener = mio::net::TcpListener::from_std(self.listener().try_clone()?);
        poll.registry()
            .register(&mut listener, LISTENER, mio::Interest::READABLE)?;
        let mut events = mio::Events::with_capacity(4);
        let deadline = timeout.map(|t| Instant::now() + t);
        let accepted = loop {
            match listener.accept() {
                Ok(pair) => break Some(pair),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let wait = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(w) if !w.is_zero() => Some(w),
                    _ => break None,
                },
                None => None,
            };
            if let Err(e) = poll.poll(&mut events, wait) {
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        };
        poll.registry().deregister(&mut listener)?;
        let Some((stream, client)) = accepted else {
            return Ok(false);
        };
        let client = super::event_loop::unmap(client);
        let _guard = OpenGuard::try_new(&self.shared.open, usize::MAX);
        self.shared
            .serve_stream(TcpStream::from(stream), client, Vec::new());
        Ok(true)
    }
}

const LISTENER: mio::Token = mio::Token(0);

/// The application a server runs, as [`WsgiServer::get_app`] returns it.
pub struct AppRef<A>(Arc<CatchPanic<A>>);

impl<A> std::ops::Deref for AppRef<A> {
    type Target = A;
    fn deref(&self) -> &A {
        &self.0 .0
    }
}

/// Addresses for `host`, in the order they are tried: `""` is every interface, IPv6 and IPv4
/// together (a dual-stack `[::]`), or every IPv4 one where the system has no IPv6; `"::"`
/// every IPv6 one (IPv4 too where the system maps it); a name is resolved.
fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    if host.is_empty() {
        return Ok(vec![
            SocketAddr::new(std::net::Ipv6Addr::UNSPECIFIED.into(), port),
            SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), port),
        ]);
    }
    // Bare IPv6 literals ("::1") need brackets for ToSocketAddrs.
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    Ok((host, port).to_socket_addrs()?.collect())
}

/// `SERVER_NAME` for `host`, without DNS: the machine's host name for the wildcard addresses
/// (what Python's `getfqdn` gives on most systems), `localhost` for loopback, else `host`.
fn server_name(host: &str) -> String {
    match host {
        "" | "0.0.0.0" | "::" => {
            let uname = rustix::system::uname();
            let name = uname.nodename().to_string_lossy().into_owned();
            if name.is_empty() {
                "localhost".into()
            } else {
                name
            }
        }
        "127.0.0.1" | "::1" | "localhost" => "localhost".into(),
        other => other.into(),
    }
}
