//! One image memory and what the server may still be reading of it (SECURITY.md S13).
//!
//! A store holds one [`Buffer`] it paints into and, once a paint has overlapped pixels
//! the server was still reading, a second one to paint into instead of waiting.

use std::sync::Arc;

use x11rb::connection::{Connection, DiscardMode, RequestKind, SequenceNumber};
use x11rb::protocol::shm::CompletionEvent;
use x11rb::protocol::xproto::ConnectionExt as _;
use xbs_shm::Kind;

use crate::transport::shm::ShmUpload;
use crate::transport::wire::WireUpload;
use crate::transport::{request, Transport, Upload};
use crate::{Error, Rect};

/// The image memory with its transport (enum dispatch keeps `C` free of `'static`).
pub(crate) enum Memory<C: Connection> {
    Shm(ShmUpload<C>),
    Wire(WireUpload),
}

impl<C: Connection> Memory<C> {
    pub(crate) fn get(&self) -> &dyn Upload<C> {
        match self {
            Memory::Shm(m) => m,
            Memory::Wire(m) => m,
        }
    }

    pub(crate) fn get_mut(&mut self) -> &mut dyn Upload<C> {
        match self {
            Memory::Shm(m) => m,
            Memory::Wire(m) => m,
        }
    }

    pub(crate) fn create(conn: &Arc<C>, transport: Transport, len: usize) -> Result<Self, Error> {
        Ok(match transport {
            Transport::ShmFd => Memory::Shm(ShmUpload::new(conn, len, Kind::Fd)?),
            Transport::ShmSysV => Memory::Shm(ShmUpload::new(conn, len, Kind::SysV)?),
            Transport::PutImage => Memory::Wire(WireUpload::new(len)?),
        })
    }

    /// Detaches a shared segment and waits for the server's answer.
    pub(crate) fn close(self) -> Result<(), Error> {
        match self {
            Memory::Shm(m) => m.close(),
            Memory::Wire(_) => Ok(()),
        }
    }
}

/// Image memory, and the pixels of it the server may still be reading.
pub(crate) struct Buffer<C: Connection> {
    pub(crate) memory: Memory<C>,
    /// Rects the server may still be reading from shared memory (S13).
    pub(crate) busy: Rects,
    /// Sequence number (low 16 bits) of the last `ShmPutImage` from this memory that
    /// asked for completion.
    pub(crate) completion_seq: Option<u16>,
    /// The `GetInputFocus` sent after the last flush from this memory, whose reply is
    /// not read yet.
    pub(crate) marker: Marker<C>,
}

impl<C: Connection> Buffer<C> {
    pub(crate) fn new(memory: Memory<C>, conn: &Arc<C>) -> Self {
        Buffer {
            memory,
            busy: Rects::default(),
            completion_seq: None,
            marker: Marker {
                conn: conn.clone(),
                seq: None,
            },
        }
    }

    /// True when the server reads this memory after an upload returns (shm).
    pub(crate) fn reads_later(&self) -> bool {
        self.memory.get().reads_later()
    }

    /// Blocks until the server has read everything uploaded from this memory: the
    /// reply to the marker sent after the last flush (usually here already), or else
    /// one round trip.
    pub(crate) fn wait(&mut self, conn: &C) -> Result<(), Error> {
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

    /// Takes a `ShmCompletion` for this memory's segment (returns false for another
    /// segment's). The last upload's completion frees every busy pixel.
    pub(crate) fn completed(&mut self, e: &CompletionEvent) -> bool {
        if Some(e.shmseg) != self.memory.get().segment() {
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
    seq: Option<SequenceNumber>,
}

impl<C: Connection> Marker<C> {
    fn discard(&mut self) {
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

    pub(crate) fn overlaps(&self, region: &crate::Region) -> bool {
        !self.is_empty() && region.rects().any(|r| self.overlaps_rect(&r))
    }
}
