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

mod cursor;
mod error;
mod handle;

use std::sync::Arc;

use x11rb::connection::Connection;
use x11rb::properties::WmSizeHints;
use x11rb::protocol::sync::{self, ConnectionExt as _};
use x11rb::protocol::xproto::{
    AtomEnum, ClientMessageEvent, ColormapAlloc, ConfigureWindowAux, ConnectionExt as _,
    CreateWindowAux, EventMask, Keycode, Keysym, PropMode, VisualClass, WindowClass,
};
use x11rb::protocol::Event;
use x11rb::wrapper::ConnectionExt as _;
use xbs::{BackingStore, Options, Rect, Region};

pub use cursor::CursorSource;
pub use error::Error;

x11rb::atom_manager! {
    /// The atoms the window uses.
    Atoms: AtomsCookie {
        WM_PROTOCOLS,
        WM_DELETE_WINDOW,
        _NET_WM_PING,
        _NET_WM_SYNC_REQUEST,
        _NET_WM_SYNC_REQUEST_COUNTER,
        _NET_WM_NAME,
        _NET_WM_PID,
        UTF8_STRING,
    }
}

/// Something that happened to a window, as the app needs to know it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum WindowEvent {
    /// Parts of the window were exposed: every rect of one Expose series, merged. When a
    /// store is attached it has already repaired them from its retained pixels.
    Expose(Region),
    /// The window's size changed; an attached store has been resized (content kept
    /// where it still fits). Paint and flush the new area.
    Resized {
        /// New width.
        width: u32,
        /// New height.
        height: u32,
    },
    /// The user asked to close the window (`WM_DELETE_WINDOW`).
    CloseRequested,
    /// The pointer moved inside the window.
    PointerMoved {
        /// Position in the window.
        x: i32,
        /// Position in the window.
        y: i32,
    },
    /// A pointer button was pressed (1 left, 2 middle, 3 right, 4/5 wheel).
    ButtonPressed {
        /// Button number.
        button: u8,
        /// Position in the window.
        x: i32,
        /// Position in the window.
        y: i32,
    },
    /// A pointer button was released.
    ButtonReleased {
        /// Button number.
        button: u8,
        /// Position in the window.
        x: i32,
        /// Position in the window.
        y: i32,
    },
    /// The pointer entered the window.
    PointerEntered,
    /// The pointer left the window.
    PointerLeft,
    /// A key was pressed.
    KeyPressed(Key),
    /// A key was released.
    KeyReleased(Key),
    /// The window gained (`true`) or lost keyboard focus.
    Focus(bool),
    /// The window was destroyed; the window can no longer be used.
    Destroyed,
    /// Any other event on the connection (for other windows, or not interpreted here).
    Other(Box<Event>),
}

/// A key event: the hardware keycode and the keysym it means with the modifiers held
/// (shift level only; compose and input methods are out of scope).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// The keycode.
    pub keycode: Keycode,
    /// The keysym (`0x71` is `q`, `0xff1b` Escape, ...), 0 if the key has none.
    pub keysym: Keysym,
    /// The modifier mask (`KeyButMask`).
    pub state: u16,
}

/// How a [`Window`] is made. See [`Window::builder`].
#[derive(Clone, Debug)]
pub struct WindowBuilder {
    title: String,
    size: (u32, u32),
    min_size: Option<(u32, u32)>,
    class: (String, String),
    argb: bool,
}

impl Default for WindowBuilder {
    fn default() -> Self {
        WindowBuilder {
            title: String::new(),
            size: (640, 480),
            min_size: None,
            class: ("xbs".into(), "Xbs".into()),
            argb: false,
        }
    }
}

impl WindowBuilder {
    /// The title (UTF-8, no NUL).
    pub fn title(mut self, title: &str) -> Self {
        self.title = title.into();
        self
    }

