//! A connection in caller-provided memory: the receive buffer, the handler memory, the base
//! environ, the output buffer and the [`Session`] that borrows them, all in one block.

use core::ffi::{c_char, c_int, c_void};
use core::mem::{align_of, size_of, MaybeUninit};
use core::ptr::addr_of_mut;

use embedded_io::{ErrorKind, ErrorType, Write};
use wsgiref_core::environ::EnvironBuf;
use wsgiref_core::handler::{MemoryBuf, ServerConfig, Session, Step};
use wsgiref_core::Environ;

use crate::call::{CApp, WsgirefApp};
use crate::{bytes, text};

/// Receive buffer: bounds one whole request (head and body).
const RX: usize = 4096;
/// Output buffer: bounds one whole response.
const OUT: usize = 4096;
/// Request headers parsed per head.
const HEADERS: usize = 32;

/// [`wsgiref_conn_process`]: no complete request is buffered; feed more bytes.
pub const WSGIREF_NEED_INPUT: c_int = 0;
/// A request was answered; take the output, then call process again.
pub const WSGIREF_ANSWERED: c_int = 1;
/// A malformed request was refused (the error response is in the output); the connection
/// is closed.
pub const WSGIREF_REJECTED: c_int = 2;
/// The connection is over; send the remaining output and close the socket.
pub const WSGIREF_CLOSED: c_int = 3;
/// Output from the previous request was not taken yet.
pub const WSGIREF_OUTPUT_PENDING: c_int = -1;
/// A null or uninitialised connection.
pub const WSGIREF_INVALID: c_int = -2;

/// The buffers the session borrows. They never move: they live in the caller's block.
struct Buffers {
    rx: [u8; RX],
    memory: MemoryBuf,
    base: EnvironBuf<512, 16>,
    out: [u8; OUT],
}

/// Where the session writes: the output buffer (a response larger than it fails with
/// OutOfMemory, which the handler treats as a broken transport and closes).
struct OutSink {
    buf: &'static mut [u8],
    len: usize,
}

impl ErrorType for OutSink {
    type Error = ErrorKind;
}

impl Write for OutSink {
    fn write(&mut self, data: &[u8]) -> Result<usize, ErrorKind> {
        let room = &mut self.buf[self.len..];
        if room.is_empty() && !data.is_empty() {
            return Err(ErrorKind::OutOfMemory);
        }
        let n = room.len().min(data.len());
        room[..n].copy_from_slice(&data[..n]);
        self.len += n;
        Ok(n)
    }

    fn flush(&mut self) -> Result<(), ErrorKind> {
        Ok(())
    }
}

/// The connection state (opaque to C).
pub struct WsgirefConn {
    session: Session<'static, HEADERS>,
    base: Environ<'static>,
    out: OutSink,
    /// Bytes of `out` already taken by the caller.
    taken: usize,
    app: CApp,
    /// Set by init, to catch a block that was never initialised or was corrupted.
    magic: u32,
}

const MAGIC: u32 = 0x7773_6769; // "wsgi"

/// The block laid out in the caller's memory.
struct Block {
    buffers: Buffers,
    conn: WsgirefConn,
}

/// Bytes of memory a connection needs.
#[no_mangle]
pub extern "C" fn wsgiref_conn_size() -> usize {
    size_of::<Block>()
}

/// Alignment the connection's memory needs.
#[no_mangle]
pub extern "C" fn wsgiref_conn_align() -> usize {
    align_of::<Block>()
}

/// Set up a connection in `memory` (`len` bytes, aligned to `wsgiref_conn_align()`), serving
/// with `app` (called with `ctx`). Returns the connection, or NULL when the memory is too
/// small or misaligned.
///
/// # Safety
/// `memory` must point to `len` writable bytes that stay valid, unmoved and otherwise unused
/// until the connection is no longer used; `app` must be a valid function (or NULL, which
/// answers every request with the error page).
#[no_mangle]
pub unsafe extern "C" fn wsgiref_conn_init(
    memory: *mut c_void,
    len: usize,
    app: WsgirefApp,
    ctx: *mut c_void,
) -> *mut WsgirefConn {
    let block = memory.cast::<MaybeUninit<Block>>();
    if memory.is_null() || len < size_of::<Block>() || !block.is_aligned() {
        return core::ptr::null_mut();
    }
    // SAFETY: `block` is non-null, aligned and has room for a Block (checked above), and the
    // caller hands the memory over (contract). The buffers are written in place, then borrowed
    // for 'static: they stay put until the caller stops using the connection, and nothing
    // else touches them afterwards (the connection only reaches them through these borrows).
    unsafe {
        let block = (*block).as_mut_ptr();
        let buffers = addr_of_mut!((*block).buffers);
        addr_of_mut!((*buffers).rx).write([0; RX]);
        addr_of_mut!((*buffers).memory).write(MemoryBuf::new());
        addr_of_mut!((*buffers).base).write(EnvironBuf::new());
        addr_of_mut!((*buffers).out).write([0; OUT]);
        let rx: &'static mut [u8; RX] = &mut *addr_of_mut!((*buffers).rx);
        let memory: &'static mut MemoryBuf = &mut *addr_of_mut!((*buffers).memory);
        let base: &'static mut EnvironBuf<512, 16> = &mut *addr_of_mut!((*buffers).base);
        let out: &'static mut [u8; OUT] = &mut *addr_of_mut!((*buffers).out);
        let conn = addr_of_mut!((*block).conn);
        conn.write(WsgirefConn {
            session: Session::new(rx, memory.memory(), ServerConfig::default()),
            base: base.environ(),
            out: OutSink { buf: out, len: 0 },
            taken: 0,
            app: CApp { app, ctx },
            magic: MAGIC,
        });
        conn
    }
}

