//! The `serve` example's command line, run as a process: `python3 -m http.server`'s shape
//! (`[-b ADDRESS] [-d DIRECTORY] [port]`, `--help`), argparse's exit status 2 on bad
//! arguments, and the start-up line naming the URL to open.

mod serve_support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serve_support::{exchange, serve_binary, Reply, Server};

/// Run `serve ARGS` to completion (bounded); its exit code, stdout and stderr.
fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let mut child = Command::new(serve_binary())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("wait for serve").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("serve {args:?} did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("serve's output");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let dir =
            std::env::temp_dir().join(format!("wsgiref-serve-cli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("hello.txt"), tag).unwrap();
        Dir(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn help_explains_the_options_and_the_default_bind() {
    for flag in ["--help", "-h"] {
        let (code, stdout, stderr) = run(&[flag]);
        assert_eq!(code, Some(0), "{flag}: {stderr}");
        assert!(
            stdout.starts_with("usage: serve [-h] [-b ADDRESS] [-d DIRECTORY]"),
            "{stdout}"
        );
        for needle in [
            "--bind ADDRESS",
            "--directory DIRECTORY",
            "--no-dotfiles",
            "127.0.0.1",
            "this machine",
        ] {
            assert!(
                stdout.contains(needle),
                "{flag}: no {needle:?} in\n{stdout}"
            );
        }
    }
}

#[test]
fn bad_arguments_get_usage_and_status_2() {
    for args in [
        &["-p", "9000"][..],
        &["--port=9000"],
        &["abc"],
        &["70000"],
        &["1", "2"],
        &["-b"],
        &["-d"],
    ] {
        let (code, stdout, stderr) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {stdout}{stderr}");
        assert!(stderr.starts_with("usage: serve "), "{args:?}: {stderr}");
        assert!(stderr.contains("\nserve: error: "), "{args:?}: {stderr}");
    }
    // The old `serve DIR` form points to `-d`.
    let dir = Dir::new("old");
    let (code, _, stderr) = run(&[dir.0.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains(&format!("use -d {}", dir.0.display())),
        "{stderr}"
    );
}

#[test]
fn directory_option_and_start_up_line() {
    let dir = Dir::new("dflag");
    let mut command = Command::new(serve_binary());
    command.args(["-d", dir.0.to_str().unwrap(), "0"]);
    let (server, line) = Server::spawn(command);
    let port = server.port;
    assert_eq!(
        line.trim_end(),
        format!("Serving HTTP on 127.0.0.1 port {port} (http://127.0.0.1:{port}/) ...")
    );
    let reply = server.request("GET", b"/hello.txt", &[]);
    assert_eq!((reply.status, reply.text().as_str()), (200, "dflag"));
}

#[test]
fn no_directory_serves_the_current_one() {
    let dir = Dir::new("cwd");
    let mut command = Command::new(serve_binary());
    command.arg("0").current_dir(&dir.0);
    let (server, _) = Server::spawn(command);
    let reply = server.request("GET", b"/hello.txt", &[]);
    assert_eq!((reply.status, reply.text().as_str()), (200, "cwd"));
}

#[test]
fn bind_option_chooses_the_address() {
    let dir = Dir::new("bind");
    let mut command = Command::new(serve_binary());
    command.args([
        "-b",
        "127.0.0.2",
        "--directory",
        dir.0.to_str().unwrap(),
        "0",
    ]);
    let (server, line) = Server::spawn(command);
    let port = server.port;
    assert!(
        line.starts_with(&format!(
            "Serving HTTP on 127.0.0.2 port {port} (http://127.0.0.2:{port}/)"
        )),
        "{line}"
    );
    let there = SocketAddr::from(([127, 0, 0, 2], port));
    let reply = Reply::parse(&exchange(
        there,
        b"GET /hello.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    ));
    assert_eq!((reply.status, reply.text().as_str()), (200, "bind"));
    // Bound to 127.0.0.2 only: 127.0.0.1 on the same port is not this server.
    let elsewhere = SocketAddr::from(([127, 0, 0, 1], port));
    assert!(std::net::TcpStream::connect_timeout(&elsewhere, Duration::from_secs(5)).is_err());
}

#[test]
fn a_closed_stdout_is_not_a_crash() {
    // `serve --help | head -0`, deterministically: the pipe's reading end is gone before
    // serve writes, so the write fails with EPIPE.
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = Command::new(serve_binary())
        .arg("--help")
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("run serve --help");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn workers_serve_the_directory_and_stop_on_sigterm() {
    let dir = Dir::new("workers");
    let mut command = Command::new(serve_binary());
    command.arg("-d").arg(&dir.0).args(["--workers", "2", "0"]);
    let (server, _) = Server::spawn(command);
    for _ in 0..4 {
        let reply = server.request("GET", b"/hello.txt", &[]);
        assert_eq!(reply.status, 200, "{}", reply.head);
        assert_eq!(reply.body, b"workers");
    }
    let supervisor = server.pid();
    let (code, log) = server.terminate();
    assert_eq!(code, Some(0), "graceful stop; log:\n{log}");
    // The supervisor started two workers, and they stopped with it.
    assert!(
        log.contains(&format!("supervisor {supervisor}: starting 2 worker(s)")),
        "{log}"
    );
    assert_eq!(
        log.matches("): stopped (exit status: 0)").count(),
        2,
        "{log}"
    );
}
