//! Resizing: keeping the memory while the new size fits (grow geometrically, shrink
//! with hysteresis), and the content where it still lies inside.

use x11rb::connection::Connection;

use super::{keep_server_copy, BackingStore};
use crate::geometry::Geometry;
use crate::pixels::{heap, Block};
use crate::server::ServerCopy;
use crate::{Error, Rect};

/// Resizes in a row to less than a quarter of the image memory after which it shrinks.
pub const SHRINK_AFTER: u32 = 8;

/// When to give memory back: after [`SHRINK_AFTER`] resizes in a row to less than a
/// quarter of it, so a user dragging a window corner back and forth never makes a
/// segment per step.
#[derive(Default)]
pub(crate) struct Shrink {
    /// Resizes in a row that left most of the memory unused.
    streak: u32,
}

impl Shrink {
    /// Notes a resize to `len` bytes of memory holding `capacity`; whether to shrink.
    fn note(&mut self, len: usize, capacity: usize) -> bool {
        if len < capacity / 4 {
            self.streak = self.streak.saturating_add(1);
        } else {
            self.streak = 0;
        }
        self.streak >= SHRINK_AFTER
    }
}

/// The kept block of a resize, not moved to the new stride yet: a toolkit repaints
/// after a resize, and what it repaints need not move. The move happens, but for what
/// is about to be repainted, the first time anything reads the image
/// ([`Canvas::settle_layout`](super::paint::Canvas::settle_layout)).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Relayout {
    pub(crate) block: Block,
    pub(crate) from: usize,
    pub(crate) to: usize,
    /// The block lies in the spare (the old front, which the server may still be
    /// reading) and is copied into the front, rather than moved within it.
    pub(crate) across: bool,
}

/// Whether memory of `capacity` bytes is kept for an image of `len`: it fits, and it is
/// not much smaller or the store has not decided to `shrink`.
fn reusable(len: usize, capacity: usize, shrink: bool) -> bool {
    len <= capacity && (len >= capacity / 4 || !shrink)
}

impl<C: Connection> BackingStore<C> {
    /// Resizes the image to `width` × `height`, keeping the content that still lies
    /// inside (anchored top-left); new pixels are black. They are zeroed lazily, when
    /// painted, flushed or scrolled; a [`begin_repaint`](Self::begin_repaint) over them
    /// skips that, so a toolkit repainting the new size writes each pixel once.
    ///
    /// The memory is kept whenever the new size fits. It grows by half again as much
    /// when it must grow, and shrinks to fit only after [`SHRINK_AFTER`] resizes in a
    /// row to less than a quarter of it, so a user dragging a window corner back and
    /// forth never makes a segment per step.
    ///
    /// A resize does not wait for the server to read the last flush: where the kept
    /// rows must move to a new stride in memory the server may still be reading, the
    /// store paints on in its other buffer (made then if there is none) and copies
    /// them out of the busy one, lazily, as it would move them; with
    /// [`Options::single_buffer`](crate::Options::single_buffer) it waits.
    pub fn resize(&mut self, width: u32, height: u32) -> Result<(), Error> {
        self.enter()?;
        let result = self.resize_now(width, height);
        self.noted(result)
    }

    fn resize_now(&mut self, width: u32, height: u32) -> Result<(), Error> {
        // A move still pending from the last resize happens first.
        self.canvas.settle_layout(None);
        let old = self.canvas.geometry;
        let (geometry, len) = Geometry::new(old.format, width, height)?;
        if (width, height) == (old.width, old.height) {
            return Ok(());
        }
        let capacity = self.canvas.buffers.front().memory.capacity();
        let shrink = self.shrink.note(len.server, capacity);
        let keep = |cap| reusable(len.server, cap, shrink);
        // Everything that can fail comes first, so a failure leaves the store as it was.
        let fresh_canvas = match &self.canvas.conversion {
            Some(c) if !reusable(len.image, c.canvas.len(), shrink) => Some(heap(len.image)?),
            _ => None,
        };
        let fresh_memory = if reusable(len.server, capacity, shrink) {
            None
        } else {
            let grown = if len.server > capacity {
                len.server.max(capacity.saturating_add(capacity / 2))
            } else {
                len.server
            };
            let made = self
                .transports
                .allocate(&self.conn, grown, len.server, &mut self.stats)?;
            Some(made)
        };

        // The kept top-left block, in bytes of the app's image (4 a pixel) and rows.
        let kept = Rect::new(0, 0, old.width.min(width), old.height.min(height));
        let block = Block {
            width: kept.width as usize * 4,
            rows: kept.height as usize,
        };
        let (from, to) = (old.stride, geometry.stride);
        let converting = self.canvas.conversion.is_some();
        let buffers = &mut self.canvas.buffers;
        // Kept in place, the block moves later (`Relayout`), in the front's memory or,
        // where the server may still be reading that, out of it into the other buffer;
        // into fresh memory, now, before the old memory goes.
        let mut across = false;
        if let Some(pending) = self.server_copy.as_mut().and_then(|c| c.presenting.take()) {
            // A present of the filled pixmap, which is about to be remade.
            pending.wait(&*self.conn)?;
        }
        if fresh_memory.is_some() || self.presenter.is_some() {
            // Presenting: the segments' pixmaps are remade for the new size, and a
            // present still waiting for its vblank reads the old one.
            buffers.wait_all()?;
        } else if !converting && from != to {
            across = buffers.idle_front_for_relayout(keep, &old)?;
        }
        let canvas = &mut self.canvas;
        let in_place = Relayout {
            block,
            from,
            to,
            across,
        };
        let mut pending = None;
        match (&mut canvas.conversion, fresh_canvas) {
            (Some(c), Some(mut fresh)) => {
                block.copy(&c.canvas, from, &mut fresh, to);
                c.canvas = fresh;
            }
            (Some(_), None) => pending = Some(in_place),
            (None, _) => {}
        }
        let front = canvas.buffers.front_mut();
        match fresh_memory {
            // When converting, the memory is staging: its old content does not matter.
            Some(fresh) if converting => front.memory = fresh,
            Some(mut fresh) => {
                block.copy(front.memory.pixels(), from, fresh.pixels_mut(), to);
                front.memory = fresh;
            }
            None if converting => {}
            None => pending = Some(in_place),
        }
        canvas.relayout = pending;
        if let Some(old_copy) = self.server_copy.take() {
            let made = ServerCopy::new(
                &self.conn,
                self.window,
                geometry.format.depth,
                (width, height),
                self.gcs.quiet.id(),
                Some(&old_copy),
            );
            self.server_copy = keep_server_copy(made)?;
        }
        let canvas = &mut self.canvas;
        canvas.geometry = geometry;
        // Pixels outside the kept block read as black from now on; they are zeroed
        // only if something reads them before the app repaints them.
        canvas.blank.resized(kept, geometry.rect());
        // The spare keeps its memory while the image fits it, as the front does.
        let restrided =
            (old.stride, old.server_stride) != (geometry.stride, geometry.server_stride);
        canvas.buffers.resized(geometry.rect(), restrided, keep);
        if let Some(p) = &mut self.presenter {
            let mut live = canvas.buffers.segments();
            if self.server_copy.is_some() {
                // The filled pixmap's fence stays too.
                live.push(super::present::FILLED);
            }
            p.resized(&live);
        }
        Ok(())
    }
}
