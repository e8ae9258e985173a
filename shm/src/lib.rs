//! Shared-memory segments an X server can read, for MIT-SHM image transfer.
//!
//! A [`Segment`] is memory mapped into this process *and* attached by the X server,
//! owned as one value: dropping it detaches, unmaps and closes, in that order, without
//! a round trip and without panicking. It is made one of two ways ([`Kind`]): a sealed
//! `memfd` passed with `ShmAttachFd`, or a SysV segment attached by id and removed
//! (`IPC_RMID`) as soon as both sides hold it. [`probe`] finds out which of them works
//! with a given server by trying each for real.
//!
//! Every length is checked before any syscall ([`mapped_len`]), every syscall result is
//! checked, and all raw syscalls live in one private module (`sys.rs`). With the
//! `fault-injection` feature, `fault` can make any of them fail, or make the server
//! refuse the attach, which the tests use to prove every failure path releases what it
//! acquired.
//!
//! This crate only owns memory and the server's attachment; which bytes are free to
//! paint is decided by the `xbs` crate above it.
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod error;
#[cfg(feature = "fault-injection")]
pub mod fault;
#[cfg(not(feature = "fault-injection"))]
mod fault;
mod memory;
mod probe;
mod segment;
mod sys;

pub use error::{is_lost, Error, RequestError};
pub use probe::{probe, probe_report, ProbeReport, ShmCaps};
pub use segment::{mapped_len, Access, Kind, Segment, MAX_LEN};
