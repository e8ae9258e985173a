//! The one error type of `xbs-shm`: what was attempted, with the numbers.

use nix::errno::Errno;
use x11rb::errors::{ConnectionError, ReplyError, ReplyOrIdError};
use x11rb::x11_utils::X11Error;

/// Why a segment could not be made, attached or released.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The requested length is zero, overflows, or exceeds a limit.
    #[error(
        "shared-memory segment of {len} bytes is out of range: {reason} (limit {limit} bytes)"
    )]
    Size {
        /// The length asked for, in bytes.
        len: usize,
        /// The limit it broke, in bytes (`0` for "must be non-zero").
        limit: u64,
        /// Which limit that is.
        reason: &'static str,
    },
    /// A syscall failed.
    #[error("{call} for a {len}-byte segment failed: {errno}")]
    Syscall {
        /// The call, as named in its man page.
        call: &'static str,
        /// The segment length it was working on, in bytes.
        len: usize,
        /// What the kernel said.
        errno: Errno,
    },
    /// The server has no MIT-SHM extension (or it is disabled).
    #[error("the X server does not offer MIT-SHM")]
    NoExtension,
    /// The server's MIT-SHM is older than 1.2, so it cannot take a file descriptor.
    #[error("MIT-SHM {major}.{minor} cannot receive file descriptors (1.2 is needed)")]
    NoFdPassing {
        /// Server's MIT-SHM major version.
        major: u16,
        /// Server's MIT-SHM minor version.
        minor: u16,
    },
    /// The server answered a request with an error (for example BadAccess to an attach).
    #[error("the X server refused {request}: {} error", error_name(.error))]
    Refused {
        /// The request, e.g. `ShmAttachFd`.
        request: &'static str,
        /// The server's error.
        error: X11Error,
    },
    /// The connection to the server failed.
    #[error("connection to the X server failed during {request}: {source}")]
    Connection {
        /// The request being sent or waited for.
        request: &'static str,
        /// What went wrong.
        source: ConnectionError,
    },
    /// The client has used up its X resource ids.
    #[error("no X resource ids left for {request}")]
    IdsExhausted {
        /// The request that needed an id.
        request: &'static str,
    },
}

fn error_name(e: &X11Error) -> String {
    format!("{:?}", e.error_kind)
}

impl Error {
    pub(crate) fn sys(call: crate::sys::Call, len: usize, errno: Errno) -> Self {
        Error::Syscall {
            call: call.name(),
            len,
            errno,
        }
    }

    pub(crate) fn conn(request: &'static str, source: ConnectionError) -> Self {
        Error::Connection { request, source }
    }

    pub(crate) fn reply(request: &'static str, e: ReplyError) -> Self {
        match e {
            ReplyError::ConnectionError(source) => Error::Connection { request, source },
            ReplyError::X11Error(error) => Error::Refused { request, error },
        }
    }

    pub(crate) fn id(request: &'static str, e: ReplyOrIdError) -> Self {
        match e {
            ReplyOrIdError::IdsExhausted => Error::IdsExhausted { request },
            ReplyOrIdError::ConnectionError(source) => Error::Connection { request, source },
            ReplyOrIdError::X11Error(error) => Error::Refused { request, error },
        }
    }

    /// True when the connection itself is gone: nothing on this connection will work,
    /// so falling back to another transport is pointless.
    pub fn is_connection_lost(&self) -> bool {
        matches!(self, Error::Connection { .. })
    }
}
