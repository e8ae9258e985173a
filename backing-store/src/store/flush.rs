//! Flushing: a damage region becomes upload requests, then is in flight until the
//! server has read it (`buffer.rs`).
//!
//! Through shared memory, a region of a few rects is one `SetClipRectangles` and one
//! `ShmPutImage` of its bounds, so the server copies exactly the region's pixels in two
//! requests; unless a compositor reads the window's damage and the bounds are much
//! larger than the region (`compositor.rs`). Otherwise (one rect, too many rects, a
//! sparse region on a composited server, or the wire) each coalesced rect is uploaded
//! on its own; over the wire in bands under the request limit.

use x11rb::connection::{Connection, DiscardMode, RequestKind};
use x11rb::protocol::xproto::{ClipOrdering, Rectangle};

use super::PresentMode;
use super::{BackingStore, Scratch};
use crate::compositor::{clip_the_bounds, exact_damage};
use crate::{request, Error, Region};
use xbs_shm::RequestError as _;

/// Pixels a merge of two upload rectangles may add before two requests are cheaper.
pub(crate) const COALESCE_SLACK: u64 = 4096;

/// Most rects a flush sends as one clipped `ShmPutImage` (8 bytes each in the
/// `SetClipRectangles`, far under any server's request limit); more go one by one.
const CLIP_MAX: usize = 2048;

impl<C: Connection> BackingStore<C> {
    /// Sends the pixels of `region` (clipped to the image and window) to the window.
    /// Through shared memory, a region of several rects is one `SetClipRectangles` and
    /// one `ShmPutImage` of its bounds, so the server copies exactly the region's
    /// pixels (up to 2048 rects; larger regions go a coalesced rect at a time, which
    /// may send a few pixels around them too). Over the wire, `PutImage` bands of the
    /// coalesced rects. Does not wait for the server.
    pub fn flush(&mut self, region: &Region) -> Result<(), Error> {
        self.enter()?;
        let result = self.flush_now(region);
        self.noted(result)
    }

