//! The error type of `xbs-window`.

use x11rb::errors::{ConnectError, ConnectionError, ReplyError, ReplyOrIdError};

/// Why a window operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A window size is zero or beyond X11's 16-bit sizes.
    #[error("window size {width}x{height} is out of range (1..=65535 each)")]
    Size {
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
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
    /// Connecting to the X server failed.
    #[error("cannot connect to the X server: {0}")]
    Connect(#[from] ConnectError),
    /// The connection failed.
    #[error("X connection failed during {request}: {source}")]
    Connection {
        /// The request being sent.
        request: &'static str,
        /// What went wrong.
        source: ConnectionError,
    },
    /// The server refused a request.
    #[error("the X server refused {request}: {source:?}")]
    Reply {
        /// The request.
        request: &'static str,
        /// The server's error.
        source: ReplyError,
    },
    /// The connection has no resource ids left.
    #[error("no X resource ids left for {0}")]
    IdsExhausted(&'static str),
    /// The backing store failed.
    #[error(transparent)]
    Store(#[from] xbs::Error),
}

impl Error {
    pub(crate) fn conn(request: &'static str) -> impl FnOnce(ConnectionError) -> Error {
        move |source| Error::Connection { request, source }
    }

    pub(crate) fn reply(request: &'static str) -> impl FnOnce(ReplyError) -> Error {
        move |source| match source {
            ReplyError::ConnectionError(source) => Error::Connection { request, source },
            source => Error::Reply { request, source },
        }
    }

    pub(crate) fn id(request: &'static str) -> impl FnOnce(ReplyOrIdError) -> Error {
        move |e| match e {
            ReplyOrIdError::ConnectionError(source) => Error::Connection { request, source },
            ReplyOrIdError::X11Error(x) => Error::Reply {
                request,
                source: ReplyError::X11Error(x),
            },
            ReplyOrIdError::IdsExhausted => Error::IdsExhausted(request),
        }
    }
}
