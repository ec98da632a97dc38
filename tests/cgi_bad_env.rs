//! The CGI example (`examples/cgi.rs`) run as a server would run it, with broken or hostile
//! environments: every run must end on its own with a complete CGI response on stdout (a
//! `Status:` line, headers, a blank line), exit 0, and never panic.

#[path = "cgi/support.rs"]
mod support;

use std::path::PathBuf;
use std::sync::OnceLock;

use support::{example, run_cgi, show, Run};

fn program() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| example("cgi"))
}

/// Run the example with exactly `vars` and `stdin`, check the response is whole, and return
/// the status code, the body and the run.
fn request(vars: &[(&str, &[u8])], stdin: &[u8]) -> (u16, Vec<u8>, Run) {
    let env: Vec<(String, Vec<u8>)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_vec()))
        .collect();
    let run = run_cgi(program().as_os_str(), &[], &env, stdin);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        !stderr.contains("panicked"),
        "panic with {vars:?}: {stderr}"
    );
    assert_eq!(
        run.code,
        Some(0),
        "exit status with {vars:?}; stderr: {stderr}"
    );
    let out = &run.stdout;
    assert!(
        out.starts_with(b"Status: "),
        "no Status line with {vars:?}: {}",
        show(out)
    );
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of head with {vars:?}: {}", show(out)));
    let code = std::str::from_utf8(&out[8..11])
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad status with {vars:?}: {}", show(out)));
    let body = out[split + 4..].to_vec();
    (code, body, run)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn an_empty_environment_gets_the_index() {
    let (code, body, _) = request(&[], b"");
    assert_eq!(code, 200);
    assert!(contains(&body, b"/info/"), "{}", show(&body));
}

#[test]
fn a_long_path_info_is_routed_not_a_500() {
    // Issue 24: a PATH_INFO over 1 KiB ran `shift_path_info` out of its scratch buffer (500).
    for len in [1100, 4000, 16 * 1024, 100_000] {
        let long = [&b"/info/"[..], &vec![b'a'; len]].concat();
        let (code, body, _) = request(&[("PATH_INFO", &long), ("SCRIPT_NAME", b"/cgi")], b"");
        assert_eq!(code, 200, "{len}: {}", show(&body));
        let missing = [&b"/"[..], &vec![b'b'; len]].concat();
        let (code, _, _) = request(&[("PATH_INFO", &missing)], b"");
        assert_eq!(code, 404, "{len}");
    }
}

#[test]
fn no_request_method_is_not_a_post() {
    let (code, body, _) = request(&[("PATH_INFO", b"/form"), ("CONTENT_LENGTH", b"3")], b"a=1");
    assert_eq!(code, 200);
    assert!(contains(&body, b"<form"), "{}", show(&body));
    let (code, body, _) = request(&[("PATH_INFO", b"/info")], b"");
    assert_eq!(code, 200);
    assert!(
        contains(&body, b"REQUEST_METHOD: (absent)\n"),
        "{}",
        show(&body)
    );
}

fn post(length: &[u8], stdin: &[u8]) -> (u16, Vec<u8>) {
    let (code, body, _) = request(
        &[
            ("REQUEST_METHOD", b"POST"),
            ("PATH_INFO", b"/form"),
            ("CONTENT_TYPE", b"application/x-www-form-urlencoded"),
            ("CONTENT_LENGTH", length),
        ],
        stdin,
    );
    (code, body)
}

#[test]
fn a_valid_post_is_echoed() {
    let (code, body) = post(b"18", b"a=1&b=caf%C3%A9+ok");
    assert_eq!(code, 200);
    assert_eq!(body, "POST, 18 bytes\na = 1\nb = café ok\n".as_bytes());
}

#[test]
fn a_non_numeric_or_negative_content_length_is_a_400() {
    for bad in [
        &b"abc"[..],
        b"-5",
        b" 5",
        b"5 ",
        b"+5",
        b"0x10",
        b"99999999999999999999999",
        b"\xff",
    ] {
        let (code, body) = post(bad, b"a=1&b=2");
        assert_eq!(code, 400, "CONTENT_LENGTH {}", show(bad));
        assert_eq!(
            body,
            b"Bad Request: CONTENT_LENGTH is not a decimal number\n"
        );
    }
}

