//! tiny_http hello world, an anchor of the wsgiref benchmark: one worker thread per core
//! pulling from tiny_http's shared request queue, the 12-byte body "Hello world!".
//!
//! Usage: `tiny-http-hello [PORT]` (0 = ephemeral). Prints `tiny-http-hello listening on port N`.

use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let port: u16 = match std::env::args().nth(1) {
        Some(p) => p.parse().map_err(|e| format!("bad port {p:?}: {e}"))?,
        None => 8000,
    };
    let server = Arc::new(tiny_http::Server::http(("127.0.0.1", port))?);
    let bound = server
        .server_addr()
        .to_ip()
        .map(|a| a.port())
        .ok_or("tiny_http bound a non-IP address")?;
    println!("tiny-http-hello listening on port {bound}");
    let header = tiny_http::Header::from_bytes("Content-Type", "text/plain")
        .map_err(|()| "bad static header")?;
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let server = Arc::clone(&server);
            let header = header.clone();
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    let response = tiny_http::Response::from_string("Hello world!")
                        .with_header(header.clone());
                    let _ = request.respond(response);
                }
            })
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
    Ok(())
}
