//! The seed's `wsgiref.validate` example, runnable: applications that break the gateway
//! contract in ways the Rust compiler cannot see, each wrapped in `validator`, and the report
//! the validator produces.
//!
//! ```text
//! cargo run --example validator
//! ```
//!
//! Each request is served by a small in-memory server (the `Console` below, standing in for a
//! handler): it refuses hop-by-hop headers as wsgiref's handlers do, prints the response it
//! would send, and on an error prints the log line a handler writes to `wsgi.errors`
//! (`AssertionError: <CPython's message>`) followed by the 500 it would answer with.
//! Warnings go to standard error. The example always exits 0: finding these faults is what it
//! demonstrates.

use wsgiref::util::{is_hop_by_hop, setup_testing_defaults};
use wsgiref::validate::validator;
use wsgiref_core::app::{app_fn, Body, Empty, Respond, StartResponse, StartResponseError};
use wsgiref_core::environ::EnvironBuf;
use wsgiref_core::{AppError, Application, Environ};

/// A stand-in for a handler: keeps the response in memory.
#[derive(Default)]
struct Console {
    status: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    sent: bool,
}

impl Respond for Console {
    fn start_response(
        &mut self,
        status: &str,
        headers: &[(&str, &str)],
        _exc_info: bool,
    ) -> Result<(), StartResponseError> {
        // The validator leaves hop-by-hop headers to the server, as CPython's does.
        if let Some((name, value)) = headers.iter().find(|(n, _)| is_hop_by_hop(n)) {
            let mut text = heapless::String::new();
            let _ = core::fmt::write(&mut text, format_args!("{name}: {value}"));
            return Err(StartResponseError::HopByHop(text));
        }
        self.status = status.to_string();
        self.headers = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        Ok(())
    }

    fn write(&mut self, data: &[u8]) -> Result<(), AppError> {
        self.sent = true;
        self.body.extend_from_slice(data);
        Ok(())
    }

    fn headers_sent(&self) -> bool {
        self.sent
    }
}

/// Serve one GET / through `validator(app)` and print what happened.
fn serve<A: Application>(title: &str, app: A) {
    println!("== {title}");
    let mut buf = EnvironBuf::<1024, 32>::new();
    let mut environ = buf.environ();
    setup_testing_defaults(&mut environ).expect("the environ fits its buffer");
    environ
        .set("QUERY_STRING", "")
        .expect("the environ fits its buffer");
    let checked = validator(app);
    let mut console = Console::default();
    let outcome = match checked.call(&mut environ, &mut StartResponse::new(&mut console)) {
        Ok(mut body) => {
            let mut pulled = Ok(());
            // Bounded: every body here is a handful of chunks.
            for _ in 0..1000 {
                match body.next_chunk() {
                    Ok(Some(chunk)) => console.body.extend_from_slice(chunk),
                    Ok(None) => break,
                    Err(e) => {
                        pulled = Err(e);
                        break;
                    }
                }
            }
            body.close();
            pulled
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => {
            println!("{}", console.status);
            for (name, value) in &console.headers {
                println!("{name}: {value}");
            }
            println!();
            println!("{}", String::from_utf8_lossy(&console.body));
        }
        Err(error) => {
            let mut line = String::new();
            let _ = error.write_chain(&mut line, None);
            print!("logged: {line}");
            println!("answered: 500 Internal Server Error");
        }
    }
    println!();
}

fn main() {
    serve(
        "missing Content-Type",
        app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
            sr.start("200 OK", &[("X-Powered-By", "wsgiref")])?;
            Ok::<_, AppError>(&b"Hello"[..])
        }),
    );
    serve(
        "a hop-by-hop header (refused by the server, not the validator)",
        app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
            sr.start(
                "200 OK",
                &[("Content-Type", "text/plain"), ("Connection", "close")],
            )?;
            Ok::<_, AppError>(&b"Hello"[..])
        }),
    );
    serve(
        "write() before start_response",
        app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
            sr.write(b"early")?;
            sr.start("200 OK", &[("Content-Type", "text/plain")])?;
            Ok::<_, AppError>(Empty)
        }),
    );
    serve(
        "a body without start_response",
        app_fn(|_: &mut Environ<'_>, _: &mut StartResponse<'_>| {
            Ok::<_, AppError>(&b"who sets the status?"[..])
        }),
    );
    serve(
        "a status code below 100",
        app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
            sr.start("099 Too Low", &[("Content-Type", "text/plain")])?;
            Ok::<_, AppError>(Empty)
        }),
    );
    serve(
        "a status without a reason (a warning only)",
        app_fn(|_: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
            sr.start("200", &[("Content-Type", "text/plain")])?;
            Ok::<_, AppError>(&b"fine, mostly"[..])
        }),
    );
    serve(
        "a conforming application",
        app_fn(|environ: &mut Environ<'_>, sr: &mut StartResponse<'_>| {
            sr.start("200 OK", &[("Content-Type", "text/plain")])?;
            let method = environ.get_str("REQUEST_METHOD").unwrap_or("?");
            Ok::<_, AppError>(wsgiref_core::app::Once::new(format!("Hello, {method}!")))
        }),
    );
}
