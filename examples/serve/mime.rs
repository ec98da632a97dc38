//! Content types by file extension, from the [`mime_guess`] table (kept up to date with the
//! IANA and Apache lists, and the same on every machine, unlike `/etc/mime.types`).
//!
//! Text types get `charset=utf-8`: without it a browser guesses the encoding, and guesses
//! differently per locale. JavaScript is `text/javascript` (RFC 9239), whichever of the
//! historical names the table holds for `.js` or `.mjs`.

use std::borrow::Cow;

/// The fallback for unknown extensions: browsers download it instead of rendering it, which is
/// the safe choice for content we cannot vouch for.
pub const DEFAULT: &str = "application/octet-stream";

/// The content type for a file name: by its last extension, case-insensitively; [`DEFAULT`]
/// when there is none or it is unknown. A leading dot alone (`.bashrc`) is not an extension.
pub fn for_name(name: &[u8]) -> Cow<'static, str> {
    let Some(dot) = name.iter().rposition(|&b| b == b'.') else {
        return Cow::Borrowed(DEFAULT);
    };
    if dot == 0 {
        return Cow::Borrowed(DEFAULT);
    }
    let Ok(ext) = std::str::from_utf8(&name[dot + 1..]) else {
        return Cow::Borrowed(DEFAULT);
    };
    let Some(mime) = mime_guess::from_ext(ext).first() else {
        return Cow::Borrowed(DEFAULT);
    };
    let essence = mime.essence_str();
    if essence == "application/javascript" || essence == "text/javascript" {
        Cow::Borrowed("text/javascript; charset=utf-8")
    } else if mime.type_() == mime_guess::mime::TEXT {
        Cow::Owned(format!("{essence}; charset=utf-8"))
    } else {
        Cow::Owned(essence.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(for_name(b"index.HTML"), "text/html; charset=utf-8");
        assert_eq!(for_name(b"a.mjs"), "text/javascript; charset=utf-8");
        assert_eq!(for_name(b"a.tar.gz"), "application/gzip");
        assert_eq!(for_name(b"a.wasm"), "application/wasm");
        assert_eq!(for_name(b"a.svg"), "image/svg+xml");
        assert_eq!(for_name(b".bashrc"), DEFAULT);
        assert_eq!(for_name(b"noext"), DEFAULT);
        assert_eq!(for_name(b"trailing."), DEFAULT);
        assert_eq!(for_name(b"x.\xff"), DEFAULT);
    }
}
