//! xbs-window: what a small toolkit needs around an [`xbs::BackingStore`], so that an
//! app is a loop of "events in, damage out".
//!
//! - [`Window::builder`]: title (`_NET_WM_NAME` and `WM_NAME`), size, minimum size,
//!   `WM_CLASS`, `_NET_WM_PID`, and an ARGB (depth-32) visual on request.
//! - WM protocols: `WM_DELETE_WINDOW` becomes [`WindowEvent::CloseRequested`],
//!   `_NET_WM_PING` is answered, and `_NET_WM_SYNC_REQUEST` is honoured with an XSync
//!   counter that is updated by the first [`Window::flush`] after a resize, so a
//!   compositing window manager never shows a frame of the wrong size.
//! - The event pump ([`Window::poll_event`], [`Window::wait_event`]) yields a small
//!   [`WindowEvent`]: Expose series merged into one [`Region`], resizes, pointer, keys
//!   with keysyms, focus. The attached store gets its own events (`ShmCompletion`, ...)
//!   without the app seeing them, resizes with the window and repairs Expose from its
//!   retained pixels.
//! - Many windows on one connection: [`Display`] reads every event once and routes it
//!   to its window and store; [`WindowBuilder::popup`] (menus, drop-downs, tooltips,
//!   with an optional grab) and [`WindowBuilder::dialog`]; waiting with a deadline
//!   ([`Display::wait_event_timeout`]) and a [`Waker`] for other threads.
//! - Themed cursors by name ([`Window::set_cursor`]), cached, with the core cursor font
//!   as the fallback; a HiDPI [`Window::scale_factor`] from `Xft.dpi`.
//! - raw-window-handle 0.6, so softbuffer or wgpu can draw into an xbs window.
//!
//! ```
//! use xbs::{Rect, Region};
//! use xbs_window::{Window, WindowEvent};
//! # let server = xbs_tests::XServer::start()?;
//! # let (conn, screen) = server.connect()?;
//! let mut window = Window::builder()
//!     .title("hello")
//!     .size(320, 200)
//!     .build(std::sync::Arc::new(conn), screen)?;
//! window.attach_store(xbs::Options::default())?;
//! window.map()?;
//! let all = Region::from(Rect::new(0, 0, 320, 200));
//! window.store_mut().unwrap().begin_paint(&all)?.fill(Rect::new(0, 0, 320, 200), 0xff20_4060);
//! window.flush(&all)?;
//! while let Some(event) = window.poll_event()? {
//!     match event {
//!         WindowEvent::CloseRequested => break,
//!         WindowEvent::Resized { .. } => { /* repaint the new area, then flush */ }
//!         _ => {}
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(unsafe_code)]
#![deny(missing_docs)]

mod builder;
mod context;
mod cursor;
mod display;
mod error;
mod event;
mod frame_clock;
mod handle;
mod keymap;
mod surface;
mod toolkit_connection;
mod wm;

use std::sync::Arc;

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    AtomEnum, ConfigureWindowAux, ConnectionExt as _, EventMask, GrabMode, GrabStatus, PropMode,
};
use x11rb::wrapper::ConnectionExt as _;
use xbs::{BackingStore, Options, Region};
use xbs_shm::RequestError as _;

pub use builder::{PopupKind, WindowBuilder, MAX_SIZE};
pub use context::{Context, ToolkitStore};
pub use cursor::CursorSource;
pub use display::{ConnectionFd, Display, Waker, WindowId};
pub use error::Error;
pub use event::{Key, WindowEvent};
pub use frame_clock::FrameSource;
pub use surface::{Buffer, Rect, Surface};
pub use toolkit_connection::ToolkitConnection;

use builder::{check_nul, check_size};
use cursor::Cursors;
use event::{AskedSizes, ExposeSeries};
use frame_clock::FrameClock;
use keymap::Keymap;
use wm::{Atoms, SyncCounter};

