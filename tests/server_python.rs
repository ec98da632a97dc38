//! Python's `http.client` against a real server on 127.0.0.1 (tests/clients/http_client_check.py).

mod server_common;

use std::process::Command;

use server_common::{short_options, start};

#[test]
fn python_http_client() {
    let running = start(short_options());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/http_client_check.py"
    );
    let out = Command::new("timeout")
        .args(["30", "python3", script, &running.addr.port().to_string()])
        .output()
        .expect("python3 is required for this test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "http.client check failed:\n{stdout}\n{stderr}"
    );
    assert_eq!(stdout.trim(), "ok");
    running.stop().unwrap();
}
