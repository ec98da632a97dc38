//! Small helpers for byte strings that PEP 3333 treats as latin-1 text.

use core::fmt;

/// Shows bytes the way Python shows a latin-1 "native string": printable ASCII as is, other
/// bytes escaped (`\xe9`), so `Debug` output of environs stays readable and unambiguous.
pub(crate) struct Latin1<'b>(pub(crate) &'b [u8]);

impl fmt::Debug for Latin1<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for &b in self.0 {
            match b {
                b'"' => f.write_str("\\\"")?,
                b'\\' => f.write_str("\\\\")?,
                0x20..=0x7e => fmt::Write::write_char(f, b as char)?,
                _ => write!(f, "\\x{b:02x}")?,
            }
        }
        f.write_str("\"")
    }
}

/// ASCII case-insensitive equality. The length check is inline (it settles most
/// comparisons of header names at once); the byte loop is out of line, because the standard
/// method inlines it at every call and the request path compares names and tokens at a dozen
/// places (about 100 B of Cortex-M code each).
#[inline]
pub(crate) fn eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && eq_ignore_case_same_len(a, b)
}

/// On hosts, eight bytes per step: the standard loop folds and compares byte by byte, about
/// 19 instructions a byte (190 of the typical request went on one `keep-alive` token).
/// Bare-metal targets keep the standard loop, which is smaller.
#[inline(never)]
fn eq_ignore_case_same_len(a: &[u8], b: &[u8]) -> bool {
    #[cfg(not(target_os = "none"))]
    {
        let n = a.len();
        if n >= 8 && n == b.len() {
            let differ = |i: usize| {
                word::ascii_lower(word::load(a, i)) != word::ascii_lower(word::load(b, i))
            };
            return !word::any_word(n, differ);
        }
    }
    a.eq_ignore_ascii_case(b)
}

/// Defines `fn $name(b: u8) -> u8` as the byte mapping `$source` (a `const fn`), looked up
/// in a 256-byte table built from it on hosts (one load per byte on the request path) and
/// computed on bare-metal targets (`target_os = "none"`), where the 256 bytes of flash
/// matter more than the few instructions per byte. One definition of that trade-off for
/// every byte-class table of the request path; host tests exercise `$source` through the
/// table, so both targets run the same mapping.
macro_rules! byte_map {
    ($(#[$attr:meta])* $vis:vis fn $name:ident = $source:path;) => {
        $(#[$attr])*
        #[inline(always)]
        $vis fn $name(b: u8) -> u8 {
            #[cfg(not(target_os = "none"))]
            {
                static TABLE: [u8; 256] = {
                    let mut table = [0u8; 256];
                    let mut i = 0;
                    while i < 256 {
                        table[i] = $source(i as u8);
                        i += 1;
                    }
                    table
                };
                TABLE[usize::from(b)]
            }
            #[cfg(target_os = "none")]
            {
                $source(b)
            }
        }
    };
}
pub(crate) use byte_map;

/// Does `bytes` hold a control character (C0 or DEL; with `allow_tab`, a tab is allowed)?
///
/// Every byte is looked at, with no early exit, so that the compiler can test many bytes per
/// instruction: response header names and values are checked on every request, and valid ones
/// (the common case) are read to the end anyway. Measured with `bench/instructions.sh`: 74
/// instructions fewer per request for one header than `iter().any()` (a six-byte status is
/// quicker with `any()`, which `check_status` keeps).
///
/// On hosts, names and values of eight bytes or more are tested eight bytes per step first
/// (65 instructions a response fewer for one `Content-Type: text/plain`); a word with a byte
/// below 0x20 or a DEL sends the slice to the exact loop, which also lets a tab through.
pub(crate) fn has_ctl(bytes: &[u8], allow_tab: bool) -> bool {
    #[cfg(not(target_os = "none"))]
    if bytes.len() >= 8 {
        let maybe_ctl = |i: usize| {
            let x = word::load(bytes, i);
            word::below(x, 0x20) | word::equal(x, 0x7f) != 0
        };
        if !word::any_word(bytes.len(), maybe_ctl) {
            return false;
        }
    }
    bytes.iter().fold(false, |found, &b| {
        found | (((b < 0x20) | (b == 0x7f)) & !(allow_tab & (b == b'\t')))
    })
}

/// Eight bytes at a time, in a `u64` (SWAR): the tests the hot paths on hosts run a word at a
/// time. Each answer has the top bit of a byte set for the bytes that pass; borrows between
/// bytes only ever mark bytes above one that really passes, so "any" is exact and the lowest
/// mark (`trailing_zeros() / 8`, the words being little-endian) is the first such byte.
#[cfg(not(target_os = "none"))]
pub(crate) mod word {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x80 * ONES;

    /// Whether `hit(i)` holds for one of the words that cover `len` bytes (at least eight):
    /// the whole words from the start, then the last eight bytes, which may overlap the word
    /// before them. Stops at the first hit.
    #[inline(always)]
    pub(crate) fn any_word(len: usize, mut hit: impl FnMut(usize) -> bool) -> bool {
        let mut i = 0;
        while i + 8 < len {
            if hit(i) {
                return true;
            }
            i += 8;
        }
        hit(len - 8)
    }

    /// The eight bytes of `s` from `i`, first byte lowest.
    #[inline(always)]
    pub(crate) fn load(s: &[u8], i: usize) -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[i..i + 8]);
        u64::from_le_bytes(w)
    }

    /// Bytes below `n` (at most 0x80).
    #[inline(always)]
    pub(crate) fn below(x: u64, n: u8) -> u64 {
        x.wrapping_sub(u64::from(n) * ONES) & !x & HIGH
    }

    /// Bytes equal to `b`.
    #[inline(always)]
    pub(crate) fn equal(x: u64, b: u8) -> u64 {
        below(x ^ (u64::from(b) * ONES), 1)
    }

    /// `A`..=`Z` lower-cased in each byte, every other byte (`0x80..` included) kept: the
    /// byte-parallel [`u8::to_ascii_lowercase`].
    #[inline(always)]
    pub(crate) fn ascii_lower(x: u64) -> u64 {
        // Each byte's low seven bits plus a constant that sets its top bit exactly when they
        // are above `Z` (or at least `A`); the sums stay below 0x100, so bytes do not carry.
        let low = x & !HIGH;
        let above_z = low + u64::from(0x7f - b'Z') * ONES;
        let from_a = low + u64::from(0x80 - b'A') * ONES;
        let upper = !x & (from_a ^ above_z) & HIGH;
        // 0x80 >> 2 is the case bit, 0x20.
        x | (upper >> 2)
    }
}

