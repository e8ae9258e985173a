//! Every raw syscall xbs makes, each wrapped once, thin, and returning `Result`.
//!
//! This is the only module in the workspace that calls `libc` or holds an `unsafe`
//! block around a syscall (SECURITY.md S7, S8). Each wrapper names its man page and
//! passes through the fault-injection hook first, so tests can make the n-th call of
//! any of them fail (`fault.rs`).
//!
//! Nothing here owns anything: the owned wrappers that release what these calls
//! acquire live in `memory.rs`.

use std::ffi::CStr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};
use std::ptr::NonNull;

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, SealFlag};
use nix::sys::memfd::MemFdCreateFlag;
use nix::sys::mman::{MapFlags, ProtFlags};

use crate::fault::{self, Point};

/// The syscalls this module wraps; fault injection names them with this.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Call {
    /// `memfd_create(2)`
    MemfdCreate,
    /// `ftruncate(2)`
    Ftruncate,
    /// `fcntl(2)` with `F_ADD_SEALS`
    AddSeals,
    /// `mmap(2)`
    Mmap,
    /// `munmap(2)`
    Munmap,
    /// `fcntl(2)` with `F_DUPFD_CLOEXEC`
    DupFd,
    /// `close(2)`
    Close,
    /// `shmget(2)`
    Shmget,
    /// `shmat(2)`
    Shmat,
    /// `shmdt(2)`
    Shmdt,
    /// `shmctl(2)` with `IPC_RMID`
    ShmctlRmid,
}

impl Call {
    /// The name used in error messages and logs.
    pub fn name(self) -> &'static str {
        match self {
            Call::MemfdCreate => "memfd_create",
            Call::Ftruncate => "ftruncate",
            Call::AddSeals => "fcntl(F_ADD_SEALS)",
            Call::Mmap => "mmap",
            Call::Munmap => "munmap",
            Call::DupFd => "fcntl(F_DUPFD_CLOEXEC)",
            Call::Close => "close",
            Call::Shmget => "shmget",
            Call::Shmat => "shmat",
            Call::Shmdt => "shmdt",
            Call::ShmctlRmid => "shmctl(IPC_RMID)",
        }
    }
}

fn enter(call: Call) -> Result<(), Errno> {
    match fault::hit(Point::Sys(call)) {
        Some(errno) => Err(errno),
        None => Ok(()),
    }
}

/// The size of a memory page, from `sysconf(3)` (`_SC_PAGESIZE`).
pub(crate) fn page_size() -> usize {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE) {
        Ok(Some(n)) => usize::try_from(n).unwrap_or(4096),
        // POSIX requires the value; 4096 is what every Linux target uses if it is not given.
        _ => 4096,
    }
}

/// The kernel's limit on one SysV segment (`/proc/sys/kernel/shmmax`), if readable.
pub(crate) fn sysv_shmmax() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/kernel/shmmax")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// `memfd_create(2)` with `MFD_CLOEXEC | MFD_ALLOW_SEALING`.
pub(crate) fn memfd_create(name: &CStr) -> Result<OwnedFd, Errno> {
    enter(Call::MemfdCreate)?;
    nix::sys::memfd::memfd_create(
        name,
        MemFdCreateFlag::MFD_CLOEXEC | MemFdCreateFlag::MFD_ALLOW_SEALING,
    )
}

/// `ftruncate(2)`: set the file's length to `len` bytes.
pub(crate) fn ftruncate(fd: BorrowedFd<'_>, len: usize) -> Result<(), Errno> {
    enter(Call::Ftruncate)?;
    let len = libc::off_t::try_from(len).map_err(|_| Errno::EFBIG)?;
    nix::unistd::ftruncate(fd, len)
}

/// `fcntl(2)` `F_ADD_SEALS` with `F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL`: the file's
/// size can never change again, so no mapping of it (ours or the server's) can fault.
pub(crate) fn seal_size(fd: BorrowedFd<'_>) -> Result<(), Errno> {
    enter(Call::AddSeals)?;
    let seals = SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_SEAL;
    nix::fcntl::fcntl(fd.as_raw_fd(), FcntlArg::F_ADD_SEALS(seals)).map(drop)
}

