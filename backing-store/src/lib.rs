//! xbs: an X11 backing store — the pixel memory a toolkit paints into, and the machinery
//! that moves exactly the damaged pixels of it onto a window.
//!
//! Not built yet: this crate is being written (issue 3). What works today lives in
//! `xbs-shm` (shared-memory segments and the capability probe).
#![forbid(unsafe_code)]
