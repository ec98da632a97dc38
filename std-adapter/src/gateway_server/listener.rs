//! [`Listener`]: the socket a [`GatewayServer`](super::GatewayServer) accepts on, TCP or Unix,
//! and the connections it yields.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

/// Pending connections the kernel queues before `accept` (Linux caps it at `somaxconn`).
const BACKLOG: i32 = 1024;

/// A listening socket for a gateway server: TCP or a Unix socket.
///
/// [`make_gateway_server`](super::make_gateway_server) binds one from an address string;
/// build one yourself (a socket inherited from systemd or a supervisor, for instance) and pass
/// it to [`GatewayServer::from_listener`](super::GatewayServer::from_listener).
///
/// ```no_run
/// use wsgiref_std::gateway_server::Listener;
///
/// let tcp = Listener::bind("127.0.0.1:9000")?;
/// let unix = Listener::bind("unix:/run/app/fcgi.sock")?;
/// let adopted = Listener::Tcp(std::net::TcpListener::bind("127.0.0.1:9001")?);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub enum Listener {
    /// A TCP listener.
    Tcp(TcpListener),
    /// A Unix stream socket listener.
    Unix(UnixListener),
}

/// Where a [`Listener`] listens: what [`GatewayServer::local_address`](super::GatewayServer::local_address)
/// reports. `Display` writes `127.0.0.1:9000` or `unix:/path`, the form
/// [`Listener::bind`] reads.
///
/// ```
/// use wsgiref_std::gateway_server::ListenAddress;
/// let unix = ListenAddress::Unix("/run/app.sock".into());
/// assert_eq!(unix.to_string(), "unix:/run/app.sock");
/// assert_eq!(unix.port(), None);
/// let tcp = ListenAddress::Tcp("127.0.0.1:9000".parse().unwrap());
/// assert_eq!(tcp.port(), Some(9000));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListenAddress {
    /// A TCP address, with the real port when port 0 was asked for.
    Tcp(SocketAddr),
    /// The path of a Unix socket.
    Unix(PathBuf),
}

impl ListenAddress {
    /// The TCP port, if this is a TCP address (see the type's example).
    pub fn port(&self) -> Option<u16> {
        match self {
            ListenAddress::Tcp(a) => Some(a.port()),
            ListenAddress::Unix(_) => None,
        }
    }
}

impl fmt::Display for ListenAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenAddress::Tcp(a) => write!(f, "{a}"),
            ListenAddress::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

impl Listener {
    /// Bind `address`: `HOST:PORT` (`127.0.0.1:9000`, `[::1]:9000`, `localhost:9000`; port 0
    /// picks a free one) or `unix:/path/to.sock`.
    ///
    /// A Unix socket path that exists is replaced only when it is a stale socket (nothing
    /// accepts on it: the server that made it died without removing it). A live socket is
    /// refused with `AddrInUse`, and a path that is not a socket with `AlreadyExists`, so that
    /// a typo never deletes a file. The new socket file gets the permissions the process
    /// umask leaves (`0o777 & !umask`; `0o755` under the usual `022`, which lets only this
    /// user connect): a front end running as another user needs a group-writable socket, so
    /// set the umask (`umask 007` in the unit file or the shell) or change the file's mode
    /// after binding.
    ///
    /// ```no_run
    /// use wsgiref_std::gateway_server::Listener;
    ///
    /// let listener = Listener::bind("unix:/run/app/scgi.sock")?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind(address: &str) -> io::Result<Listener> {
        match address.strip_prefix("unix:") {
            Some(path) => bind_unix(Path::new(path)).map(Listener::Unix),
            None => bind_tcp(address).map(Listener::Tcp),
        }
    }

    /// Where it listens.
    ///
    /// ```no_run
    /// use wsgiref_std::gateway_server::Listener;
    ///
    /// let listener = Listener::bind("[::1]:0")?;
    /// println!("port {:?}", listener.local_address()?.port());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_address(&self) -> io::Result<ListenAddress> {
        match self {
            Listener::Tcp(l) => l.local_addr().map(ListenAddress::Tcp),
            Listener::Unix(l) => {
                let addr = l.local_addr()?;
                let path = addr.as_pathname().ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "an unnamed or abstract Unix socket has no path",
                    )
                })?;
                Ok(ListenAddress::Unix(path.to_path_buf()))
            }
        }
    }

    pub(crate) fn try_clone(&self) -> io::Result<Listener> {
        Ok(match self {
            Listener::Tcp(l) => Listener::Tcp(l.try_clone()?),
            Listener::Unix(l) => Listener::Unix(l.try_clone()?),
        })
    }
}

