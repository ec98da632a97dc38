//! An HTML index of a directory that has no `index.html`.
//!
//! CPython's closing example has none (it answers 404); `python -m http.server` has one, and
//! it is what someone running `serve` on a folder of files expects to see in the browser.
//! Names are escaped for HTML and percent-encoded in links, so a file called
//! `<script>.html` or `a b?c` is shown and linked as itself. The listing is bounded: at most
//! [`MAX_ENTRIES`] names, with a note when there are more.

use std::fmt::Write as _;
use std::path::Path;

/// Most entries listed.
pub const MAX_ENTRIES: usize = 5000;

/// The listing page for the directory at `dir`, shown under the URL path `url_path` (which
/// ends in `/`). `None` if the directory cannot be read.
pub fn render(dir: &Path, url_path: &[u8]) -> Option<String> {
    let mut entries: Vec<(Vec<u8>, bool)> = Vec::new();
    let mut truncated = false;
    for entry in std::fs::read_dir(dir).ok()? {
        // An entry that vanished or cannot be read is left out rather than failing the page.
        let Ok(entry) = entry else { continue };
        if entries.len() == MAX_ENTRIES {
            truncated = true;
            break;
        }
        // `file_type` does not follow symlinks; a link to a directory is listed as a file and
        // resolves (or is refused) when followed.
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        entries.push((name_bytes(&entry.file_name()), is_dir));
    }
    entries.sort();
    let title = html_escape(&String::from_utf8_lossy(url_path));
    let mut page = String::new();
    // `write!` into a String cannot fail.
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of {title}</title>\
         </head>\n<body><h1>Index of {title}</h1>\n<ul>\n"
    );
    if url_path != b"/" {
        page.push_str("<li><a href=\"../\">../</a></li>\n");
    }
    for (name, is_dir) in &entries {
        let slash = if *is_dir { "/" } else { "" };
        let _ = writeln!(
            page,
            "<li><a href=\"./{}{slash}\">{}{slash}</a></li>",
            percent_encode(name),
            html_escape(&String::from_utf8_lossy(name)),
        );
    }
    page.push_str("</ul>\n");
    if truncated {
        let _ = writeln!(
            page,
            "<p>Only the first {MAX_ENTRIES} entries are listed.</p>"
        );
    }
    page.push_str("</body></html>\n");
    Some(page)
}

#[cfg(unix)]
fn name_bytes(name: &std::ffi::OsStr) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    name.as_bytes().to_vec()
}

#[cfg(not(unix))]
fn name_bytes(name: &std::ffi::OsStr) -> Vec<u8> {
    name.to_string_lossy().into_owned().into_bytes()
}

/// Escape text for HTML element content and double-quoted attributes.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encode bytes for a URL path: everything but RFC 3986's unreserved characters and
/// `/` is encoded, so the result is safe in an attribute, a `Location` header and a path.
pub fn percent_encode(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            html_escape("<a href='x'>&\""),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
        );
        assert_eq!(percent_encode(b"/a b/%?#\xff"), "/a%20b/%25%3F%23%FF");
    }
}
