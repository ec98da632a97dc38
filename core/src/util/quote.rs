//! Percent-quoting as `urllib.parse.quote(value, safe, encoding="latin1")` does it, and
//! latin-1 output, both into a `core::fmt::Write` sink.
//!
//! Environ values are bytes that PEP 3333 calls latin-1 text, so "encode as latin-1" is the
//! identity here: every byte is quoted on its own, and bytes `>= 0x80` always become `%XX`.

use core::fmt::{self, Write};

/// Characters `quote` never escapes, whatever `safe` says: ASCII letters and digits and
/// `_ . - ~` (RFC 3986 "unreserved").
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'~')
}

/// The extra safe set `application_uri` uses for `SCRIPT_NAME` (`quote`'s default).
pub(crate) const SCRIPT_NAME_SAFE: &[u8] = b"/";
/// The extra safe set `request_uri` uses for `PATH_INFO`.
pub(crate) const PATH_INFO_SAFE: &[u8] = b"/;=,";

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Write bytes that are known to be ASCII. They always are at the call sites; the check keeps
/// a mistake from becoming a panic.
fn write_ascii<W: Write + ?Sized>(out: &mut W, bytes: &[u8]) -> fmt::Result {
    out.write_str(core::str::from_utf8(bytes).map_err(|_| fmt::Error)?)
}

/// Percent-quote `value`: unreserved bytes and bytes in `safe` (ASCII only) pass, every other
/// byte becomes `%XX` with uppercase hex. An existing `%41` is re-escaped to `%2541`, as
/// CPython does.
pub(crate) fn quote<W: Write + ?Sized>(value: &[u8], safe: &[u8], out: &mut W) -> fmt::Result {
    let mut run_start = 0;
    for (i, &b) in value.iter().enumerate() {
        if is_unreserved(b) || (b.is_ascii() && safe.contains(&b)) {
            continue;
        }
        write_ascii(out, &value[run_start..i])?;
        let escaped = [
            b'%',
            HEX_UPPER[usize::from(b >> 4)],
            HEX_UPPER[usize::from(b & 0x0f)],
        ];
        write_ascii(out, &escaped)?;
        run_start = i + 1;
    }
    write_ascii(out, &value[run_start..])
}

/// Write bytes verbatim as the latin-1 text they stand for: ASCII as is, each byte `>= 0x80`
/// as the character U+0080..U+00FF. The sink then holds exactly the "native string" CPython
/// would have built.
pub(crate) fn write_latin1<W: Write + ?Sized>(out: &mut W, bytes: &[u8]) -> fmt::Result {
    let mut run_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b.is_ascii() {
            continue;
        }
        write_ascii(out, &bytes[run_start..i])?;
        out.write_char(char::from(b))?;
        run_start = i + 1;
    }
    write_ascii(out, &bytes[run_start..])
}

/// A sink that drops the first character written through it: `request_uri` removes the first
/// character of the *quoted* `PATH_INFO` when `SCRIPT_NAME` is empty.
pub(crate) struct SkipFirstChar<'w, W: Write + ?Sized> {
    out: &'w mut W,
    skipped: bool,
}

impl<'w, W: Write + ?Sized> SkipFirstChar<'w, W> {
    pub(crate) fn new(out: &'w mut W) -> Self {
        SkipFirstChar {
            out,
            skipped: false,
        }
    }
}

impl<W: Write + ?Sized> Write for SkipFirstChar<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.skipped {
            return self.out.write_str(s);
        }
        let mut chars = s.chars();
        if chars.next().is_some() {
            self.skipped = true;
        }
        self.out.write_str(chars.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(value: &[u8], safe: &[u8]) -> heapless::String<64> {
        let mut s = heapless::String::new();
        quote(value, safe, &mut s).unwrap();
        s
    }

    #[test]
    fn quote_follows_urllib() {
        assert_eq!(quoted(b"/sp\xe4m", SCRIPT_NAME_SAFE), "/sp%E4m");
        assert_eq!(quoted(b"a b%41~_.-", SCRIPT_NAME_SAFE), "a%20b%2541~_.-");
        assert_eq!(quoted(b";=,/", SCRIPT_NAME_SAFE), "%3B%3D%2C/");
        assert_eq!(quoted(b";=,/", PATH_INFO_SAFE), ";=,/");
        assert_eq!(quoted(b"\x00\xff?#", PATH_INFO_SAFE), "%00%FF%3F%23");
        assert_eq!(quoted(b"", PATH_INFO_SAFE), "");
    }

    #[test]
    fn latin1_bytes_become_their_code_points() {
        let mut s = heapless::String::<16>::new();
        write_latin1(&mut s, b"h\xe9:\xff").unwrap();
        assert_eq!(s, "h\u{e9}:\u{ff}");
    }

    #[test]
    fn skip_first_char_drops_one_character_only() {
        let mut s = heapless::String::<16>::new();
        {
            let mut w = SkipFirstChar::new(&mut s);
            w.write_str("").unwrap();
            w.write_str("%2").unwrap();
            w.write_str("0x").unwrap();
        }
        assert_eq!(s, "20x");
    }
}
