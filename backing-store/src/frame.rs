//! [`Frame`]: the pixels handed to the app for one paint.
//!
//! The store guarantees that the pixels of the painted region are not being read by
//! the server (SECURITY.md S13) and notes them as changed (the other buffer lacks them).
//! The frame's API keeps the app to that region by construction: [`Frame::fill`] clips
//! to it and [`Frame::rects_mut`] lends exactly its pixels, one rect at a time.
//! [`Frame::pixels_mut`] lends the whole image, after making all of it safe to write.

use crate::format::PixelFormat;
use crate::{pixels, Error, Rect, Region};

/// What a frame borrows from the store: the image, the region being painted, a way to
/// make all of the image writable, and the flush that ends the paint.
pub(crate) trait Lend {
    /// The image the app paints (`stride * height` bytes), and the painted region.
    fn parts(&mut self) -> (&mut [u8], &Region);
    /// The image, to read.
    fn image(&self) -> &[u8];
    /// The painted region, clipped to the image.
    fn painting(&self) -> &Region;
    /// Makes every pixel of the image safe to write and notes it all as changed, as a
    /// paint of the whole image would.
    fn widen(&mut self) -> Result<(), Error>;
    /// [`crate::BackingStore::flush`], first noting `region` as changed if asked (a
    /// frame from `begin_frame`, whose changes are its damage).
    fn flush(&mut self, region: &Region, note_changed: bool) -> Result<(), Error>;
}

/// The image, lent to the app between [`crate::BackingStore::begin_paint`] and the next
/// call on the store. Pixels are 32-bit words in the client's byte order
/// ([`PixelFormat`]), rows [`Frame::stride`] bytes apart.
///
/// Paint the region through [`Frame::fill`] (clipped to it) or [`Frame::rects_mut`]
/// (exactly its pixels, rect by rect). A rasterizer that needs the whole image as one slice (a
/// tiny-skia `PixmapMut`, code written for softbuffer) can take it with
/// [`Frame::pixels_mut`], which first makes the whole image safe to write; or call
/// `begin_paint` with the whole image as the region. The borrow ends with the frame, so
/// no pointer into the image can outlive it (SECURITY.md S7).
pub struct Frame<'a> {
    pub(crate) image: &'a mut dyn Lend,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) stride: usize,
    pub(crate) format: PixelFormat,
    /// Whether the whole image has been made writable.
    pub(crate) whole: bool,
    /// Lent by `begin_frame`: the flushed damage is what changed.
    pub(crate) untracked: bool,
    /// See [`Frame::age`].
    pub(crate) age: u32,
}

