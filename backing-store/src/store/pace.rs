//! Keeping the connection read. libxcb remembers every request sent until it reads
//! the socket past it; where nobody reads (a toolkit's connection in a quiet moment, a
//! put-image store, which waits for nothing), that memory would grow by a few dozen
//! bytes a request. Every [`Pace::EVERY`] flushes the store sends a `GetInputFocus`
//! and waits for the one it sent that many flushes before: long since answered, so
//! the wait costs no round trip, and the connection is read up to it.

use x11rb::connection::Connection;

use crate::buffer::Marker;
use crate::Error;

pub(crate) struct Pace<C: Connection> {
    flushes: u32,
    marker: Marker<C>,
}

impl<C: Connection> Pace<C> {
    pub(crate) const EVERY: u32 = 256;

    pub(crate) fn new(conn: &std::sync::Arc<C>) -> Self {
        Pace {
            flushes: 0,
            marker: Marker::new(conn),
        }
    }

    /// After a flush.
    pub(crate) fn flushed(&mut self) -> Result<(), Error> {
        self.flushes += 1;
        if self.flushes < Self::EVERY {
            return Ok(());
        }
        self.flushes = 0;
        self.marker.renew()
    }
}
