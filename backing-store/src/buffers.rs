//! The store's image memory: the buffer the app paints into (the *front*) and, once a
//! paint has overlapped pixels the server was still reading, a second one (the
//! *spare*) to paint into instead of waiting, with the rule that decides between
//! switching and waiting.
//!
//! Invariant: the spare holds the image except for the `stale` rects, which changed in
//! the front since the spare was last the front; a switch copies exactly those (less
//! what a repaint is about to overwrite) before lending the spare. When the store
//! converts pixels on upload, the buffers are only staging memory that each flush
//! rewrites, and nothing is copied.

use std::sync::Arc;
use std::time::{Duration, Instant};

use x11rb::connection::Connection;
use x11rb::protocol::shm::CompletionEvent;

use crate::buffer::Buffer;
use crate::geometry::Geometry;
use crate::rects::Rects;
use crate::switching::{
    Choice, Chooser, Copying, Upload, COMPOSITED_BLOCK, COMPOSITED_SETTLED, UPLOAD_SETTLED,
};
use crate::transport::{Memory, Transport};
use crate::{pixels, Error, Rect, Region};

/// What the buffers did, for [`crate::Stats`].
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counts {
    pub(crate) waits: u64,
    pub(crate) wait_time: Duration,
    pub(crate) switches: u64,
    /// Second buffers made.
    pub(crate) spares: u64,
}

pub(crate) struct Buffers<C: Connection> {
    front: Buffer<C>,
    spare: Option<Buffer<C>>,
    /// Pixels the spare lacks: what changed in the front since the last switch.
    stale: Rects,
    /// Whether the buffers hold the app's image (false: staging for conversion).
    retains: bool,
    /// Whether a second buffer is refused: by the options, or by the server once.
    single: bool,
    /// Pixels painted by the paints that waited, rather than switch and copy more than
    /// they paint, since the last switch (see [`Buffers::switch`]).
    credit: u64,
    /// Whether a paint over pixels in flight switches or waits, by measured frame time.
    chooser: Chooser,
    /// Contended paints switch or wait as the chooser measures (else they switch where
    /// the copy rule allows).
    measured: bool,
    /// Whether a switching repaint copies whole the stale rects it covers in part, by
    /// measured frame time; and whether the last switch had such a rect (only then
    /// do the two differ).
    copying: Chooser<Copying>,
    partial: bool,
    /// Whether small flushes go over the wire rather than through shared memory, by
    /// measured frame time; whether the store can send them so now (shared memory,
    /// its pixels the server's, no present or server-side copy: see the store's
    /// flush); and whether the last flush was small (only then do the two differ).
    upload: Chooser<Upload>,
    pub(crate) wire_ok: bool,
    small_flush: bool,
    /// Whether the last flush sent most of the image (see [`Buffers::make_writable`]).
    large_flush: bool,
    conn: Arc<C>,
    counts: Counts,
    /// How the server attaches the segments made here (the front's own).
    access: xbs_shm::Access,
    /// Presenting: a wait lasts until a vblank, far longer than any copy, so a paint
    /// over pixels in flight always switches (when the other buffer is free).
    pub(crate) switch_always: bool,
    /// Flushes so far (see [`Buffers::flushed`]).
    flushes: u64,
    /// How many flushes ago the pixels the last paint was lent held the image (see
    /// [`crate::Frame::age`]).
    lent_age: u32,
}

impl<C: Connection> Buffers<C> {
    /// One buffer over `memory`; `retains` when the app paints into it (not staging),
    /// `single` to never make a second one.
    pub(crate) fn new(
        memory: Memory<C>,
        conn: &Arc<C>,
        retains: bool,
        single: bool,
        access: xbs_shm::Access,
    ) -> Self {
        Buffers {
            access,
            switch_always: false,
            front: Buffer::new(memory, conn),
            spare: None,
            stale: Rects::default(),
            retains,
            single,
            credit: 0,
            chooser: Chooser::new(),
            measured: true,
            copying: Chooser::leaning([Copying::Whole, Copying::Cut]),
            partial: false,
            upload: Chooser::leaning([Upload::Shm, Upload::Wire])
                .timed(Duration::ZERO, UPLOAD_SETTLED),
            wire_ok: false,
            small_flush: false,
            large_flush: false,
            conn: conn.clone(),
            counts: Counts::default(),
            flushes: 0,
            lent_age: 1,
        }
    }

