//! Proxies in front of the server: who the client really is.
//!
//! Behind a load balancer or reverse proxy, the socket's peer is the proxy, not the client.
//! Two standard ways carry the client's identity to the server, and this module decodes
//! both, sans-IO and without an allocator:
//!
//! * [`protocol`]: the PROXY protocol (versions 1 and 2), a header in front of the
//!   connection's bytes, sent by TCP balancers (HAProxy, AWS NLB, nginx `stream`);
//! * [`forwarded`]: the `Forwarded` (RFC 7239) and `X-Forwarded-For` / `-Proto` / `-Host`
//!   request headers, sent by HTTP proxies, believed only from the peers a
//!   [`TrustedProxies`](forwarded::TrustedProxies) list names.
//!
//! The std server uses both through `ServerOptions::forwarded_allow_ips` and
//! `ServerOptions::proxy_protocol` (`docs/proxies.md`); [`forwarded::Resolved::apply`] writes
//! a trusted proxy's answer into an environ.

pub mod forwarded;
pub mod protocol;
