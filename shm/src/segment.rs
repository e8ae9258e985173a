//! [`Segment`]: shared memory plus the X server's attachment of it, as one owned value.

use std::fmt;

use x11rb::connection::Connection;
use x11rb::errors::ConnectionError;
use x11rb::protocol::shm;

use crate::error::RequestError as _;
use crate::fault::{self, Point};
use crate::memory::{Fd, Mapping, SysvId};
use crate::sys::{self, Call};
use crate::Error;

/// How the segment's memory is shared with the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A sealed `memfd`, handed over with `ShmAttachFd` (MIT-SHM 1.2). Works in any IPC
    /// namespace, leaves nothing behind in the system if the process dies.
    Fd,
    /// A System V segment (`shmget`), attached with `ShmAttach` by id. Needs the server in
    /// the same IPC namespace and able to read the client's credentials.
    SysV,
}

/// What the server may do with the segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// The server only reads (`ShmPutImage`, pixmaps drawn from): the default, and the
    /// safe choice (SECURITY.md S12).
    ReadOnly,
    /// The server may write too (`ShmGetImage`, shared pixmaps that are drawn into).
    ReadWrite,
}

/// The largest segment MIT-SHM can address: its offsets are 32-bit.
pub const MAX_LEN: u64 = u32::MAX as u64;

/// The server's attachment; `Drop` sends `ShmDetach` without waiting for a reply.
struct Attachment<C: Connection> {
    conn: C,
    seg: Option<shm::Seg>,
}

impl<C: Connection> Attachment<C> {
    /// Detach and wait for the server to confirm.
    fn release(mut self) -> Result<(), Error> {
        let Some(seg) = self.seg.take() else {
            return Ok(());
        };
        shm::detach(&self.conn, seg)
            .map_err(Error::conn("ShmDetach"))?
            .check()
            .map_err(Error::reply("ShmDetach"))
    }
}

impl<C: Connection> Drop for Attachment<C> {
    fn drop(&mut self) {
        if let Some(seg) = self.seg.take() {
            // No round trip (S5): the request goes out with the next flush, and an error
            // for it is dropped rather than delivered to the application as an event.
            match shm::detach(&self.conn, seg) {
                Ok(cookie) => cookie.ignore_error(),
                Err(e) => log::debug!("ShmDetach not sent (connection gone?): {e}"),
            }
        }
    }
}

/// What keeps the memory alive besides the mapping.
enum Backing {
    /// The memfd; closed after the mapping is gone.
    Fd(Fd),
    /// A SysV segment already marked `IPC_RMID`: it vanishes with its last attachment.
    SysV,
}

/// Shared memory the X server has attached: an owned mapping plus its server segment id.
///
/// Dropping it sends `ShmDetach` (no round trip), unmaps the memory and closes the fd,
/// never panicking; [`Segment::close`] does the same and reports what failed. The pixel
/// bytes are reachable only through borrows of the segment ([`Segment::as_slice`],
/// [`Segment::as_mut_slice`]), so none can outlive it (SECURITY.md S7).
///
/// The caller decides when the server is done reading: writing into bytes that an
/// earlier `ShmPutImage` has not yet consumed shows up on screen as tearing. The `xbs`
/// crate tracks that; this type only owns memory.
///
/// ```no_run
/// use x11rb::connection::Connection;
/// use xbs_shm::{Access, Kind, Segment};
///
/// let (conn, _screen) = x11rb::connect(None)?;
/// let mut seg = Segment::new(&conn, 64 * 64 * 4, Kind::Fd, Access::ReadOnly)?;
/// seg.as_mut_slice().fill(0xff);
/// // ... x11rb::protocol::shm::put_image(&conn, .., seg.seg(), 0) ...
/// seg.close()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Segment<C: Connection> {
    // Field order is drop order: detach on the server, then unmap, then close the fd.
    attachment: Attachment<C>,
    mapping: Mapping,
    backing: Backing,
    len: usize,
    kind: Kind,
    access: Access,
}

impl<C: Connection> fmt::Debug for Segment<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No addresses in output (S11).
        f.debug_struct("Segment")
            .field("seg", &self.attachment.seg)
            .field("len", &self.len)
            .field("kind", &self.kind)
            .field("access", &self.access)
            .finish()
    }
}

/// Checks `len` against every limit and returns the length to map (whole pages).
pub fn mapped_len(len: usize, kind: Kind) -> Result<usize, Error> {
    if len == 0 {
        return Err(Error::Size {
            len,
            limit: 0,
            reason: "a segment must not be empty",
        });
    }
    let page = sys::page_size();
    let mapped = len.checked_next_multiple_of(page).ok_or(Error::Size {
        len,
        limit: u64::try_from(usize::MAX - usize::MAX % page).unwrap_or(u64::MAX),
        reason: "rounding up to whole pages overflows the address space",
    })?;
    let mapped64 = u64::try_from(mapped).unwrap_or(u64::MAX);
    if mapped64 > MAX_LEN {
        return Err(Error::Size {
            len,
            limit: MAX_LEN,
            reason: "MIT-SHM offsets are 32-bit",
        });
    }
    if kind == Kind::SysV {
        if let Some(shmmax) = sys::sysv_shmmax() {
            if mapped64 > shmmax {
                return Err(Error::Size {
                    len,
                    limit: shmmax,
                    reason: "the kernel's SHMMAX",
                });
            }
        }
    }
    Ok(mapped)
}

fn unsupported(request: &'static str, e: ConnectionError) -> Error {
    match e {
        ConnectionError::UnsupportedExtension => Error::NoExtension,
        e => Error::connection(request, e),
    }
}

