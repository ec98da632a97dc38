//! Validators and conditional requests (RFC 9110 §8.8 and §13).
//!
//! Every file is sent with two validators:
//!
//! * a strong `ETag`, `"<mtime in ns, hex>-<size, hex>"`: a file rewritten in place changes its
//!   modification time (to the nanosecond on the file systems this runs on) or its size, so
//!   two different contents do not share a tag in practice. It is computed from `stat`, never
//!   by reading the file, so a 304 costs no I/O beyond what the 200 would;
//! * `Last-Modified`, the modification time in whole seconds (an HTTP date has no finer unit).
//!
//! They come with `Cache-Control: no-cache`, chosen for what `serve` is used for: a folder
//! being edited. Without any `Cache-Control` (as `python3 -m http.server` sends), browsers
//! apply heuristic freshness (typically a tenth of the file's age) and show a stale copy
//! after an edit; `no-cache` lets them keep the copy but makes them ask first, and the
//! question costs one 304 thanks to the validators above. `max-age`/`immutable` would need
//! content-hashed file names, which a plain directory does not have.
//!
//! [`evaluate`] applies the preconditions in the order of RFC 9110 §13.2.2: `If-Match`, else
//! `If-Unmodified-Since`; then `If-None-Match`, else (GET/HEAD only) `If-Modified-Since`.
//! [`if_range_allows`] decides whether a `Range` is honoured under `If-Range` (§13.1.5).
//! A date that does not parse is ignored (§13.1.3, §13.1.4); an entity-tag list that does
//! not parse matches nothing, so a broken `If-Match` fails safe (412) and a broken
//! `If-None-Match` just gets the full answer.

use std::fs::Metadata;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The `Cache-Control` sent with files and listings; see the [module docs](self) for why.
pub const CACHE_CONTROL: &str = "no-cache";

/// A file's validators, as sent in `ETag` and `Last-Modified`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validators {
    /// The strong entity-tag, with its quotes.
    pub etag: String,
    /// The modification time in whole seconds since the Unix epoch.
    pub modified: u64,
    /// `modified` as an IMF-fixdate.
    pub last_modified: String,
}

impl Validators {
    /// The validators of a file from its metadata. A modification time before the epoch (or
    /// unavailable) counts as the epoch.
    pub fn of(meta: &Metadata) -> Validators {
        let since_epoch = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .unwrap_or_default();
        Validators::new(since_epoch, meta.len())
    }

    /// The validators for a modification time (since the epoch) and a size.
    pub fn new(since_epoch: Duration, size: u64) -> Validators {
        let modified = since_epoch.as_secs();
        Validators {
            etag: format!("\"{:x}-{size:x}\"", since_epoch.as_nanos()),
            modified,
            last_modified: httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(modified)),
        }
    }

    fn opaque(&self) -> &[u8] {
        let quoted = self.etag.as_bytes();
        &quoted[1..quoted.len() - 1]
    }
}

/// The conditional header fields of a request (raw values, as received).
#[derive(Clone, Copy, Debug, Default)]
pub struct Conditions<'a> {
    /// `If-Match`.
    pub if_match: Option<&'a [u8]>,
    /// `If-None-Match`.
    pub if_none_match: Option<&'a [u8]>,
    /// `If-Modified-Since`.
    pub if_modified_since: Option<&'a [u8]>,
    /// `If-Unmodified-Since`.
    pub if_unmodified_since: Option<&'a [u8]>,
}

/// The outcome of the preconditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Answer the request normally.
    Proceed,
    /// 304 Not Modified (GET or HEAD only).
    NotModified,
    /// 412 Precondition Failed.
    Failed,
}

