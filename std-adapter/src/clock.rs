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

/// A clock for one event-loop thread: the wall-clock date derived from the monotonic
/// instant the loop already read, and re-read from the system only every so often.
///
/// Why: on the virtual machines these servers are measured on, reading a clock costs about as
/// much as the rest of a small request's user-space work (a quarter of the hello server's user
/// CPU went to `clock_gettime`: one monotonic read for deadlines plus one wall-clock read and a
/// shared lock for `Date`, per request). A worker reads the monotonic clock once per batch of
/// events and gets both its deadlines and its `Date` from that one reading.
///
/// The wall clock is re-anchored by [`resync`](Self::resync) (the event loop does it on each
/// timeout sweep, ten times a second), so a step of the system clock shows in `Date` within
/// one sweep.
///
/// ```
/// use std::time::Instant;
/// use wsgiref_std::clock::LoopClock;
///
/// let mut clock = LoopClock::new();
/// let date = clock.date(Instant::now());
/// assert!(date.as_str().ends_with(" GMT"));
/// ```
#[derive(Debug)]
pub struct LoopClock {
    anchor_instant: std::time::Instant,
    anchor_wall: SystemTime,
    second: u64,
    date: HttpDate,
}

impl LoopClock {
    /// A clock anchored now.
    pub fn new() -> Self {
        let anchor_wall = SystemTime::now();
        let second = unix_seconds(anchor_wall);
        LoopClock {
            anchor_instant: std::time::Instant::now(),
            anchor_wall,
            second,
            date: HttpDate::from_unix(second),
        }
    }

    /// Re-read the wall clock, pairing it with the monotonic instant `now`.
    pub fn resync(&mut self, now: std::time::Instant) {
        self.anchor_wall = SystemTime::now();
        self.anchor_instant = now;
    }

    /// The HTTP date at the monotonic instant `now` (formatted again only when the second
    /// changes).
    pub fn date(&mut self, now: std::time::Instant) -> HttpDate {
        let elapsed = now.saturating_duration_since(self.anchor_instant);
        let second = unix_seconds(self.anchor_wall + elapsed);
        if second != self.second {
            self.second = second;
            self.date = HttpDate::from_unix(second);
        }
        self.date
    }
}

impl Default for LoopClock {
    fn default() -> Self {
        Self::new()
    }
}

fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn loop_clock_follows_the_monotonic_instant() {
        let mut clock = LoopClock::new();
        let start = clock.anchor_instant;
        let first = clock.date(start);
        let second = clock.second;
        assert_eq!(first.as_str(), HttpDate::from_unix(second).as_str());
        let later = clock.date(start + Duration::from_secs(3600));
        assert_eq!(later.as_str(), HttpDate::from_unix(second + 3600).as_str());
        // The date is a function of the instant passed, whatever was asked before.
        assert_eq!(clock.date(start).as_str(), first.as_str());
    }

    #[test]
    fn loop_clock_agrees_with_the_system_clock() {
        let mut clock = LoopClock::new();
        let now = std::time::Instant::now();
        clock.resync(now);
        let before = unix_now();
        let date = clock.date(now);
        let after = unix_now();
        let matches = (before..=after).any(|s| HttpDate::from_unix(s).as_str() == date.as_str());
        assert!(matches, "{} not within [{before}, {after}]", date.as_str());
    }
}
