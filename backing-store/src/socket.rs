//! Room in the kernel for a frame's requests, for the `put-image` transport.
//!
//! Over the wire, a flush writes its pixels into the connection's socket. A Unix
//! socket holds about 208 KiB by default (`net.core.wmem_default`), less than a frame of
//! modest damage (16 rects of 64×64 are 262 KiB). Past that, each write waits for the
//! server to read: the app and the server take turns instead of working at the same
//! time, and the flush costs about 1.6× as much (`xbs-demo bench`,
//! `wire-damage-16x64-1080p`: 0.168 ms a frame, 0.103 ms with [`SEND_BUFFER`]).

use std::io;
use std::os::fd::AsFd;

use nix::sys::socket::{getsockopt, setsockopt, sockopt::SndBuf};

/// What [`enlarge_send_buffer`] is best asked for: room for a few frames of damage.
/// Linux grants at most `net.core.wmem_max` (208 KiB on most systems, which already
/// doubles the default room, since the kernel doubles what it grants).
pub const SEND_BUFFER: usize = 1 << 20;

/// Lets the kernel hold at least `bytes` of requests on an X connection's socket before a
/// write waits for the server to read them, so that a `put-image` flush goes out while
/// the server is still drawing the last one. Worth calling once after connecting when
/// the server may lack MIT-SHM (remote, or in a sandbox); on shm, requests are a few
/// bytes and it changes nothing. Never makes the room smaller.
///
/// `socket` is the connection's socket: `conn.stream()` of an x11rb `RustConnection`,
/// or the `XCBConnection` itself. Returns the room the kernel reports now (Linux doubles
/// what it grants, for its bookkeeping, and caps the grant at `net.core.wmem_max`).
///
/// # Errors
/// What `setsockopt` or `getsockopt` returned: `ENOTSOCK` if `socket` is not a socket.
///
/// ```no_run
/// use std::os::fd::AsFd;
/// let (conn, _screen) = x11rb::connect(None)?;
/// xbs::enlarge_send_buffer(conn.stream().as_fd(), xbs::SEND_BUFFER)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn enlarge_send_buffer(socket: impl AsFd, bytes: usize) -> io::Result<usize> {
    let fd = socket.as_fd();
    let now = getsockopt(&fd, SndBuf)?;
    // What the kernel would grant; asking when that is less than now would shrink a
    // room that a privileged process set beyond the cap.
    let grant = wmem_max().map_or(bytes, |max| bytes.min(max).saturating_mul(2));
    if now >= bytes.min(grant) {
        return Ok(now);
    }
    setsockopt(&fd, SndBuf, &bytes)?;
    Ok(getsockopt(&fd, SndBuf)?)
}

/// The kernel's cap on what `SO_SNDBUF` grants, where `/proc` shows it.
fn wmem_max() -> Option<usize> {
    std::fs::read_to_string("/proc/sys/net/core/wmem_max")
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn grows_and_never_shrinks_the_room() {
        let (a, _b) = UnixStream::pair().unwrap();
        let before = getsockopt(&a.as_fd(), SndBuf).unwrap();
        let grown = enlarge_send_buffer(&a, SEND_BUFFER).unwrap();
        assert!(grown > before, "{before} -> {grown}");
        assert_eq!(grown, getsockopt(&a.as_fd(), SndBuf).unwrap());
        // Asking for less leaves it as it is.
        assert_eq!(enlarge_send_buffer(&a, 4096).unwrap(), grown);
        assert_eq!(getsockopt(&a.as_fd(), SndBuf).unwrap(), grown);
    }

    #[test]
    fn a_file_is_not_a_socket() {
        let file = std::fs::File::open("/dev/null").unwrap();
        let err = enlarge_send_buffer(&file, SEND_BUFFER).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(nix::libc::ENOTSOCK), "{err}");
    }
}