/// Evaluate `conditions` against a file's validators, for a request whose method is GET or
/// HEAD (`get_or_head`) or another one.
pub fn evaluate(conditions: &Conditions<'_>, file: &Validators, get_or_head: bool) -> Outcome {
    // Step 1 and 2: the client wants to act on exactly the version it knows.
    if let Some(value) = conditions.if_match {
        let holds = match tags(value) {
            Some(Tags::Any) => true,
            Some(Tags::List(list)) => list.iter().any(|t| !t.weak && t.opaque == file.opaque()),
            None => false,
        };
        if !holds {
            return Outcome::Failed;
        }
    } else if let Some(since) = conditions.if_unmodified_since.and_then(date) {
        if file.modified > since {
            return Outcome::Failed;
        }
    }
    // Step 3 and 4: the client has a copy and wants the file only if it changed.
    if let Some(value) = conditions.if_none_match {
        let matches = match tags(value) {
            Some(Tags::Any) => true,
            // Weak comparison (§8.8.3.2): the weakness flag is ignored.
            Some(Tags::List(list)) => list.iter().any(|t| t.opaque == file.opaque()),
            None => false,
        };
        if matches {
            return if get_or_head {
                Outcome::NotModified
            } else {
                Outcome::Failed
            };
        }
    } else if get_or_head {
        if let Some(since) = conditions.if_modified_since.and_then(date) {
            if file.modified <= since {
                return Outcome::NotModified;
            }
        }
    }
    Outcome::Proceed
}

/// Whether a `Range` is to be honoured given the request's `If-Range` value (§13.1.5): an
/// entity-tag must match ours strongly, a date must equal our `Last-Modified`; anything else
/// means "my copy is stale, send the whole file".
pub fn if_range_allows(value: Option<&[u8]>, file: &Validators) -> bool {
    let Some(value) = value else {
        return true;
    };
    let value = value.trim_ascii();
    if value.starts_with(b"\"") || value.starts_with(b"W/") {
        matches!(tags(value), Some(Tags::List(list))
            if list.len() == 1 && !list[0].weak && list[0].opaque == file.opaque())
    } else {
        date(value) == Some(file.modified)
    }
}

/// An HTTP date (any of the three forms of RFC 9110 §5.6.7) as seconds since the epoch.
pub fn date(value: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let time: SystemTime = httpdate::parse_http_date(text).ok()?;
    Some(time.duration_since(UNIX_EPOCH).ok()?.as_secs())
}

/// One entity-tag of a list.
#[derive(Debug)]
struct Tag<'a> {
    weak: bool,
    opaque: &'a [u8],
}

/// `*` or a list of entity-tags.
#[derive(Debug)]
enum Tags<'a> {
    Any,
    List(Vec<Tag<'a>>),
}

/// Most entity-tags read from one field: a client has no reason to send more, and the bound
/// keeps a hostile list from costing more than a scan.
const MAX_TAGS: usize = 64;

