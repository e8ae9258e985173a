//! One image memory and what the server may still be reading of it (SECURITY.md S13).
//!
//! A flush hands the server rects of the memory to read later (shm); until it has, they
//! are *busy* and must not be painted over. The server says it is done in two ways: the
//! `ShmCompletion` of the last upload (when the app hands the store its events), or the
//! reply to a marker request sent right behind the upload (which a wait reads).

use std::sync::Arc;

use x11rb::connection::{Connection, DiscardMode, RequestKind, SequenceNumber};
use x11rb::protocol::shm::CompletionEvent;
use x11rb::protocol::xproto::ConnectionExt as _;

use crate::rects::Rects;
use crate::store::Pending;
use crate::transport::Memory;
use crate::{request, Error, Rect};
use xbs_shm::RequestError as _;

/// Image memory, and the pixels of it the server may still be reading.
pub(crate) struct Buffer<C: Connection> {
    pub(crate) memory: Memory<C>,
    /// Rects the server may still be reading from shared memory (S13).
    pub(crate) busy: Rects,
    /// Sequence number (low 16 bits) of the last `ShmPutImage` from this memory that
    /// asked for completion.
    completion_seq: Option<u16>,
    /// The `GetInputFocus` sent after the last flush from this memory, whose reply is
    /// not read yet.
    marker: Marker<C>,
    /// The last present of this memory (Present reads it at the vblank, not when it
    /// reads the request), while its idle fence may not have triggered.
    presenting: Option<Pending>,
    /// The store's flush count when this memory last stopped being the front (its
    /// pixels are the image as of then), `None` if it never was.
    pub(crate) held: Option<u64>,
}

impl<C: Connection> Buffer<C> {
    pub(crate) fn new(memory: Memory<C>, conn: &Arc<C>) -> Self {
        Buffer {
            memory,
            busy: Rects::default(),
            completion_seq: None,
            marker: Marker::new(conn),
            presenting: None,
            held: None,
        }
    }

    /// True when the server reads this memory after an upload returns (shm).
    pub(crate) fn reads_later(&self) -> bool {
        self.memory.reads_later()
    }

    /// Whether the server may still be reading pixels of `region`.
    pub(crate) fn busy_in(&self, region: &crate::Region) -> bool {
        self.reads_later() && self.busy.overlaps(region)
    }

    /// Blocks until the server has read everything uploaded from this memory: the
    /// reply to the marker sent after the last flush (usually here already), or else
    /// one round trip.
    pub(crate) fn wait(&mut self, conn: &C) -> Result<(), Error> {
        if let Some(pending) = self.presenting.take() {
            pending.wait(conn)?;
            self.marker.discard();
            self.busy.clear();
            self.completion_seq = None;
            return Ok(());
        }
        if let Some(seq) = self.marker.seq.take() {
            conn.wait_for_reply(seq)
                .map_err(Error::conn("GetInputFocus"))?;
        } else {
            conn.get_input_focus()
                .map_err(Error::conn("GetInputFocus"))?
                .reply()
                .map_err(Error::reply("GetInputFocus"))?;
        }
        self.busy.clear();
        self.completion_seq = None;
        Ok(())
    }

    /// Records an upload whose last request had sequence number `last_seq`, covering
    /// `rects`, and sends the marker request right behind it: its reply says the
    /// server has read them, so a later paint that must wait finds it (nearly) arrived
    /// instead of starting a round trip then.
    pub(crate) fn uploaded(
        &mut self,
        conn: &C,
        last_seq: u64,
        rects: &[Rect],
    ) -> Result<(), Error> {
        // Events carry the low 16 bits of the sequence number of their request.
        self.completion_seq = Some(last_seq as u16);
        self.busy.add(rects);
        self.marker.discard();
        // The reply is kept for `wait` or discarded by `Marker`.
        let seq = request::get_input_focus(conn).map_err(Error::conn("GetInputFocus"))?;
        self.marker.seq = Some(seq);
        Ok(())
    }

    /// Records a present of this memory: all of `image` may be read (a flip shows the
    /// whole pixmap) until it is done.
    pub(crate) fn presented(&mut self, pending: Pending, image: Rect) {
        self.busy.clear();
        self.busy.add(&[image]);
        self.presenting = Some(pending);
        self.completion_seq = None;
        self.marker.discard();
    }

    /// The server said the present with idle fence `fence` no longer reads this
    /// memory: free, the fence reset for the next present (no round trip).
    pub(crate) fn idle(&mut self, conn: &C, fence: u32, serial: u32) {
        if self
            .presenting
            .is_some_and(|p| p.idle_by(conn, fence, serial))
        {
            self.presenting = None;
            self.busy.clear();
        }
    }

    /// Whether a present of this memory may still be in flight.
    pub(crate) fn presenting(&self) -> bool {
        self.presenting.is_some()
    }

    /// Takes a `ShmCompletion` for this memory's segment (returns false for another
    /// segment's). The last upload's completion frees every busy pixel.
    pub(crate) fn completed(&mut self, e: &CompletionEvent) -> bool {
        if Some(e.shmseg) != self.memory.segment() {
            return false;
        }
        if self.completion_seq == Some(e.sequence) {
            self.busy.clear();
            self.completion_seq = None;
            self.marker.discard();
        }
        true
    }
}

/// A request whose reply marks "the server has read everything sent before it". Its
/// reply is either waited for or discarded, never left in the connection.
pub(crate) struct Marker<C: Connection> {
    conn: Arc<C>,
    pub(crate) seq: Option<SequenceNumber>,
}

impl<C: Connection> Marker<C> {
    pub(crate) fn new(conn: &Arc<C>) -> Self {
        Marker {
            conn: conn.clone(),
            seq: None,
        }
    }

    /// Sends a new marker, after waiting for the last one's reply if any.
    pub(crate) fn renew(&mut self) -> Result<(), Error> {
        if let Some(seq) = self.seq.take() {
            self.conn
                .wait_for_reply(seq)
                .map_err(Error::conn("GetInputFocus"))?;
        }
        let seq = request::get_input_focus(&*self.conn).map_err(Error::conn("GetInputFocus"))?;
        self.seq = Some(seq);
        Ok(())
    }

    pub(crate) fn discard(&mut self) {
        if let Some(seq) = self.seq.take() {
            self.conn.discard_reply(
                seq,
                RequestKind::HasResponse,
                DiscardMode::DiscardReplyAndError,
            );
        }
    }
}

impl<C: Connection> Drop for Marker<C> {
    fn drop(&mut self) {
        self.discard();
    }
}
