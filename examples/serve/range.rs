//! The `Range` request header, single ranges only (RFC 9110 §14).
//!
//! A request for several ranges would need a `multipart/byteranges` body; RFC 9110 lets a
//! server ignore any `Range` it does not want to honour and send the whole file, which is what
//! we do for those and for every malformed header. Only a well-formed range that lies entirely
//! past the end of the file is answered with 416.

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
    let Some(header) = header else {
        return RangeReply::Full;
    };
    let Some(spec) = strip_unit(trim(header)) else {
        return RangeReply::Full;
    };
    if spec.contains(&b',') {
        return RangeReply::Full;
    }
    let Some(dash) = spec.iter().position(|&b| b == b'-') else {
        return RangeReply::Full;
    };
    let (first, last) = (trim(&spec[..dash]), trim(&spec[dash + 1..]));
    match (number(first), number(last)) {
        // `-n`: the last n bytes.
        (None, Some(n)) if first.is_empty() => {
            if n == 0 || size == 0 {
                RangeReply::Unsatisfiable
            } else {
                RangeReply::Partial {
                    start: size - n.min(size),
                    end: size - 1,
                }
            }
        }
        // `a-`: from a to the end.
        (Some(start), None) if last.is_empty() => satisfiable(start, u64::MAX, size),
        // `a-b`, inclusive; b past the end is clipped.
        (Some(start), Some(end)) if start <= end => satisfiable(start, end, size),
        _ => RangeReply::Full,
    }
}

fn satisfiable(start: u64, end: u64, size: u64) -> RangeReply {
    if start >= size {
        RangeReply::Unsatisfiable
    } else {
        RangeReply::Partial {
            start,
            end: end.min(size - 1),
        }
    }
}

/// `bytes=` (the unit is case-insensitive), or `None` for any other unit.
fn strip_unit(spec: &[u8]) -> Option<&[u8]> {
    let eq = spec.iter().position(|&b| b == b'=')?;
    trim(&spec[..eq])
        .eq_ignore_ascii_case(b"bytes")
        .then(|| &spec[eq + 1..])
}

/// A non-empty run of ASCII digits; values beyond `u64` saturate (they are past any file's
/// end anyway, and a clipped last-byte position means "to the end").
fn number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    &bytes[start..end]
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
            p("BYTES = 2-99999999999999999999999", 10),
            Partial { start: 2, end: 9 }
        );
        assert_eq!(p("bytes=10-", 10), Unsatisfiable);
        assert_eq!(p("bytes=-0", 10), Unsatisfiable);
        assert_eq!(p("bytes=0-0", 0), Unsatisfiable);
        assert_eq!(p("bytes=5-4", 10), Full);
        assert_eq!(p("bytes=0-1,3-4", 10), Full);
        assert_eq!(p("items=0-1", 10), Full);
        assert_eq!(p("bytes=x-1", 10), Full);
        assert_eq!(p("bytes=-", 10), Full);
        assert_eq!(parse(None, 10), Full);
    }
}
