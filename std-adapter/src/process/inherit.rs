//! Listening sockets handed to this process at `exec`: by systemd's socket activation
//! (`LISTEN_PID`/`LISTEN_FDS`, descriptors from 3 on) or by our own supervisor (the listener
//! on descriptor 3, a readiness pipe on 4, and [`WORKER_ENV`] naming the worker).

use std::fs::File;
use std::io;
use std::net::TcpListener;
use std::os::fd::{BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use rustix::net::{sockopt, AddressFamily, SocketType};

use super::worker::WorkerLink;

/// Where an inherited listener is: `SD_LISTEN_FDS_START` in systemd's protocol, and where our
/// supervisor maps the listener in a worker.
pub(crate) const LISTEN_FD: RawFd = 3;
/// Where our supervisor maps the write end of a worker's readiness pipe.
pub(crate) const READY_FD: RawFd = 4;
/// Set by the supervisor in a worker's environment: `SUPERVISOR_PID:SLOT:GENERATION`.
pub(crate) const WORKER_ENV: &str = "WSGIREF_WORKER";
/// systemd's socket-activation variables (`sd_listen_fds(3)`).
pub(crate) const SYSTEMD_VARS: [&str; 3] = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"];

/// A listening socket this process was started with.
#[derive(Debug)]
pub enum InheritedListener {
    /// A TCP listener (IPv4 or IPv6).
    Tcp(TcpListener),
    /// A Unix stream listener.
    Unix(UnixListener),
}

/// Who handed the socket over.
#[derive(Debug)]
pub(crate) enum Origin {
    /// systemd (or `systemd-socket-activate`): this process serves it, or supervises workers
    /// that do.
    Systemd,
    /// Our supervisor: this process is one of its workers.
    Supervisor(WorkerLink),
}

/// The socket this process inherited, if any, taken at most once per process: the first
/// server bound in a worker (or a socket-activated process) serves it, later ones bind as
/// usual.
///
/// A worker whose supervisor is not its parent (the variable leaked into a shell, or the
/// supervisor already died) is refused with an error that says so, rather than quietly
/// binding a port of its own.
pub(crate) fn take_inherited() -> io::Result<Option<(InheritedListener, Origin)>> {
    if let Some(value) = std::env::var_os(WORKER_ENV) {
        let value = value.to_string_lossy().into_owned();
        let (supervisor, slot, generation) = parse_worker_env(&value)?;
        let parent = rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get());
        if parent != supervisor {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{WORKER_ENV}={value:?} names supervisor {supervisor}, but the parent \
                     process is {parent}: unset {WORKER_ENV} to run on your own"
                ),
            ));
        }
        let Some(listener) = take(LISTEN_FD)? else {
            return Ok(None);
        };
        let listener = listener_from(listener)?;
        let ready = take(READY_FD)?.map(File::from);
        WORKER.store(true, Ordering::Release);
        // Programs the application starts are not our workers.
        std::env::remove_var(WORKER_ENV);
        let link = WorkerLink::new(supervisor, slot, generation, ready);
        return Ok(Some((listener, Origin::Supervisor(link))));
    }
    let Some(count) = systemd_fds()? else {
        return Ok(None);
    };
    // Not for our children (a supervisor's workers are told about the socket another way,
    // a CGI script run from the application must not think it was socket-activated).
    for name in SYSTEMD_VARS {
        std::env::remove_var(name);
    }
    if count > 1 {
        log::warn!(
            target: "wsgiref::process",
            "systemd passed {count} sockets; serving the first (fd {LISTEN_FD}) only"
        );
    }
    let Some(listener) = take(LISTEN_FD)? else {
        return Ok(None);
    };
    Ok(Some((listener_from(listener)?, Origin::Systemd)))
}

/// `SUPERVISOR_PID:SLOT:GENERATION`.
fn parse_worker_env(value: &str) -> io::Result<(i32, usize, u64)> {
    let bad = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{WORKER_ENV}={value:?}: expected SUPERVISOR_PID:SLOT:GENERATION"),
        )
    };
    let mut parts = value.split(':');
    let supervisor = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let slot = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let generation = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    if parts.next().is_some() || supervisor <= 0 {
        return Err(bad());
    }
    Ok((supervisor, slot, generation))
}

/// How many sockets systemd passed to this process: `Some(n)` when `LISTEN_PID` is our pid
/// and `LISTEN_FDS` is `n ≥ 1` (`sd_listen_fds(3)`). Variables meant for another process
/// (a parent that was activated and started us) are ignored.
fn systemd_fds() -> io::Result<Option<usize>> {
    let (Some(pid), Some(fds)) = (
        std::env::var_os("LISTEN_PID"),
        std::env::var_os("LISTEN_FDS"),
    ) else {
        return Ok(None);
    };
    if pid.to_str().and_then(|p| p.parse::<u32>().ok()) != Some(std::process::id()) {
        return Ok(None);
    }
    match fds.to_str().and_then(|n| n.parse::<usize>().ok()) {
        Some(0) => Ok(None),
        Some(n) => Ok(Some(n)),
        None => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("LISTEN_FDS={fds:?} is not a number of sockets"),
        )),
    }
}

