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
            expose: ExposeSeries::default(),
            asked: AskedSizes::default(),
            sync: SyncCounter::default(),
            keymap,
            cursors: Cursors::new(db),
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
