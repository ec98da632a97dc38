//! [`Headers`]: response headers with the mapping-like API of Python's `wsgiref.headers`.
//!
//! Lookups are case-insensitive and return the first value; [`Headers::set`] removes every
//! existing value and appends at the end; order is otherwise kept; getting or removing a
//! missing name is not an error. Names and values holding control characters are refused
//! ([`HeaderError::ControlCharacter`]), as the newest CPython does: a header value with CR/LF in
//! it would let an application (or whoever feeds it data) inject headers or a second response.
//!
//! Memory works as for [`Environ`](crate::environ::Environ): [`Headers::fixed`] over caller
//! memory with no allocation, or [`Headers::new`] growing under a limit with `alloc`.
//!
//! ```
//! use wsgiref_core::headers::HeadersBuf;
//!
//! let mut buf = HeadersBuf::<256, 8>::new();
//! let mut h = buf.headers();
//! h.add_header("content-disposition", Some("attachment"), &[("filename", Some("bud.gif"))])?;
//! assert_eq!(h.get("Content-Disposition"), Some(r#"attachment; filename="bud.gif""#));
//! h.set("Content-Type", "text/plain")?;
//! let mut wire = [0u8; 128];
//! let n = h.write_to(&mut wire)?;
//! assert_eq!(
//!     &wire[..n],
//!     b"content-disposition: attachment; filename=\"bud.gif\"\r\nContent-Type: text/plain\r\n\r\n"
//! );
//! # Ok::<(), wsgiref_core::headers::HeaderError>(())
//! ```

use core::fmt;

use crate::bytes::has_ctl;
use crate::storage::{name_bit, CapacityError, CapacityKind, Slot, Table};

/// Why a header operation failed. The headers are unchanged after any error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HeaderError {
    /// The storage is full.
    Capacity(CapacityError),
    /// A name contained a byte in `0x00..=0x1F` or `0x7F`, or a value contained one other
    /// than TAB. CPython's message: "Control characters not allowed in headers".
    ControlCharacter {
        /// True when the name was at fault, false for the value (or a parameter).
        in_name: bool,
    },
}

impl From<CapacityError> for HeaderError {
    fn from(e: CapacityError) -> Self {
        HeaderError::Capacity(e)
    }
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::Capacity(e) => write!(f, "headers {e}"),
            HeaderError::ControlCharacter { .. } => {
                f.write_str("Control characters not allowed in headers")
            }
        }
    }
}

impl core::error::Error for HeaderError {}

pub(crate) fn check_name(name: &str) -> Result<(), HeaderError> {
    if has_ctl(name.as_bytes(), false) {
        return Err(HeaderError::ControlCharacter { in_name: true });
    }
    Ok(())
}

pub(crate) fn check_value(value: &str) -> Result<(), HeaderError> {
    if has_ctl(value.as_bytes(), true) {
        return Err(HeaderError::ControlCharacter { in_name: false });
    }
    Ok(())
}

/// CPython's `a.lower() == b.lower()` for a stored name `a` and a queried name `b`, without
/// allocating.
///
/// CPython lower-cases with the full Unicode mapping, so `"\u{212a}"` (KELVIN SIGN) matches `k`
/// and `"\u{130}"` matches `"i\u{307}"`; so does this. ASCII-only names, the usual case, take a
/// byte-wise path. One difference is left on purpose: `str.lower()` turns a capital sigma at the
/// end of a word into `ς`, a rule that needs Unicode properties `core` does not expose; here `Σ`
/// always lower-cases to `σ`. Header names are ASCII tokens on the wire, so only names made up
/// by an application can meet it.
fn eq_ignore_case(a: &[u8], b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b.as_bytes());
    }
    as_str(a)
        .chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

fn as_str(bytes: &[u8]) -> &str {
    // Only `&str` ever enters the table, so this cannot fail; an empty string is returned
    // rather than panicking if that ever changed.
    core::str::from_utf8(bytes).unwrap_or("")
}

/// One `add_header` parameter: `(name, value)`, where `None` (or an empty value) gives a bare
/// `name` and a value gives `name="value"`.
pub type Param<'p> = (&'p str, Option<&'p str>);

