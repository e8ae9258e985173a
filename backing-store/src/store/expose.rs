//! Expose repairs from what is retained (the server-side copy, or the image), and
//! [`Shown`]: what recent flushes put on the window, so that an Expose the server sent
//! before them is not repaired a second time.

use x11rb::connection::Connection;

use super::BackingStore;
use crate::{Error, Region};
use xbs_shm::RequestError as _;

impl<C: Connection> BackingStore<C> {
    /// Repairs `region` of the window (an Expose) from what is retained: the
    /// server-side copy if there is one (no upload), else the image. No repaint by the
    /// app is needed.
    ///
    /// Without the event's sequence number the store cannot tell which of its recent
    /// scrolls came after the damage (see [`expose_at`](Self::expose_at)), so it also
    /// repairs `region` wherever any of them may have moved it.
    pub fn expose(&mut self, region: &Region) -> Result<(), Error> {
        self.enter()?;
        let anywhere = self.history.follow_any(region);
        let result = self.expose_now(&anywhere);
        self.noted(result)
    }

    /// Repairs an Expose that the server sent with sequence number `sequence` (the full
    /// number x11rb reports with the event: `poll_for_event_with_sequence`). Like
    /// [`expose`](Self::expose), less what a flush sent after that request has
    /// repainted already: after a resize or an unmap, the server's Expose usually
    /// arrives after the app has painted and flushed the new area, and sending it a
    /// second time would double the upload. The event pump of `xbs-window` calls this
    /// on its own.
    ///
    /// The damage is repaired where it is now: a scroll the store made after that
    /// request moved the window's pixels, the unrepaired ones with the rest, so the
    /// repair follows every such scroll (the app may hand the Expose over after
    /// scrolling again, as long as it hands events over in the order it reads them).
    ///
    /// Only the store's own flushes count, and a scroll forgets them (it moves the
    /// window's pixels); anything else the app draws on the window behind the store's
    /// back (`ClearArea`, say) must be repaired with [`expose`](Self::expose).
    pub fn expose_at(&mut self, region: &Region, sequence: u64) -> Result<(), Error> {
        self.enter()?;
        let now = self.history.follow(region, sequence);
        let left = self.shown.unrepaired(&now, sequence);
        let result = self.expose_now(&left);
        self.noted(result)
    }

    fn expose_now(&mut self, region: &Region) -> Result<(), Error> {
        if self.server_copy.is_none() {
            return self.flush(region);
        }
        let scratch = &mut self.scratch;
        region.intersect_rect_into(self.canvas.geometry.rect(), &mut scratch.clip);
        scratch
            .clip
            .coalesced(super::COALESCE_SLACK, &mut scratch.rects);
        self.show_from_copy()?;
        self.conn.flush().map_err(Error::conn("flush"))
    }
}

/// The regions the last [`Shown::KEPT`] flushes sent, each with (a lower bound of) the
/// sequence number of its first request. An Expose the server sent before that request
/// was processed is repaired there already. The regions' memory is reused.
#[derive(Default)]
pub(crate) struct Shown {
    recent: [(u64, Region); Shown::KEPT],
    next: usize,
}

impl Shown {
    const KEPT: usize = 4;

    pub(crate) fn record(&mut self, first_seq: u64, region: &Region) {
        let slot = &mut self.recent[self.next];
        slot.0 = first_seq;
        slot.1.clone_from(region);
        self.next = (self.next + 1) % Self::KEPT;
    }

    /// Sequence 0 is never sent (numbering starts at 1), so nothing is newer than it.
    pub(crate) fn forget(&mut self) {
        for slot in &mut self.recent {
            slot.0 = 0;
        }
    }

    /// `region` less what flushes sent wholly after request `sequence` showed.
    pub(crate) fn unrepaired(&self, region: &Region, sequence: u64) -> Region {
        let mut left = region.clone();
        for (first, shown) in &self.recent {
            if *first > sequence && !left.is_empty() && left.intersects(shown) {
                left = left.subtract(shown);
            }
        }
        left
    }
}
