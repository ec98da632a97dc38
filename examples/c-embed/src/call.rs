//! One application call as C sees it: the environ to read, the request body, and the
//! response (status, headers, body bytes) to build. A `WsgirefCall` exists only while the
//! C callback runs.

use core::ffi::{c_char, c_int, c_void};

use heapless::Vec;
use wsgiref_core::app::{Once, StartResponse};
use wsgiref_core::{AppError, Application, Environ};

use crate::{bytes, text};

/// The largest response body a C application may write; more fails the call (the client gets
/// the 500 error page).
pub const BODY_MAX: usize = 1024;
/// The most response headers one `wsgiref_call_start` takes.
pub const HEADERS_MAX: usize = 16;

/// A response header for [`wsgiref_call_start`]: two NUL-terminated UTF-8 strings.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct WsgirefHeader {
    /// Header name.
    pub name: *const c_char,
    /// Header value.
    pub value: *const c_char,
}

/// The application: called once per request with the caller's `ctx`. Return 0 on success;
/// anything else is an application error (the client gets the 500 error page).
pub type WsgirefApp =
    Option<unsafe extern "C" fn(ctx: *mut c_void, call: *mut WsgirefCall) -> c_int>;

/// The state of one application call (opaque to C).
pub struct WsgirefCall {
    environ: *mut Environ<'static>,
    start: *mut StartResponse<'static>,
    body: Vec<u8, BODY_MAX>,
    /// The first error a `wsgiref_call_*` function met; it fails the call.
    error: Option<AppError>,
}

/// The C callback and its context, as a core [`Application`].
pub(crate) struct CApp {
    pub(crate) app: WsgirefApp,
    pub(crate) ctx: *mut c_void,
}

impl Application for CApp {
    type Body = Once<Vec<u8, BODY_MAX>>;

