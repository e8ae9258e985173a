//! One event loop per connection: [`Display`] owns the connection and its windows
//! (top-levels, popups, dialogs), reads every event once and hands it to the window it
//! belongs to, that window's store first, exactly as a lone [`Window`]'s pump does.
//!
//! Routing: an event naming a window goes to that window; a `ShmCompletion` to the
//! store whose segment it names; a `GraphicsExposure`/`NoExposure` to the store whose
//! drawable it names (the window, or its server-side copy); a `MappingNotify` to every
//! window. An event for a window already closed or destroyed is dropped.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use x11rb::connection::Connection;
use x11rb::protocol::Event;
use x11rb::rust_connection::{RustConnection, Stream};
use x11rb::xcb_ffi::XCBConnection;

use xbs_shm::RequestError as _;

use crate::{Error, Window, WindowBuilder, WindowEvent};

/// A window of a [`Display`]: its X id, as events name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WindowId(u32);

impl WindowId {
    /// The X window id.
    pub fn raw(self) -> u32 {
        self.0
    }
}

/// A connection whose socket a [`Display`] can wait on (with a deadline or a
/// [`Waker`]): x11rb's `RustConnection` (over its own stream or [`xbs::Stream`]) and
/// `XCBConnection`.
pub trait ConnectionFd {
    /// The connection's socket.
    fn connection_fd(&self) -> BorrowedFd<'_>;
}

impl<S: Stream + AsFd> ConnectionFd for RustConnection<S> {
    fn connection_fd(&self) -> BorrowedFd<'_> {
        self.stream().as_fd()
    }
}

impl ConnectionFd for XCBConnection {
    fn connection_fd(&self) -> BorrowedFd<'_> {
        self.as_fd()
    }
}

/// Wakes a [`Display`] waiting in [`Display::wait_event_timeout`] from another thread.
/// Cheap to clone; waking a loop that is not waiting makes its next wait return at
/// once (wakes do not queue up: many before a wait count as one).
#[derive(Clone, Debug)]
pub struct Waker {
    tx: Arc<UnixStream>,
}

impl Waker {
    /// Wakes the loop. Never blocks.
    pub fn wake(&self) -> Result<(), Error> {
        match (&*self.tx).write(&[1]) {
            Ok(_) => Ok(()),
            // Full: a wake is pending already.
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(Error::Wake(e.to_string())),
        }
    }
}

/// The event loop of one X connection and the windows made on it.
///
/// ```
/// use xbs::{Rect, Region};
/// use xbs_window::{Display, PopupKind, Window, WindowEvent};
/// # let server = xbs_tests::XServer::start()?;
/// # let (conn, screen) = server.connect()?;
/// let mut display = Display::new(std::sync::Arc::new(conn), screen);
/// let main = display.window(Window::builder().title("main").size(320, 200))?;
/// let menu = display.window(
///     Window::builder().popup(main.raw(), PopupKind::Menu).position(40, 30).size(100, 60),
/// )?;
/// for id in [main, menu] {
///     let window = display.get_mut(id).unwrap();
///     window.attach_store(xbs::Options::new())?;
///     window.map()?;
///     let (w, h) = window.size();
///     let all = Region::from(Rect::new(0, 0, w, h));
///     window.store_mut().unwrap().begin_repaint(&all)?.fill(all.bounds(), 0xff20_4060);
///     window.flush(&all)?;
/// }
/// // Each event comes with the window it is for; Expose is already repaired.
/// while let Some((id, event)) = display.wait_event_timeout(std::time::Duration::from_millis(50))? {
///     match event {
///         WindowEvent::KeyPressed(key) if key.keysym == 0xff1b && id == menu => display.close(menu)?,
///         _ => {}
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Display<C: Connection> {
    // Drop order: the windows (and their stores) before the connection goes.
    windows: HashMap<u32, Window<C>>,
    conn: Arc<C>,
    screen: usize,
    /// The wake-up channel, once a [`Waker`] was made: the end polled, and the end
    /// the wakers write to.
    wake: Option<(UnixStream, Arc<UnixStream>)>,
}

impl Display<xbs::OwnConnection> {
    /// Connects to `name` (`None`: `$DISPLAY`) with [`xbs::connect`]: x11rb's
    /// `RustConnection`, without a `poll` before each request.
    pub fn connect(name: Option<&str>) -> Result<Self, Error> {
        let (conn, screen) = xbs::connect(name)?;
        Ok(Display::new(Arc::new(conn), screen))
    }
}

