//! Content types by file extension: a short table of the types browsers care about.
//!
//! The table is ours, not the operating system's (`/etc/mime.types` differs between machines
//! and is absent in containers), so a file is served with the same type everywhere. Text types
//! carry `charset=utf-8`: without it a browser guesses, and guesses differently per locale.

/// The fallback for unknown extensions: browsers download it instead of rendering it, which is
/// the safe choice for content we cannot vouch for.
pub const DEFAULT: &str = "application/octet-stream";

/// Extension (lowercase, without the dot) → content type, sorted by extension so the table
/// reads like a dictionary and `binary_search` finds entries.
const TABLE: &[(&str, &str)] = &[
    ("avif", "image/avif"),
    ("bmp", "image/bmp"),
    ("css", "text/css; charset=utf-8"),
    ("csv", "text/csv; charset=utf-8"),
    ("gif", "image/gif"),
    ("gz", "application/gzip"),
    ("htm", "text/html; charset=utf-8"),
    ("html", "text/html; charset=utf-8"),
    ("ico", "image/vnd.microsoft.icon"),
    ("jpeg", "image/jpeg"),
    ("jpg", "image/jpeg"),
    ("js", "text/javascript; charset=utf-8"),
    ("json", "application/json"),
    ("map", "application/json"),
    ("md", "text/markdown; charset=utf-8"),
    ("mjs", "text/javascript; charset=utf-8"),
    ("mp3", "audio/mpeg"),
    ("mp4", "video/mp4"),
    ("oga", "audio/ogg"),
    ("ogg", "audio/ogg"),
    ("ogv", "video/ogg"),
    ("otf", "font/otf"),
    ("pdf", "application/pdf"),
    ("png", "image/png"),
    ("svg", "image/svg+xml"),
    ("tar", "application/x-tar"),
    ("ttf", "font/ttf"),
    ("txt", "text/plain; charset=utf-8"),
    ("wasm", "application/wasm"),
    ("wav", "audio/wav"),
    ("webm", "video/webm"),
    ("webmanifest", "application/manifest+json"),
    ("webp", "image/webp"),
    ("woff", "font/woff"),
    ("woff2", "font/woff2"),
    ("xhtml", "application/xhtml+xml"),
    ("xml", "application/xml"),
    ("zip", "application/zip"),
];

/// The content type for a file name: by its last extension, case-insensitively; [`DEFAULT`]
/// when there is none or it is unknown. A leading dot alone (`.bashrc`) is not an extension.
pub fn for_name(name: &[u8]) -> &'static str {
    let Some(dot) = name.iter().rposition(|&b| b == b'.') else {
        return DEFAULT;
    };
    if dot == 0 {
        return DEFAULT;
    }
    let ext = &name[dot + 1..];
    // The longest extension in the table is 11 bytes; anything longer cannot match, and the
    // bound keeps the lowercase copy on the stack.
    let mut lower = [0u8; 16];
    if ext.is_empty() || ext.len() > lower.len() {
        return DEFAULT;
    }
    for (d, s) in lower.iter_mut().zip(ext) {
        *d = s.to_ascii_lowercase();
    }
    let ext = &lower[..ext.len()];
    TABLE
        .binary_search_by(|(e, _)| e.as_bytes().cmp(ext))
        .map_or(DEFAULT, |i| TABLE[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_for_binary_search() {
        assert!(TABLE.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn lookups() {
        assert_eq!(for_name(b"index.HTML"), "text/html; charset=utf-8");
        assert_eq!(for_name(b"a.tar.gz"), "application/gzip");
        assert_eq!(for_name(b".bashrc"), DEFAULT);
        assert_eq!(for_name(b"noext"), DEFAULT);
        assert_eq!(for_name(b"trailing."), DEFAULT);
    }
}
