//! The `Range` request header (RFC 9110 §14), parsed by [`http_range_header`], answered for
//! single ranges only.
//!
//! A request for several ranges would need a `multipart/byteranges` body; RFC 9110 §14.2 lets
//! a server ignore any `Range` it does not want to honour and send the whole file, which is
//! what we do for those and for every header the parser refuses (malformed, whitespace around
//! `=` or inside a range, more than 30 digits, overlapping lists). Only a well-formed range
//! that lies entirely past the end of the file is answered with 416. For an empty file a
//! suffix range (`bytes=-5`) is satisfiable (§14.1.2) but selects nothing that a 206 could
//! describe, so the whole (empty) file is sent with 200.

use http_range_header::{parse_range_header, RangeUnsatisfiableError};

/// What to send for a file of a known size, given its `Range` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeReply {
    /// The whole file with 200: no header, a malformed one, several ranges, or another unit.
    Full,
    /// The bytes `start..=end` with 206.
    Partial {
        /// First byte offset.
        start: u64,
        /// Last byte offset, inclusive (as `Content-Range` spells it).
        end: u64,
    },
    /// 416 Range Not Satisfiable: the range starts past the end (or the file is empty).
    Unsatisfiable,
}

/// Decide how to answer `header` (the value of `Range`, if any) for a file of `size` bytes.
pub fn parse(header: Option<&[u8]>, size: u64) -> RangeReply {
    // The server has already trimmed the field value's surrounding whitespace.
    let Some(text) = header.and_then(|h| std::str::from_utf8(h).ok()) else {
        return RangeReply::Full;
    };
    let ranges = match parse_range_header(text).and_then(|parsed| parsed.validate(size)) {
        Ok(ranges) => ranges,
        Err(RangeUnsatisfiableError::Unsatisfiable) => return RangeReply::Unsatisfiable,
        Err(_) => return RangeReply::Full,
    };
    match ranges.as_slice() {
        [one] => RangeReply::Partial {
            start: *one.start(),
            end: *one.end(),
        },
        _ => RangeReply::Full,
    }
}

#[cfg(test)]
mod tests {
    use super::RangeReply::*;
    use super::*;

    fn p(h: &str, size: u64) -> RangeReply {
        parse(Some(h.as_bytes()), size)
    }

    #[test]
    fn forms() {
        assert_eq!(p("bytes=0-4", 10), Partial { start: 0, end: 4 });
        assert_eq!(p("bytes=5-", 10), Partial { start: 5, end: 9 });
        assert_eq!(p("bytes=-3", 10), Partial { start: 7, end: 9 });
        assert_eq!(p("bytes=-30", 10), Partial { start: 0, end: 9 });
        assert_eq!(
            p("BYTES=2-99999999999999999999", 10),
            Partial { start: 2, end: 9 }
        );
        assert_eq!(p("bytes=10-", 10), Unsatisfiable);
        assert_eq!(p("bytes=-0", 10), Unsatisfiable);
        assert_eq!(p("bytes=0-0", 0), Unsatisfiable);
        assert_eq!(p("bytes=-5", 0), Full);
        assert_eq!(p("bytes = 2-3", 10), Full);
        assert_eq!(p("bytes=5-4", 10), Full);
        assert_eq!(p("bytes=0-1,3-4", 10), Full);
        assert_eq!(p("items=0-1", 10), Full);
        assert_eq!(p("bytes=x-1", 10), Full);
        assert_eq!(p("bytes=-", 10), Full);
        assert_eq!(parse(Some(b"bytes=\xff-1"), 10), Full);
        assert_eq!(parse(None, 10), Full);
    }
}
