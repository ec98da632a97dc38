//! The sans-IO HTTP/1.x protocol machine (request parsing, body framing, date formatting).
