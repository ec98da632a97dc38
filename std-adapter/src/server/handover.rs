//! The hand-over: applications run inline on the event loops, and a loop whose thread is
//! stuck in a call is given to another thread.
//!
//! A loop's owner marks each connection it drives ([`Calls::begin`] / [`Calls::end`]); the
//! application, a body read and a blocking write all happen inside such a mark. A monitor
//! thread samples the marks. When it sees the same call still running at two samples in a row
//! (so for at least one [`Monitor`] period, about a tenth of a millisecond while hand-overs
//! are frequent), it takes the loop away from that thread (a compare-and-swap on the mark,
//! so the stuck thread and the monitor cannot both win) and gives it to a spare thread, which
//! goes on polling and serving every other connection. When the stuck call returns, its
//! thread finds it lost the loop, gives its one connection back to the loop, and becomes a
//! spare itself.
//!
//! This is how Go's scheduler keeps goroutines running while one of its threads is blocked
//! in a system call. The fast path (a request answered at once) costs two atomic operations
//! and an uncontended lock, and no thread switch; a blocking application costs one hand-over
//! per call that blocks. At most [`ServerOptions::max_blocking`](super::ServerOptions) threads
//! are stuck in calls at once: past that, a loop waits with its thread.

use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::thread::Scope;
use std::time::{Duration, Instant};

use wsgiref_core::handler::OwnedMemory;
use wsgiref_core::Application;

use super::affinity::Placement;
use super::event_loop::{self, Conn, Exit, Loop, Turn};
use super::request_handler::RequestHandler;
use super::server::WsgiServer;

/// The owner's call mark of one loop: a sequence number shifted left, with the low bit set
/// while a call runs; and the owner's thread id, so the monitor can tell a thread that waits
/// from one that computes (or was only preempted).
#[derive(Debug, Default)]
pub(crate) struct Calls(AtomicU64, AtomicI32);

impl Calls {
    /// Record the calling thread as the loop's owner (when it starts running the loop).
    pub(crate) fn owned_here(&self) {
        #[cfg(target_os = "linux")]
        self.1.store(
            rustix::thread::gettid().as_raw_nonzero().get(),
            Ordering::Relaxed,
        );
    }

    /// Whether the owner thread is waiting (asleep in the kernel) rather than running or
    /// ready to run. On Linux from `/proc/thread-self/../<tid>/stat`; elsewhere always true.
    fn owner_waits(&self) -> bool {
        #[cfg(target_os = "linux")]
        {
            let tid = self.1.load(Ordering::Relaxed);
            let Ok(stat) = std::fs::read(format!("/proc/self/task/{tid}/stat")) else {
                return true;
            };
            // "tid (comm) S ...": the state follows the last ')'.
            let state = stat
                .iter()
                .rposition(|&b| b == b')')
                .and_then(|i| stat.get(i + 2).copied());
            !matches!(state, Some(b'R'))
        }
        #[cfg(not(target_os = "linux"))]
        true
    }

    /// Mark the start of a call; returns its ticket. Only the loop's owner calls this.
    pub(crate) fn begin(&self) -> u64 {
        let ticket = (self.0.load(Ordering::Relaxed) | 1) + 2;
        self.0.store(ticket, Ordering::Release);
        ticket
    }

