//! The minimal firmware the footprint figures are measured on: one `GET / HTTP/1.1` with a
//! Host header, answered by a hello application through the full blocking handler
//! ([`Connection`]: parsing, environ, start_response rules, Content-Length, error output), over
//! an in-memory transport. Output is semihosting without `core::fmt`.
//!
//! It prints the response, then `stack_high_water=N` (bytes), and exits 0 when the response
//! is the expected one.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use wsgiref_core::app::{app_fn, StartResponse};
use wsgiref_core::environ::EnvironBuf;
use wsgiref_core::handler::{Connection, MemoryBuf, Served, ServerConfig};
use wsgiref_core::{AppError, Environ};
use wsgiref_embedded_qemu::{loopback::Loopback, out, stack};

/// Receive buffer: bounds the request head.
const RX: usize = 2048;
/// Request header slots parsed per head (more is a 431).
const HEADERS: usize = 8;
/// Handler memory: 512 B of environ in 24 variables, 256 B of output staging (the response
/// head must fit it).
type Mem = MemoryBuf<512, 24, 256>;

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: device.local\r\n\r\n";
const EXPECTED: &[u8] = b"HTTP/1.1 200 OK\r\n\
Server: wsgiref-rs/0.1.0\r\n\
Content-Type: text/plain\r\n\
Content-Length: 13\r\n\
\r\n\
Hello, world!";

/// The connection type: its state lives in static RAM (a `singleton!`), like its buffers.
type Conn = Connection<'static, Loopback<'static, 256>, HEADERS>;

#[entry]
fn main() -> ! {
    // Buffers and connection state live in static RAM (counted as bss), not on the stack, so
    // the stack figure is what serving a request costs.
    let rx: &'static mut [u8; RX] = cortex_m::singleton!(: [u8; RX] = [0; RX]).unwrap();
    let mem: &'static mut Mem = cortex_m::singleton!(: Mem = Mem::new()).unwrap();
    let base: &'static mut EnvironBuf<64, 2> =
        cortex_m::singleton!(: EnvironBuf<64, 2> = EnvironBuf::new()).unwrap();
    let base = base.environ();
    let conn: &'static mut Option<Conn> = cortex_m::singleton!(: Option<Conn> = None).unwrap();
    let conn = conn.insert(Connection::new(
        Loopback::new(REQUEST, RX),
        rx,
        mem.memory(),
        ServerConfig::default(),
    ));

    let app = app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        sr.start("200 OK", &[("Content-Type", "text/plain")])?;
        Ok::<_, AppError>(&b"Hello, world!"[..])
    });
    let served = matches!(conn.serve_one(&app, &base, None), Ok(Served::Request(_)));
    let closed = matches!(conn.serve_one(&app, &base, None), Ok(Served::Closed));
    let used = stack::high_water();
    let response = &conn.transport_mut().output;

    out::bytes(response);
    out::bytes(b"\n");
    out::figure(b"stack_high_water=", used);
    // RAM per connection, besides the stack: connection state, receive buffer, handler memory.
    out::figure(b"connection_state=", core::mem::size_of::<Conn>() as u32);
    out::figure(b"receive_buffer=", RX as u32);
    out::figure(b"handler_memory=", core::mem::size_of::<Mem>() as u32);
    let ok = served && closed && response.as_slice() == EXPECTED;
    out::bytes(if ok {
        b"minimal: ok\n"
    } else {
        b"minimal: FAILED\n"
    });
    out::exit(ok)
}
