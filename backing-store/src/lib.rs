//! xbs: an X11 backing store.
#![forbid(unsafe_code)]

mod region;

pub use region::{Rect, Region};
