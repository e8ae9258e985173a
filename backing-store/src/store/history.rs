//! The scroll history: each scroll the store made on the window itself (`CopyArea` of
//! the window onto itself), remembered until the exposure events that predate it can
//! no longer arrive, so that a repair lands where the damage is *now*.
//!
//! For future readers, the corner of the protocol this handles. A pixel the window
//! shows wrongly (an Expose not repaired yet, or a GraphicsExposure: a part a scroll
//! could not copy because its source was covered) is moved by every later scroll like
//! any other pixel: a scroll that moves `dst` from `src = dst - (dx, dy)` turns a
//! wrong set `W` into `(W − dst) ∪ ((W ∩ src) + (dx, dy))`. An exposure event names
//! where the damage was when the server made it: for an Expose, after our request
//! with its sequence number; for a GraphicsExposure, after the scroll that made it.
//! The repair must follow it through every scroll since.
//!
//! When can no more events predating a scroll arrive? The server sends the events in
//! the order it makes them, and every scroll's last `CopyArea` ends with a NoExposure
//! or a GraphicsExposure of count 0. Once the app hands that over, it has handed over
//! every event made before it (the app hands events over in the order it reads them,
//! however late). Then the record goes. An app that never hands events over would make
//! the history grow without end; past [`CAP`] records the oldest go into one
//! *overflow*: the union of their areas, which a repair of an event older than them
//! adds whole (a scroll moves pixels only inside its area), so it stays correct, only
//! larger.
//!
//! With a server-side copy nothing is recorded: a scroll moves the copy and shows the
//! moved part from it, so wrong pixels on the window do not travel.

use std::collections::VecDeque;

use crate::Region;

/// Most scrolls remembered before the oldest merge into the overflow.
pub(crate) const CAP: usize = 64;

/// Most rects the overflow's area keeps before it is replaced by its bounds.
const OVERFLOW_RECTS: usize = 64;

/// One scroll: its copies' sequence numbers, and what it moved.
#[derive(Debug)]
struct Record {
    /// Sequence numbers of the scroll's first and last `CopyArea`.
    first: u64,
    last: u64,
    /// The pixels the scroll wrote; they came from `dst - (dx, dy)`.
    dst: Region,
    dx: i32,
    dy: i32,
    /// The last copy's NoExposure (or last GraphicsExposure) was handed over.
    done: bool,
}

impl Record {
    /// Where the wrong pixels `w` are after this scroll.
    fn apply(&self, w: &Region) -> Region {
        let src = self.dst.translate(-self.dx, -self.dy);
        let moved = w.intersect(&src).translate(self.dx, self.dy);
        w.subtract(&self.dst).union(&moved)
    }

    /// Every pixel this scroll may have moved from or to.
    fn area(&self) -> Region {
        self.dst.union(&self.dst.translate(-self.dx, -self.dy))
    }
}

/// Scrolls that merged into one record past [`CAP`].
#[derive(Debug)]
struct Overflow {
    /// The last copy of the newest of them.
    last: u64,
    area: Region,
}

/// The scrolls whose exposure events may still arrive. See the module docs.
#[derive(Debug, Default)]
pub(crate) struct History {
    /// Oldest first.
    records: VecDeque<Record>,
    /// Regions of records that went, for the next ones (no allocation when steady).
    free: Vec<Region>,
    overflow: Option<Overflow>,
}

impl History {
    /// Remembers a scroll that moved `dst` from `dst - (dx, dy)` with the copies
    /// `first..=last`.
    pub(crate) fn record(&mut self, first: u64, last: u64, dst: &Region, dx: i32, dy: i32) {
        if self.records.len() >= CAP {
            self.evict();
        }
        let mut region = self.free.pop().unwrap_or_default();
        region.clone_from(dst);
        if self.records.capacity() == 0 {
            self.records.reserve_exact(CAP);
        }
        self.records.push_back(Record {
            first,
            last,
            dst: region,
            dx,
            dy,
            done: false,
        });
    }

    /// The oldest record merges into the overflow.
    fn evict(&mut self) {
        let Some(old) = self.records.pop_front() else {
            return;
        };
        if self.overflow.is_none() {
            log::debug!(
                "{CAP} scrolls without their exposure events handed over; older ones \
                 are repaired by their areas"
            );
        }
        let area = old.area();
        let merged = match self.overflow.take() {
            Some(o) => Overflow {
                last: o.last.max(old.last),
                area: o.area.union(&area),
            },
            None => Overflow {
                last: old.last,
                area,
            },
        };
        let area = if merged.area.len() > OVERFLOW_RECTS {
            Region::from(merged.area.bounds())
        } else {
            merged.area
        };
        self.overflow = Some(Overflow {
            last: merged.last,
            area,
        });
        self.free.push(old.dst);
    }

    /// Scrolls remembered now.
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// The last event for the copy with sequence `seq` was handed over (its NoExposure,
    /// or its GraphicsExposure of count 0). After a scroll's last copy, no event older
    /// than the scroll can arrive any more: the scroll, and those before it whose events
    /// are done too, are forgotten.
    pub(crate) fn exposures_done(&mut self, seq: u64) {
        if let Some(r) = self.records.iter_mut().find(|r| r.last == seq) {
            r.done = true;
        }
        if self.overflow.as_ref().is_some_and(|o| o.last <= seq) {
            self.overflow = None;
        }
        while self.records.front().is_some_and(|r| r.done) {
            if let Some(r) = self.records.pop_front() {
                self.free.push(r.dst);
            }
        }
    }

