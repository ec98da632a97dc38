//! [`Limits`]: how much of a request the protocol machine will look at before it refuses.
//!
//! Every buffer the machine reads is bounded by one of these numbers, so a hostile peer can
//! make it do at most a fixed amount of work per request and can never make it remember more
//! than the caller's own buffers hold.

/// Size limits on a request. Exceeding one is a [`ProtocolError`](super::ProtocolError) with
/// the status the limit names, never a panic or a silent truncation.
///
/// ```
/// use wsgiref_core::proto::Limits;
/// // An upload endpoint on a small device: 64 KiB bodies, the rest as usual.
/// let limits = Limits { max_body: 64 * 1024, ..Limits::DEFAULT };
/// assert_eq!(limits.max_headers, 100);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Limits {
    /// Longest request line in bytes, without its line end. Longer is `414 URI Too Long`.
    pub max_request_line: usize,
    /// Most header fields in one head (also the most trailer fields of a chunked body).
    /// More is `431 Request Header Fields Too Large`.
    pub max_headers: usize,
    /// Largest head in bytes: any leading empty lines, the request line, the header fields
    /// and the empty line that ends them (also the largest trailer section of a chunked
    /// body). Larger is `431 Request Header Fields Too Large`.
    pub max_head_bytes: usize,
    /// Largest body in bytes, whether announced by `Content-Length` or counted chunk by
    /// chunk. Larger is `413 Content Too Large`.
    pub max_body: u64,
    /// Whether a `CONNECT` request is accepted (`true`) or refused with `501 Not
    /// Implemented` (`false`, the default) as soon as its request line is read.
    ///
    /// `CONNECT host:port` asks for a tunnel: after a 2xx answer the bytes that follow belong
    /// to the tunnel, not to HTTP (RFC 9110 §9.3.6), and a WSGI application cannot make one.
    /// Without the refusal an application answering every path with `200` would seem to open
    /// a tunnel while the server went on parsing the tunnel's bytes as requests. With `true`,
    /// the application sees `REQUEST_METHOD=CONNECT` and `PATH_INFO=host:port` (to refuse it
    /// with a status of its own, say 403 or 405), and the request is never persistent
    /// ([`RequestHead::keep_alive`](super::RequestHead::keep_alive) is false): the connection
    /// closes after the answer, so no tunnel is ever made.
    ///
    /// ```
    /// use wsgiref_core::proto::{parse_head, Limits};
    /// let connect = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
    /// let mut headers = [httparse::EMPTY_HEADER; 4];
    /// let refused = parse_head(connect, &mut headers, &Limits::DEFAULT).unwrap_err();
    /// assert_eq!(refused.status, 501);
    /// let limits = Limits { allow_connect: true, ..Limits::DEFAULT };
    /// let head = parse_head(connect, &mut headers, &limits)?.unwrap();
    /// assert!(!head.keep_alive);
    /// # Ok::<(), wsgiref_core::proto::ProtocolError>(())
    /// ```
    pub allow_connect: bool,
}

impl Limits {
    /// The defaults: an 8 KiB request line (what most servers allow), 100 header fields,
    /// a 16 KiB head, and no body limit of our own (the application reads what it wants and
    /// the server drains or closes).
    pub const DEFAULT: Limits = Limits {
        max_request_line: 8192,
        max_headers: 100,
        max_head_bytes: 16384,
        max_body: u64::MAX,
        allow_connect: false,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_the_documented_constant() {
        let l = Limits::default();
        assert_eq!(l, Limits::DEFAULT);
        assert_eq!(l.max_request_line, 8192);
        assert_eq!(l.max_headers, 100);
        assert_eq!(l.max_head_bytes, 16384);
        assert_eq!(l.max_body, u64::MAX);
        assert!(!l.allow_connect);
    }
}