    /// The initial size in pixels (1..=65535 each).
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.size = (width, height);
        self
    }

    /// The smallest size the window manager should allow.
    pub fn min_size(mut self, width: u32, height: u32) -> Self {
        self.min_size = Some((width, height));
        self
    }

    /// `WM_CLASS`: instance and class names.
    pub fn class(mut self, instance: &str, class: &str) -> Self {
        self.class = (instance.into(), class.into());
        self
    }

    /// A depth-32 ARGB visual with its own colormap, for translucent windows.
    pub fn argb(mut self, argb: bool) -> Self {
        self.argb = argb;
        self
    }

    /// Creates the window (unmapped) on `screen` of `conn`.
    pub fn build<C: Connection>(self, conn: Arc<C>, screen: usize) -> Result<Window<C>, Error> {
        Window::create(self, conn, screen)
    }
}

fn check_size(width: u32, height: u32) -> Result<(u16, u16), Error> {
    match (u16::try_from(width), u16::try_from(height)) {
        (Ok(w), Ok(h)) if w > 0 && h > 0 => Ok((w, h)),
        _ => Err(Error::Size { width, height }),
    }
}

fn check_nul(what: &'static str, s: &str) -> Result<(), Error> {
    match s.bytes().position(|b| b == 0) {
        Some(at) => Err(Error::Nul { what, at }),
        None => Ok(()),
    }
}

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
    width: u32,
    height: u32,
    /// Rects of the Expose series being received, and the highest sequence number of
    /// its events (`None` once one came without a number).
    expose: Region,
    expose_seq: Option<u64>,
    /// The sequence number of the last size change asked by [`Window::set_size`]:
    /// ConfigureNotify events from before it are stale.
    size_seq: u64,
    sync_counter: Option<u32>,
    /// The value a `_NET_WM_SYNC_REQUEST` asked for, and whether the ConfigureNotify
    /// it announced has arrived.
    sync_pending: Option<(sync::Int64, bool)>,
    keymap: Keymap,
    cursors: cursor::Cursors,
    scale: f64,
    destroyed: bool,
}

impl Window<x11rb::rust_connection::RustConnection> {
    /// A builder with defaults: 640×480, no title, class `xbs`/`Xbs`, the screen's
    /// default visual. The connection type comes with [`WindowBuilder::build`]: any
    /// x11rb connection, `RustConnection` or `XCBConnection`.
    pub fn builder() -> WindowBuilder {
        WindowBuilder::default()
    }

    /// Connects to `$DISPLAY` and builds a window there with `builder`.
    pub fn connect(builder: WindowBuilder) -> Result<Self, Error> {
        let (conn, screen) = x11rb::connect(None)?;
        builder.build(Arc::new(conn), screen)
    }
}