impl<C: Connection> Display<C> {
    /// A loop over `conn`, making windows on `screen`. Nothing else should read the
    /// connection's events.
    pub fn new(conn: Arc<C>, screen: usize) -> Self {
        Display {
            windows: HashMap::new(),
            conn,
            screen,
            wake: None,
        }
    }

    /// The connection.
    pub fn connection(&self) -> &Arc<C> {
        &self.conn
    }

    /// The screen windows are made on.
    pub fn screen(&self) -> usize {
        self.screen
    }

    /// Makes a window (unmapped) with `builder`: a top-level, a popup or a dialog.
    pub fn window(&mut self, builder: WindowBuilder) -> Result<WindowId, Error> {
        let window = builder.build(self.conn.clone(), self.screen)?;
        let id = window.id();
        self.windows.insert(id, window);
        Ok(WindowId(id))
    }

    /// The window `id`, while it is open.
    pub fn get(&self, id: WindowId) -> Option<&Window<C>> {
        self.windows.get(&id.0)
    }

    /// The window `id`, to paint, map or resize.
    pub fn get_mut(&mut self, id: WindowId) -> Option<&mut Window<C>> {
        self.windows.get_mut(&id.0)
    }

    /// The open windows.
    pub fn windows(&self) -> impl Iterator<Item = WindowId> + '_ {
        self.windows.keys().map(|&id| WindowId(id))
    }

    /// Closes the window `id`: destroys it and frees its store, waiting for the
    /// server's answers; its events still queued are dropped. Closing a window that is
    /// not open (closed, or destroyed by someone else) does nothing.
    pub fn close(&mut self, id: WindowId) -> Result<(), Error> {
        match self.windows.remove(&id.0) {
            Some(window) => window.close(),
            None => Ok(()),
        }
    }

    /// The next event for an open window if one is queued, without blocking.
    pub fn poll_event(&mut self) -> Result<Option<(WindowId, WindowEvent)>, Error> {
        let now = Instant::now();
        for (&id, window) in &mut self.windows {
            if let Some(frame) = window.fire_frame(now) {
                return Ok(Some((WindowId(id), frame)));
            }
        }
        loop {
            let Some((event, seq)) = self
                .conn
                .poll_for_event_with_sequence()
                .map_err(Error::conn("poll"))?
            else {
                return Ok(None);
            };
            if let Some(e) = self.process(event, seq)? {
                return Ok(Some(e));
            }
        }
    }

    /// Routes one event read from the connection (with the sequence number x11rb gives
    /// it) to its window: `None` when it was consumed (by a store, the WM protocols) or
    /// belongs to no open window.
    pub fn process(
        &mut self,
        event: Event,
        sequence: u64,
    ) -> Result<Option<(WindowId, WindowEvent)>, Error> {
        if let Event::MappingNotify(_) = event {
            for window in self.windows.values_mut() {
                window.process_with_sequence(event.clone(), sequence)?;
            }
            return Ok(None);
        }
        let owner = addressee(&event).filter(|id| self.windows.contains_key(id));
        let Some(id) = owner else {
            // A store's event whose drawable is not a window (a server-side copy), or
            // an event for a window gone: offered to every store, else dropped.
            for window in self.windows.values_mut() {
                if window.offer_to_store(&event, sequence) {
                    break;
                }
            }
            return Ok(None);
        };
        let Some(window) = self.windows.get_mut(&id) else {
            return Ok(None);
        };
        let routed = window.process_with_sequence(event, sequence)?;
        let Some(event) = routed else {
            return Ok(None);
        };
        match event {
            WindowEvent::Other(e) if matches!(*e, Event::ShmCompletion(_)) => {
                // A completion put to this window from another store cannot be; one of
                // a store since closed is dropped.
                Ok(None)
            }
            WindowEvent::Destroyed => {
                // Destroyed by someone else: nothing more of it can be used.
                self.windows.remove(&id);
                Ok(Some((WindowId(id), WindowEvent::Destroyed)))
            }
            event => Ok(Some((WindowId(id), event))),
        }
    }
}