    pub(super) fn flush_now(&mut self, region: &Region) -> Result<(), Error> {
        let errors = self.request_errors();
        self.canvas.buffers.wire_ok = self.can_upload_over_wire();
        let Scratch {
            clip,
            rects,
            clip_bytes,
            wire,
        } = &mut self.scratch;
        let canvas = &mut self.canvas;
        region.intersect_rect_into(canvas.geometry.rect(), clip);
        if clip.is_empty() {
            return Ok(());
        }
        canvas.settle_layout(None);
        let (area, image_area) = (clip.area(), canvas.geometry.rect().area());
        // A few pixels from shared memory may go in the requests, where that measured
        // faster (`buffers.rs`): then the server never reads the memory.
        let over_wire = canvas.buffers.uploads_over_wire(area, image_area);
        // A compositor is told every pixel sent: over shared memory, where a merge
        // saves only a request, it sends none beside the region (of few enough rects
        // that the compositor would take them one by one), but may send some of the
        // region's twice where that saves requests (`region/cover.rs`).
        let exact = exact_damage(self.composited, clip.len());
        // Over the wire from shared memory too: a flush shows exactly its region, as
        // it does through shared memory (the put-image transport's own coalesced
        // rects may show a few pixels around it).
        if over_wire || (exact && canvas.buffers.front().reads_later()) {
            clip.cover(COALESCE_SLACK, rects);
        } else {
            clip.coalesced(COALESCE_SLACK, rects);
        }
        if !canvas.blank.is_empty() {
            // What is sent, slack between merged rects included, must read as black.
            let sent = Region::from_rects(rects.iter().copied());
            canvas.unblank(&sent);
        }
        // Presenting the buffers' own pixmaps (no server-side copy to fill instead).
        let shm_presenter = self
            .presenter
            .as_mut()
            .filter(|_| self.server_copy.is_none());
        if let Some(presenter) = shm_presenter {
            if let Some(seg) = canvas.buffers.front().memory.segment() {
                let image = canvas.geometry.rect();
                // A flip shows the whole pixmap: no pixel of it may read as garbage.
                if !canvas.blank.is_empty() {
                    canvas.unblank(&Region::from(image));
                }
                if canvas.buffers.front().presenting() {
                    // Its last present may not be done yet: one fence a present.
                    canvas.buffers.wait_front()?;
                }
                if presenter.mode() == PresentMode::Vsync {
                    // One present waits for a vblank at a time: queued beside another
                    // for the same vblank, the earlier would be skipped. So a frame is
                    // shown at each vblank, and the app paints the next meanwhile.
                    canvas.buffers.wait_spare_presenting()?;
                }
                match presenter.present(seg, &canvas.geometry, clip, &mut self.stats) {
                    Ok(pending) => {
                        canvas.buffers.front_mut().presented(pending, image);
                        let bpp = canvas.geometry.format.bytes_per_pixel() as u64;
                        self.stats.bytes_uploaded += area * bpp;
                        self.stats.flushes += 1;
                        canvas.buffers.flushed(area, image_area);
                        self.pace.flushed()?;
                        return self.conn.flush().map_err(Error::conn("flush"));
                    }
                    Err(e) if e.is_connection_lost() => return Err(e),
                    Err(e) => {
                        log::warn!("presenting failed ({e}); flushes upload at once from now");
                        self.presenter = None;
                        canvas.buffers.switch_always = false;
                    }
                }
            }
        }
        if let Some(conversion) = &canvas.conversion {
            // Converting overwrites staging memory the server may still be reading.
            canvas
                .buffers
                .make_staging_writable(rects, &canvas.geometry)?;
            let staging = canvas.buffers.front_mut().memory.pixels_mut();
            conversion.convert(rects, &canvas.geometry, staging);
        }
        if let Some(pending) = self.server_copy.as_mut().and_then(|c| c.presenting.take()) {
            // Filled and presented: not written before the server is done reading it.
            let started = std::time::Instant::now();
            pending.wait(&*self.conn)?;
            self.stats.waits += 1;
            self.stats.wait_time += started.elapsed();
        }
        let (drawable, gc) = match &self.server_copy {
            Some(copy) => (copy.pixmap.id(), self.gcs.quiet.id()),
            None => (self.window, self.gcs.window.id()),
        };
        let mut target = canvas.geometry.target(drawable, gc);
        target.errors = errors;
        let conn = &*self.conn;
        let front = canvas.buffers.front_mut();
        let (mut first_seq, mut last_seq) = (0, 0);
        // A ShmCompletion only where it reaches the store; else the marker's reply
        // tells when the memory is free.
        let completion = self.events.reach_the_store();
        let one_put = (2..=CLIP_MAX).contains(&clip.len())
            && clip_the_bounds(exact, area, clip.bounds().area());
        if front.reads_later() && one_put && !over_wire {
            // Several rects: the damage as the GC's clip, then one put of its bounds.
            // The server reads exactly the damaged pixels, and handles two requests,
            // not one a rect (each of which RustConnection polls the socket for). A
            // compositor is told the bounds changed: see `compositor.rs`.
            let clip_rects = clip.rects().map(|r| Rectangle {
                // Inside an image of at most i16::MAX pixels.
                x: r.x as i16,
                y: r.y as i16,
                width: r.width as u16,
                height: r.height as u16,
            });
            first_seq = request::set_clip_rectangles(
                conn,
                clip_bytes,
                ClipOrdering::YX_BANDED,
                self.gcs.clip.id(),
                clip_rects,
                target.errors,
            )
            .map_err(Error::conn("SetClipRectangles"))?;
            target.gc = self.gcs.clip.id();
            let sent = front.memory.put(conn, &target, clip.bounds(), completion)?;
            self.stats.bytes_uploaded += area * target.bytes_per_pixel as u64;
            self.stats.requests += sent.requests + 1;
            last_seq = sent.sequence;
        } else {
            // A put a rect: through shared memory the last asks for completion; over the
            // wire from it (the rects of the cover) nothing is left in flight.
            let last = rects.len() - 1;
            for (i, &r) in rects.iter().enumerate() {
                let sent = match over_wire {
                    true => {
                        crate::transport::wire::put(conn, &target, front.memory.pixels(), wire, r)?
                    }
                    false => front
                        .memory
                        .put(conn, &target, r, completion && i == last)?,
                };
                self.stats.bytes_uploaded += sent.bytes;
                self.stats.requests += sent.requests;
                last_seq = sent.sequence;
                if i == 0 {
                    // A put's requests are numbered in a row (fewer if another thread's
                    // requests came between, which only makes this bound lower: safe).
                    first_seq = (sent.sequence + 1).saturating_sub(sent.requests.max(1));
                }
            }
            self.stats.wire_flushes += u64::from(over_wire);
        }
        if over_wire && target.errors == request::Errors::Dropped {
            // Dropped errors are discarded replies: libxcb keeps each request's number
            // until a reply to a later request arrives, which shared memory's marker
            // gives every flush; the wire needs one too, or they pile up.
            let seq = request::get_input_focus(conn).map_err(Error::conn("GetInputFocus"))?;
            conn.discard_reply(
                seq,
                RequestKind::HasResponse,
                DiscardMode::DiscardReplyAndError,
            );
            self.stats.requests += 1;
        }
        self.shown.record(first_seq, clip);
        if front.reads_later() && !over_wire {
            front.uploaded(conn, last_seq, rects)?;
        }
        self.show_or_present()?;
        self.stats.flushes += 1;
        self.canvas.buffers.flushed(area, image_area);
        self.pace.flushed()?;
        self.conn.flush().map_err(Error::conn("flush"))?;
        Ok(())
    }

