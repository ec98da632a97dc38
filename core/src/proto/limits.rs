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
    }
}