/// Response headers: an ordered list of `(name, value)` pairs with a case-insensitive,
/// mapping-like API. See the [module docs](self).
pub struct Headers<'a> {
    table: Table<'a>,
}

impl fmt::Debug for Headers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Headers(")?;
        f.debug_list().entries(self.items()).finish()?;
        f.write_str(")")
    }
}

impl<'a> Headers<'a> {
    /// Byte limit of [`Headers::new`].
    pub const DEFAULT_BYTE_LIMIT: usize = 64 * 1024;
    /// Entry limit of [`Headers::new`].
    pub const DEFAULT_ENTRY_LIMIT: usize = 256;

    /// Empty headers over caller-owned memory; they never allocate.
    pub fn fixed(bytes: &'a mut [u8], slots: &'a mut [Slot]) -> Self {
        Headers {
            table: Table::fixed(bytes, slots),
        }
    }

    /// Empty, growable headers (feature `alloc`) limited to
    /// [`DEFAULT_BYTE_LIMIT`](Self::DEFAULT_BYTE_LIMIT) bytes and
    /// [`DEFAULT_ENTRY_LIMIT`](Self::DEFAULT_ENTRY_LIMIT) entries.
    #[cfg(feature = "alloc")]
    pub fn new() -> Headers<'static> {
        Headers::with_limits(Self::DEFAULT_BYTE_LIMIT, Self::DEFAULT_ENTRY_LIMIT)
    }

    /// Empty, growable headers with explicit limits (feature `alloc`).
    #[cfg(feature = "alloc")]
    pub fn with_limits(max_bytes: usize, max_entries: usize) -> Headers<'static> {
        Headers {
            table: Table::growable(max_bytes, max_entries),
        }
    }

    /// Python's `Headers(list)`: append each pair in order.
    ///
    /// All or nothing: if one pair is refused (a control character, or no room), the pairs
    /// appended before it are taken out again, so the headers are as they were before the call,
    /// just as CPython's constructor raises without giving an object.
    pub fn extend<'p>(
        &mut self,
        pairs: impl IntoIterator<Item = (&'p str, &'p str)>,
    ) -> Result<(), HeaderError> {
        let before = self.table.len();
        for (n, v) in pairs {
            if let Err(e) = self.append(n, v) {
                // Bounded: each step removes one of the entries this call added.
                while self.table.len() > before {
                    self.table.remove(self.table.len() - 1);
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// Number of entries, duplicates included (`len(h)`).
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.table.len() == 0
    }

    /// Remove every entry.
    pub fn clear(&mut self) {
        self.table.clear();
    }

    /// The first value of `name` (case-insensitive), or `None` (`h[name]`, `h.get(name)`).
    ///
    /// A name holding a control character is simply not found: it can never be stored. (The
    /// newest CPython raises `ValueError` for it instead; the same holds for
    /// [`contains`](Self::contains), [`get_all`](Self::get_all) and [`remove`](Self::remove).)
    pub fn get(&self, name: &str) -> Option<&str> {
        self.table
            .position(|n| eq_ignore_case(n, name))
            .map(|i| as_str(self.table.value(i)))
    }

    /// True when `name` has at least one value (`name in h`).
    pub fn contains(&self, name: &str) -> bool {
        self.table.position(|n| eq_ignore_case(n, name)).is_some()
    }

    /// Every value of `name`, in order (`h.get_all(name)`); empty when there is none.
    pub fn get_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.table
            .iter()
            .filter(move |(n, _)| eq_ignore_case(n, name))
            .map(|(_, v)| as_str(v))
    }

    /// Append `(name, value)` at the end, keeping existing values (a list `append`).
    pub fn append(&mut self, name: &str, value: &str) -> Result<(), HeaderError> {
        check_name(name)?;
        check_value(value)?;
        self.table.push(name.as_bytes(), value.as_bytes())?;
        Ok(())
    }

    /// Remove every value of `name`, then append `(name, value)` at the end (`h[name] = value`).
    ///
    /// If it fails, for lack of room or for a control character, the old values are kept.
    /// (The newest CPython deletes them before it notices a control character in `value`; we
    /// check first so that an error never leaves the headers half-changed.)
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), HeaderError> {
        check_name(name)?;
        check_value(value)?;
        // Check room first, counting what the removal frees, so a failure changes nothing.
        let (mut freed, mut removed) = (0, 0);
        for (n, v) in self.table.iter() {
            if eq_ignore_case(n, name) {
                freed += n.len() + v.len();
                removed += 1;
            }
        }
        self.table.check_room(
            self.table.bytes_used() - freed + name.len() + value.len(),
            self.table.len() - removed + 1,
        )?;
        self.table.remove_all(|n| eq_ignore_case(n, name));
        self.table.push(name.as_bytes(), value.as_bytes())?;
        Ok(())
    }

    /// If `name` has a value, return the first; otherwise append `(name, value)` and return
    /// `value` (`h.setdefault(name, value)`).
    pub fn setdefault(&mut self, name: &str, value: &str) -> Result<&str, HeaderError> {
        check_name(name)?;
        let i = match self.table.position(|n| eq_ignore_case(n, name)) {
            Some(i) => i,
            None => {
                check_value(value)?;
                self.table.push(name.as_bytes(), value.as_bytes())?
            }
        };
        Ok(as_str(self.table.value(i)))
    }

    /// Remove every value of `name` (`del h[name]`); returns how many went. A missing name
    /// is not an error.
    pub fn remove(&mut self, name: &str) -> usize {
        self.table.remove_all(|n| eq_ignore_case(n, name))
    }

    /// Every name, in order, duplicates included (`h.keys()`).
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.table.iter().map(|(n, _)| as_str(n))
    }

    /// Every value, in order (`h.values()`).
    pub fn values(&self) -> impl Iterator<Item = &str> + '_ {
        self.table.iter().map(|(_, v)| as_str(v))
    }

    /// Every `(name, value)` pair, in order (`h.items()`).
    pub fn items(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.table.iter().map(|(n, v)| (as_str(n), as_str(v)))
    }

    /// Append a header with parameters (`h.add_header(name, value, **params)`).
    ///
    /// The value is `value` (if any) and then each parameter, joined by `"; "`. A parameter
    /// name has `_` turned into `-` (Python keyword arguments cannot hold `-`; keeping the rule
    /// means code ported from Python produces the same bytes). A parameter whose value is
    /// `None` or empty is written as its bare name; otherwise as `name="value"`, with `\` and
    /// `"` escaped by a backslash.
    ///
    /// ```
    /// # use wsgiref_core::headers::HeadersBuf;
    /// let mut buf = HeadersBuf::<256, 4>::new();
    /// let mut h = buf.headers();
    /// h.add_header("Foo", Some("bar"), &[("cheese", None), ("max_age", Some("q\"t"))])?;
    /// assert_eq!(h.get("foo"), Some(r#"bar; cheese; max-age="q\"t""#));
    /// # Ok::<(), wsgiref_core::headers::HeaderError>(())
    /// ```
    pub fn add_header(
        &mut self,
        name: &str,
        value: Option<&str>,
        params: &[Param<'_>],
    ) -> Result<(), HeaderError> {
        if let Some(v) = value {
            check_value(v)?;
        }
        for (k, v) in params {
            // A parameter name is checked as a name (TAB refused), as CPython does.
            check_name(k)?;
            if let Some(v) = v {
                check_value(v)?;
            }
        }
        check_name(name)?;
        let mut measure = LenSink(0);
        add_header_value(value, params, &mut measure);
        let len = measure.0;
        self.table
            .push_with(name.as_bytes(), name_bit(name.as_bytes()), len, |dst| {
                let mut sink = SliceSink { dst, at: 0 };
                add_header_value(value, params, &mut sink);
            })?;
        Ok(())
    }

    /// Length of the wire form: `Name: value\r\n` per entry plus the final `\r\n`.
    pub fn encoded_len(&self) -> usize {
        self.table
            .iter()
            .map(|(n, v)| n.len() + v.len() + 4)
            .sum::<usize>()
            + 2
    }

    /// Write the wire form (Python's `bytes(h)`) into `out`; returns the byte count.
    ///
    /// The text is written as UTF-8, where CPython encodes latin-1 (`é` is one byte there,
    /// two here, and CPython raises `UnicodeEncodeError` above U+00FF). These are the bytes the
    /// handlers put on the wire (handler rule 8 in [`crate::handler`]), so a latin-1 variant
    /// would describe a head that is never sent. HTTP wants ASCII; for ASCII text the two
    /// encodings agree byte for byte.
    ///
    /// Fails with a capacity error, writing nothing useful, when `out` is too small.
    pub fn write_to(&self, out: &mut [u8]) -> Result<usize, HeaderError> {
        let needed = self.encoded_len();
        if needed > out.len() {
            return Err(HeaderError::Capacity(CapacityError {
                kind: CapacityKind::Bytes,
                needed,
                capacity: out.len(),
            }));
        }
        let mut at = 0;
        for (n, v) in self.table.iter() {
            for part in [n, b": ", v, b"\r\n"] {
                out[at..at + part.len()].copy_from_slice(part);
                at += part.len();
            }
        }
        out[at..at + 2].copy_from_slice(b"\r\n");
        Ok(at + 2)
    }

    /// The wire form as a vector (feature `alloc`): UTF-8, as [`write_to`](Self::write_to)
    /// explains (CPython's `bytes(h)` is latin-1).
    #[cfg(feature = "alloc")]
    pub fn to_bytes(&self) -> alloc::vec::Vec<u8> {
        let mut v = alloc::vec![0; self.encoded_len()];
        let n = self.write_to(&mut v).unwrap_or(0);
        v.truncate(n);
        v
    }
}

