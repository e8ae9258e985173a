//! The MIT-SHM transports (`shm-fd`, `shm-sysv`): the image *is* a shared segment, and
//! an upload is one `ShmPutImage` per rectangle; the server copies the bytes itself.

use std::sync::Arc;

use x11rb::connection::Connection;
use x11rb::protocol::shm;
use x11rb::protocol::xproto::ImageFormat;
use xbs_shm::{Access, Kind, Segment};

use super::{request, Sent, Target, Transport, Upload};
use crate::{Error, Rect};

pub(crate) struct ShmUpload<C: Connection> {
    seg: Segment<Arc<C>>,
}

impl<C: Connection> ShmUpload<C> {
    pub(crate) fn new(conn: &Arc<C>, len: usize, kind: Kind) -> Result<Self, Error> {
        let seg = Segment::new(conn.clone(), len, kind, Access::ReadOnly)?;
        Ok(ShmUpload { seg })
    }

    pub(crate) fn close(self) -> Result<(), Error> {
        self.seg.close().map_err(Error::Shm)
    }

    fn send(&self, conn: &C, t: &Target, r: Rect, completion: bool) -> Result<Sent, Error> {
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
        let sequence =
            request::shm_put_image(conn, &request).map_err(Error::conn("ShmPutImage"))?;
        Ok(Sent {
            bytes: r.area() * t.bytes_per_pixel as u64,
            requests: 1,
            sequence,
        })
    }
}

/// A coordinate of a rect already clipped to an image of at most i16::MAX pixels.
pub(crate) fn u16_of(v: u32, t: &Target) -> Result<u16, Error> {
    u16::try_from(v).map_err(|_| Error::Size {
        width: t.width,
        height: t.height,
        reason: "coordinate beyond 16 bits",
        limit: u64::from(u16::MAX),
    })
}

impl<C: Connection> Upload<C> for ShmUpload<C> {
    fn transport(&self) -> Transport {
        match self.seg.kind() {
            Kind::Fd => Transport::ShmFd,
            Kind::SysV => Transport::ShmSysV,
        }
    }

    fn pixels(&self) -> &[u8] {
        self.seg.as_slice()
    }

    fn pixels_mut(&mut self) -> &mut [u8] {
        self.seg.as_mut_slice()
    }

    fn capacity(&self) -> usize {
        self.seg.len()
    }

    fn put(&mut self, conn: &C, t: &Target, rect: Rect, completion: bool) -> Result<Sent, Error> {
        self.send(conn, t, rect, completion)
    }

    fn reads_later(&self) -> bool {
        true
    }

    fn segment(&self) -> Option<u32> {
        Some(self.seg.seg())
    }
}
