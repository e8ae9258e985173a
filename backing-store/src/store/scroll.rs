//! Scrolling: moving pixels in the image and on the server, and the strip that comes
//! in, which the app paints.

use x11rb::connection::Connection;

use super::BackingStore;
use crate::region::Scratch;
use crate::server::copy_area;
use crate::{pixels, Error, Rect, Region};
use xbs_shm::RequestError as _;

impl<C: Connection> BackingStore<C> {
    /// Moves the pixels of `area` by (`dx`, `dy`), in the image and on the window
    /// (`CopyArea`), clipped to the image. Returns the part of `area` that scrolled in
    /// and must be painted and flushed by the app.
    ///
    /// Moves what is on the window: pixels painted into `area` but not yet flushed are
    /// moved in the image only, so flush before scrolling.
    pub fn scroll(&mut self, area: &Region, dx: i32, dy: i32) -> Result<Region, Error> {
        self.enter()?;
        let result = self.scroll_now(area, dx, dy);
        self.noted(result)
    }

    fn scroll_now(&mut self, area: &Region, dx: i32, dy: i32) -> Result<Region, Error> {
        let mut plan = std::mem::take(&mut self.scroll_plan);
        plan.plan(self.canvas.geometry.rect(), area, dx, dy);
        let moved = self.move_planned(&plan.dst, area, dx, dy);
        // The one allocation of a scroll: the region returned (none when it is empty).
        let exposed = plan.exposed.clone();
        self.scroll_plan = plan;
        moved.map(|()| exposed)
    }

    /// Moves the pixels of `dst` from `dst - (dx, dy)`, in the image and on the server.
    fn move_planned(&mut self, dst: &Region, area: &Region, dx: i32, dy: i32) -> Result<(), Error> {
        if dst.is_empty() {
            return Ok(());
        }
        self.canvas.settle_layout(None);
        self.canvas.make_writable(dst, false, false)?;
        // The window's pixels move: what the flushes showed is no longer where it was.
        self.shown.forget();
        // Pixels not zeroed yet must not move as they are (blank lies inside the image).
        self.canvas.unblank(area);
        let on_the_server = self.copies_on_the_server();
        let errors = self.request_errors();
        let stride = self.canvas.geometry.stride;
        let rects = &mut self.scratch.rects;
        move_pixels(self.canvas.pixels_mut(), stride, dst, dx, dy, rects);
        self.canvas.buffers.changed(rects.iter().copied());
        if !on_the_server {
            // No event would say what a CopyArea could not read (a covered source):
            // show the moved pixels from the image.
            return self.flush_now(dst);
        }
        // Order matters on the server too: the copies run in the same sequence. With a
        // server-side copy, move it, then show the moved part; else move the window.
        let (from, gc) = match &self.server_copy {
            Some(copy) => (copy.pixmap.id(), self.gcs.quiet.id()),
            None => (self.window, self.gcs.window.id()),
        };
        let (mut first, mut last) = (0, 0);
        for (i, &r) in rects.iter().enumerate() {
            last = copy_area(&*self.conn, from, from, gc, r, dx, dy, errors)?;
            if i == 0 {
                first = last;
            }
        }
        self.stats.requests += rects.len() as u64;
        if self.server_copy.is_none() && self.events.reach_the_store() {
            // The window's own pixels moved, the wrong ones with the rest: exposure
            // events that predate this scroll must be repaired where it put them.
            self.history.record(first, last, dst, dx, dy);
        }
        self.show_from_copy()?;
        self.conn.flush().map_err(Error::conn("flush"))?;
        Ok(())
    }
}

impl<C: Connection> BackingStore<C> {
    /// Whether a scroll may move the pixels on the server with `CopyArea`: from the
    /// server-side copy (a pixmap is never covered); on the window where the
    /// GraphicsExposures of a covered source reach the store; or where a compositor
    /// redirects the window, so that no other window covers its pixels.
    fn copies_on_the_server(&self) -> bool {
        // Presenting, a CopyArea now would run before the presents still waiting for
        // their vblank: the moved pixels are presented from the image instead.
        if self.presenter.is_some() {
            return false;
        }
        self.server_copy.is_some() || self.events.reach_the_store() || self.composited
    }
}

/// What a scroll of `area` by (`dx`, `dy`) in an image of `image` does: the part of
/// the clipped area that receives moved pixels, and the part that scrolled in (to be
/// painted). Both are empty for a move by (0, 0).
#[cfg(fuzzing)]
pub(crate) fn scroll_plan(image: Rect, area: &Region, dx: i32, dy: i32) -> (Region, Region) {
    let mut plan = ScrollPlan::default();
    plan.plan(image, area, dx, dy);
    (plan.dst, plan.exposed)
}

/// The regions of a scroll, kept by the store so that planning one allocates nothing.
#[derive(Debug, Default)]
pub(crate) struct ScrollPlan {
    area: Region,
    moved: Region,
    /// The pixels that move: area ∩ (area + (dx, dy)).
    dst: Region,
    /// The pixels that scroll in: area − dst.
    exposed: Region,
    scratch: Scratch,
}

impl ScrollPlan {
    /// Plans moving `area` (clipped to `image`) by (`dx`, `dy`): the pixels that move
    /// and the ones that scroll in are both empty for a move by (0, 0).
    fn plan(&mut self, image: Rect, area: &Region, dx: i32, dy: i32) {
        if dx == 0 && dy == 0 {
            self.dst.clear();
            self.exposed.clear();
            return;
        }
        area.intersect_rect_into(image, &mut self.area);
        self.area.translate_into(dx, dy, &mut self.moved);
        self.area
            .intersect_into(&self.moved, &mut self.dst, &mut self.scratch);
        self.area
            .subtract_into(&self.dst, &mut self.exposed, &mut self.scratch);
    }
}

/// Moves the pixels of `dst` (inside the image, as a [`ScrollPlan`] gives it) from
/// `dst - (dx, dy)`, in 4-byte pixels with rows `stride` bytes apart. `rects` is
/// scratch, left holding the rects in the order they were copied.
pub(crate) fn move_pixels(
    pixels: &mut [u8],
    stride: usize,
    dst: &Region,
    dx: i32,
    dy: i32,
    rects: &mut Vec<Rect>,
) {
    // Order the rects so no copy overwrites the source of a later one: against the
    // direction of motion (as a memmove picks its direction).
    rects.clear();
    rects.extend(dst.rects());
    rects.sort_by_key(|r| {
        (
            if dy > 0 { -r.y } else { r.y },
            if dx > 0 { -r.x } else { r.x },
        )
    });
    for &r in rects.iter() {
        pixels::shift(pixels, stride, r, dx, dy);
    }
}
