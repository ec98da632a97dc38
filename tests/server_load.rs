//! The server under load: a blocking application, a slow reader and a streamed body each hold
//! only their own connection. Every test runs one event-loop worker, so anything that held
//! the worker would hold every other client too. The waits are bounded only so that a broken
//! server fails instead of hanging; what is asserted is who is answered, and in which order.

mod server_common;

use std::io::{Read, Write};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use server_common::{
    connect, read_response, read_to_close, send, short_options, start_app, IO_LIMIT,
};
use wsgiref::simple_server::ServerOptions;
use wsgiref::{AppError, Environ, StartResponse};
use wsgiref_core::app::{app_fn, Chunks, Once};

/// One worker, so that one stuck thread would be the whole server.
fn one_worker() -> ServerOptions {
    ServerOptions {
        threads: 1,
        ..short_options()
    }
}

/// How long an application waits for the test before it gives up (so a broken server ends
/// the test with a clear failure instead of a hang).
const APP_WAIT: Duration = Duration::from_secs(6);

/// A signal between the test and the application.
#[derive(Clone)]
struct Gate(Arc<Mutex<Receiver<()>>>);

impl Gate {
    fn new() -> (Sender<()>, Gate) {
        let (tx, rx) = channel();
        (tx, Gate(Arc::new(Mutex::new(rx))))
    }

    /// True when the test opened the gate, false when the wait ran out.
    fn wait(&self) -> bool {
        self.0.lock().unwrap().recv_timeout(APP_WAIT).is_ok()
    }
}

#[test]
fn a_blocking_application_does_not_hold_another_client() {
    let (open, gate) = Gate::new();
    let app = app_fn(
        move |environ: &mut Environ<'_>, start_response: &mut StartResponse<'_>| {
            let body: &'static [u8] = if environ.get_str("PATH_INFO") == Some("/block") {
                if gate.wait() {
                    b"released"
                } else {
                    b"gave up waiting"
                }
            } else {
                b"quick"
            };
            start_response.start("200 OK", &[("Content-Type", "text/plain")])?;
            Ok::<_, AppError>(Once::new(body))
        },
    );
    let running = start_app(app, one_worker());
    let mut blocked = connect(running.addr);
    send(&mut blocked, b"GET /block HTTP/1.1\r\nHost: x\r\n\r\n");
    // Give the blocking request time to reach the application first (not asserted on).
    std::thread::sleep(Duration::from_millis(100));
    let mut quick = connect(running.addr);
    send(&mut quick, b"GET /quick HTTP/1.1\r\nHost: x\r\n\r\n");
    let answer = read_response(&mut quick);
    assert!(answer.ends_with("quick"), "{answer:?}");
    // The quick client was answered while the other request was still in the application.
    open.send(()).unwrap();
    let answer = read_response(&mut blocked);
    assert!(answer.ends_with("released"), "{answer:?}");
    // The connection that blocked is served again afterwards, on the loop.
    send(&mut blocked, b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(read_response(&mut blocked).ends_with("quick"));
    running.stop().unwrap();
}

