//! Worker placement (`ServerOptions::pin_threads`, `steer_connections`), observed from
//! outside: through Linux's `/proc/self/task/*/status`, pinned workers each run on one CPU of
//! their own, unpinned ones on all the CPUs they inherited, and a blocking helper started by
//! a pinned worker gets the whole set back; a client on a given CPU is answered by the worker
//! pinned to that CPU.
//!
//! Its own test binary, and its tests one at a time (`SERIAL`): they identify the server's
//! threads by name, so no other server may run in this process meanwhile.
#![cfg(target_os = "linux")]

mod server_common;

use std::io::Read;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rustix::thread::{sched_getaffinity, sched_getcpu, sched_setaffinity, CpuSet};
use server_common::{connect, read_to_close, send, short_options, start, start_app, IO_LIMIT};
use wsgiref::{AppError, Environ, StartResponse};
use wsgiref_core::app::Once;

/// Held by each test for its whole run.
static SERIAL: Mutex<()> = Mutex::new(());

/// The CPUs the calling thread may run on.
fn own_cpus() -> Vec<usize> {
    let set = sched_getaffinity(None).unwrap();
    (0..CpuSet::MAX_CPU).filter(|&c| set.is_set(c)).collect()
}

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

/// Wait (bounded) until the server's `workers` workers have each been pinned to one CPU;
/// their state then (or at the time limit).
fn wait_for_pinned_workers(workers: usize) -> Vec<(String, Vec<usize>)> {
    wait_for_threads("wsgiref-worker", |t| {
        t.len() == workers && t.iter().all(|(_, cpus)| cpus.len() == 1)
    })
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
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let ours = own_cpus();
    let workers = ours.len().min(2);

    // Pinned (the default): worker n on our n-th CPU.
    let mut options = short_options();
    options.threads = workers;
    assert!(options.pin_threads, "pinning is the default");
    let running = start(options);
    let threads = wait_for_pinned_workers(workers);
    // Thread names are cut to 15 bytes (`wsgiref-worker-`), so workers are told apart by their
    // CPUs only: one each, together our first `workers` CPUs.
    let mut pinned: Vec<Vec<usize>> = threads.into_iter().map(|(_, cpus)| cpus).collect();
    pinned.sort();
    let expected: Vec<Vec<usize>> = ours[..workers].iter().map(|&c| vec![c]).collect();
    assert_eq!(pinned, expected, "our CPUs: {ours:?}");

    // A request served in blocking mode (the client waits for 100 Continue before sending a
    // body): its worker thread waits for the body, and the loop goes on on a spare thread,
    // which runs on all of our CPUs, not on the stuck worker's one.
    let mut client = connect(running.addr);
    send(
        &mut client,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\
          Connection: close\r\n\r\n",
    );
    let mut interim = [0u8; 25];
    client.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    let spares = wait_for_threads("wsgiref-worker", |t| {
        t.iter().any(|(name, _)| name == "wsgiref-worker")
    });
    let spares: Vec<_> = spares
        .into_iter()
        .filter(|(name, _)| name == "wsgiref-worker")
        .collect();
    assert_eq!(spares.len(), 1, "{spares:?}");
    assert_eq!(spares[0].1, ours, "the spare's CPUs");
    send(&mut client, b"hello");
    let reply = read_to_close(&mut client);
    assert!(reply.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(reply.ends_with(b"\r\n\r\nhello"));
    running.stop().unwrap();
    // The stopped server's threads are gone before the next one starts.
    assert!(wait_for_threads("wsgiref-worker", <[_]>::is_empty).is_empty());

    // Unpinned: every worker keeps all of our CPUs.
    let mut options = short_options();
    options.threads = workers;
    options.pin_threads = false;
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

/// Answers the CPU it runs on: the CPU of the worker that serves the request.
fn cpu_app(
    _environ: &mut Environ<'_>,
    start_response: &mut StartResponse<'_>,
) -> Result<Once<Vec<u8>>, AppError> {
    start_response.start("200 OK", &[("Content-Type", "text/plain")])?;
    Ok(Once::new(format!("cpu={}", sched_getcpu()).into_bytes()))
}

#[test]
fn a_client_is_served_on_the_cpu_that_receives_its_connection() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let ours = own_cpus();
    let workers = ours.len().min(2);
    let mut options = short_options();
    options.threads = workers;
    assert!(options.steer_connections, "steering is the default");
    let running = start_app(
        cpu_app as fn(&mut Environ<'_>, &mut StartResponse<'_>) -> _,
        options,
    );
    let addr = running.addr;
    wait_for_pinned_workers(workers);
    // A client thread pinned to each worker's CPU: on loopback the handshake is processed on
    // the connecting thread's CPU, so its connection must land on that CPU's worker. Several
    // connections each, so that a hash that happened to agree would be caught.
    for &cpu in &ours[..workers] {
        let answers = std::thread::spawn(move || {
            let mut one = CpuSet::new();
            one.set(cpu);
            sched_setaffinity(None, &one).unwrap();
            (0..4)
                .map(|_| {
                    let mut client = connect(addr);
                    send(
                        &mut client,
                        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                    );
                    let reply = read_to_close(&mut client);
                    let text = String::from_utf8_lossy(&reply).into_owned();
                    text.rsplit("\r\n\r\n")
                        .next()
                        .unwrap_or_default()
                        .to_string()
                })
                .collect::<Vec<_>>()
        })
        .join()
        .unwrap();
        assert_eq!(
            answers,
            vec![format!("cpu={cpu}"); 4],
            "client on CPU {cpu}"
        );
    }
    running.stop().unwrap();
}
