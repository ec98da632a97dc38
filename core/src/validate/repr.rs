//! Python's `repr()` and `int()` for the values the validator reports and parses.
//!
//! CPython's validator messages embed `%r` renderings (`'abc'`, `[('X', 'y')]`), and it parses
//! status codes and `CONTENT_LENGTH` with `int()`. Reproducing both keeps our messages and
//! verdicts the ones a wsgiref user knows. Everything here writes into fixed buffers: a
//! rendering longer than [`TEXT_CAP`] bytes is cut and ends in `...`.

use core::fmt::{self, Write as _};

/// The most bytes a rendered value keeps inside a [`ValidationError`] or [`Warning`]
/// (longer ones are cut and end in `...`); bounded so that neither needs an allocator.
///
/// [`ValidationError`]: super::ValidationError
/// [`Warning`]: super::Warning
pub const TEXT_CAP: usize = 88;

/// A value rendered the way Python's `repr()` shows it, kept in a fixed buffer.
///
/// ```
/// use wsgiref_core::validate::Text;
/// assert_eq!(Text::repr("it's").as_str(), "\"it's\"");
/// assert_eq!(Text::repr_bytes(b"/caf\xe9\n").as_str(), "'/caf\u{e9}\\n'");
/// assert_eq!(Text::repr_headers(&[("X", "y")]).as_str(), "[('X', 'y')]");
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Text(heapless::String<TEXT_CAP>);

impl Text {
    /// `repr(s)` of a Python `str`.
    pub fn repr(s: &str) -> Self {
        Self::render(|w| write_str_repr(w, s.chars()))
    }

    /// `repr()` of a native string: bytes shown as the Latin-1 `str` PEP 3333 makes of them
    /// (environ values are such bytes here).
    pub fn repr_bytes(b: &[u8]) -> Self {
        Self::render(|w| write_str_repr(w, b.iter().map(|&c| char::from(c))))
    }

    /// `str()` of a Python list of `(name, value)` tuples, as `check_content_type` shows the
    /// headers.
    pub fn repr_headers(headers: &[(&str, &str)]) -> Self {
        Self::render(|w| {
            w.write_char('[')?;
            for (i, (name, value)) in headers.iter().enumerate() {
                if i > 0 {
                    w.write_str(", ")?;
                }
                w.write_char('(')?;
                write_str_repr(w, name.chars())?;
                w.write_str(", ")?;
                write_str_repr(w, value.chars())?;
                w.write_char(')')?;
            }
            w.write_char(']')
        })
    }

    /// The rendered text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn render(f: impl FnOnce(&mut Bounded) -> fmt::Result) -> Self {
        let mut w = Bounded {
            text: heapless::String::new(),
            cut: false,
        };
        // `Bounded` never fails: what does not fit is cut, not refused.
        let _ = f(&mut w);
        Text(w.text)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A `fmt::Write` into a [`TEXT_CAP`]-byte string that cuts instead of failing: once something
/// does not fit, the text ends in `...` and later writes are ignored.
struct Bounded {
    text: heapless::String<TEXT_CAP>,
    cut: bool,
}

impl fmt::Write for Bounded {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if self.cut {
                break;
            }
            if self.text.push(c).is_err() {
                self.cut = true;
                while TEXT_CAP - self.text.len() < 3 {
                    self.text.pop();
                }
                let _ = self.text.push_str("...");
            }
        }
        Ok(())
    }
}

/// Write `repr()` of the Python `str` made of `chars`: CPython's quote choice (single quotes
/// unless the text has a `'` and no `"`) and escapes.
fn write_str_repr<I>(w: &mut dyn fmt::Write, chars: I) -> fmt::Result
where
    I: Iterator<Item = char> + Clone,
{
    let (mut single, mut double) = (false, false);
    for c in chars.clone() {
        single |= c == '\'';
        double |= c == '"';
    }
    let quote = if single && !double { '"' } else { '\'' };
    w.write_char(quote)?;
    for c in chars {
        match c {
            '\\' => w.write_str("\\\\")?,
            '\t' => w.write_str("\\t")?,
            '\n' => w.write_str("\\n")?,
            '\r' => w.write_str("\\r")?,
            c if c == quote => {
                w.write_char('\\')?;
                w.write_char(c)?;
            }
            c if is_printable(c) => w.write_char(c)?,
            c if (c as u32) <= 0xff => write!(w, "\\x{:02x}", c as u32)?,
            c if (c as u32) <= 0xffff => write!(w, "\\u{:04x}", c as u32)?,
            c => write!(w, "\\U{:08x}", c as u32)?,
        }
    }
    w.write_char(quote)
}

/// Python's `str.isprintable()` for one character: exact for Latin-1; above it, the space
/// separators, line/paragraph separators, format characters and private-use ranges are
/// non-printable. (CPython also escapes unassigned code points, which needs the Unicode
/// database; they are shown as they are here.)
fn is_printable(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        return (0x20..0x7f).contains(&u);
    }
    !matches!(u,
        0x80..=0xa0 | 0xad
        | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x890..=0x891 | 0x8e2
        | 0x1680 | 0x180e | 0x2000..=0x200f | 0x2028..=0x202f | 0x205f..=0x206f
        | 0x3000 | 0xd800..=0xf8ff | 0xfeff | 0xfff9..=0xfffb
        | 0x110bd | 0x110cd | 0x13430..=0x1343f | 0x1bca0..=0x1bca3 | 0x1d173..=0x1d17a
        | 0xe0001 | 0xe0020..=0xe007f | 0xf0000..=0x10ffff)
}

