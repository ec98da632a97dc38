//! [`ServerOptions`]: how many connections, which timeouts, how much memory.

use std::time::Duration;

use wsgiref_core::handler::ServerConfig;

use super::proxied::ForwardedAllowIps;

/// Settings of a [`WsgiServer`](super::WsgiServer). The defaults suit a public-facing server
/// on a small machine; tests shorten the timeouts.
///
/// ```
/// use std::time::Duration;
/// use wsgiref_std::server::ServerOptions;
///
/// let mut options = ServerOptions::default();
/// options.header_timeout = Duration::from_secs(2);
/// options.max_connections = 100;
/// // Many connections will come from one local proxy thread: spread them by hash instead.
/// options.steer_connections = false;
/// assert!(options.threads >= 1);
/// assert!(options.pin_threads, "event loops are pinned by default (Linux)");
/// ```
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Per-connection protocol settings: parsing limits, underscore policy, response framing.
    pub config: ServerConfig,
    /// Event-loop threads, each with its own listening socket (`SO_REUSEPORT`, shared only
    /// among the event loops of this server) and poller. Defaults to the number of CPUs.
    /// (Called `workers` until now: that name, gunicorn's for worker *processes*, is kept for those.)
    pub threads: usize,
    /// Worker processes (gunicorn's `workers`). `0`, the default, serves in this process, as
    /// Python's server does. `N ≥ 1` makes [`serve_forever`](super::WsgiServer::serve_forever)
    /// a supervisor of `N` processes that each re-run this program and serve the one listening
    /// socket bound here (each with [`threads`](Self::threads) event loops); it restarts a
    /// worker that dies and replaces them all without dropping a connection on SIGHUP. See
    /// [`process`](crate::process) for the design and the signals.
    ///
    /// `1` is not the same as `0`: one supervised worker still gets restarts and SIGHUP.
    /// The event loops already use every CPU within one process, so more processes are for
    /// isolation, not speed: a crash that takes a whole process down (an abort, a fault in
    /// C code, running out of memory) then takes only part of the capacity, and an
    /// application serialised by a process-wide lock gets one lock per process.
    ///
    /// ```no_run
    /// use wsgiref_std::server::{demo_app, make_server_with, ServerOptions, WsgiRequestHandler};
    ///
    /// let options = ServerOptions { workers: 4, ..ServerOptions::default() };
    /// let server = make_server_with("127.0.0.1", 8000, demo_app, WsgiRequestHandler, options)?;
    /// server.shutdown_handle().on_termination_signals()?;
    /// server.serve_forever()?; // supervises four worker processes until SIGTERM
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub workers: usize,
    /// Pin each event loop to a CPU of its own (Linux only; ignored elsewhere): loop `n` to the
    /// `n`-th CPU the thread calling [`serve_forever`](super::WsgiServer::serve_forever) may
    /// run on, when there are at least as many such CPUs as event loops (otherwise nothing is
    /// pinned). On by default: on the 2-core benchmark machine pinned loops served 10% more
    /// requests per second than unpinned ones with 8 keep-alive connections, 6% more with 64
    /// and 3% more with `Connection: close` (9 paired rounds, `BENCHMARKS.md`, "Worker
    /// placement"). Turn it off when the server shares its CPUs with other busy threads that
    /// the scheduler should be free to move it away from. Blocking helper threads are never
    /// pinned.
    pub pin_threads: bool,
    /// With pinned workers, have the kernel give each connection to the worker on the CPU
    /// that received it (`SO_INCOMING_CPU` on each worker's listener; Linux 6.2 and later,
    /// ignored elsewhere), instead of spreading connections by a hash of their addresses. The
    /// client's packets and the worker that answers them then meet on one CPU, which saves a
    /// cross-CPU wake-up per request. On by default: measured against pinning alone it gains
    /// 4–7% in req/s and 3–9% in CPU per request (`BENCHMARKS.md`). The price is balance:
    /// connections follow the CPUs that receive them, so clients whose packets all arrive on
    /// one CPU (one client thread on the same machine, a NIC with one receive queue) are all
    /// served by one worker.
    pub steer_connections: bool,
    /// Most connections open at once; a client beyond it gets `503 Service Unavailable` and is
    /// closed, so an overload degrades into fast refusals instead of a growing queue.
    pub max_connections: usize,
    /// Most threads blocked at once, beyond the workers: in an application call that waits
    /// (a database query, an upstream call), in a request body read in blocking mode (larger
    /// than `receive_buffer`, chunked, `Expect: 100-continue`), or in a write to a slow client
    /// of a response larger than 256 KiB. Applications run inline on the event loops; when a
    /// call blocks, its loop is handed to a spare thread (see the
    /// [module docs](super#design)), so this is how many application calls can be in progress
    /// at once beyond the workers. Past it, a loop waits for one of its calls to return.
    /// Default 256; each blocked thread costs its (mostly untouched) stack.
    ///
    /// ```
    /// use wsgiref_std::server::ServerOptions;
    ///
    /// // An application that waits on a slow backend, with many clients at once.
    /// let options = ServerOptions {
    ///     max_blocking: 1024,
    ///     ..ServerOptions::default()
    /// };
    /// assert_eq!(options.max_blocking, 1024);
    /// ```
    pub max_blocking: usize,
    /// How long a keep-alive connection may sit between requests.
    pub idle_timeout: Duration,
    /// How long a client has from the first byte of a request until its head is complete
    /// (and, for requests the event loop buffers whole, until the request is complete). This
    /// is the defence against slowloris clients that trickle a head byte by byte.
    pub header_timeout: Duration,
    /// How long one read of a request body, or one blocking write of a response, may wait.
    pub body_timeout: Duration,
    /// Receive buffer per connection. It bounds the request head (larger: 431); the event loop
    /// runs a request whose head and body fit it without blocking, and hands a request with a
    /// larger body to a blocking thread.
    pub receive_buffer: usize,
    /// How long [`serve_forever`](super::WsgiServer::serve_forever) waits for in-flight
    /// requests after [`shutdown`](super::WsgiServer::shutdown) before it returns anyway.
    pub shutdown_grace: Duration,
    /// The peers whose `Forwarded` (RFC 7239) and `X-Forwarded-For`/`-Proto`/`-Host` headers
    /// set `REMOTE_ADDR`, `REMOTE_PORT`, `wsgi.url_scheme` and `HTTP_HOST` (with
    /// `SERVER_NAME`/`SERVER_PORT`), as gunicorn's `forwarded_allow_ips` and Werkzeug's
    /// `ProxyFix` do; from any other peer those headers are left as they came. The peer's own
    /// address is kept in `wsgiref.proxy.peer`. The access log keeps naming the peer.
    ///
    /// **Default: nobody.** gunicorn trusts `127.0.0.1` by default, which lets every process
    /// on the machine (any user's, any sandboxed one that can open a TCP connection) claim
    /// to be any client and to have come over TLS; a server that is not behind a proxy would
    /// believe them too. Naming the proxy is one line, and a wrong guess is a hole.
    ///
    /// With [`proxy_protocol`](Self::proxy_protocol), the peer judged here is the PROXY
    /// header's source, not the balancer: see the
    /// [`ForwardedAllowIps`](super::ForwardedAllowIps) docs and `docs/proxies.md`.
    ///
    /// ```
    /// use wsgiref_std::server::ServerOptions;
    ///
    /// let options = ServerOptions {
    ///     // nginx on this host, and the balancers of a private network.
    ///     forwarded_allow_ips: "127.0.0.1, ::1, 10.0.0.0/8".parse()?,
    ///     ..ServerOptions::default()
    /// };
    /// assert!(options.forwarded_allow_ips.trusts("10.1.2.3".parse().unwrap()));
    /// # Ok::<(), wsgiref_core::proxy::forwarded::TrustListError>(())
    /// ```
    pub forwarded_allow_ips: ForwardedAllowIps,
    /// Every connection starts with a PROXY protocol header, version 1 or 2 (HAProxy's
    /// `send-proxy`/`send-proxy-v2`, AWS NLB, nginx's `proxy_protocol on` in `stream`), whose
    /// source address becomes `REMOTE_ADDR`/`REMOTE_PORT` and the access log's client for
    /// every request of the connection; a `LOCAL` header (a health check) keeps the socket's
    /// peer, and a TLS TLV (`send-proxy-v2-ssl`) makes `wsgi.url_scheme` `https`. The
    /// balancer's address is kept in `wsgiref.proxy.peer`.
    ///
    /// Off by default. When on, a connection without a valid header (plain HTTP, say) is
    /// closed with a log line, and the header must be complete within
    /// [`header_timeout`](Self::header_timeout). It is read by the event loop as it arrives,
    /// in any number of pieces, into the connection's buffer: at most 107 bytes for version
    /// 1 and 16 plus at most 4 KiB for version 2. The header is believed from whoever sends
    /// it, so only the balancers must be able to reach such a server (bind it to a private
    /// address, or firewall it).
    ///
    /// ```
    /// use wsgiref_std::server::ServerOptions;
    ///
    /// // Behind HAProxy with `server app 10.0.0.5:8000 send-proxy-v2`.
    /// let options = ServerOptions { proxy_protocol: true, ..ServerOptions::default() };
    /// assert!(!ServerOptions::default().proxy_protocol);
    /// # let _ = options;
    /// ```
    pub proxy_protocol: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            config: ServerConfig::default(),
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            workers: 0,
            pin_threads: true,
            steer_connections: true,
            max_connections: 10_000,
            max_blocking: 256,
            idle_timeout: Duration::from_secs(60),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            receive_buffer: 16 * 1024,
            shutdown_grace: Duration::from_secs(30),
            forwarded_allow_ips: ForwardedAllowIps::none(),
            proxy_protocol: false,
        }
    }
}
