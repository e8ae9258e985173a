//! Window-manager protocols: the atoms, `_NET_WM_PING`, and `_NET_WM_SYNC_REQUEST` with
//! an XSync counter, so that a compositing window manager never shows a frame of the
//! wrong size.

use x11rb::connection::Connection;
use x11rb::protocol::sync::{self, ConnectionExt as _};
use x11rb::protocol::xproto::{ClientMessageEvent, ConnectionExt as _, EventMask, Window};
use xbs_shm::RequestError as _;

use crate::Error;

x11rb::atom_manager! {
    /// The atoms the window uses.
    pub(crate) Atoms: AtomsCookie {
        WM_PROTOCOLS,
        WM_DELETE_WINDOW,
        _NET_WM_PING,
        _NET_WM_SYNC_REQUEST,
        _NET_WM_SYNC_REQUEST_COUNTER,
        _NET_WM_NAME,
        _NET_WM_PID,
        UTF8_STRING,
        _NET_WM_WINDOW_TYPE,
        _NET_WM_WINDOW_TYPE_NORMAL,
        _NET_WM_WINDOW_TYPE_DIALOG,
        _NET_WM_WINDOW_TYPE_POPUP_MENU,
        _NET_WM_WINDOW_TYPE_DROPDOWN_MENU,
        _NET_WM_WINDOW_TYPE_TOOLTIP,
    }
}

/// Answers `_NET_WM_PING`: the same message, sent back to the root window.
pub(crate) fn pong(
    conn: &impl Connection,
    root: Window,
    mut e: ClientMessageEvent,
) -> Result<(), Error> {
    e.window = root;
    conn.send_event(
        false,
        root,
        EventMask::SUBSTRUCTURE_NOTIFY | EventMask::SUBSTRUCTURE_REDIRECT,
        e,
    )
    .map_err(Error::conn("SendEvent _NET_WM_PING"))?;
    conn.flush().map_err(Error::conn("flush"))
}

/// The `_NET_WM_SYNC_REQUEST` counter, when the server has SYNC: the window manager
/// asks for a value before a resize, and the first flush after the resize's
/// ConfigureNotify sets it (the frame of the new size is out).
#[derive(Debug, Default)]
pub(crate) struct SyncCounter {
    counter: Option<u32>,
    /// The value asked for, and whether the ConfigureNotify it announced has come.
    pending: Option<(sync::Int64, bool)>,
}

impl SyncCounter {
    /// An XSync counter at 0, if the server has SYNC.
    pub(crate) fn create(conn: &impl Connection) -> Result<SyncCounter, Error> {
        let has_sync = conn
            .extension_information(sync::X11_EXTENSION_NAME)
            .map_err(Error::conn("QueryExtension SYNC"))?
            .is_some();
        if !has_sync {
            return Ok(SyncCounter::default());
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
        Ok(SyncCounter {
            counter: Some(counter),
            pending: None,
        })
    }

    pub(crate) fn id(&self) -> Option<u32> {
        self.counter
    }

    /// The window manager asked for `value` (the message's data).
    pub(crate) fn requested(&mut self, data: &[u32; 5]) {
        let value = sync::Int64 {
            lo: data[2],
            hi: data[3] as i32,
        };
        self.pending = Some((value, false));
    }

    /// A ConfigureNotify arrived: the resize the request announced.
    pub(crate) fn configured(&mut self) {
        if let Some((_, configured)) = &mut self.pending {
            *configured = true;
        }
    }

    /// A frame was flushed: set the counter if the resize it waits for has come.
    pub(crate) fn flushed(&mut self, conn: &impl Connection) -> Result<(), Error> {
        if let (Some(counter), Some((value, true))) = (self.counter, self.pending) {
            conn.sync_set_counter(counter, value)
                .map_err(Error::conn("SyncSetCounter"))?;
            self.pending = None;
            conn.flush().map_err(Error::conn("flush"))?;
        }
        Ok(())
    }

    /// Destroys the counter, without waiting.
    pub(crate) fn destroy(&mut self, conn: &impl Connection) {
        if let Some(counter) = self.counter.take() {
            if let Ok(c) = conn.sync_destroy_counter(counter) {
                c.ignore_error();
            }
        }
    }
}
