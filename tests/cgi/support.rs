//! Shared by the CGI integration tests: find (or build) an example binary, and run a program
//! as a web server runs a CGI program (a chosen environment only, a body on stdin) with a
//! hang detector.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A run that hangs longer than this is killed and the test fails: a CGI program must always
/// finish on its own, and no correct run here takes more than a second.
pub const HANG_LIMIT: Duration = Duration::from_secs(60);

/// What a CGI run produced.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// The path of example `name`, built for the profile this test was built with. It is always
/// (re)built through cargo, which is quick when it is up to date: `cargo test --test X` does
/// not rebuild examples, and a stale binary would test old code.
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/<test> -> target/<profile>
    let profile_dir = exe
        .parent()
        .and_then(|p| p.parent())
        .expect("test binary inside target/<profile>/deps")
        .to_path_buf();
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args(["build", "--quiet", "--example", name])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if let Some(target_dir) = profile_dir.parent() {
        cargo.env("CARGO_TARGET_DIR", target_dir);
    }
    if profile_dir.file_name() == Some(OsStr::new("release")) {
        cargo.arg("--release");
    }
    let status = cargo.status().expect("run cargo to build the example");
    assert!(status.success(), "cargo build --example {name} failed");
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "example binary {} missing", path.display());
    path
}

/// Run `program args` with exactly `env` as its environment and `stdin` as its input; kill it
/// and fail the test if it runs longer than [`HANG_LIMIT`].
pub fn run_cgi(program: &OsStr, args: &[&OsStr], env: &[(String, Vec<u8>)], stdin: &[u8]) -> Run {
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, OsStr::from_bytes(value));
    }
    let mut child = command.spawn().expect("spawn the CGI program");
    let mut input = child.stdin.take().expect("stdin");
    let body = stdin.to_vec();
    // A writer thread: a program that stops reading must not block the test. Closing stdin
    // afterwards is what a server does when the body is complete.
    let writer = thread::spawn(move || {
        let _ = input.write_all(&body);
    });
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait().expect("wait for the CGI program") {
            Some(status) => break status,
            None if started.elapsed() > HANG_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{program:?} {args:?} hung for {HANG_LIMIT:?} with env {env:?}; killed");
            }
            None => thread::sleep(Duration::from_millis(5)),
        }
    };
    let _ = writer.join();
    Run {
        code: status.code(),
        stdout: out_reader.join().expect("stdout reader"),
        stderr: err_reader.join().expect("stderr reader"),
    }
}

/// Bytes for failure messages: ASCII as is, everything else escaped.
pub fn show(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}
