//! xbs on a toolkit's own X connection: a [`Context`] borrows the connection behind a
//! display handle (winit's, or any raw-window-handle 0.6 owner), and makes stores for
//! the toolkit's windows on it, with no second connection to the server.
//!
//! The toolkit reads that connection's events and never hands them over, so the
//! stores are made with [`xbs::Events::Foreign`] unless the options say otherwise: they
//! ask the server for no event (no `ShmCompletion`, no `GraphicsExposure`) and stay
//! pixel-exact without one. A toolkit that does pass its X events on may say
//! [`xbs::Events::Handed`] and call [`BackingStore::handle_event`] with them.

use raw_window_handle::{HasDisplayHandle, HasWindowHandle};
use xbs::{BackingStore, Events, Options};

use crate::{Error, ToolkitConnection};

/// A store on a toolkit's connection.
pub type ToolkitStore<D> = BackingStore<ToolkitConnection<D>>;

/// A toolkit's X connection, borrowed from its display handle: see the module docs.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let window: std::rc::Rc<winit_window_stand_in::Window> = todo!();
/// // `window`: an `Rc<winit::window::Window>` (any HasDisplayHandle + HasWindowHandle).
/// let context = xbs_window::Context::new(window.clone())?;
/// let mut store = context.store(&window, xbs::Options::new())?;
/// let (w, h) = store.size();
/// let all = xbs::Region::from(xbs::Rect::new(0, 0, w, h));
/// store.begin_paint(&all)?.fill(xbs::Rect::new(0, 0, w, h), 0xff20_4060);
/// store.flush(&all)?;
/// # Ok(()) }
/// # mod winit_window_stand_in {
/// #     pub struct Window;
/// #     impl raw_window_handle::HasDisplayHandle for Window {
/// #         fn display_handle(&self) -> Result<raw_window_handle::DisplayHandle<'_>, raw_window_handle::HandleError> { todo!() }
/// #     }
/// #     impl raw_window_handle::HasWindowHandle for Window {
/// #         fn window_handle(&self) -> Result<raw_window_handle::WindowHandle<'_>, raw_window_handle::HandleError> { todo!() }
/// #     }
/// # }
/// ```
pub struct Context<D> {
    conn: ToolkitConnection<D>,
    screen: usize,
}

impl<D> Clone for Context<D> {
    fn clone(&self) -> Self {
        Context {
            conn: self.conn.clone(),
            screen: self.screen,
        }
    }
}

impl<D: HasDisplayHandle> Context<D> {
    /// Borrows the connection of `display`'s handle (XCB, or Xlib through
    /// `libX11-xcb`), keeping `display` until the context and every store made from it
    /// are gone.
    pub fn new(display: D) -> Result<Self, Error> {
        let (conn, screen) = ToolkitConnection::new(display)?;
        Ok(Context { conn, screen })
    }
}

impl<D> Context<D> {
    /// A store for `window` (a toolkit's window on this display) on the borrowed
    /// connection: [`Events::Foreign`] unless `options` say otherwise.
    pub fn store(
        &self,
        window: &impl HasWindowHandle,
        options: Options,
    ) -> Result<ToolkitStore<D>, Error> {
        let events = options.events.unwrap_or(Events::Foreign);
        let store =
            BackingStore::from_raw_handles(self.conn.clone(), window, options.events(events))?;
        Ok(store)
    }

    /// The borrowed connection (for requests of your own; its events are the toolkit's).
    pub fn connection(&self) -> &ToolkitConnection<D> {
        &self.conn
    }

    /// The screen of the display handle.
    pub fn screen(&self) -> usize {
        self.screen
    }

    /// What keeps the connection alive: the display handle's owner.
    pub fn display(&self) -> &D {
        self.conn.owner()
    }
}
