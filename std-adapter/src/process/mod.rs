//! Worker processes and inherited sockets: what `ServerOptions::workers` turns on, and what
//! lets systemd hand the server its socket.
//!
//! # Design
//!
//! With `workers = N ≥ 1`, the process that calls `serve_forever` becomes a **supervisor**:
//! it serves no request itself, and keeps `N` worker processes running on the one listening
//! socket it bound (or inherited from systemd) before any worker started. The kernel queues
//! connections on that socket and whichever worker accepts first serves them, so a worker
//! that stops accepting (it died, it is draining) costs no connection: the others, or its
//! successor, take them from the same queue. That is why it is one shared socket, not one
//! `SO_REUSEPORT` socket per worker: a closing `SO_REUSEPORT` socket resets the connections
//! the kernel had already queued on it.
//!
//! Workers are started by **re-executing this program** (`current_exe`, same arguments),
//! not by `fork` alone:
//! * `fork` in a process with threads (the logger, a signal thread, the application's own)
//!   copies one thread and whatever locks the others held; only async-signal-safe calls are
//!   safe in the child until it `exec`s.
//! * A forked worker runs the old code for ever; a re-executed one runs the binary on disk, so
//!   a restart (SIGHUP) is also how a new version is deployed, without a second mechanism.
//!
//! The worker runs the user's `main` again, unchanged: `WsgiServer::bind` (or
//! `make_server`) notices the `WSGIREF_WORKER` variable (`SUPERVISOR_PID:SLOT:GENERATION`),
//! adopts the listener the supervisor mapped to descriptor 3 instead of binding, and
//! `serve_forever` serves in-process, sharing that one socket among its event loops. The
//! descriptors are mapped with `command-fds` (a `dup2` between `fork` and `exec`, done by
//! a small well-kept crate so that this crate has no `pre_exec` of its own); taking
//! ownership of descriptor 3 is the one `unsafe` call here, guarded so that it
//! happens once per process and only for a descriptor the protocol says is ours.
//!
//! A worker tells the supervisor it serves by writing a byte to a pipe mapped to descriptor
//! 4, and stops (gracefully) when its supervisor is no longer its parent, checked each
//! second. It runs in a process group of its own, so that Ctrl-C at a terminal reaches the
//! supervisor alone, which stops the workers once, gracefully.
//!
//! # Signals (to the supervisor)
//!
//! | signal | effect |
//! |---|---|
//! | SIGTERM, SIGINT | graceful stop: each worker stops accepting, finishes its requests within `shutdown_grace`, exits; then `serve_forever` returns. A second one: SIGKILL to every worker, return at once. |
//! | SIGQUIT | immediate stop (SIGKILL to every worker). |
//! | SIGHUP | zero-downtime restart: `N` new workers (the binary on disk, re-executed), and once every one of them is ready, a graceful stop of the old ones. A new worker that dies first, or that is not ready within 60 s, abandons the restart: the old workers serve on. |
//! | SIGUSR2 | the same as SIGHUP (gunicorn re-executes its master on USR2; since every worker here is already a fresh `exec` of the binary on disk, replacing the supervisor itself would only change the supervisor's few hundred lines, at the price of a second process tree to hand the socket over to). |
//! | SIGTTIN, SIGTTOU | one worker more, one fewer (never fewer than one). |
//!
//! A worker that dies is started again (a log line gives its exit status or signal), at
//! most once a second per slot.
//!
//! # systemd
//!
//! When `LISTEN_PID` is this process and `LISTEN_FDS ≥ 1`, `bind` adopts descriptor 3 (a TCP
//! listener; the gateway server also takes Unix ones) instead of binding, and removes the
//! variables so that no child misreads them. With workers, the supervisor passes that socket
//! on to them, so socket activation and workers combine.

//!
//! # For another server type (the gateway server)
//!
//! Nothing here knows the HTTP server; a server that listens on a socket uses three hooks, as
//! `WsgiServer` does (`server/server.rs`):
//! 1. **bind**: call `take_inherited()` first; on `Some((listener, origin))` serve that
//!    [`InheritedListener`] (TCP or Unix) instead of binding, and keep `origin`.
//! 2. **serve_forever**: with `Origin::Supervisor(link)`, this process is a worker: install
//!    the SIGTERM watcher, `link.watch_supervisor(stop)`, and `link.announce_ready()` once
//!    the accept loops exist; otherwise, with `workers ≥ 1`, call
//!    `supervise(listener.as_fd(), Plan { workers, grace }, &stop_requested)` instead of
//!    serving (it returns when the workers have stopped).
//! 3. **accept threads** of an inherited socket share it (`try_clone`), never bind sockets
//!    of their own next to it.

pub(crate) mod inherit;
pub(crate) mod supervisor;
pub(crate) mod worker;

use std::io;
use std::os::fd::BorrowedFd;

use crate::server::{ServerOptions, ShutdownHandle};

pub use inherit::InheritedListener;
pub(crate) use inherit::{is_worker, take_inherited, Origin};
pub(crate) use supervisor::{kill_workers_now, supervise, Plan};

/// What a server's `serve_forever` does, by where its socket came from; both servers (HTTP
/// and gateway) call this with their own `serve` (the accept loop):
/// * a worker of our supervisor: SIGTERM (from the supervisor) and the supervisor's death
///   drain it; it serves;
/// * else, with `options.workers ≥ 1`: supervise that many workers on `listener` until a
///   stop is requested (the handle's `shutdown`, or SIGTERM/SIGINT to this process);
/// * else: serve in this process.
pub(crate) fn serve_forever(
    origin: Option<&Origin>,
    options: &ServerOptions,
    listener: BorrowedFd<'_>,
    stop: &ShutdownHandle,
    serve: impl FnOnce() -> io::Result<()>,
) -> io::Result<()> {
    match origin {
        Some(Origin::Supervisor(link)) => {
            let result = stop.on_termination_signals().and_then(|()| {
                let stop = stop.clone();
                link.watch_supervisor(move || stop.shutdown());
                serve()
            });
            if let Err(e) = &result {
                log::error!(target: "wsgiref::process", "{}: {e}", link.describe());
            }
            result
        }
        _ if options.workers > 0 => {
            let plan = Plan {
                workers: options.workers,
                grace: options.shutdown_grace,
            };
            let result = supervise(listener, plan, &|| stop.0.is_requested());
            // The next serve_forever starts afresh.
            stop.0.reset();
            result
        }
        _ => serve(),
    }
}
