//! **This example uses `wsgiref-core` directly**, not the `wsgiref` facade that applications
//! depend on: its flash and stack figures measure the core alone, which is what a
//! firmware links. Everything it names is also reachable from `wsgiref` (with
//! `default-features = false` on bare metal).
//!
//! Shared pieces of the QEMU firmwares: an in-memory loopback transport, output through
//! semihosting without `core::fmt`, and the stack high-water probe.
//!
//! The firmwares themselves are in `src/bin/`: `demo` serves a scripted set of requests and
//! checks every response byte for byte; `minimal` (the blocking `Connection`, budgeted) and
//! `minimal_session` (the sans-IO `Session`) serve one request and report the footprint
//! figures; `floor` does the same with httparse alone and a constant response, the
//! comparison point under them.
#![no_std]

pub mod hello;
pub mod loopback;
pub mod out;
pub mod stack;
#[cfg(feature = "tcp")]
pub mod tcp;

/// A panic handler that does not format (formatting the message would pull `core::fmt` into
/// every firmware): report, exit non-zero.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    out::bytes(b"panic\n");
    out::exit(false)
}
