//! [`Frame`]: the pixels handed to the app for one paint.
//!
//! The store guarantees that the pixels of the painted region are not being read by
//! the server (SECURITY.md S13) and notes them as changed (the other buffer lacks them).
//! The frame's API keeps the app to that region by construction: [`Frame::fill`] clips
//! to it and [`Frame::spans_mut`] lends exactly its pixels, one row span at a time.
//! [`Frame::pixels_mut`] lends the whole image, after making all of it safe to write.

use crate::format::PixelFormat;
use crate::{pixels, Error, Rect, Region};

/// What a frame borrows from the store: the image, and a way to make all of it
/// writable.
pub(crate) trait Lend {
    /// The image the app paints: `stride * height` bytes.
    fn pixels(&mut self) -> &mut [u8];
    /// Makes every pixel of the image safe to write and notes it all as changed, as a
    /// paint of the whole image would.
    fn widen(&mut self) -> Result<(), Error>;
}

/// The image, lent to the app between [`crate::BackingStore::begin_paint`] and the next
/// call on the store. Pixels are 32-bit words in the client's byte order
/// ([`PixelFormat`]), rows [`Frame::stride`] bytes apart.
///
/// Paint the region through [`Frame::fill`] (clipped to it) or [`Frame::spans_mut`]
/// (exactly its pixels). A rasterizer that needs the whole image as one slice (a
/// tiny-skia `PixmapMut`, code written for softbuffer) can take it with
/// [`Frame::pixels_mut`], which first makes the whole image safe to write; or call
/// `begin_paint` with the whole image as the region. The borrow ends with the frame, so
/// no pointer into the image can outlive it (SECURITY.md S7).
pub struct Frame<'a> {
    pub(crate) image: &'a mut dyn Lend,
    pub(crate) region: &'a Region,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) stride: usize,
    pub(crate) format: PixelFormat,
    /// Whether the whole image has been made writable.
    pub(crate) whole: bool,
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

    /// Fills `rect` ∩ the painted region with `pixel` (`0xAARRGGBB`).
    pub fn fill(&mut self, rect: Rect, pixel: u32) {
        let stride = self.stride;
        let image = self.image.pixels();
        for r in self.region.rects_within(rect) {
            pixels::fill(image, stride, r, pixel);
        }
    }

    /// The pixels of the painted region, as one [`Span`] per row of each of its
    /// rects, top to bottom and left to right: every pixel of the region exactly once,
    /// and nothing else. Allocates nothing.
    ///
    /// ```
    /// # let server = xbs_tests::XServer::start()?;
    /// # let (conn, _) = server.connect()?;
    /// # let window = xbs_tests::window(&conn, 64, 64)?;
    /// # let mut store = xbs::BackingStore::new(&conn, window, xbs::Options::new())?;
    /// let damage = xbs::Region::from(xbs::Rect::new(8, 8, 16, 4));
    /// let mut frame = store.begin_paint(&damage)?;
    /// for span in frame.spans_mut() {
    ///     for (i, px) in span.pixels.chunks_exact_mut(4).enumerate() {
    ///         let x = span.x as u32 + i as u32;
    ///         px.copy_from_slice(&(0xff00_0000 | x << 16 | span.y as u32).to_ne_bytes());
    ///     }
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn spans_mut(&mut self) -> Spans<'_> {
        Spans {
            rest: self.image.pixels(),
            next_row: 0,
            stride: self.stride,
            region: self.region,
            band: 0..0,
            next: 0,
            y: 0,
            bottom: 0,
            line: &mut [],
            col: 0,
        }
    }

    /// The whole image, `stride * height` bytes, after making every pixel of it safe to
    /// write: the store waits for the server, or switches buffers, around all of it, and
    /// notes all of it as changed (so a later buffer switch copies the whole image once).
    /// Pixels a resize added read as black. Only what is later flushed is shown.
    ///
    /// Prefer [`Frame::fill`] and [`Frame::spans_mut`] when painting only the damage:
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
        Ok(self.image.pixels())
    }
}

/// One row of one rect of a frame's region: `pixels` are the region's pixels from
/// (`x`, `y`) rightwards, 4 bytes each, `width * 4` bytes in all.
#[derive(Debug)]
pub struct Span<'a> {
    /// Left edge of the span in the image.
    pub x: i32,
    /// The row.
    pub y: i32,
    /// The span's pixels.
    pub pixels: &'a mut [u8],
}

/// The spans of a frame's region: see [`Frame::spans_mut`].
pub struct Spans<'a> {
    /// The image from row `next_row` on.
    rest: &'a mut [u8],
    next_row: usize,
    stride: usize,
    region: &'a Region,
    /// The rects of the current band (indices into the region), and the next to lend.
    band: std::ops::Range<usize>,
    next: usize,
    /// The row being lent, and the band's bottom (exclusive).
    y: i32,
    bottom: i32,
    /// What is left of row `y`, which starts `col` bytes into the row.
    line: &'a mut [u8],
    col: usize,
}

impl Spans<'_> {
    /// Moves to row `y` (at or below `next_row`).
    fn load_row(&mut self, y: i32) {
        let rest = std::mem::take(&mut self.rest);
        // Region rects lie inside the image: rows are below `height`.
        let skip = (y as usize - self.next_row) * self.stride;
        let rest = &mut rest[skip..];
        let (line, tail) = rest.split_at_mut(self.stride.min(rest.len()));
        self.line = line;
        self.rest = tail;
        self.next_row = y as usize + 1;
        self.col = 0;
        self.y = y;
    }
}

impl<'a> Iterator for Spans<'a> {
    type Item = Span<'a>;

    fn next(&mut self) -> Option<Span<'a>> {
        while self.next == self.band.end {
            if self.y + 1 < self.bottom {
                // The band's next row.
                self.load_row(self.y + 1);
                self.next = self.band.start;
            } else if self.band.end < self.region.len() {
                // The next band: the rects that share its top edge.
                let start = self.band.end;
                let first = self.region.rect_at(start);
                let mut end = start + 1;
                while end < self.region.len() && self.region.rect_at(end).y == first.y {
                    end += 1;
                }
                self.band = start..end;
                self.next = start;
                self.bottom = first.y + first.height as i32;
                self.load_row(first.y);
            } else {
                return None;
            }
        }
        let r = self.region.rect_at(self.next);
        self.next += 1;
        let (x, len) = (r.x as usize * 4, r.width as usize * 4);
        let line = std::mem::take(&mut self.line);
        let (_, line) = line.split_at_mut(x - self.col);
        let (pixels, line) = line.split_at_mut(len);
        self.line = line;
        self.col = x + len;
        Some(Span {
            x: r.x,
            y: self.y,
            pixels,
        })
    }
}
