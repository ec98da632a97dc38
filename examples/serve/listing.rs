//! An HTML index of a directory that has no `index.html`.
//!
//! CPython's closing example has none (it answers 404); `python -m http.server` has one, and
//! it is what someone running `serve` on a folder of files expects to see in the browser.
//! Each entry shows its name, its size in bytes (`-` for a directory) and its modification
//! time. The listing holds exactly what a click can open:
//!
//! * a symlink is followed, and listed only if it leads to a file or directory inside the
//!   root (one leading outside, or nowhere, would answer 404: it is left out, so the page
//!   never offers a dead link nor reveals where a link points);
//! * FIFOs, sockets and device nodes are left out (they are never served);
//! * under `--no-dotfiles`, names starting with `.` are left out (and not served either).
//!
//! Names are HTML-escaped ([`html_escape`]) and percent-encoded in links ([`url`]), so a file
//! called `<script>.html` or `a b?c` is shown and linked as itself. Control characters and
//! invisible format characters (the bidi overrides and isolates U+202A–U+202E and
//! U+2066–U+2069, the marks U+200E/U+200F/U+061C, zero-width characters, U+FEFF, tag
//! characters...) are shown as a boxed `U+XXXX`, so `txt.exe` spelled backwards behind a
//! U+202E cannot pose as `exe.txt`, and two names that differ only by an invisible character
//! look different. The listing is bounded: at most [`MAX_ENTRIES`] names, with a note when
//! there are more.
//!
//! [`url`]: super::url

use std::fmt::Write as _;
use std::path::Path;
use std::time::UNIX_EPOCH;

use super::resolve::Dotfiles;
use super::url;

/// Most entries listed.
pub const MAX_ENTRIES: usize = 5000;
/// Most directory entries looked at (listed or left out), so a directory full of hidden or
/// dangling names cannot make one request scan without end.
pub const MAX_SCANNED: usize = 4 * MAX_ENTRIES;

/// One listed entry.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    name: Vec<u8>,
    is_dir: bool,
    size: u64,
    /// Seconds since the epoch.
    modified: u64,
}

/// The listing page for the directory at `dir` (under the canonical `root`), shown under the
/// URL path `url_path` (which ends in `/`). `None` if the directory cannot be read.
pub fn render(root: &Path, dir: &Path, url_path: &[u8], dotfiles: Dotfiles) -> Option<String> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut truncated = false;
    for (scanned, entry) in std::fs::read_dir(dir).ok()?.enumerate() {
        if scanned == MAX_SCANNED || entries.len() == MAX_ENTRIES {
            truncated = true;
            break;
        }
        // An entry that vanished or cannot be read is left out rather than failing the page.
        let Ok(entry) = entry else { continue };
        let name = name_bytes(&entry.file_name());
        if !dotfiles.allows(&name) {
            continue;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_symlink() {
            let inside = std::fs::canonicalize(entry.path())
                .is_ok_and(|real| real.starts_with(root) && dotfiles.allows_path(root, &real));
            if !inside {
                continue;
            }
        }
        // Follows a symlink, so a link to a directory is listed as one.
        let Ok(meta) = std::fs::metadata(entry.path()) else {
            continue;
        };
        if !meta.is_dir() && !meta.is_file() {
            continue;
        }
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        entries.push(Entry {
            name,
            is_dir: meta.is_dir(),
            size: meta.len(),
            modified,
        });
    }
    entries.sort();
    let title = visible(&String::from_utf8_lossy(url_path));
    let mut page = String::new();
    // `write!` into a String cannot fail.
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of {title}</title>\n\
         <style>td{{padding:0 1em 0 0}} .size{{text-align:right}} \
         .cp{{border:1px solid;font:smaller monospace;padding:0 2px}}</style>\n\
         </head>\n<body><h1>Index of {title}</h1>\n<table>\n\
         <thead><tr><th>Name</th><th class=\"size\">Size</th><th>Modified</th></tr></thead>\n\
         <tbody>\n"
    );
    if url_path != b"/" {
        page.push_str("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
    }
    for entry in &entries {
        let slash = if entry.is_dir { "/" } else { "" };
        let size = if entry.is_dir {
            "-".to_string()
        } else {
            entry.size.to_string()
        };
        let modified =
            httpdate::fmt_http_date(UNIX_EPOCH + std::time::Duration::from_secs(entry.modified));
        let _ = writeln!(
            page,
            "<tr><td><a href=\"./{}{slash}\">{}{slash}</a></td><td class=\"size\">{size}</td>\
             <td>{modified}</td></tr>",
            url::segment(&entry.name),
            visible(&String::from_utf8_lossy(&entry.name)),
        );
    }
    page.push_str("</tbody></table>\n");
    if truncated {
        let _ = writeln!(
            page,
            "<p>Only the first {} entries are listed.</p>",
            entries.len()
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

/// `text` as HTML element content: escaped for HTML, with every invisible character shown as
/// a boxed `U+XXXX`.
pub fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut plain = 0;
    for (i, c) in text.char_indices() {
        if invisible(c) {
            out.push_str(&html_escape::encode_text(&text[plain..i]));
            let _ = write!(out, "<span class=\"cp\">U+{:04X}</span>", u32::from(c));
            plain = i + c.len_utf8();
        }
    }
    out.push_str(&html_escape::encode_text(&text[plain..]));
    out
}

/// Characters that draw nothing (or reorder what is drawn) and so can disguise a name:
/// controls, bidi embeddings/overrides/isolates/marks, zero-width and other format
/// characters, fillers, the BOM, interlinear annotations and tag characters. Variation
/// selectors are left alone: they only pick a glyph style (emoji names use them).
pub fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFFB}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(visible("<a href='x'>&\""), "&lt;a href='x'&gt;&amp;\"");
        assert_eq!(
            visible("a\u{202E}txt.exe"),
            "a<span class=\"cp\">U+202E</span>txt.exe"
        );
        assert_eq!(
            visible("\u{2066}x\u{200F}\ny\u{E0041}"),
            "<span class=\"cp\">U+2066</span>x<span class=\"cp\">U+200F</span>\
             <span class=\"cp\">U+000A</span>y<span class=\"cp\">U+E0041</span>"
        );
        assert_eq!(
            visible("caf\u{e9} \u{1F600}\u{FE0F}"),
            "caf\u{e9} \u{1F600}\u{FE0F}"
        );
    }
}
