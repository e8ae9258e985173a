//! xbs: an X11 backing store — the pixel memory a GUI toolkit paints into, and the
//! machinery that moves exactly the damaged pixels of it onto an X11 window, through
//! MIT-SHM shared memory or, where that is impossible, `PutImage` on the wire.
//!
//! Start at [`BackingStore`]: its docs show a whole frame (paint, flush a damage
//! region, scroll, handle Expose, resize). Damage is a [`Region`] of [`Rect`]s; the app
//! paints into a [`Frame`]; the pixels go to the server by one of three [`Transport`]s,
//! picked by probing what really works with this server (`xbs_shm::probe`).
//!
//! Rules this crate keeps (see the project's security notes): every size is checked
//! arithmetic from the server's own numbers ([`Format::image_size`]); every rectangle
//! from the caller is clipped to the image before any copy; pixels the server may still
//! be reading are never overwritten (a paint over them goes to a second buffer, or
//! waits); no `unsafe` here.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod buffer;
mod buffers;
mod compositor;
mod convert;
mod error;
#[cfg(feature = "fault-injection")]
pub mod fault;
#[cfg(not(feature = "fault-injection"))]
mod fault;
mod format;
mod frame;
#[cfg(fuzzing)]
pub mod fuzzing;
mod geometry;
mod pixels;
mod rects;
mod region;
mod request;
mod server;
mod socket;
mod store;
mod stream;
mod switching;
mod transport;

pub use error::Error;
pub use format::{Format, PixelFormat, WindowFormat, MAX_DIMENSION};
pub use frame::{Frame, RectMut, RectsMut};
pub use region::{Rect, Region};
pub use socket::{enlarge_send_buffer, SEND_BUFFER};
pub use store::{BackingStore, Busy, Events, Layout, Options, PresentMode, Stats, SHRINK_AFTER};
pub use stream::{connect, OwnConnection, Stream};
pub use transport::Transport;
