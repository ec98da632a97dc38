//! [`RequestLog`]: what a server needs to write an access-log line in wsgiref's format.

use core::fmt;

use crate::handler::run::Outcome;

/// Longest request line kept for the log; longer ones are cut (and marked with `...`).
pub const LOG_LINE_MAX: usize = 200;

/// The request line as sent, kept for the access log.
///
/// `Display` escapes it the way Python's `http.server` does in its log: C0 controls, DEL and
/// 0x80–0x9F as `\xNN`, a backslash as `\\`; other bytes are latin-1 characters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestLine {
    bytes: heapless::Vec<u8, LOG_LINE_MAX>,
    cut: bool,
}

impl RequestLine {
    /// Keep (up to [`LOG_LINE_MAX`] bytes of) `line`.
    pub fn new(line: &[u8]) -> Self {
        let take = line.len().min(LOG_LINE_MAX);
        let mut bytes = heapless::Vec::new();
        // Cannot fail: `take` is at most the capacity.
        let _ = bytes.extend_from_slice(&line[..take]);
        RequestLine {
            bytes,
            cut: take < line.len(),
        }
    }

    /// The raw bytes kept.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl fmt::Display for RequestLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in &self.bytes {
            match b {
                b'\\' => f.write_str("\\\\")?,
                // A raw `"` would end the quoted request line of an access-log entry early
                // and let a client forge the fields after it: escaped like a
                // control byte. (Python's http.server leaves it raw.)
                0x00..=0x1f | b'"' | 0x7f..=0x9f => write!(f, "\\x{b:02x}")?,
                _ => fmt::Write::write_char(f, char::from(b))?,
            }
        }
        if self.cut {
            f.write_str("...")?;
        }
        Ok(())
    }
}

/// One served (or refused) request, for the access log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestLog {
    /// The request line (`GET / HTTP/1.1`).
    pub request_line: RequestLine,
    /// The status code sent (0 when nothing could be sent).
    pub status: u16,
    /// Body bytes of the response (wsgiref logs `bytes_sent`).
    pub bytes_sent: u64,
    /// How the request ended.
    pub outcome: Outcome,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn escapes_like_http_server() {
        let line = RequestLine::new(b"GET /\x80\xe9\x07\\ HTTP/1.0");
        assert_eq!(line.to_string(), "GET /\\x80\u{e9}\\x07\\\\ HTTP/1.0");
        let long = [b'a'; LOG_LINE_MAX + 5];
        assert!(RequestLine::new(&long).to_string().ends_with("a..."));
    }
}
