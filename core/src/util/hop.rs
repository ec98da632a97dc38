//! `is_hop_by_hop`: the headers that describe one connection rather than the response, which
//! a WSGI application must not set (RFC 2616 section 13.5.1).

use crate::bytes::lower_eq_ascii;

/// The hop-by-hop header names, lower case. `trailer` (singular) and `proxy-connection` are
/// not among them, as in CPython.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
];

/// True when `name` is a hop-by-hop header: `Connection`, `Keep-Alive`, `Proxy-Authenticate`,
/// `Proxy-Authorization`, `TE`, `Trailers`, `Transfer-Encoding` or `Upgrade`, in any case.
///
/// Nothing is trimmed: `" TE"` is not hop-by-hop.
///
/// CPython compares `name.lower()`, which is Unicode-aware, so it also accepts
/// `"\u{212A}eep-Alive"` (KELVIN SIGN for the `K`). This function does the same, deliberately:
/// it is the one non-ASCII character whose lower case falls into the ASCII names (U+0130
/// lower-cases to two code points and matches nothing), and treating such a name as
/// hop-by-hop can only make a handler stricter. Every other comparison is ASCII
/// case-insensitive and allocation-free.
///
/// ```
/// use wsgiref_core::util::is_hop_by_hop;
/// assert!(is_hop_by_hop("Transfer-Encoding"));
/// assert!(is_hop_by_hop("KEEP-ALIVE"));
/// assert!(is_hop_by_hop("\u{212A}eep-Alive")); // as CPython
/// assert!(!is_hop_by_hop("Trailer"));
/// assert!(!is_hop_by_hop("Content-Type"));
/// ```
pub fn is_hop_by_hop(name: &str) -> bool {
    if name.is_ascii() {
        // Without a KELVIN SIGN in sight, CPython's `lower()` is an ASCII case fold: compare
        // bytes (lengths first), not chars. Every response header passes through here.
        return HOP_BY_HOP
            .iter()
            .any(|hop| name.as_bytes().eq_ignore_ascii_case(hop.as_bytes()));
    }
    HOP_BY_HOP
        .iter()
        .any(|hop| lower_eq_ascii(name.as_bytes(), hop.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_names_only() {
        for hop in HOP_BY_HOP {
            assert!(is_hop_by_hop(hop));
        }
        for not in [
            "",
            "t",
            "tes",
            "te ",
            " te",
            "trailer",
            "proxy-connection",
            "keep_alive",
        ] {
            assert!(!is_hop_by_hop(not), "{not:?}");
        }
        assert!(is_hop_by_hop("\u{212A}EEP-ALIVE"));
        assert!(!is_hop_by_hop("\u{130}TE"));
        assert!(!is_hop_by_hop("t\u{212A}"));
    }
}