    /// Makes contended paints wait unless switching is measured clearly faster: where
    /// a compositor reads the window (`switching.rs`).
    pub(crate) fn lean_towards_waiting(&mut self) {
        self.chooser = Chooser::under_compositor();
        // Blocks that hold the compositor's repaints, as the chooser's do (the store
        // sends nothing over the wire from shared memory there).
        self.copying = Chooser::leaning([Copying::Whole, Copying::Cut])
            .timed(COMPOSITED_BLOCK, COMPOSITED_SETTLED);
    }

    /// Makes contended paints switch wherever the copy rule allows, measuring nothing
    /// ([`crate::Busy::Switch`]).
    pub(crate) fn switch_by_rule(&mut self) {
        self.measured = false;
    }

    /// Counts a flush of `area` pixels of an image of `image`: the image as the app
    /// made it so far is what the front holds.
    pub(crate) fn flushed(&mut self, area: u64, image: u64) {
        self.flushes += 1;
        self.small_flush = small(area, image);
        self.large_flush = area.saturating_mul(2) > image;
    }

    /// Whether a flush of `area` pixels of an image of `image` goes over the wire now
    /// (the front is shared memory): small flushes do where that measured faster.
    pub(crate) fn uploads_over_wire(&self, area: u64, image: u64) -> bool {
        self.prefers_wire() && small(area, image)
    }

    /// Whether small flushes go over the wire now, having measured that faster.
    pub(crate) fn prefers_wire(&self) -> bool {
        self.wire_ok && self.front.reads_later() && self.upload.choice() == Upload::Wire
    }

    /// How many flushes ago the pixels lent by the last [`Buffers::make_writable`]
    /// held the image in its region: 1 (the image as last flushed), more where a
    /// repaint switched to the other buffer without copying what the app overwrites,
    /// 0 where that buffer never held the image.
    pub(crate) fn lent_age(&self) -> u32 {
        self.lent_age
    }

    pub(crate) fn front(&self) -> &Buffer<C> {
        &self.front
    }

    pub(crate) fn front_mut(&mut self) -> &mut Buffer<C> {
        &mut self.front
    }

    pub(crate) fn transport(&self) -> Transport {
        self.front.memory.transport()
    }

    pub(crate) fn counts(&self) -> Counts {
        self.counts
    }

    /// Whether paints over pixels in flight wait now, having measured that waiting
    /// gives shorter frames than switching (`switching.rs`).
    pub(crate) fn prefers_waiting(&self) -> bool {
        self.chooses() && self.chooser.waits()
    }

    /// Whether switching repaints cut out all they write, having measured that faster
    /// than copying small rects whole (`switching.rs`, [`Copying`]).
    pub(crate) fn repaints_cut(&self) -> bool {
        self.copying.choice() == Copying::Cut
    }

    /// Whether contended paints switch or wait as the chooser measures: only with two
    /// buffers allowed, nothing forcing a switch, and memory the server reads later.
    fn chooses(&self) -> bool {
        !self.single && !self.switch_always && self.measured && self.front.reads_later()
    }

    /// The shared segments of the buffers.
    pub(crate) fn segments(&self) -> Vec<u32> {
        [Some(&self.front), self.spare.as_ref()]
            .into_iter()
            .flatten()
            .filter_map(|b| b.memory.segment())
            .collect()
    }

    /// Shared segments held: 0 on put-image, else 1 or 2.
    pub(crate) fn segments_alive(&self) -> usize {
        [Some(&self.front), self.spare.as_ref()]
            .into_iter()
            .flatten()
            .filter(|b| matches!(b.memory, Memory::Shm(_)))
            .count()
    }

