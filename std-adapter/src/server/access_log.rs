//! The access log in wsgiref's format, through the [`log`] crate, and a minimal stderr logger
//! for programs that have none.
//!
//! A line reads `127.0.0.1 - - [05/Jun/2006 18:49:54] "GET / HTTP/1.1" 200 13`: client address,
//! the time, the request line (escaped as Python's `http.server` escapes it), the status and
//! the body size. Python writes local time; this module writes UTC, because reading the
//! local time zone portably needs either a time-zone database or `unsafe` calls into libc
//! (containers and servers usually run in UTC anyway).
//!
//! Lines go to the `log` target [`ACCESS_TARGET`] at `Info`; refusals of malformed requests
//! add a `code N, message ...` line at `Info` first, as `http.server` does; server trouble
//! (accept failures, panics in `close`) is logged at `Warn`/`Error` on target `wsgiref::server`.

use std::fmt;
use std::io::Write as _;
use std::net::SocketAddr;

use wsgiref_core::handler::{RequestLine, RequestLog};

use crate::clock::unix_now;

/// The `log` target of access-log lines.
pub const ACCESS_TARGET: &str = "wsgiref::access";

/// `dd/Mon/yyyy hh:mm:ss` for a Unix time, as `http.server`'s `log_date_time_string` (UTC).
///
/// ```
/// use wsgiref_std::server::access_log::LogTime;
/// assert_eq!(LogTime(1149533394).to_string(), "05/Jun/2006 18:49:54");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct LogTime(pub u64);

impl fmt::Display for LogTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let secs = self.0;
        let days = secs / 86_400;
        let rem = secs % 86_400;
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{day:02}/{}/{year:04} {:02}:{:02}:{:02}",
            MONTHS[(month - 1) as usize % 12],
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        )
    }
}

/// Days since 1970-01-01 to (year, month 1..=12, day 1..=31), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`, for non-negative day counts).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// One access-log line (without the trailing newline).
///
/// ```
/// use std::net::SocketAddr;
/// use wsgiref_core::handler::RequestLine;
/// use wsgiref_std::server::access_log::{AccessLine, LogTime};
///
/// let client: SocketAddr = "127.0.0.1:5000".parse().unwrap();
/// let line = RequestLine::new(b"GET / HTTP/1.1");
/// let entry = AccessLine { client: &client, time: LogTime(1149533394), request_line: &line,
///                          status: 200, size: Some(13) };
/// assert_eq!(entry.to_string(),
///            "127.0.0.1 - - [05/Jun/2006 18:49:54] \"GET / HTTP/1.1\" 200 13");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct AccessLine<'a> {
    /// The client's address (only the IP is written, as in Python).
    pub client: &'a SocketAddr,
    /// When the request was answered.
    pub time: LogTime,
    /// The request line.
    pub request_line: &'a RequestLine,
    /// The status code sent.
    pub status: u16,
    /// Body bytes sent; `None` writes `-` (a refusal, as `http.server` logs it).
    pub size: Option<u64>,
}

impl fmt::Display for AccessLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} - - [{}] \"{}\" {} ",
            self.client.ip(),
            self.time,
            self.request_line,
            self.status
        )?;
        match self.size {
            Some(n) => write!(f, "{n}"),
            None => f.write_str("-"),
        }
    }
}

/// Log one answered request.
pub fn log_request(client: &SocketAddr, log: &RequestLog) {
    if log::log_enabled!(target: ACCESS_TARGET, log::Level::Info) {
        let line = AccessLine {
            client,
            time: LogTime(unix_now()),
            request_line: &log.request_line,
            status: log.status,
            size: Some(log.bytes_sent),
        };
        log::info!(target: ACCESS_TARGET, "{line}");
    }
}

/// Log a refused request (`code 400, message ...` then the access line with size `-`).
pub fn log_refusal(client: &SocketAddr, status: u16, detail: &str, request_line: &RequestLine) {
    if log::log_enabled!(target: ACCESS_TARGET, log::Level::Info) {
        let time = LogTime(unix_now());
        log::info!(
            target: ACCESS_TARGET,
            "{} - - [{time}] code {status}, message {detail}",
            client.ip()
        );
        let line = AccessLine {
            client,
            time,
            request_line,
            status,
            size: None,
        };
        log::info!(target: ACCESS_TARGET, "{line}");
    }
}

/// A `log` backend that writes each record's message, one line, to stderr: what the
/// examples install so the access log appears as it does under Python.
///
/// Which records it writes is an [`env_filter`] filter: the `env_logger` syntax that Rust
/// users know from `RUST_LOG` (`debug`, `wsgiref::access=off,info`, ...), matched against the
/// record's target (`wsgiref::access` for the access log, `wsgiref::server` for the rest).
#[derive(Debug)]
pub struct StderrLogger {
    filter: env_filter::Filter,
}

impl StderrLogger {
    /// A logger for the filter `spec` in `env_logger` syntax; an empty spec logs `Info` and
    /// above. Directives that do not parse are reported on stderr and ignored, as
    /// `env_logger` does.
    pub fn new(spec: &str) -> Self {
        let mut builder = env_filter::Builder::new();
        if spec.trim().is_empty() {
            builder.filter_level(log::LevelFilter::Info);
        } else {
            builder.parse(spec);
        }
        StderrLogger {
            filter: builder.build(),
        }
    }