impl<C: Connection> Segment<C> {
    /// Creates a segment of at least `len` bytes of `kind` and has the server attach it,
    /// waiting for the server's answer (one round trip).
    ///
    /// Fails with [`Error::Size`] for `len == 0` or beyond the limits (32-bit MIT-SHM
    /// offsets, `SHMMAX`), [`Error::Syscall`] when the kernel refuses, and
    /// [`Error::Refused`] when the server does (BadAccess from a server in another IPC
    /// namespace or across TCP). Whatever was acquired before the failure is released.
    pub fn new(conn: C, len: usize, kind: Kind, access: Access) -> Result<Self, Error> {
        let mapped = mapped_len(len, kind)?;
        let read_only = access == Access::ReadOnly;
        let (attachment, mapping, backing) = match kind {
            Kind::Fd => {
                let fd = Fd::new(
                    sys::memfd_create(c"xbs-shm")
                        .map_err(|e| Error::sys(Call::MemfdCreate, mapped, e))?,
                );
                let Some(borrowed) = fd.borrow() else {
                    unreachable!("a new Fd holds its descriptor")
                };
                sys::ftruncate(borrowed, mapped)
                    .map_err(|e| Error::sys(Call::Ftruncate, mapped, e))?;
                sys::seal_size(borrowed).map_err(|e| Error::sys(Call::AddSeals, mapped, e))?;
                let mapping = Mapping::mmap(borrowed, mapped)?;
                // x11rb closes the descriptor it sends, so it gets its own copy.
                let for_server =
                    sys::dup_cloexec(borrowed).map_err(|e| Error::sys(Call::DupFd, mapped, e))?;
                let for_server = match fault::hit(Point::ServerAttach) {
                    Some(_) => refusable_fd(for_server),
                    None => for_server,
                };
                let seg = conn.generate_id().map_err(Error::id("ShmAttachFd"))?;
                shm::attach_fd(&conn, seg, for_server, read_only)
                    .map_err(|e| unsupported("ShmAttachFd", e))?
                    .check()
                    .map_err(Error::reply("ShmAttachFd"))?;
                let attachment = Attachment {
                    conn,
                    seg: Some(seg),
                };
                (attachment, mapping, Backing::Fd(fd))
            }
            Kind::SysV => {
                let mut id = SysvId::create(mapped)?;
                let mapping = Mapping::shmat(&id, mapped)?;
                let shmid = match fault::hit(Point::ServerAttach) {
                    // No segment has this id, so the server's shmat fails: BadAccess.
                    Some(_) => u32::MAX,
                    None => id.protocol_id(),
                };
                let seg = conn.generate_id().map_err(Error::id("ShmAttach"))?;
                shm::attach(&conn, seg, shmid, read_only)
                    .map_err(|e| unsupported("ShmAttach", e))?
                    .check()
                    .map_err(Error::reply("ShmAttach"))?;
                let attachment = Attachment {
                    conn,
                    seg: Some(seg),
                };
                // Both sides are attached: from here the segment lives only as long as
                // they do, even if this process is killed (S2).
                id.remove()?;
                (attachment, mapping, Backing::SysV)
            }
        };
        log::debug!("created {kind:?} segment of {mapped} bytes ({access:?} for the server)");
        Ok(Segment {
            attachment,
            mapping,
            backing,
            len,
            kind,
            access,
        })
    }

    /// The server's id for this segment, for `ShmPutImage`, `ShmCreatePixmap`, ...
    pub fn seg(&self) -> shm::Seg {
        // Always Some until `close` consumes the segment.
        self.attachment.seg.unwrap_or(x11rb::NONE)
    }

    /// The usable length in bytes (as asked for; the mapping is rounded up to pages).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true: empty segments cannot be made.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The mapped length: [`Segment::len`] rounded up to whole pages.
    pub fn mapped_len(&self) -> usize {
        self.mapping.len()
    }

    /// How the memory is shared.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// What the server may do with it.
    pub fn access(&self) -> Access {
        self.access
    }

    /// The connection the segment is attached on.
    pub fn connection(&self) -> &C {
        &self.attachment.conn
    }

    /// The segment's bytes. With [`Access::ReadWrite`], a server request that writes
    /// (e.g. `ShmGetImage`) changes them; read them after that request has completed.
    pub fn as_slice(&self) -> &[u8] {
        &self.mapping.as_slice()[..self.len]
    }

    /// The segment's bytes, for painting. Bytes the server is still reading for an
    /// earlier request must not be changed (that is the caller's bookkeeping).
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        let len = self.len;
        &mut self.mapping.as_mut_slice()[..len]
    }

    /// Detaches (waiting for the server's answer), unmaps and closes, reporting the
    /// first failure; every step is attempted even after one fails.
    pub fn close(self) -> Result<(), Error> {
        let Segment {
            attachment,
            mapping,
            backing,
            len,
            ..
        } = self;
        let detached = attachment.release();
        let unmapped = mapping.release();
        let closed = match backing {
            Backing::Fd(fd) => fd.release(len),
            Backing::SysV => Ok(()),
        };
        detached.and(unmapped).and(closed)
    }
}

/// A descriptor the server must refuse to attach (an empty file: BadMatch or
/// BadAccess), standing in for the real one when a test injects a refusal.
fn refusable_fd(real: std::os::fd::OwnedFd) -> std::os::fd::OwnedFd {
    match std::fs::File::open("/dev/null") {
        Ok(file) => {
            drop(real);
            file.into()
        }
        Err(_) => real,
    }
}
