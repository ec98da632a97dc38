//! What the minimal firmwares share: the request they serve, their buffer and header-slot
//! sizes, the response they must produce, the hello application, and the report they end
//! with. Kept in one place, so that `minimal` and `minimal_session` differ only in the
//! driver, and `floor` (httparse alone, no handler) only in having none.

use wsgiref_core::app::{app_fn, Application, StartResponse};
use wsgiref_core::handler::MemoryBuf;
use wsgiref_core::{AppError, Environ};

use crate::{out, stack};

/// The one request served: `GET /` with a Host header.
pub const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: device.local\r\n\r\n";

/// The exact response expected (no Date: the firmware has no clock).
pub const EXPECTED: &[u8] = b"HTTP/1.1 200 OK\r\n\
Server: wsgiref-rs/0.1.0\r\n\
Content-Type: text/plain\r\n\
Content-Length: 13\r\n\
\r\n\
Hello, world!";

/// Receive buffer size: bounds the request head (and, for the sans-IO session, the body).
pub const RX: usize = 2048;

/// Request header slots parsed per head (more is a 431); `floor` gives httparse as many.
pub const HEADERS: usize = 8;

/// Handler memory: 512 B of environ in 24 variables, 256 B of output staging (the response
/// head must fit it).
pub type Mem = MemoryBuf<512, 24, 256>;

/// The hello application: a status, one header, a 13-byte body. With the `route` feature it
/// answers `/` only (404 elsewhere), so it reads `PATH_INFO` from its environ.
pub fn app() -> impl Application {
    app_fn(|_env: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
        #[cfg(feature = "route")]
        if _env.get("PATH_INFO") != Some(&b"/"[..]) {
            sr.start("404 Not Found", &[("Content-Type", "text/plain")])?;
            return Ok(&b"Not found"[..]);
        }
        sr.start("200 OK", &[("Content-Type", "text/plain")])?;
        Ok::<_, AppError>(&b"Hello, world!"[..])
    })
}

/// Print the response and the figures (stack high-water mark, RAM per connection), then
/// exit 0 when the firmware served exactly one request, saw the end of the connection, and
/// wrote [`EXPECTED`].
pub fn report(response: &[u8], served_one: bool, closed: bool, state: usize, memory: usize) -> ! {
    // Measured first: printing uses stack too.
    let used = stack::high_water();
    out::bytes(response);
    out::bytes(b"\n");
    out::figure(b"stack_high_water=", used);
    // RAM per connection, besides the stack: connection state, receive buffer, handler memory.
    out::figure(b"connection_state=", state as u32);
    out::figure(b"receive_buffer=", RX as u32);
    out::figure(b"handler_memory=", memory as u32);
    let ok = served_one && closed && response == EXPECTED;
    out::bytes(if ok {
        b"minimal: ok\n"
    } else {
        b"minimal: FAILED\n"
    });
    out::exit(ok)
}
