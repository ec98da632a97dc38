//! The `FileWrapper` example of Python's `wsgiref.util` documentation:
//!
//! ```python
//! filelike = StringIO("This is an example file-like object"*10)
//! wrapper = FileWrapper(filelike, blksize=5)
//! for chunk in wrapper:
//!     print(chunk)
//! ```
//!
//! Any `embedded_io::Read` can be wrapped; a byte slice stands in for the `StringIO`. The
//! wrapper reads into its own inline buffer, so nothing here needs an allocator except the
//! `repeat` that builds the sample text.
//!
//! Run it with `cargo run --example file_wrapper`.

use wsgiref::util::FileWrapper;
use wsgiref::Body;

fn main() -> Result<(), wsgiref::AppError> {
    let text = "This is an example file-like object".repeat(10);
    let mut wrapper = FileWrapper::with_blksize(text.as_bytes(), 5);
    // A handler pulls a body the same way: chunk by chunk until `None`, then `close`.
    while let Some(chunk) = wrapper.next_chunk()? {
        println!("{}", String::from_utf8_lossy(chunk));
    }
    wrapper.close();
    Ok(())
}
