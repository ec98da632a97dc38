//! FastCGI 1.0 (Open Market), the Responder role: the request [`Decoder`] and the response
//! encoders ([`stream`], [`stream_end`], [`end_request`]).
//!
//! A connection carries records, each an 8-byte [`RecordHeader`] (version 1, type, request
//! id, content length, padding length), the content, and padding. A request is:
//!
//! ```text
//! FCGI_BEGIN_REQUEST(id, role RESPONDER, flags)
//! FCGI_PARAMS(id) ... FCGI_PARAMS(id, empty)     name-value pairs, split anywhere
//! FCGI_STDIN(id)  ... FCGI_STDIN(id, empty)      the body
//! ```
//!
//! and is answered with `FCGI_STDOUT` records (the CGI-style response: `Status:` and header
//! lines, an empty line, the body), optionally `FCGI_STDERR`, an empty `FCGI_STDOUT`, and
//! `FCGI_END_REQUEST`. With the `FCGI_KEEP_CONN` flag the front end (nginx's
//! `fastcgi_keep_conn on`) keeps the connection for the next request; without it the
//! application closes it after the end record.
//!
//! Management records (request id 0) are answered by the decoder itself, as an
//! [`Event::Reply`] the server writes out: `FCGI_GET_VALUES` from a [`Config`], and any record
//! type it does not know with `FCGI_UNKNOWN_TYPE`.
//!
//! **No multiplexing.** One request at a time per connection: an `FCGI_BEGIN_REQUEST` for
//! another id while one is active is answered with `FCGI_END_REQUEST(FCGI_CANT_MPX_CONN)`, and
//! `FCGI_GET_VALUES` says `FCGI_MPXS_CONNS=0`. nginx, Apache and lighttpd never multiplex, and
//! one request per connection keeps the params in a single caller-owned buffer; concurrency
//! comes from connections.

mod decode;
mod encode;

pub use decode::{Decoder, EndRequest, Event, Reply, MAX_GET_VALUES};
pub use encode::{end_request, stream, stream_end, Frame, Frames, Output};

use super::ErrorKind;

/// The record types of FastCGI 1.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum RecordType {
    /// `FCGI_BEGIN_REQUEST` (1): starts a request; role and flags.
    BeginRequest = 1,
    /// `FCGI_ABORT_REQUEST` (2): the front end gives up on a request.
    AbortRequest = 2,
    /// `FCGI_END_REQUEST` (3): the application finished a request.
    EndRequest = 3,
    /// `FCGI_PARAMS` (4): name-value pairs, ended by an empty record.
    Params = 4,
    /// `FCGI_STDIN` (5): the request body, ended by an empty record.
    Stdin = 5,
    /// `FCGI_STDOUT` (6): the response.
    Stdout = 6,
    /// `FCGI_STDERR` (7): error output, logged by the front end.
    Stderr = 7,
    /// `FCGI_DATA` (8): the Filter role's file data.
    Data = 8,
    /// `FCGI_GET_VALUES` (9): a management query.
    GetValues = 9,
    /// `FCGI_GET_VALUES_RESULT` (10): its answer.
    GetValuesResult = 10,
    /// `FCGI_UNKNOWN_TYPE` (11): the answer to a management record of unknown type.
    UnknownType = 11,
}

impl RecordType {
    /// The type for a header's type byte, `None` for types FastCGI 1.0 does not define.
    pub const fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            1 => RecordType::BeginRequest,
            2 => RecordType::AbortRequest,
            3 => RecordType::EndRequest,
            4 => RecordType::Params,
            5 => RecordType::Stdin,
            6 => RecordType::Stdout,
            7 => RecordType::Stderr,
            8 => RecordType::Data,
            9 => RecordType::GetValues,
            10 => RecordType::GetValuesResult,
            11 => RecordType::UnknownType,
            _ => return None,
        })
    }
}

