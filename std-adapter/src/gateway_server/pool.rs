//! The connection threads that wait, between connections, for the next one.
//!
//! SCGI and uwsgi carry one request per connection (nginx opens a new one for each), so a
//! thread that ended with its connection made every request pay a thread start and exit
//! (clone, the stack's mmap, mprotect, madvise and munmap) and fresh, zeroed buffers. Instead
//! a thread whose connection closed becomes idle here, keeping its buffers, and the accept
//! loop hands the next connection to an idle thread when there is one; only when none is
//! idle does it start a new thread. Idle threads beyond [`KEPT_IDLE`] exit after
//! [`IDLE_LINGER`] without work, and every idle thread exits when `serve_forever` returns, so
//! a burst leaves no lasting crowd and a stopped server holds no thread.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::listener::Stream;

/// How long an idle thread beyond [`KEPT_IDLE`] waits for a connection before it exits (as
/// the HTTP server's spare threads do).
pub(crate) const IDLE_LINGER: Duration = Duration::from_secs(10);

/// Idle threads kept however long they wait: enough for the usual handful of connections a
/// front end has in flight at once, few enough to cost nothing (an idle thread's stack is
/// mostly untouched, its buffers ~100 KiB).
pub(crate) const KEPT_IDLE: usize = 4;

/// The idle connection threads of one server and the connections handed to them.
#[derive(Default)]
pub(crate) struct Pool {
    state: Mutex<State>,
    ready: Condvar,
}

#[derive(Default)]
struct State {
    /// Accepted connections handed to idle threads, not yet taken.
    handed: VecDeque<Stream>,
    /// Threads waiting in [`Pool::next`].
    idle: usize,
    /// `serve_forever` returned: idle threads exit.
    closed: bool,
}

impl Pool {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic never happens while the lock is held; if one did, the state is still whole.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hand `stream` to an idle thread, or give it back when every idle thread already has
    /// one waiting (the caller then starts a thread for it).
    pub(crate) fn hand(&self, stream: Stream) -> Result<(), Stream> {
        let mut state = self.state();
        if state.idle <= state.handed.len() {
            return Err(stream);
        }
        state.handed.push_back(stream);
        drop(state);
        self.ready.notify_one();
        Ok(())
    }

    /// Wait, idle, for the next connection. `None` tells the thread to exit: the server
    /// stopped, or it waited [`IDLE_LINGER`] while more than [`KEPT_IDLE`] threads were idle.
    pub(crate) fn next(&self) -> Option<Stream> {
        let mut state = self.state();
        state.idle += 1;
        let mut until = Instant::now() + IDLE_LINGER;
        loop {
            if let Some(stream) = state.handed.pop_front() {
                state.idle -= 1;
                return Some(stream);
            }
            let now = Instant::now();
            if state.closed || (now >= until && state.idle > KEPT_IDLE) {
                state.idle -= 1;
                return None;
            }
            if now >= until {
                // One of the kept few: wait on.
                until = now + IDLE_LINGER;
            }
            state = self
                .ready
                .wait_timeout(state, until - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Threads idle now, waiting for a connection.
    pub(crate) fn idle(&self) -> usize {
        let state = self.state();
        state.idle - state.handed.len().min(state.idle)
    }

    /// `serve_forever` starts: idle threads wait for connections again.
    pub(crate) fn open(&self) {
        self.state().closed = false;
    }

    /// `serve_forever` returns: idle threads exit (they hold the application).
    pub(crate) fn close(&self) {
        self.state().closed = true;
        self.ready.notify_all();
    }
}
