//! The minimal firmware the footprint figures are measured on (the budgeted one): one
//! `GET / HTTP/1.1` with a Host header, answered by a hello application through the full
//! blocking handler ([`Connection`]: parsing, the environ written out for every request,
//! start_response rules, Content-Length, error output), over an in-memory transport. Output
//! is semihosting without `core::fmt`.
//!
//! It prints the response, then `stack_high_water=N` (bytes), and exits 0 when the response
//! is the expected one. `minimal_session` is the same firmware over the sans-IO `Session`.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use wsgiref_core::environ::EnvironBuf;
use wsgiref_core::handler::{Connection, Served, ServerConfig};
use wsgiref_embedded_qemu::hello::{self, Mem, HEADERS, REQUEST, RX};
use wsgiref_embedded_qemu::loopback::Loopback;

/// The connection type: the transport is part of its state.
type Conn = Connection<'static, Loopback<'static, 256>, HEADERS>;

#[entry]
fn main() -> ! {
    // cortex-m-rt hands these to `main` as `&'static mut`: buffers and connection state live
    // in static RAM (counted as bss), not on the stack, so the stack figure is what serving a
    // request costs.
    static mut RX_BUF: [u8; RX] = [0; RX];
    static mut MEM: Mem = Mem::new();
    static mut BASE: EnvironBuf<64, 2> = EnvironBuf::new();
    static mut CONN: Option<Conn> = None;

    let base = BASE.environ();
    let conn = CONN.insert(Connection::new(
        Loopback::new(REQUEST, RX),
        RX_BUF,
        MEM.memory(),
        ServerConfig::default(),
    ));
    let app = hello::app();
    let served = matches!(conn.serve_one(&app, &base, None), Ok(Served::Request(_)));
    let closed = matches!(conn.serve_one(&app, &base, None), Ok(Served::Closed));
    hello::report(
        &conn.transport_mut().output,
        served,
        closed,
        core::mem::size_of::<Conn>(),
        core::mem::size_of::<Mem>(),
    )
}