impl<C: Connection> Window<C> {
    fn create(b: WindowBuilder, conn: Arc<C>, screen_num: usize) -> Result<Self, Error> {
        let (w, h) = check_size(b.size.0, b.size.1)?;
        if let Some((mw, mh)) = b.min_size {
            check_size(mw, mh)?;
        }
        check_nul("title", &b.title)?;
        check_nul("class", &b.class.0)?;
        check_nul("class", &b.class.1)?;
        let screen = conn
            .setup()
            .roots
            .get(screen_num)
            .ok_or(Error::NoScreen(screen_num))?
            .clone();
        let atoms = Atoms::new(&*conn)
            .map_err(Error::conn("InternAtom"))?
            .reply()
            .map_err(Error::reply("InternAtom"))?;
        let id = conn.generate_id().map_err(Error::id("CreateWindow"))?;
        let events = EventMask::EXPOSURE
            | EventMask::STRUCTURE_NOTIFY
            | EventMask::KEY_PRESS
            | EventMask::KEY_RELEASE
            | EventMask::BUTTON_PRESS
            | EventMask::BUTTON_RELEASE
            | EventMask::POINTER_MOTION
            | EventMask::ENTER_WINDOW
            | EventMask::LEAVE_WINDOW
            | EventMask::FOCUS_CHANGE;
        let mut aux = CreateWindowAux::new().event_mask(events).bit_gravity(
            // Keep the top-left content on resize, as the store does.
            x11rb::protocol::xproto::Gravity::NORTH_WEST,
        );
        let (depth, visual, colormap) = if b.argb {
            let visual = screen
                .allowed_depths
                .iter()
                .filter(|d| d.depth == 32)
                .flat_map(|d| &d.visuals)
                .find(|v| v.class == VisualClass::TRUE_COLOR)
                .ok_or(Error::NoArgbVisual)?
                .visual_id;
            let cmap = conn.generate_id().map_err(Error::id("CreateColormap"))?;
            conn.create_colormap(ColormapAlloc::NONE, cmap, screen.root, visual)
                .map_err(Error::conn("CreateColormap"))?
                .check()
                .map_err(Error::reply("CreateColormap"))?;
            aux = aux.colormap(cmap).border_pixel(0).background_pixel(0);
            (32, visual, Some(cmap))
        } else {
            aux = aux.background_pixel(screen.black_pixel);
            (screen.root_depth, screen.root_visual, None)
        };
        let made = conn
            .create_window(
                depth,
                id,
                screen.root,
                0,
                0,
                w,
                h,
                0,
                WindowClass::INPUT_OUTPUT,
                visual,
                &aux,
            )
            .map_err(Error::conn("CreateWindow"))?
            .check()
            .map_err(Error::reply("CreateWindow"));
        if let Err(e) = made {
            if let Some(cmap) = colormap {
                let _ = conn.free_colormap(cmap);
            }
            return Err(e);
        }
        let keymap = Keymap::load(&*conn)?;
        let db = x11rb::resource_manager::new_from_default(&*conn)
            .map_err(Error::reply("GetProperty RESOURCE_MANAGER"))?;
        let scale = scale_factor(&db);
        let mut window = Window {
            store: None,
            conn,
            screen: screen_num,
            id,
            visual,
            depth,
            colormap,
            atoms,
            width: u32::from(w),
            height: u32::from(h),
            expose: Region::new(),
            expose_seq: Some(0),
            size_seq: 0,
            sync_counter: None,
            sync_pending: None,
            keymap,
            cursors: cursor::Cursors::new(db),
            scale,
            destroyed: false,
        };
        window.set_properties(&b)?;
        Ok(window)
    }