impl<C: Connection + ConnectionFd> Display<C> {
    /// The next event for an open window, waiting at most `timeout` for one (an
    /// animation's next frame, a caret's blink); `None` when the time is up or a
    /// [`Waker`] woke the loop. Sleeps in `poll(2)` on the connection's socket: an
    /// idle loop uses no CPU.
    pub fn wait_event_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<(WindowId, WindowEvent)>, Error> {
        let deadline = Instant::now().checked_add(timeout);
        loop {
            // What x11rb has read already comes first: poll(2) would not see it.
            if let Some(e) = self.poll_event()? {
                return Ok(Some(e));
            }
            // Requests still buffered may be what the answer waits for.
            self.conn.flush().map_err(Error::conn("flush"))?;
            let now = Instant::now();
            let left = match deadline {
                Some(d) => d.saturating_duration_since(now),
                None => Duration::MAX,
            };
            if left.is_zero() {
                return Ok(None);
            }
            // A timer standing in for Present may be due first.
            let timer = self.windows.values().filter_map(|w| w.frame_due()).min();
            let left = timer.map_or(left, |t| left.min(t.saturating_duration_since(now)));
            // Whole milliseconds, rounded up (a wait never ends early); at most ~24 days.
            let ms = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
            let timeout = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
            let conn_fd = self.conn.connection_fd();
            let mut fds = vec![PollFd::new(conn_fd, PollFlags::POLLIN)];
            if let Some((wake, _)) = &self.wake {
                fds.push(PollFd::new(wake.as_fd(), PollFlags::POLLIN));
            }
            let ready = match poll(&mut fds, timeout) {
                Ok(n) => n,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(Error::Wake(format!("poll: {e}"))),
            };
            let woken = fds
                .get(1)
                .and_then(|f| f.revents())
                .is_some_and(|r| !r.is_empty());
            drop(fds);
            if woken {
                self.drain_wakes()?;
                return Ok(None);
            }
            if ready == 0 && timer.is_none() && deadline.is_some() {
                // One last look: the deadline has passed.
                return self.poll_event();
            }
        }
    }

    /// The next event for an open window, blocking until there is one (frames of a
    /// timer standing in for Present included; a [`Waker`]'s wake is not an event).
    pub fn wait_event(&mut self) -> Result<(WindowId, WindowEvent), Error> {
        loop {
            if let Some(e) = self.wait_event_timeout(Duration::MAX)? {
                return Ok(e);
            }
        }
    }

    /// Calls `f` with each event until it returns `false` (or an error comes).
    pub fn run(
        &mut self,
        mut f: impl FnMut(&mut Self, WindowId, WindowEvent) -> Result<bool, Error>,
    ) -> Result<(), Error> {
        loop {
            let (id, event) = self.wait_event()?;
            if !f(self, id, event)? {
                return Ok(());
            }
        }
    }

    /// A [`Waker`] for this loop (all wakers share one channel).
    pub fn waker(&mut self) -> Result<Waker, Error> {
        if let Some((_, tx)) = &self.wake {
            return Ok(Waker { tx: tx.clone() });
        }
        let (rx, tx) = UnixStream::pair().map_err(|e| Error::Wake(e.to_string()))?;
        for s in [&rx, &tx] {
            s.set_nonblocking(true)
                .map_err(|e| Error::Wake(e.to_string()))?;
        }
        let tx = Arc::new(tx);
        self.wake = Some((rx, tx.clone()));
        Ok(Waker { tx })
    }

    fn drain_wakes(&mut self) -> Result<(), Error> {
        let Some((wake, _)) = &mut self.wake else {
            return Ok(());
        };
        let mut buf = [0u8; 64];
        loop {
            match wake.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(_) => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(Error::Wake(e.to_string())),
            }
        }
    }
}

/// The window an event is about, when it names one.
fn addressee(event: &Event) -> Option<u32> {
    Some(match event {
        Event::Expose(e) => e.window,
        Event::ConfigureNotify(e) => e.window,
        Event::ClientMessage(e) => e.window,
        Event::MotionNotify(e) => e.event,
        Event::ButtonPress(e) => e.event,
        Event::ButtonRelease(e) => e.event,
        Event::EnterNotify(e) => e.event,
        Event::LeaveNotify(e) => e.event,
        Event::KeyPress(e) => e.event,
        Event::KeyRelease(e) => e.event,
        Event::FocusIn(e) => e.event,
        Event::FocusOut(e) => e.event,
        Event::DestroyNotify(e) => e.window,
        Event::MapNotify(e) => e.window,
        Event::UnmapNotify(e) => e.window,
        Event::ReparentNotify(e) => e.window,
        Event::PropertyNotify(e) => e.window,
        Event::VisibilityNotify(e) => e.window,
        Event::GraphicsExposure(e) => e.drawable,
        Event::NoExposure(e) => e.drawable,
        Event::ShmCompletion(e) => e.drawable,
        Event::PresentCompleteNotify(e) => e.window,
        Event::PresentIdleNotify(e) => e.window,
        _ => return None,
    })
}
