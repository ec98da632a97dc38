//! The FFI functions driven from Rust the way the C program drives them.

use core::ffi::{c_int, c_void};
use std::vec::Vec;

use crate::call::*;
use crate::conn::*;

/// Memory for one connection, aligned.
fn block() -> Vec<u128> {
    assert!(wsgiref_conn_align() <= 16);
    std::vec![0u128; wsgiref_conn_size().div_ceil(16)]
}

unsafe extern "C" fn hello(ctx: *mut c_void, call: *mut WsgirefCall) -> c_int {
    unsafe {
        *ctx.cast::<u32>() += 1;
        let mut len = 0;
        let path = wsgiref_call_environ(call, c"PATH_INFO".as_ptr(), &mut len);
        let path = core::slice::from_raw_parts(path, len);
        match path {
            b"/hop" => {
                let h = [WsgirefHeader {
                    name: c"Connection".as_ptr(),
                    value: c"close".as_ptr(),
                }];
                wsgiref_call_start(call, c"200 OK".as_ptr(), h.as_ptr(), 1);
                0
            }
            b"/big" => {
                wsgiref_call_start(call, c"200 OK".as_ptr(), core::ptr::null(), 0);
                let chunk = [b'x'; 700];
                wsgiref_call_write(call, chunk.as_ptr(), chunk.len());
                wsgiref_call_write(call, chunk.as_ptr(), chunk.len())
            }
            _ => {
                let mut body = [0u8; 16];
                let n = wsgiref_call_read(call, body.as_mut_ptr(), body.len());
                wsgiref_call_start(call, c"200 OK".as_ptr(), core::ptr::null(), 0);
                wsgiref_call_write(call, b"hi ".as_ptr(), 3);
                wsgiref_call_write(call, body.as_ptr(), n as usize)
            }
        }
    }
}

/// Feed `request`, process until the connection needs input or ends; the output and codes.
fn run(request: &[u8]) -> (Vec<u8>, Vec<c_int>, u32) {
    let mut mem = block();
    let mut calls = 0u32;
    let mut out = Vec::new();
    let mut codes = Vec::new();
    unsafe {
        let conn = wsgiref_conn_init(
            mem.as_mut_ptr().cast(),
            mem.len() * 16,
            Some(hello),
            (&mut calls as *mut u32).cast(),
        );
        assert!(!conn.is_null());
        assert_eq!(
            wsgiref_conn_feed(conn, request.as_ptr(), request.len()),
            request.len()
        );
        wsgiref_conn_eof(conn);
        for _ in 0..10 {
            let code = wsgiref_conn_process(conn);
            codes.push(code);
            let mut buf = [0u8; 64];
            loop {
                let n = wsgiref_conn_take_output(conn, buf.as_mut_ptr(), buf.len());
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
            }
            if code != WSGIREF_ANSWERED {
                break;
            }
        }
    }
    (out, codes, calls)
}

#[test]
fn serves_and_pipelines() {
    let (out, codes, calls) =
        run(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: a\r\n\r\n");
    let text = std::string::String::from_utf8(out).unwrap();
    assert_eq!(calls, 2);
    assert_eq!(text.matches("HTTP/1.1 200 OK\r\n").count(), 2, "{text}");
    assert!(text.contains("Content-Length: 6\r\n\r\nhi abc"), "{text}");
    assert_eq!(codes, [WSGIREF_ANSWERED, WSGIREF_ANSWERED, WSGIREF_CLOSED]);
}

#[test]
fn refused_start_response_and_oversized_body_give_the_error_page() {
    for path in ["/hop", "/big"] {
        let request = std::format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\n");
        let (out, _, calls) = run(request.as_bytes());
        assert_eq!(calls, 1);
        assert!(
            out.starts_with(b"HTTP/1.1 500 Internal Server Error\r\n"),
            "{path}"
        );
    }
}

#[test]
fn malformed_request_is_rejected_without_calling_the_application() {
    let (out, codes, calls) = run(b"GET / HTTP/1.1\r\nbad header\r\n\r\n");
    assert_eq!(calls, 0);
    assert!(out.starts_with(b"HTTP/1.1 400 Bad Request\r\n"));
    assert_eq!(codes, [WSGIREF_REJECTED]);
}

#[test]
fn output_must_be_taken_before_the_next_request() {
    let mut mem = block();
    let mut calls = 0u32;
    unsafe {
        let conn = wsgiref_conn_init(
            mem.as_mut_ptr().cast(),
            mem.len() * 16,
            Some(hello),
            (&mut calls as *mut u32).cast(),
        );
        let req = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
        wsgiref_conn_feed(conn, req.as_ptr(), req.len());
        assert_eq!(wsgiref_conn_process(conn), WSGIREF_ANSWERED);
        assert_eq!(wsgiref_conn_process(conn), WSGIREF_OUTPUT_PENDING);
        let mut buf = [0u8; 4096];
        assert!(wsgiref_conn_take_output(conn, buf.as_mut_ptr(), buf.len()) > 0);
        assert_eq!(wsgiref_conn_process(conn), WSGIREF_ANSWERED);
    }
    assert_eq!(calls, 2);
}

#[test]
fn bad_arguments_are_refused() {
    let mut mem = block();
    unsafe {
        let small = wsgiref_conn_init(
            mem.as_mut_ptr().cast(),
            16,
            Some(hello),
            core::ptr::null_mut(),
        );
        assert!(small.is_null());
        let misaligned = wsgiref_conn_init(
            mem.as_mut_ptr().cast::<u8>().add(1).cast(),
            mem.len() * 16 - 1,
            Some(hello),
            core::ptr::null_mut(),
        );
        assert!(misaligned.is_null());
        assert!(wsgiref_conn_init(
            core::ptr::null_mut(),
            1 << 20,
            Some(hello),
            core::ptr::null_mut()
        )
        .is_null());
        assert_eq!(wsgiref_conn_process(core::ptr::null_mut()), WSGIREF_INVALID);
        assert_eq!(
            wsgiref_conn_feed(core::ptr::null_mut(), b"x".as_ptr(), 1),
            0
        );
        let conn = wsgiref_conn_init(
            mem.as_mut_ptr().cast(),
            mem.len() * 16,
            None,
            core::ptr::null_mut(),
        );
        assert_eq!(
            wsgiref_conn_set_base(conn, c"SERVER_NAME".as_ptr(), core::ptr::null()),
            -1
        );
        assert_eq!(
            wsgiref_conn_set_base(conn, c"SERVER_NAME".as_ptr(), c"x".as_ptr()),
            0
        );
    }
}
