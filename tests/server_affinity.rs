//! Worker placement (`ServerOptions::pin_workers`), observed from outside through Linux's
//! `/proc/self/task/*/status`: pinned workers each run on one CPU of their own, unpinned ones
//! on all the CPUs they inherited, and a blocking helper started by a pinned worker gets the
//! whole set back.
//!
//! One test in its own binary: it identifies the server's threads by name, so no other
//! server may run in this process meanwhile.
#![cfg(target_os = "linux")]

mod server_common;

use std::io::Read;
use std::time::{Duration, Instant};

use server_common::{connect, read_to_close, send, short_options, start, IO_LIMIT};

/// CPUs in a `Cpus_allowed_list` value such as `0-3,6`.
fn parse_cpu_list(list: &str) -> Vec<usize> {
    let mut cpus = Vec::new();
    for part in list.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => cpus.extend(a.parse::<usize>().unwrap()..=b.parse::<usize>().unwrap()),
            None => cpus.push(part.parse().unwrap()),
        }
    }
    cpus
}

/// `(thread name, allowed CPUs)` of every thread of this process whose name starts with
/// `prefix`.
fn threads_named(prefix: &str) -> Vec<(String, Vec<usize>)> {
    let mut found = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let Ok(name) = std::fs::read_to_string(task.path().join("comm")) else {
            continue; // the thread ended meanwhile
        };
        let name = name.trim().to_string();
        if !name.starts_with(prefix) {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
            continue;
        };
        let list = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .expect("Cpus_allowed_list in /proc status");
        found.push((name, parse_cpu_list(list)));
    }
    found.sort();
    found
}

/// Wait (bounded) until `check` accepts the threads named `prefix`; their final state.
fn wait_for_threads(
    prefix: &str,
    check: impl Fn(&[(String, Vec<usize>)]) -> bool,
) -> Vec<(String, Vec<usize>)> {
    let until = Instant::now() + IO_LIMIT;
    loop {
        let threads = threads_named(prefix);
        if check(&threads) || Instant::now() >= until {
            return threads;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn workers_are_pinned_one_per_cpu_unless_told_not_to() {
    let ours = parse_cpu_list(
        &std::fs::read_to_string("/proc/thread-self/status")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:").map(str::to_string))
            .unwrap(),
    );
    let workers = ours.len().min(2);

    // Pinned (the default): worker n on our n-th CPU.
    let mut options = short_options();
    options.workers = workers;
    assert!(options.pin_workers, "pinning is the default");
    let running = start(options);
    let threads = wait_for_threads("wsgiref-worker", |t| {
        t.len() == workers && t.iter().all(|(_, cpus)| cpus.len() == 1)
    });
    // Thread names are cut to 15 bytes (`wsgiref-worker-`), so workers are told apart by their
    // CPUs only: one each, together our first `workers` CPUs.
    let mut pinned: Vec<Vec<usize>> = threads.into_iter().map(|(_, cpus)| cpus).collect();
    pinned.sort();
    let expected: Vec<Vec<usize>> = ours[..workers].iter().map(|&c| vec![c]).collect();
    assert_eq!(pinned, expected, "our CPUs: {ours:?}");

    // A request the loop hands to a blocking helper (the client waits for 100 Continue before
    // sending a body): the helper runs on all of our CPUs, not on its worker's one.
    let mut client = connect(running.addr);
    send(
        &mut client,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\
          Connection: close\r\n\r\n",
    );
    let mut interim = [0u8; 25];
    client.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    let helpers = threads_named("wsgiref-block");
    assert_eq!(helpers.len(), 1, "{helpers:?}");
    assert_eq!(helpers[0].1, ours, "the helper's CPUs");
    send(&mut client, b"hello");
    let reply = read_to_close(&mut client);
    assert!(reply.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(reply.ends_with(b"\r\n\r\nhello"));
    running.stop().unwrap();
    // The stopped server's threads are gone before the next one starts.
    assert!(wait_for_threads("wsgiref-worker", <[_]>::is_empty).is_empty());

    // Unpinned: every worker keeps all of our CPUs.
    let mut options = short_options();
    options.workers = workers;
    options.pin_workers = false;
    let running = start(options);
    let threads = wait_for_threads("wsgiref-worker", |t| t.len() == workers);
    assert_eq!(threads.len(), workers);
    for (name, cpus) in &threads {
        assert_eq!(cpus, &ours, "{name}");
    }
    let mut client = connect(running.addr);
    send(
        &mut client,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(read_to_close(&mut client).ends_with(b"Hello, world!"));
    running.stop().unwrap();
}
