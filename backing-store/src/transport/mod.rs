//! How pixels get from the image to the server: one trait, one file per transport.
//!
//! A transport owns the image memory (shared segment or heap) because that decides how
//! an upload works: from shared memory the server copies the rectangle itself
//! (`ShmPutImage`), from the heap the bytes travel in the request (`PutImage`).

pub(crate) mod request;
pub(crate) mod shm;
pub(crate) mod wire;

use x11rb::connection::Connection;

use crate::{Error, Rect};

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
}

/// One way of holding the image and uploading rectangles of it.
pub(crate) trait Upload<C: Connection> {
    fn transport(&self) -> Transport;
    /// The image bytes (at least `stride * height`).
    fn pixels(&self) -> &[u8];
    fn pixels_mut(&mut self) -> &mut [u8];
    /// Bytes the memory can hold without reallocating.
    fn capacity(&self) -> usize;
    /// Sends the requests that upload `rect` (inside the image) to `target`. With
    /// `completion`, the server is asked to report when it has read the memory.
    fn put(
        &mut self,
        conn: &C,
        target: &Target,
        rect: Rect,
        completion: bool,
    ) -> Result<Sent, Error>;
    /// True when the server reads the memory after `put` returns, so painting over an
    /// uploaded rect must wait until it has (SECURITY.md S13).
    fn reads_later(&self) -> bool;
    /// The server segment, if any (to match `ShmCompletion` events).
    fn segment(&self) -> Option<u32>;
}

/// What one `put` sent.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sent {
    /// Pixel bytes the server copies.
    pub bytes: u64,
    /// Requests sent.
    pub requests: u64,
    /// Sequence number of the last request sent.
    pub sequence: u64,
}
