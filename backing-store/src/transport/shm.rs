//! The MIT-SHM transports (`shm-fd`, `shm-sysv`): the image *is* a shared segment, and
//! an upload is one `ShmPutImage` per rectangle; the server copies the bytes itself.

use std::sync::Arc;

use x11rb::connection::Connection;
use x11rb::errors::ConnectionError;
use x11rb::protocol::shm;
use x11rb::protocol::xproto::ImageFormat;
use xbs_shm::{Access, Kind, Segment};

use super::{u16_of, Sent, Target, Transport};
use crate::{request, Error, Rect};
use xbs_shm::RequestError as _;

/// A shared segment the server has attached (read-only, or read-write where a shared
/// pixmap is made over it for presenting), holding the image.
pub(crate) struct ShmMemory<C: Connection> {
    seg: Segment<Arc<C>>,
    /// MIT-SHM's major opcode, looked up once: x11rb's lookup hashes the extension's
    /// name, a request at a time.
    major: u8,
}

impl<C: Connection> ShmMemory<C> {
    pub(crate) fn new(
        conn: &Arc<C>,
        len: usize,
        kind: Kind,
        access: Access,
    ) -> Result<Self, Error> {
        let seg = Segment::new(conn.clone(), len, kind, access)?;
        // Known since the segment was attached.
        let major = conn
            .extension_information(shm::X11_EXTENSION_NAME)
            .and_then(|e| e.ok_or(ConnectionError::UnsupportedExtension))
            .map_err(Error::conn("QueryExtension"))?
            .major_opcode;
        Ok(ShmMemory { seg, major })
    }

    pub(crate) fn transport(&self) -> Transport {
        match self.seg.kind() {
            Kind::Fd => Transport::ShmFd,
            Kind::SysV => Transport::ShmSysV,
        }
    }

    pub(crate) fn pixels(&self) -> &[u8] {
        self.seg.as_slice()
    }

    pub(crate) fn pixels_mut(&mut self) -> &mut [u8] {
        self.seg.as_mut_slice()
    }

    pub(crate) fn segment(&self) -> u32 {
        self.seg.seg()
    }

    pub(crate) fn close(self) -> Result<(), Error> {
        self.seg.close().map_err(Error::Shm)
    }

    /// One `ShmPutImage` of `r` (inside the image) to `t`; with `completion`, the
    /// server reports a `ShmCompletion` once it has read the memory.
    pub(crate) fn put(
        &self,
        conn: &C,
        t: &Target,
        r: Rect,
        completion: bool,
    ) -> Result<Sent, Error> {
        let (total_w, total_h) = (u16_of(t.width, t)?, u16_of(t.height, t)?);
        let (x, y) = (u16_of(r.x as u32, t)?, u16_of(r.y as u32, t)?);
        let (w, h) = (u16_of(r.width, t)?, u16_of(r.height, t)?);
        // Image sizes are capped at i16::MAX, so these fit the signed destination too.
        let (dx, dy) = (
            i16::try_from(x).unwrap_or(i16::MAX),
            i16::try_from(y).unwrap_or(i16::MAX),
        );
        let request = shm::PutImageRequest {
            drawable: t.drawable,
            gc: t.gc,
            total_width: total_w,
            total_height: total_h,
            src_x: x,
            src_y: y,
            src_width: w,
            src_height: h,
            dst_x: dx,
            dst_y: dy,
            depth: t.depth,
            format: ImageFormat::Z_PIXMAP.into(),
            send_event: completion,
            shmseg: self.seg.seg(),
            offset: 0,
        };
        let sequence = request::shm_put_image(conn, self.major, &request, t.errors)
            .map_err(Error::conn("ShmPutImage"))?;
        Ok(Sent {
            bytes: r.area() * t.bytes_per_pixel as u64,
            requests: 1,
            sequence,
        })
    }
}
