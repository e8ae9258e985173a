//! The `put-image` transport: the image lives on the heap and each damaged rectangle
//! travels inside `PutImage` requests, split into row bands that fit the server's
//! maximum request length (BIG-REQUESTS aware, through x11rb), and into column strips
//! when even one row is too long. Full-width bands go straight from the image; others
//! are gathered into a scratch buffer that is reused, never reallocated per frame.

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt as _, ImageFormat};

use super::shm::u16_of;
use super::{Sent, Target, Transport, Upload};
use crate::{Error, Rect};

/// Bytes of a PutImage request before its data (with the BIG-REQUESTS length field).
const HEADER: usize = 28;

pub(crate) struct WireUpload {
    image: Vec<u8>,
    scratch: Vec<u8>,
}

/// A zeroed heap buffer of `len` bytes, or a typed error instead of an abort (S9).
pub(crate) fn heap(len: usize) -> Result<Vec<u8>, Error> {
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| Error::OutOfMemory { bytes: len })?;
    v.resize(len, 0);
    Ok(v)
}

impl WireUpload {
    pub(crate) fn new(len: usize) -> Result<Self, Error> {
        Ok(WireUpload {
            image: heap(len)?,
            scratch: Vec::new(),
        })
    }

    fn put_band<C: Connection>(&mut self, conn: &C, t: &Target, r: Rect) -> Result<u64, Error> {
        let row = r.width as usize * 4;
        let (x, y) = (r.x as usize, r.y as usize);
        let full_rows = x == 0 && row == t.stride;
        let data: &[u8] = if full_rows {
            &self.image[y * t.stride..(y + r.height as usize) * t.stride]
        } else {
            let need = row * r.height as usize;
            self.scratch.clear();
            self.scratch
                .try_reserve(need)
                .map_err(|_| Error::OutOfMemory { bytes: need })?;
            for line in y..y + r.height as usize {
                let start = line * t.stride + x * 4;
                self.scratch
                    .extend_from_slice(&self.image[start..start + row]);
            }
            &self.scratch
        };
        let cookie = conn
            .put_image(
                ImageFormat::Z_PIXMAP,
                t.drawable,
                t.gc,
                u16_of(r.width, t)?,
                u16_of(r.height, t)?,
                i16::try_from(r.x).unwrap_or(i16::MAX),
                i16::try_from(r.y).unwrap_or(i16::MAX),
                0,
                t.depth,
                data,
            )
            .map_err(Error::conn("PutImage"))?;
        Ok(cookie.sequence_number())
    }
}

impl<C: Connection> Upload<C> for WireUpload {
    fn transport(&self) -> Transport {
        Transport::PutImage
    }

    fn pixels(&self) -> &[u8] {
        &self.image
    }

    fn pixels_mut(&mut self) -> &mut [u8] {
        &mut self.image
    }

    fn capacity(&self) -> usize {
        self.image.len()
    }

    fn put(&mut self, conn: &C, t: &Target, r: Rect, _completion: bool) -> Result<Sent, Error> {
        let room = conn.maximum_request_bytes().saturating_sub(HEADER).max(4);
        // Columns per request when one row is too long; a whole row otherwise.
        let cols = (room / 4).min(r.width as usize).max(1);
        let mut requests = 0;
        let mut sequence = 0;
        let mut x = 0usize;
        while x < r.width as usize {
            let w = cols.min(r.width as usize - x);
            let rows = (room / (w * 4)).max(1);
            let mut y = 0usize;
            while y < r.height as usize {
                let h = rows.min(r.height as usize - y);
                let band = Rect::new(
                    r.x + i32::try_from(x).unwrap_or(0),
                    r.y + i32::try_from(y).unwrap_or(0),
                    u32::try_from(w).unwrap_or(0),
                    u32::try_from(h).unwrap_or(0),
                );
                sequence = self.put_band(conn, t, band)?;
                requests += 1;
                y += h;
            }
            x += w;
        }
        Ok(Sent {
            bytes: r.area() * 4,
            requests,
            sequence,
        })
    }

    fn reads_later(&self) -> bool {
        false
    }

    fn segment(&self) -> Option<u32> {
        None
    }
}