/// A top-level X11 window with WM protocols, an event pump and, once attached, a
/// [`BackingStore`] that follows it.
pub struct Window<C: Connection> {
    // Drop order: the store before the window it draws to.
    store: Option<BackingStore<Arc<C>>>,
    conn: Arc<C>,
    screen: usize,
    id: u32,
    visual: u32,
    depth: u8,
    colormap: Option<u32>,
    atoms: Atoms,
    /// The window's size (which may exceed what the store backs: [`MAX_SIZE`]).
    width: u32,
    height: u32,
    expose: ExposeSeries,
    /// The sizes asked by [`Window::set_size`]: ConfigureNotify events answering
    /// ones the app has since replaced are stale.
    asked: AskedSizes,
    sync: SyncCounter,
    keymap: Keymap,
    cursors: Cursors,
    scale: f64,
    destroyed: bool,
    /// A popup that takes the pointer and keyboard when mapped.
    grab: bool,
    clock: FrameClock,
}

impl Window<x11rb::rust_connection::RustConnection> {
    /// A builder with defaults: 640×480, no title, class `xbs`/`Xbs`, the screen's
    /// default visual. The connection type comes with [`WindowBuilder::build`]: any
    /// x11rb connection, `RustConnection` or `XCBConnection`.
    pub fn builder() -> WindowBuilder {
        WindowBuilder::default()
    }
}

impl Window<xbs::OwnConnection> {
    /// Connects to `$DISPLAY` with [`xbs::connect`] and builds a window there with
    /// `builder`.
    pub fn connect(builder: WindowBuilder) -> Result<Self, Error> {
        let (conn, screen) = xbs::connect(None)?;
        builder.build(Arc::new(conn), screen)
    }
}

impl<C: Connection> Window<C> {
    fn alive(&self) -> Result<(), Error> {
        if self.destroyed {
            Err(Error::Destroyed)
        } else {
            Ok(())
        }
    }

    /// The window id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The window's visual id.
    pub fn visual(&self) -> u32 {
        self.visual
    }

    /// The window's depth (32 for ARGB windows).
    pub fn depth(&self) -> u8 {
        self.depth
    }

    /// The screen number.
    pub fn screen(&self) -> usize {
        self.screen
    }

    /// The size last reported by the server (or asked for at creation).
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The connection.
    pub fn connection(&self) -> &Arc<C> {
        &self.conn
    }

    /// The XSync counter announced in `_NET_WM_SYNC_REQUEST_COUNTER`, if any.
    pub fn sync_counter(&self) -> Option<u32> {
        self.sync.id()
    }

    /// The HiDPI scale factor: `Xft.dpi` / 96, or 1.0 when it is not set.
    pub fn scale_factor(&self) -> f64 {
        self.scale
    }

    /// Shows the window. A popup made with [`WindowBuilder::grab`] then takes the
    /// pointer and the keyboard (one round trip each); a grab the server refuses is
    /// [`Error::Grab`], with the popup left mapped.
    pub fn map(&self) -> Result<(), Error> {
        self.alive()?;
        let conn = &*self.conn;
        conn.map_window(self.id).map_err(Error::conn("MapWindow"))?;
        if !self.grab {
            return conn.flush().map_err(Error::conn("flush"));
        }
        // An override-redirect window is viewable once the server has mapped it, which
        // it does before it reads the grabs (if the parent shows).
        let events = EventMask::BUTTON_PRESS
            | EventMask::BUTTON_RELEASE
            | EventMask::POINTER_MOTION
            | EventMask::ENTER_WINDOW
            | EventMask::LEAVE_WINDOW;
        let pointer = conn
            .grab_pointer(
                false,
                self.id,
                events,
                GrabMode::ASYNC,
                GrabMode::ASYNC,
                x11rb::NONE,
                x11rb::NONE,
                x11rb::CURRENT_TIME,
            )
            .map_err(Error::conn("GrabPointer"))?;
        let keyboard = conn
            .grab_keyboard(
                false,
                self.id,
                x11rb::CURRENT_TIME,
                GrabMode::ASYNC,
                GrabMode::ASYNC,
            )
            .map_err(Error::conn("GrabKeyboard"))?;
        let pointer = pointer.reply().map_err(Error::reply("GrabPointer"))?.status;
        let keyboard = keyboard
            .reply()
            .map_err(Error::reply("GrabKeyboard"))?
            .status;
        for (what, status) in [("pointer", pointer), ("keyboard", keyboard)] {
            if status != GrabStatus::SUCCESS {
                return Err(Error::Grab {
                    what,
                    status: format!("{status:?}"),
                });
            }
        }
        Ok(())
    }

