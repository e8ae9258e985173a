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
    #[error("the X connection failed during {request}")]
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

    /// True when the connection itself is gone: nothing on this connection will work,
    /// so falling back to another transport is pointless.
    pub fn is_connection_lost(&self) -> bool {
        matches!(self, Error::Connection { source, .. } if is_lost(source))
    }
}

impl RequestError for Error {
    fn connection(request: &'static str, source: ConnectionError) -> Self {
        Error::Connection { request, source }
    }

    fn refused(request: &'static str, error: X11Error) -> Self {
        Error::Refused { request, error }
    }

    fn ids_exhausted(request: &'static str) -> Self {
        Error::IdsExhausted { request }
    }
}

/// Whether x11rb's `error` means the connection is gone for good: the socket failed
/// (`IoError`), or libxcb shut the connection down (`UnknownError`, `FdPassingFailed`,
/// `InsufficientMemory`). The rest concern one request and leave the connection as it
/// was: x11rb checks a request's length (`MaximumRequestLengthExceeded`) and whether the
/// server has an extension (`UnsupportedExtension`) before sending anything, and a reply
/// it cannot parse (`ParseError`) leaves the stream in step.
pub fn is_lost(error: &ConnectionError) -> bool {
    match error {
        ConnectionError::IoError(_)
        | ConnectionError::UnknownError
        | ConnectionError::FdPassingFailed
        | ConnectionError::InsufficientMemory => true,
        ConnectionError::UnsupportedExtension
        | ConnectionError::MaximumRequestLengthExceeded
        | ConnectionError::ParseError(_) => false,
        // A kind x11rb adds later: assume the worst.
        _ => true,
    }
}

/// How the error types of this workspace are made from what x11rb reports for a
/// request, so the helpers that map x11rb's errors for `map_err` ([`conn`],
/// [`reply`], [`id`]) are written once. Each error type says how it holds a failed
/// connection, a refusal by the server and exhausted resource ids.
///
/// [`conn`]: RequestError::conn
/// [`reply`]: RequestError::reply
/// [`id`]: RequestError::id
pub trait RequestError: Sized {
    /// The connection failed while `request` was sent or answered.
    fn connection(request: &'static str, source: ConnectionError) -> Self;

    /// The server answered `request` with `error`.
    fn refused(request: &'static str, error: X11Error) -> Self;

    /// The client had no resource id left for `request`.
    fn ids_exhausted(request: &'static str) -> Self;

    /// For `map_err` on sending `request`.
    fn conn(request: &'static str) -> impl FnOnce(ConnectionError) -> Self {
        move |source| Self::connection(request, source)
    }

    /// For `map_err` on the reply (or check) of `request`.
    fn reply(request: &'static str) -> impl FnOnce(ReplyError) -> Self {
        move |e| match e {
            ReplyError::ConnectionError(source) => Self::connection(request, source),
            ReplyError::X11Error(error) => Self::refused(request, error),
        }
    }

    /// For `map_err` on generating an id for `request`.
    fn id(request: &'static str) -> impl FnOnce(ReplyOrIdError) -> Self {
        move |e| match e {
            ReplyOrIdError::IdsExhausted => Self::ids_exhausted(request),
            ReplyOrIdError::ConnectionError(source) => Self::connection(request, source),
            ReplyOrIdError::X11Error(error) => Self::refused(request, error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_broken_connection_is_lost() {
        let lost = |source| {
            Error::Connection {
                request: "test",
                source,
            }
            .is_connection_lost()
        };
        assert!(lost(ConnectionError::IoError(
            std::io::ErrorKind::BrokenPipe.into()
        )));
        assert!(lost(ConnectionError::UnknownError));
        assert!(lost(ConnectionError::FdPassingFailed));
        assert!(!lost(ConnectionError::UnsupportedExtension));
        assert!(!lost(ConnectionError::MaximumRequestLengthExceeded));
        assert!(!Error::NoExtension.is_connection_lost());
    }

    #[test]
    fn a_message_does_not_repeat_its_source() {
        let e = Error::Connection {
            request: "ShmAttachFd",
            source: ConnectionError::UnknownError,
        };
        let source = std::error::Error::source(&e).expect("the cause is the source");
        assert!(!e.to_string().contains(&source.to_string()), "{e}");
    }
}
