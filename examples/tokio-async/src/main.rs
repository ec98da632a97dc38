//! **This example uses `wsgiref-core` directly**, not the `wsgiref` facade that applications
//! depend on: see `lib.rs`. Everything it names is also reachable from `wsgiref` (with
//! `default-features = false` on bare metal).
//!
//! Serve the demonstration application with wsgiref-core's async driver on tokio.
//!
//! `wsgiref-tokio-async [PORT] [MAX_CONNECTIONS]`: listens on 127.0.0.1:PORT (default 8000;
//! 0 picks a free port) and prints the address it bound; stops after MAX_CONNECTIONS
//! connections when given.

use std::io::Write;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = match args.next() {
        Some(p) => p
            .parse()
            .map_err(|_| invalid("PORT must be a number from 0 to 65535"))?,
        None => 8000,
    };
    let max = match args.next() {
        Some(m) => Some(
            m.parse()
                .map_err(|_| invalid("MAX_CONNECTIONS must be a number"))?,
        ),
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        println!("listening on http://{}", listener.local_addr()?);
        std::io::stdout().flush()?;
        wsgiref_tokio_async::run(listener, max).await
    })
}

fn invalid(msg: &'static str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, msg)
}