    /// The sequence number after which a GraphicsExposure of the copy `seq` names its
    /// damage: the end of that copy's scroll (its later copies neither read nor write
    /// the pixels an earlier one wrote).
    pub(crate) fn end_of_scroll(&self, seq: u64) -> u64 {
        self.records
            .iter()
            .find(|r| (r.first..=r.last).contains(&seq))
            .map_or(seq, |r| r.last)
    }

    /// The full sequence number of one of the recorded copies whose low 16 bits are
    /// `low` (the most recent such one), as events carry them.
    pub(crate) fn copy_with_low_bits(&self, low: u16) -> Option<u64> {
        self.records.iter().rev().find_map(|r| {
            // The copies of a scroll are a few consecutive requests.
            (r.first..=r.last).rev().find(|s| *s as u16 == low)
        })
    }

    /// Where `region`, wrong on the window after request `after`, is now: moved by
    /// every scroll since. A scroll whose copies straddle `after` (another client's
    /// request came between them) may or may not have moved it: both are repaired.
    pub(crate) fn follow(&self, region: &Region, after: u64) -> Region {
        let mut w = region.clone();
        if self.records.is_empty() && self.overflow.is_none() {
            return w;
        }
        if let Some(o) = self.overflow.as_ref().filter(|o| after < o.last) {
            w = w.union(&o.area);
        }
        for r in self.records.iter().filter(|r| r.last > after) {
            let moved = r.apply(&w);
            w = if r.first > after {
                moved
            } else {
                w.union(&moved)
            };
        }
        w
    }

    /// Where `region`, wrong on the window since an unknown request, may be now:
    /// wherever [`History::follow`] would put it for any place in the history.
    pub(crate) fn follow_any(&self, region: &Region) -> Region {
        let mut w = region.clone();
        if let Some(o) = &self.overflow {
            w = w.union(&o.area);
        }
        for r in &self.records {
            w = r.apply(&w).union(region);
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rect;

    fn rect(x: i32, y: i32, w: u32, h: u32) -> Region {
        Region::from(Rect::new(x, y, w, h))
    }

    /// A scroll of the 100×100 window up by `dy` (negative): it writes rows
    /// 0..100+dy from rows -dy..100.
    fn up(h: &mut History, first: u64, dy: i32) {
        h.record(first, first, &rect(0, 0, 100, (100 + dy) as u32), 0, dy);
    }

    #[test]
    fn damage_follows_every_later_scroll() {
        let mut h = History::default();
        up(&mut h, 10, -30);
        up(&mut h, 20, -30);
        let damage = rect(0, 70, 100, 10);
        // Made after both: where it is.
        assert_eq!(h.follow(&damage, 25), damage);
        // Made between the two: moved up 30 by the second, and the rows it left stay.
        assert_eq!(h.follow(&damage, 15), rect(0, 40, 100, 10).union(&damage));
        // Made before both: moved up twice, and left behind by each.
        let both = h.follow(&damage, 5);
        assert!(both.contains(0, 10) && both.contains(0, 40) && both.contains(0, 75));
        assert!(!both.contains(0, 0) && !both.contains(0, 25) && !both.contains(0, 60));
        // A GraphicsExposure of the first scroll's copy names its damage after it.
        assert_eq!(h.end_of_scroll(10), 10);
        assert_eq!(
            h.follow(&damage, h.end_of_scroll(10)),
            h.follow(&damage, 15)
        );
        // Not knowing when: every place it may be.
        let any = h.follow_any(&damage);
        for p in [10, 40, 75] {
            assert!(any.contains(0, p), "row {p}");
        }
    }

    #[test]
    fn a_scroll_goes_once_its_events_and_those_before_are_handed_over() {
        let mut h = History::default();
        up(&mut h, 10, -30);
        up(&mut h, 20, -30);
        h.exposures_done(20);
        assert_eq!(h.len(), 2, "the first scroll's events are still to come");
        h.exposures_done(10);
        assert_eq!(h.len(), 0);
        assert_eq!(h.follow(&rect(0, 0, 5, 5), 0), rect(0, 0, 5, 5));
        assert_eq!(h.copy_with_low_bits(10), None);
    }

    #[test]
    fn past_the_cap_old_scrolls_repair_their_whole_area() {
        let mut h = History::default();
        for i in 0..(CAP as u64 + 10) {
            // Scrolls of a 20-row band somewhere down the window.
            let y = (i % 5) as i32 * 20;
            h.record(100 + i, 100 + i, &rect(0, y, 100, 19), 0, 1);
        }
        assert_eq!(h.len(), CAP, "memory stays bounded");
        // An event older than every scroll repairs all the evicted areas too.
        let old = h.follow(&rect(0, 0, 1, 1), 50);
        for y in [0, 25, 45, 65, 85] {
            assert!(old.contains(50, y), "row {y}");
        }
        // Once the evicted scrolls' events are in, the overflow goes.
        h.exposures_done(109);
        let new = h.follow(&rect(0, 0, 1, 1), 50);
        assert!(new.area() < old.area(), "{new:?}");
        assert_eq!(h.copy_with_low_bits(110), Some(110));
        assert_eq!(h.copy_with_low_bits(((1u64 << 16) + 110) as u16), Some(110));
    }
}
