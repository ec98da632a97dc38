//! [`TrustedProxies`]: the peers whose forwarding headers are believed.

use core::fmt;
use core::net::IpAddr;
use core::str::FromStr;

/// An IP network: an address and a prefix length, `10.0.0.0/8` or `::1/128`.
///
/// A trusted-proxy entry names either one address or a range; both are an `IpNet` (one
/// address has the full prefix).
///
/// ```
/// use wsgiref_core::proxy::forwarded::IpNet;
/// let net: IpNet = "10.0.0.0/8".parse()?;
/// assert!(net.contains("10.1.2.3".parse().unwrap()));
/// assert!(!net.contains("11.0.0.1".parse().unwrap()));
/// assert_eq!(net.to_string(), "10.0.0.0/8");
/// # Ok::<(), wsgiref_core::proxy::forwarded::TrustListError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// The network of `addr` with `prefix` leading bits, refused (as Python's
    /// `ipaddress.ip_network` does) when the prefix is longer than the address or `addr` has
    /// bits set after it (`10.0.0.1/8`: a typo for `/32`, or for `10.0.0.0/8`?).
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Self, TrustErrorKind> {
        let bits = max_prefix(addr);
        if prefix > bits {
            return Err(TrustErrorKind::BadPrefix);
        }
        let net = IpNet { addr, prefix };
        if bits_of(addr) & !net.mask() != 0 {
            return Err(TrustErrorKind::HostBitsSet);
        }
        Ok(net)
    }

    /// The network's first address.
    pub const fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub const fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is in the network. An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, how a
    /// dual-stack socket shows an IPv4 peer) counts as its IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.addr.is_ipv4() && bits_of(ip) & self.mask() == bits_of(self.addr)
    }

    fn mask(&self) -> u128 {
        let bits = u32::from(max_prefix(self.addr));
        let prefix = u32::from(self.prefix);
        // The top `prefix` bits of a `bits`-wide address, right-aligned in a u128.
        let width = if bits == 128 {
            u128::MAX
        } else {
            (1u128 << bits) - 1
        };
        if prefix == 0 {
            0
        } else {
            width & !((1u128 << (bits - prefix)).wrapping_sub(1))
        }
    }
}

fn max_prefix(addr: IpAddr) -> u8 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}

fn bits_of(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

impl FromStr for IpNet {
    type Err = TrustListError;

    /// `ADDRESS` or `ADDRESS/PREFIX`; errors are placed at byte 0 of `text`.
    fn from_str(text: &str) -> Result<Self, TrustListError> {
        parse_net(text).map_err(|kind| TrustListError { kind, offset: 0 })
    }
}

fn parse_net(text: &str) -> Result<IpNet, TrustErrorKind> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let addr: IpAddr = addr.parse().map_err(|_| TrustErrorKind::BadAddress)?;
    let prefix = match prefix {
        None => max_prefix(addr),
        // Decimal digits only: `u8::from_str` would take a `+`.
        Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
            p.parse().map_err(|_| TrustErrorKind::BadPrefix)?
        }
        Some(_) => return Err(TrustErrorKind::BadPrefix),
    };
    IpNet::new(addr, prefix)
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// What was wrong with a trusted-proxy entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum TrustErrorKind {
    /// An empty entry (`"10.0.0.1,,::1"`, or an empty list).
    Empty,
    /// Not an IPv4 or IPv6 address.
    BadAddress,
    /// The prefix after `/` is not a decimal number up to 32 (IPv4) or 128 (IPv6).
    BadPrefix,
    /// The address has bits set after the prefix (`10.0.0.1/8`).
    HostBitsSet,
    /// More entries than the list's capacity.
    TooMany,
}

impl TrustErrorKind {
    /// One sentence saying what was wrong.
    pub const fn detail(&self) -> &'static str {
        match self {
            TrustErrorKind::Empty => "empty entry",
            TrustErrorKind::BadAddress => "not an IP address",
            TrustErrorKind::BadPrefix => "prefix length is not a number within the address's bits",
            TrustErrorKind::HostBitsSet => "address has bits set after the prefix length",
            TrustErrorKind::TooMany => "more entries than the list holds",
        }
    }
}

