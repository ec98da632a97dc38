//! [`HttpDate`]: the `Date` header value, from a Unix time the caller supplies.
//!
//! The machine has no clock (see [`crate::proto`]); a server reads its own clock, possibly
//! caches the result for a second, and passes the formatted date in. The format is CPython's
//! `wsgiref.handlers.format_date_time`, which is also RFC 9110's IMF-fixdate:
//! `Sun, 06 Nov 1994 08:49:37 GMT`.

use core::fmt;

/// A formatted HTTP date: 29 ASCII bytes such as `Mon, 05 Jun 2006 18:49:54 GMT`.
///
/// It is a plain value (`Copy`, no allocation), so a server can cache one per second.
///
/// ```
/// use wsgiref_core::proto::HttpDate;
/// assert_eq!(HttpDate::from_unix(1149533394).as_str(), "Mon, 05 Jun 2006 18:49:54 GMT");
/// assert_eq!(HttpDate::from_unix(0).as_str(), "Thu, 01 Jan 1970 00:00:00 GMT");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct HttpDate([u8; 29]);

const WEEKDAYS: [&[u8; 3]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// The last second whose date still has a four-digit year: 9999-12-31T23:59:59Z. Later times
/// are clamped to it, because the format has room for four year digits (CPython would print
/// five and overflow the 29 bytes; no real clock gets there).
pub const MAX_UNIX: u64 = 253_402_300_799;

/// Days since 1970-01-01 to (year, month 1..=12, day 1..=31), proleptic Gregorian.
/// Howard Hinnant's `civil_from_days`, for non-negative day counts.
fn civil_from_days(days: u64) -> (u64, usize, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March-based
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month as usize, day)
}

fn two_digits(out: &mut [u8], n: u64) {
    out[0] = b'0' + (n / 10 % 10) as u8;
    out[1] = b'0' + (n % 10) as u8;
}

impl HttpDate {
    /// Format `secs` seconds since the Unix epoch (UTC), as CPython's `format_date_time` does:
    /// English weekday and month, zero-padded day and time, the year padded with spaces to four
    /// characters (which only shows before the year 1000 and so never for a Unix time).
    /// Times after [`MAX_UNIX`] are clamped to it.
    pub fn from_unix(secs: u64) -> Self {
        let secs = secs.min(MAX_UNIX);
        let days = secs / 86_400;
        let rem = secs % 86_400;
        let (year, month, day) = civil_from_days(days);
        // 1970-01-01 was a Thursday (index 3 in WEEKDAYS).
        let weekday = ((days + 3) % 7) as usize;
        let mut b = *b"Thu, 01 Jan 1970 00:00:00 GMT";
        b[0..3].copy_from_slice(WEEKDAYS[weekday]);
        two_digits(&mut b[5..7], day);
        b[8..11].copy_from_slice(MONTHS[month - 1]);
        // Year: four characters, right-aligned, space-padded (years here are 1970..=9999).
        let mut y = year;
        for i in (12..16).rev() {
            b[i] = if y == 0 && i < 15 {
                b' '
            } else {
                b'0' + (y % 10) as u8
            };
            y /= 10;
        }
        two_digits(&mut b[17..19], rem / 3600);
        two_digits(&mut b[20..22], rem / 60 % 60);
        two_digits(&mut b[23..25], rem % 60);
        HttpDate(b)
    }

    /// The date as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever written into the array, so this cannot fail; the fallback keeps
        // the function panic-free without `unsafe`.
        core::str::from_utf8(&self.0).unwrap_or("Thu, 01 Jan 1970 00:00:00 GMT")
    }

    /// The date as bytes, for writing into a response head.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// CPython's `wsgiref.handlers.format_date_time(timestamp)` for whole seconds: the same as
/// [`HttpDate::from_unix`].
///
/// ```
/// assert_eq!(
///     wsgiref_core::proto::format_date_time(784111777).as_str(),
///     "Sun, 06 Nov 1994 08:49:37 GMT"
/// );
/// ```
pub fn format_date_time(secs: u64) -> HttpDate {
    HttpDate::from_unix(secs)
}

impl fmt::Display for HttpDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for HttpDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HttpDate({:?})", self.as_str())
    }
}

impl AsRef<[u8]> for HttpDate {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for HttpDate {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(f, "{=str}", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values printed by CPython 3.11's `wsgiref.handlers.format_date_time`.
    #[test]
    fn known_dates() {
        let cases = [
            (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
            (1_149_533_394, "Mon, 05 Jun 2006 18:49:54 GMT"),
            (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),
            // Leap day and the turn of a century that is a leap year.
            (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
            (946_684_799, "Fri, 31 Dec 1999 23:59:59 GMT"),
            (4_107_542_400, "Mon, 01 Mar 2100 00:00:00 GMT"),
            (2_147_483_647, "Tue, 19 Jan 2038 03:14:07 GMT"),
            (MAX_UNIX, "Fri, 31 Dec 9999 23:59:59 GMT"),
            (u64::MAX, "Fri, 31 Dec 9999 23:59:59 GMT"),
        ];
        for (secs, want) in cases {
            assert_eq!(HttpDate::from_unix(secs).as_str(), want, "{secs}");
            assert_eq!(format_date_time(secs).as_bytes(), want.as_bytes());
        }
    }

    /// A walk over every day from 1970 to 2100: consecutive days advance the weekday by one
    /// and the day of the month by one, or wrap to the 1st after day 28 to 31.
    #[test]
    fn day_walk_is_consistent() {
        // Under miri (an interpreter) four years, a leap year among them, are enough.
        let days = if cfg!(miri) { 4 * 366 } else { 131 * 366 };
        let mut prev = HttpDate::from_unix(0);
        for day in 1..days {
            let d = HttpDate::from_unix(day * 86_400 + 43_200);
            let (p, n) = (prev.as_bytes(), d.as_bytes());
            let wi = |b: &[u8]| WEEKDAYS.iter().position(|w| &b[0..3] == *w).unwrap();
            assert_eq!((wi(p) + 1) % 7, wi(n), "{d:?}");
            let pd = (p[5] - b'0') * 10 + (p[6] - b'0');
            let nd = (n[5] - b'0') * 10 + (n[6] - b'0');
            assert!(
                nd == pd + 1 || (nd == 1 && (28..=31).contains(&pd)),
                "{prev:?} {d:?}"
            );
            prev = d;
        }
    }
}
