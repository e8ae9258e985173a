//! [`Blank`]: the pixels a resize added, which read as black but are zeroed only when
//! something reads them first.
//!
//! A toolkit repaints a grown window anyway; zeroing the new pixels at the resize would
//! write each of them twice. So they are zeroed when first painted ([`begin_paint`]),
//! flushed or scrolled, and never when repainted ([`begin_repaint`] writes them all).
//!
//! [`begin_paint`]: crate::BackingStore::begin_paint
//! [`begin_repaint`]: crate::BackingStore::begin_repaint

use crate::region::Scratch;
use crate::{Rect, Region};

/// The pixels of the image that read as black and are not zeroed yet.
///
/// Its working regions keep their memory, so a resize storm allocates nothing here
/// once they have grown.
#[derive(Default)]
pub(crate) struct Blank {
    region: Region,
    spare: [Region; 2],
    scratch: Scratch,
}

impl Blank {
    pub(crate) fn is_empty(&self) -> bool {
        self.region.is_empty()
    }

    /// The part of `region` that must be zeroed now, if any; it is no longer blank.
    pub(crate) fn take(&mut self, region: &Region) -> Option<Region> {
        if self.region.is_empty() || !self.region.intersects(region) {
            return None;
        }
        let zero = self.region.intersect(region);
        self.forget(region);
        Some(zero)
    }

    /// The app writes every pixel of `region`: none of it needs zeroing any more.
    pub(crate) fn forget(&mut self, region: &Region) {
        if !self.region.is_empty() && self.region.intersects(region) {
            let out = &mut self.spare[0];
            self.region.subtract_into(region, out, &mut self.scratch);
            std::mem::swap(&mut self.region, out);
        }
    }

    /// After a resize to `size` that kept the `kept` block: what was blank there still
    /// is, and everything outside it is.
    pub(crate) fn resized(&mut self, kept: Rect, size: Rect) {
        // (blank ∩ kept) ∪ (size − kept) is size − (kept − blank), as kept ⊆ size: two
        // subtractions in kept memory.
        let [a, b] = &mut self.spare;
        a.set_rect(kept);
        a.subtract_into(&self.region, b, &mut self.scratch);
        a.set_rect(size);
        a.subtract_into(b, &mut self.region, &mut self.scratch);
    }
}