/// A trusted-proxy list that could not be parsed: what was wrong, and the byte offset of the
/// entry in the text.
///
/// ```
/// use wsgiref_core::proxy::forwarded::{TrustErrorKind, TrustListError, TrustedProxies};
/// let err = TrustedProxies::<4>::parse("127.0.0.1, 10.0.0.1/8").unwrap_err();
/// assert_eq!(err, TrustListError { kind: TrustErrorKind::HostBitsSet, offset: 11 });
/// assert_eq!(
///     err.to_string(),
///     "trusted proxy entry at byte 11: address has bits set after the prefix length"
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TrustListError {
    /// What was wrong.
    pub kind: TrustErrorKind,
    /// Where the entry starts in the text.
    pub offset: usize,
}

impl fmt::Display for TrustListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "trusted proxy entry at byte {}: {}",
            self.offset,
            self.kind.detail()
        )
    }
}

impl core::error::Error for TrustListError {}

/// The peers whose `Forwarded` / `X-Forwarded-*` headers are believed: up to `N` addresses
/// and networks, or everyone.
///
/// Those headers are plain request headers: any client can send them. They say who the
/// client is only when the proxy that added them is one the operator put there. So, as
/// gunicorn's `forwarded_allow_ips` does, the operator names those proxies, and the headers
/// count only on connections from them ([`ProxyPolicy::resolve`](super::ProxyPolicy)).
///
/// The list is fixed-capacity (no allocator); [`parse`](Self::parse) reads the usual
/// comma-separated form. `*` trusts every peer: only for a server that nothing but the
/// proxy can reach (a Unix socket, a private network).
///
/// ```
/// use wsgiref_core::proxy::forwarded::TrustedProxies;
/// let trusted = TrustedProxies::<8>::parse("127.0.0.1, 10.0.0.0/8, ::1")?;
/// assert!(trusted.trusts("10.20.30.40".parse().unwrap()));
/// assert!(trusted.trusts("::ffff:127.0.0.1".parse().unwrap())); // IPv4 on a dual-stack socket
/// assert!(!trusted.trusts("192.0.2.1".parse().unwrap()));
/// assert_eq!(trusted.len(), 3);
/// # Ok::<(), wsgiref_core::proxy::forwarded::TrustListError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedProxies<const N: usize> {
    nets: heapless::Vec<IpNet, N>,
    everyone: bool,
}

impl<const N: usize> Default for TrustedProxies<N> {
    fn default() -> Self {
        Self::none()
    }
}

impl<const N: usize> FromStr for TrustedProxies<N> {
    type Err = TrustListError;

    /// [`TrustedProxies::parse`], so that a setting reads `"10.0.0.0/8".parse()?`.
    ///
    /// ```
    /// use wsgiref_core::proxy::forwarded::TrustedProxies;
    /// let trusted: TrustedProxies<4> = "127.0.0.1, ::1".parse()?;
    /// assert_eq!(trusted.len(), 2);
    /// assert!("*".parse::<TrustedProxies<4>>()?.trusts_everyone());
    /// # Ok::<(), wsgiref_core::proxy::forwarded::TrustListError>(())
    /// ```
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl<const N: usize> TrustedProxies<N> {
    /// Trust nobody: forwarding headers never count. The default.
    pub const fn none() -> Self {
        TrustedProxies {
            nets: heapless::Vec::new(),
            everyone: false,
        }
    }

    /// Trust every peer (`*`).
    pub const fn everyone() -> Self {
        TrustedProxies {
            nets: heapless::Vec::new(),
            everyone: true,
        }
    }

    /// Parse a comma-separated list of addresses (`127.0.0.1`, `::1`) and networks
    /// (`10.0.0.0/8`, `fd00::/8`), spaces around entries allowed, or `*` for everyone. An
    /// empty entry, a bad address or prefix, or more than `N` entries is an error naming the
    /// entry's offset in `text`.
    pub fn parse(text: &str) -> Result<Self, TrustListError> {
        if text.trim() == "*" {
            return Ok(Self::everyone());
        }
        let mut list = Self::none();
        let mut offset = 0;
        for entry in text.split(',') {
            let lead = entry.len() - entry.trim_start().len();
            let at = offset + lead;
            offset += entry.len() + 1;
            let fail = |kind| TrustListError { kind, offset: at };
            let entry = entry.trim();
            if entry.is_empty() {
                return Err(fail(TrustErrorKind::Empty));
            }
            let net = parse_net(entry).map_err(fail)?;
            list.push(net).map_err(|_| fail(TrustErrorKind::TooMany))?;
        }
        Ok(list)
    }

    /// Add a network; gives it back when the list is full.
    pub fn push(&mut self, net: IpNet) -> Result<(), IpNet> {
        self.nets.push(net)
    }

    /// Whether a peer at `ip` is trusted.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.everyone || self.nets.iter().any(|net| net.contains(ip))
    }