impl fmt::Display for Headers<'_> {
    /// The wire form, as Python's `str(h)`: `Name: value\r\n` per entry, then `\r\n`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, v) in self.items() {
            write!(f, "{n}: {v}\r\n")?;
        }
        f.write_str("\r\n")
    }
}

trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

struct LenSink(usize);

impl Sink for LenSink {
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
}

struct SliceSink<'d> {
    dst: &'d mut [u8],
    at: usize,
}

impl Sink for SliceSink<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.dst[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += bytes.len();
    }
}

/// Produce an `add_header` value into `sink` (run twice: once to measure, once to write).
fn add_header_value<S: Sink>(value: Option<&str>, params: &[Param<'_>], sink: &mut S) {
    let mut first = true;
    let mut sep = |sink: &mut S| {
        if !first {
            sink.put(b"; ");
        }
        first = false;
    };
    if let Some(v) = value {
        sep(sink);
        sink.put(v.as_bytes());
    }
    for (k, v) in params {
        sep(sink);
        for b in k.bytes() {
            sink.put(if b == b'_' {
                b"-"
            } else {
                core::slice::from_ref(&b)
            });
        }
        match v {
            Some(v) if !v.is_empty() => {
                sink.put(b"=\"");
                for b in v.bytes() {
                    match b {
                        b'\\' => sink.put(b"\\\\"),
                        b'"' => sink.put(b"\\\""),
                        _ => sink.put(core::slice::from_ref(&b)),
                    }
                }
                sink.put(b"\"");
            }
            _ => {}
        }
    }
}

/// Fixed storage for [`Headers`] of up to `BYTES` bytes and `SLOTS` entries.
///
/// ```
/// use wsgiref_core::headers::HeadersBuf;
/// let mut buf = HeadersBuf::<256, 8>::new();
/// let mut h = buf.headers();
/// h.set("X", "1")?;
/// assert_eq!(h.to_string(), "X: 1\r\n\r\n");
/// # Ok::<(), wsgiref_core::headers::HeaderError>(())
/// ```
pub struct HeadersBuf<const BYTES: usize, const SLOTS: usize> {
    bytes: [u8; BYTES],
    slots: [Slot; SLOTS],
}

impl<const BYTES: usize, const SLOTS: usize> HeadersBuf<BYTES, SLOTS> {
    /// Zeroed storage; `const` so it can initialise a `static`.
    pub const fn new() -> Self {
        HeadersBuf {
            bytes: [0; BYTES],
            slots: [Slot::EMPTY; SLOTS],
        }
    }

    /// Empty headers over this storage.
    pub fn headers(&mut self) -> Headers<'_> {
        Headers::fixed(&mut self.bytes, &mut self.slots)
    }
}