    /// Makes the pixels of `region` in the front safe for the app to write (S13): if
    /// the server may still be reading some of them, switches to the other buffer, or
    /// waits where that is refused or measured slower (`switching.rs`). With
    /// `repaint`, the app writes all of `region`.
    /// With `untracked` (a whole-image paint whose damage is told only at the flush),
    /// the copy a switch may make is budgeted at a quarter of the image a paint.
    pub(crate) fn make_writable(
        &mut self,
        region: &Region,
        repaint: bool,
        untracked: bool,
        image: &Geometry,
    ) -> Result<(), Error> {
        let contended = self.front.busy_in(region);
        self.lent_age = 1;
        // Only where the server reads the memory later is there anything to choose.
        // One trial at a time: each chooser's frames must differ by its options only.
        let choice = match self.chooses() {
            true if self.copying.trying() || (self.upload.trying() && self.wire_ok) => {
                self.chooser.choice()
            }
            true => self.chooser.paint(Instant::now, contended),
            false => Choice::Switch,
        };
        // The other two measure only where the server reads the memory later, and not
        // where vblanks pace the frames.
        let measurable = !self.switch_always && self.front.reads_later();
        // How a switch copies, measured while switching is settled (frames of a trial
        // of switching and waiting say nothing of it).
        let measure_copying = measurable
            && choice == Choice::Switch
            && !self.chooser.trying()
            && !self.upload.trying();
        let cutting = match measure_copying {
            true => self.copying.paint(Instant::now, self.partial) == Copying::Cut,
            false => {
                self.copying.interrupted();
                false
            }
        };
        // How small flushes upload, measured while the other two are settled: where
        // the last flush was small and the app paints faster than the server reads
        // (or the wire is chosen, which leaves nothing in flight to find).
        let measure_upload =
            measurable && self.wire_ok && !self.chooser.trying() && !self.copying.trying();
        match measure_upload {
            true => {
                let matters =
                    self.small_flush && (contended || self.upload.choice() == Upload::Wire);
                self.upload.paint(Instant::now, matters);
            }
            false => self.upload.interrupted(),
        }
        if !contended {
            return Ok(());
        }
        let budget = if untracked {
            image.rect().area() / 4
        } else {
            region.area()
        };
        if choice == Choice::Wait {
            // As a refused switch does: the spare's stale pixels grow by what this
            // paints, and so may the next switch's copy.
            self.credit = self.credit.saturating_add(budget);
            return self.wait_front();
        }
        // An untracked paint after a flush of most of the image (a whole-window frame,
        // a scroll) waits rather than copy most of the image: the app's copy of it
        // costs about what the server's read of it does (each streams the frame
        // through memory), so waiting is no slower (`switch`). After small flushes
        // the copy rule alone decides: a spare that lacks all of the image (new, or
        // after a resize) gets it once, and from then on only the trails.
        let most = match untracked && self.large_flush {
            true => image.rect().area() / 2,
            false => u64::MAX,
        };
        if !self.switch(region, repaint, cutting, budget, most, image)? {
            self.wait_front()?;
        }
        Ok(())
    }

    /// Makes `rects` of the staging memory safe to convert into: switches to the other
    /// buffer (nothing to copy into staging), or waits.
    pub(crate) fn make_staging_writable(
        &mut self,
        rects: &[Rect],
        image: &Geometry,
    ) -> Result<(), Error> {
        let front = &self.front;
        if front.reads_later()
            && rects.iter().any(|r| front.busy.overlaps_rect(r))
            && !self.switch(&Region::new(), false, false, 0, u64::MAX, image)?
        {
            self.wait_front()?;
        }
        Ok(())
    }

    /// Notes pixels of the app's image that changed in the front: the spare lacks them.
    pub(crate) fn changed(&mut self, rects: impl Iterator<Item = Rect>) {
        if self.spare.is_some() && self.retains {
            self.stale.extend(rects);
        }
    }

