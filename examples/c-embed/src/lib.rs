//! **This example uses `wsgiref-core` directly**, not the `wsgiref` facade that applications
//! depend on: a `no_std` static library links the core alone. Everything it names is also reachable from `wsgiref` (with
//! `default-features = false` on bare metal).
//!
//! A C API over wsgiref-core's sans-IO [`Session`]: the C side owns the memory and the
//! socket; this library parses requests, builds each environ, calls the application (a C
//! callback) and frames its response. See `include/wsgiref.h` for the contract.
//!
//! `unsafe` is confined to this file's FFI functions: turning the caller's pointers into
//! references. Each block says which of the header's preconditions makes it sound; the core
//! itself stays `forbid(unsafe_code)`.
#![cfg_attr(not(test), no_std)]

mod call;
mod conn;

pub use call::{
    wsgiref_call_environ, wsgiref_call_read, wsgiref_call_start, wsgiref_call_write, WsgirefApp,
    WsgirefCall, WsgirefHeader,
};
pub use conn::{
    wsgiref_conn_align, wsgiref_conn_eof, wsgiref_conn_feed, wsgiref_conn_init,
    wsgiref_conn_process, wsgiref_conn_set_base, wsgiref_conn_size, wsgiref_conn_take_output,
    WsgirefConn,
};

/// A panic cannot cross into C (panic=abort), and nothing here should panic; if something
/// does, stop the process rather than continue with a broken connection.
#[cfg(not(test))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    extern "C" {
        fn abort() -> !;
    }
    // SAFETY: C's abort() takes no arguments and never returns; every C program links it.
    unsafe { abort() }
}

/// Bytes from a C pointer and length; a null pointer is accepted only with length 0.
///
/// # Safety
/// Unless null, `ptr` must point to `len` readable bytes valid for `'a`.
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Option<&'a [u8]> {
    if ptr.is_null() {
        return (len == 0).then_some(&[]);
    }
    // SAFETY: the caller guarantees `len` readable bytes at `ptr` for 'a.
    Some(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// A NUL-terminated C string as UTF-8 text; `None` for null or invalid UTF-8.
///
/// # Safety
/// Unless null, `ptr` must point to a NUL-terminated string valid for `'a`.
unsafe fn text<'a>(ptr: *const core::ffi::c_char) -> Option<&'a str> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: the caller guarantees a NUL-terminated string at `ptr` for 'a.
    let c = unsafe { core::ffi::CStr::from_ptr(ptr) };
    c.to_str().ok()
}

#[cfg(test)]
mod tests;