/// Whitespace as `str.split()` sees it (`str.isspace()`): Unicode's, plus the ASCII
/// separators `\x1c`..`\x1f`.
pub(crate) fn is_split_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// Whitespace `int()` strips: ASCII space, `\t \n \v \f \r`, and non-ASCII whitespace (but not
/// `\x1c`..`\x1f`, which `int()` keeps as they are and then refuses).
fn is_int_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
        || (c as u32 > 0x7f && c.is_whitespace())
}

/// The value of Python's `int(text)` (base 10), or `None` where Python raises `ValueError`.
///
/// Surrounding whitespace, one `+` or `-`, and single `_` between digits are accepted, as in
/// Python. Returns the sign and the magnitude, saturated at `u64::MAX` (the validator only
/// needs the sign and a body limit, Python's integers being unbounded). Only ASCII digits count:
/// Python also takes other Unicode decimal digits (`'١٢٣'`); environ values, being Latin-1,
/// cannot hold any, and a status holding them is refused here (the handler refuses it anyway).
pub(crate) fn parse_int<I: Iterator<Item = char>>(chars: I) -> Option<(bool, u64)> {
    let mut it = chars.peekable();
    while it.next_if(|&c| is_int_space(c)).is_some() {}
    let negative = match it.peek() {
        Some('-') => true,
        Some('+') => false,
        _ => {
            return digits(it).map(|m| (false, m));
        }
    };
    it.next();
    digits(it).map(|m| (negative, m))
}

/// Digits with single `_` between them, then only whitespace.
fn digits<I: Iterator<Item = char>>(mut it: core::iter::Peekable<I>) -> Option<u64> {
    let mut magnitude = 0u64;
    let mut count = 0usize;
    let mut after_underscore = false;
    loop {
        match it.next() {
            Some(c) if c.is_ascii_digit() => {
                let d = u64::from(c as u8 - b'0');
                magnitude = magnitude.saturating_mul(10).saturating_add(d);
                count += 1;
                after_underscore = false;
            }
            Some('_') if count > 0 && !after_underscore => after_underscore = true,
            Some(c) if is_int_space(c) && count > 0 && !after_underscore => {
                return it.all(is_int_space).then_some(magnitude);
            }
            None if count > 0 && !after_underscore => return Some(magnitude),
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values come from CPython 3.11: `repr(s)` and `int(s)`.
    #[test]
    fn repr_matches_python() {
        let cases: &[(&str, &str)] = &[
            ("abc", "'abc'"),
            ("a'b", "\"a'b\""),
            ("a\"b", "'a\"b'"),
            ("a'\"b", "'a\\'\"b'"),
            ("\\", "'\\\\'"),
            ("\x00\x1f\x7f", "'\\x00\\x1f\\x7f'"),
            ("\t\r\n", "'\\t\\r\\n'"),
            (
                "\u{80}\u{a0}\u{ad}\u{e9}\u{2028}\u{200b}\u{feff}\u{e000}\u{1F600}",
                "'\\x80\\xa0\\xad\u{e9}\\u2028\\u200b\\ufeff\\ue000\u{1F600}'",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(Text::repr(input).as_str(), *want, "repr of {input:?}");
        }
        assert_eq!(
            Text::repr_headers(&[("X", "y"), ("a\"", "b'")]).as_str(),
            "[('X', 'y'), ('a\"', \"b'\")]"
        );
        assert_eq!(Text::repr_headers(&[]).as_str(), "[]");
    }

    #[test]
    fn long_renderings_are_cut_with_an_ellipsis() {
        let long = "é".repeat(100);
        let t = Text::repr(&long);
        assert!(t.as_str().len() <= TEXT_CAP);
        assert!(t.as_str().starts_with("'éé"));
        assert!(t.as_str().ends_with("..."));
        // Exactly full is not cut.
        let exact = "x".repeat(TEXT_CAP - 2);
        assert_eq!(Text::repr(&exact).as_str().len(), TEXT_CAP);
        assert!(!Text::repr(&exact).as_str().ends_with("..."));
    }

    #[test]
    fn int_follows_python() {
        let ok: &[(&str, (bool, u64))] = &[
            (" 12 ", (false, 12)),
            ("+12", (false, 12)),
            ("1_0", (false, 10)),
            ("-0", (true, 0)),
            ("-00_0", (true, 0)),
            ("007", (false, 7)),
            ("\u{a0}12", (false, 12)),
            ("\u{85}12\n", (false, 12)),
            ("99999999999999999999999", (false, u64::MAX)),
        ];
        for (s, want) in ok {
            assert_eq!(parse_int(s.chars()), Some(*want), "int({s:?})");
        }
        for s in [
            "",
            " ",
            "- 1",
            "1__0",
            "_10",
            "10_",
            "\x1c12\x1f",
            "0x10",
            "+-1",
            "1 2",
            "١٢٣",
        ] {
            assert_eq!(parse_int(s.chars()), None, "int({s:?}) should fail");
        }
    }
}
