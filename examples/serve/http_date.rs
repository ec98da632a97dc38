//! Reading HTTP dates (`If-Modified-Since`), in the three forms RFC 9110 §5.6.7 obliges a
//! recipient to accept:
//!
//! * IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT` (what every current client sends);
//! * RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT` (two-digit years: 70–99 are 19xx, the rest
//!   20xx, the 50-year rule bent to the Unix epoch, since no file predates 1970);
//! * asctime: `Sun Nov  6 08:49:37 1994`.
//!
//! The weekday is not checked (RFC 9110 lets a recipient ignore it). Anything else is `None`,
//! and a request with an unreadable date is answered as if it had none.

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Seconds since the Unix epoch for an HTTP date, or `None` if it is not one (or is before
/// 1970).
pub fn parse(text: &[u8]) -> Option<u64> {
    let text = text.trim_ascii();
    let comma = text.iter().position(|&b| b == b',');
    let (day, month, year, time) = match comma {
        // IMF-fixdate: ", DD Mon YYYY HH:MM:SS GMT".
        Some(3) => {
            let rest = text.get(4..)?;
            let mut words = rest.split(|&b| b == b' ').filter(|w| !w.is_empty());
            let day = words.next()?;
            let month = words.next()?;
            let year = words.next()?;
            let time = words.next()?;
            if words.next()? != b"GMT" || words.next().is_some() || year.len() != 4 {
                return None;
            }
            (day, month, digits(year)?, time)
        }
        // RFC 850: "Weekday, DD-Mon-YY HH:MM:SS GMT".
        Some(_) => {
            let rest = &text[comma? + 1..];
            let mut words = rest.split(|&b| b == b' ').filter(|w| !w.is_empty());
            let date = words.next()?;
            let time = words.next()?;
            if words.next()? != b"GMT" || words.next().is_some() {
                return None;
            }
            let mut parts = date.split(|&b| b == b'-');
            let (day, month, year) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() || year.len() != 2 {
                return None;
            }
            let yy = digits(year)?;
            (
                day,
                month,
                if yy >= 70 { 1900 + yy } else { 2000 + yy },
                time,
            )
        }
        // asctime: "Wkd Mon D HH:MM:SS YYYY" (the day is space-padded).
        None => {
            let mut words = text.split(|&b| b == b' ').filter(|w| !w.is_empty());
            let _weekday = words.next()?;
            let month = words.next()?;
            let day = words.next()?;
            let time = words.next()?;
            let year = words.next()?;
            if words.next().is_some() || year.len() != 4 {
                return None;
            }
            (day, month, digits(year)?, time)
        }
    };
    if day.is_empty() || day.len() > 2 {
        return None;
    }
    let day = digits(day)?;
    let month = MONTHS.iter().position(|m| m[..] == *month)? as u64 + 1;
    let (h, m, s) = clock(time)?;
    if !(1..=31).contains(&day) || year < 1970 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + h * 3600 + m * 60 + s)
}

/// `HH:MM:SS`, with a leap second (`:60`) allowed as RFC 9110's grammar does.
fn clock(time: &[u8]) -> Option<(u64, u64, u64)> {
    if time.len() != 8 || time[2] != b':' || time[5] != b':' {
        return None;
    }
    let (h, m, s) = (
        digits(&time[..2])?,
        digits(&time[3..5])?,
        digits(&time[6..])?,
    );
    (h < 24 && m < 60 && s <= 60).then_some((h, m, s))
}

/// A short run of ASCII digits (at most 4, so no overflow).
fn digits(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 4 || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(text.iter().fold(0, |n, &d| n * 10 + u64::from(d - b'0')))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm), for
/// years from 1970 on. Days past a month's end roll over, as `mktime` does; comparing such a
/// date with a file time is still well defined.
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_forms_agree() {
        let t = Some(784_111_777);
        assert_eq!(parse(b"Sun, 06 Nov 1994 08:49:37 GMT"), t);
        assert_eq!(parse(b"Sunday, 06-Nov-94 08:49:37 GMT"), t);
        assert_eq!(parse(b"Sun Nov  6 08:49:37 1994"), t);
        assert_eq!(parse(b"Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(parse(b"Tue, 29 Feb 2000 23:59:59 GMT"), Some(951_868_799));
    }

    #[test]
    fn rejects() {
        for bad in [
            &b""[..],
            b"Sun, 06 Nov 1994 08:49:37 UTC",
            b"Sun, 06 Nov 1994 08:49:37",
            b"Sun, 06 Nov 94 08:49:37 GMT",
            b"Sun, 06 Foo 1994 08:49:37 GMT",
            b"Sun, 06 Nov 1994 24:00:00 GMT",
            b"Sun, 06 Nov 1969 08:49:37 GMT",
            b"Sun, 006 Nov 1994 08:49:37 GMT",
            b"yesterday",
        ] {
            assert_eq!(parse(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