#[test]
fn each_streamed_block_is_sent_before_the_next_is_pulled() {
    let (confirm, gate) = Gate::new();
    let app = app_fn(
        move |_: &mut Environ<'_>, start_response: &mut StartResponse<'_>| {
            start_response.start("200 OK", &[("Content-Type", "text/plain")])?;
            let gate = gate.clone();
            let mut n = 0;
            let blocks = std::iter::from_fn(move || {
                n += 1;
                match n {
                    1 => Some(b"first;".to_vec()),
                    // The client must have the first block before the second is produced.
                    2 if gate.wait() => Some(b"second;".to_vec()),
                    2 => Some(b"never confirmed;".to_vec()),
                    _ => None,
                }
            });
            Ok::<_, AppError>(Chunks::new(blocks))
        },
    );
    let running = start_app(app, one_worker());
    let mut client = connect(running.addr);
    send(
        &mut client,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(6).any(|w| w == b"first;") {
        match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let _ = confirm.send(());
    got.extend(read_to_close(&mut client));
    let text = String::from_utf8_lossy(&got);
    assert!(text.contains("first;"), "{text}");
    assert!(text.contains("second;"), "{text}");
    running.stop().unwrap();
}

#[test]
fn each_legacy_write_is_sent_before_the_application_goes_on() {
    let (confirm, gate) = Gate::new();
    let app = app_fn(
        move |_: &mut Environ<'_>, start_response: &mut StartResponse<'_>| {
            start_response.start("200 OK", &[("Content-Type", "text/plain")])?;
            start_response.write(b"first;")?;
            let last: &'static [u8] = if gate.wait() {
                b"second;"
            } else {
                b"never confirmed;"
            };
            Ok::<_, AppError>(Once::new(last))
        },
    );
    let running = start_app(app, one_worker());
    let mut client = connect(running.addr);
    send(
        &mut client,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(6).any(|w| w == b"first;") {
        match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let _ = confirm.send(());
    got.extend(read_to_close(&mut client));
    let text = String::from_utf8_lossy(&got);
    assert!(text.contains("first;"), "{text}");
    assert!(text.contains("second;"), "{text}");
    running.stop().unwrap();
}

/// A client that pipelines thousands of requests and reads none of the answers holds only its
/// own connection: the pending answers stop at a bound, and another client is answered.
#[test]
fn a_client_that_does_not_read_holds_only_itself() {
    let app = app_fn(
        |_: &mut Environ<'_>, start_response: &mut StartResponse<'_>| {
            start_response.start("200 OK", &[("Content-Type", "text/plain")])?;
            Ok::<_, AppError>(Once::new(vec![b'x'; 700]))
        },
    );
    let mut options = one_worker();
    // Long enough that a worker blocked in a write would still be blocked when the other
    // client asks (the old behaviour).
    options.body_timeout = Duration::from_secs(30);
    let running = start_app(app, options);
    let slow = connect(running.addr);
    let pipelined = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(20_000);
    let mut writer = slow.try_clone().unwrap();
    writer.set_write_timeout(Some(IO_LIMIT)).unwrap();
    let feeder = std::thread::spawn(move || {
        // Blocks once the server stops reading: that is expected.
        let _ = writer.write_all(&pipelined);
    });
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..3 {
        let mut other = connect(running.addr);
        send(
            &mut other,
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        let answer = read_to_close(&mut other);
        assert!(
            answer.starts_with(b"HTTP/1.1 200 OK"),
            "{:?}",
            String::from_utf8_lossy(&answer)
        );
    }
    let _ = slow.shutdown(std::net::Shutdown::Both);
    let _ = feeder.join();
    running.stop().unwrap();
}

/// A request handed to blocking mode (a body larger than the receive buffer) gives its
/// connection back to the event loop when it is answered: idle connections that once sent a
/// large body do not hold helper threads, and the next large upload is served.
#[test]
fn a_hand_off_ends_with_its_request() {
    let mut options = one_worker();
    options.max_blocking = 1;
    let running = start_app(server_common::validated(), options);
    let body = vec![b'b'; 40 * 1024];
    let mut idle = Vec::new();
    for _ in 0..3 {
        let mut client = connect(running.addr);
        let head = format!(
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        send(&mut client, head.as_bytes());
        send(&mut client, &body);
        let answer = read_response(&mut client);
        assert!(
            answer.starts_with("HTTP/1.1 200 OK"),
            "{}",
            &answer[..answer.len().min(200)]
        );
        assert_eq!(answer.matches('b').count(), body.len());
        // The connection stays open, idle, and still serves requests on the loop.
        send(&mut client, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(read_response(&mut client).ends_with("Hello, world!"));
        idle.push(client);
    }
    running.stop().unwrap();
}

/// A handed-off body's reads each get `body_timeout`; the head's deadline (`header_timeout`,
/// counted from the first byte) does not cut off a slow but steady upload.
#[test]
fn a_slow_steady_upload_gets_the_body_timeout_per_read() {
    let mut options = one_worker();
    options.header_timeout = Duration::from_millis(500);
    options.body_timeout = Duration::from_secs(5);
    let running = start_app(server_common::validated(), options);
    let mut client = connect(running.addr);
    let piece = vec![b'u'; 8 * 1024];
    let pieces = 6;
    let head = format!(
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        piece.len() * pieces
    );
    send(&mut client, head.as_bytes());
    for _ in 0..pieces {
        send(&mut client, &piece);
        // Together these pauses outlast the head deadline several times over.
        std::thread::sleep(Duration::from_millis(200));
    }
    let answer = read_to_close(&mut client);
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.starts_with("HTTP/1.1 200 OK"),
        "{}",
        &text[..text.len().min(200)]
    );
    assert_eq!(text.matches('u').count(), piece.len() * pieces);
    running.stop().unwrap();
}

/// `max_blocking` is exact under a burst: with one worker and `max_blocking = 2`, eight
/// clients that all block in the application have at most 1 + 2 calls running at once (the
/// loop's own, then one per thread it was handed over from); the rest wait for a slot, and
/// every client is answered once the calls return.
#[test]
fn blocked_calls_never_exceed_max_blocking_beyond_the_workers() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    const CLIENTS: usize = 8;
    let in_call = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (open, gate) = Gate::new();
    let app = {
        let (in_call, most) = (in_call.clone(), most.clone());
        app_fn(
            move |_: &mut Environ<'_>, start_response: &mut StartResponse<'_>| {
                let now = in_call.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                let released = gate.wait();
                in_call.fetch_sub(1, Ordering::SeqCst);
                start_response.start("200 OK", &[("Content-Type", "text/plain")])?;
                Ok::<_, AppError>(Once::new(if released {
                    &b"released"[..]
                } else {
                    &b"gave up waiting"[..]
                }))
            },
        )
    };
    let mut options = one_worker();
    options.max_blocking = 2;
    let running = start_app(app, options);
    let mut clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let mut client = connect(running.addr);
            send(&mut client, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            client
        })
        .collect();
    // Wait (bounded) until the server has taken as many calls as it may, then give it time to
    // take more if it wrongly would.
    let deadline = std::time::Instant::now() + IO_LIMIT;
    while in_call.load(Ordering::SeqCst) < 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        in_call.load(Ordering::SeqCst),
        3,
        "calls running at once with one worker and max_blocking = 2"
    );
    for _ in 0..CLIENTS {
        open.send(()).unwrap();
    }
    for client in &mut clients {
        let answer = read_response(client);
        assert!(answer.ends_with("released"), "{answer:?}");
    }
    assert_eq!(
        most.load(Ordering::SeqCst),
        3,
        "the most calls ever at once"
    );
    running.stop().unwrap();
}
