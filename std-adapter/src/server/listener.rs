//! Listening sockets, made with `socket2` for the options std does not expose.

use std::io;
use std::net::{SocketAddr, TcpListener};

use socket2::{Domain, Protocol, Socket, Type};

/// Pending connections the kernel queues before `accept` (Linux caps it at `somaxconn`).
pub(crate) const BACKLOG: i32 = 1024;

/// A non-blocking listener on `address` for the first worker, with `SO_REUSEADDR` (restart
/// without waiting for TIME_WAIT), `SO_REUSEPORT` (so the other workers can bind listeners of
/// their own, [`bind_shared`]) and, on an IPv6 wildcard, IPv4 clients accepted too (dual
/// stack).
///
/// `SO_REUSEPORT` alone would let this bind succeed on a port another process (another
/// server of ours, say) already listens on, and the two would split the connections between
/// them. So a port that is asked for by number is first bound without it: a port in use
/// fails with "Address already in use", as Python's server does.
pub(crate) fn bind(address: SocketAddr) -> io::Result<TcpListener> {
    if address.port() != 0 {
        let probe = socket(address)?;
        probe.bind(&address.into())?;
        // Released at once: the listener below takes the port over.
        drop(probe);
    }
    bind_shared(address)
}

/// Another listener on the address a first one holds (`SO_REUSEPORT`), for another worker.
pub(crate) fn bind_shared(address: SocketAddr) -> io::Result<TcpListener> {
    let socket = socket(address)?;
    // Lets each server worker bind a listener of its own on the same address.
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&address.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// A TCP socket for `address` with `SO_REUSEADDR`, dual stack on an IPv6 wildcard.
fn socket(address: SocketAddr) -> io::Result<Socket> {
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    if address.is_ipv6() && address.ip().is_unspecified() {
        // Not every system allows dual stack; an IPv6-only listener is still useful then.
        let _ = socket.set_only_v6(false);
    }
    Ok(socket)
}