    /// Swaps the front with the spare (made now if there is none), after copying into
    /// the spare what changed since it was last the front, less what a repaint of
    /// `painting` overwrites (all of it with `cutting`, else see [`cut`]). Returns
    /// `false`, having done nothing, when there is no second buffer to be had, or when
    /// the copy would cost more than waiting is allowed to: more pixels than this paint
    /// writes (`painted`) plus those written by the paints that waited since the last
    /// switch. So over time a switch never copies more than
    /// the app paints: a scroll of the whole window followed by a paint of the strip
    /// that came in waits (as it did before there were two buffers) where copying the
    /// whole window each frame would cost more, while sprites moving a few pixels a
    /// frame switch and copy only their trails. Nor may it copy more than `most`
    /// pixels: a copy of a whole 1080p frame took the app 0.33 ms where waiting for
    /// the server to read it took 0.21–0.27.
    #[allow(clippy::too_many_arguments)]
    fn switch(
        &mut self,
        painting: &Region,
        repaint: bool,
        cutting: bool,
        painted: u64,
        most: u64,
        image: &Geometry,
    ) -> Result<bool, Error> {
        if !self.make_spare(image)? {
            return Ok(false);
        }
        let Some(spare) = &mut self.spare else {
            return Ok(false);
        };
        // What the spare lacks that the paint does not write: what the copy rule
        // weighs (the switch may copy a little more, see `stale_pieces`).
        let (mut copy, mut left_out) = (0, false);
        // Each stale rect's pixels the repaint covers, counted once (the set holds at
        // most `Rects::MAX`; one past them would count as uncovered, copied whole).
        let mut covered = [0; Rects::MAX];
        let stale = self.stale.as_slice();
        self.partial = false;
        if self.retains {
            for (i, &r) in stale.iter().enumerate() {
                let c = match covered.get_mut(i) {
                    Some(slot) if repaint => {
                        *slot = painting.area_within(r);
                        *slot
                    }
                    _ => 0,
                };
                copy += r.area() - c;
                left_out |= cut(r.area(), c, cutting);
                self.partial |= cut(r.area(), c, true) != cut(r.area(), c, false);
            }
        }
        if !self.switch_always && (copy > most || copy > painted.saturating_add(self.credit)) {
            self.credit = self.credit.saturating_add(painted);
            return Ok(false);
        }
        self.credit = 0;
        // A repaint's pixels the spare lacks are not all copied: the region holds the
        // image as it was when the spare was last the front.
        if left_out {
            self.lent_age = spare.held.map_or(0, |held| {
                u32::try_from(self.flushes - held + 1).unwrap_or(u32::MAX)
            });
        }
        if !spare.busy.is_empty() {
            // Its last upload went before the front's: usually read long ago, and its
            // completion handled.
            timed_wait(spare, &self.conn, &mut self.counts)?;
        }
        if self.retains {
            // Stale rects lie inside the image: every rect noted is clipped to it.
            let stride = image.stride;
            let from = self.front.memory.pixels();
            let to = spare.memory.pixels_mut();
            stale_pieces(stale, &covered, painting, cutting, |r| {
                pixels::copy(from, to, stride, r);
            });
        }
        self.stale.clear();
        self.front.held = Some(self.flushes);
        std::mem::swap(&mut self.front, spare);
        self.counts.switches += 1;
        Ok(true)
    }

    /// Makes the spare if there is none yet; whether there is one (there is not when a
    /// second buffer is refused, by the options or once by the server).
    fn make_spare(&mut self, image: &Geometry) -> Result<bool, Error> {
        if self.single {
            return Ok(false);
        }
        if self.spare.is_some() {
            return Ok(true);
        }
        let transport = self.transport();
        let len = self.front.memory.capacity();
        match Memory::create(&self.conn, transport, len, self.access) {
            Ok(memory) => {
                self.counts.spares += 1;
                self.spare = Some(Buffer::new(memory, &self.conn));
                // None of its pixels are the image's yet.
                self.stale.clear();
                self.stale.add(&[image.rect()]);
                Ok(true)
            }
            Err(e) if e.is_connection_lost() => Err(e),
            Err(e) => {
                log::warn!(
                    "no second {} buffer of {len} bytes ({e}); paints over pixels in \
                     flight will wait",
                    transport.name()
                );
                self.single = true;
                Ok(false)
            }
        }
    }

    /// Blocks until the server has read everything uploaded from the front.
    pub(crate) fn wait_front(&mut self) -> Result<(), Error> {
        timed_wait(&mut self.front, &self.conn, &mut self.counts)
    }

    /// Before a resize that re-lays the front's memory out to another stride in place:
    /// makes the front idle, since the move writes pixels the server may still be
    /// reading in the old layout. Switches to the spare where it can (making one if
    /// need be, and if it still `keep`s its memory; waiting for it if it is busy, which
    /// after a frame of the app's painting it rarely is) and returns `true`: the kept
    /// block is then to be copied out of the spare ([`Buffers::spare_pixels`]), which
    /// the server only reads. Otherwise waits for the front and returns `false`.
    pub(crate) fn idle_front_for_relayout(
        &mut self,
        keep: impl Fn(usize) -> bool,
        image: &Geometry,
    ) -> Result<bool, Error> {
        if !self.front.reads_later() || self.front.busy.is_empty() {
            return Ok(false);
        }
        let transport = self.transport();
        let fits = |b: &Buffer<C>| keep(b.memory.capacity()) && b.memory.transport() == transport;
        if self.spare.as_ref().is_some_and(|s| !fits(s)) {
            self.spare = None;
        }
        if !self.make_spare(image)? {
            self.wait_front()?;
            return Ok(false);
        }
        let Some(spare) = &mut self.spare else {
            return Ok(false);
        };
        if !spare.busy.is_empty() {
            timed_wait(spare, &self.conn, &mut self.counts)?;
        }
        std::mem::swap(&mut self.front, spare);
        self.counts.switches += 1;
        Ok(true)
    }

