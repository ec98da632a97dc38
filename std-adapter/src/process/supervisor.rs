//! The supervisor: starts the workers, restarts those that die, replaces them all on SIGHUP
//! without dropping a connection, and stops them on SIGTERM/SIGINT.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{self, Read as _};
use std::os::fd::BorrowedFd;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use command_fds::{CommandFdExt as _, FdMapping};
use rustix::process::{Pid, Signal};
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGTTIN, SIGTTOU, SIGUSR2};

use super::inherit::{LISTEN_FD, READY_FD, SYSTEMD_VARS, WORKER_ENV};

/// A worker slot is started again at most this often, so a worker that dies at start-up
/// (a bad configuration, a broken binary) costs one start a second, not a busy loop.
const RESTART_THROTTLE: Duration = Duration::from_secs(1);
/// How long the new workers of a restart have to say they are ready before the restart is
/// given up (they are stopped, the old ones serve on).
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How much longer than `shutdown_grace` a stopping worker gets before SIGKILL.
const KILL_MARGIN: Duration = Duration::from_secs(5);
/// How often the supervisor looks at its workers when nothing else happens.
const TICK: Duration = Duration::from_millis(100);

/// What the supervisor runs.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// Worker processes to keep running (≥ 1).
    pub(crate) workers: usize,
    /// The workers' `shutdown_grace`: how long a stopping worker may finish its requests.
    pub(crate) grace: Duration,
}

/// Pids of the running workers, for [`kill_workers_now`] (a second Ctrl-C handled elsewhere).
static LIVE: Mutex<Vec<Pid>> = Mutex::new(Vec::new());

/// SIGKILL every worker of this process's supervisor, if it has any: for a caller about to
/// exit the process at once (the second SIGINT/SIGTERM), so that no worker outlives it.
pub(crate) fn kill_workers_now() {
    for pid in LIVE.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        let _ = rustix::process::kill_process(*pid, Signal::KILL);
    }
}

/// Run the supervisor until a stop is asked for (`stop_requested` turns true, or SIGTERM,
/// SIGINT or SIGQUIT arrives) and every worker has exited. `listener` is what the workers
/// serve: each gets a duplicate as descriptor 3.
pub(crate) fn supervise(
    listener: BorrowedFd<'_>,
    plan: Plan,
    stop_requested: &dyn Fn() -> bool,
) -> io::Result<()> {
    let (events, inbox) = mpsc::channel();
    let mut signals = signal_hook::iterator::Signals::new([
        SIGHUP, SIGUSR2, SIGTTIN, SIGTTOU, SIGINT, SIGTERM, SIGQUIT,
    ])?;
    let signal_handle = signals.handle();
    let signal_events = events.clone();
    std::thread::Builder::new()
        .name("wsgiref-supervisor-signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                if signal_events.send(Event::Signal(signal)).is_err() {
                    return;
                }
            }
        })?;
    let mut supervisor = Supervisor::new(listener, plan, events, inbox)?;
    let result = supervisor.run(stop_requested);
    signal_handle.close();
    LIVE.lock().unwrap_or_else(|p| p.into_inner()).clear();
    result
}

enum Event {
    Signal(i32),
    /// The worker with this pid wrote to its readiness pipe.
    Ready(u32),
}

struct Worker {
    child: Child,
    slot: usize,
    generation: u64,
    ready: bool,
    /// Sent SIGTERM; SIGKILL at this instant if still running.
    kill_at: Option<Instant>,
}

impl Worker {
    fn pid(&self) -> Pid {
        Pid::from_child(&self.child)
    }

    fn signal(&self, signal: Signal) {
        if let Err(e) = rustix::process::kill_process(self.pid(), signal) {
            log::debug!(target: "wsgiref::process", "signal to {}: {e}", self.child.id());
        }
    }
}

/// A restart in progress: generation `generation` is starting; the others drain once it is
/// ready.
struct Restart {
    generation: u64,
    started: Instant,
}

