//! [`Rects`]: a short list of rects standing for a set of pixels, bounded in size.

use crate::{Rect, Region};

/// Whether `outer` holds every pixel of `inner`.
fn contains(outer: &Rect, inner: &Rect) -> bool {
    let end = |at: i32, len: u32| i64::from(at) + i64::from(len);
    inner.is_empty()
        || (outer.x <= inner.x
            && outer.y <= inner.y
            && end(outer.x, outer.width) >= end(inner.x, inner.width)
            && end(outer.y, outer.height) >= end(inner.y, inner.height))
}

/// A short list of rects standing for a set of pixels it may overstate, never
/// understate: past [`Rects::MAX`] it collapses to its bounding box, so keeping it
/// allocates nothing in a steady state. Used for the pixels the server may still be
/// reading (more waits, never fewer) and for those a spare buffer lacks (more copying,
/// never less).
#[derive(Default)]
pub(crate) struct Rects {
    rects: Vec<Rect>,
}

impl Rects {
    const MAX: usize = 64;

    pub(crate) fn add(&mut self, rects: &[Rect]) {
        if let [r] = rects {
            // The common repeat (a paint of the same rect, a part of a rect already
            // here) adds nothing, and would count twice in what a switch copies.
            if self.rects.iter().any(|have| contains(have, r)) {
                return;
            }
        }
        if self.rects.len() + rects.len() > Self::MAX {
            let all = self
                .rects
                .iter()
                .chain(rects)
                .fold(Rect::default(), |acc, r| acc.union_bounds(r));
            self.rects.clear();
            self.rects.push(all);
        } else {
            self.rects.extend(rects.iter().filter(|r| !r.is_empty()));
        }
    }

    /// Adds the rects of an iterator, one at a time (no scratch needed).
    pub(crate) fn extend(&mut self, rects: impl Iterator<Item = Rect>) {
        for r in rects {
            self.add(&[r]);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.rects.clear();
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rects.is_empty()
    }

    pub(crate) fn as_slice(&self) -> &[Rect] {
        &self.rects
    }

    pub(crate) fn overlaps_rect(&self, r: &Rect) -> bool {
        self.rects.iter().any(|b| b.intersects(r))
    }

    pub(crate) fn overlaps(&self, region: &Region) -> bool {
        !self.is_empty() && region.rects().any(|r| self.overlaps_rect(&r))
    }
}
