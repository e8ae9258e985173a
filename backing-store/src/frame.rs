//! [`Frame`]: the pixels handed to the app for one paint.

use crate::format::PixelFormat;
use crate::{Rect, Region};

/// The image, lent to the app between [`crate::BackingStore::begin_paint`] and the next
/// call on the store. Pixels are 32-bit words in the client's byte order
/// ([`PixelFormat`]), rows [`Frame::stride`] bytes apart.
///
/// Only the painted region is guaranteed not to be in use by the server: paint inside
/// [`Frame::region`] ([`Frame::fill`] clips to it). The borrow ends with the frame, so
/// no pointer into the image can outlive it (SECURITY.md S7).
pub struct Frame<'a> {
    pub(crate) pixels: &'a mut [u8],
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) stride: usize,
    pub(crate) format: PixelFormat,
    pub(crate) region: &'a Region,
}

impl Frame<'_> {
    /// Image width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Image height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Bytes from one row to the next (at least `4 * width`).
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// The pixel layout.
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// The region being painted, clipped to the image.
    pub fn region(&self) -> &Region {
        self.region
    }

    /// The whole image, `stride * height` bytes. Outside [`Frame::region`], pixels
    /// that a resize added and nothing has painted or shown yet hold unspecified
    /// values (this store's own older pixels) until they are.
    pub fn pixels_mut(&mut self) -> &mut [u8] {
        self.pixels
    }

    /// The rows of the image, each `4 * width` bytes (padding excluded).
    pub fn rows_mut(&mut self) -> impl Iterator<Item = &mut [u8]> + '_ {
        let row = self.row_bytes();
        self.pixels
            .chunks_exact_mut(self.stride)
            .map(move |r| &mut r[..row])
    }

    fn row_bytes(&self) -> usize {
        // width * 4 was checked when the image was made (stride >= it).
        self.stride.min(self.width as usize * 4)
    }

    /// Fills `rect` ∩ the painted region with `pixel` (`0xAARRGGBB`).
    pub fn fill(&mut self, rect: Rect, pixel: u32) {
        let bytes = pixel.to_ne_bytes();
        let stride = self.stride;
        for r in self.region.rects_within(rect) {
            // Region rects lie inside the image: the region was clipped to it.
            let (x, y) = (r.x as usize, r.y as usize);
            for row in y..y + r.height as usize {
                let start = row * stride + x * 4;
                let span = &mut self.pixels[start..start + r.width as usize * 4];
                for px in span.chunks_exact_mut(4) {
                    px.copy_from_slice(&bytes);
                }
            }
        }
    }
}