struct Supervisor<'l> {
    listener: BorrowedFd<'l>,
    /// The binary and arguments the workers run: this process's own, read once at start, so
    /// that a binary replaced on disk (renamed over) is what a restart runs.
    exe: PathBuf,
    args: Vec<OsString>,
    target: usize,
    grace: Duration,
    /// The generation that serves.
    generation: u64,
    restart: Option<Restart>,
    workers: Vec<Worker>,
    /// Last start of each slot, for [`RESTART_THROTTLE`].
    last_start: BTreeMap<usize, Instant>,
    /// Slots of the serving generation to start (again) at the given time.
    due: BTreeMap<usize, Instant>,
    stopping: bool,
    events: Sender<Event>,
    inbox: Receiver<Event>,
}

impl<'l> Supervisor<'l> {
    fn new(
        listener: BorrowedFd<'l>,
        plan: Plan,
        events: Sender<Event>,
        inbox: Receiver<Event>,
    ) -> io::Result<Self> {
        let exe = std::env::current_exe()?;
        Ok(Supervisor {
            listener,
            exe,
            args: std::env::args_os().skip(1).collect(),
            target: plan.workers.max(1),
            grace: plan.grace,
            generation: 0,
            restart: None,
            workers: Vec::new(),
            last_start: BTreeMap::new(),
            due: BTreeMap::new(),
            stopping: false,
            events,
            inbox,
        })
    }

