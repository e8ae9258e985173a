//! The error type of `xbs`: typed, with the numbers of what was attempted.

use x11rb::errors::ConnectionError;
use x11rb::x11_utils::X11Error;
use xbs_shm::RequestError;

use crate::Transport;

/// Why a backing store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An image size is zero, beyond X11's coordinate space, or overflows memory sizes.
    #[error("image of {width}x{height} pixels is out of range: {reason} (limit {limit})")]
    Size {
        /// Requested width in pixels.
        width: u32,
        /// Requested height in pixels.
        height: u32,
        /// Which limit was broken.
        reason: &'static str,
        /// The limit (pixels or bytes, as the reason says).
        limit: u64,
    },
    /// Heap memory for the image could not be reserved.
    #[error("cannot reserve {bytes} bytes of image memory")]
    OutOfMemory {
        /// Bytes asked for.
        bytes: usize,
    },
    /// A shared-memory segment could not be made or attached.
    #[error(transparent)]
    Shm(#[from] xbs_shm::Error),
    /// The connection to the X server failed. Whether it is gone for good (the store
    /// then only returns [`Error::ConnectionLost`]) says [`Error::is_connection_lost`].
    #[error("the X connection failed during {request}")]
    Connection {
        /// The request being sent.
        request: &'static str,
        /// What went wrong.
        source: ConnectionError,
    },
    /// The server answered a request with an error.
    #[error("the X server refused {request}: {:?} error", error.error_kind)]
    Reply {
        /// The request.
        request: &'static str,
        /// The server's error.
        error: X11Error,
    },
    /// The window's visual has a pixel layout xbs cannot paint.
    #[error(
        "unsupported visual 0x{visual:x}: depth {depth}, {bits_per_pixel} bpp, class {class}, \
         masks r=0x{red_mask:x} g=0x{green_mask:x} b=0x{blue_mask:x}, byte order {byte_order}"
    )]
    UnsupportedVisual {
        /// The visual id.
        visual: u32,
        /// Window depth.
        depth: u8,
        /// Bits per pixel of that depth's pixmap format (0 if the server lists none).
        bits_per_pixel: u8,
        /// Visual class (`TrueColor`, ...), as the protocol names it.
        class: String,
        /// Red mask.
        red_mask: u32,
        /// Green mask.
        green_mask: u32,
        /// Blue mask.
        blue_mask: u32,
        /// Server image byte order.
        byte_order: &'static str,
    },
    /// The transport asked for in [`crate::Options`] cannot work with this server.
    #[error("transport {transport:?} is not available: {reason}")]
    TransportUnavailable {
        /// The transport asked for.
        transport: Transport,
        /// Why not.
        reason: String,
    },
    /// The connection has no resource ids left for the request (the client has made
    /// and not freed about two million resources).
    #[error("no X resource ids left for {request}")]
    IdsExhausted {
        /// The request that needed an id.
        request: &'static str,
    },
    /// An earlier call lost the connection to the X server (it died, disconnected, or
    /// the socket broke); the store can only be dropped.
    #[error("the X connection was lost earlier, during {request}; the store can only be dropped")]
    ConnectionLost {
        /// The request during which the connection was lost.
        request: &'static str,
    },
    /// The window handle is not an X11 window.
    #[error("the window handle is not an X11 (Xlib or XCB) window: {0}")]
    NotX11(String),
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

impl Error {
    /// True when the connection is gone and nothing more can be done with it: the
    /// socket failed or libxcb shut the connection down ([`xbs_shm::is_lost`]), now or
    /// earlier. A request the connection refused before sending it (too long, an
    /// extension the server lacks) is not a loss.
    pub fn is_connection_lost(&self) -> bool {
        self.lost_during().is_some()
    }

    /// The request during which the connection was lost, if it was.
    pub(crate) fn lost_during(&self) -> Option<&'static str> {
        match self {
            Error::Connection { request, source } if xbs_shm::is_lost(source) => Some(request),
            Error::ConnectionLost { request } => Some(request),
            Error::Shm(e) if e.is_connection_lost() => Some("MIT-SHM"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_lost_as_xbs_shm_says_or_when_lost_earlier() {
        // The table of which x11rb errors are losses is tested with `xbs_shm::is_lost`.
        let failed = |source| Error::Connection {
            request: "test",
            source,
        };
        assert!(failed(ConnectionError::UnknownError).is_connection_lost());
        assert!(!failed(ConnectionError::MaximumRequestLengthExceeded).is_connection_lost());
        assert!(Error::ConnectionLost { request: "test" }.is_connection_lost());
        let shm = xbs_shm::Error::Connection {
            request: "ShmAttachFd",
            source: ConnectionError::UnsupportedExtension,
        };
        assert!(!Error::Shm(shm).is_connection_lost());
    }

    #[test]
    fn messages_do_not_repeat_their_source() {
        let e = Error::Connection {
            request: "ShmPutImage",
            source: ConnectionError::UnknownError,
        };
        let source = std::error::Error::source(&e).expect("the cause is the source");
        assert!(!e.to_string().contains(&source.to_string()), "{e}");
    }
}