    /// The most verbose level any directive lets through (for `log::set_max_level`).
    pub fn max_level(&self) -> log::LevelFilter {
        self.filter.filter()
    }
}

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        self.filter.enabled(metadata)
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.filter.matches(record) {
            return;
        }
        // One write per line: a panic message goes to stderr without taking its lock, and
        // a line written in pieces could be torn by it (short writes to a pipe are atomic).
        let line = if record.target() == ACCESS_TARGET {
            format!("{}\n", record.args())
        } else {
            format!("{}: {}\n", record.level(), record.args())
        };
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
    }
}

/// The filter [`init_stderr_logger`] uses: `WSGIREF_LOG` when set and not empty, else
/// `RUST_LOG`, else `""` (`Info`).
fn filter_spec(wsgiref_log: Option<&str>, rust_log: Option<&str>) -> String {
    [wsgiref_log, rust_log]
        .into_iter()
        .flatten()
        .find(|spec| !spec.trim().is_empty())
        .unwrap_or("")
        .to_owned()
}

/// Install [`StderrLogger`], its filter from the environment: `WSGIREF_LOG` if set, else
/// `RUST_LOG`, both in `env_logger` syntax (`debug`, `warn`, `off`, or per target:
/// `wsgiref::access=off,info` keeps the access log quiet); `Info` when neither is set. Does
/// nothing if a logger is already installed.
///
/// `WSGIREF_LOG` wins because it is meant for this server alone, where `RUST_LOG` is often
/// set for a whole shell session.
pub fn init_stderr_logger() {
    static LOGGER: std::sync::OnceLock<StderrLogger> = std::sync::OnceLock::new();
    let logger = LOGGER.get_or_init(|| {
        let wsgiref_log = std::env::var("WSGIREF_LOG").ok();
        let rust_log = std::env::var("RUST_LOG").ok();
        StderrLogger::new(&filter_spec(wsgiref_log.as_deref(), rust_log.as_deref()))
    });
    if log::set_logger(logger).is_ok() {
        log::set_max_level(logger.max_level());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(logger: &StderrLogger, target: &str, level: log::Level) -> bool {
        log::Log::enabled(
            logger,
            &log::Metadata::builder().target(target).level(level).build(),
        )
    }

    #[test]
    fn the_filter_takes_env_logger_syntax() {
        let default = StderrLogger::new("");
        assert!(allows(&default, ACCESS_TARGET, log::Level::Info));
        assert!(!allows(&default, "wsgiref::server", log::Level::Debug));
        // WSGIREF_LOG's old values are valid filters too.
        let debug = StderrLogger::new("debug");
        assert!(allows(&debug, "wsgiref::server", log::Level::Debug));
        let off = StderrLogger::new("off");
        assert!(!allows(&off, "wsgiref::server", log::Level::Error));
        assert_eq!(off.max_level(), log::LevelFilter::Off);
        // Per target: the access log off, everything else at info.
        let quiet = StderrLogger::new("wsgiref::access=off,info");
        assert!(!allows(&quiet, ACCESS_TARGET, log::Level::Info));
        assert!(allows(&quiet, "wsgiref::server", log::Level::Info));
        assert!(!allows(&quiet, "wsgiref::server", log::Level::Debug));
    }

    #[test]
    fn wsgiref_log_wins_over_rust_log() {
        assert_eq!(filter_spec(Some("warn"), Some("debug")), "warn");
        assert_eq!(filter_spec(None, Some("debug")), "debug");
        assert_eq!(filter_spec(Some(""), Some("debug")), "debug");
        assert_eq!(filter_spec(None, None), "");
    }

    #[test]
    fn dates_match_python() {
        // time.strftime("%d/%b/%Y %H:%M:%S", time.gmtime(t)) for a few instants.
        assert_eq!(LogTime(0).to_string(), "01/Jan/1970 00:00:00");
        assert_eq!(LogTime(951_782_400).to_string(), "29/Feb/2000 00:00:00");
        assert_eq!(LogTime(4_102_444_799).to_string(), "31/Dec/2099 23:59:59");
    }

    #[test]
    fn refusals_show_a_dash() {
        let client: SocketAddr = "[::1]:80".parse().unwrap();
        let line = RequestLine::new(b"BAD\x01");
        let entry = AccessLine {
            client: &client,
            time: LogTime(0),
            request_line: &line,
            status: 400,
            size: None,
        };
        assert_eq!(
            entry.to_string(),
            "::1 - - [01/Jan/1970 00:00:00] \"BAD\\x01\" 400 -"
        );
    }

    /// A `"` in the request line cannot end the quoted field early and forge the status and
    /// size after it.
    #[test]
    fn quotes_in_the_request_line_are_escaped() {
        let client: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let line = RequestLine::new(b"GET /\" 200 1 \"x HTTP/1.1");
        let entry = AccessLine {
            client: &client,
            time: LogTime(0),
            request_line: &line,
            status: 404,
            size: Some(0),
        };
        assert_eq!(
            entry.to_string(),
            "127.0.0.1 - - [01/Jan/1970 00:00:00] \"GET /\\x22 200 1 \\x22x HTTP/1.1\" 404 0"
        );
        // Exactly two raw quotes: the ones around the request line.
        assert_eq!(entry.to_string().matches('"').count(), 2);
    }
}