    /// Mark the end of the call `ticket`: true when this thread still owns the loop, false
    /// when the monitor took it away meanwhile.
    pub(crate) fn end(&self, ticket: u64) -> bool {
        self.0
            .compare_exchange(ticket, ticket & !1, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Take the loop away from the call `ticket` (still running): true when it was.
    fn take_over(&self, ticket: u64) -> bool {
        self.0
            .compare_exchange(ticket, ticket + 1, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

/// Shortest and longest time between two samples of the monitor. It samples often while
/// calls block (a loop is held at most about two periods), and backs off when none has for a
/// while, so an idle or fast server pays next to nothing for it.
const FAST: Duration = Duration::from_micros(100);
const SLOW: Duration = Duration::from_millis(2);
/// How long a call may keep its thread busy on the CPU (computing, or runnable but not given
/// a CPU by a busy machine) before its loop is handed over anyway. A thread that waits (I/O,
/// a lock, a sleep) is handed over at the first sample that finds it still in the same call.
const RUNNING_LIMIT: Duration = Duration::from_millis(20);
/// How long the monitor stays fast after a hand-over.
const STAY_FAST: Duration = Duration::from_secs(1);
/// How long a spare thread waits for a loop before it exits.
const SPARE_LINGER: Duration = Duration::from_secs(10);

/// The threads of one `serve_forever`: the loops, the spares and the count of stuck threads.
pub(crate) struct Crew<'s, A, H> {
    pub(crate) server: &'s WsgiServer<A, H>,
    pub(crate) loops: Vec<Loop<'s>>,
    placement: Option<Placement>,
    /// Threads stuck in a call after losing their loop (limited by `max_blocking`).
    stuck: AtomicUsize,
    /// Loops still running.
    running: AtomicUsize,
    spares: Mutex<Spares<'s>>,
    wake: Condvar,
    /// The first error a loop ended with.
    pub(crate) error: Mutex<Option<std::io::Error>>,
}

/// Work for a spare thread.
// Jobs wait in a short queue only; boxing the connection would cost an allocation per job.
#[allow(clippy::large_enum_variant)]
enum Job<'s> {
    /// Run loop `n` (its owner is stuck in a call).
    Loop(usize),
    /// Serve connection `index` of loop `n` once, then give it back to the loop (the loop is
    /// eager: see [`Eager`]).
    Conn {
        n: usize,
        index: usize,
        conn: Conn<'s>,
        turn: Turn,
    },
}

struct Spares<'s> {
    /// Work waiting for a thread.
    jobs: Vec<Job<'s>>,
    /// Spare threads waiting for a job.
    idle: usize,
    /// Every loop ended: spares exit.
    done: bool,
}

impl<'s, A, H> Crew<'s, A, H>
where
    A: Application + Send + Sync + 'static,
    H: RequestHandler,
{
    pub(crate) fn new(
        server: &'s WsgiServer<A, H>,
        loops: Vec<Loop<'s>>,
        placement: Option<Placement>,
    ) -> Self {
        let running = AtomicUsize::new(loops.len());
        Crew {
            server,
            loops,
            placement,
            stuck: AtomicUsize::new(0),
            running,
            spares: Mutex::new(Spares {
                jobs: Vec::new(),
                idle: 0,
                done: false,
            }),
            wake: Condvar::new(),
            error: Mutex::new(None),
        }
    }

    fn spares(&self) -> std::sync::MutexGuard<'_, Spares<'s>> {
        self.spares.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The body of every server thread: run loop `first` if given, then serve as a spare.
    /// `pinned`: the thread was pinned to a CPU (a worker's first thread).
    pub(crate) fn thread(&self, first: Option<usize>, mut pinned: bool) {
        let mut memory = OwnedMemory::default();
        let mut job = first.map(Job::Loop);
        while let Some(work) = job {
            match work {
                Job::Loop(n) => {
                    if let Exit::Replaced = self.run_loop(n, &mut memory) {
                        self.stuck.fetch_sub(1, Ordering::AcqRel);
                        // A pinned worker thread turned spare may serve any loop: unpin it.
                        if let (true, Some(placement)) = (pinned, &self.placement) {
                            placement.release();
                            pinned = false;
                        }
                    }
                }
                Job::Conn {
                    n,
                    index,
                    conn,
                    turn,
                } => {
                    let lp = &self.loops[n];
                    let started = Instant::now();
                    event_loop::serve_once(self.server, lp, &mut memory, index, conn, turn);
                    let now = Instant::now();
                    if now.duration_since(started) >= SLOW_CALL {
                        lp.eager.extend(now);
                    }
                    self.stuck.fetch_sub(1, Ordering::AcqRel);
                }
            }
            job = self.next_job();
        }
    }

    /// Run loop `n` on this thread until it ends or this thread is replaced.
    fn run_loop(&self, n: usize, memory: &mut OwnedMemory) -> Exit {
        let dispatch =
            |index, conn: &mut Option<Conn<'s>>, turn| self.dispatch(n, index, conn, turn);
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            event_loop::run(self.server, &self.loops[n], memory, &dispatch)
        }));
        // A bug in the loop must not leave the server waiting for it for ever.
        let exit = ran.unwrap_or_else(|_| {
            self.loops[n].lock().finished = true;
            Exit::Finished(Err(std::io::Error::other("a server worker panicked")))
        });
        if let Exit::Finished(result) = &exit {
            if let Err(e) = result {
                let mut error = self.error.lock().unwrap_or_else(|p| p.into_inner());
                error.get_or_insert(std::io::Error::new(e.kind(), e.to_string()));
                // A loop that failed stops the server.
                self.server.shared.stop.request();
            }
            if self.running.fetch_sub(1, Ordering::AcqRel) == 1 {
                self.spares().done = true;
                self.wake.notify_all();
            }
        }
        exit
    }

