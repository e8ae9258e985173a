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
/// understate: past [`Rects::MAX`] a rect joins the one whose bounding box grows least
/// by it, so keeping it allocates nothing in a steady state and scattered damage
/// stays scattered (a frame's sixteen sprites, four frames running, are not the whole
/// window). Used for the pixels the server may still be reading (more waits, never
/// fewer) and for those a spare buffer lacks (more copying, never less).
#[derive(Default)]
pub(crate) struct Rects {
    rects: Vec<Rect>,
}

impl Rects {
    pub(crate) const MAX: usize = 64;

    pub(crate) fn add(&mut self, rects: &[Rect]) {
        for r in rects.iter().filter(|r| !r.is_empty()) {
            // The common repeat (a paint of the same rect, a part of a rect already
            // here) adds nothing, and would count twice in what a switch copies.
            if self.rects.iter().any(|have| contains(have, r)) {
                continue;
            }
            if self.rects.len() < Self::MAX {
                self.rects.push(*r);
                continue;
            }
            let growth = |have: &Rect| have.union_bounds(r).area() - have.area();
            if let Some(nearest) = self.rects.iter_mut().min_by_key(|have| growth(have)) {
                *nearest = nearest.union_bounds(r);
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn covers(rects: &Rects, r: &Rect) -> bool {
        Region::from(*r)
            .subtract(&Region::from_rects(rects.as_slice().iter().copied()))
            .is_empty()
    }

    #[test]
    fn scattered_damage_stays_scattered_past_the_limit() {
        // Five frames of 16 sprites moving a few pixels a frame: 80 rects, more than
        // MAX. The old rule made that the bounds (most of the window); merged
        // neighbour by neighbour it is about the sprites' trails.
        let mut rects = Rects::default();
        let mut painted = Vec::new();
        for n in 0..5u32 {
            for i in 0..16u32 {
                let r = Rect::new(
                    ((i * 113 + n * 7) % 1856) as i32,
                    ((i * 71 + n * 5) % 1016) as i32,
                    64,
                    64,
                );
                rects.add(&[r]);
                painted.push(r);
            }
        }
        assert!(rects.as_slice().len() <= Rects::MAX);
        assert!(painted.iter().all(|r| covers(&rects, r)));
        let area = Region::from_rects(rects.as_slice().iter().copied()).area();
        assert!(area < 16 * 100 * 100, "{area} pixels for 16 trails");
    }

    proptest! {
        #[test]
        fn it_never_forgets_a_pixel(
            added in proptest::collection::vec((0i32..500, 0i32..500, 0u32..60, 0u32..60), 0..200),
        ) {
            let mut rects = Rects::default();
            for &(x, y, w, h) in &added {
                rects.add(&[Rect::new(x, y, w, h)]);
            }
            prop_assert!(rects.as_slice().len() <= Rects::MAX);
            for &(x, y, w, h) in &added {
                prop_assert!(covers(&rects, &Rect::new(x, y, w, h)));
            }
        }
    }
}
