//! Proxies in front of the server: who the client really is.
//!
//! Behind a load balancer or reverse proxy, the socket's peer is the proxy, not the client.
//! [`protocol`] decodes the PROXY protocol (versions 1 and 2), the header that TCP balancers
//! (HAProxy, AWS NLB, nginx `stream`) put in front of a connection's bytes to say whose it
//! is. It is sans-IO and needs no allocator.
//!
//! Wiring it into the server's listeners (a `ServerOptions` setting to expect the PROXY
//! protocol on a listener) is the next step; see `docs/proxies.md`.

pub mod protocol;
