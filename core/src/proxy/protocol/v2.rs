//! Version 2: the binary header after the 12-byte signature.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{Addresses, Command, Error, ErrorKind, Header, Transport, UnixPath, Version};

/// The 12 bytes every version 2 header starts with.
pub(super) const SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// The fixed part: signature, version/command, family/transport, length.
pub(super) const HEAD: usize = 16;

/// `PP2_TYPE_SSL`: the client's connection used TLS (or SSL) when bit `PP2_CLIENT_SSL` of the
/// value's first byte is set.
const PP2_TYPE_SSL: u8 = 0x20;
const PP2_CLIENT_SSL: u8 = 0x01;

/// What the 16-byte head announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Head {
    pub(super) command: Command,
    family: u8,
    transport: Transport,
    /// Bytes after the head: addresses, then TLVs.
    pub(super) length: u16,
    /// Bytes of addresses for the family (0 for `AF_UNSPEC`).
    pub(super) address_bytes: u16,
}

impl Head {
    /// Check the bytes after the signature. `max_length` bounds the length field.
    pub(super) fn parse(head: &[u8; HEAD], max_length: u16) -> Result<Head, Error> {
        let at = |kind, offset| Error { kind, offset };
        let version = head[12] >> 4;
        if version != 2 {
            return Err(at(ErrorKind::UnsupportedVersion(version), 12));
        }
        let command = match head[12] & 0x0f {
            0 => Command::Local,
            1 => Command::Proxy,
            other => return Err(at(ErrorKind::BadCommand(other), 12)),
        };
        let family = head[13] >> 4;
        let transport = match head[13] & 0x0f {
            0 => Transport::Unspec,
            1 => Transport::Stream,
            2 => Transport::Datagram,
            _ => return Err(at(ErrorKind::BadFamily(head[13]), 13)),
        };
        let address_bytes = match family {
            0 => 0,
            1 => 12,
            2 => 36,
            3 => 216,
            _ => return Err(at(ErrorKind::BadFamily(head[13]), 13)),
        };
        let length = u16::from_be_bytes([head[14], head[15]]);
        if length > max_length {
            return Err(at(ErrorKind::LengthOverLimit, 14));
        }
        // LOCAL: the spec says to discard the whole block, family included, so its length
        // need not match the family and the block is skipped unread.
        let address_bytes = if command == Command::Local {
            0
        } else {
            address_bytes
        };
        if length < address_bytes {
            return Err(at(ErrorKind::LengthTooShort, 14));
        }
        Ok(Head {
            command,
            family,
            transport,
            length,
            address_bytes,
        })
    }

    /// The header, from the address bytes (`address_bytes` of them) and what the TLVs said.
    pub(super) fn header(&self, addresses: &[u8], tls: bool) -> Header {
        let relayed = self.command == Command::Proxy && self.transport != Transport::Unspec;
        let addresses = match self.family {
            1 if relayed => {
                let ip = |i: usize| {
                    IpAddr::V4(Ipv4Addr::new(
                        addresses[i],
                        addresses[i + 1],
                        addresses[i + 2],
                        addresses[i + 3],
                    ))
                };
                inet(ip(0), ip(4), &addresses[8..12])
            }
            2 if relayed => {
                let ip = |i: usize| {
                    let mut octets = [0u8; 16];
                    octets.copy_from_slice(&addresses[i..i + 16]);
                    IpAddr::V6(Ipv6Addr::from(octets))
                };
                inet(ip(0), ip(16), &addresses[32..36])
            }
            3 if relayed => {
                let path = |i: usize| {
                    let mut raw = [0u8; 108];
                    raw.copy_from_slice(&addresses[i..i + 108]);
                    UnixPath(raw)
                };
                Addresses::Unix {
                    source: path(0),
                    destination: path(108),
                }
            }
            _ => Addresses::Unspec,
        };
        Header {
            version: Version::V2,
            command: self.command,
            transport: self.transport,
            addresses,
            tls,
        }
    }
}

fn inet(source: IpAddr, destination: IpAddr, ports: &[u8]) -> Addresses {
    Addresses::Inet {
        source: SocketAddr::new(source, u16::from_be_bytes([ports[0], ports[1]])),
        destination: SocketAddr::new(destination, u16::from_be_bytes([ports[2], ports[3]])),
    }
}

/// Walks the TLVs after the addresses without keeping them: each is a type byte, a
/// big-endian u16 length and that many value bytes, and must end within the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Tlvs {
    /// Header bytes still to come.
    pub(super) remaining: u16,
    /// Bytes of the current TLV's 3-byte head seen (0: between TLVs).
    head_seen: u8,
    head: [u8; 3],
    /// Value bytes of the current TLV still to skip.
    value_left: u16,
    /// Offset of the current TLV's first byte, for errors.
    start: usize,
    /// A `PP2_TYPE_SSL` TLV said the client used TLS.
    pub(super) tls: bool,
}

impl Tlvs {
    /// The TLVs of a `PROXY` header: `remaining` bytes of them.
    pub(super) fn new(remaining: u16) -> Self {
        Tlvs {
            remaining,
            head_seen: 0,
            head: [0; 3],
            value_left: 0,
            start: 0,
            tls: false,
        }
    }

    /// The block of a `LOCAL` header: `remaining` bytes skipped as one opaque value.
    pub(super) fn opaque(remaining: u16) -> Self {
        Tlvs {
            value_left: remaining,
            ..Tlvs::new(remaining)
        }
    }

    /// Consume TLV bytes from `input` (which starts at connection offset `offset`); returns
    /// how many were used. Done when `remaining` is 0.
    pub(super) fn feed(&mut self, input: &[u8], offset: usize) -> Result<usize, Error> {
        let mut used = 0;
        while self.remaining > 0 && used < input.len() {
            if self.value_left > 0 {
                let take = usize::from(self.value_left).min(input.len() - used);
                if self.head[0] == PP2_TYPE_SSL && self.value_left == self.value_len() {
                    self.tls = input[used] & PP2_CLIENT_SSL != 0;
                }
                used += take;
                // `take` fits: it is at most `value_left`, a u16.
                self.value_left -= take as u16;
                self.remaining -= take as u16;
                continue;
            }
            if self.head_seen == 0 {
                self.start = offset + used;
            }
            self.head[usize::from(self.head_seen)] = input[used];
            self.head_seen += 1;
            used += 1;
            self.remaining -= 1;
            if self.head_seen == 3 {
                self.head_seen = 0;
                self.value_left = self.value_len();
                if self.head[0] == PP2_TYPE_SSL {
                    // The last SSL TLV decides; an empty one says no client bit.
                    self.tls = false;
                }
                if self.value_left > self.remaining {
                    return Err(Error {
                        kind: ErrorKind::BadTlv,
                        offset: self.start,
                    });
                }
            } else if self.remaining == 0 {
                return Err(Error {
                    kind: ErrorKind::BadTlv,
                    offset: self.start,
                });
            }
        }
        Ok(used)
    }

    fn value_len(&self) -> u16 {
        u16::from_be_bytes([self.head[1], self.head[2]])
    }
}