/// `fcntl(2)` `F_DUPFD_CLOEXEC`: a second descriptor for the same file.
pub(crate) fn dup_cloexec(fd: BorrowedFd<'_>) -> Result<OwnedFd, Errno> {
    enter(Call::DupFd)?;
    let raw = nix::fcntl::fcntl(fd.as_raw_fd(), FcntlArg::F_DUPFD_CLOEXEC(0))?;
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// `close(2)`, reporting its error (dropping an `OwnedFd` would discard it).
pub(crate) fn close(fd: OwnedFd) -> Result<(), Errno> {
    if let Err(errno) = enter(Call::Close) {
        // The descriptor must still be released: an injected failure only changes what
        // the caller is told, like a real EINTR/EIO after which Linux has closed the fd.
        drop(fd);
        return Err(errno);
    }
    nix::unistd::close(fd.into_raw_fd())
}

/// `mmap(2)`: map `len` bytes of `fd` shared and read-write.
pub(crate) fn mmap_shared(fd: BorrowedFd<'_>, len: usize) -> Result<NonNull<u8>, Errno> {
    enter(Call::Mmap)?;
    let len = std::num::NonZeroUsize::new(len).ok_or(Errno::EINVAL)?;
    // SAFETY: a fresh mapping at an address the kernel chooses aliases no Rust object;
    // the caller owns it from here on and unmaps it exactly once.
    let ptr = unsafe {
        nix::sys::mman::mmap(
            None,
            len,
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_SHARED,
            fd.as_fd(),
            0,
        )
    }?;
    Ok(ptr.cast())
}

/// `munmap(2)`.
///
/// # Safety
/// `ptr`/`len` must be exactly a mapping returned by [`mmap_shared`] that is unmapped
/// only this once, with no live borrow of its memory.
pub(crate) unsafe fn munmap(ptr: NonNull<u8>, len: usize) -> Result<(), Errno> {
    enter(Call::Munmap)?;
    // SAFETY: guaranteed by the caller (see above).
    unsafe { nix::sys::mman::munmap(ptr.cast(), len) }
}

/// `shmget(2)`: a new private SysV segment of `len` bytes, mode `0600`.
pub(crate) fn shmget(len: usize) -> Result<i32, Errno> {
    enter(Call::Shmget)?;
    // SAFETY: shmget takes no pointers; IPC_PRIVATE always creates a new segment.
    let id = unsafe { libc::shmget(libc::IPC_PRIVATE, len, libc::IPC_CREAT | 0o600) };
    if id < 0 {
        Err(Errno::last())
    } else {
        Ok(id)
    }
}

/// `shmat(2)`: map SysV segment `id` read-write at an address the kernel chooses.
pub(crate) fn shmat(id: i32) -> Result<NonNull<u8>, Errno> {
    enter(Call::Shmat)?;
    // SAFETY: a null address lets the kernel pick where the segment goes, so it cannot
    // overlap any Rust object; the caller detaches it exactly once.
    let ptr = unsafe { libc::shmat(id, std::ptr::null(), 0) };
    // shmat reports failure as (void *)-1, not null.
    if ptr as isize == -1 {
        return Err(Errno::last());
    }
    NonNull::new(ptr.cast::<u8>()).ok_or(Errno::EFAULT)
}

/// `shmdt(2)`.
///
/// # Safety
/// `ptr` must be an address returned by [`shmat`], detached only this once, with no live
/// borrow of its memory.
pub(crate) unsafe fn shmdt(ptr: NonNull<u8>) -> Result<(), Errno> {
    enter(Call::Shmdt)?;
    // SAFETY: guaranteed by the caller (see above).
    let rc = unsafe { libc::shmdt(ptr.as_ptr().cast()) };
    if rc < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// `shmctl(2)` `IPC_RMID`: the segment goes away once its last attachment does.
pub(crate) fn shmctl_rmid(id: i32) -> Result<(), Errno> {
    enter(Call::ShmctlRmid)?;
    // SAFETY: IPC_RMID does not read the buffer argument, so null is allowed.
    let rc = unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) };
    if rc < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}
