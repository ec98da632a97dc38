//! `is_hop_by_hop`: the headers that describe one connection rather than the response, which
//! a WSGI application must not set (RFC 2616 section 13.5.1).

use crate::bytes::eq_ignore_case;

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
    // The length picks the candidates (every response header passes through here, and most
    // match no length): ASCII case folding decides among them, as CPython's `lower()` does
    // for ASCII. The one non-ASCII character whose lower case is in these names is the KELVIN
    // SIGN (`k`, three bytes in UTF-8), and only `keep-alive` has a `k`, as its first letter:
    // U+0130 lower-cases to two code points and matches nothing.
    let eq = |hop: &str| eq_ignore_case(name.as_bytes(), hop.as_bytes());
    match name.len() {
        2 => eq("te"),
        7 => eq("upgrade"),
        8 => eq("trailers"),
        10 => eq("connection") || eq("keep-alive"),
        17 => eq("transfer-encoding"),
        18 => eq("proxy-authenticate"),
        19 => eq("proxy-authorization"),
        12 => {
            const KELVIN_SIGN: &[u8] = "\u{212A}".as_bytes();
            name.as_bytes()
                .strip_prefix(KELVIN_SIGN)
                .is_some_and(|rest| eq_ignore_case(rest, b"eep-alive"))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hop-by-hop header names, lower case: the list the function is tested against.
    /// `trailer` (singular) and `proxy-connection` are not among them, as in CPython.
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

    /// Against Unicode lower-casing (Python's `name.lower()`): every hop-by-hop name and
    /// near miss, in several cases, with each `k`/`K` and some other letters swapped for
    /// characters that lower-case to ASCII or nearly (KELVIN SIGN, U+0130, ANGSTROM SIGN).
    #[test]
    fn agrees_with_unicode_lowercase() {
        extern crate alloc;
        use alloc::string::String;
        let mut names: std::vec::Vec<String> = std::vec::Vec::new();
        for base in HOP_BY_HOP
            .iter()
            .chain(&["trailer", "keep-aliv", "kkeep-alive", "ke"])
        {
            for variant in [base.to_ascii_uppercase(), String::from(*base)] {
                names.push(variant.replace(['k', 'K'], "\u{212A}"));
                names.push(variant.replacen(['e', 'E'], "\u{130}", 1));
                names.push(variant.replacen(['a', 'A'], "\u{212B}", 1));
                names.push(variant.clone() + "\u{212A}");
                names.push(variant);
            }
        }
        for name in &names {
            let lower = name.to_lowercase();
            let want = HOP_BY_HOP.contains(&lower.as_str());
            assert_eq!(is_hop_by_hop(name), want, "{name:?}");
        }
    }
}
