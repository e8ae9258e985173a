//! The error type of `xbs-window`.

use x11rb::errors::{ConnectError, ConnectionError};
use x11rb::x11_utils::X11Error;
use xbs_shm::RequestError;

/// Why a window operation failed.
///
/// A failed connection is always [`Error::Connection`] (now) or
/// [`Error::ConnectionLost`] (earlier, seen by the store), whether the window or its
/// store saw it: [`Error::Store`] never holds one. [`Error::is_connection_lost`] tells
/// whether the connection is gone for good.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A window size is zero or beyond what X11 coordinates (and a store) can address.
    #[error("window size {width}x{height} is out of range (1..={limit} each)")]
    Size {
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
        /// The largest width or height: [`crate::MAX_SIZE`].
        limit: u32,
    },
    /// A title or class holds a NUL byte, which X11 string properties cannot carry.
    #[error("{what} contains a NUL byte at {at}")]
    Nul {
        /// Which string.
        what: &'static str,
        /// Byte offset of the NUL.
        at: usize,
    },
    /// An ARGB window was asked for but the screen has no 32-bit TrueColor visual.
    #[error("the screen has no 32-bit TrueColor visual for an ARGB window")]
    NoArgbVisual,
    /// The screen number is not one of the server's screens.
    #[error("screen {0} does not exist")]
    NoScreen(usize),
    /// No cursor of that name in the theme, and no core-font cursor to fall back to.
    #[error("no cursor named {0:?} in the theme or the core cursor font")]
    UnknownCursor(String),
    /// The window was destroyed (by us or someone else); nothing more can be done.
    #[error("the window was destroyed")]
    Destroyed,
    /// Waiting with a deadline, or waking the loop, failed (`poll(2)`, the wake-up
    /// socket pair).
    #[error("waiting for events: {0}")]
    Wake(String),
    /// The server refused a popup's grab (another client holds one, or the popup is not
    /// viewable because its parent is not).
    #[error("the server refused to grab the {what} for the popup: {status}")]
    Grab {
        /// `pointer` or `keyboard`.
        what: &'static str,
        /// The grab status the server answered.
        status: String,
    },
    /// Connecting to the X server failed.
    #[error("cannot connect to the X server")]
    Connect(#[from] ConnectError),
    /// The connection failed.
    #[error("the X connection failed during {request}")]
    Connection {
        /// The request being sent.
        request: &'static str,
        /// What went wrong.
        source: ConnectionError,
    },
    /// The connection was lost earlier, during `request`; the store can only be
    /// dropped.
    #[error("the X connection was lost earlier, during {request}")]
    ConnectionLost {
        /// The request during which it was lost.
        request: &'static str,
    },
    /// The server refused a request.
    #[error("the X server refused {request}: {:?} error", error.error_kind)]
    Reply {
        /// The request.
        request: &'static str,
        /// The server's error.
        error: X11Error,
    },
    /// The connection has no resource ids left.
    #[error("no X resource ids left for {request}")]
    IdsExhausted {
        /// The request that needed an id.
        request: &'static str,
    },
    /// The backing store failed (for any reason but the connection).
    #[error(transparent)]
    Store(xbs::Error),
    /// A display or window handle is not an X11 one, or not available now.
    #[error("not an X11 display or window handle: {0}")]
    Handle(String),
    /// An Xlib display handle, but `libX11-xcb.so.1` (which gives the XCB connection
    /// under it) cannot be loaded.
    #[error("cannot load libX11-xcb for the Xlib display's XCB connection: {0}")]
    XlibXcb(String),
    /// A surface was asked for a buffer before it had a size.
    #[error("the surface has no size yet: call resize first")]
    NoSize,
    /// A damage rect reaches outside the surface.
    #[error("damage rect {x},{y} {width}x{height} is outside the {surface_width}x{surface_height} surface")]
    Damage {
        /// The rect's left edge.
        x: u32,
        /// Its top edge.
        y: u32,
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
        /// The surface's width.
        surface_width: u32,
        /// The surface's height.
        surface_height: u32,
    },
}

impl Error {
    /// True when the connection is gone and nothing more can be done with it.
    pub fn is_connection_lost(&self) -> bool {
        match self {
            Error::Connection { source, .. } => xbs_shm::is_lost(source),
            Error::ConnectionLost { .. } => true,
            _ => false,
        }
    }
}

impl From<xbs::Error> for Error {
    fn from(e: xbs::Error) -> Self {
        match e {
            xbs::Error::Connection { request, source } => Error::Connection { request, source },
            xbs::Error::ConnectionLost { request } => Error::ConnectionLost { request },
            xbs::Error::Shm(xbs_shm::Error::Connection { request, source }) => {
                Error::Connection { request, source }
            }
            other => Error::Store(other),
        }
    }
}

impl RequestError for Error {
    fn connection(request: &'static str, source: ConnectionError) -> Self {
        Error::Connection { request, source }
    }

    fn refused(request: &'static str, error: X11Error) -> Self {
        Error::Reply { request, error }
    }

    fn ids_exhausted(request: &'static str) -> Self {
        Error::IdsExhausted { request }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_connection_is_reported_one_way() {
        let broken = || ConnectionError::IoError(std::io::ErrorKind::BrokenPipe.into());
        let from_store = Error::from(xbs::Error::Connection {
            request: "ShmPutImage",
            source: broken(),
        });
        assert!(matches!(
            from_store,
            Error::Connection {
                request: "ShmPutImage",
                ..
            }
        ));
        assert!(from_store.is_connection_lost());
        let earlier = Error::from(xbs::Error::ConnectionLost { request: "x" });
        assert!(matches!(earlier, Error::ConnectionLost { request: "x" }));
        let shm = Error::from(xbs::Error::Shm(xbs_shm::Error::Connection {
            request: "ShmAttachFd",
            source: broken(),
        }));
        assert!(matches!(shm, Error::Connection { .. }));
        let refused = Error::from(xbs::Error::OutOfMemory { bytes: 4 });
        assert!(matches!(refused, Error::Store(_)) && !refused.is_connection_lost());
    }
}