/// The connection behind a C pointer, if it is one made by `wsgiref_conn_init`.
///
/// # Safety
/// `conn` is null or a pointer returned by `wsgiref_conn_init` whose memory is still valid.
unsafe fn get<'a>(conn: *mut WsgirefConn) -> Option<&'a mut WsgirefConn> {
    // SAFETY: per the contract, a non-null `conn` points at an initialised connection.
    let conn = unsafe { conn.as_mut() }?;
    (conn.magic == MAGIC).then_some(conn)
}

/// Set a server variable laid under every request's environ (SERVER_NAME, SERVER_PORT,
/// REMOTE_ADDR, SCRIPT_NAME...). Returns 0, or -1 when it does not fit (512 bytes, 16
/// variables) or an argument is invalid.
///
/// # Safety
/// `conn` comes from `wsgiref_conn_init`; `key` and `value` are NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn wsgiref_conn_set_base(
    conn: *mut WsgirefConn,
    key: *const c_char,
    value: *const c_char,
) -> c_int {
    // SAFETY: the arguments meet the contract above.
    let (Some(conn), Some(key), Some(value)) =
        (unsafe { get(conn) }, unsafe { text(key) }, unsafe {
            text(value)
        })
    else {
        return -1;
    };
    match conn.base.set(key, value) {
        Ok(()) => 0,
        Err(_) => -1,
    }
}

/// Copy received bytes in. Returns how many were accepted (fewer than `len` when the receive
/// buffer is full: process, then feed the rest).
///
/// # Safety
/// `conn` comes from `wsgiref_conn_init`; `data` points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn wsgiref_conn_feed(
    conn: *mut WsgirefConn,
    data: *const u8,
    len: usize,
) -> usize {
    // SAFETY: the arguments meet the contract above.
    match (unsafe { get(conn) }, unsafe { bytes(data, len) }) {
        (Some(conn), Some(data)) => conn.session.feed(data),
        _ => 0,
    }
}

/// The peer finished sending (end of stream).
///
/// # Safety
/// `conn` comes from `wsgiref_conn_init`.
#[no_mangle]
pub unsafe extern "C" fn wsgiref_conn_eof(conn: *mut WsgirefConn) {
    // SAFETY: the argument meets the contract above.
    if let Some(conn) = unsafe { get(conn) } {
        conn.session.receive_eof();
    }
}

/// Answer the next complete request buffered, if any. Returns one of the `WSGIREF_*` codes.
/// The response goes to the output buffer: take it with `wsgiref_conn_take_output` before
/// calling this again.
///
/// # Safety
/// `conn` comes from `wsgiref_conn_init`.
#[no_mangle]
pub unsafe extern "C" fn wsgiref_conn_process(conn: *mut WsgirefConn) -> c_int {
    // SAFETY: the argument meets the contract above.
    let Some(conn) = (unsafe { get(conn) }) else {
        return WSGIREF_INVALID;
    };
    if conn.taken < conn.out.len {
        return WSGIREF_OUTPUT_PENDING;
    }
    conn.out.len = 0;
    conn.taken = 0;
    match conn
        .session
        .process(&conn.app, &conn.base, None, &mut conn.out)
    {
        Step::NeedInput => WSGIREF_NEED_INPUT,
        Step::Answered(_) if conn.session.is_closed() => WSGIREF_CLOSED,
        Step::Answered(_) => WSGIREF_ANSWERED,
        Step::Rejected { .. } => WSGIREF_REJECTED,
        Step::Close => WSGIREF_CLOSED,
    }
}

/// Copy up to `cap` bytes of pending output into `buf`; returns how many. Call until it
/// returns 0.
///
/// # Safety
/// `conn` comes from `wsgiref_conn_init`; `buf` points to `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn wsgiref_conn_take_output(
    conn: *mut WsgirefConn,
    buf: *mut u8,
    cap: usize,
) -> usize {
    // SAFETY: the argument meets the contract above.
    let Some(conn) = (unsafe { get(conn) }) else {
        return 0;
    };
    if buf.is_null() {
        return 0;
    }
    let pending = &conn.out.buf[conn.taken..conn.out.len];
    let n = pending.len().min(cap);
    // SAFETY: `buf` is non-null with `cap >= n` writable bytes (contract); the source is our
    // own buffer, which cannot overlap the caller's.
    unsafe { core::ptr::copy_nonoverlapping(pending.as_ptr(), buf, n) };
    conn.taken += n;
    n
}
