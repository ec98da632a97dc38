//! The floor under the minimal firmware, for comparison only: the same request read through
//! the same in-memory transport, parsed by httparse alone, answered with the expected
//! response as a constant. No environ, no application, no start_response rules, no framing.
//! Its flash is what the harness (vector table, runtime, semihosting report, compiler
//! builtins) and httparse cost; the minimal firmware's flash above it is the handler's own.
//! The issue's own anchor ("httparse parsing alone", 6,584 B) was measured the same way on
//! another harness.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use embedded_io::{Read, Write};
use wsgiref_embedded_qemu::hello::{self, EXPECTED, HEADERS, REQUEST, RX};
use wsgiref_embedded_qemu::loopback::Loopback;

#[entry]
fn main() -> ! {
    static mut RX_BUF: [u8; RX] = [0; RX];

    let mut transport: Loopback<'static, 256> = Loopback::new(REQUEST, RX);
    // Unparsed bytes are `RX_BUF[start..len]`. A served head is skipped by moving `start`,
    // not by sliding the rest to the front: `copy_within` would link `compiler_builtins`'
    // `memmove` (about 1.6 KB on Cortex-M), which the handler avoids (see the core's
    // `relocate`), so the floor would carry code the firmware it is the floor of does not.
    // Being a floor, it gives up when a head does not fit the rest of the buffer.
    let mut start = 0;
    let mut len = 0;
    let mut answered = 0;
    let closed = loop {
        if start == len {
            (start, len) = (0, 0);
        }
        let n = transport.read(&mut RX_BUF[len..]).unwrap_or(0);
        if n == 0 {
            break len == start;
        }
        len += n;
        let mut headers = [httparse::EMPTY_HEADER; HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&RX_BUF[start..len]) {
            Ok(httparse::Status::Complete(head)) if request.method == Some("GET") => {
                if transport.write_all(EXPECTED).is_err() {
                    break false;
                }
                answered += 1;
                start += head;
            }
            Ok(httparse::Status::Partial) if len < RX => {}
            _ => break false,
        }
    };
    // No connection state and no handler memory to report: there is no handler.
    hello::report(&transport.output, answered == 1, closed, 0, 0)
}