/// A listening stream socket (TCP or Unix) from `fd`, or an error naming what it is instead.
fn listener_from(fd: OwnedFd) -> io::Result<InheritedListener> {
    let what = |problem: &str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("inherited descriptor {LISTEN_FD} {problem}"),
        )
    };
    if sockopt::socket_type(&fd).map_err(|_| what("is not a socket"))? != SocketType::STREAM {
        return Err(what("is not a stream socket"));
    }
    if !sockopt::socket_acceptconn(&fd)? {
        return Err(what("is a socket that is not listening"));
    }
    let family = rustix::net::getsockname(&fd)?.address_family();
    if family == AddressFamily::INET || family == AddressFamily::INET6 {
        Ok(InheritedListener::Tcp(TcpListener::from(fd)))
    } else if family == AddressFamily::UNIX {
        Ok(InheritedListener::Unix(UnixListener::from(fd)))
    } else {
        Err(what("is neither a TCP nor a Unix socket"))
    }
}

/// This process adopted its socket from our supervisor: it is a worker.
static WORKER: AtomicBool = AtomicBool::new(false);

/// Whether this process is a supervisor's worker (it adopted the supervisor's socket).
pub(crate) fn is_worker() -> bool {
    WORKER.load(Ordering::Acquire)
}

/// Descriptors 3 and 4 already taken by [`take`] (bit `fd - 3`).
static TAKEN: AtomicU8 = AtomicU8::new(0);

/// Ownership of inherited descriptor `fd` (3 or 4), once per process; `None` if it was taken
/// before, an error if it is not open.
#[allow(unsafe_code)]
fn take(fd: RawFd) -> io::Result<Option<OwnedFd>> {
    debug_assert!(fd == LISTEN_FD || fd == READY_FD);
    let bit = 1u8 << (fd - LISTEN_FD);
    if TAKEN.fetch_or(bit, Ordering::AcqRel) & bit != 0 {
        return Ok(None);
    }
    // SAFETY: `fd` was handed to this process open across `exec`, by the protocol that set
    // the variables checked before (systemd's `LISTEN_PID` equal to our pid, or our
    // supervisor, which maps exactly these descriptors): nothing else in the process owns
    // it, since descriptors open at `exec` belong to no Rust value, and `TAKEN` makes this
    // the only place that ever claims it. `fcntl(F_GETFD)` first checks that it is open, so
    // the `OwnedFd` below never names a closed descriptor.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    rustix::io::fcntl_getfd(borrowed).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("inherited descriptor {fd} is not open ({e})"),
        )
    })?;
    // SAFETY: as above; open, and owned by nothing else.
    let owned = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    // Ours now: programs the application starts must not inherit it.
    rustix::io::fcntl_setfd(&owned, rustix::io::FdFlags::CLOEXEC)?;
    Ok(Some(owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_variable_needs_three_fields() {
        assert_eq!(parse_worker_env("12:0:3").unwrap(), (12, 0, 3));
        for bad in [
            "", "12", "12:0", "12:0:3:4", "x:0:1", "0:0:1", "-1:0:1", "12:a:1",
        ] {
            let e = parse_worker_env(bad).unwrap_err();
            assert!(e.to_string().contains(WORKER_ENV), "{bad}: {e}");
        }
    }

    #[test]
    fn a_socket_that_is_not_listening_is_refused() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let e = listener_from(OwnedFd::from(socket)).unwrap_err();
        assert!(e.to_string().contains("not a stream socket"), "{e}");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let e = listener_from(OwnedFd::from(stream)).unwrap_err();
        assert!(e.to_string().contains("not listening"), "{e}");
        let file = File::open("/dev/null").unwrap();
        let e = listener_from(OwnedFd::from(file)).unwrap_err();
        assert!(e.to_string().contains("not a socket"), "{e}");
    }

    #[test]
    fn tcp_and_unix_listeners_are_told_apart() {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        assert!(matches!(
            listener_from(OwnedFd::from(tcp)).unwrap(),
            InheritedListener::Tcp(_)
        ));
        let path = std::env::temp_dir().join(format!("wsgiref-inherit-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let unix = UnixListener::bind(&path).unwrap();
        assert!(matches!(
            listener_from(OwnedFd::from(unix)).unwrap(),
            InheritedListener::Unix(_)
        ));
        let _ = std::fs::remove_file(&path);
    }
}