    /// The spare's pixels, to read (the source of a kept block after
    /// [`Buffers::idle_front_for_relayout`] switched).
    pub(crate) fn front_and_spare_pixels(&mut self) -> Option<(&mut [u8], &[u8])> {
        let spare = self.spare.as_ref()?;
        Some((self.front.memory.pixels_mut(), spare.memory.pixels()))
    }

    /// Waits until the spare's present (if any) no longer reads it.
    pub(crate) fn wait_spare_presenting(&mut self) -> Result<(), Error> {
        match self.spare.as_mut().filter(|s| s.presenting()) {
            Some(spare) => timed_wait(spare, &self.conn, &mut self.counts),
            None => Ok(()),
        }
    }

    /// Before a resize: waits until the server has read both buffers.
    pub(crate) fn wait_all(&mut self) -> Result<(), Error> {
        if self.front.reads_later() && !self.front.busy.is_empty() {
            self.wait_front()?;
        }
        if let Some(spare) = self.spare.as_mut().filter(|s| !s.busy.is_empty()) {
            timed_wait(spare, &self.conn, &mut self.counts)?;
        }
        Ok(())
    }

    /// After a resize to `image` (the front's memory replaced or re-laid out by the
    /// caller): the spare is kept while `keep` says its memory still fits (and it has
    /// the front's transport), and none of its pixels are the image's any more. Where
    /// the rows moved to another stride (`restrided`), what the server may still be
    /// reading lies elsewhere in the new layout, so a buffer with anything in flight
    /// counts all of the image as busy (it then waits, or is switched from, before
    /// any write); with the stride kept, the busy rects stay where they were.
    pub(crate) fn resized(&mut self, image: Rect, restrided: bool, keep: impl Fn(usize) -> bool) {
        let transport = self.transport();
        if let Some(spare) = &self.spare {
            let memory = &spare.memory;
            if !keep(memory.capacity()) || memory.transport() != transport {
                self.spare = None;
            }
        }
        if restrided {
            for b in [Some(&mut self.front), self.spare.as_mut()]
                .into_iter()
                .flatten()
            {
                if !b.busy.is_empty() {
                    b.busy.clear();
                    b.busy.add(&[image]);
                }
            }
        }
        self.stale.clear();
        self.stale.add(&[image]);
        if let Some(spare) = &mut self.spare {
            // Its pixels are no image of the new size.
            spare.held = None;
        }
    }

    /// A present of segment `seg` with idle fence `fence` is done (its `IdleNotify`).
    pub(crate) fn idle(&mut self, seg: u32, fence: u32, serial: u32) {
        for b in [Some(&mut self.front), self.spare.as_mut()]
            .into_iter()
            .flatten()
        {
            if b.memory.segment() == Some(seg) {
                b.idle(&self.conn, fence, serial);
            }
        }
    }

    /// Takes a `ShmCompletion` of either buffer's segment.
    pub(crate) fn completed(&mut self, e: &CompletionEvent) -> bool {
        self.front.completed(e) || self.spare.as_mut().is_some_and(|s| s.completed(e))
    }

    /// Detaches the segments, waiting for the server's answers.
    pub(crate) fn close(self) -> Result<(), Error> {
        let detached = self.front.memory.close();
        detached.and(self.spare.map_or(Ok(()), |s| s.memory.close()))
    }
}

/// Waits until the server has read `buffer`, counting the wait.
fn timed_wait<C: Connection>(
    buffer: &mut Buffer<C>,
    conn: &C,
    counts: &mut Counts,
) -> Result<(), Error> {
    let started = Instant::now();
    buffer.wait(conn)?;
    counts.waits += 1;
    counts.wait_time += started.elapsed();
    Ok(())
}