impl Frame<'_> {
    /// How many flushes ago the pixels of the painted region held the image, as EGL's
    /// buffer age counts: 1, they are the image as the last flush left it (always
    /// after [`begin_paint`](crate::BackingStore::begin_paint) and
    /// [`begin_frame`](crate::BackingStore::begin_frame)); 2 or more, a
    /// [`begin_repaint`](crate::BackingStore::begin_repaint) lent the other buffer
    /// without copying into it what changed since it was last the front (the app
    /// repaints the region anyway), so it holds the image as of that many flushes ago;
    /// 0, that buffer never held the image (it is new, or the image was resized since).
    ///
    /// An app that keeps its last frames' damage can repaint only what changed in the
    /// last `age` frames (what `xbs_window::Surface` does with buffer age on).
    pub fn age(&self) -> u32 {
        self.age
    }

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
        self.image.painting()
    }

    /// Fills `rect` ∩ the painted region with the colour `pixel` (`0xAARRGGBB`, laid
    /// out as [`Frame::format`] says).
    pub fn fill(&mut self, rect: Rect, pixel: u32) {
        let stride = self.stride;
        let word = self.format.word(pixel);
        let (image, region) = self.image.parts();
        for r in region.rects_within(rect) {
            pixels::fill(image, stride, r, word);
        }
    }

    /// The rects of the painted region, one at a time, each lending exactly its
    /// pixels ([`RectMut`]): every pixel of the region exactly once, rect by rect in
    /// banded order, each rect's rows top to bottom (the order a memory prefetcher
    /// follows best). Allocates nothing. A cursor rather than an `Iterator`: each rect
    /// borrows the frame until the next is asked for.
    ///
    /// ```
    /// # let server = xbs_tests::XServer::start()?;
    /// # let (conn, _) = server.connect()?;
    /// # let window = xbs_tests::window(&conn, 64, 64)?;
    /// # let mut store = xbs::BackingStore::new(&conn, window, xbs::Options::new())?;
    /// let damage = xbs::Region::from(xbs::Rect::new(8, 8, 16, 4));
    /// let mut frame = store.begin_paint(&damage)?;
    /// let mut rects = frame.rects_mut();
    /// while let Some(mut rect) = rects.next() {
    ///     let left = rect.rect().x as u32;
    ///     for (y, row) in rect.rows_mut() {
    ///         for (i, px) in row.chunks_exact_mut(4).enumerate() {
    ///             let x = left + i as u32;
    ///             px.copy_from_slice(&(0xff00_0000 | x << 16 | y as u32).to_ne_bytes());
    ///         }
    ///     }
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rects_mut(&mut self) -> RectsMut<'_> {
        let (pixels, region) = self.image.parts();
        RectsMut {
            pixels,
            stride: self.stride,
            format: self.format,
            region,
            next: 0,
        }
    }

    /// The whole image, `stride * height` bytes, after making every pixel of it safe to
    /// write: the store waits for the server, or switches buffers, around all of it, and
    /// notes all of it as changed (so a later buffer switch copies the whole image once).
    /// Pixels a resize added read as black. Only what is later flushed is shown.
    ///
    /// Prefer [`Frame::fill`] and [`Frame::rects_mut`] when painting only the damage:
    /// they keep the switch's copy down to what the app paints.
    ///
    /// # Errors
    ///
    /// What waiting for the server can return: [`Error::ConnectionLost`] and the like.
    pub fn pixels_mut(&mut self) -> Result<&mut [u8], Error> {
        if !self.whole {
            self.image.widen()?;
            self.whole = true;
        }
        Ok(self.image.parts().0)
    }

    /// [`Frame::pixels_mut`] as 32-bit pixels, `stride / 4` of them a row, in the
    /// client's byte order: the shape softbuffer's `Buffer` and most rasterizers take.
    pub fn words_mut(&mut self) -> Result<&mut [u32], Error> {
        // Shared memory is page-aligned and the heap image is made of words.
        Ok(bytemuck::cast_slice_mut(self.pixels_mut()?))
    }

    /// The whole image as 32-bit pixels, to read: what was last painted everywhere,
    /// black where a resize added pixels not painted since.
    pub fn words(&self) -> &[u32] {
        bytemuck::cast_slice(self.image.image())
    }

    /// Ends the paint and flushes `damage` ([`crate::BackingStore::flush`]), for code
    /// that holds the frame rather than the store.
    pub fn flush(self, damage: &Region) -> Result<(), Error> {
        self.image.flush(damage, self.untracked)
    }
}

/// The rects of a frame's region, lent one at a time: see [`Frame::rects_mut`].
pub struct RectsMut<'a> {
    pixels: &'a mut [u8],
    stride: usize,
    format: PixelFormat,
    region: &'a Region,
    next: usize,
}

impl RectsMut<'_> {
    /// The next rect of the region, or `None` after the last.
    #[allow(clippy::should_implement_trait)] // a lending cursor: rects borrow `self`
    pub fn next(&mut self) -> Option<RectMut<'_>> {
        if self.next >= self.region.len() {
            return None;
        }
        let rect = self.region.rect_at(self.next);
        self.next += 1;
        Some(RectMut {
            pixels: &mut *self.pixels,
            stride: self.stride,
            format: self.format,
            rect,
        })
    }
}

/// One rect of a frame's region and its pixels: see [`Frame::rects_mut`].
pub struct RectMut<'a> {
    pixels: &'a mut [u8],
    stride: usize,
    format: PixelFormat,
    rect: Rect,
}

impl RectMut<'_> {
    /// The rect, inside the image.
    pub fn rect(&self) -> Rect {
        self.rect
    }

    /// Fills the rect with the colour `pixel` (`0xAARRGGBB`, laid out as the frame's
    /// format says).
    pub fn fill(&mut self, pixel: u32) {
        pixels::fill(self.pixels, self.stride, self.rect, self.format.word(pixel));
    }

    /// Its rows, top to bottom: `(y, pixels)`, `width * 4` bytes each.
    pub fn rows_mut(&mut self) -> impl Iterator<Item = (i32, &mut [u8])> + '_ {
        // Region rects lie inside the image.
        let r = self.rect;
        let (x, w) = (r.x as usize * 4, r.width as usize * 4);
        let stride = self.stride;
        self.pixels[r.y as usize * stride..]
            .chunks_mut(stride)
            .take(r.height as usize)
            .zip(r.y..)
            .map(move |(row, y)| (y, &mut row[x..x + w]))
    }
}
