//! The `put-image` transport: the image lives on the heap and each damaged rectangle
//! travels inside `PutImage` requests, split into row bands that fit a plain request
//! (256 KiB, no BIG-REQUESTS length, which the server streams) or the server's
//! maximum if smaller, and into column strips when even one row is too long. Full-width bands go straight from the image; others
//! are gathered into a scratch buffer that is reused, never reallocated per frame.

use std::borrow::Cow;

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ImageFormat, PutImageRequest};

use super::{u16_of, Sent, Target};
use crate::pixels::{self, heap};
use crate::{request, Error, Rect};
use xbs_shm::RequestError as _;

/// Bytes of a PutImage request before its data (with the BIG-REQUESTS length field).
const HEADER: usize = 28;
/// The largest request without a BIG-REQUESTS length (16 bits of 4-byte units). Bands
/// stay under it even where the server takes more: x11rb allocates for every big
/// request, and the server takes a big one whole into a buffer it grows to fit, where
/// 256 KiB requests stream (on Xvfb a full 1080p frame costs the server 0.53 ms of CPU
/// in 32 plain requests against 0.92 ms in one big one).
const PLAIN_REQUEST: usize = 65535 * 4;

/// The image on the heap, and scratch for gathering a band's rows into one request.
pub(crate) struct WireMemory {
    image: crate::pixels::Heap,
    scratch: Vec<u8>,
}

impl WireMemory {
    pub(crate) fn new(len: usize) -> Result<Self, Error> {
        Ok(WireMemory {
            image: heap(len)?,
            scratch: Vec::new(),
        })
    }

    pub(crate) fn pixels(&self) -> &[u8] {
        &self.image
    }

    pub(crate) fn pixels_mut(&mut self) -> &mut [u8] {
        &mut self.image
    }

    /// `PutImage` requests of `r` (inside the image) to `t`, in bands under the
    /// server's request limit.
    pub(crate) fn put<C: Connection>(
        &mut self,
        conn: &C,
        t: &Target,
        r: Rect,
    ) -> Result<Sent, Error> {
        put(conn, t, &self.image, &mut self.scratch, r)
    }
}

/// `PutImage` requests of `r` (inside `image`, laid out as `t` says) to `t`, in bands
/// under the server's request limit, gathering rows in `scratch` where a band is not
/// whole rows. The requests hold the pixels: `image` is not read once this returns.
pub(crate) fn put<C: Connection>(
    conn: &C,
    t: &Target,
    image: &[u8],
    scratch: &mut Vec<u8>,
    r: Rect,
) -> Result<Sent, Error> {
    let room = conn
        .maximum_request_bytes()
        .min(PLAIN_REQUEST)
        .saturating_sub(HEADER);
    let mut requests = 0;
    let mut sequence = 0;
    for band in bands(r, room, t.bytes_per_pixel, t.pad) {
        sequence = put_band(conn, t, image, scratch, band)?;
        requests += 1;
    }
    Ok(Sent {
        bytes: r.area() * t.bytes_per_pixel as u64,
        requests,
        sequence,
    })
}

fn put_band<C: Connection>(
    conn: &C,
    t: &Target,
    image: &[u8],
    scratch: &mut Vec<u8>,
    r: Rect,
) -> Result<u64, Error> {
    let row = r.width as usize * t.bytes_per_pixel;
    let padded = row.next_multiple_of(t.pad);
    let (x, y) = (r.x as usize, r.y as usize);
    let height = r.height as usize;
    let data: &[u8] = if x == 0 && padded == t.stride {
        // Whole rows: straight from the image, padding included.
        &image[y * t.stride..(y + height) * t.stride]
    } else {
        let need = padded * height;
        scratch.clear();
        scratch
            .try_reserve(need)
            .map_err(|_| Error::OutOfMemory { bytes: need })?;
        for line in pixels::rows(r, t.stride, t.bytes_per_pixel) {
            scratch.extend_from_slice(&image[line]);
            scratch.resize(scratch.len() + padded - row, 0);
        }
        scratch
    };
    let request = PutImageRequest {
        format: ImageFormat::Z_PIXMAP,
        drawable: t.drawable,
        gc: t.gc,
        width: u16_of(r.width, t)?,
        height: u16_of(r.height, t)?,
        dst_x: i16::try_from(r.x).unwrap_or(i16::MAX),
        dst_y: i16::try_from(r.y).unwrap_or(i16::MAX),
        left_pad: 0,
        depth: t.depth,
        data: Cow::Borrowed(data),
    };
    request::put_image(conn, &request, t.errors).map_err(Error::conn("PutImage"))
}