    /// Whether a flush from shared memory could go over the wire instead: the
    /// transport was not forced, the pixels are the server's (no conversion), and go
    /// straight to the window (no present, no server-side copy, which read the memory
    /// or need it whole). Not under a compositor: its repaints make a trial's blocks
    /// 50 ms long, so a trial of the wire costs tenths of a second of frames, and
    /// there the wire measured 1.08x faster in one run and 1.4x slower in another.
    pub(super) fn can_upload_over_wire(&self) -> bool {
        !self.composited
            && !self.transports.forced()
            && self.presenter.is_none()
            && self.server_copy.is_none()
            && self.canvas.conversion.is_none()
    }

    /// After uploading the scratch clip into the server-side copy, if there is one:
    /// presents it where presenting (filled), else copies the scratch rects onto the
    /// window.
    fn show_or_present(&mut self) -> Result<(), Error> {
        if let (Some(presenter), Some(copy)) = (&mut self.presenter, &mut self.server_copy) {
            let clip = &self.scratch.clip;
            match presenter.present_filled(copy.pixmap.id(), clip, &mut self.stats) {
                Ok(done) => {
                    copy.presenting = Some(done);
                    return Ok(());
                }
                Err(e) if e.is_connection_lost() => return Err(e),
                Err(e) => {
                    log::warn!("presenting failed ({e}); flushes upload at once from now");
                    self.presenter = None;
                }
            }
        }
        self.show_from_copy()
    }

    /// Copies the scratch rects from the server-side copy onto the window, if there is
    /// one.
    pub(super) fn show_from_copy(&mut self) -> Result<(), Error> {
        let Some(copy) = &self.server_copy else {
            return Ok(());
        };
        let rects = &self.scratch.rects;
        let errors = self.request_errors();
        copy.show(&*self.conn, self.window, self.gcs.quiet.id(), rects, errors)?;
        self.stats.requests += rects.len() as u64;
        Ok(())
    }
}
