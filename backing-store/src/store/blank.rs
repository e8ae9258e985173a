//! [`Blank`]: the pixels a resize added, which read as black but are zeroed only when
//! something reads them first.
//!
//! A toolkit repaints a grown window anyway; zeroing the new pixels at the resize would
//! write each of them twice. So they are zeroed when first painted ([`begin_paint`]),
//! flushed or scrolled, and never when repainted ([`begin_repaint`] writes them all).
//!
//! [`begin_paint`]: crate::BackingStore::begin_paint
//! [`begin_repaint`]: crate::BackingStore::begin_repaint

use crate::{Rect, Region};

/// The pixels of the image that read as black and are not zeroed yet.
#[derive(Default)]
pub(crate) struct Blank {
    region: Region,
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
            self.region = self.region.subtract(region);
        }
    }

    /// After a resize to `size` that kept the `kept` block: what was blank there still
    /// is, and everything outside it is.
    pub(crate) fn resized(&mut self, kept: Rect, size: Rect) {
        let added = Region::from(size).subtract(&Region::from(kept));
        self.region = self.region.intersect_rect(kept).union(&added);
    }
}
