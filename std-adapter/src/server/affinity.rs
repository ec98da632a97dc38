//! [`Placement`]: which CPU each event-loop worker runs on.
//!
//! With as many workers as CPUs, each worker pinned to a CPU of its own keeps the scheduler
//! from stacking two busy workers on one CPU while the other runs the clients, and from
//! moving a worker away from the caches that hold its connections. Measured on the 2-core
//! benchmark machine (`BENCHMARKS.md`, "Worker placement"), pinned against unpinned in 9
//! paired rounds: req/s +10% with 8 keep-alive connections, +6% with 64, +3% with
//! `Connection: close`.
//!
//! Pinned workers can also have the kernel steer connections to them
//! ([`Placement::steer`]): each connection goes to the worker on the CPU that received its
//! handshake, so client packets and the worker that answers them meet on one CPU.
//!
//! Only Linux pins (`sched_setaffinity`); elsewhere a plan is never made and workers run where
//! the scheduler puts them.

#[cfg(target_os = "linux")]
use rustix::thread::{sched_getaffinity, sched_setaffinity, CpuSet};

/// The CPUs the workers are placed on: those the thread that starts the workers may run on
/// (a `taskset` or cgroup restriction of the process is respected), worker `n` on the `n`-th.
#[derive(Clone, Copy)]
// Elsewhere no placement is ever made: the type only keeps the callers free of `cfg`s.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) struct Placement {
    /// The starting thread's own CPUs, which the workers inherit before they are pinned.
    #[cfg(target_os = "linux")]
    inherited: CpuSet,
}

impl Placement {
    /// A placement for `workers` workers, when the calling thread may run on at least that
    /// many CPUs; `None` (workers left to the scheduler) when it may not or the mask cannot be
    /// read.
    #[cfg(target_os = "linux")]
    pub(crate) fn plan(workers: usize) -> Option<Placement> {
        let inherited = match sched_getaffinity(None) {
            Ok(set) => set,
            Err(e) => {
                log::warn!(target: "wsgiref::server", "cannot read the CPU affinity ({e}); workers not pinned");
                return None;
            }
        };
        let cpus = inherited.count() as usize;
        if workers > cpus {
            log::debug!(
                target: "wsgiref::server",
                "{workers} workers on {cpus} CPUs: workers not pinned"
            );
            return None;
        }
        Some(Placement { inherited })
    }

    /// Never on this platform.
    #[cfg(not(target_os = "linux"))]
    pub(crate) fn plan(_workers: usize) -> Option<Placement> {
        None
    }

    /// The CPU worker `worker` runs on.
    #[cfg(target_os = "linux")]
    pub(crate) fn cpu_of(&self, worker: usize) -> Option<usize> {
        (0..CpuSet::MAX_CPU)
            .filter(|&c| self.inherited.is_set(c))
            .nth(worker)
    }

    /// Pin the calling thread (worker `worker`) to its CPU. A failure is logged and leaves the
    /// worker unpinned: placement is an optimisation, never a reason not to serve.
    #[cfg(target_os = "linux")]
    pub(crate) fn pin(&self, worker: usize) {
        let Some(cpu) = self.cpu_of(worker) else {
            return;
        };
        let mut one = CpuSet::new();
        one.set(cpu);
        match sched_setaffinity(None, &one) {
            Ok(()) => log::debug!(target: "wsgiref::server", "worker {worker} pinned to CPU {cpu}"),
            Err(e) => log::warn!(
                target: "wsgiref::server",
                "worker {worker}: cannot pin to CPU {cpu} ({e}); left unpinned"
            ),
        }
    }

    #[cfg(not(target_os = "linux"))]
    pub(crate) fn pin(&self, _worker: usize) {}

    /// Ask the kernel to give worker `worker`'s own listener the connections whose handshake
    /// its CPU processes (`SO_INCOMING_CPU`: within a `SO_REUSEPORT` group a listener whose
    /// CPU matches is chosen before the hash, Linux 6.2 and later). The worker then serves
    /// each such connection on the CPU that receives its packets, without waking a thread on
    /// the other CPU for every request. Only for a listener no other worker shares; a failure
    /// (an older kernel) is logged and leaves the choice to the hash.
    #[cfg(target_os = "linux")]
    pub(crate) fn steer(&self, listener: &std::net::TcpListener, worker: usize) {
        let Some(cpu) = self.cpu_of(worker) else {
            return;
        };
        match socket2::SockRef::from(listener).set_cpu_affinity(cpu) {
            Ok(()) => log::debug!(
                target: "wsgiref::server",
                "worker {worker}: connections received on CPU {cpu} come to it"
            ),
            Err(e) => log::debug!(
                target: "wsgiref::server",
                "worker {worker}: cannot steer connections to CPU {cpu}: {e}"
            ),
        }
    }

    #[cfg(not(target_os = "linux"))]
    pub(crate) fn steer(&self, _listener: &std::net::TcpListener, _worker: usize) {}

    /// Give the calling thread back the CPUs the workers were placed from. A blocking helper
    /// thread started by a pinned worker inherits the worker's single CPU; it calls this first
    /// so that a long upload does not compete with its worker for that CPU.
    #[cfg(target_os = "linux")]
    pub(crate) fn release(&self) {
        if let Err(e) = sched_setaffinity(None, &self.inherited) {
            log::debug!(target: "wsgiref::server", "cannot widen a helper's CPU affinity: {e}");
        }
    }

    #[cfg(not(target_os = "linux"))]
    pub(crate) fn release(&self) {}
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn own_cpus() -> Vec<usize> {
        let set = sched_getaffinity(None).unwrap();
        (0..CpuSet::MAX_CPU).filter(|&c| set.is_set(c)).collect()
    }

    #[test]
    fn no_plan_for_more_workers_than_cpus() {
        let cpus = std::thread::spawn(own_cpus).join().unwrap();
        assert!(Placement::plan(cpus.len() + 1).is_none());
    }

    #[test]
    fn each_worker_gets_its_own_cpu_and_a_helper_gets_them_all_back() {
        // On a thread of its own: pinning the test harness's thread would leak into others.
        std::thread::spawn(|| {
            let before = own_cpus();
            let plan = Placement::plan(before.len()).expect("as many workers as CPUs");
            let last = before.len() - 1;
            assert_eq!(plan.cpu_of(0), Some(before[0]));
            assert_eq!(plan.cpu_of(last), Some(before[last]));
            assert_eq!(plan.cpu_of(before.len()), None);
            plan.pin(last);
            assert_eq!(own_cpus(), [before[last]]);
            plan.release();
            assert_eq!(own_cpus(), before);
        })
        .join()
        .unwrap();
    }
}
