//! [`WindowBuilder`]: what a window is made with, checked before anything is sent;
//! and making it: the window, its visual and colormap, its properties.

use std::sync::Arc;

use x11rb::connection::Connection;
use x11rb::properties::WmSizeHints;
use x11rb::protocol::xproto::{
    AtomEnum, ColormapAlloc, ConnectionExt as _, CreateWindowAux, EventMask, PropMode, VisualClass,
    WindowClass,
};
use x11rb::wrapper::ConnectionExt as _;
use xbs_shm::RequestError as _;

use crate::cursor::Cursors;
use crate::event::{AskedSizes, ExposeSeries};
use crate::keymap::Keymap;
use crate::wm::{Atoms, SyncCounter};
use crate::{Error, Window};

/// The largest width or height of a window made here, and of the part of a window a
/// store backs: X11 coordinates are 16-bit signed ([`xbs::MAX_DIMENSION`]). A window
/// made larger by someone else still works; its store covers the top-left
/// `MAX_SIZE` × `MAX_SIZE`.
pub const MAX_SIZE: u32 = xbs::MAX_DIMENSION;

/// How a [`Window`] is made. See [`Window::builder`].
#[derive(Clone, Debug)]
pub struct WindowBuilder {
    title: String,
    size: (u32, u32),
    min_size: Option<(u32, u32)>,
    class: (String, String),
    argb: bool,
    pub(crate) role: Role,
    position: (i32, i32),
    pub(crate) grab: bool,
}

/// What a popup is, for the window manager and compositor (`_NET_WM_WINDOW_TYPE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PopupKind {
    /// A context menu (`_NET_WM_WINDOW_TYPE_POPUP_MENU`).
    Menu,
    /// A menu dropped down from a menu bar or a combo box
    /// (`_NET_WM_WINDOW_TYPE_DROPDOWN_MENU`).
    Dropdown,
    /// A tooltip (`_NET_WM_WINDOW_TYPE_TOOLTIP`).
    Tooltip,
}

/// A top-level window, a popup or a dialog, and the window it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    TopLevel,
    Popup { parent: u32, kind: PopupKind },
    Dialog { parent: u32 },
}

impl Default for WindowBuilder {
    fn default() -> Self {
        WindowBuilder {
            title: String::new(),
            size: (640, 480),
            min_size: None,
            class: ("xbs".into(), "Xbs".into()),
            argb: false,
            role: Role::TopLevel,
            position: (0, 0),
            grab: false,
        }
    }
}

impl WindowBuilder {
    /// The title (UTF-8, no NUL).
    pub fn title(mut self, title: &str) -> Self {
        self.title = title.into();
        self
    }

    /// The initial size in pixels, each 1..=[`MAX_SIZE`] (checked by
    /// [`build`](Self::build)).
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.size = (width, height);
        self
    }

    /// The smallest size the window manager should allow (checked as the size is).
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

    /// A popup of the window `parent` (its id): override-redirect, so the window
    /// manager neither decorates nor moves it, placed at [`position`](Self::position)
    /// relative to the parent's top-left corner, `WM_TRANSIENT_FOR` the parent and typed
    /// for the compositor by `kind`. With [`grab`](Self::grab), mapping it takes the
    /// pointer and keyboard, as a menu does.
    pub fn popup(mut self, parent: u32, kind: PopupKind) -> Self {
        self.role = Role::Popup { parent, kind };
        self
    }

    /// A dialog of the window `parent` (its id): a managed window, `WM_TRANSIENT_FOR`
    /// the parent and typed `_NET_WM_WINDOW_TYPE_DIALOG`, so the window manager keeps
    /// it above the parent.
    pub fn dialog(mut self, parent: u32) -> Self {
        self.role = Role::Dialog { parent };
        self
    }

    /// Where the window goes: for a popup, relative to its parent's top-left corner
    /// (it may lie outside the parent); for other windows the position asked of the
    /// window manager, which may place them elsewhere. Default (0, 0).
    pub fn position(mut self, x: i32, y: i32) -> Self {
        self.position = (x, y);
        self
    }

    /// For a popup: once mapped, all pointer and keyboard input goes to it (a click
    /// outside arrives with coordinates outside its size: close it then), until it is
    /// unmapped or closed. A grab the server refuses (another client holds one) is
    /// [`Error::Grab`] from [`Window::map`]. No effect on other windows.
    pub fn grab(mut self, grab: bool) -> Self {
        self.grab = grab;
        self
    }

    /// Creates the window (unmapped) on `screen` of `conn`.
    pub fn build<C: Connection>(self, conn: Arc<C>, screen: usize) -> Result<Window<C>, Error> {
        Window::create(self, conn, screen)
    }
}

/// A size of 1..=[`MAX_SIZE`] in each dimension, as the protocol's 16 bits.
pub(crate) fn check_size(width: u32, height: u32) -> Result<(u16, u16), Error> {
    let ok = |v: u32| (1..=MAX_SIZE).contains(&v);
    if ok(width) && ok(height) {
        // At most i16::MAX.
        Ok((width as u16, height as u16))
    } else {
        Err(Error::Size {
            width,
            height,
            limit: MAX_SIZE,
        })
    }
}

pub(crate) fn check_nul(what: &'static str, s: &str) -> Result<(), Error> {
    match s.bytes().position(|b| b == 0) {
        Some(at) => Err(Error::Nul { what, at }),
        None => Ok(()),
    }
}