impl<const BYTES: usize, const SLOTS: usize> Default for HeadersBuf<BYTES, SLOTS> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn mapping_interface() {
        let mut buf = HeadersBuf::<256, 8>::new();
        let mut h = buf.headers();
        assert_eq!(h.len(), 0);
        h.set("Foo", "bar").unwrap();
        for n in ["foo", "Foo", "FOO"] {
            assert!(h.contains(n));
            assert_eq!(h.get(n), Some("bar"));
        }
        assert!(!h.contains("bar"));
        h.append("x", "1").unwrap();
        h.set("foo", "baz").unwrap();
        assert_eq!(h.keys().collect::<heapless::Vec<_, 4>>()[..], ["x", "foo"]);
        assert_eq!(h.setdefault("FOO", "no").unwrap(), "baz");
        assert_eq!(h.setdefault("new", "yes").unwrap(), "yes");
        assert_eq!(h.remove("missing"), 0);
        assert_eq!(h.remove("X"), 1);
        assert_eq!(h.to_string(), "foo: baz\r\nnew: yes\r\n\r\n");
    }

    #[test]
    fn control_characters_are_refused() {
        let mut buf = HeadersBuf::<256, 8>::new();
        let mut h = buf.headers();
        assert_eq!(
            h.set("X", "a\r\nInjected: 1"),
            Err(HeaderError::ControlCharacter { in_name: false })
        );
        assert_eq!(
            h.append("X\n", "a"),
            Err(HeaderError::ControlCharacter { in_name: true })
        );
        assert!(h.append("X", "tab\tok").is_ok());
        assert!(h.add_header("Y", None, &[("p", Some("\x7f"))]).is_err());
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn add_header_edge_cases() {
        let mut buf = HeadersBuf::<512, 8>::new();
        let mut h = buf.headers();
        h.add_header("A", None, &[]).unwrap();
        h.add_header("B", Some(""), &[("a", Some("b"))]).unwrap();
        h.add_header("C", None, &[("_lead", Some("")), ("k", Some("a\\b"))])
            .unwrap();
        let all: heapless::Vec<_, 8> = h.values().collect();
        assert_eq!(all[..], ["", "; a=\"b\"", "-lead; k=\"a\\\\b\""]);
    }

    #[test]
    fn extend_is_all_or_nothing() {
        let mut buf = HeadersBuf::<256, 8>::new();
        let mut h = buf.headers();
        h.append("Keep", "1").unwrap();
        let bad = h.extend([("A", "1"), ("B", "2"), ("C", "bad\r\n")]);
        assert_eq!(bad, Err(HeaderError::ControlCharacter { in_name: false }));
        assert_eq!(h.keys().collect::<heapless::Vec<_, 4>>()[..], ["Keep"]);
        assert_eq!(h.to_string(), "Keep: 1\r\n\r\n");
    }

    #[test]
    fn add_header_parameter_names_refuse_tab() {
        let mut buf = HeadersBuf::<256, 8>::new();
        let mut h = buf.headers();
        assert_eq!(
            h.add_header("X", None, &[("a\tb", Some("c"))]),
            Err(HeaderError::ControlCharacter { in_name: true })
        );
        assert!(h.add_header("X", None, &[("ab", Some("c\td"))]).is_ok());
    }

    #[test]
    fn names_compare_with_unicode_lower_casing() {
        let mut buf = HeadersBuf::<256, 8>::new();
        let mut h = buf.headers();
        h.append("\u{212a}-Key", "kelvin").unwrap();
        h.append("\u{130}d", "dotted").unwrap();
        assert_eq!(h.get("k-KEY"), Some("kelvin"));
        assert_eq!(h.get("i\u{307}D"), Some("dotted"));
        assert_eq!(h.get("id"), None);
        assert_eq!(h.remove("K-key"), 1);
    }

    #[test]
    fn write_to_reports_short_buffers() {
        let mut buf = HeadersBuf::<64, 4>::new();
        let mut h = buf.headers();
        h.set("K", "v").unwrap();
        let mut out = [0u8; 7];
        assert!(h.write_to(&mut out).is_err());
        let mut out = [0u8; 8];
        assert_eq!(h.write_to(&mut out).unwrap(), 8);
        assert_eq!(&out, b"K: v\r\n\r\n");
    }
}
