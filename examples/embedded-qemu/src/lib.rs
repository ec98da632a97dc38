//! Shared pieces of the QEMU firmwares: an in-memory loopback transport, output through
//! semihosting without `core::fmt`, and the stack high-water probe.
//!
//! The firmwares themselves are in `src/bin/`: `demo` serves a scripted set of requests and
//! checks every response byte for byte; `minimal` serves one request and reports the
//! footprint figures.
#![no_std]

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