impl<C: Connection> Window<C> {
    pub(crate) fn create(b: WindowBuilder, conn: Arc<C>, screen_num: usize) -> Result<Self, Error> {
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
        // Where it goes: a popup relative to its parent (a reply that also checks the
        // parent exists), on the root window's coordinates.
        let (x, y) = match b.role {
            Role::Popup { parent, .. } => {
                aux = aux.override_redirect(1).save_under(1);
                let at = conn
                    .translate_coordinates(
                        parent,
                        screen.root,
                        clamp16(b.position.0),
                        clamp16(b.position.1),
                    )
                    .map_err(Error::conn("TranslateCoordinates"))?
                    .reply()
                    .map_err(Error::reply("TranslateCoordinates"))?;
                (at.dst_x, at.dst_y)
            }
            _ => (clamp16(b.position.0), clamp16(b.position.1)),
        };
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
            aux = aux.colormap(cmap).border_pixel(0);
            (32, visual, Some(cmap))
        } else {
            (screen.root_depth, screen.root_visual, None)
        };
        // No background (as Qt's windows): the server leaves an exposed part as it is
        // until the store repairs it from the retained image, instead of first
        // painting it (a flash, and a fill of the exposed area the server need not do).
        aux = aux.background_pixmap(x11rb::NONE);
        let made = conn
            .create_window(
                depth,
                id,
                screen.root,
                x,
                y,
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
            expose: ExposeSeries::default(),
            asked: AskedSizes::default(),
            sync: SyncCounter::default(),
            keymap,
            cursors: Cursors::new(db),
            scale,
            destroyed: false,
            grab: b.grab && matches!(b.role, Role::Popup { .. }),
            clock: Default::default(),
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
        let parent = match b.role {
            Role::TopLevel => None,
            Role::Popup { parent, .. } | Role::Dialog { parent } => Some(parent),
        };
        if let Some(parent) = parent {
            conn.change_property32(
                PropMode::REPLACE,
                id,
                AtomEnum::WM_TRANSIENT_FOR,
                AtomEnum::WINDOW,
                &[parent],
            )
            .map_err(Error::conn("ChangeProperty WM_TRANSIENT_FOR"))?;
        }
        let kind = match b.role {
            Role::TopLevel => atoms._NET_WM_WINDOW_TYPE_NORMAL,
            Role::Dialog { .. } => atoms._NET_WM_WINDOW_TYPE_DIALOG,
            Role::Popup { kind, .. } => match kind {
                PopupKind::Menu => atoms._NET_WM_WINDOW_TYPE_POPUP_MENU,
                PopupKind::Dropdown => atoms._NET_WM_WINDOW_TYPE_DROPDOWN_MENU,
                PopupKind::Tooltip => atoms._NET_WM_WINDOW_TYPE_TOOLTIP,
            },
        };
        conn.change_property32(
            PropMode::REPLACE,
            id,
            atoms._NET_WM_WINDOW_TYPE,
            AtomEnum::ATOM,
            &[kind],
        )
        .map_err(Error::conn("ChangeProperty _NET_WM_WINDOW_TYPE"))?;
        let mut hints = WmSizeHints::new();
        if let Some((mw, mh)) = b.min_size {
            hints.min_size = Some((mw as i32, mh as i32));
        }
        hints
            .set_normal_hints(conn, id)
            .map_err(Error::conn("ChangeProperty WM_NORMAL_HINTS"))?;
        let mut protocols = vec![atoms.WM_DELETE_WINDOW, atoms._NET_WM_PING];
        self.sync = SyncCounter::create(conn)?;
        if let Some(counter) = self.sync.id() {
            conn.change_property32(
                PropMode::REPLACE,
                id,
                atoms._NET_WM_SYNC_REQUEST_COUNTER,
                AtomEnum::CARDINAL,
                &[counter],
            )
            .map_err(Error::conn("ChangeProperty _NET_WM_SYNC_REQUEST_COUNTER"))?;
            protocols.push(atoms._NET_WM_SYNC_REQUEST);
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
}

/// A coordinate as the protocol's 16 bits, saturating (off-screen places are legal).
fn clamp16(v: i32) -> i16 {
    v.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
}

/// `Xft.dpi` / 96, clamped to a sane range; 1.0 when unset or unreadable.
pub(crate) fn scale_factor(db: &x11rb::resource_manager::Database) -> f64 {
    match db.get_value::<String>("Xft.dpi", "") {
        Ok(Some(v)) => match v.trim().parse::<f64>() {
            Ok(dpi) if dpi.is_finite() && dpi > 0.0 => (dpi / 96.0).clamp(0.25, 8.0),
            _ => 1.0,
        },
        _ => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_strings_are_checked() {
        assert!(check_size(1, MAX_SIZE).is_ok());
        for (w, h) in [(0, 1), (1, 0), (MAX_SIZE + 1, 1), (65535, 1), (1, u32::MAX)] {
            assert!(matches!(
                check_size(w, h),
                Err(Error::Size { width, height, limit: MAX_SIZE }) if (width, height) == (w, h)
            ));
        }
        assert!(matches!(
            check_nul("title", "a\0b"),
            Err(Error::Nul { at: 1, .. })
        ));
        assert!(check_nul("title", "ünïcødé").is_ok());
    }
}
