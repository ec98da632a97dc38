//! The demonstration firmware: several HTTP exchanges served by wsgiref-core's blocking
//! handler ([`Connection`]) on a Cortex-M3, with no allocator. Every response is compared with
//! the expected bytes inside the firmware; the semihosting exit code is 0 only when all match.
//!
//! The exchanges: a hello application; an application reporting parts of its environ; a
//! pipelined pair of requests sent in one piece; a POST with a chunked body, echoed; a
//! malformed request, answered 400. The transport is smoltcp TCP on 127.0.0.1 (client and
//! server in this firmware; feature `tcp`) or an in-memory loopback that delivers each request
//! in 7-byte pieces so the handler meets heads and bodies split across reads.
//!
//! Output: plain text over semihosting, or defmt frames with the `defmt` feature (decode them
//! with `defmt-print -e ELF`).
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use heapless::Vec;
use wsgiref_core::app::{Once, StartResponse};
use wsgiref_core::environ::EnvironBuf;
use wsgiref_core::handler::{Connection, MemoryBuf, Served, ServerConfig};
use wsgiref_core::{AppError, Application, Environ};
#[cfg(not(feature = "tcp"))]
use wsgiref_embedded_qemu::loopback::Loopback;
use wsgiref_embedded_qemu::stack;

#[cfg(feature = "defmt")]
use defmt_semihosting as _;

/// Receive buffer per connection: bounds one request head.
const RX: usize = 1024;
/// Request header slots parsed per head.
const HEADERS: usize = 16;
/// Bytes per transport read (in-memory transport).
#[cfg_attr(feature = "tcp", allow(dead_code))]
const PIECE: usize = 7;
/// Handler memory: 1 KiB of environ in 32 variables, 512 B of output staging (the response
/// head must fit it).
type Mem = MemoryBuf<1024, 32, 512>;

/// The body every route returns: one owned buffer.
type Text = Once<Vec<u8, 256>>;

/// Routes on PATH_INFO: `/` hello, `/env` a report of the environ, `/echo` the request body.
struct Router;

impl Application for Router {
    type Body = Text;

    fn call(&self, env: &mut Environ<'_>, sr: &mut StartResponse<'_>) -> Result<Text, AppError> {
        let mut text: Vec<u8, 256> = Vec::new();
        let full = |_| AppError::msg("response text larger than its buffer");
        match env.get("PATH_INFO").unwrap_or(b"") {
            b"/" => text
                .extend_from_slice(b"Hello from a Cortex-M3!\n")
                .map_err(full)?,
            b"/env" => {
                for key in [
                    "REQUEST_METHOD",
                    "PATH_INFO",
                    "QUERY_STRING",
                    "SERVER_PROTOCOL",
                    "SERVER_NAME",
                    "HTTP_HOST",
                    "HTTP_X_SENSOR",
                ] {
                    let value = env.get(key).unwrap_or(b"-");
                    for part in [key.as_bytes(), b"=", value, b"\n"] {
                        text.extend_from_slice(part).map_err(full)?;
                    }
                }
            }
            b"/echo" => {
                let mut body = [0u8; 128];
                let n = env.input().read_full(&mut body)?;
                text.extend_from_slice(b"got: ").map_err(full)?;
                text.extend_from_slice(&body[..n]).map_err(full)?;
            }
            _ => {
                sr.start("404 Not Found", &[("Content-Type", "text/plain")])?;
                text.extend_from_slice(b"no such page\n").map_err(full)?;
                return Ok(Once::new(text));
            }
        }
        sr.start("200 OK", &[("Content-Type", "text/plain")])?;
        Ok(Once::new(text))
    }
}

/// One scripted connection: what the client sends, and exactly what must come back.
struct Case {
    name: &'static str,
    request: &'static [u8],
    expected: &'static [u8],
}

const CASES: &[Case] = &[
    Case {
        name: "hello",
        request: b"GET / HTTP/1.1\r\nHost: mcu.local\r\nConnection: close\r\n\r\n",
        expected: b"HTTP/1.1 200 OK\r\nServer: wsgiref-rs/0.1.0\r\nContent-Type: text/plain\r\n\
Content-Length: 24\r\nConnection: close\r\n\r\nHello from a Cortex-M3!\n",
    },
    Case {
        name: "environ",
        request: b"GET /env?unit=c&n=3 HTTP/1.1\r\nHost: mcu.local:8080\r\nX-Sensor: t1\r\n\r\n",
        expected: b"HTTP/1.1 200 OK\r\nServer: wsgiref-rs/0.1.0\r\nContent-Type: text/plain\r\n\
Content-Length: 141\r\n\r\nREQUEST_METHOD=GET\nPATH_INFO=/env\nQUERY_STRING=unit=c&n=3\n\
SERVER_PROTOCOL=HTTP/1.1\nSERVER_NAME=mcu\nHTTP_HOST=mcu.local:8080\nHTTP_X_SENSOR=t1\n",
    },
    Case {
        name: "pipelined",
        request: b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /missing HTTP/1.1\r\nHost: a\r\n\r\n",
        expected: b"HTTP/1.1 200 OK\r\nServer: wsgiref-rs/0.1.0\r\nContent-Type: text/plain\r\n\
Content-Length: 24\r\n\r\nHello from a Cortex-M3!\n\
HTTP/1.1 404 Not Found\r\nServer: wsgiref-rs/0.1.0\r\nContent-Type: text/plain\r\n\
Content-Length: 13\r\n\r\nno such page\n",
    },
    Case {
        name: "chunked-post",
        request: b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n",
        expected: b"HTTP/1.1 200 OK\r\nServer: wsgiref-rs/0.1.0\r\nContent-Type: text/plain\r\n\
Content-Length: 17\r\n\r\ngot: hello, world",
    },
    Case {
        name: "malformed",
        request: b"GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n",
        expected: b"HTTP/1.1 400 Bad Request\r\nServer: wsgiref-rs/0.1.0\r\n\
Content-Type: text/plain\r\nContent-Length: 61\r\nConnection: close\r\n\r\n\
Bad Request: whitespace in a header name or before its colon\n",
    },
];

