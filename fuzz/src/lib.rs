//! Shared pieces of the fuzz targets (and of the property tests in `tests/session_props.rs`,
//! which include these modules by path so that both check the very same invariants).
//!
//! * [`driver`]: feed a `Session` input pieces, record every step and its output, check the
//!   invariants every run must hold.
//! * [`gen`]: valid requests built from arbitrary parts, and what the application must see.
//! * [`gateway`]: the same for the FastCGI, SCGI and uwsgi decoders.
//! * [`gateway_target`]: the one body of the three decoder fuzz targets.
//! * [`gateway_session`]: the gateway sessions that run an application over those decoders.
//! * [`proxy`]: the same for the PROXY protocol decoder, with a test-only header encoder.

pub mod driver;
pub mod gateway;
pub mod gateway_session;
pub mod gateway_target;
pub mod gen;
pub mod proxy;
