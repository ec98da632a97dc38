//! A CGI program, ready to deploy: build it (`cargo build --release --example cgi`), copy
//! `target/release/examples/cgi` into your server's CGI folder, and point lighttpd, Apache or
//! nginx + fcgiwrap at it (the config lines are in `docs/cgi.md`).
//!
//! Routes, dispatched with `shift_path_info_in` (so each handler sees the rest of the path):
//!
//! | path | what it does |
//! |---|---|
//! | `/` | lists the routes |
//! | `/info/...` | shows the request: `PATH_INFO`, `QUERY_STRING` (bytes that are not UTF-8 are escaped as `\xNN`), the `wsgi.*` flags |
//! | `/form` | `GET`: an HTML form; `POST`: echoes the urlencoded fields read from `wsgi.input` (exactly `CONTENT_LENGTH` bytes) |
//! | `/fail` | the application fails: the handler logs the error to stderr (the server's error log) and answers `Status: 500` with the standard error page |
//! | anything else | `404 Not Found` |
//!
//! Try it without a server:
//!
//! ```text
//! REQUEST_METHOD=GET PATH_INFO=/info/caf$'\xe9' QUERY_STRING='q=1' cargo run -q --example cgi
//! ```

use wsgiref::app::Once;
use wsgiref::handlers::CgiHandler;
use wsgiref::util::shift_path_info_in;
use wsgiref::{AppError, Environ, StartResponse};

/// The largest form body this program accepts.
const MAX_FORM: u64 = 64 * 1024;

const TEXT: (&str, &str) = ("Content-Type", "text/plain; charset=utf-8");

fn main() {
    // Everything, including failures, ends in a response on stdout; main just returns.
    CgiHandler::new().run(&app);
}

type Page = Once<Vec<u8>>;

fn app(
    environ: &mut Environ<'_>,
    start_response: &mut StartResponse<'_>,
) -> Result<Page, AppError> {
    let full_path = environ.get("PATH_INFO").unwrap_or(b"").to_vec();
    // `shift_path_info` works in a fixed 1 KiB stack buffer, too small for a long PATH_INFO
    // (a server passes several KiB): a scratch buffer sized to this request's paths instead,
    // as `shift_path_info_in` documents.
    let script_name = environ.get("SCRIPT_NAME").map_or(0, <[u8]>::len);
    let mut scratch = vec![0u8; script_name + 3 * full_path.len() + 2];
    let segment = shift_path_info_in(environ, &mut scratch)?;
    match segment {
        None | Some(b"") => index(start_response),
        Some(b"info") => info(environ, start_response),
        Some(b"form") => form(environ, start_response),
        Some(b"fail") => Err(AppError::msg("the /fail route fails on purpose")),
        Some(_) => {
            let mut body = b"Not Found: ".to_vec();
            escape_into(&full_path, &mut body);
            body.push(b'\n');
            start_response.start("404 Not Found", &[TEXT])?;
            Ok(Once::new(body))
        }
    }
}

fn index(start_response: &mut StartResponse<'_>) -> Result<Page, AppError> {
    start_response.start("200 OK", &[TEXT])?;
    Ok(Once::new(
        b"wsgiref CGI example\n\n\
          /info/...  the request as this program sees it\n\
          /form      a form; POST it to see the fields echoed\n\
          /fail      an application error (500)\n"
            .to_vec(),
    ))
}

fn info(environ: &Environ<'_>, start_response: &mut StartResponse<'_>) -> Result<Page, AppError> {
    let mut body = Vec::new();
    for key in [
        "REQUEST_METHOD",
        "SCRIPT_NAME",
        "PATH_INFO",
        "QUERY_STRING",
        "CONTENT_TYPE",
        "CONTENT_LENGTH",
        "SERVER_PROTOCOL",
        "SERVER_SOFTWARE",
        "GATEWAY_INTERFACE",
    ] {
        body.extend_from_slice(key.as_bytes());
        body.extend_from_slice(b": ");
        match environ.get(key) {
            Some(value) => escape_into(value, &mut body),
            None => body.extend_from_slice(b"(absent)"),
        }
        body.push(b'\n');
    }
    if let Some(w) = environ.wsgi {
        body.extend_from_slice(
            format!(
                "wsgi.url_scheme: {}\nwsgi.run_once: {}\nwsgi.multithread: {}\nwsgi.multiprocess: {}\n",
                w.url_scheme, w.run_once, w.multithread, w.multiprocess
            )
            .as_bytes(),
        );
    }
    start_response.start("200 OK", &[TEXT])?;
    Ok(Once::new(body))
}

fn form(environ: &Environ<'_>, start_response: &mut StartResponse<'_>) -> Result<Page, AppError> {
    let method = environ.get("REQUEST_METHOD").unwrap_or(b"");
    if method != b"POST" {
        start_response.start("200 OK", &[("Content-Type", "text/html; charset=utf-8")])?;
        return Ok(Once::new(
            b"<!doctype html><title>form</title>\n\
              <form method=\"post\"><input name=\"name\"> <input name=\"lang\">\
              <button>send</button></form>\n"
                .to_vec(),
        ));
    }
    // The body is exactly CONTENT_LENGTH bytes; a missing or empty one means no body (CGI).
    let declared = match environ.get("CONTENT_LENGTH").unwrap_or(b"") {
        b"" => 0,
        digits => match parse_decimal(digits) {
            Some(n) => n,
            None => return bad_request(start_response, "CONTENT_LENGTH is not a decimal number"),
        },
    };
    if declared > MAX_FORM {
        start_response.start("413 Content Too Large", &[TEXT])?;
        return Ok(Once::new(
            format!("form bodies are limited to {MAX_FORM} bytes\n").into_bytes(),
        ));
    }
    let body = environ.input().read_to_vec(MAX_FORM as usize)?;
    if (body.len() as u64) < declared {
        let why = format!("the body ended after {} of {declared} bytes", body.len());
        return bad_request(start_response, &why);
    }
    let mut out = format!("POST, {} bytes\n", body.len()).into_bytes();
    for field in body.split(|&b| b == b'&').filter(|f| !f.is_empty()) {
        let (name, value) = match field.iter().position(|&b| b == b'=') {
            Some(i) => (&field[..i], &field[i + 1..]),
            None => (field, &b""[..]),
        };
        escape_into(&form_decode(name), &mut out);
        out.extend_from_slice(b" = ");
        escape_into(&form_decode(value), &mut out);
        out.push(b'\n');
    }
    start_response.start("200 OK", &[TEXT])?;
    Ok(Once::new(out))
}

fn bad_request(start_response: &mut StartResponse<'_>, why: &str) -> Result<Page, AppError> {
    start_response.start("400 Bad Request", &[TEXT])?;
    Ok(Once::new(format!("Bad Request: {why}\n").into_bytes()))
}

/// Plain decimal digits (no sign, no spaces), as RFC 3875 defines CONTENT_LENGTH.
fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte.
fn form_decode(raw: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < raw.len() => match (hex(raw[i + 1]), hex(raw[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// Show bytes as text: UTF-8 stays readable, anything else (invalid UTF-8, control
/// characters) becomes `\xNN`, and a backslash is doubled so the output is unambiguous.
fn escape_into(bytes: &[u8], out: &mut Vec<u8>) {
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.extend_from_slice(b"\\\\"),
                c if c.is_control() => {
                    out.extend_from_slice(format!("\\x{:02x}", c as u32).as_bytes())
                }
                c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            }
        }
        for b in chunk.invalid() {
            out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
        }
    }
}
