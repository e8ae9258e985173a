//! Painting: the [`Canvas`] the app paints into, and lending it as a [`Frame`] that
//! the server is not reading (SECURITY.md S13).

use x11rb::connection::Connection;

use super::blank::Blank;
use super::resize::Relayout;
use super::BackingStore;
use crate::buffers::Buffers;
use crate::convert::Conversion;
use crate::frame::{Frame, Lend};
use crate::geometry::Geometry;
use crate::{pixels, Error, Rect, Region};

/// What the app paints into: the front buffer, or, when the server's pixels are not the
/// app's, a private canvas whose flushed rects are converted into the buffers; and the
/// pixels a resize added, which read as black before they are zeroed.
pub(crate) struct Canvas<C: Connection> {
    pub(crate) buffers: Buffers<C>,
    pub(crate) conversion: Option<Conversion>,
    pub(crate) blank: Blank,
    pub(crate) geometry: Geometry,
    /// The last resize's kept block, not moved to the new stride yet.
    pub(crate) relayout: Option<Relayout>,
    /// Scratch for that move.
    pub(crate) pieces: Vec<Rect>,
}

impl<C: Connection> Canvas<C> {
    /// The image the app paints (at least `stride * height` bytes): the canvas when
    /// converting, else the front buffer.
    pub(crate) fn pixels_mut(&mut self) -> &mut [u8] {
        match &mut self.conversion {
            Some(c) => &mut c.canvas,
            None => self.buffers.front_mut().memory.pixels_mut(),
        }
    }

    /// The image, to read.
    pub(crate) fn pixels(&self) -> &[u8] {
        match &self.conversion {
            Some(c) => &c.canvas,
            None => self.buffers.front().memory.pixels(),
        }
    }

    /// Moves the kept block of the last resize to the new stride, if that is still to
    /// do, but for `except`, which the app is about to repaint. Before anything reads the
    /// image, or zeroes pixels a resize added (the move's sources may lie there).
    pub(crate) fn settle_layout(&mut self, except: Option<&Region>) {
        let Some(r) = self.relayout.take() else {
            return;
        };
        let none = Region::new();
        let except = except.unwrap_or(&none);
        let mut pieces = std::mem::take(&mut self.pieces);
        if r.across {
            // The resize switched buffers; the spare keeps its memory while the image
            // fits it, as the front does, so it is there.
            if let Some((front, spare)) = self.buffers.front_and_spare_pixels() {
                r.block
                    .copy_except(spare, r.from, front, r.to, except, &mut pieces);
            }
        } else {
            r.block
                .relayout_except(self.pixels_mut(), r.from, r.to, except, &mut pieces);
        }
        self.pieces = pieces;
    }

    /// Makes the pixels of `region` safe to write (S13). A conversion canvas is
    /// private: the server reads the staging memory, not it.
    pub(crate) fn make_writable(
        &mut self,
        region: &Region,
        repaint: bool,
        untracked: bool,
    ) -> Result<(), Error> {
        if self.conversion.is_some() {
            return Ok(());
        }
        self.buffers
            .make_writable(region, repaint, untracked, &self.geometry)
    }

    /// Zeroes the pixels of `region` that a resize added and nothing has written yet.
    /// They were never flushed since, so the server is not reading them.
    pub(crate) fn unblank(&mut self, region: &Region) {
        let Some(zero) = self.blank.take(region) else {
            return;
        };
        let stride = self.geometry.stride;
        let image = self.pixels_mut();
        for r in zero.rects() {
            pixels::fill(image, stride, r, 0);
        }
        self.buffers.changed(zero.rects());
    }

    /// Readies `region` (inside the image) for the app to paint: safe to write, black
    /// where a resize added pixels (unless the app repaints all of it), and noted as
    /// changed (unless `untracked`: then what the flush sends is noted instead).
    fn lend(&mut self, region: &Region, repaint: bool, untracked: bool) -> Result<(), Error> {
        // What a repaint overwrites need not move to the new stride first.
        self.settle_layout(repaint.then_some(region));
        self.make_writable(region, repaint, untracked)?;
        if repaint {
            self.blank.forget(region);
        } else {
            self.unblank(region);
        }
        if !untracked {
            self.buffers.changed(region.rects());
        }
        Ok(())
    }
}

