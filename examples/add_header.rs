//! The `add_header` example of Python's `wsgiref.headers` documentation:
//!
//! ```python
//! h.add_header('content-disposition', 'attachment', filename='bud.gif')
//! ```
//!
//! adds a `Content-Disposition: attachment; filename="bud.gif"` header. Here it is in Rust, on
//! fixed storage (no allocator involved), printing the exact bytes that would go on the wire.
//!
//! Run it with `cargo run --example add_header`.

use std::io::Write as _;

use wsgiref::headers::{HeaderError, HeadersBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Room for 256 bytes of names and values and 8 headers: plenty for this response.
    let mut storage = HeadersBuf::<256, 8>::new();
    let mut headers = storage.headers();

    // Parameters are (name, value) pairs; a `None` value would give a bare `name`.
    headers.add_header(
        "Content-Disposition",
        Some("attachment"),
        &[("filename", Some("bud.gif"))],
    )?;
    assert_eq!(
        headers.get("content-disposition"),
        Some(r#"attachment; filename="bud.gif""#)
    );

    // The wire form: one `Name: value\r\n` line per header, then the blank line.
    let mut wire = [0u8; 128];
    let n = headers.write_to(&mut wire)?;
    std::io::stdout().write_all(&wire[..n])?;

    // Control characters are refused, so a value cannot smuggle in a second header.
    let refused = headers.add_header("X-Note", Some("a\r\nSet-Cookie: evil=1"), &[]);
    assert!(matches!(
        refused,
        Err(HeaderError::ControlCharacter { in_name: false })
    ));
    eprintln!("refused as expected: {}", refused.unwrap_err());
    Ok(())
}
