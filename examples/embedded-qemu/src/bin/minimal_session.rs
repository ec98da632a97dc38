//! The minimal firmware over the sans-IO driver: the same request, application and report
//! as `minimal`, served by a [`Session`] that the firmware's loop feeds (read from the
//! transport into the session's receive buffer, process, send what it wrote): the whole
//! runtime an embedder writes around the state machine.
//!
//! Its figures are printed beside `minimal`'s, not budgeted. They are not the same
//! measurement: a session writes a request's environ out only when the application first
//! reads it, and the hello application never does, so this firmware does not link the
//! environ write-out at all. An application that reads one variable (`PATH_INFO`, the
//! `route` feature) adds about 4.6 KB (2026-12-07: 19,940 -> 24,560 B with `terse-errors`).
//! A session also needs the whole request, body included, in its receive buffer (larger ones
//! get 413).
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use embedded_io::Read;
use wsgiref_core::environ::EnvironBuf;
use wsgiref_core::handler::{ServerConfig, Session, Step};
use wsgiref_embedded_qemu::hello::{self, Mem, HEADERS, REQUEST, RX};
use wsgiref_embedded_qemu::loopback::Loopback;

#[entry]
fn main() -> ! {
    // cortex-m-rt hands these to `main` as `&'static mut`: buffers and session state live in
    // static RAM (counted as bss), not on the stack, so the stack figure is what serving a
    // request costs.
    static mut RX_BUF: [u8; RX] = [0; RX];
    static mut MEM: Mem = Mem::new();
    static mut BASE: EnvironBuf<64, 2> = EnvironBuf::new();
    static mut SESSION: Option<Session<'static, HEADERS>> = None;

    let base = BASE.environ();
    let session = SESSION.insert(Session::new(RX_BUF, MEM.memory(), ServerConfig::default()));
    let mut transport: Loopback<'static, 256> = Loopback::new(REQUEST, RX);
    let app = hello::app();

    let mut answered = 0;
    let closed = loop {
        // Received bytes go straight into the session's buffer; 0 is the end of the stream.
        match transport.read(session.receive_buffer()) {
            Ok(0) | Err(_) => session.receive_eof(),
            Ok(n) => session.received(n),
        }
        match session.process(&app, &base, None, &mut transport.output) {
            Step::Answered(_) => answered += 1,
            Step::NeedInput => {}
            Step::Close => break true,
            Step::Rejected { .. } => break false,
        }
    };
    hello::report(
        &transport.output,
        answered == 1,
        closed,
        core::mem::size_of::<Session<'static, HEADERS>>(),
        core::mem::size_of::<Mem>(),
    )
}
