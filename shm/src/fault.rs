//! Fault injection: make the n-th syscall of a kind, or the server's attach, fail.
//!
//! Tests use this to walk every step of segment creation and prove that whatever was
//! acquired before the failing step is released (SECURITY.md S3). Plans and traces are
//! per thread, so tests running in parallel threads do not disturb each other.
//!
//! Only public with the `fault-injection` feature; without it, [`hit`] is an inlined
//! `None` and costs nothing. Crates above this one keep fault points of their own with
//! the same machinery ([`Plans`]), on the same per-thread clock, so a test can follow
//! the points of every crate in the order they were hit.

#[cfg(feature = "fault-injection")]
pub use crate::sys::Call;
#[cfg(not(feature = "fault-injection"))]
use crate::sys::Call;

/// A place where a fault can be injected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Point {
    /// A syscall of the crate's syscall module.
    Sys(Call),
    /// The server's attach of a segment (`ShmAttach` or `ShmAttachFd`). Instead of
    /// pretending, the request is sent with an id or fd the real server must refuse
    /// (BadAccess/BadMatch), so the refusal path runs exactly as in production.
    ServerAttach,
}

#[cfg(feature = "fault-injection")]
pub use enabled::*;

#[cfg(feature = "fault-injection")]
mod enabled {
    use super::Point;
    use crate::sys::Call;
    use nix::errno::Errno;
    use std::cell::{Cell, RefCell};

    /// The fault plans and the trace of one crate's points on one thread.
    #[derive(Debug)]
    pub struct Plans<P> {
        /// (point, hits still to let through before failing, errno to report)
        plans: Vec<(P, usize, Errno)>,
        /// The points hit since tracing started, each with its [`tick`].
        trace: Option<Vec<(u64, P)>>,
    }

    impl<P> Default for Plans<P> {
        fn default() -> Self {
            Plans {
                plans: Vec::new(),
                trace: None,
            }
        }
    }

    impl<P: Copy + PartialEq> Plans<P> {
        /// Makes the `nth` (0-based) hit of `point`, counted from now, fail with `errno`.
        pub fn fail_with(&mut self, point: P, nth: usize, errno: Errno) {
            self.plans.push((point, nth, errno));
        }

        /// Starts recording every point hit.
        pub fn start_trace(&mut self) {
            self.trace = Some(Vec::new());
        }

        /// Stops recording; the points hit since [`Plans::start_trace`], each with the
        /// tick it was hit at.
        pub fn take_trace(&mut self) -> Vec<(u64, P)> {
            self.trace.take().unwrap_or_default()
        }

        /// Whether this hit of `point` must fail, and with which errno.
        pub fn hit(&mut self, point: P) -> Option<Errno> {
            if let Some(trace) = self.trace.as_mut() {
                trace.push((tick(), point));
            }
            let mut failed = None;
            self.plans.retain_mut(|(p, left, errno)| {
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
        }
    }

    thread_local! {
        static PLANS: RefCell<Plans<Point>> = RefCell::default();
        static CLOCK: Cell<u64> = const { Cell::new(0) };
    }

    /// The next tick of this thread's clock, shared by the fault points of every crate.
    pub fn tick() -> u64 {
        CLOCK.with(|c| {
            c.set(c.get() + 1);
            c.get()
        })
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
        };
        fail_with(point, nth, errno);
    }

    /// Like [`fail`], reporting `errno`.
    pub fn fail_with(point: Point, nth: usize, errno: Errno) {
        PLANS.with(|s| s.borrow_mut().fail_with(point, nth, errno));
    }

    /// Start recording every point hit on this thread.
    pub fn start_trace() {
        PLANS.with(|s| s.borrow_mut().start_trace());
    }

    /// Stop recording and return the points hit since [`start_trace`], in order.
    pub fn take_trace() -> Vec<Point> {
        take_ticked_trace().into_iter().map(|(_, p)| p).collect()
    }

    /// [`take_trace`], each point with the tick it was hit at (to merge with the
    /// traces of other crates' points).
    pub fn take_ticked_trace() -> Vec<(u64, Point)> {
        PLANS.with(|s| s.borrow_mut().take_trace())
    }

    /// Forget all plans and traces of this thread.
    pub fn reset() {
        PLANS.with(|s| *s.borrow_mut() = Plans::default());
    }

    /// Whether this hit of `point` must fail, and with which errno. Called by the code
    /// that can fail there, not by tests.
    pub fn hit(point: Point) -> Option<Errno> {
        PLANS.with(|s| s.borrow_mut().hit(point))
    }
}

/// Whether this hit of `point` must fail: never, without the `fault-injection` feature.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(crate) fn hit(_point: Point) -> Option<nix::errno::Errno> {
    None
}