impl<C: Connection> Lend for BackingStore<C> {
    fn parts(&mut self) -> (&mut [u8], &Region) {
        let len = self.canvas.geometry.image_len();
        (&mut self.canvas.pixels_mut()[..len], &self.painting)
    }

    fn image(&self) -> &[u8] {
        &self.canvas.pixels()[..self.canvas.geometry.image_len()]
    }

    fn painting(&self) -> &Region {
        &self.painting
    }

    fn widen(&mut self) -> Result<(), Error> {
        let all = Region::from(self.canvas.geometry.rect());
        let widened = self.canvas.lend(&all, false, false);
        self.noted(widened)
    }

    fn flush(&mut self, region: &Region, note_changed: bool) -> Result<(), Error> {
        if note_changed {
            // The paint is over: its region's memory holds the damage now.
            region.intersect_rect_into(self.canvas.geometry.rect(), &mut self.painting);
            self.canvas.buffers.changed(self.painting.rects());
        }
        BackingStore::flush(self, region)
    }
}

impl<C: Connection> BackingStore<C> {
    /// Lends the image for painting `region` (clipped to the image). Never hands out
    /// pixels the server may still be reading (SECURITY.md S13): when `region` overlaps
    /// some, the store switches to its other buffer, after copying into it what changed
    /// since it was last painted, or waits for the server where that copy would cost
    /// more than the paint ([`Options::single_buffer`](crate::Options) has the rules).
    /// The region's pixels are what the store holds: what was painted there before, or
    /// black where a resize added them, so the app may paint only part of it or blend.
    pub fn begin_paint(&mut self, region: &Region) -> Result<Frame<'_>, Error> {
        self.lend(region, false, false)
    }

    /// Like [`begin_paint`](Self::begin_paint), for a paint that writes every pixel of
    /// `region`, as toolkits do after a resize: pixels a resize added are not blackened
    /// first, so each is written once instead of twice. Where a resize added them, the
    /// frame's pixels in `region` start unspecified (this store's own older pixels,
    /// never another process's); painting only part of `region` shows such pixels.
    pub fn begin_repaint(&mut self, region: &Region) -> Result<Frame<'_>, Error> {
        self.lend(region, true, false)
    }

    /// The whole image, every pixel safe to write, for code that learns its damage only
    /// after painting (softbuffer's shape: draw anywhere, then present some rects):
    /// end it with [`Frame::flush`] of that damage. Only the flushed pixels count as
    /// changed, so the next buffer switch copies just them, not the whole image; a
    /// pixel written outside the damage may be lost at such a switch (it was never
    /// shown). Pixels a resize added read as black.
    pub fn begin_frame(&mut self) -> Result<Frame<'_>, Error> {
        let all = Region::from(self.canvas.geometry.rect());
        self.lend(&all, false, true)
    }

    fn lend(
        &mut self,
        region: &Region,
        repaint: bool,
        untracked: bool,
    ) -> Result<Frame<'_>, Error> {
        self.enter()?;
        region.intersect_rect_into(self.canvas.geometry.rect(), &mut self.painting);
        self.canvas.buffers.wire_ok = self.can_upload_over_wire();
        let lent = self.canvas.lend(&self.painting, repaint, untracked);
        self.noted(lent)?;
        let g = self.canvas.geometry;
        // A private canvas is the image whatever the buffers under it do.
        let age = match self.canvas.conversion {
            Some(_) => 1,
            None => self.canvas.buffers.lent_age(),
        };
        Ok(Frame {
            age,
            width: g.width,
            height: g.height,
            stride: g.stride,
            format: g.format.pixel,
            // A region as large as the image is all of it.
            whole: self.painting.area() == g.rect().area(),
            untracked,
            image: self,
        })
    }
}