#[entry]
fn main() -> ! {
    let rx: &'static mut [u8; RX] = cortex_m::singleton!(: [u8; RX] = [0; RX]).unwrap();
    let mem: &'static mut Mem = cortex_m::singleton!(: Mem = Mem::new()).unwrap();
    let mut base = EnvironBuf::<128, 4>::new();
    let mut base = base.environ();
    // The server's own variables, laid under each request's.
    let _ = base.set("SERVER_NAME", "mcu");
    let _ = base.set("SERVER_PORT", "80");

    report::transport(TRANSPORT);
    let mut failures = 0u32;
    for (i, case) in CASES.iter().enumerate() {
        let output = exchange(case.request, i as u16, rx, mem, &base);
        let ok = output
            .as_ref()
            .is_some_and(|o| o.as_slice() == case.expected);
        report::case(case.name, output.as_deref().unwrap_or(b"(no output)"), ok);
        if !ok {
            failures += 1;
        }
    }
    report::done(failures, stack::high_water())
}

/// Serve one connection over `transport` until it ends; give the transport back.
fn serve<T: embedded_io::Read + embedded_io::Write>(
    transport: T,
    rx: &mut [u8],
    mem: &mut Mem,
    base: &Environ<'_>,
) -> T {
    let mut conn: Connection<'_, T, HEADERS> =
        Connection::new(transport, rx, mem.memory(), ServerConfig::default());
    // Bounded: each case holds at most 2 requests.
    for _ in 0..4 {
        match conn.serve_one(&Router, base, None) {
            Ok(Served::Request(_)) if !conn.is_closed() => continue,
            _ => break,
        }
    }
    conn.into_inner()
}

#[cfg(not(feature = "tcp"))]
const TRANSPORT: &str = "in-memory loopback, 7 bytes per read";

/// One client connection sending `request`; everything the client received.
#[cfg(not(feature = "tcp"))]
fn exchange(
    request: &[u8],
    _: u16,
    rx: &mut [u8],
    mem: &mut Mem,
    base: &Environ<'_>,
) -> Option<Vec<u8, 1024>> {
    Some(serve(Loopback::<1024>::new(request, PIECE), rx, mem, base).output)
}

#[cfg(feature = "tcp")]
const TRANSPORT: &str = "smoltcp TCP, client and server on 127.0.0.1";

/// One client connection sending `request` over TCP; everything the client received.
#[cfg(feature = "tcp")]
fn exchange(
    request: &[u8],
    index: u16,
    rx: &mut [u8],
    mem: &mut Mem,
    base: &Environ<'_>,
) -> Option<Vec<u8, 1024>> {
    use smoltcp::iface::SocketStorage;
    use wsgiref_embedded_qemu::tcp::{Buffers, TcpLoopback};
    let mut storage = [SocketStorage::EMPTY; 2];
    let mut buffers = Buffers::new();
    let transport = TcpLoopback::<1024>::new(&mut storage, &mut buffers, request, 49152 + index)?;
    serve(transport, rx, mem, base).finish()
}

/// Reporting: text over semihosting, or defmt frames.
#[cfg(not(feature = "defmt"))]
mod report {
    use wsgiref_embedded_qemu::out;

    pub fn transport(name: &str) {
        out::bytes(b"transport: ");
        out::bytes(name.as_bytes());
        out::bytes(b"\n");
    }

    pub fn case(name: &str, response: &[u8], ok: bool) {
        out::bytes(b"--- ");
        out::bytes(name.as_bytes());
        out::bytes(b"\n");
        out::bytes(response);
        out::bytes(if ok { b"\n[ok]\n" } else { b"\n[MISMATCH]\n" });
    }

    pub fn done(failures: u32, stack: u32) -> ! {
        out::figure(b"stack_high_water=", stack);
        out::figure(b"failures=", failures);
        out::exit(failures == 0)
    }
}

#[cfg(feature = "defmt")]
mod report {
    pub fn transport(name: &str) {
        defmt::println!("transport: {=str}", name);
    }
    pub fn case(name: &str, response: &[u8], ok: bool) {
        defmt::println!("--- {=str}", name);
        defmt::println!("{=[u8]:a}", response);
        defmt::println!("{=str}", if ok { "[ok]" } else { "[MISMATCH]" });
    }

    pub fn done(failures: u32, stack: u32) -> ! {
        defmt::println!("stack_high_water={=u32}", stack);
        defmt::println!("failures={=u32}", failures);
        wsgiref_embedded_qemu::out::exit(failures == 0)
    }
}
