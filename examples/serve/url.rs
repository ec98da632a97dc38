//! Percent-encoding for the URLs `serve` writes: links in a listing and the `Location` of a
//! redirect. Done with the [`percent_encoding`] crate; the sets below say which bytes are
//! kept as they are.

use percent_encoding::{percent_encode, AsciiSet, CONTROLS, NON_ALPHANUMERIC};

/// Everything but RFC 3986's unreserved characters is encoded in a path segment: the result
/// is safe in an attribute, in a header and as a single segment (`/`, `?`, `#` are encoded).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// In a query, the characters RFC 3986 §3.4 allows stay (so `a=1&b=%20` is passed on as it
/// came, escapes included); the rest (space, `"`, `<`, `>`, `\`, `^`, `` ` ``, `{`, `|`, `}`,
/// `#`, controls and every non-ASCII byte) is encoded, so a query can never break out of the
/// `Location` header or smuggle markup into whatever displays it.
const QUERY: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// One path segment (a file or directory name), percent-encoded.
pub fn segment(bytes: &[u8]) -> String {
    percent_encode(bytes, SEGMENT).to_string()
}

/// A query string, with its unsafe bytes percent-encoded.
pub fn query(bytes: &[u8]) -> String {
    percent_encode(bytes, QUERY).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding() {
        assert_eq!(segment(b"a b/%?#\xff-._~"), "a%20b%2F%25%3F%23%FF-._~");
        assert_eq!(
            query(b"x=1&y=%20\"<>'`{|}\\^#\x7f\xc3\xa9"),
            "x=1&y=%20%22%3C%3E'%60%7B%7C%7D%5C%5E%23%7F%C3%A9"
        );
    }
}