/// Parse `"*" / #entity-tag` (RFC 9110 §8.8.3, §13.1.1). `None` if malformed, empty or over
/// [`MAX_TAGS`].
fn tags(value: &[u8]) -> Option<Tags<'_>> {
    let value = value.trim_ascii();
    if value == b"*" {
        return Some(Tags::Any);
    }
    let mut list = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_ascii_start();
        // Empty list elements (`a, , b`) are allowed and skipped (§5.6.1).
        if let Some(after) = rest.strip_prefix(b",") {
            rest = after;
            continue;
        }
        if rest.is_empty() {
            break;
        }
        let (weak, quoted) = match rest.strip_prefix(b"W/") {
            Some(after) => (true, after),
            None => (false, rest),
        };
        let body = quoted.strip_prefix(b"\"")?;
        let end = body.iter().position(|&b| b == b'"')?;
        let opaque = &body[..end];
        // etagc = %x21 / %x23-7E / obs-text
        if !opaque.iter().all(|&b| b == 0x21 || b >= 0x23 && b != 0x7f) {
            return None;
        }
        if list.len() == MAX_TAGS {
            return None;
        }
        list.push(Tag { weak, opaque });
        rest = body[end + 1..].trim_ascii_start();
        if !(rest.is_empty() || rest.starts_with(b",")) {
            return None;
        }
    }
    (!list.is_empty()).then_some(Tags::List(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> Validators {
        Validators::new(Duration::new(784_111_777, 5), 26)
    }

    fn eval(c: Conditions<'_>, get: bool) -> Outcome {
        evaluate(&c, &file(), get)
    }

    #[test]
    fn validators() {
        let v = file();
        assert_eq!(v.etag, format!("\"{:x}-1a\"", 784_111_777_000_000_005u128));
        assert_eq!(v.last_modified, "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_ne!(Validators::new(Duration::new(784_111_777, 6), 26), v);
    }

    #[test]
    fn precedence() {
        let tag = file().etag;
        let tag = tag.as_bytes();
        let old = Some(&b"Sat, 05 Nov 1994 08:49:37 GMT"[..]);
        let now = Some(&b"Sun, 06 Nov 1994 08:49:37 GMT"[..]);
        use Outcome::*;
        let c = |m, n, ms, us| Conditions {
            if_match: m,
            if_none_match: n,
            if_modified_since: ms,
            if_unmodified_since: us,
        };
        assert_eq!(eval(c(Some(b"\"nope\""), None, None, None), true), Failed);
        assert_eq!(eval(c(Some(tag), None, None, None), true), Proceed);
        assert_eq!(eval(c(Some(b"*"), None, None, None), true), Proceed);
        assert_eq!(
            eval(c(Some(b"\"a\", W/\"b\""), None, None, None), true),
            Failed
        );
        // A weak tag never matches If-Match (strong comparison).
        let weak = [b"W/", tag].concat();
        assert_eq!(eval(c(Some(&weak), None, None, None), true), Failed);
        // If-Match wins over If-Unmodified-Since, which is then not looked at.
        assert_eq!(eval(c(Some(tag), None, None, old), true), Proceed);
        assert_eq!(eval(c(None, None, None, old), true), Failed);
        assert_eq!(eval(c(None, None, None, now), true), Proceed);
        assert_eq!(eval(c(None, None, None, Some(b"garbage")), true), Proceed);
        // If-None-Match: weak comparison; 304 for GET/HEAD, 412 otherwise.
        assert_eq!(eval(c(None, Some(&weak), None, None), true), NotModified);
        assert_eq!(eval(c(None, Some(tag), None, None), false), Failed);
        assert_eq!(eval(c(None, Some(b"*"), None, None), true), NotModified);
        // If-None-Match present: If-Modified-Since is ignored.
        assert_eq!(eval(c(None, Some(b"\"x\""), now, None), true), Proceed);
        assert_eq!(eval(c(None, None, now, None), true), NotModified);
        assert_eq!(eval(c(None, None, old, None), true), Proceed);
        assert_eq!(eval(c(None, None, now, None), false), Proceed);
        // If-Match passes, If-None-Match matches: 304.
        assert_eq!(eval(c(Some(tag), Some(tag), None, None), true), NotModified);
    }

    #[test]
    fn tag_lists() {
        assert!(tags(b"").is_none());
        assert!(tags(b" , ,").is_none());
        assert!(tags(b"\"unterminated").is_none());
        assert!(tags(b"noquotes").is_none());
        assert!(tags(b"\"a\" \"b\"").is_none());
        assert!(tags(b"\"a b\"").is_none());
        assert!(
            tags(b"\"a,b\", W/\"\"").is_some_and(|t| matches!(t, Tags::List(l) if l.len() == 2))
        );
        let many = vec!["\"x\""; MAX_TAGS + 1].join(",");
        assert!(tags(many.as_bytes()).is_none());
    }

    #[test]
    fn if_range() {
        let v = file();
        assert!(if_range_allows(None, &v));
        assert!(if_range_allows(Some(v.etag.as_bytes()), &v));
        assert!(if_range_allows(Some(v.last_modified.as_bytes()), &v));
        assert!(!if_range_allows(Some(b"\"other\""), &v));
        assert!(!if_range_allows(
            Some(format!("W/{}", v.etag).as_bytes()),
            &v
        ));
        assert!(!if_range_allows(Some(b"Sat, 05 Nov 1994 08:49:37 GMT"), &v));
        assert!(!if_range_allows(Some(b"junk"), &v));
    }
}