    /// Give connection `index` of loop `n` (taken from `conn`) to an idle spare thread to
    /// serve once (the loop is eager). `conn` is left alone when no spare is idle or
    /// `max_blocking` threads are busy already.
    fn dispatch(&self, n: usize, index: usize, conn: &mut Option<Conn<'s>>, turn: Turn) {
        let mut spares = self.spares();
        if spares.idle <= spares.jobs.len() {
            return;
        }
        let max = self.server.shared.options.max_blocking;
        let reserved = self
            .stuck
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |k| {
                (k < max).then_some(k + 1)
            })
            .is_ok();
        if !reserved {
            return;
        }
        let Some(conn) = conn.take() else {
            self.stuck.fetch_sub(1, Ordering::AcqRel);
            return;
        };
        spares.jobs.push(Job::Conn {
            n,
            index,
            conn,
            turn,
        });
        self.wake.notify_one();
    }

    /// Wait as a spare for a loop to run; `None` when the server is done or after
    /// [`SPARE_LINGER`] without work.
    fn next_job(&self) -> Option<Job<'s>> {
        let mut spares = self.spares();
        spares.idle += 1;
        let until = Instant::now() + SPARE_LINGER;
        let job = loop {
            if let Some(n) = spares.jobs.pop() {
                break Some(n);
            }
            let now = Instant::now();
            if spares.done || now >= until {
                break None;
            }
            spares = self
                .wake
                .wait_timeout(spares, until - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        };
        spares.idle -= 1;
        job
    }

    /// Give loop `n` to a spare thread, or to a new one.
    fn start_owner<'scope>(&'scope self, scope: &'scope Scope<'scope, '_>, n: usize) -> bool {
        {
            let mut spares = self.spares();
            if spares.idle > spares.jobs.len() {
                spares.jobs.push(Job::Loop(n));
                self.wake.notify_one();
                return true;
            }
        }
        let spawned = std::thread::Builder::new()
            .name("wsgiref-worker".into())
            .spawn_scoped(scope, move || self.thread(Some(n), false));
        match spawned {
            Ok(_) => true,
            Err(e) => {
                log::error!(target: "wsgiref::server", "cannot start a thread: {e}");
                false
            }
        }
    }

    /// The monitor: until every loop ended, sample the loops' call marks and hand over the
    /// loops whose thread is stuck.
    pub(crate) fn monitor<'scope>(&'scope self, scope: &'scope Scope<'scope, '_>) {
        let max = self.server.shared.options.max_blocking;
        // Per loop: the call mark last seen, and when it was first seen.
        let mut seen = vec![(0u64, Instant::now()); self.loops.len()];
        let mut period = SLOW;
        let mut last_hand_over: Option<Instant> = None;
        while !self.spares().done {
            std::thread::sleep(period);
            let mut handed = false;
            let now = Instant::now();
            for (n, lp) in self.loops.iter().enumerate() {
                let mark = lp.calls.0.load(Ordering::Acquire);
                if mark != seen[n].0 {
                    seen[n] = (mark, now);
                    continue;
                }
                if mark & 1 == 0 {
                    continue;
                }
                let busy_for = now.duration_since(seen[n].1);
                if busy_for < RUNNING_LIMIT && !lp.calls.owner_waits() {
                    continue;
                }
                // Reserve the stuck thread's slot before anything else: the count is exact.
                let reserved = self
                    .stuck
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |k| {
                        (k < max).then_some(k + 1)
                    })
                    .is_ok();
                if !reserved {
                    continue;
                }
                if !lp.calls.take_over(mark) {
                    // The call ended just now: nothing to hand over.
                    self.stuck.fetch_sub(1, Ordering::AcqRel);
                    continue;
                }
                handed = true;
                lp.eager.extend(now);
                if !self.start_owner(scope, n) {
                    // No thread to be had: the loop waits for its stuck thread, which takes
                    // it back as a spare when its call returns.
                    self.spares().jobs.push(Job::Loop(n));
                }
            }
            if handed {
                last_hand_over = Some(now);
            }
            period = match last_hand_over {
                Some(at) if now.duration_since(at) < STAY_FAST => FAST,
                _ => (period * 2).min(SLOW),
            };
        }
    }
}

/// A loop's eager mode: for a while after one of its calls blocked, the owner gives each
/// connection it would drive to an idle spare thread (when there is one), and goes on with
/// the loop at once, instead of running the call inline and waiting for the monitor to notice
/// that it blocks. A blocking application then costs one thread wake-up per request (off the
/// loop's path) instead of up to two monitor periods of a stalled loop. Calls that turn out to be quick do
/// not extend it, so a server whose application stopped blocking returns to running every
/// request inline within [`EAGER_FOR`].
#[derive(Debug)]
pub(crate) struct Eager {
    /// When eager mode ends, in microseconds since `epoch`.
    until: AtomicU64,
    epoch: Instant,
}

/// How long a blocked call keeps its loop eager.
const EAGER_FOR: Duration = Duration::from_millis(200);

/// A call that took at least this long keeps its loop eager.
pub(crate) const SLOW_CALL: Duration = Duration::from_millis(1);

impl Default for Eager {
    fn default() -> Self {
        Eager {
            until: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }
}

impl Eager {
    fn micros(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_micros() as u64
    }

    /// Stay eager until `EAGER_FOR` after `now`.
    pub(crate) fn extend(&self, now: Instant) {
        self.until
            .store(self.micros(now + EAGER_FOR), Ordering::Relaxed);
    }

    /// Whether the loop is eager at `now`.
    pub(crate) fn is_on(&self, now: Instant) -> bool {
        self.micros(now) < self.until.load(Ordering::Relaxed)
    }
}
