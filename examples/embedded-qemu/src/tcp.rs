//! A real TCP transport inside one firmware: smoltcp with a client socket and a server socket
//! on 127.0.0.1, over a loopback IP device of fixed size (smoltcp's own `Loopback` device needs
//! an allocator, which this firmware does not have).
//!
//! [`TcpLoopback`] is the server side as `embedded_io::Read + Write`; every read or write
//! polls the interface and pumps the scripted client: it sends its request bytes, then closes
//! its sending side, and collects everything the server answers.

use embedded_io::{ErrorKind, ErrorType, Read, Write};
use heapless::{Deque, Vec};
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::phy::{self, ChecksumCapabilities, Device, DeviceCapabilities, Medium};
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};

/// Largest IP packet on the loopback device.
const MTU: usize = 1024;
/// Packets the device holds between polls.
const FRAMES: usize = 4;
/// Polls one read, write or drain may take before giving up (each advances the clock 1 ms).
const MAX_POLLS: u32 = 20_000;
const SERVER_PORT: u16 = 80;

type Frame = Vec<u8, MTU>;

/// A loopback IP device over a fixed queue of packets.
pub struct FrameLoopback {
    queue: Deque<Frame, FRAMES>,
}

impl FrameLoopback {
    /// An empty device.
    pub const fn new() -> Self {
        FrameLoopback {
            queue: Deque::new(),
        }
    }
}

impl Default for FrameLoopback {
    fn default() -> Self {
        Self::new()
    }
}

/// A received packet.
pub struct Rx(Frame);

/// Room for a packet to send.
pub struct Tx<'q>(&'q mut Deque<Frame, FRAMES>);

impl phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = Frame::new();
        // `len` never exceeds the MTU the device announces; a longer one is cut to it.
        let _ = frame.resize(len.min(MTU), 0);
        let result = f(&mut frame);
        // A full queue drops the packet, as a busy link would; TCP sends it again.
        let _ = self.0.push_back(frame);
        result
    }
}

impl Device for FrameLoopback {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx<'a>;

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.max_transmission_unit = MTU;
        caps.medium = Medium::Ip;
        caps.checksum = ChecksumCapabilities::ignored();
        caps
    }

    fn receive(&mut self, _: Instant) -> Option<(Rx, Tx<'_>)> {
        let frame = self.queue.pop_front()?;
        Some((Rx(frame), Tx(&mut self.queue)))
    }

    fn transmit(&mut self, _: Instant) -> Option<Tx<'_>> {
        if self.queue.is_full() {
            return None;
        }
        Some(Tx(&mut self.queue))
    }
}

/// Socket buffers for one client/server pair, supplied by the caller.
pub struct Buffers {
    server_rx: [u8; 1024],
    server_tx: [u8; 1024],
    client_rx: [u8; 1024],
    client_tx: [u8; 1024],
}

impl Buffers {
    /// Zeroed buffers.
    pub const fn new() -> Self {
        Buffers {
            server_rx: [0; 1024],
            server_tx: [0; 1024],
            client_rx: [0; 1024],
            client_tx: [0; 1024],
        }
    }
}

impl Default for Buffers {
    fn default() -> Self {
        Self::new()
    }
}

/// The server end of a TCP connection on 127.0.0.1, with a scripted client. See the
/// [module docs](self).
pub struct TcpLoopback<'a, const OUT: usize> {
    iface: Interface,
    device: FrameLoopback,
    sockets: SocketSet<'a>,
    server: SocketHandle,
    client: SocketHandle,
    now_ms: i64,
    /// Request bytes the client has yet to send.
    request: &'a [u8],
    client_closed: bool,
    /// Everything the client received.
    received: Vec<u8, OUT>,
    overflow: bool,
}

