//! Starved pinned loops: a loop thread pinned to a CPU that it cannot get.
//!
//! A pinned event-loop thread may run on its one CPU only. Under the kernel's group
//! scheduling (autogroup: a process started with `setsid`; a systemd service's cgroup) a
//! group's weight on each CPU follows the group's recent load there. With
//! [`steer_connections`](super::ServerOptions::steer_connections) one loop can carry nearly
//! all of a process's load while the other loops idle, so the process's weight on the idle
//! loops' CPUs shrinks to almost nothing. When connections then arrive for one of those loops
//! while other groups keep that CPU busy, its thread is runnable but gets next to no time on
//! its CPU, and cannot be moved to another: measured on the 2-CPU CI machine at load average
//! 13 (`tests/deploy/lb.sh` with `LB_SETSID=1 LB_PLACEMENT=default`), a loop thread waited
//! 413 ms for its CPU and ran 1.2 ms, and every request of its connections waited with it.
//! The hand-over monitor does not help there: the thread is not in an application call, it
//! has just been woken from `epoll_wait`.
//!
//! So the monitor watches each pinned owner's time running and waiting for its CPU
//! (`/proc/self/task/<tid>/schedstat`) and its state (`stat`). A thread that spent most of a
//! [`WINDOW`] waiting, or that was runnable at both ends of one and ran little of it, is
//! unpinned (given back every CPU the
//! process may use), so that the scheduler can move it where its process still has weight.
//! A server that owns its CPUs never waits that long, and keeps its pinning.

use std::time::{Duration, Instant};

/// The shortest span over which a pinned thread's waiting is judged: long enough that the
/// ordinary sharing of a CPU (a client on the same machine, a short burst of other work) does
/// not count, short enough that a starved loop loses only a fraction of a second.
pub(crate) const WINDOW: Duration = Duration::from_millis(50);

/// The thread is starved when it waited for its CPU at least this share of a window
/// (numerator / denominator): 80%.
const STARVED_SHARE: (u32, u32) = (4, 5);

/// What the kernel says about one thread at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Reading {
    /// Time spent running, in all.
    pub(crate) ran: Duration,
    /// Time spent runnable but not running, in all (the kernel's `run_delay`). The kernel
    /// adds a wait when it ends, so a wait still going on is not in it yet: hence `runnable`.
    pub(crate) waited: Duration,
    /// Runnable (running or waiting for a CPU) at this moment.
    pub(crate) runnable: bool,
}

/// A reading of thread `tid` of this process; `None` where the kernel does not say (no
/// schedstat, not Linux, the thread has exited).
pub(crate) fn read(tid: i32) -> Option<Reading> {
    let sched = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
    let mut fields = sched.split_ascii_whitespace();
    let ran = Duration::from_nanos(fields.next()?.parse().ok()?);
    let waited = Duration::from_nanos(fields.next()?.parse().ok()?);
    let stat = std::fs::read(format!("/proc/self/task/{tid}/stat")).ok()?;
    // "tid (comm) S ...": the state follows the last ')'.
    let state = stat
        .iter()
        .rposition(|&b| b == b')')
        .and_then(|i| stat.get(i + 2).copied())?;
    Some(Reading {
        ran,
        waited,
        runnable: state == b'R',
    })
}

/// The monitor's watch over one loop's pinned owner: the thread watched, and when and what
/// it was last read.
#[derive(Debug, Default)]
pub(crate) struct Watch {
    start: Option<(i32, Instant, Reading)>,
}

impl Watch {
    /// A reading of thread `tid` at `now`: true when, over the window that this reading
    /// closes, the thread was starved of its CPU. It was when it waited at least 80% of the
    /// window (waits that ended), or when it was runnable at both ends of the window and ran
    /// at most 20% of it (a wait still going on). A new thread (another owner) starts a new
    /// window; so does a window judged.
    pub(crate) fn starved(&mut self, tid: i32, now: Instant, reading: Reading) -> bool {
        let Some((watched, since, before)) = self.start else {
            self.start = Some((tid, now, reading));
            return false;
        };
        if watched != tid || reading.waited < before.waited || reading.ran < before.ran {
            self.start = Some((tid, now, reading));
            return false;
        }
        let span = now.saturating_duration_since(since);
        if span < WINDOW {
            return false;
        }
        self.start = Some((tid, now, reading));
        let (num, den) = STARVED_SHARE;
        let waited = (reading.waited - before.waited) * den >= span * num;
        let still_waiting = before.runnable
            && reading.runnable
            && (reading.ran - before.ran) * den <= span * (den - num);
        waited || still_waiting
    }

