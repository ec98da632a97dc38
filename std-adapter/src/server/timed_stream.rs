//! [`TimedStream`]: a blocking socket whose reads follow the server's timeout policy.
//!
//! A plain per-read timeout does not stop slowloris: a client that sends one byte of its head
//! every few seconds never trips it. So the stream tracks where the connection is:
//!
//! * **idle** (waiting for the first byte of a request): reads wait at most until the idle
//!   deadline, in slices of at most [`IDLE_SLICE`] so the server can notice a shutdown;
//! * **head** (from the first byte until the empty line that ends the head): one deadline,
//!   `header_timeout` after the first byte, however the bytes trickle in;
//! * **body**: each read may wait `body_timeout`.
//!
//! A read that runs out of time fails with `TimedOut`, which the core reports as
//! `ConnError::Timeout` (a 408 when part of a head had arrived).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Longest single wait of an idle read, so a server loop checks for shutdown this often.
pub(crate) const IDLE_SLICE: Duration = Duration::from_millis(200);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle { deadline: Instant },
    Head { deadline: Instant, scan: HeadEnd },
    Body,
}

/// Finds the empty line that ends a head, across reads: `\r\n\r\n` or `\n\n` (bare LF line
/// ends are allowed in heads), ignoring empty lines before the request line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct HeadEnd {
    /// A byte other than CR/LF was seen (the request line started).
    text: bool,
    /// The previous byte ended a line (LF), possibly followed by a CR.
    line_end: bool,
}

impl HeadEnd {
    /// Feed bytes; returns the offset just past the end of the head, if it is in `bytes`.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Option<usize> {
        for (i, &b) in bytes.iter().enumerate() {
            match b {
                b'\n' if self.line_end && self.text => return Some(i + 1),
                b'\n' => self.line_end = true,
                b'\r' => {}
                _ => {
                    self.text = true;
                    self.line_end = false;
                }
            }
        }
        None
    }
}

/// A socket with the server's timeout policy (see the module docs), and request
/// bytes received earlier (by an event loop) to replay before the socket's own.
#[derive(Debug)]
pub(crate) struct TimedStream {
    stream: TcpStream,
    replay: Vec<u8>,
    replayed: usize,
    phase: Phase,
    header_timeout: Duration,
    body_timeout: Duration,
    /// The read timeout currently set on the socket (saves a system call per read).
    current: Option<Duration>,
}

impl TimedStream {
    pub(crate) fn new(
        stream: TcpStream,
        replay: Vec<u8>,
        header_timeout: Duration,
        body_timeout: Duration,
    ) -> io::Result<Self> {
        stream.set_write_timeout(Some(body_timeout))?;
        let mut timed = TimedStream {
            stream,
            replay,
            replayed: 0,
            phase: Phase::Body,
            header_timeout,
            body_timeout,
            current: None,
        };
        if timed.replay.is_empty() {
            timed.phase = Phase::Idle {
                deadline: Instant::now(),
            };
        } else {
            // A handed-over connection arrives with a complete head: its body follows.
            timed.phase = Phase::Body;
        }
        Ok(timed)
    }

    /// Start waiting for a new request, for at most `idle` (unless bytes of it are buffered
    /// already, in which case the head clock runs from now).
    pub(crate) fn expect_request(&mut self, idle: Duration, buffered: bool) {
        let now = Instant::now();
        self.phase = if buffered {
            Phase::Head {
                deadline: now + self.header_timeout,
                scan: HeadEnd::default(),
            }
        } else {
            Phase::Idle {
                deadline: now + idle,
            }
        };
    }

    /// True when an idle wait has used up its time.
    pub(crate) fn idle_expired(&self) -> bool {
        matches!(self.phase, Phase::Idle { deadline } if Instant::now() >= deadline)
    }

    /// The socket back, with the replayed bytes not read yet.
    pub(crate) fn into_parts(self) -> (TcpStream, Vec<u8>) {
        let rest = self.replay[self.replayed..].to_vec();
        (self.stream, rest)
    }

    pub(crate) fn get_ref(&self) -> &TcpStream {
        &self.stream
    }

    fn set_timeout(&mut self, wait: Duration) -> io::Result<()> {
        // Zero means "no timeout" to the OS; a tiny wait is what is meant.
        let wait = wait.max(Duration::from_millis(1));
        // Avoid a system call per read when the value barely changes.
        let close_enough = self
            .current
            .is_some_and(|c| c.abs_diff(wait) < Duration::from_millis(5));
        if !close_enough {
            self.stream.set_read_timeout(Some(wait))?;
            self.current = Some(wait);
        }
        Ok(())
    }
}

fn timed_out() -> io::Error {
    io::Error::from(io::ErrorKind::TimedOut)
}

impl Read for TimedStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.replayed < self.replay.len() {
            let n = buf.len().min(self.replay.len() - self.replayed);
            buf[..n].copy_from_slice(&self.replay[self.replayed..self.replayed + n]);
            self.replayed += n;
            if self.replayed == self.replay.len() {
                self.replay = Vec::new();
                self.replayed = 0;
            }
            return Ok(n);
        }
        let now = Instant::now();
        let wait = match self.phase {
            Phase::Idle { deadline } => deadline.saturating_duration_since(now).min(IDLE_SLICE),
            Phase::Head { deadline, .. } => deadline.saturating_duration_since(now),
            Phase::Body => self.body_timeout,
        };
        if wait.is_zero() {
            return Err(timed_out());
        }
        self.set_timeout(wait)?;
        let n = self.stream.read(buf)?;
        if n > 0 {
            if let Phase::Idle { .. } = self.phase {
                self.phase = Phase::Head {
                    deadline: Instant::now() + self.header_timeout,
                    scan: HeadEnd::default(),
                };
            }
            if let Phase::Head { ref mut scan, .. } = self.phase {
                if scan.feed(&buf[..n]).is_some() {
                    self.phase = Phase::Body;
                }
            }
        }
        Ok(n)
    }
}

impl Write for TimedStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::HeadEnd;

    #[test]
    fn head_end_is_found_across_pieces() {
        let mut scan = HeadEnd::default();
        assert_eq!(scan.feed(b"\r\n\r\nGET / HTTP/1.1\r\nHost: x\r"), None);
        assert_eq!(scan.feed(b"\n\r"), None);
        assert_eq!(scan.feed(b"\nbody"), Some(1));
        let mut bare = HeadEnd::default();
        assert_eq!(bare.feed(b"GET / HTTP/1.0\n\n"), Some(16));
    }
}