/// The Responder role, the only one served; others are answered `FCGI_UNKNOWN_ROLE`.
pub const ROLE_RESPONDER: u16 = 1;

/// The `FCGI_BEGIN_REQUEST` flag asking the application to keep the connection open.
pub const FLAG_KEEP_CONN: u8 = 1;

/// Largest content of one record.
pub const MAX_CONTENT: usize = 65535;

/// The `protocolStatus` of an `FCGI_END_REQUEST`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum ProtocolStatus {
    /// `FCGI_REQUEST_COMPLETE`: the request ran (its `appStatus` says how).
    RequestComplete = 0,
    /// `FCGI_CANT_MPX_CONN`: refused, another request is active on this connection.
    CantMpxConn = 1,
    /// `FCGI_OVERLOADED`: refused, the application is out of some resource.
    Overloaded = 2,
    /// `FCGI_UNKNOWN_ROLE`: refused, a role other than Responder.
    UnknownRole = 3,
}

/// The 8-byte header every record starts with (the version, always 1, is checked and
/// written, not stored).
///
/// ```
/// use wsgiref_core::gateway::fastcgi::RecordHeader;
/// let header = RecordHeader { record_type: 6, request_id: 1, content_length: 5, padding_length: 3 };
/// let bytes = header.encode();
/// assert_eq!(bytes, [1, 6, 0, 1, 0, 5, 3, 0]);
/// assert_eq!(RecordHeader::parse(&bytes), Ok(header));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RecordHeader {
    /// The type byte (see [`RecordType::from_byte`]; unknown types are representable because
    /// they must be answered).
    pub record_type: u8,
    /// The request the record belongs to; 0 for management records.
    pub request_id: u16,
    /// Content bytes after the header.
    pub content_length: u16,
    /// Padding bytes after the content.
    pub padding_length: u8,
}

impl RecordHeader {
    /// Read a header; [`ErrorKind::UnsupportedVersion`] unless its version byte is 1.
    pub const fn parse(bytes: &[u8; 8]) -> Result<Self, ErrorKind> {
        if bytes[0] != 1 {
            return Err(ErrorKind::UnsupportedVersion(bytes[0]));
        }
        Ok(RecordHeader {
            record_type: bytes[1],
            request_id: u16::from_be_bytes([bytes[2], bytes[3]]),
            content_length: u16::from_be_bytes([bytes[4], bytes[5]]),
            padding_length: bytes[6],
        })
    }

    /// The header's 8 bytes, version 1.
    pub const fn encode(&self) -> [u8; 8] {
        let id = self.request_id.to_be_bytes();
        let len = self.content_length.to_be_bytes();
        [
            1,
            self.record_type,
            id[0],
            id[1],
            len[0],
            len[1],
            self.padding_length,
            0,
        ]
    }
}

/// What `FCGI_GET_VALUES` answers about this application.
///
/// ```
/// use wsgiref_core::gateway::fastcgi::Config;
/// let config = Config { max_conns: 32, max_reqs: 32 };
/// assert_eq!(Config::default().max_reqs, Config::DEFAULT.max_reqs);
/// # let _ = config;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config {
    /// `FCGI_MAX_CONNS`: how many connections the application accepts at once.
    pub max_conns: u32,
    /// `FCGI_MAX_REQS`: how many requests it runs at once. Without multiplexing, at most
    /// `max_conns`.
    pub max_reqs: u32,
}

impl Config {
    /// 64 connections and 64 requests: a server sets its own from its connection limit.
    pub const DEFAULT: Config = Config {
        max_conns: 64,
        max_reqs: 64,
    };
}

impl Default for Config {
    fn default() -> Self {
        Config::DEFAULT
    }
}

/// Padding that brings `len` content bytes to a multiple of 8, as the specification
/// recommends for records an application sends.
pub(crate) const fn padding_for(len: usize) -> u8 {
    ((8 - len % 8) % 8) as u8
}

#[cfg(test)]
mod tests;