    /// Asks for one [`WindowEvent::Frame`] at the display's next vblank (Present's
    /// `PresentNotifyMSC`; a timer at the refresh rate where the server has no
    /// Present). Asking again before it came changes nothing: one frame comes.
    pub fn request_frame(&mut self) -> Result<(), Error> {
        self.alive()?;
        self.clock.request(&*self.conn, self.id)
    }

    /// Where frames come from, once one was asked for.
    pub fn frame_source(&self) -> Option<FrameSource> {
        self.clock.source()
    }

    /// Frames delivered so far.
    pub fn frames(&self) -> u64 {
        self.clock.frames
    }

    /// The timer's next frame, when it stands in for Present and one was asked for.
    pub(crate) fn frame_due(&self) -> Option<std::time::Instant> {
        self.clock.due()
    }

    /// The timer's frame if it is due.
    pub(crate) fn fire_frame(&mut self, now: std::time::Instant) -> Option<WindowEvent> {
        self.clock.fire(now)
    }

    /// Hides the window (and, for a grabbing popup, gives the grabs back) without
    /// destroying it: a popup shown again with [`map`](Self::map) costs no new window,
    /// store or segment.
    pub fn unmap(&self) -> Result<(), Error> {
        self.alive()?;
        let conn = &*self.conn;
        if self.grab {
            conn.ungrab_pointer(x11rb::CURRENT_TIME)
                .map_err(Error::conn("UngrabPointer"))?;
            conn.ungrab_keyboard(x11rb::CURRENT_TIME)
                .map_err(Error::conn("UngrabKeyboard"))?;
        }
        conn.unmap_window(self.id)
            .map_err(Error::conn("UnmapWindow"))?;
        conn.flush().map_err(Error::conn("flush"))
    }

    /// Asks for a new size (each 1..=[`MAX_SIZE`]), and resizes the attached store at once, so the app can
    /// paint and flush the new size now rather than after a ConfigureNotify has come
    /// back. The pump then takes no ConfigureNotify sent before this request as the
    /// window's size: during a run of `set_size` calls, the notification of an older
    /// size arrives after a newer size was set, and would shrink or grow the store back
    /// for one frame. A window manager that gives another size than asked is still
    /// followed: its ConfigureNotify comes after the request.
    ///
    /// Resize the window through this, not a `ConfigureWindow` of your own, when a
    /// store is attached.
    pub fn set_size(&mut self, width: u32, height: u32) -> Result<(), Error> {
        self.alive()?;
        check_size(width, height)?;
        if let Some(store) = &mut self.store {
            store.resize(width, height)?;
        }
        let cookie = self
            .conn
            .configure_window(
                self.id,
                &ConfigureWindowAux::new().width(width).height(height),
            )
            .map_err(Error::conn("ConfigureWindow"))?;
        self.asked.asked((width, height), cookie.sequence_number());
        self.width = width;
        self.height = height;
        self.conn.flush().map_err(Error::conn("flush"))
    }

