//! A client's connection to a real server through a proxy the test controls, to make
//! the server vanish at exactly the moment a test needs: after some bytes of a flush
//! (a server killed mid-flush), or while its answers are held back (a server that
//! disconnects with a completion outstanding).
//!
//! The proxy forwards bytes and passed descriptors (`SCM_RIGHTS`, for `ShmAttachFd`)
//! both ways between a socket pair end the client holds and the server's Unix socket.
//! Cutting closes the client's side, which the client sees as its server gone: reads
//! end, writes fail with `EPIPE`.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use x11rb::rust_connection::{DefaultStream, RustConnection};

use crate::XServer;

#[derive(Default)]
struct State {
    /// Stop forwarding and close the client's side.
    cut: AtomicBool,
    /// Stop forwarding what the server sends (it stays unread in the server socket).
    hold_server: AtomicBool,
    /// Bytes from the client still to forward before cutting; `u64::MAX`: no limit.
    client_budget: AtomicU64,
    /// Bytes forwarded from the client so far.
    from_client: AtomicU64,
}

/// The proxy of one client connection; stops its threads when dropped.
pub struct Proxy {
    state: Arc<State>,
    threads: Vec<JoinHandle<()>>,
}

impl Proxy {
    /// Closes the client's connection now, as a server that disconnects.
    pub fn cut(&self) {
        self.state.cut.store(true, Ordering::SeqCst);
    }

    /// Forwards `bytes` more from the client, then closes its connection: the server
    /// "dies" in the middle of whatever the client is sending.
    pub fn cut_after(&self, bytes: u64) {
        let sent = self.state.from_client.load(Ordering::SeqCst);
        self.state
            .client_budget
            .store(sent.saturating_add(bytes), Ordering::SeqCst);
    }

    /// Stops passing the server's replies and events on to the client.
    pub fn hold_server(&self) {
        self.state.hold_server.store(true, Ordering::SeqCst);
    }

    /// Bytes the client has sent through the proxy so far.
    pub fn client_bytes(&self) -> u64 {
        self.state.from_client.load(Ordering::SeqCst)
    }

    /// Waits until both directions have stopped (after a cut).
    pub fn join(mut self) {
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.state.cut.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl XServer {
    /// Connects a client through a [`Proxy`] (local servers only).
    pub fn connect_through_proxy(&self) -> io::Result<(RustConnection, usize, Proxy)> {
        let server = UnixStream::connect(format!("/tmp/.X11-unix/X{}", self.display_number()))?;
        let (client, ours) = UnixStream::pair()?;
        let state = Arc::new(State {
            client_budget: AtomicU64::new(u64::MAX),
            ..State::default()
        });
        let ours = Arc::new(OwnedFd::from(ours));
        let server = Arc::new(OwnedFd::from(server));
        let threads = vec![
            spawn(
                ours.clone(),
                server.clone(),
                state.clone(),
                Direction::ToServer,
            ),
            spawn(server, ours, state.clone(), Direction::ToClient),
        ];
        let (stream, _) = DefaultStream::from_unix_stream(client)?;
        let conn = RustConnection::connect_to_stream(stream, 0).map_err(io::Error::other)?;
        Ok((conn, 0, Proxy { state, threads }))
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Direction {
    ToServer,
    ToClient,
}

fn spawn(
    from: Arc<OwnedFd>,
    to: Arc<OwnedFd>,
    state: Arc<State>,
    dir: Direction,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let client = if dir == Direction::ToServer {
            &from
        } else {
            &to
        };
        let _ = forward(from.as_fd(), to.as_fd(), &state, dir);
        // Either way the client loses its server: both directions stop.
        state.cut.store(true, Ordering::SeqCst);
        let _ = nix::sys::socket::shutdown(client.as_raw_fd(), nix::sys::socket::Shutdown::Both);
    })
}

fn forward(
    from: BorrowedFd<'_>,
    to: BorrowedFd<'_>,
    state: &State,
    dir: Direction,
) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if state.cut.load(Ordering::SeqCst) {
            return Ok(());
        }
        if dir == Direction::ToClient && state.hold_server.load(Ordering::SeqCst) {
            std::thread::sleep(std::time::Duration::from_millis(5));
            continue;
        }
        let mut fds = [PollFd::new(from, PollFlags::POLLIN)];
        if nix::poll::poll(&mut fds, PollTimeout::from(20u8))? == 0 {
            continue;
        }
        // A hold or cut set while polling applies to what just arrived.
        if state.cut.load(Ordering::SeqCst)
            || (dir == Direction::ToClient && state.hold_server.load(Ordering::SeqCst))
        {
            continue;
        }
        let mut limit = buf.len();
        if dir == Direction::ToServer {
            let budget = state.client_budget.load(Ordering::SeqCst);
            let done = state.from_client.load(Ordering::SeqCst);
            if done >= budget {
                return Ok(());
            }
            limit = limit.min(usize::try_from(budget - done).unwrap_or(usize::MAX));
        }
        let mut space = nix::cmsg_space!([RawFd; 16]);
        let mut iov = [IoSliceMut::new(&mut buf[..limit])];
        let msg = recvmsg::<()>(
            from.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )?;
        let n = msg.bytes;
        let mut passed: Vec<OwnedFd> = Vec::new();
        for cmsg in msg.cmsgs()? {
            if let ControlMessageOwned::ScmRights(fds) = cmsg {
                // SAFETY: the kernel just gave us these descriptors; we own them.
                passed.extend(
                    fds.into_iter()
                        .map(|fd| unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) }),
                );
            }
        }
        if n == 0 {
            return Ok(());
        }
        let raw: Vec<RawFd> = passed.iter().map(AsRawFd::as_raw_fd).collect();
        let mut sent = 0;
        while sent < n {
            let cmsgs = [ControlMessage::ScmRights(&raw)];
            let cmsgs: &[ControlMessage<'_>] = if sent == 0 && !raw.is_empty() {
                &cmsgs
            } else {
                &[]
            };
            sent += sendmsg::<()>(
                to.as_raw_fd(),
                &[IoSlice::new(&buf[sent..n])],
                cmsgs,
                MsgFlags::MSG_NOSIGNAL,
                None,
            )?;
        }
        if dir == Direction::ToServer {
            state.from_client.fetch_add(n as u64, Ordering::SeqCst);
        }
    }
}
