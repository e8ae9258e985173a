//! Owned wrappers for what the syscalls acquire: a mapping, a descriptor, a SysV id.
//!
//! Each one releases its resource exactly once: explicitly through `release`, which
//! reports errors, or in `Drop`, which logs them and never panics (SECURITY.md S3, S5).
//! A half-built segment is just a set of these on the stack, so an early return
//! releases exactly what was acquired, in reverse order.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;

use crate::sys::{self, Call};
use crate::Error;

/// How a [`Mapping`] was made, which decides how it is undone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MapKind {
    Mmap,
    Shmat,
}

/// Memory mapped into this process, shared with the X server.
pub(crate) struct Mapping {
    ptr: Option<NonNull<u8>>,
    len: usize,
    kind: MapKind,
}

// SAFETY: a Mapping is plain memory owned by this value; nothing about it is tied to
// the thread that mapped it, and shared access only ever hands out `&[u8]`.
unsafe impl Send for Mapping {}
// SAFETY: `&Mapping` only allows reads (`as_slice`); writes need `&mut`.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// `mmap` all `len` bytes of `fd`, shared and read-write.
    pub(crate) fn mmap(fd: BorrowedFd<'_>, len: usize) -> Result<Self, Error> {
        let ptr = sys::mmap_shared(fd, len).map_err(|e| Error::sys(Call::Mmap, len, e))?;
        Ok(Mapping {
            ptr: Some(ptr),
            len,
            kind: MapKind::Mmap,
        })
    }

    /// `shmat` the SysV segment `id`, which is `len` bytes long.
    pub(crate) fn shmat(id: &SysvId, len: usize) -> Result<Self, Error> {
        let ptr = sys::shmat(id.id).map_err(|e| Error::sys(Call::Shmat, len, e))?;
        Ok(Mapping {
            ptr: Some(ptr),
            len,
            kind: MapKind::Shmat,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        match self.ptr {
            // SAFETY: `ptr` is a live mapping of `len` readable bytes (it is only cleared
            // when unmapped, which needs `self` by value or `&mut self` in Drop), and the
            // borrow of `self` keeps it alive for the slice's lifetime.
            Some(ptr) => unsafe { std::slice::from_raw_parts(ptr.as_ptr(), self.len) },
            None => &[],
        }
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        match self.ptr {
            // SAFETY: as in `as_slice`, and the mapping is writable; `&mut self` makes this
            // the only Rust borrow of the memory.
            Some(ptr) => unsafe { std::slice::from_raw_parts_mut(ptr.as_ptr(), self.len) },
            None => &mut [],
        }
    }

    /// Unmap now, reporting failure.
    pub(crate) fn release(mut self) -> Result<(), Error> {
        self.unmap()
    }

    fn unmap(&mut self) -> Result<(), Error> {
        let Some(ptr) = self.ptr.take() else {
            return Ok(());
        };
        match self.kind {
            // SAFETY: `ptr`/`len` came from `mmap_shared`, `take()` guarantees this runs
            // once, and no borrow of the memory outlives the `&mut self` we hold.
            MapKind::Mmap => unsafe { sys::munmap(ptr, self.len) }
                .map_err(|e| Error::sys(Call::Munmap, self.len, e)),
            // SAFETY: as above, for an address from `shmat`.
            MapKind::Shmat => {
                unsafe { sys::shmdt(ptr) }.map_err(|e| Error::sys(Call::Shmdt, self.len, e))
            }
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if let Err(e) = self.unmap() {
            log::warn!("releasing shared memory: {e}");
        }
    }
}

/// A file descriptor whose close is checked when released explicitly.
pub(crate) struct Fd(Option<OwnedFd>);

impl Fd {
    pub(crate) fn new(fd: OwnedFd) -> Self {
        Fd(Some(fd))
    }

    pub(crate) fn borrow(&self) -> Option<BorrowedFd<'_>> {
        self.0.as_ref().map(|fd| fd.as_fd())
    }

    pub(crate) fn release(mut self, len: usize) -> Result<(), Error> {
        match self.0.take() {
            Some(fd) => sys::close(fd).map_err(|e| Error::sys(Call::Close, len, e)),
            None => Ok(()),
        }
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        if let Some(fd) = self.0.take() {
            if let Err(errno) = sys::close(fd) {
                log::warn!("closing a shared-memory descriptor failed: {errno}");
            }
        }
    }
}

/// A SysV segment id; unless [`SysvId::remove`] succeeded, `Drop` marks it `IPC_RMID`.
pub(crate) struct SysvId {
    id: i32,
    len: usize,
    removed: bool,
}

impl SysvId {
    /// `shmget` a new private `0600` segment of `len` bytes.
    pub(crate) fn create(len: usize) -> Result<Self, Error> {
        let id = sys::shmget(len).map_err(|e| Error::sys(Call::Shmget, len, e))?;
        Ok(SysvId {
            id,
            len,
            removed: false,
        })
    }

    /// The id as the X protocol carries it (shmget never returns a negative id).
    pub(crate) fn protocol_id(&self) -> u32 {
        u32::try_from(self.id).unwrap_or(u32::MAX)
    }

    /// Mark the segment for removal: it goes away when its last attachment does.
    pub(crate) fn remove(&mut self) -> Result<(), Error> {
        if self.removed {
            return Ok(());
        }
        sys::shmctl_rmid(self.id).map_err(|e| Error::sys(Call::ShmctlRmid, self.len, e))?;
        self.removed = true;
        Ok(())
    }
}

impl Drop for SysvId {
    fn drop(&mut self) {
        if let Err(e) = self.remove() {
            log::warn!("removing a SysV segment: {e}");
        }
    }
}