/// Splits `r` into pieces whose pixel data (`bpp` bytes a pixel, rows padded to `pad`
/// bytes) fits in `room` bytes: row bands of the full width, or, when even one row is
/// too long, column strips of single rows. Always makes progress: a piece is at least
/// one pixel.
pub(crate) fn bands(r: Rect, room: usize, bpp: usize, pad: usize) -> impl Iterator<Item = Rect> {
    let (bpp, pad) = (bpp.max(1), pad.max(1));
    let width = r.width as usize;
    let height = r.height as usize;
    // Whole padded units only: then `cols * bpp` padded still fits in `room`.
    let cols = (room / pad * pad / bpp).clamp(1, width.max(1));
    let row_bytes = (cols * bpp).next_multiple_of(pad);
    let rows = (room / row_bytes).clamp(1, height.max(1));
    let offset = |v: usize| i32::try_from(v).unwrap_or(i32::MAX);
    let size = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
    (0..width).step_by(cols).flat_map(move |x| {
        let w = cols.min(width - x);
        (0..height).step_by(rows).map(move |y| {
            let h = rows.min(height - y);
            Rect::new(r.x + offset(x), r.y + offset(y), size(w), size(h))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Region;

    fn check(r: Rect, room: usize) -> Vec<Rect> {
        check_with(r, room, 4, 4)
    }

    fn check_with(r: Rect, room: usize, bpp: usize, pad: usize) -> Vec<Rect> {
        let pieces: Vec<Rect> = bands(r, room, bpp, pad).collect();
        for p in &pieces {
            let bytes = (p.width as usize * bpp).next_multiple_of(pad) * p.height as usize;
            assert!(
                bytes <= room.max(pad),
                "{p:?} needs {bytes}, exceeds {room} bytes"
            );
        }
        let covered = Region::from_rects(pieces.iter().copied());
        assert_eq!(covered, Region::from(r));
        assert_eq!(
            covered.area(),
            pieces.iter().map(Rect::area).sum::<u64>(),
            "overlap"
        );
        pieces
    }

    #[test]
    fn bands_fit_the_request_limit() {
        // Whole frame in full-width bands.
        let p = check(Rect::new(0, 0, 3840, 2160), 16 * 1024 * 1024);
        assert_eq!(p.len(), 2);
        assert!(p.iter().all(|b| b.width == 3840));
        // A single row longer than a request: split into columns, never looped on.
        let p = check(Rect::new(7, 3, 1000, 2), 1000);
        assert!(p.iter().all(|b| b.height == 1 && b.width == 250));
        assert_eq!(p.len(), 8);
        // Degenerate limits still make progress, one pixel at a time.
        assert_eq!(check(Rect::new(0, 0, 3, 2), 0).len(), 6);
        assert_eq!(bands(Rect::new(0, 0, 0, 5), 100, 4, 4).count(), 0);
        // 16-bit pixels with rows padded to 4 bytes: 3 px take 8 bytes, not 6.
        let p = check_with(Rect::new(1, 0, 3, 10), 17, 2, 4);
        assert!(p.iter().all(|b| b.width == 3 && b.height == 2), "{p:?}");
        let p = check_with(Rect::new(0, 0, 9, 1), 8, 2, 4);
        assert!(p.iter().all(|b| b.width == 4 || b.width == 1), "{p:?}");
    }
}
