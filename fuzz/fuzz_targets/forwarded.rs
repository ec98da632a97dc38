//! The trusted-proxy resolver (wsgiref_core::proxy::forwarded) on fuzzer-chosen header lines:
//! never a panic; from an untrusted peer nothing changes; a host it accepts is one
//! `valid_host` would; and lines that each parse give the same result joined into one line
//! with commas (several header lines are one list).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsgiref_core::proxy::forwarded::{
    Headers, ProxyHeaders, ProxyPolicy, Resolved, TrustedProxies,
};

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    forwarded: Vec<&'a [u8]>,
    x_forwarded_for: Vec<&'a [u8]>,
    x_forwarded_proto: Vec<&'a [u8]>,
    x_forwarded_host: Vec<&'a [u8]>,
    which: u8,
}

fuzz_target!(|input: Input<'_>| {
    let mut policy = ProxyPolicy::new(
        TrustedProxies::<4>::parse("10.0.0.0/8, 2001:db8::/32, 127.0.0.1").unwrap(),
    );
    policy.headers = match input.which % 3 {
        0 => Headers::PreferForwarded,
        1 => Headers::Forwarded,
        _ => Headers::XForwarded,
    };
    let headers = ProxyHeaders {
        forwarded: &input.forwarded,
        x_forwarded_for: &input.x_forwarded_for,
        x_forwarded_proto: &input.x_forwarded_proto,
        x_forwarded_host: &input.x_forwarded_host,
    };
    assert_eq!(
        policy.resolve("192.0.2.1".parse().unwrap(), &headers),
        Resolved::default()
    );
    let resolved = policy.resolve("10.0.0.1".parse().unwrap(), &headers);
    if let Some(host) = resolved.host {
        assert!(!host.is_empty() && !host.iter().any(|b| b" ,/\\\"\r\n\0".contains(b)));
    }
    if resolved.problem.is_none() && resolved.source == Some(Headers::Forwarded) {
        let joined = input.forwarded.join(&b","[..]);
        let one = ProxyHeaders {
            forwarded: &[&joined],
            ..headers
        };
        let again = policy.resolve("10.0.0.1".parse().unwrap(), &one);
        assert_eq!(
            (again.client, again.scheme, again.host, again.problem),
            (resolved.client, resolved.scheme, resolved.host, None)
        );
    }
});