    fn call(
        &self,
        environ: &mut Environ<'_>,
        start_response: &mut StartResponse<'_>,
    ) -> Result<Self::Body, AppError> {
        let Some(app) = self.app else {
            return Err(AppError::msg(
                "no application was given to wsgiref_conn_init",
            ));
        };
        // The pointers are erased to 'static only to cross the C boundary; they are used only
        // while `app` runs, when both borrows are alive.
        let mut call = WsgirefCall {
            environ: (environ as *mut Environ<'_>).cast(),
            start: (start_response as *mut StartResponse<'_>).cast(),
            body: Vec::new(),
            error: None,
        };
        // SAFETY: `app` is the caller's callback (the header requires a valid function), and
        // `call` outlives the call.
        let status = unsafe { app(self.ctx, &mut call) };
        if let Some(error) = call.error {
            return Err(error);
        }
        if status != 0 {
            return Err(AppError::msg("the C application returned an error"));
        }
        Ok(Once::new(call.body))
    }
}

/// Look up an environ variable (for example `PATH_INFO`, `HTTP_HOST`). Returns a pointer to its
/// bytes (not NUL-terminated) and stores their count in `*len`, or returns NULL when it is
/// not set. The bytes stay valid until the callback returns.
///
/// # Safety
/// `call` is the pointer passed to the callback; `key` a NUL-terminated string; `len` null
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn wsgiref_call_environ(
    call: *const WsgirefCall,
    key: *const c_char,
    len: *mut usize,
) -> *const u8 {
    // SAFETY: per the contract, `call` is live for the callback and `key` a C string.
    let (Some(call), Some(key)) = (unsafe { call.as_ref() }, unsafe { text(key) }) else {
        return core::ptr::null();
    };
    // SAFETY: `environ` points at the environ borrowed for this call (see `CApp::call`).
    let environ = unsafe { &*call.environ };
    match environ.get(key) {
        Some(value) => {
            if !len.is_null() {
                // SAFETY: `len` is non-null and writable per the contract.
                unsafe { *len = value.len() };
            }
            value.as_ptr()
        }
        None => core::ptr::null(),
    }
}

/// Read up to `cap` bytes of the request body into `buf`. Returns the count (0 at the end of
/// the body), or -1 when the body could not be read (the call then fails).
///
/// # Safety
/// `call` is the pointer passed to the callback; `buf` points to `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn wsgiref_call_read(
    call: *mut WsgirefCall,
    buf: *mut u8,
    cap: usize,
) -> isize {
    // SAFETY: per the contract, `call` is live for the callback.
    let Some(call) = (unsafe { call.as_mut() }) else {
        return -1;
    };
    if buf.is_null() && cap > 0 {
        return -1;
    }
    let out: &mut [u8] = if cap == 0 {
        &mut []
    } else {
        // SAFETY: `buf` is non-null with `cap` writable bytes per the contract.
        unsafe { core::slice::from_raw_parts_mut(buf, cap) }
    };
    // SAFETY: `environ` points at the environ borrowed for this call.
    let environ = unsafe { &*call.environ };
    match environ.input().read(out) {
        Ok(n) => n as isize,
        Err(e) => {
            call.error.get_or_insert(AppError::from(e));
            -1
        }
    }
}

/// Start the response: `status` like `"200 OK"`, then `count` headers. The core applies
/// start_response's rules (a valid status, no hop-by-hop headers, called once). Returns 0, or
/// -1 when refused (the call then fails with that error).
///
/// # Safety
/// `call` is the pointer passed to the callback; `status` and every header string are
/// NUL-terminated; `headers` points to `count` headers (or is NULL with `count` 0).
#[no_mangle]
pub unsafe extern "C" fn wsgiref_call_start(
    call: *mut WsgirefCall,
    status: *const c_char,
    headers: *const WsgirefHeader,
    count: usize,
) -> c_int {
    // SAFETY: per the contract, `call` is live for the callback.
    let Some(call) = (unsafe { call.as_mut() }) else {
        return -1;
    };
    let result = (|| {
        // SAFETY: `status` is a C string per the contract.
        let status = unsafe { text(status) }.ok_or(AppError::msg("status is NULL or not UTF-8"))?;
        if count > HEADERS_MAX {
            return Err(AppError::msg("more headers than wsgiref_call_start takes"));
        }
        let raw: &[WsgirefHeader] = if count == 0 {
            &[]
        } else if headers.is_null() {
            return Err(AppError::msg("headers is NULL with a non-zero count"));
        } else {
            // SAFETY: `headers` points to `count` headers per the contract.
            unsafe { core::slice::from_raw_parts(headers, count) }
        };
        let mut list: Vec<(&str, &str), HEADERS_MAX> = Vec::new();
        for h in raw {
            // SAFETY: header strings are C strings per the contract.
            let (name, value) = unsafe { (text(h.name), text(h.value)) };
            let (Some(name), Some(value)) = (name, value) else {
                return Err(AppError::msg("a header name or value is NULL or not UTF-8"));
            };
            // Cannot fail: `count <= HEADERS_MAX` was checked.
            let _ = list.push((name, value));
        }
        // SAFETY: `start` points at the StartResponse borrowed for this call.
        let start = unsafe { &mut *call.start };
        start.start(status, &list)?;
        Ok(())
    })();
    match result {
        Ok(()) => 0,
        Err(e) => {
            call.error.get_or_insert(e);
            -1
        }
    }
}

/// Append `len` bytes to the response body (at most 1024 bytes in all; the response gets a
/// Content-Length). Returns 0, or -1 when they do not fit (the call then fails).
///
/// # Safety
/// `call` is the pointer passed to the callback; `data` points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn wsgiref_call_write(
    call: *mut WsgirefCall,
    data: *const u8,
    len: usize,
) -> c_int {
    // SAFETY: per the contract, `call` is live for the callback and `data` readable.
    let (Some(call), Some(data)) = (unsafe { call.as_mut() }, unsafe { bytes(data, len) }) else {
        return -1;
    };
    if call.body.extend_from_slice(data).is_err() {
        call.error
            .get_or_insert(AppError::msg("response body larger than 1024 bytes"));
        return -1;
    }
    0
}
