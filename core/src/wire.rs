//! The one binding of the environ seam that is made at compile time: which wire machine's
//! source an [`Environ`](crate::environ::Environ) answers `get` from in place.
//!
//! `environ` defines the seam (`environ::Source`) and imports nothing from the machines above
//! it; this module, above both, names the source whose `get` the environ calls directly
//! (HTTP/1's request view). Why not through the deferred state's vtable, as `fill` is: a
//! method reached through a vtable is linked whole, and an application's `get` with a
//! constant key then runs the source's generic match, where a direct call is inlined and the
//! constant key folds it to the one arm that key takes. On the Cortex-M firmware that routes
//! on `PATH_INFO` that is 1.5 KB of flash (`embedded/ci.sh footprint`, BENCHMARKS.md).
//!
//! A source that is not this one (the gateway params) keeps `Source::in_place`'s default:
//! its environ is written out before anything is looked up. A second machine that answers in
//! place would make this alias a closed enum of the two, with `Source` for it dispatching on
//! the arm; `environ` would not change.

/// The source a deferred environ answers `get` from directly (see the [module docs](self)).
pub(crate) type InPlace<'a> = crate::proto::view::RequestView<'a>;