    /// Whether every peer is trusted (`*`).
    pub const fn trusts_everyone(&self) -> bool {
        self.everyone
    }

    /// The networks listed (none for `*`).
    pub fn iter(&self) -> impl Iterator<Item = &IpNet> {
        self.nets.iter()
    }

    /// How many networks are listed.
    pub fn len(&self) -> usize {
        self.nets.len()
    }

    /// Whether no network is listed (which, but for `*`, trusts nobody).
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn parse_err(text: &str) -> TrustListError {
        TrustedProxies::<3>::parse(text).unwrap_err()
    }

    #[test]
    fn networks_contain_what_their_prefix_covers() {
        let net: IpNet = "192.168.0.0/16".parse().unwrap();
        assert!(net.contains(ip("192.168.255.1")));
        assert!(!net.contains(ip("192.169.0.1")));
        assert!(!net.contains(ip("::1")));
        let all: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        assert!(!all.contains(ip("2001:db8::1")));
        let v6: IpNet = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        let one: IpNet = "::1".parse().unwrap();
        assert_eq!(one.prefix(), 128);
        assert!(one.contains(ip("::1")));
        assert!(!one.contains(ip("::2")));
        let v4: IpNet = "10.0.0.7".parse().unwrap();
        assert!(v4.contains(ip("::ffff:10.0.0.7")));
        assert!(!v4.contains(ip("10.0.0.8")));
        let odd: IpNet = "10.0.0.128/25".parse().unwrap();
        assert!(odd.contains(ip("10.0.0.200")));
        assert!(!odd.contains(ip("10.0.0.127")));
    }

    #[test]
    fn lists_parse_with_spaces_and_star() {
        let list = TrustedProxies::<3>::parse(" 127.0.0.1 ,10.0.0.0/8,::1").unwrap();
        assert_eq!(list.len(), 3);
        assert!(list.trusts(ip("10.9.9.9")) && list.trusts(ip("::1")));
        assert!(!list.trusts(ip("127.0.0.2")));
        let star = TrustedProxies::<0>::parse(" * ").unwrap();
        assert!(star.trusts_everyone() && star.trusts(ip("203.0.113.1")));
        assert!(!TrustedProxies::<1>::default().trusts(ip("127.0.0.1")));
    }

    #[test]
    fn bad_lists_name_the_entry() {
        let e = |kind, offset| TrustListError { kind, offset };
        assert_eq!(parse_err(""), e(TrustErrorKind::Empty, 0));
        assert_eq!(parse_err("::1,,::2"), e(TrustErrorKind::Empty, 4));
        assert_eq!(
            parse_err("::1, localhost"),
            e(TrustErrorKind::BadAddress, 5)
        );
        assert_eq!(parse_err("10.0.0.0/33"), e(TrustErrorKind::BadPrefix, 0));
        assert_eq!(parse_err("10.0.0.0/+8"), e(TrustErrorKind::BadPrefix, 0));
        assert_eq!(parse_err("10.0.0.0/"), e(TrustErrorKind::BadPrefix, 0));
        assert_eq!(parse_err("::/129"), e(TrustErrorKind::BadPrefix, 0));
        assert_eq!(
            parse_err("1.1.1.1,10.0.0.1/8"),
            e(TrustErrorKind::HostBitsSet, 8)
        );
        assert_eq!(
            parse_err("1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4"),
            e(TrustErrorKind::TooMany, 24)
        );
        assert_eq!(parse_err("*,1.1.1.1"), e(TrustErrorKind::BadAddress, 0));
    }
}