    /// Whether a reading at `now` would close a window (or start the first): the monitor reads
    /// the kernel's figures only then, about 20 times a second per pinned loop.
    pub(crate) fn due(&self, now: Instant) -> bool {
        self.start
            .is_none_or(|(_, since, _)| now.saturating_duration_since(since) >= WINDOW)
    }

    /// Forget the thread watched (it is no longer pinned).
    pub(crate) fn reset(&mut self) {
        self.start = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A sleeping thread that ran `ran` and waited `waited` ms in all.
    fn asleep(ran: u64, waited: u64) -> Reading {
        Reading {
            ran: ms(ran),
            waited: ms(waited),
            runnable: false,
        }
    }

    fn runnable(ran: u64, waited: u64) -> Reading {
        Reading {
            runnable: true,
            ..asleep(ran, waited)
        }
    }

    #[test]
    fn a_thread_that_waited_most_of_a_window_is_starved() {
        let t0 = Instant::now();
        let mut watch = Watch::default();
        assert!(watch.due(t0));
        assert!(!watch.starved(7, t0, asleep(0, 10)));
        assert!(!watch.due(t0 + ms(20)));
        assert!(watch.due(t0 + WINDOW));
        // Not judged before a whole window has passed, however much it waited.
        assert!(!watch.starved(7, t0 + ms(20), asleep(0, 30)));
        // The reading measured on the CI machine: 413 ms waited in 333 ms of sampling
        // (the wait began before the window).
        assert!(watch.starved(7, t0 + ms(333), asleep(1, 423)));
    }

    #[test]
    fn a_thread_still_waiting_is_starved() {
        let t0 = Instant::now();
        let mut watch = Watch::default();
        watch.starved(7, t0, runnable(100, 0));
        // Runnable at both readings, 10 ms run in 100: its wait is not counted yet.
        assert!(watch.starved(7, t0 + ms(100), runnable(110, 0)));
        // Runnable at both readings but running most of the time: busy, not starved.
        assert!(!watch.starved(7, t0 + ms(200), runnable(190, 10)));
        // Asleep at one end: its waits are in the count, which is small.
        assert!(!watch.starved(7, t0 + ms(300), asleep(191, 10)));
        assert!(!watch.starved(7, t0 + ms(400), runnable(192, 10)));
    }

    #[test]
    fn a_thread_that_shares_its_cpu_is_not_starved() {
        let t0 = Instant::now();
        let mut watch = Watch::default();
        watch.starved(7, t0, asleep(0, 0));
        // Half of the time waiting (a client on the same CPU): not starved.
        assert!(!watch.starved(7, t0 + ms(100), asleep(50, 50)));
        // Each window is judged on its own: 79% is not enough, 80% is.
        assert!(!watch.starved(7, t0 + ms(200), asleep(71, 129)));
        assert!(watch.starved(7, t0 + ms(300), asleep(91, 209)));
    }

    #[test]
    fn another_owner_starts_a_new_window() {
        let t0 = Instant::now();
        let mut watch = Watch::default();
        watch.starved(7, t0, asleep(0, 0));
        // Thread 8 took the loop: its own totals say nothing about 7's window.
        assert!(!watch.starved(8, t0 + ms(100), asleep(0, 500)));
        assert!(!watch.starved(8, t0 + ms(200), asleep(0, 510)));
        watch.reset();
        assert!(!watch.starved(8, t0 + ms(300), asleep(0, 600)));
        assert!(watch.starved(8, t0 + ms(400), asleep(0, 700)));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_kernel_reports_a_threads_times() {
        let tid = rustix::thread::gettid().as_raw_nonzero().get();
        let first = read(tid).expect("schedstat and stat of this thread");
        // This thread is running now.
        assert!(first.runnable);
        std::thread::yield_now();
        let second = read(tid).expect("schedstat and stat of this thread");
        assert!(second.ran >= first.ran && second.waited >= first.waited);
        assert_eq!(read(i32::MAX), None);
    }
}
