//! The application's side of FastCGI: framing output into `FCGI_STDOUT` / `FCGI_STDERR`
//! records and ending a request with `FCGI_END_REQUEST`.
//!
//! Nothing is copied: a [`Frame`] is a header array, a slice of the caller's data and a slice
//! of static zero padding, ready for one vectored write (or three plain ones).

use super::{padding_for, ProtocolStatus, RecordHeader, RecordType, MAX_CONTENT};

static ZEROS: [u8; 8] = [0; 8];

/// Which output stream a [`stream`] frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Output {
    /// `FCGI_STDOUT`: the response (head and body, CGI style).
    Stdout,
    /// `FCGI_STDERR`: text for the front end's error log.
    Stderr,
}

impl Output {
    const fn record_type(self) -> RecordType {
        match self {
            Output::Stdout => RecordType::Stdout,
            Output::Stderr => RecordType::Stderr,
        }
    }
}

/// One output record: write `header`, then `content`, then `padding`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'d> {
    /// The record header.
    pub header: [u8; 8],
    /// The content: a slice of the data being framed, 1 to 65,535 bytes.
    pub content: &'d [u8],
    /// Zero padding to a multiple of 8 bytes.
    pub padding: &'static [u8],
}

impl Frame<'_> {
    /// The record's size on the wire.
    pub fn len(&self) -> usize {
        8 + self.content.len() + self.padding.len()
    }

    /// Never true: a frame always has its header (this exists because `len` does).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Copy the record to the front of `out`; its length, or `None` (nothing written) when
    /// `out` is too short.
    pub fn copy_to(&self, out: &mut [u8]) -> Option<usize> {
        let len = self.len();
        let out = out.get_mut(..len)?;
        let (h, rest) = out.split_at_mut(8);
        h.copy_from_slice(&self.header);
        let (c, p) = rest.split_at_mut(self.content.len());
        c.copy_from_slice(self.content);
        p.copy_from_slice(self.padding);
        Some(len)
    }
}

/// The records that carry `data` on `output` for request `id`, 65,535 content bytes at most
/// each, padded to 8. Empty data gives no record: an empty record would end the stream, which
/// is [`stream_end`]'s job.
///
/// ```
/// use wsgiref_core::gateway::fastcgi::{end_request, stream, stream_end, Output, ProtocolStatus};
///
/// let mut wire = Vec::new();
/// for frame in stream(Output::Stdout, 1, b"Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nhi") {
///     wire.extend_from_slice(&frame.header);
///     wire.extend_from_slice(frame.content);
///     wire.extend_from_slice(frame.padding);
/// }
/// wire.extend_from_slice(&stream_end(Output::Stdout, 1));
/// wire.extend_from_slice(&end_request(1, 0, ProtocolStatus::RequestComplete));
/// assert_eq!(&wire[..8], [1, 6, 0, 1, 0, 46, 2, 0]); // 46 content bytes, 2 of padding
/// assert_eq!(wire.len(), 8 + 48 + 8 + 16);
/// ```
pub fn stream(output: Output, id: u16, data: &[u8]) -> Frames<'_> {
    Frames {
        record_type: output.record_type() as u8,
        id,
        data,
    }
}

/// The empty record that ends `output` for request `id`.
pub const fn stream_end(output: Output, id: u16) -> [u8; 8] {
    RecordHeader {
        record_type: output.record_type() as u8,
        request_id: id,
        content_length: 0,
        padding_length: 0,
    }
    .encode()
}

/// The `FCGI_END_REQUEST` record for request `id`: `app_status` is the application's exit
/// status (0 when it ran, as a CGI script's exit code), `status` whether the request ran at
/// all.
pub const fn end_request(id: u16, app_status: u32, status: ProtocolStatus) -> [u8; 16] {
    let h = RecordHeader {
        record_type: RecordType::EndRequest as u8,
        request_id: id,
        content_length: 8,
        padding_length: 0,
    }
    .encode();
    let a = app_status.to_be_bytes();
    [
        h[0],
        h[1],
        h[2],
        h[3],
        h[4],
        h[5],
        h[6],
        h[7],
        a[0],
        a[1],
        a[2],
        a[3],
        status as u8,
        0,
        0,
        0,
    ]
}

/// The records of one [`stream`] call, in order.
#[derive(Clone, Debug)]
pub struct Frames<'d> {
    record_type: u8,
    id: u16,
    data: &'d [u8],
}

impl<'d> Iterator for Frames<'d> {
    type Item = Frame<'d>;
    fn next(&mut self) -> Option<Frame<'d>> {
        if self.data.is_empty() {
            return None;
        }
        let (content, rest) = self.data.split_at(self.data.len().min(MAX_CONTENT));
        self.data = rest;
        let padding = padding_for(content.len());
        Some(Frame {
            header: RecordHeader {
                record_type: self.record_type,
                request_id: self.id,
                // At most MAX_CONTENT, which is u16::MAX.
                content_length: content.len() as u16,
                padding_length: padding,
            }
            .encode(),
            content,
            padding: &ZEROS[..usize::from(padding)],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn long_output_is_cut_at_65535_and_padded() {
        let data = std::vec![7u8; 65535 + 10];
        let frames: Vec<_> = stream(Output::Stderr, 3, &data).collect();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].header, [1, 7, 0, 3, 0xff, 0xff, 1, 0]);
        assert_eq!(frames[0].padding, [0]);
        assert_eq!(frames[1].header, [1, 7, 0, 3, 0, 10, 6, 0]);
        assert_eq!(frames[1].len(), 24);
        let mut out = [9u8; 24];
        assert_eq!(frames[1].copy_to(&mut out), Some(24));
        assert_eq!(&out[8..18], [7; 10]);
        assert_eq!(&out[18..], [0; 6]);
        assert_eq!(frames[1].copy_to(&mut [0u8; 23]), None);
        assert_eq!(stream(Output::Stdout, 1, b"").count(), 0);
    }

    #[test]
    fn end_records() {
        assert_eq!(stream_end(Output::Stdout, 258), [1, 6, 1, 2, 0, 0, 0, 0]);
        assert_eq!(
            end_request(1, 0x0102_0304, ProtocolStatus::UnknownRole),
            [1, 3, 0, 1, 0, 8, 0, 0, 1, 2, 3, 4, 3, 0, 0, 0]
        );
    }
}
