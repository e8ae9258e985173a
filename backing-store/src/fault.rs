//! Fault injection for what the store acquires itself: its GCs and server-side copy on
//! the server, its heap images. Beside the shared-memory crate's own points (syscalls,
//! the server's attach), tests can make each of these fail in turn and prove that a
//! failure half-way through releases exactly what was acquired (SECURITY.md S3).
//!
//! Public only with the `fault-injection` feature (for tests; never in an
//! application's release build). Without it, [`hit`] is an inlined `false`.

/// A place where a fault can be injected.
#[cfg(feature = "fault-injection")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Point {
    /// A point of the shared-memory crate: a syscall, or the server's attach.
    Shm(xbs_shm::fault::Point),
    /// The server's `CreatePixmap`: sent wider than the 32767 pixels the server
    /// accepts, so it answers BadAlloc, as when it is out of memory.
    ServerPixmap,
    /// The server's `CreateGC`: sent with a GC function outside the protocol's 16, so
    /// the server answers BadValue.
    ServerGc,
    /// A heap image or canvas (`try_reserve`): reported as out of memory.
    Heap,
}

/// The store's own points (without the feature, only for [`hit`]).
#[cfg(not(feature = "fault-injection"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Point {
    ServerPixmap,
    ServerGc,
    Heap,
}

#[cfg(feature = "fault-injection")]
pub use enabled::*;

#[cfg(feature = "fault-injection")]
mod enabled {
    use super::Point;
    use nix::errno::Errno;
    use std::cell::RefCell;
    use xbs_shm::fault::{self as shm, Plans};

    thread_local! {
        static PLANS: RefCell<Plans<Point>> = RefCell::default();
    }

    /// Make the `nth` (0-based) hit of `point` on this thread, counted from now, fail.
    pub fn fail(point: Point, nth: usize) {
        match point {
            Point::Shm(p) => shm::fail(p, nth),
            own => PLANS.with(|s| s.borrow_mut().fail_with(own, nth, Errno::ENOMEM)),
        }
    }

    /// Start recording every point hit on this thread, of this crate and the
    /// shared-memory crate.
    pub fn start_trace() {
        shm::start_trace();
        PLANS.with(|s| s.borrow_mut().start_trace());
    }

    /// Stop recording and return the points hit since [`start_trace`], in the order
    /// they were hit.
    pub fn take_trace() -> Vec<Point> {
        let mut all: Vec<(u64, Point)> = shm::take_ticked_trace()
            .into_iter()
            .map(|(tick, p)| (tick, Point::Shm(p)))
            .collect();
        all.extend(PLANS.with(|s| s.borrow_mut().take_trace()));
        all.sort_by_key(|&(tick, _)| tick);
        all.into_iter().map(|(_, p)| p).collect()
    }

    /// Forget all plans and traces of this thread.
    pub fn reset() {
        shm::reset();
        PLANS.with(|s| *s.borrow_mut() = Plans::default());
    }

    /// Whether this hit of `point` must fail. Called by the code that can fail there.
    pub(crate) fn hit(point: Point) -> bool {
        PLANS.with(|s| s.borrow_mut().hit(point)).is_some()
    }
}

/// Whether this hit of `point` must fail: never, without the `fault-injection` feature.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(crate) fn hit(_point: Point) -> bool {
    false
}
