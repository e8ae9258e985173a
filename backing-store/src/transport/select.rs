//! Choosing a transport, and falling back from one that fails.
//!
//! The candidates are what the server really offers ([`xbs_shm::probe`]), best first:
//! shm-fd, shm-sysv, put-image. [`crate::Options::transport`] forces one (no fallback);
//! otherwise `XBS_TRANSPORT` may name a preferred one, read here and nowhere else. A
//! candidate that fails to allocate later (ENOSPC, SHMMAX, BadAccess) is dropped with a
//! warning and the next one is tried.

use std::sync::Arc;

use x11rb::connection::Connection;
use xbs_shm::ShmCaps;

use super::{Memory, Transport};
use crate::{Error, Stats};

/// The environment variable naming a preferred transport.
pub(crate) const ENV: &str = "XBS_TRANSPORT";

/// The transports a store may still use, best first; the one in use is first.
#[derive(Clone, Debug)]
pub(crate) struct Choice {
    candidates: Vec<Transport>,
    /// The caller forced the first one: never fall back.
    forced: bool,
    /// How the server attaches the segments (read-only but for presenting).
    pub(crate) access: xbs_shm::Access,
}

impl Choice {
    /// Whether the caller forced the transport ([`crate::Options::transport`]): then
    /// every upload uses it, none goes over the wire from shared memory.
    pub(crate) fn forced(&self) -> bool {
        self.forced
    }

    /// The candidates for a server that offers `caps`: `forced` alone (or an error if
    /// the server cannot take it), else all that it offers, with the one `XBS_TRANSPORT`
    /// names first.
    pub(crate) fn new(caps: ShmCaps, forced: Option<Transport>) -> Result<Choice, Error> {
        let mut candidates = Vec::with_capacity(3);
        if caps.contains(ShmCaps::FD_PASSING) {
            candidates.push(Transport::ShmFd);
        }
        if caps.contains(ShmCaps::SYSV) {
            candidates.push(Transport::ShmSysV);
        }
        candidates.push(Transport::PutImage);
        if let Some(t) = forced {
            if !candidates.contains(&t) {
                return Err(Error::TransportUnavailable {
                    transport: t,
                    reason: format!("the server's MIT-SHM offers {caps:?}"),
                });
            }
            return Ok(Choice {
                candidates: vec![t],
                forced: true,
                access: xbs_shm::Access::ReadOnly,
            });
        }
        if let Ok(name) = std::env::var(ENV) {
            match Transport::from_name(&name) {
                Some(t) if candidates.contains(&t) => {
                    candidates.retain(|&c| c != t);
                    candidates.insert(0, t);
                }
                Some(t) => log::warn!(
                    "{ENV}={} is not available ({caps:?}); using {}",
                    t.name(),
                    candidates[0].name()
                ),
                None => log::warn!("{ENV}={name:?} is not shm-fd, shm-sysv or put-image"),
            }
        }
        Ok(Choice {
            candidates,
            forced: false,
            access: xbs_shm::Access::ReadOnly,
        })
    }

    /// Makes image memory of `wanted` bytes with the first candidate that works,
    /// dropping those that fail (with a warning) unless forced; when none can make
    /// `wanted`, tries again for `needed` (no more than `wanted`) with what is left.
    /// The candidates change only if memory was made.
    pub(crate) fn allocate<C: Connection>(
        &mut self,
        conn: &Arc<C>,
        wanted: usize,
        needed: usize,
        stats: &mut Stats,
    ) -> Result<Memory<C>, Error> {
        let mut candidates = self.candidates.clone();
        let memory = match self.first(conn, &mut candidates, wanted, stats) {
            Ok(memory) => memory,
            // The larger-than-needed size is a luxury; try exactly what is needed.
            Err(_) if wanted > needed => self.first(conn, &mut candidates, needed, stats)?,
            Err(e) => return Err(e),
        };
        self.candidates = candidates;
        Ok(memory)
    }

    fn first<C: Connection>(
        &self,
        conn: &Arc<C>,
        candidates: &mut Vec<Transport>,
        len: usize,
        stats: &mut Stats,
    ) -> Result<Memory<C>, Error> {
        loop {
            let Some(&transport) = candidates.first() else {
                return Err(Error::TransportUnavailable {
                    transport: Transport::PutImage,
                    reason: "no transport could allocate the image".into(),
                });
            };
            match Memory::create(conn, transport, len, self.access) {
                Ok(m) => {
                    stats.allocations += 1;
                    return Ok(m);
                }
                Err(e) if self.forced || e.is_connection_lost() || candidates.len() == 1 => {
                    return Err(e)
                }
                Err(e) => {
                    candidates.remove(0);
                    stats.fallbacks += 1;
                    log::warn!(
                        "{} image of {len} bytes failed ({e}); falling back to {}",
                        transport.name(),
                        candidates[0].name()
                    );
                }
            }
        }
    }
}