    fn set_properties(&mut self, b: &WindowBuilder) -> Result<(), Error> {
        let (conn, id, atoms) = (&*self.conn, self.id, self.atoms);
        self.set_title(&b.title)?;
        let class = format!("{}\0{}\0", b.class.0, b.class.1);
        conn.change_property8(
            PropMode::REPLACE,
            id,
            AtomEnum::WM_CLASS,
            AtomEnum::STRING,
            class.as_bytes(),
        )
        .map_err(Error::conn("ChangeProperty WM_CLASS"))?;
        conn.change_property32(
            PropMode::REPLACE,
            id,
            atoms._NET_WM_PID,
            AtomEnum::CARDINAL,
            &[std::process::id()],
        )
        .map_err(Error::conn("ChangeProperty _NET_WM_PID"))?;
        // _NET_WM_PID is only meaningful with WM_CLIENT_MACHINE (EWMH).
        if let Ok(host) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
            conn.change_property8(
                PropMode::REPLACE,
                id,
                AtomEnum::WM_CLIENT_MACHINE,
                AtomEnum::STRING,
                host.trim().as_bytes(),
            )
            .map_err(Error::conn("ChangeProperty WM_CLIENT_MACHINE"))?;
        }
        let mut hints = WmSizeHints::new();
        if let Some((mw, mh)) = b.min_size {
            hints.min_size = Some((mw as i32, mh as i32));
        }
        hints
            .set_normal_hints(conn, id)
            .map_err(Error::conn("ChangeProperty WM_NORMAL_HINTS"))?;
        let mut protocols = vec![atoms.WM_DELETE_WINDOW, atoms._NET_WM_PING];
        if let Some(counter) = self.make_sync_counter()? {
            conn.change_property32(
                PropMode::REPLACE,
                id,
                atoms._NET_WM_SYNC_REQUEST_COUNTER,
                AtomEnum::CARDINAL,
                &[counter],
            )
            .map_err(Error::conn("ChangeProperty _NET_WM_SYNC_REQUEST_COUNTER"))?;
            protocols.push(atoms._NET_WM_SYNC_REQUEST);
            self.sync_counter = Some(counter);
        }
        conn.change_property32(
            PropMode::REPLACE,
            id,
            atoms.WM_PROTOCOLS,
            AtomEnum::ATOM,
            &protocols,
        )
        .map_err(Error::conn("ChangeProperty WM_PROTOCOLS"))?
        .check()
        .map_err(Error::reply("ChangeProperty WM_PROTOCOLS"))?;
        Ok(())
    }

    /// An XSync counter at 0, if the server has SYNC.
    fn make_sync_counter(&self) -> Result<Option<u32>, Error> {
        let conn = &*self.conn;
        let has_sync = conn
            .extension_information(sync::X11_EXTENSION_NAME)
            .map_err(Error::conn("QueryExtension SYNC"))?
            .is_some();
        if !has_sync {
            return Ok(None);
        }
        conn.sync_initialize(3, 1)
            .map_err(Error::conn("SyncInitialize"))?
            .reply()
            .map_err(Error::reply("SyncInitialize"))?;
        let counter = conn.generate_id().map_err(Error::id("SyncCreateCounter"))?;
        conn.sync_create_counter(counter, sync::Int64 { hi: 0, lo: 0 })
            .map_err(Error::conn("SyncCreateCounter"))?
            .check()
            .map_err(Error::reply("SyncCreateCounter"))?;
        Ok(Some(counter))
    }

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
        self.sync_counter
    }

    /// The HiDPI scale factor: `Xft.dpi` / 96, or 1.0 when it is not set.
    pub fn scale_factor(&self) -> f64 {
        self.scale
    }

    /// Shows the window.
    pub fn map(&self) -> Result<(), Error> {
        self.alive()?;
        self.conn
            .map_window(self.id)
            .map_err(Error::conn("MapWindow"))?;
        self.conn.flush().map_err(Error::conn("flush"))
    }

    /// Asks for a new size, and resizes the attached store at once, so the app can
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
        self.size_seq = cookie.sequence_number();
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
        if let (Some(counter), Some((value, true))) = (self.sync_counter, self.sync_pending) {
            self.conn
                .sync_set_counter(counter, value)
                .map_err(Error::conn("SyncSetCounter"))?;
            self.sync_pending = None;
            self.conn.flush().map_err(Error::conn("flush"))?;
        }
        Ok(())
    }

    /// The next event if one is queued, without blocking.
    pub fn poll_event(&mut self) -> Result<Option<WindowEvent>, Error> {
        loop {
            let Some((event, seq)) = self
                .conn
                .poll_for_event_with_sequence()
                .map_err(Error::conn("poll"))?
            else {
                return Ok(None);
            };
            if let Some(e) = self.process_with_sequence(event, seq)? {
                return Ok(Some(e));
            }
        }
    }

    /// The next event, blocking until there is one.
    pub fn wait_event(&mut self) -> Result<WindowEvent, Error> {
        loop {
            let (event, seq) = self
                .conn
                .wait_for_event_with_sequence()
                .map_err(Error::conn("wait"))?;
            if let Some(e) = self.process_with_sequence(event, seq)? {
                return Ok(e);
            }
        }
    }

    /// Interprets one event; `None` when it was consumed (by the store or the protocols).
    /// Prefer [`process_with_sequence`](Self::process_with_sequence) when the event's
    /// sequence number is at hand: without it, an Expose is repaired in full even where
    /// a later flush has repainted it.
    pub fn process(&mut self, event: Event) -> Result<Option<WindowEvent>, Error> {
        self.process_inner(event, None)
    }

    /// Interprets one event with the sequence number x11rb reports for it
    /// (`poll_for_event_with_sequence`), so that the attached store repairs an Expose
    /// only where no flush since has ([`BackingStore::expose_at`]).
    pub fn process_with_sequence(
        &mut self,
        event: Event,
        sequence: u64,
    ) -> Result<Option<WindowEvent>, Error> {
        self.process_inner(event, Some(sequence))
    }

    fn process_inner(
        &mut self,
        event: Event,
        sequence: Option<u64>,
    ) -> Result<Option<WindowEvent>, Error> {
        if let Some(store) = &mut self.store {
            if store.handle_event(&event) {
                return Ok(None);
            }
        }
        let me = self.id;
        Ok(Some(match event {
            Event::Expose(e) if e.window == me => {
                self.expose.add_rect(Rect::new(
                    e.x.into(),
                    e.y.into(),
                    e.width.into(),
                    e.height.into(),
                ));
                // A flush must come after every event of the series to count.
                self.expose_seq = self.expose_seq.zip(sequence).map(|(a, b)| a.max(b));
                if e.count > 0 {
                    return Ok(None);
                }
                let region = std::mem::take(&mut self.expose);
                let seq = self.expose_seq.replace(0);
                if let Some(store) = &mut self.store {
                    match seq {
                        Some(seq) => store.expose_at(&region, seq)?,
                        None => store.expose(&region)?,
                    }
                }
                WindowEvent::Expose(region)
            }
            Event::ConfigureNotify(e) if e.window == me => {
                if let Some((_, configured)) = &mut self.sync_pending {
                    *configured = true;
                }
                let (w, h) = (u32::from(e.width), u32::from(e.height));
                let stale = sequence.is_some_and(|seq| seq < self.size_seq);
                if stale || (w, h) == (self.width, self.height) {
                    return Ok(None);
                }
                self.width = w;
                self.height = h;
                if let Some(store) = &mut self.store {
                    store.resize(w, h)?;
                }
                WindowEvent::Resized {
                    width: w,
                    height: h,
                }
            }
            Event::ClientMessage(e) if e.window == me && e.type_ == self.atoms.WM_PROTOCOLS => {
                let data = e.data.as_data32();
                let a = &self.atoms;
                if data[0] == a.WM_DELETE_WINDOW {
                    WindowEvent::CloseRequested
                } else if data[0] == a._NET_WM_PING {
                    self.pong(e)?;
                    return Ok(None);
                } else if data[0] == a._NET_WM_SYNC_REQUEST {
                    let value = sync::Int64 {
                        lo: data[2],
                        hi: data[3] as i32,
                    };
                    self.sync_pending = Some((value, false));
                    return Ok(None);
                } else {
                    WindowEvent::Other(Box::new(Event::ClientMessage(e)))
                }
            }
            Event::MotionNotify(e) if e.event == me => WindowEvent::PointerMoved {
                x: e.event_x.into(),
                y: e.event_y.into(),
            },
            Event::ButtonPress(e) if e.event == me => WindowEvent::ButtonPressed {
                button: e.detail,
                x: e.event_x.into(),
                y: e.event_y.into(),
            },
            Event::ButtonRelease(e) if e.event == me => WindowEvent::ButtonReleased {
                button: e.detail,
                x: e.event_x.into(),
                y: e.event_y.into(),
            },
            Event::EnterNotify(e) if e.event == me => WindowEvent::PointerEntered,
            Event::LeaveNotify(e) if e.event == me => WindowEvent::PointerLeft,
            Event::KeyPress(e) if e.event == me => {
                WindowEvent::KeyPressed(self.keymap.key(e.detail, e.state.into()))
            }
            Event::KeyRelease(e) if e.event == me => {
                WindowEvent::KeyReleased(self.keymap.key(e.detail, e.state.into()))
            }
            Event::FocusIn(e) if e.event == me => WindowEvent::Focus(true),
            Event::FocusOut(e) if e.event == me => WindowEvent::Focus(false),
            Event::MappingNotify(_) => {
                self.keymap = Keymap::load(&*self.conn)?;
                return Ok(None);
            }
            Event::DestroyNotify(e) if e.window == me => {
                self.destroyed = true;
                // Its pixels have nowhere to go; the store's own resources stay valid
                // and are freed on drop.
                WindowEvent::Destroyed
            }
            other => WindowEvent::Other(Box::new(other)),
        }))
    }

    /// Answers `_NET_WM_PING`: the same message, sent back to the root window.
    fn pong(&self, mut e: ClientMessageEvent) -> Result<(), Error> {
        let root = self.conn.setup().roots[self.screen].root;
        e.window = root;
        self.conn
            .send_event(
                false,
                root,
                EventMask::SUBSTRUCTURE_NOTIFY | EventMask::SUBSTRUCTURE_REDIRECT,
                e,
            )
            .map_err(Error::conn("SendEvent _NET_WM_PING"))?;
        self.conn.flush().map_err(Error::conn("flush"))
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
        if let Some(counter) = self.sync_counter.take() {
            if let Ok(c) = conn.sync_destroy_counter(counter) {
                c.ignore_error();
            }
        }
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

/// `Xft.dpi` / 96, clamped to a sane range; 1.0 when unset or unreadable.
fn scale_factor(db: &x11rb::resource_manager::Database) -> f64 {
    match db.get_value::<String>("Xft.dpi", "") {
        Ok(Some(v)) => match v.trim().parse::<f64>() {
            Ok(dpi) if dpi.is_finite() && dpi > 0.0 => (dpi / 96.0).clamp(0.25, 8.0),
            _ => 1.0,
        },
        _ => 1.0,
    }
}

/// The keyboard mapping: keysyms per keycode.
struct Keymap {
    min: u8,
    per: usize,
    syms: Vec<Keysym>,
}

impl Keymap {
    fn load(conn: &impl Connection) -> Result<Self, Error> {
        let setup = conn.setup();
        let (min, max) = (setup.min_keycode, setup.max_keycode);
        let reply = conn
            .get_keyboard_mapping(min, max.saturating_sub(min).saturating_add(1))
            .map_err(Error::conn("GetKeyboardMapping"))?
            .reply()
            .map_err(Error::reply("GetKeyboardMapping"))?;
        Ok(Keymap {
            min,
            per: usize::from(reply.keysyms_per_keycode),
            syms: reply.keysyms,
        })
    }

    fn key(&self, keycode: Keycode, state: u16) -> Key {
        let base = usize::from(keycode.saturating_sub(self.min)) * self.per;
        let sym = |i: usize| {
            if i < self.per {
                self.syms.get(base + i).copied().unwrap_or(0)
            } else {
                0
            }
        };
        let shift = state & u16::from(x11rb::protocol::xproto::KeyButMask::SHIFT) != 0;
        let keysym = match (shift, sym(1)) {
            (true, s) if s != 0 => s,
            _ => sym(0),
        };
        Key {
            keycode,
            keysym,
            state,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_strings_are_checked() {
        assert!(check_size(1, 65535).is_ok());
        for (w, h) in [(0, 1), (1, 0), (65536, 1), (1, u32::MAX)] {
            assert!(
                matches!(check_size(w, h), Err(Error::Size { width, height }) if (width, height) == (w, h))
            );
        }
        assert!(matches!(
            check_nul("title", "a\0b"),
            Err(Error::Nul { at: 1, .. })
        ));
        assert!(check_nul("title", "ünïcødé").is_ok());
    }
}
