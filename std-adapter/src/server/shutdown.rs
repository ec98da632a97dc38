//! Stopping a server: a flag plus the wakers of every poller that must notice it at once.

use std::io;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The shared stop request of one server.
#[derive(Debug, Default)]
pub(crate) struct Shutdown {
    requested: AtomicBool,
    wakers: Mutex<Vec<Arc<mio::Waker>>>,
    /// A SIGINT/SIGTERM watcher stops this server already (installed at most once).
    watched: AtomicBool,
}

impl Shutdown {
    /// Ask every loop to stop accepting and to finish what is in flight.
    pub(crate) fn request(&self) {
        self.requested.store(true, Ordering::SeqCst);
        for waker in self.lock().iter() {
            if let Err(e) = waker.wake() {
                log::warn!(target: "wsgiref::server", "could not wake a server loop: {e}");
            }
        }
    }

    pub(crate) fn is_requested(&self) -> bool {
        self.requested.load(Ordering::Relaxed)
    }

    /// Register a poller's waker; woken at once if a stop is already requested (so a loop that
    /// starts late cannot miss it).
    pub(crate) fn register(&self, waker: Arc<mio::Waker>) -> io::Result<()> {
        self.lock().push(waker.clone());
        if self.requested.load(Ordering::SeqCst) {
            waker.wake()?;
        }
        Ok(())
    }

    /// Forget the wakers of loops that ended, and the request itself, so the server can be
    /// started again (as Python's `serve_forever` can after `shutdown`).
    pub(crate) fn reset(&self) {
        self.lock().clear();
        self.requested.store(false, Ordering::SeqCst);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<mio::Waker>>> {
        self.wakers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A cloneable, `'static` way to stop a [`WsgiServer`](super::WsgiServer) from anywhere: another
/// thread, a signal handler thread, a test.
///
/// ```no_run
/// use wsgiref_std::server::{demo_app, make_server};
///
/// let server = make_server("127.0.0.1", 0, demo_app).unwrap();
/// let stop = server.shutdown_handle();
/// stop.on_termination_signals().unwrap(); // SIGINT / SIGTERM stop it gracefully
/// server.serve_forever().unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct ShutdownHandle(pub(crate) Arc<Shutdown>);

impl ShutdownHandle {
    /// Stop the server: it stops accepting, lets requests in flight finish (up to
    /// [`ServerOptions::shutdown_grace`](super::ServerOptions::shutdown_grace)), closes idle
    /// connections, and `serve_forever` returns.
    pub fn shutdown(&self) {
        self.0.request();
    }

    /// Stop the server gracefully on the first SIGINT or SIGTERM (a watcher thread waits for
    /// them), saying on stderr that a second one exits at once; a second signal while stopping
    /// does exit the process at once (status 128 + the signal), as impatient users expect of
    /// Ctrl-C.
    ///
    /// Calling it again for the same server does nothing (a worker process installs it
    /// itself, whether or not `main` did too).
    pub fn on_termination_signals(&self) -> io::Result<()> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        if self.0.watched.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let mut signals =
            signal_hook::iterator::Signals::new([SIGINT, SIGTERM]).inspect_err(|_| {
                self.0.watched.store(false, Ordering::Release);
            })?;
        let stop = self.0.clone();
        std::thread::Builder::new()
            .name("wsgiref-signals".into())
            .spawn(move || {
                let mut seen = 0;
                // A worker process is stopped by its supervisor, not a user: a repeated
                // SIGTERM (systemd's KillMode=control-group signals every process of the
                // service, and the supervisor signals its workers too) must not cut its
                // requests short; the supervisor's SIGKILL after the grace period does that.
                let worker = crate::process::is_worker();
                for signal in signals.forever() {
                    seen += 1;
                    if seen > 1 {
                        if worker {
                            continue;
                        }
                        // A supervisor's workers go with it.
                        crate::process::kill_workers_now();
                        std::process::exit(128 + signal);
                    }
                    // First: nothing below may keep the server from stopping.
                    stop.request();
                    log::info!(target: "wsgiref::server", "signal {signal}: shutting down");
                    // Printed whatever the log level: the user at the terminal needs it. Not
                    // `eprintln!`, which panics when stderr is a closed pipe (`| head -1`).
                    if !worker {
                        let _ = writeln!(
                            std::io::stderr(),
                            "Shutting down: finishing requests in flight \
                             (press Ctrl-C again to exit at once)"
                        );
                    }
                }
            })?;
        Ok(())
    }
}
