//! Unit tests of the resolver (the RFC 7239 examples, the trust rules, forged and malformed
//! headers) and property tests against a model of the walk.

use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use proptest::prelude::*;

use super::*;

fn policy() -> ProxyPolicy<4> {
    ProxyPolicy::new(TrustedProxies::parse("10.0.0.0/8, 2001:db8::/32, 127.0.0.1").unwrap())
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn fwd<'h>(lines: &'h [&'h [u8]]) -> ProxyHeaders<'h> {
    ProxyHeaders {
        forwarded: lines,
        ..ProxyHeaders::default()
    }
}

fn client(r: &Resolved<'_>) -> Option<String> {
    r.client.map(|c| c.to_string())
}

const PROXY: &str = "10.0.0.1";

#[test]
fn the_rfc_7239_examples_from_a_trusted_proxy() {
    let p = policy();
    let r = p.resolve(ip(PROXY), &fwd(&[br#"for="_gazonk""#]));
    assert_eq!(client(&r).as_deref(), Some("_gazonk"));
    let r = p.resolve(ip(PROXY), &fwd(&[br#"For="[2001:db8:cafe::17]:4711""#]));
    // 2001:db8::/32 is trusted here and it is the only element: the leftmost is taken.
    assert_eq!(client(&r).as_deref(), Some("2001:db8:cafe::17"));
    assert_eq!(r.client.unwrap().port, Some(4711));
    let r = p.resolve(
        ip(PROXY),
        &fwd(&[b"for=192.0.2.60;proto=http;by=203.0.113.43"]),
    );
    assert_eq!(client(&r).as_deref(), Some("192.0.2.60"));
    assert_eq!(r.scheme, Some(UrlScheme::Http));
    let r = p.resolve(ip(PROXY), &fwd(&[b"for=192.0.2.43, for=198.51.100.17"]));
    assert_eq!(client(&r).as_deref(), Some("198.51.100.17"));
    assert_eq!(r.source, Some(Headers::Forwarded));
    assert_eq!(r.problem, None);
}

#[test]
fn the_walk_skips_trusted_hops_from_the_right() {
    let p = policy();
    let chain: &[&[u8]] = &[b"for=203.0.113.9;proto=http, for=192.0.2.1;proto=https;host=a.example, for=10.1.1.1;proto=http;host=internal, for=\"[2001:db8::5]\""];
    let r = p.resolve(ip(PROXY), &fwd(chain));
    assert_eq!(client(&r).as_deref(), Some("192.0.2.1"));
    assert_eq!(r.scheme, Some(UrlScheme::Https));
    assert_eq!(r.host, Some(&b"a.example"[..]));
    // All trusted: the leftmost.
    let r = p.resolve(ip(PROXY), &fwd(&[b"for=10.0.0.9, for=10.0.0.8"]));
    assert_eq!(client(&r).as_deref(), Some("10.0.0.9"));
    // `unknown` and a missing `for` stop the walk: nothing to the left of them can be vouched
    // for. Without `for`, REMOTE_ADDR stays but the element's proto counts.
    let r = p.resolve(
        ip(PROXY),
        &fwd(&[b"for=192.0.2.1, for=unknown, for=10.0.0.2"]),
    );
    assert_eq!(r.client.unwrap().name, NodeName::Unknown);
    let r = p.resolve(
        ip(PROXY),
        &fwd(&[b"for=192.0.2.1, proto=https, for=10.0.0.2"]),
    );
    assert_eq!((r.client, r.scheme), (None, Some(UrlScheme::Https)));
}

#[test]
fn a_forged_header_from_an_untrusted_peer_changes_nothing() {
    let p = policy();
    let headers = ProxyHeaders {
        forwarded: &[b"for=10.0.0.7;proto=https;host=evil.example"],
        x_forwarded_for: &[b"10.0.0.7"],
        x_forwarded_proto: &[b"https"],
        x_forwarded_host: &[b"evil.example"],
    };
    for peer in ["192.0.2.1", "11.0.0.1", "::1", "2001:db9::1", "127.0.0.2"] {
        assert_eq!(p.resolve(ip(peer), &headers), Resolved::default(), "{peer}");
    }
    // Trusting nobody (the default) is the same for every peer.
    let none = ProxyPolicy::<1>::default();
    assert_eq!(none.resolve(ip(PROXY), &headers), Resolved::default());
    // The same headers from the trusted proxy do count, so the test above can fail.
    assert_eq!(
        p.resolve(ip(PROXY), &headers).scheme,
        Some(UrlScheme::Https)
    );
    // An IPv4 peer on a dual-stack socket is matched as IPv4.
    assert!(p.resolve(ip("::ffff:10.0.0.1"), &headers).client.is_some());
}

#[test]
fn a_client_forging_a_chain_behind_a_trusted_proxy_gets_only_its_own_address() {
    // The client sent `X-Forwarded-For: 10.0.0.5` (a trusted address) hoping to pass as the
    // proxy; the proxy appended the client's real address.
    let p = policy();
    let headers = ProxyHeaders {
        x_forwarded_for: &[b"10.0.0.5", b"198.51.100.20"],
        ..ProxyHeaders::default()
    };
    let r = p.resolve(ip(PROXY), &headers);
    assert_eq!(client(&r).as_deref(), Some("198.51.100.20"));
    assert_eq!(r.source, Some(Headers::XForwarded));
}

#[test]
fn multiple_lines_are_one_list() {
    let p = policy();
    let one = p.resolve(
        ip(PROXY),
        &fwd(&[b"for=192.0.2.43, for=198.51.100.17;proto=https, for=10.0.0.3"]),
    );
    let two = p.resolve(
        ip(PROXY),
        &fwd(&[
            b"for=192.0.2.43",
            b"for=198.51.100.17;proto=https, for=10.0.0.3",
        ]),
    );
    assert_eq!(one, two);
    assert_eq!(client(&one).as_deref(), Some("198.51.100.17"));
}

#[test]
fn x_forwarded_headers() {
    let p = policy();
    let headers = ProxyHeaders {
        x_forwarded_for: &[b"203.0.113.1, [2001:db9::1]:4711 , 10.2.3.4"],
        x_forwarded_proto: &[b"http, HTTPS"],
        x_forwarded_host: &[b"example.org:8443"],
        ..ProxyHeaders::default()
    };
    let r = p.resolve(ip(PROXY), &headers);
    assert_eq!(client(&r).as_deref(), Some("2001:db9::1"));
    assert_eq!(r.client.unwrap().port, Some(4711));
    assert_eq!(r.scheme, Some(UrlScheme::Https));
    assert_eq!(r.host, Some(&b"example.org:8443"[..]));
    assert_eq!(r.problem, None);
    // Each header stands alone: a bad X-Forwarded-For is ignored, the others still count.
    let headers = ProxyHeaders {
        x_forwarded_for: &[b"203.0.113.1, not-an-ip"],
        x_forwarded_proto: &[b"https"],
        ..ProxyHeaders::default()
    };
    let r = p.resolve(ip(PROXY), &headers);
    assert_eq!((r.client, r.scheme), (None, Some(UrlScheme::Https)));
    assert_eq!(
        r.problem,
        Some(Problem {
            header: HeaderName::XForwardedFor,
            kind: ProblemKind::BadNode,
            line: 0,
            offset: 13
        })
    );
    let headers = ProxyHeaders {
        x_forwarded_proto: &[b"wss"],
        x_forwarded_host: &[b"a b"],
        ..ProxyHeaders::default()
    };
    let r = p.resolve(ip(PROXY), &headers);
    assert_eq!((r.scheme, r.host), (None, None));
    assert_eq!(r.problem.unwrap().header, HeaderName::XForwardedProto);
}

#[test]
fn forwarded_is_preferred_and_a_malformed_one_is_not_completed_by_x_forwarded() {
    let p = policy();
    let both = ProxyHeaders {
        forwarded: &[b"for=192.0.2.9;proto=https"],
        x_forwarded_for: &[b"198.51.100.1"],
        x_forwarded_proto: &[b"http"],
        ..ProxyHeaders::default()
    };
    let r = p.resolve(ip(PROXY), &both);
    assert_eq!(
        (client(&r).as_deref(), r.scheme),
        (Some("192.0.2.9"), Some(UrlScheme::Https))
    );
    let bad = ProxyHeaders {
        forwarded: &[b"for=192.0.2.9;for=192.0.2.10"],
        ..both
    };
    let r = p.resolve(ip(PROXY), &bad);
    assert_eq!((r.client, r.scheme, r.host), (None, None, None));
    assert_eq!(
        r.problem,
        Some(Problem {
            header: HeaderName::Forwarded,
            kind: ProblemKind::Duplicate,
            line: 0,
            offset: 14
        })
    );
    assert_eq!(r.source, Some(Headers::Forwarded));
    // An empty Forwarded line counts as absent.
    let empty = ProxyHeaders {
        forwarded: &[b" , "],
        ..both
    };
    assert_eq!(
        p.resolve(ip(PROXY), &empty).source,
        Some(Headers::XForwarded)
    );
    // A policy naming one kind ignores the other.
    let xf = ProxyPolicy {
        headers: Headers::XForwarded,
        ..policy()
    };
    assert_eq!(
        client(&xf.resolve(ip(PROXY), &both)).as_deref(),
        Some("198.51.100.1")
    );
    let f = ProxyPolicy {
        headers: Headers::Forwarded,
        ..policy()
    };
    let only_x = ProxyHeaders {
        forwarded: &[],
        ..both
    };
    assert_eq!(f.resolve(ip(PROXY), &only_x), Resolved::default());
}

#[test]
fn an_unsupported_forwarded_scheme_is_reported_and_the_rest_kept() {
    let r = policy().resolve(
        ip(PROXY),
        &fwd(&[b"for=192.0.2.1", b"for=192.0.2.9;proto=wss"]),
    );
    assert_eq!(client(&r).as_deref(), Some("192.0.2.9"));
    assert_eq!(r.scheme, None);
    let p = r.problem.unwrap();
    assert_eq!(
        (p.kind, p.line, p.offset),
        (ProblemKind::UnsupportedScheme, 1, 20)
    );
}

// ---- properties ----

/// A hop of a generated chain.
#[derive(Clone, Debug)]
enum Hop {
    Trusted(IpAddr),
    Untrusted(IpAddr),
    Unknown,
    Hidden(String),
}

fn hop() -> impl Strategy<Value = Hop> {
    prop_oneof![
        (1u8..255, any::<u16>()).prop_map(|(a, b)| Hop::Trusted(ip(&format!(
            "10.{a}.{}.{}",
            b >> 8,
            b & 0xff
        )))),
        any::<u16>().prop_map(|x| Hop::Trusted(ip(&format!("2001:db8::{x:x}")))),
        (any::<u8>(), any::<u8>())
            .prop_map(|(a, b)| Hop::Untrusted(ip(&format!("198.51.{a}.{b}")))),
        any::<u16>().prop_map(|x| Hop::Untrusted(ip(&format!("2001:db9::{x:x}")))),
        Just(Hop::Unknown),
        "_[a-z0-9]{1,6}".prop_map(Hop::Hidden),
    ]
}

#[derive(Clone, Debug)]
struct Element {
    hop: Hop,
    port: Option<u16>,
    https: Option<bool>,
    host: Option<String>,
}

fn element() -> impl Strategy<Value = Element> {
    (
        hop(),
        proptest::option::of(any::<u16>()),
        proptest::option::of(any::<bool>()),
        proptest::option::of("[a-z]{1,8}\\.example"),
    )
        .prop_map(|(hop, port, https, host)| Element {
            hop,
            port,
            https,
            host,
        })
}

fn encode_element(e: &Element, style: u8) -> String {
    let node = match &e.hop {
        Hop::Trusted(a) | Hop::Untrusted(a) => match (a, e.port) {
            (IpAddr::V4(a), None) if style & 1 == 0 => a.to_string(),
            (IpAddr::V4(a), None) => format!("\"{a}\""),
            (IpAddr::V4(a), Some(p)) => format!("\"{a}:{p}\""),
            (IpAddr::V6(a), None) => format!("\"[{a}]\""),
            (IpAddr::V6(a), Some(p)) => format!("\"[{a}]:{p}\""),
        },
        Hop::Unknown => match e.port {
            Some(p) => format!("\"unknown:{p}\""),
            None => "unknown".into(),
        },
        Hop::Hidden(h) => match e.port {
            Some(p) => format!("\"{h}:{p}\""),
            None => h.clone(),
        },
    };
    let mut pairs = Vec::new();
    pairs.push(format!(
        "{}={node}",
        if style & 2 == 0 { "for" } else { "For" }
    ));
    if let Some(https) = e.https {
        pairs.push(format!("proto={}", if https { "https" } else { "http" }));
    }
    if let Some(h) = &e.host {
        pairs.push(format!("host={h}"));
    }
    if style & 4 != 0 {
        pairs.push("by=_me".into());
        pairs.reverse();
    }
    pairs.join(if style & 8 == 0 { ";" } else { "; " })
}

fn hop_ip(h: &Hop) -> Option<IpAddr> {
    match h {
        Hop::Trusted(a) | Hop::Untrusted(a) => Some(*a),
        _ => None,
    }
}

/// The model: walk from the right, skipping trusted hops.
fn model(chain: &[Element]) -> &Element {
    chain
        .iter()
        .rev()
        .find(|e| !matches!(e.hop, Hop::Trusted(_)))
        .unwrap_or(&chain[0])
}

fn expected_name(e: &Element) -> NodeName<'_> {
    match &e.hop {
        Hop::Trusted(a) | Hop::Untrusted(a) => NodeName::Ip(*a),
        Hop::Unknown => NodeName::Unknown,
        Hop::Hidden(h) => NodeName::Obfuscated(h),
    }
}

proptest! {
    #[test]
    #[cfg_attr(miri, ignore)] // hundreds of cases each: hours under miri
    fn forwarded_chains_resolve_as_the_model_says_however_split_into_lines(
        chain in proptest::collection::vec(element(), 1..8),
        styles in proptest::collection::vec(any::<u8>(), 8),
        cuts in proptest::collection::vec(any::<bool>(), 8),
    ) {
        let encoded: Vec<String> = chain.iter().zip(&styles).map(|(e, &s)| encode_element(e, s)).collect();
        let joined = encoded.join(", ");
        // The same elements as several lines, cut between elements.
        let mut lines: Vec<String> = std::vec![String::new()];
        for (i, e) in encoded.iter().enumerate() {
            let last = lines.last_mut().unwrap();
            if !last.is_empty() {
                last.push_str(" ,");
            }
            last.push_str(e);
            if cuts[i] && i + 1 < encoded.len() {
                lines.push(String::new());
            }
        }
        let line_bytes: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
        let p = policy();
        let joined_lines = [joined.as_bytes()];
        let whole = p.resolve(ip(PROXY), &fwd(&joined_lines));
        let split = p.resolve(ip(PROXY), &fwd(&line_bytes));
        prop_assert_eq!(whole, split);
        let want = model(&chain);
        prop_assert_eq!(whole.problem, None);
        let got = whole.client.unwrap();
        prop_assert_eq!(got.name, expected_name(want));
        prop_assert_eq!(got.port, want.port);
        prop_assert_eq!(whole.scheme, want.https.map(|h| if h { UrlScheme::Https } else { UrlScheme::Http }));
        prop_assert_eq!(whole.host, want.host.as_deref().map(str::as_bytes));
        // From an untrusted peer, nothing.
        prop_assert_eq!(p.resolve(ip("192.0.2.200"), &fwd(&line_bytes)), Resolved::default());
    }

    #[test]
    #[cfg_attr(miri, ignore)] // hundreds of cases each: hours under miri
    fn x_forwarded_for_chains_resolve_as_the_model_says(
        chain in proptest::collection::vec(element(), 1..8),
        style in any::<u8>(),
    ) {
        // X-Forwarded-For carries addresses (and `unknown`), not obfuscated names.
        let chain: Vec<Element> = chain.into_iter().filter(|e| !matches!(e.hop, Hop::Hidden(_))).collect();
        prop_assume!(!chain.is_empty());
        let entries: Vec<String> = chain.iter().map(|e| match (hop_ip(&e.hop), e.port) {
            (Some(IpAddr::V6(a)), Some(p)) => format!("[{a}]:{p}"),
            (Some(IpAddr::V4(a)), Some(p)) => format!("{a}:{p}"),
            (Some(IpAddr::V6(a)), None) if style & 1 == 0 => format!("[{a}]"),
            (Some(a), None) => a.to_string(),
            (None, _) => "unknown".into(),
        }).collect();
        let xff = entries.join(if style & 2 == 0 { ", " } else { "," });
        let headers = ProxyHeaders { x_forwarded_for: &[xff.as_bytes()], ..ProxyHeaders::default() };
        let r = policy().resolve(ip(PROXY), &headers);
        let want = model(&chain);
        prop_assert_eq!(r.problem, None);
        let got = r.client.unwrap();
        prop_assert_eq!(got.name, expected_name(want));
        prop_assert_eq!(got.port, if hop_ip(&want.hop).is_some() { want.port } else { None });
    }

    #[test]
    #[cfg_attr(miri, ignore)] // hundreds of cases each: hours under miri
    fn any_bytes_are_resolved_without_panic_and_ignored_from_untrusted_peers(
        a in proptest::collection::vec(any::<u8>(), 0..200),
        b in proptest::collection::vec(any::<u8>(), 0..200),
        c in "[ -~]{0,80}",
    ) {
        let headers = ProxyHeaders {
            forwarded: &[&a, c.as_bytes()],
            x_forwarded_for: &[&b, c.as_bytes()],
            x_forwarded_proto: &[&a],
            x_forwarded_host: &[&b],
        };
        let p = policy();
        let r = p.resolve(ip(PROXY), &headers);
        if let Some(host) = r.host {
            prop_assert!(parse::valid_host(host));
        }
        prop_assert_eq!(p.resolve(ip("203.0.113.1"), &headers), Resolved::default());
    }
}