impl<'a, const OUT: usize> TcpLoopback<'a, OUT> {
    /// Listen on 127.0.0.1:80 and connect a client from `client_port` that will send
    /// `request`; `storage` holds the two sockets (`[SocketStorage::EMPTY; 2]`). `None` if
    /// smoltcp refuses the setup.
    pub fn new(
        storage: &'a mut [SocketStorage<'a>; 2],
        buffers: &'a mut Buffers,
        request: &'a [u8],
        client_port: u16,
    ) -> Option<Self> {
        let mut device = FrameLoopback::new();
        let mut iface = Interface::new(
            Config::new(HardwareAddress::Ip),
            &mut device,
            Instant::from_millis(0),
        );
        iface.update_ip_addrs(|addrs| {
            let _ = addrs.push(IpCidr::new(IpAddress::v4(127, 0, 0, 1), 8));
        });
        let mut sockets = SocketSet::new(&mut storage[..]);
        let server = tcp::Socket::new(
            tcp::SocketBuffer::new(&mut buffers.server_rx[..]),
            tcp::SocketBuffer::new(&mut buffers.server_tx[..]),
        );
        let client = tcp::Socket::new(
            tcp::SocketBuffer::new(&mut buffers.client_rx[..]),
            tcp::SocketBuffer::new(&mut buffers.client_tx[..]),
        );
        let server = sockets.add(server);
        let client = sockets.add(client);
        sockets
            .get_mut::<tcp::Socket>(server)
            .listen(SERVER_PORT)
            .ok()?;
        sockets
            .get_mut::<tcp::Socket>(client)
            .connect(
                iface.context(),
                (IpAddress::v4(127, 0, 0, 1), SERVER_PORT),
                client_port,
            )
            .ok()?;
        Some(TcpLoopback {
            iface,
            device,
            sockets,
            server,
            client,
            now_ms: 0,
            request,
            client_closed: false,
            received: Vec::new(),
            overflow: false,
        })
    }

    /// One step of the network: move packets, then let the client send and receive.
    fn poll(&mut self) {
        self.now_ms += 1;
        self.iface.poll(
            Instant::from_millis(self.now_ms),
            &mut self.device,
            &mut self.sockets,
        );
        let client = self.sockets.get_mut::<tcp::Socket>(self.client);
        if client.can_send() && !self.request.is_empty() {
            if let Ok(n) = client.send_slice(self.request) {
                self.request = &self.request[n..];
            }
        }
        if self.request.is_empty() && !self.client_closed && client.may_send() {
            client.close();
            self.client_closed = true;
        }
        while client.can_recv() {
            let mut chunk = [0u8; 256];
            match client.recv_slice(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if self.received.extend_from_slice(&chunk[..n]).is_err() {
                        self.overflow = true;
                    }
                }
            }
        }
    }

    fn server(&mut self) -> &mut tcp::Socket<'a> {
        self.sockets.get_mut::<tcp::Socket>(self.server)
    }

    /// Close the server side and let the client receive everything; what it received, or
    /// `None` if it did not fit `OUT` or the connection did not wind down in time.
    pub fn finish(mut self) -> Option<Vec<u8, OUT>> {
        self.server().close();
        for _ in 0..MAX_POLLS {
            self.poll();
            let client = self.sockets.get::<tcp::Socket>(self.client);
            if !client.is_open() || (!client.may_recv() && !client.can_recv()) {
                return (!self.overflow).then_some(self.received);
            }
        }
        None
    }
}

impl<const OUT: usize> ErrorType for TcpLoopback<'_, OUT> {
    type Error = ErrorKind;
}

impl<const OUT: usize> Read for TcpLoopback<'_, OUT> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        for _ in 0..MAX_POLLS {
            self.poll();
            let server = self.server();
            if server.can_recv() {
                return server.recv_slice(buf).map_err(|_| ErrorKind::Other);
            }
            match server.state() {
                // Not connected yet.
                tcp::State::Listen | tcp::State::SynReceived => {}
                // The client sent FIN and everything before it was read: end of stream.
                _ if !server.may_recv() => return Ok(0),
                _ => {}
            }
        }
        Err(ErrorKind::TimedOut)
    }
}

impl<const OUT: usize> Write for TcpLoopback<'_, OUT> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        if buf.is_empty() {
            return Ok(0);
        }
        for _ in 0..MAX_POLLS {
            let server = self.server();
            if !server.may_send() {
                return Err(ErrorKind::BrokenPipe);
            }
            if server.can_send() {
                match server.send_slice(buf) {
                    Ok(0) => {}
                    Ok(n) => return Ok(n),
                    Err(_) => return Err(ErrorKind::BrokenPipe),
                }
            }
            self.poll();
        }
        Err(ErrorKind::TimedOut)
    }

    fn flush(&mut self) -> Result<(), ErrorKind> {
        for _ in 0..MAX_POLLS {
            if self.server().send_queue() == 0 {
                return Ok(());
            }
            self.poll();
        }
        Err(ErrorKind::TimedOut)
    }
}
