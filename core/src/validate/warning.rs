//! [`Warning`]s and where they go: the pluggable [`WarningSink`].
//!
//! CPython's validator reports some findings as `WSGIWarning`s through `warnings.warn`
//! instead of failing the request. Here they go to a [`WarningSink`] chosen with
//! [`Validator::with_sink`](super::Validator::with_sink):
//!
//! * [`DefaultSink`]: standard error with the `std` feature, `defmt::warn!` with `defmt`,
//!   otherwise nothing;
//! * any `Fn(&Warning)` closure or `fn` (to feed a logger of your choice, a counter, an LED);
//! * `&`[`WarningLog`]: keeps the warnings in a fixed buffer (tests, targets with no console);
//! * [`IgnoreWarnings`].

use core::cell::{Cell, RefCell};
use core::fmt;

use super::repr::Text;

/// Something worth a look that does not break the contract outright (CPython's
/// `WSGIWarning`), or a body the server never closed. `Display` gives CPython's text.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Warning {
    /// The environ has no `QUERY_STRING`.
    QueryStringMissing,
    /// `REQUEST_METHOD` is none of GET, HEAD, POST, OPTIONS, PATCH, PUT, DELETE, TRACE.
    UnknownRequestMethod(Text),
    /// The status is not "three digits, a space, a reason" (`"200"`, `"200\tOK"`).
    StatusFormat(Text),
    /// The body was dropped without `close()` (CPython reports this when the iterator is
    /// garbage collected).
    BodyNotClosed,
    /// `close()` was called on the body again; the application's body saw only the first
    /// call. (CPython passes every call through silently; the Rust `Body` contract is
    /// "exactly once".)
    BodyClosedTwice,
}

impl Warning {
    /// The class CPython reports this finding under: `WSGIWarning`, except for an unclosed
    /// body, which CPython reports as an (unraisable) `AssertionError`.
    pub fn category(&self) -> &'static str {
        match self {
            Warning::BodyNotClosed => "AssertionError",
            _ => "WSGIWarning",
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::QueryStringMissing => f.write_str(
                "QUERY_STRING is not in the WSGI environment; the cgi module will use sys.argv \
                 when this variable is missing, so application errors are more likely",
            ),
            Warning::UnknownRequestMethod(m) => write!(f, "Unknown REQUEST_METHOD: {m}"),
            Warning::StatusFormat(s) => write!(
                f,
                "The status string ({s}) should be a three-digit integer followed by a single \
                 space and a status explanation"
            ),
            Warning::BodyNotClosed => {
                f.write_str("Iterator garbage collected without being closed")
            }
            Warning::BodyClosedTwice => f.write_str("Iterator closed more than once"),
        }
    }
}

/// Where the validator's [`Warning`]s go. See the [module docs](crate::validate).
///
/// `warn` takes `&self` because the validator is shared by every request it checks. The sink
/// must be `Clone`: each validated body keeps a copy, to report a body dropped unclosed.
pub trait WarningSink: Clone {
    /// Report one warning. Must not panic.
    fn warn(&self, warning: &Warning);
}

impl<F: Fn(&Warning) + Clone> WarningSink for F {
    fn warn(&self, warning: &Warning) {
        self(warning)
    }
}

/// The default sink: standard error (`WSGIWarning: <text>`) with the `std` feature,
/// `defmt::warn!` with the `defmt` feature (both when both are on), otherwise nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultSink;

impl WarningSink for DefaultSink {
    #[allow(unused_variables)] // without `std` and `defmt` there is nowhere to send it
    fn warn(&self, warning: &Warning) {
        #[cfg(feature = "std")]
        std::eprintln!("{}: {}", warning.category(), warning);
        #[cfg(feature = "defmt")]
        defmt::warn!(
            "{=str}: {}",
            warning.category(),
            defmt::Display2Format(warning)
        );
    }
}

/// A sink that drops every warning.
#[derive(Clone, Copy, Debug, Default)]
pub struct IgnoreWarnings;

impl WarningSink for IgnoreWarnings {
    fn warn(&self, _: &Warning) {}
}

/// Keeps up to `N` warnings in a fixed buffer and counts the ones that did not fit. Use it
/// as `&log`.
///
/// ```
/// use wsgiref_core::validate::{Warning, WarningLog, WarningSink};
/// let log = WarningLog::<2>::new();
/// (&log).warn(&Warning::QueryStringMissing);
/// assert_eq!(log.warnings().as_slice(), &[Warning::QueryStringMissing]);
/// ```
#[derive(Debug, Default)]
pub struct WarningLog<const N: usize> {
    warnings: RefCell<heapless::Vec<Warning, N>>,
    dropped: Cell<usize>,
}

impl<const N: usize> WarningLog<N> {
    /// An empty log.
    pub const fn new() -> Self {
        WarningLog {
            warnings: RefCell::new(heapless::Vec::new()),
            dropped: Cell::new(0),
        }
    }

    /// A copy of the warnings kept so far, oldest first.
    pub fn warnings(&self) -> heapless::Vec<Warning, N> {
        self.warnings.borrow().clone()
    }

    /// How many warnings arrived after the log was full.
    pub fn dropped(&self) -> usize {
        self.dropped.get()
    }

    /// True when nothing was reported (kept or dropped).
    pub fn is_empty(&self) -> bool {
        self.warnings.borrow().is_empty() && self.dropped.get() == 0
    }

    /// Forget everything.
    pub fn clear(&self) {
        self.warnings.borrow_mut().clear();
        self.dropped.set(0);
    }
}

impl<const N: usize> WarningSink for &WarningLog<N> {
    fn warn(&self, warning: &Warning) {
        // A warning raised while the log is being read (a sink re-entered from a `Drop`)
        // counts as dropped rather than panicking on the borrow.
        let kept = match self.warnings.try_borrow_mut() {
            Ok(mut w) => w.push(warning.clone()).is_ok(),
            Err(_) => false,
        };
        if !kept {
            self.dropped.set(self.dropped.get() + 1);
        }
    }
}
