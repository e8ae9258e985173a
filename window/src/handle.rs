//! raw-window-handle 0.6 for [`Window`]: an XCB window handle (with the visual) on any
//! connection, and an XCB display handle when the connection is libxcb's.

use std::num::NonZeroU32;
use std::ptr::NonNull;

use raw_window_handle::{
    DisplayHandle, HandleError, HasDisplayHandle, HasWindowHandle, RawDisplayHandle,
    RawWindowHandle, WindowHandle, XcbDisplayHandle, XcbWindowHandle,
};
use x11rb::connection::Connection;
use x11rb::xcb_ffi::XCBConnection;

use crate::Window;

impl<C: Connection> HasWindowHandle for Window<C> {
    fn window_handle(&self) -> Result<WindowHandle<'_>, HandleError> {
        if self.destroyed {
            return Err(HandleError::Unavailable);
        }
        let id = NonZeroU32::new(self.id).ok_or(HandleError::Unavailable)?;
        let mut raw = XcbWindowHandle::new(id);
        raw.visual_id = NonZeroU32::new(self.visual);
        #[allow(unsafe_code)]
        // SAFETY: the window id stays valid while `self` is borrowed: it is destroyed
        // only by `close` (which consumes the window) or `Drop`.
        Ok(unsafe { WindowHandle::borrow_raw(RawWindowHandle::Xcb(raw)) })
    }
}

impl HasDisplayHandle for Window<XCBConnection> {
    fn display_handle(&self) -> Result<DisplayHandle<'_>, HandleError> {
        let conn =
            NonNull::new(self.conn.get_raw_xcb_connection()).ok_or(HandleError::Unavailable)?;
        let screen = i32::try_from(self.screen).map_err(|_| HandleError::Unavailable)?;
        let raw = XcbDisplayHandle::new(Some(conn), screen);
        #[allow(unsafe_code)]
        // SAFETY: the xcb_connection_t lives inside `self.conn`, which outlives the
        // borrow of `self`.
        Ok(unsafe { DisplayHandle::borrow_raw(RawDisplayHandle::Xcb(raw)) })
    }
}
