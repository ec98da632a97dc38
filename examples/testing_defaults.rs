//! The first example of Python's `wsgiref.util` documentation: an application that completes
//! its environ with `setup_testing_defaults` and lists it, one `key: value` line per variable.
//!
//! Until the simple server can run it, this builds the environ a server would hand over (here:
//! empty but for one header), on fixed storage with no allocator involved, applies the
//! defaults, and prints the listing the application would return.
//!
//! Run it with `cargo run --example testing_defaults`.

use wsgiref::environ::{Environ, EnvironBuf};
use wsgiref::util::{request_uri, setup_testing_defaults};

/// The body of the documentation's `simple_app`: `"key: value\n"` for every variable, with
/// byte values shown as the latin-1 text PEP 3333 says they are. The `wsgi.*` group is typed
/// in Rust, so it is listed from its fields.
fn list_environ(environ: &Environ<'_>, out: &mut impl core::fmt::Write) -> core::fmt::Result {
    for (key, value) in environ.iter() {
        let text: String = value.iter().map(|&b| char::from(b)).collect();
        writeln!(out, "{key}: {text}")?;
    }
    if let Some(wsgi) = environ.wsgi {
        writeln!(out, "wsgi.version: {:?}", wsgi.version)?;
        writeln!(out, "wsgi.run_once: {}", wsgi.run_once)?;
        writeln!(out, "wsgi.multithread: {}", wsgi.multithread)?;
        writeln!(out, "wsgi.multiprocess: {}", wsgi.multiprocess)?;
        writeln!(out, "wsgi.url_scheme: {}", wsgi.url_scheme)?;
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1 KiB of names and values and 32 variables: far more than the defaults need.
    let mut storage = EnvironBuf::<1024, 32>::new();
    let mut environ = storage.environ();
    environ.set("HTTP_USER_AGENT", "example/1.0")?;

    setup_testing_defaults(&mut environ)?;

    let mut body = String::new();
    list_environ(&environ, &mut body)?;
    print!("{body}");

    // The defaults are complete enough to rebuild the request's URL.
    let mut uri = heapless::String::<64>::new();
    request_uri(&environ, true, &mut uri)?;
    println!("# request_uri: {uri}");
    Ok(())
}
