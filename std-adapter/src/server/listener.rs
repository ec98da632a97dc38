//! Listening sockets, made with `socket2` for the options std does not expose.

use std::io;
use std::net::{SocketAddr, TcpListener};

use socket2::{Domain, Protocol, Socket, Type};

/// Pending connections the kernel queues before `accept` (Linux caps it at `somaxconn`).
const BACKLOG: i32 = 1024;

/// A non-blocking listener on `address`, with `SO_REUSEADDR` (restart without waiting for
/// TIME_WAIT) and, on an IPv6 wildcard, IPv4 clients accepted too (dual stack).
pub(crate) fn bind(address: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    // Lets each server worker bind a listener of its own on the same address.
    socket.set_reuse_port(true)?;
    if address.is_ipv6() && address.ip().is_unspecified() {
        // Not every system allows dual stack; an IPv6-only listener is still useful then.
        let _ = socket.set_only_v6(false);
    }
    socket.set_nonblocking(true)?;
    socket.bind(&address.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// Another listener on the address a first one holds (`SO_REUSEPORT`), for another worker.
pub(crate) fn bind_shared(address: SocketAddr) -> io::Result<TcpListener> {
    bind(address)
}