#[test]
fn a_content_length_beyond_stdin_is_a_400_not_a_hang() {
    let (code, body) = post(b"1000", b"a=1");
    assert_eq!(code, 400);
    assert_eq!(body, b"Bad Request: the body ended after 3 of 1000 bytes\n");
    let (code, body) = post(b"5", b"");
    assert_eq!(code, 400);
    assert_eq!(body, b"Bad Request: the body ended after 0 of 5 bytes\n");
}

#[test]
fn a_huge_content_length_is_refused_without_reading() {
    let (code, body) = post(b"1000000000000", b"");
    assert_eq!(code, 413);
    assert!(
        contains(&body, b"limited to 65536 bytes"),
        "{}",
        show(&body)
    );
}

#[test]
fn an_empty_content_length_means_no_body() {
    let (code, body) = post(b"", b"ignored=1");
    assert_eq!(code, 200);
    assert_eq!(body, b"POST, 0 bytes\n");
}

#[test]
fn non_utf8_path_and_query_bytes_are_shown_escaped() {
    let (code, body, _) = request(
        &[
            ("REQUEST_METHOD", b"GET"),
            ("SCRIPT_NAME", b"/cgi-bin/app"),
            ("PATH_INFO", b"/info/caf\xe9/\xff\xfe\x01"),
            ("QUERY_STRING", b"q=\x80&r=\\"),
        ],
        b"",
    );
    assert_eq!(code, 200);
    assert!(
        contains(&body, b"SCRIPT_NAME: /cgi-bin/app/info\n"),
        "{}",
        show(&body)
    );
    assert!(
        contains(&body, b"PATH_INFO: /caf\\xe9/\\xff\\xfe\\x01\n"),
        "{}",
        show(&body)
    );
    assert!(
        contains(&body, b"QUERY_STRING: q=\\x80&r=\\\\\n"),
        "{}",
        show(&body)
    );
}

#[test]
fn a_non_utf8_route_is_a_404() {
    let (code, body, _) = request(
        &[("REQUEST_METHOD", b"GET"), ("PATH_INFO", b"/\xff/x")],
        b"",
    );
    assert_eq!(code, 404);
    assert_eq!(body, b"Not Found: /\\xff/x\n");
}

#[test]
fn malformed_paths_get_the_error_page() {
    // No leading slash (shift_path_info refuses it). (A long path is routed since issue 24:
    // `a_long_path_info_is_routed_not_a_500`.)
    let path = b"info";
    let (code, body, run) = request(&[("REQUEST_METHOD", b"GET"), ("PATH_INFO", path)], b"");
    assert_eq!(code, 500, "PATH_INFO of {} bytes", path.len());
    assert_eq!(
        body,
        b"A server error occurred.  Please contact the administrator."
    );
    assert!(!run.stderr.is_empty(), "the error is logged");
}

#[test]
fn the_failing_route_logs_and_answers_500() {
    let (code, body, run) = request(&[("REQUEST_METHOD", b"GET"), ("PATH_INFO", b"/fail")], b"");
    assert_eq!(code, 500);
    assert_eq!(
        body,
        b"A server error occurred.  Please contact the administrator."
    );
    assert_eq!(
        &run.stdout[..run.stdout.len() - body.len()],
        b"Status: 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 59\r\n\r\n"
    );
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("the /fail route fails on purpose"),
        "{}",
        show(&run.stderr)
    );
}

#[test]
fn an_unknown_method_and_odd_variables_are_harmless() {
    let (code, _, _) = request(
        &[
            ("REQUEST_METHOD", b"\xff\x01BREW"),
            ("PATH_INFO", b"/info"),
            ("HTTPS", b"\xff"),
            ("SERVER_PROTOCOL", b"HTTP/9.9"),
            ("HTTP_HOST", b""),
            ("CONTENT_LENGTH", b"-1"),
        ],
        b"",
    );
    assert_eq!(code, 200);
}
