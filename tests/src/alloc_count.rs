//! A global allocator that counts allocations, so the bench can report how many a
//! steady-state frame makes and tests can check that one makes none. It forwards
//! everything to the system allocator. A binary opts in with
//! `#[global_allocator] static A: xbs_tests::alloc_count::Counting = Counting;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static THIS_THREAD: Cell<u64> = const { Cell::new(0) };
    static BYTES_THIS_THREAD: Cell<u64> = const { Cell::new(0) };
}

/// Counts an allocation (or reallocation) of `bytes`.
fn count(bytes: usize) {
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    // `try_with`: a thread being torn down still allocates, and counts only globally.
    let _ = THIS_THREAD.try_with(|c| c.set(c.get() + 1));
    let _ = BYTES_THIS_THREAD.try_with(|c| c.set(c.get() + bytes as u64));
}

/// The system allocator, counting `alloc` and `realloc` calls and the bytes they ask for.
pub struct Counting;

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees hold; the counter has no effect on memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded as received.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: forwarded as received.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations (and reallocations) so far in this process.
pub fn get() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// Allocations (and reallocations) so far on the calling thread.
pub fn this_thread() -> u64 {
    THIS_THREAD.with(Cell::get)
}

/// Bytes asked for by allocations (and reallocations, their new size) so far on the
/// calling thread.
pub fn bytes_this_thread() -> u64 {
    BYTES_THIS_THREAD.with(Cell::get)
}
