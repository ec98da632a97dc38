//! The worker's side of the supervisor: say when it is ready, and stop when the supervisor
//! is gone.

use std::fs::File;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// How often a worker checks that its supervisor is still its parent.
const PARENT_CHECK: Duration = Duration::from_secs(1);

/// What a worker knows about its supervisor (from [`WORKER_ENV`](super::inherit::WORKER_ENV)
/// and the inherited readiness pipe).
#[derive(Debug)]
pub(crate) struct WorkerLink {
    supervisor: i32,
    slot: usize,
    generation: u64,
    /// The write end of the readiness pipe until readiness is announced.
    ready: Mutex<Option<File>>,
    watching: AtomicBool,
}

impl WorkerLink {
    pub(crate) fn new(supervisor: i32, slot: usize, generation: u64, ready: Option<File>) -> Self {
        WorkerLink {
            supervisor,
            slot,
            generation,
            ready: Mutex::new(ready),
            watching: AtomicBool::new(false),
        }
    }

    /// Which worker this is, for log lines: `worker 2 (generation 1)`.
    pub(crate) fn describe(&self) -> String {
        format!(
            "worker {} (generation {}, pid {})",
            self.slot,
            self.generation,
            std::process::id()
        )
    }

    /// Tell the supervisor this worker serves now (it then drains the workers this one
    /// replaces). Once; later calls do nothing.
    pub(crate) fn announce_ready(&self) {
        let file = self.ready.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(mut file) = file {
            if let Err(e) = file.write_all(b"R") {
                log::warn!(
                    target: "wsgiref::process",
                    "{}: could not tell the supervisor it is ready: {e}",
                    self.describe()
                );
            }
        }
    }

    /// Call `stop` once the supervisor is no longer this process's parent (it died, even by
    /// `kill -9`, and the worker was re-parented), checked every second by a thread of its
    /// own, so that no worker serves on unsupervised. Once per process.
    ///
    /// A polled `getppid()` rather than `PR_SET_PDEATHSIG`: the latter fires when the
    /// *thread* that spawned the worker ends, is Linux-only, and races with a parent that
    /// dies before it is set; a check each second has none of these problems.
    pub(crate) fn watch_supervisor(&self, stop: impl Fn() + Send + 'static) {
        if self.watching.swap(true, Ordering::AcqRel) {
            return;
        }
        let supervisor = self.supervisor;
        let who = self.describe();
        let spawned = std::thread::Builder::new()
            .name("wsgiref-parent".into())
            .spawn(move || loop {
                let parent = rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get());
                if parent != supervisor {
                    log::warn!(
                        target: "wsgiref::process",
                        "{who}: supervisor {supervisor} is gone; stopping"
                    );
                    stop();
                    return;
                }
                std::thread::sleep(PARENT_CHECK);
            });
        if let Err(e) = spawned {
            log::error!(
                target: "wsgiref::process",
                "{}: cannot watch the supervisor: {e}",
                self.describe()
            );
        }
    }
}