fn bind_tcp(address: &str) -> io::Result<TcpListener> {
    let mut last = None;
    for addr in address.to_socket_addrs()? {
        let attempt = (|| {
            let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
            // Restart without waiting for TIME_WAIT. No SO_REUSEPORT: a port another process
            // listens on must be refused, not shared.
            socket.set_reuse_address(true)?;
            socket.bind(&addr.into())?;
            socket.listen(BACKLOG)?;
            Ok::<_, io::Error>(TcpListener::from(socket))
        })();
        match attempt {
            Ok(l) => return Ok(l),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => return Err(e),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("no address for {address:?}"),
        )
    }))
}

fn bind_unix(path: &Path) -> io::Result<UnixListener> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => match UnixStream::connect(path) {
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("{}: a server is listening on this socket", path.display()),
                ))
            }
            // Nothing accepts: a stale socket file left by a server that died.
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                log::info!(
                    target: "wsgiref::gateway",
                    "removing stale socket file {}",
                    path.display()
                );
                std::fs::remove_file(path)?;
            }
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!(
                        "{}: cannot tell whether the socket is in use: {e}",
                        path.display()
                    ),
                ))
            }
        },
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{}: exists and is not a socket", path.display()),
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    UnixListener::bind(path)
}

/// One accepted connection.
#[derive(Debug)]
pub(crate) enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    pub(crate) fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_read_timeout(t),
            Stream::Unix(s) => s.set_read_timeout(t),
        }
    }

    pub(crate) fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_write_timeout(t),
            Stream::Unix(s) => s.set_write_timeout(t),
        }
    }

    pub(crate) fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_nonblocking(on),
            Stream::Unix(s) => s.set_nonblocking(on),
        }
    }

    pub(crate) fn shutdown_write(&self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.shutdown(Shutdown::Write),
            Stream::Unix(s) => s.shutdown(Shutdown::Write),
        }
    }

    /// Whether the front end sent bytes not read yet, or closed its side: a peek that never
    /// waits. An error counts as nothing pending (the connection is broken: close it).
    pub(crate) fn has_pending_input(&self) -> bool {
        let mut byte = [0u8; 1];
        let flags = rustix::net::RecvFlags::PEEK | rustix::net::RecvFlags::DONTWAIT;
        let peeked = match self {
            Stream::Tcp(s) => rustix::net::recv(s, &mut byte, flags),
            Stream::Unix(s) => rustix::net::recv(s, &mut byte, flags),
        };
        matches!(peeked, Ok((n, _)) if n > 0)
    }

    /// The peer, for log lines: `127.0.0.1:51234`, or `unix` for a Unix socket client.
    pub(crate) fn peer(&self) -> String {
        match self {
            Stream::Tcp(s) => s
                .peer_addr()
                .map_or_else(|_| "tcp".to_string(), |a| a.to_string()),
            Stream::Unix(_) => "unix".to_string(),
        }
    }
}

impl Read for &Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => (&*s).read(buf),
            Stream::Unix(s) => (&*s).read(buf),
        }
    }
}

impl Write for &Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => (&*s).write(buf),
            Stream::Unix(s) => (&*s).write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => (&*s).write_vectored(bufs),
            Stream::Unix(s) => (&*s).write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
