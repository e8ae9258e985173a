//! Fault injection: make the n-th syscall of a kind, a server request, or a heap
//! allocation fail.
//!
//! Tests use this to walk every step of segment and store creation and prove that
//! whatever was acquired before the failing step is released (SECURITY.md S3). Plans
//! and traces are per thread, so tests running in parallel threads do not disturb each
//! other.
//!
//! The points are shared by the crates of the workspace: `xbs` asks [`hit`] before
//! each request and allocation it can fail on. Only compiled in with the
//! `fault-injection` feature; without it, [`hit`] is an inlined `None` and costs
//! nothing.

use crate::sys::Call;

/// A place where a fault can be injected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Point {
    /// A syscall in [`crate::sys`].
    Sys(Call),
    /// The server's attach of a segment (`ShmAttach` or `ShmAttachFd`). Instead of
    /// pretending, the request is sent with an id or fd the real server must refuse
    /// (BadAccess/BadMatch), so the refusal path runs exactly as in production.
    ServerAttach,
    /// The server's `CreatePixmap`: sent wider than the 32767 pixels the server
    /// accepts, so it answers BadAlloc, as when it is out of memory.
    ServerPixmap,
    /// The server's `CreateGC`: sent with a GC function outside the protocol's 16, so
    /// the server answers BadValue.
    ServerGc,
    /// A heap image or canvas (`try_reserve`): reported as out of memory.
    Heap,
}

#[cfg(feature = "fault-injection")]
pub use enabled::*;

#[cfg(feature = "fault-injection")]
mod enabled {
    use super::Point;
    use crate::sys::Call;
    use nix::errno::Errno;
    use std::cell::RefCell;

    #[derive(Default)]
    struct State {
        /// (point, calls still to let through before failing, errno to report)
        plans: Vec<(Point, usize, Errno)>,
        trace: Option<Vec<Point>>,
    }

    thread_local! {
        static STATE: RefCell<State> = RefCell::default();
    }

    /// The errno a failing syscall reports unless a test chooses one.
    pub fn default_errno(call: Call) -> Errno {
        match call {
            Call::MemfdCreate | Call::DupFd => Errno::EMFILE,
            Call::Ftruncate | Call::Shmget => Errno::ENOSPC,
            Call::Mmap | Call::Shmat => Errno::ENOMEM,
            Call::AddSeals | Call::Munmap | Call::Shmdt | Call::ShmctlRmid => Errno::EINVAL,
            Call::Close => Errno::EIO,
        }
    }

    /// Make the `nth` (0-based) hit of `point` on this thread, counted from now, fail.
    pub fn fail(point: Point, nth: usize) {
        let errno = match point {
            Point::Sys(call) => default_errno(call),
            Point::ServerAttach => Errno::EACCES,
            Point::ServerPixmap | Point::ServerGc | Point::Heap => Errno::ENOMEM,
        };
        fail_with(point, nth, errno);
    }

    /// Like [`fail`], reporting `errno`.
    pub fn fail_with(point: Point, nth: usize, errno: Errno) {
        STATE.with(|s| s.borrow_mut().plans.push((point, nth, errno)));
    }

    /// Start recording every point hit on this thread.
    pub fn start_trace() {
        STATE.with(|s| s.borrow_mut().trace = Some(Vec::new()));
    }

    /// Stop recording and return the points hit since [`start_trace`], in order.
    pub fn take_trace() -> Vec<Point> {
        STATE.with(|s| s.borrow_mut().trace.take().unwrap_or_default())
    }

    /// Forget all plans and traces of this thread.
    pub fn reset() {
        STATE.with(|s| *s.borrow_mut() = State::default());
    }

    /// Whether this hit of `point` must fail, and with which errno. Called by the code
    /// that can fail there, not by tests.
    pub fn hit(point: Point) -> Option<Errno> {
        STATE.with(|s| {
            let mut s = s.borrow_mut();
            if let Some(trace) = s.trace.as_mut() {
                trace.push(point);
            }
            let mut failed = None;
            s.plans.retain_mut(|(p, left, errno)| {
                if *p != point {
                    return true;
                }
                if *left == 0 {
                    failed = Some(*errno);
                    return false;
                }
                *left -= 1;
                true
            });
            failed
        })
    }
}

/// Whether this hit of `point` must fail: never, without the `fault-injection` feature.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn hit(_point: Point) -> Option<nix::errno::Errno> {
    None
}
