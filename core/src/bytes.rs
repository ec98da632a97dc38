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
