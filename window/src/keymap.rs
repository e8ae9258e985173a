//! The keyboard mapping: keycodes to keysyms, with the shift level.

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt as _, Keycode, Keysym};
use xbs_shm::RequestError as _;

use crate::{Error, Key};

/// The keyboard mapping: keysyms per keycode.
pub(crate) struct Keymap {
    min: u8,
    per: usize,
    syms: Vec<Keysym>,
}

impl Keymap {
    pub(crate) fn load(conn: &impl Connection) -> Result<Self, Error> {
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

    pub(crate) fn key(&self, keycode: Keycode, state: u16) -> Key {
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
