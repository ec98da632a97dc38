//! The wall clock for `Date` headers, formatted once per second and shared.
//!
//! The core takes time as a value ([`HttpDate`]); on `std` this module supplies it. Formatting
//! a date costs more than the rest of a small response's head, so it is cached per second.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use wsgiref_core::proto::HttpDate;

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The current time as an HTTP date, recomputed at most once per second per process.
///
/// ```
/// let date = wsgiref_std::clock::http_date_now();
/// assert!(date.as_str().ends_with(" GMT"));
/// ```
pub fn http_date_now() -> HttpDate {
    static SECOND: AtomicU64 = AtomicU64::new(u64::MAX);
    static CACHED: Mutex<Option<HttpDate>> = Mutex::new(None);
    let now = unix_now();
    if SECOND.load(Ordering::Relaxed) == now {
        if let Ok(guard) = CACHED.lock() {
            if let Some(date) = guard.as_ref() {
                return *date;
            }
        }
    }
    let date = HttpDate::from_unix(now);
    if let Ok(mut guard) = CACHED.lock() {
        *guard = Some(date);
        SECOND.store(now, Ordering::Relaxed);
    }
    date
}