    fn run(&mut self, stop_requested: &dyn Fn() -> bool) -> io::Result<()> {
        log::info!(
            target: "wsgiref::process",
            "supervisor {}: starting {} worker(s) of {}",
            std::process::id(),
            self.target,
            self.exe.display()
        );
        let now = Instant::now();
        for slot in 0..self.target {
            self.due.insert(slot, now);
        }
        let mut stop_signals = 0;
        loop {
            match self.inbox.recv_timeout(TICK) {
                Ok(Event::Signal(signal)) => match signal {
                    SIGHUP | SIGUSR2 => self.begin_restart(),
                    SIGTTIN => self.resize(self.target + 1),
                    SIGTTOU => self.resize(self.target.saturating_sub(1)),
                    SIGQUIT => {
                        self.kill_all();
                        return Ok(());
                    }
                    _ => {
                        stop_signals += 1;
                        if stop_signals > 1 {
                            log::warn!(target: "wsgiref::process", "second signal: killing the workers");
                            self.kill_all();
                            return Ok(());
                        }
                        self.begin_stop();
                    }
                },
                Ok(Event::Ready(pid)) => self.mark_ready(pid),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    unreachable!("the supervisor holds a sender")
                }
            }
            if stop_requested() {
                self.begin_stop();
            }
            self.reap();
            if self.stopping && self.workers.is_empty() {
                log::info!(target: "wsgiref::process", "supervisor: every worker has stopped");
                return Ok(());
            }
            self.start_due();
            self.check_restart();
            self.kill_overdue();
        }
    }

    /// Start `slot` of `generation` (`listener` on fd 3, readiness pipe on fd 4).
    fn spawn(&mut self, slot: usize, generation: u64) -> io::Result<()> {
        self.last_start.insert(slot, Instant::now());
        let (ready_read, ready_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
        let listener = self.listener.try_clone_to_owned()?;
        let mut command = Command::new(&self.exe);
        command
            .args(&self.args)
            .env(
                WORKER_ENV,
                format!("{}:{slot}:{generation}", std::process::id()),
            )
            .stdin(Stdio::null())
            // Its own process group: Ctrl-C at a terminal reaches the supervisor alone,
            // which then stops the workers gracefully (once, not twice).
            .process_group(0);
        for name in SYSTEMD_VARS {
            command.env_remove(name);
        }
        command
            .fd_mappings(vec![
                FdMapping {
                    parent_fd: listener,
                    child_fd: LISTEN_FD,
                },
                FdMapping {
                    parent_fd: ready_write,
                    child_fd: READY_FD,
                },
            ])
            .map_err(|e| io::Error::other(format!("mapping the worker's descriptors: {e}")))?;
        let child = command.spawn()?;
        // Closes this process's copies of the child's descriptors: the readiness pipe then
        // reads end-of-file when the child is gone.
        drop(command);
        let pid = child.id();
        let events = self.events.clone();
        let mut ready_read = std::fs::File::from(ready_read);
        let reader = std::thread::Builder::new()
            .name("wsgiref-ready".into())
            .spawn(move || {
                let mut byte = [0u8; 1];
                if let Ok(1) = ready_read.read(&mut byte) {
                    let _ = events.send(Event::Ready(pid));
                }
            });
        if let Err(e) = reader {
            // The worker runs and is supervised; only its readiness goes unnoticed (a restart
            // waiting for it is abandoned after READY_TIMEOUT).
            log::error!(target: "wsgiref::process", "worker {slot}: cannot watch readiness: {e}");
        }
        log::info!(
            target: "wsgiref::process",
            "worker {slot} (generation {generation}): started, pid {pid}"
        );
        LIVE.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Pid::from_child(&child));
        self.workers.push(Worker {
            child,
            slot,
            generation,
            ready: false,
            kill_at: None,
        });
        Ok(())
    }

    /// Start the slots whose time has come (never during a stop).
    fn start_due(&mut self) {
        if self.stopping {
            self.due.clear();
            return;
        }
        let now = Instant::now();
        let ready: Vec<usize> = self
            .due
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(slot, _)| *slot)
            .collect();
        for slot in ready {
            self.due.remove(&slot);
            if slot >= self.target {
                continue;
            }
            if let Err(e) = self.spawn(slot, self.generation) {
                log::error!(
                    target: "wsgiref::process",
                    "worker {slot}: cannot start {}: {e}; trying again",
                    self.exe.display()
                );
                self.schedule(slot);
            }
        }
    }

    /// Start `slot` again, at once or, if it started less than [`RESTART_THROTTLE`] ago,
    /// when that has passed.
    fn schedule(&mut self, slot: usize) {
        let now = Instant::now();
        let at = match self.last_start.get(&slot) {
            Some(last) if now.duration_since(*last) < RESTART_THROTTLE => {
                let at = *last + RESTART_THROTTLE;
                log::warn!(
                    target: "wsgiref::process",
                    "worker {slot} started less than {} s ago: next start in {} ms",
                    RESTART_THROTTLE.as_secs(),
                    at.duration_since(now).as_millis()
                );
                at
            }
            _ => now,
        };
        self.due.insert(slot, at);
    }

    /// Collect workers that exited; start the serving generation's again.
    fn reap(&mut self) {
        let mut index = 0;
        while index < self.workers.len() {
            let worker = &mut self.workers[index];
            let status = match worker.child.try_wait() {
                Ok(Some(status)) => status,
                Ok(None) => {
                    index += 1;
                    continue;
                }
                Err(e) => {
                    log::error!(target: "wsgiref::process", "waiting for worker {}: {e}", worker.child.id());
                    index += 1;
                    continue;
                }
            };
            let worker = self.workers.swap_remove(index);
            let pid = worker.pid();
            LIVE.lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|p| *p != pid);
            let who = format!(
                "worker {} (generation {}, pid {})",
                worker.slot,
                worker.generation,
                worker.child.id()
            );
            if worker.kill_at.is_some() {
                log::info!(target: "wsgiref::process", "{who}: stopped ({status})");
                continue;
            }
            if self.restart.as_ref().map(|r| r.generation) == Some(worker.generation) {
                log::error!(
                    target: "wsgiref::process",
                    "{who}: exited ({status}) before it was ready; restart abandoned, \
                     the running workers serve on"
                );
                self.abandon_restart();
                continue;
            }
            if worker.generation != self.generation || self.stopping {
                log::info!(target: "wsgiref::process", "{who}: exited ({status})");
                continue;
            }
            log::error!(target: "wsgiref::process", "{who}: exited ({status}); starting another");
            self.schedule(worker.slot);
        }
    }

    fn mark_ready(&mut self, pid: u32) {
        if let Some(worker) = self.workers.iter_mut().find(|w| w.child.id() == pid) {
            worker.ready = true;
            log::debug!(target: "wsgiref::process", "worker {} (pid {pid}): ready", worker.slot);
        }
    }

    /// SIGHUP/USR2: start a whole new generation; the old one drains once it is ready.
    fn begin_restart(&mut self) {
        if self.stopping {
            return;
        }
        if self.restart.is_some() {
            log::warn!(target: "wsgiref::process", "restart already in progress; signal ignored");
            return;
        }
        let generation = self.generation + 1;
        log::info!(
            target: "wsgiref::process",
            "restart: starting {} new worker(s) (generation {generation})",
            self.target
        );
        self.restart = Some(Restart {
            generation,
            started: Instant::now(),
        });
        for slot in 0..self.target {
            if let Err(e) = self.spawn(slot, generation) {
                log::error!(
                    target: "wsgiref::process",
                    "restart: cannot start {}: {e}; abandoned",
                    self.exe.display()
                );
                self.abandon_restart();
                return;
            }
        }
    }

    /// Once every worker of the new generation is ready, it serves and the rest drain.
    fn check_restart(&mut self) {
        let Some(restart) = &self.restart else {
            return;
        };
        let generation = restart.generation;
        let new: Vec<&Worker> = self
            .workers
            .iter()
            .filter(|w| w.generation == generation)
            .collect();
        if new.len() >= self.target && new.iter().all(|w| w.ready) {
            log::info!(
                target: "wsgiref::process",
                "restart: generation {generation} is ready; stopping the previous one"
            );
            self.restart = None;
            self.generation = generation;
            // Slots of the old generation waiting to restart are the new one's now.
            self.due.clear();
            let deadline = Instant::now() + self.grace + KILL_MARGIN;
            for worker in self
                .workers
                .iter_mut()
                .filter(|w| w.generation != generation)
            {
                Self::stop(worker, deadline);
            }
        } else if restart.started.elapsed() > READY_TIMEOUT {
            log::error!(
                target: "wsgiref::process",
                "restart: generation {generation} not ready after {} s; abandoned",
                READY_TIMEOUT.as_secs()
            );
            self.abandon_restart();
        }
    }

    fn abandon_restart(&mut self) {
        let Some(restart) = self.restart.take() else {
            return;
        };
        let deadline = Instant::now() + self.grace + KILL_MARGIN;
        for worker in self
            .workers
            .iter_mut()
            .filter(|w| w.generation == restart.generation)
        {
            Self::stop(worker, deadline);
        }
    }

    /// SIGTTIN/SIGTTOU: one worker more or fewer (at least one).
    fn resize(&mut self, target: usize) {
        if self.stopping || target == 0 {
            return;
        }
        if self.restart.is_some() {
            // The new generation is being started with the old count; changing it now would
            // leave that generation a worker short of ready.
            log::warn!(target: "wsgiref::process", "restart in progress; SIGTTIN/SIGTTOU ignored");
            return;
        }
        log::info!(target: "wsgiref::process", "workers: {} → {target}", self.target);
        let deadline = Instant::now() + self.grace + KILL_MARGIN;
        for worker in self.workers.iter_mut().filter(|w| w.slot >= target) {
            Self::stop(worker, deadline);
        }
        for slot in self.target..target {
            self.due.insert(slot, Instant::now());
        }
        self.target = target;
    }

    /// SIGTERM/SIGINT or the server's shutdown: every worker finishes its requests and exits.
    fn begin_stop(&mut self) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        self.restart = None;
        log::info!(
            target: "wsgiref::process",
            "stopping {} worker(s) gracefully",
            self.workers.len()
        );
        let deadline = Instant::now() + self.grace + KILL_MARGIN;
        for worker in &mut self.workers {
            Self::stop(worker, deadline);
        }
    }

    fn stop(worker: &mut Worker, deadline: Instant) {
        if worker.kill_at.is_none() {
            worker.kill_at = Some(deadline);
            worker.signal(Signal::TERM);
        }
    }

    fn kill_overdue(&mut self) {
        let now = Instant::now();
        for worker in &mut self.workers {
            if worker.kill_at.is_some_and(|at| at <= now) {
                log::warn!(
                    target: "wsgiref::process",
                    "worker {} (pid {}) did not stop in time: killed",
                    worker.slot,
                    worker.child.id()
                );
                worker.signal(Signal::KILL);
                worker.kill_at = Some(now + Duration::from_secs(3600));
            }
        }
    }

    /// A second stop signal or SIGQUIT: SIGKILL everything and wait for it.
    fn kill_all(&mut self) {
        self.stopping = true;
        for worker in &mut self.workers {
            worker.signal(Signal::KILL);
            let _ = worker.child.wait();
        }
        self.workers.clear();
    }
}