/// Whether a flush of `area` pixels of an image of `image` is small: an eighth of it
/// at most. Only such flushes may go over the wire, so that a trial of it never
/// sends whole frames through the socket (a full 1080p frame took 1.7-2.2x as long
/// as through shared memory).
fn small(area: u64, image: u64) -> bool {
    area.saturating_mul(8) <= image
}

/// The most pixels of a stale rect a repaint may cover for the switch to copy all of
/// the rect anyway (64 KiB), unless cutting is measured faster. Cut out, the copy is
/// smaller but the paint then writes lines last read on the server's core; copied
/// whole, the copy brings them to the app's first. Paired in the bench (damage-16,
/// each sprite 7 px right of and 5 below the last), cutting made `begin_repaint` 2–7%
/// slower than `begin_paint` in 8 of 10 rows with the CPUs apart and 6–12% faster
/// with them together (docs/performance.md, "Copying what a repaint covers, or
/// cutting it out"): which holds is the machine's, so the store measures it
/// ([`Copying`]), leaning to the whole copy.
const REPAINT_CUT_MIN: u64 = 16 * 1024;

/// Whether a switch leaves out the `covered` pixels of a stale rect of `area` that a
/// repaint writes: with `cutting`, any; else all of them, or more than
/// [`REPAINT_CUT_MIN`].
fn cut(area: u64, covered: u64, cutting: bool) -> bool {
    covered > 0 && (cutting || covered == area || covered > REPAINT_CUT_MIN)
}

/// Calls `piece` with rects covering what a switch copies: the `stale` rects, less
/// what of them the `painting` region covers (`covered` pixels of each) where the app
/// repaints it and [`cut`] says so.
fn stale_pieces(
    stale: &[Rect],
    covered: &[u64],
    painting: &Region,
    cutting: bool,
    mut piece: impl FnMut(Rect),
) {
    for (i, &r) in stale.iter().enumerate() {
        let covered = covered.get(i).copied().unwrap_or(0);
        match (cut(r.area(), covered, cutting), covered == r.area()) {
            (false, _) => piece(r),
            (true, true) => {}
            (true, false) => painting.rect_minus(r, &mut piece),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces_as(stale: &[Rect], painting: &[Rect], cutting: bool) -> Vec<Rect> {
        let painting = Region::from_rects(painting.iter().copied());
        let covered: Vec<u64> = stale.iter().map(|&r| painting.area_within(r)).collect();
        let mut out = Vec::new();
        stale_pieces(stale, &covered, &painting, cutting, |r| out.push(r));
        out
    }

    fn pieces(stale: &[Rect], painting: &[Rect]) -> Vec<Rect> {
        pieces_as(stale, painting, false)
    }

    #[test]
    fn a_switch_copies_a_little_more_than_a_repaint_leaves_rather_than_cut_it_out() {
        // Last frame's sprite, and this frame's 7 px right and 5 down: 3 363 of its
        // 4 096 pixels repainted, too few to cut out: all of it is copied.
        let (last, this) = (Rect::new(100, 200, 64, 64), Rect::new(107, 205, 64, 64));
        assert_eq!(pieces(&[last], &[this]), vec![last]);
        // Cutting (measured faster): only what the repaint leaves, the L of 733
        // pixels.
        let cut = pieces_as(&[last], &[this], true);
        let copied = Region::from_rects(cut.iter().copied());
        assert_eq!(copied, Region::from(last).subtract(&Region::from(this)));
        assert_eq!(cut.iter().map(Rect::area).sum::<u64>(), 4096 - 3363);
        // All of it repainted: nothing copied.
        assert_eq!(pieces(&[last], &[Rect::new(90, 190, 100, 100)]), vec![]);
        // A window of which a repaint covers 500x400: those 200 000 pixels are left
        // out, the rest copied, in pieces that hold exactly it.
        let window = Rect::new(0, 0, 1000, 800);
        let panel = Rect::new(100, 100, 500, 400);
        let got = pieces(&[window], &[panel]);
        let copied = Region::from_rects(got.iter().copied());
        assert_eq!(copied, Region::from(window).subtract(&Region::from(panel)));
        assert_eq!(got.iter().map(Rect::area).sum::<u64>(), 800_000 - 200_000);
    }
}