/// How many UTF-8 characters `text` holds, counting no further than `limit`. (Counting only
/// leading bytes; `text` comes from a `&str`, so it is well formed.)
pub(crate) fn chars_at_least(text: &[u8], limit: usize) -> bool {
    text.iter()
        .filter(|&&b| b & 0xC0 != 0x80)
        .take(limit)
        .count()
        >= limit
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
pub(crate) fn prefix_on_boundary(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `dst.copy_from_slice(src)` for slices of equal length. On hosts, slices of 1 to 32 bytes
/// (nearly all CGI variable names, most values, and every piece of a typical response head:
/// a status, a header name or value, a line end, Content-Length's digits) are copied by
/// overlapping fixed-size moves instead of a call to `memcpy`. A written-out environ takes a
/// dozen or two such copies per request (`bench/instructions.sh`: 245 instructions fewer for
/// the typical request); staging the response head took five more `memcpy` calls, 4 to 9%
/// of a typical request's time on an AVX-512 host (`bench/ab.sh`), where the call and its
/// size dispatch cost more than the copy. On bare-metal targets (`target_os = "none"`) the
/// moves cost 280 B of flash in the minimal firmware, so `copy_from_slice` stays.
#[inline(always)]
pub(crate) fn copy_short(dst: &mut [u8], src: &[u8]) {
    #[cfg(not(target_os = "none"))]
    {
        let n = src.len();
        if dst.len() == n {
            if (8..=16).contains(&n) {
                dst[..8].copy_from_slice(&src[..8]);
                dst[n - 8..].copy_from_slice(&src[n - 8..]);
                return;
            }
            if (17..=32).contains(&n) {
                dst[..16].copy_from_slice(&src[..16]);
                dst[n - 16..].copy_from_slice(&src[n - 16..]);
                return;
            }
            if (4..8).contains(&n) {
                dst[..4].copy_from_slice(&src[..4]);
                dst[n - 4..].copy_from_slice(&src[n - 4..]);
                return;
            }
            if (1..4).contains(&n) {
                // First, middle and last byte: all three lengths, with no loop.
                dst[0] = src[0];
                dst[n / 2] = src[n / 2];
                dst[n - 1] = src[n - 1];
                return;
            }
        }
    }
    dst.copy_from_slice(src);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `copy_short` copies every length it has a path for, and the ones around them, and
    /// writes nothing past the destination.
    #[test]
    fn copy_short_copies_every_length() {
        let src: std::vec::Vec<u8> = (0..40u8).map(|b| b.wrapping_mul(37)).collect();
        for n in 0..=40 {
            let mut dst = [0xAAu8; 40];
            copy_short(&mut dst[..n], &src[..n]);
            assert_eq!(&dst[..n], &src[..n], "length {n}");
            assert!(dst[n..].iter().all(|&b| b == 0xAA), "past length {n}");
        }
    }

    proptest! {
        /// The same answers as the standard comparison, for any bytes: letters in both cases,
        /// the bytes around them (`@`, `[`, `` ` ``, `{`) and non-ASCII bytes.
        #[cfg_attr(miri, ignore)]
        #[test]
        fn eq_ignore_case_is_the_standard_comparison(
            a in prop::collection::vec(prop::sample::select(
                b"aAzZmM@[`{-\x80\xc1\xe1\xfa\xda0".to_vec()), 0..40),
            flips in prop::collection::vec(any::<bool>(), 40),
            other in prop::collection::vec(any::<u8>(), 0..40),
        ) {
            // `a` against a copy with some letters' case flipped (equal), and against `other`.
            let flipped: std::vec::Vec<u8> = a
                .iter()
                .zip(&flips)
                .map(|(&c, &f)| if f && c.is_ascii_alphabetic() { c ^ 0x20 } else { c })
                .collect();
            prop_assert!(eq_ignore_case(&a, &flipped));
            prop_assert_eq!(eq_ignore_case(&a, &other), a.eq_ignore_ascii_case(&other));
            let mut changed = flipped.clone();
            if let Some(c) = changed.last_mut() {
                *c ^= 0x20;
                prop_assert_eq!(eq_ignore_case(&a, &changed), a.eq_ignore_ascii_case(&changed));
            }
            let mut first = flipped;
            if let Some(c) = first.first_mut() {
                *c ^= 0x01;
                prop_assert_eq!(eq_ignore_case(&a, &first), a.eq_ignore_ascii_case(&first));
            }
        }
    }

    #[cfg(not(target_os = "none"))]
    #[test]
    fn word_ascii_lower_is_bytewise_lowercase() {
        for b in 0..=255u8 {
            let x = u64::from_le_bytes([b, b'A', b'z', 0x80 | b, b'[', b'@', 0xff, b'Z']);
            let want = x.to_le_bytes().map(|c| c.to_ascii_lowercase());
            assert_eq!(word::ascii_lower(x).to_le_bytes(), want, "{b:#x}");
        }
    }

    #[cfg_attr(miri, ignore)] // 77,000 slices
    #[test]
    fn has_ctl_finds_c0_and_del_anywhere() {
        assert!(!has_ctl(b"", false));
        assert!(!has_ctl(b"text/plain; charset=utf-8", false));
        assert!(!has_ctl("caf\u{e9} \u{80}".as_bytes(), false));
        for bad in [0x00, 0x0a, 0x0d, 0x1f, 0x7f] {
            for at in 0..20 {
                let mut v = [b'a'; 20];
                v[at] = bad;
                assert!(has_ctl(&v, false), "{bad:#x} at {at}");
                assert!(has_ctl(&v, true), "{bad:#x} at {at}");
            }
        }
        assert!(has_ctl(b"a\tb", false));
        assert!(!has_ctl(b"a\tb", true));
        // Every byte value at every position of 1 to 24 bytes (whole words, the overlapping
        // last word, the short loop), over a background of bytes just above the limits.
        for len in 1..=24usize {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut v = std::vec![0x20u8; len];
                    for (i, c) in v.iter_mut().enumerate() {
                        *c = [0x20, 0x7e, 0x80, 0xff, b'a'][i % 5];
                    }
                    v[at] = b;
                    let ctl = b < 0x20 || b == 0x7f;
                    assert_eq!(has_ctl(&v, false), ctl, "{b:#x} at {at} of {len}");
                    assert_eq!(
                        has_ctl(&v, true),
                        ctl && b != b'\t',
                        "{b:#x} at {at} of {len}"
                    );
                }
            }
        }
    }

    #[test]
    fn character_counting_and_boundaries() {
        assert!(chars_at_least("200 OK".as_bytes(), 4));
        assert!(!chars_at_least("200".as_bytes(), 4));
        assert!(!chars_at_least("é€x".as_bytes(), 4));
        assert!(chars_at_least("é€xy".as_bytes(), 4));
        assert_eq!(prefix_on_boundary("aé", 2), "a");
        assert_eq!(prefix_on_boundary("aé", 3), "aé");
        assert_eq!(prefix_on_boundary("aé", 9), "aé");
    }
}