    /// Sets the title: `_NET_WM_NAME` (UTF-8) and `WM_NAME`. Checked: fails on a
    /// destroyed window.
    pub fn set_title(&self, title: &str) -> Result<(), Error> {
        self.alive()?;
        check_nul("title", title)?;
        let conn = &*self.conn;
        conn.change_property8(
            PropMode::REPLACE,
            self.id,
            self.atoms._NET_WM_NAME,
            self.atoms.UTF8_STRING,
            title.as_bytes(),
        )
        .map_err(Error::conn("ChangeProperty _NET_WM_NAME"))?;
        // WM_NAME is Latin-1 STRING for old window managers; UTF8_STRING otherwise
        // (as GTK and Qt do), so no character is lost.
        let ty = if title.is_ascii() {
            AtomEnum::STRING.into()
        } else {
            self.atoms.UTF8_STRING
        };
        conn.change_property8(
            PropMode::REPLACE,
            self.id,
            AtomEnum::WM_NAME,
            ty,
            title.as_bytes(),
        )
        .map_err(Error::conn("ChangeProperty WM_NAME"))?
        .check()
        .map_err(Error::reply("ChangeProperty WM_NAME"))
    }

    /// Sets the pointer shape over the window by its name in the user's cursor theme
    /// ("default", "text", "pointer", "wait", "crosshair", "move", ... or a theme's own
    /// names), falling back to the core cursor font. Cursors are cached per name.
    pub fn set_cursor(&mut self, name: &str) -> Result<CursorSource, Error> {
        self.alive()?;
        let (cursor, source) = self.cursors.get(&*self.conn, self.screen, name)?;
        self.conn
            .change_window_attributes(
                self.id,
                &x11rb::protocol::xproto::ChangeWindowAttributesAux::new().cursor(cursor),
            )
            .map_err(Error::conn("ChangeWindowAttributes"))?
            .check()
            .map_err(Error::reply("ChangeWindowAttributes"))?;
        Ok(source)
    }

    /// Makes a [`BackingStore`] for this window; from now on it resizes with the window,
    /// repairs Expose on its own and takes its events from the pump.
    pub fn attach_store(&mut self, options: Options) -> Result<(), Error> {
        self.alive()?;
        self.store = None;
        self.store = Some(BackingStore::new(self.conn.clone(), self.id, options)?);
        Ok(())
    }

    /// The attached store.
    pub fn store(&self) -> Option<&BackingStore<Arc<C>>> {
        self.store.as_ref()
    }

    /// The attached store, to paint (`begin_paint`) or scroll.
    pub fn store_mut(&mut self) -> Option<&mut BackingStore<Arc<C>>> {
        self.store.as_mut()
    }

    /// Flushes `region` of the attached store and, if the window manager asked for a
    /// sync after a resize that has now arrived, advances the sync counter: the frame of
    /// the new size is out.
    pub fn flush(&mut self, region: &Region) -> Result<(), Error> {
        self.alive()?;
        if let Some(store) = &mut self.store {
            store.flush(region)?;
        }
        self.sync.flushed(&*self.conn)
    }

    /// Destroys the window and frees everything, waiting for the server's answers.
    pub fn close(mut self) -> Result<(), Error> {
        let store = self
            .store
            .take()
            .map_or(Ok(()), |s| s.close().map_err(Error::from));
        let freed = self.release(true);
        store.and(freed)
    }

    fn release(&mut self, checked: bool) -> Result<(), Error> {
        let conn = &*self.conn;
        let mut first: Result<(), Error> = Ok(());
        let mut keep = |r: Result<(), Error>| {
            if first.is_ok() {
                first = r;
            }
        };
        keep(self.cursors.free(conn));
        if !self.destroyed {
            self.destroyed = true;
            match conn.destroy_window(self.id) {
                Ok(c) if checked => keep(c.check().map_err(Error::reply("DestroyWindow"))),
                Ok(c) => c.ignore_error(),
                Err(e) => keep(Err(Error::conn("DestroyWindow")(e))),
            }
        }
        self.sync.destroy(conn);
        if let Some(cmap) = self.colormap.take() {
            if let Ok(c) = conn.free_colormap(cmap) {
                c.ignore_error();
            }
        }
        keep(conn.flush().map_err(Error::conn("flush")));
        first
    }
}

impl<C: Connection> Drop for Window<C> {
    fn drop(&mut self) {
        self.store = None;
        if let Err(e) = self.release(false) {
            log::debug!("releasing a window: {e}");
        }
    }
}
