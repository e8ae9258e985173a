//! How pixels get from the image to the server: one file per transport, one enum
//! ([`Memory`]) over them, and the choice of which to use ([`select`]).
//!
//! A transport owns the image memory (shared segment or heap) because that decides how
//! an upload works: from shared memory the server copies the rectangle itself
//! (`ShmPutImage`), from the heap the bytes travel in the request (`PutImage`).

pub(crate) mod select;
pub(crate) mod shm;
pub(crate) mod wire;

use std::sync::Arc;

use x11rb::connection::Connection;
use xbs_shm::Kind;

use crate::{Error, Rect};
use shm::ShmMemory;
use wire::WireMemory;

/// The way pixels reach the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// MIT-SHM with a sealed memfd passed as a file descriptor (MIT-SHM 1.2).
    ShmFd,
    /// MIT-SHM with a System V segment.
    ShmSysV,
    /// Plain `PutImage`: the pixels travel in the request.
    PutImage,
}

impl Transport {
    /// The name used by `XBS_TRANSPORT`: `shm-fd`, `shm-sysv`, `put-image`.
    pub fn name(self) -> &'static str {
        match self {
            Transport::ShmFd => "shm-fd",
            Transport::ShmSysV => "shm-sysv",
            Transport::PutImage => "put-image",
        }
    }

    /// Parses an `XBS_TRANSPORT` value.
    pub fn from_name(name: &str) -> Option<Transport> {
        match name {
            "shm-fd" => Some(Transport::ShmFd),
            "shm-sysv" => Some(Transport::ShmSysV),
            "put-image" => Some(Transport::PutImage),
            _ => None,
        }
    }
}

/// Where uploads go and what they are.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Target {
    pub drawable: u32,
    pub gc: u32,
    pub depth: u8,
    /// Image size in pixels, and bytes per row in the server's layout.
    pub width: u32,
    pub height: u32,
    pub stride: usize,
    /// Server bytes per pixel (2 or 4) and scanline pad in bytes (1, 2 or 4).
    pub bytes_per_pixel: usize,
    pub pad: usize,
    /// What becomes of the uploads' errors.
    pub errors: crate::request::Errors,
}

/// A coordinate of a rect already clipped to an image of at most `i16::MAX` pixels,
/// as the protocol's 16 bits.
pub(crate) fn u16_of(v: u32, t: &Target) -> Result<u16, Error> {
    u16::try_from(v).map_err(|_| Error::Size {
        width: t.width,
        height: t.height,
        reason: "coordinate beyond 16 bits",
        limit: u64::from(u16::MAX),
    })
}

/// What one [`Memory::put`] sent.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sent {
    /// Pixel bytes the server copies.
    pub bytes: u64,
    /// Requests sent.
    pub requests: u64,
    /// Sequence number of the last request sent.
    pub sequence: u64,
}

/// Image memory with its transport (an enum rather than a trait object, so `C` needs
/// no `'static`).
pub(crate) enum Memory<C: Connection> {
    Shm(ShmMemory<C>),
    Wire(WireMemory),
}

impl<C: Connection> Memory<C> {
    /// Memory of `len` bytes for `transport` (a shared segment the server attached, or
    /// the heap).
    pub(crate) fn create(
        conn: &Arc<C>,
        transport: Transport,
        len: usize,
        access: xbs_shm::Access,
    ) -> Result<Self, Error> {
        Ok(match transport {
            Transport::ShmFd => Memory::Shm(ShmMemory::new(conn, len, Kind::Fd, access)?),
            Transport::ShmSysV => Memory::Shm(ShmMemory::new(conn, len, Kind::SysV, access)?),
            Transport::PutImage => Memory::Wire(WireMemory::new(len)?),
        })
    }

    pub(crate) fn transport(&self) -> Transport {
        match self {
            Memory::Shm(m) => m.transport(),
            Memory::Wire(_) => Transport::PutImage,
        }
    }

    /// The image bytes (at least `stride * height`).
    pub(crate) fn pixels(&self) -> &[u8] {
        match self {
            Memory::Shm(m) => m.pixels(),
            Memory::Wire(m) => m.pixels(),
        }
    }

    pub(crate) fn pixels_mut(&mut self) -> &mut [u8] {
        match self {
            Memory::Shm(m) => m.pixels_mut(),
            Memory::Wire(m) => m.pixels_mut(),
        }
    }

    /// Bytes the memory can hold without reallocating.
    pub(crate) fn capacity(&self) -> usize {
        self.pixels().len()
    }

    /// Sends the requests that upload `rect` (inside the image) to `target`. With
    /// `completion`, the server is asked to report when it has read the memory.
    pub(crate) fn put(
        &mut self,
        conn: &C,
        target: &Target,
        rect: Rect,
        completion: bool,
    ) -> Result<Sent, Error> {
        match self {
            Memory::Shm(m) => m.put(conn, target, rect, completion),
            Memory::Wire(m) => m.put(conn, target, rect),
        }
    }

    /// True when the server reads the memory after `put` returns, so painting over an
    /// uploaded rect must wait until it has (SECURITY.md S13).
    pub(crate) fn reads_later(&self) -> bool {
        matches!(self, Memory::Shm(_))
    }

    /// The server segment, if any (to match `ShmCompletion` events).
    pub(crate) fn segment(&self) -> Option<u32> {
        match self {
            Memory::Shm(m) => Some(m.segment()),
            Memory::Wire(_) => None,
        }
    }

    /// Detaches a shared segment and waits for the server's answer.
    pub(crate) fn close(self) -> Result<(), Error> {
        match self {
            Memory::Shm(m) => m.close(),
            Memory::Wire(_) => Ok(()),
        }
    }
}
