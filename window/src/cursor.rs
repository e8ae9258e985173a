//! Named cursors: the user's theme first (`XCURSOR_THEME`/`XCURSOR_SIZE`,
//! `Xcursor.theme`/`Xcursor.size`, `Xft.dpi`, through x11rb's `cursor` module, which
//! reads Xcursor files with the `xcursor` crate and uploads them as ARGB cursors with
//! RENDER), then the core cursor font. Each name is loaded once.

use std::collections::HashMap;

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt as _, Cursor, Font};
use x11rb::resource_manager::Database;
use x11rb::NONE;

use xbs_shm::RequestError as _;

use crate::Error;

/// Where a cursor came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CursorSource {
    /// An Xcursor file of the user's theme (ARGB, scaled for the display).
    Theme,
    /// The core X11 cursor font (two colours), because the theme has no such cursor.
    CoreFont,
}

/// Standard names (CSS / freedesktop cursor spec), the older theme names that mean the
/// same, and the core cursor font glyph (`cursorfont.h`) to fall back to.
const NAMES: &[(&str, &[&str], u16)] = &[
    ("default", &["default", "left_ptr", "arrow"], 68),
    ("text", &["text", "xterm", "ibeam"], 152),
    (
        "pointer",
        &["pointer", "hand2", "hand1", "pointing_hand"],
        60,
    ),
    ("wait", &["wait", "watch"], 150),
    ("progress", &["progress", "left_ptr_watch", "watch"], 150),
    ("crosshair", &["crosshair", "cross"], 34),
    ("move", &["move", "fleur", "size_all"], 52),
    ("not-allowed", &["not-allowed", "crossed_circle"], 0),
    ("help", &["help", "question_arrow"], 92),
    (
        "ew-resize",
        &["ew-resize", "sb_h_double_arrow", "size_hor"],
        108,
    ),
    (
        "ns-resize",
        &["ns-resize", "sb_v_double_arrow", "size_ver"],
        116,
    ),
];

pub(crate) struct Cursors {
    db: Database,
    handle: Option<x11rb::cursor::Handle>,
    font: Option<Font>,
    cache: HashMap<String, (Cursor, CursorSource)>,
}

impl Cursors {
    pub(crate) fn new(db: Database) -> Self {
        Cursors {
            db,
            handle: None,
            font: None,
            cache: HashMap::new(),
        }
    }

    /// The cursor called `name`, loading it the first time.
    pub(crate) fn get(
        &mut self,
        conn: &impl Connection,
        screen: usize,
        name: &str,
    ) -> Result<(Cursor, CursorSource), Error> {
        if let Some(&hit) = self.cache.get(name) {
            return Ok(hit);
        }
        let known = NAMES.iter().find(|(n, ..)| *n == name);
        let own = [name];
        let candidates: &[&str] = known.map_or(&own, |(_, c, _)| c);
        if self.handle.is_none() {
            let handle = x11rb::cursor::Handle::new(conn, screen, &self.db)
                .map_err(Error::conn("cursor theme"))?
                .reply()
                .map_err(Error::id("cursor theme"))?;
            self.handle = Some(handle);
        }
        let handle = self
            .handle
            .as_ref()
            .ok_or(Error::UnknownCursor(name.into()))?;
        for candidate in candidates {
            let cursor = handle
                .load_cursor(conn, candidate)
                .map_err(Error::id("load cursor"))?;
            if cursor != NONE {
                self.cache
                    .insert(name.into(), (cursor, CursorSource::Theme));
                return Ok((cursor, CursorSource::Theme));
            }
        }
        let Some(&(_, _, glyph)) = known else {
            return Err(Error::UnknownCursor(name.into()));
        };
        let cursor = self.core(conn, glyph)?;
        self.cache
            .insert(name.into(), (cursor, CursorSource::CoreFont));
        Ok((cursor, CursorSource::CoreFont))
    }

    /// A black-on-white cursor from the core "cursor" font.
    fn core(&mut self, conn: &impl Connection, glyph: u16) -> Result<Cursor, Error> {
        let font = match self.font {
            Some(f) => f,
            None => {
                let f = conn.generate_id().map_err(Error::id("OpenFont"))?;
                conn.open_font(f, b"cursor")
                    .map_err(Error::conn("OpenFont"))?
                    .check()
                    .map_err(Error::reply("OpenFont cursor"))?;
                self.font = Some(f);
                f
            }
        };
        let id = conn.generate_id().map_err(Error::id("CreateGlyphCursor"))?;
        conn.create_glyph_cursor(
            id,
            font,
            font,
            glyph,
            glyph + 1,
            0,
            0,
            0,
            0xffff,
            0xffff,
            0xffff,
        )
        .map_err(Error::conn("CreateGlyphCursor"))?
        .check()
        .map_err(Error::reply("CreateGlyphCursor"))?;
        Ok(id)
    }

    /// Frees every cursor and the font.
    pub(crate) fn free(&mut self, conn: &impl Connection) -> Result<(), Error> {
        for (_, (cursor, _)) in self.cache.drain() {
            conn.free_cursor(cursor)
                .map_err(Error::conn("FreeCursor"))?;
        }
        if let Some(font) = self.font.take() {
            conn.close_font(font).map_err(Error::conn("CloseFont"))?;
        }
        Ok(())
    }
}
