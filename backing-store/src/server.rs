//! Resources the store owns on the server: its GCs and the optional server-side copy
//! of the window (a pixmap), each freed exactly once.

use std::sync::Arc;

use crate::fault::{self, Point};
use crate::request::Errors;
use crate::{request, Error, Rect};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    ConnectionExt as _, CopyAreaRequest, CreateGCAux, Drawable, Rectangle, GX,
};
use xbs_shm::RequestError as _;

/// What a [`Resource`] is, and so how it is freed.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    Gc,
    Pixmap,
}

/// A server resource freed on drop without a round trip, or by [`Resource::release`]
/// with one.
pub(crate) struct Resource<C: Connection> {
    conn: Arc<C>,
    id: Option<u32>,
    kind: Kind,
}

impl<C: Connection> Resource<C> {
    /// A GC for `drawable`; `exposures` asks for GraphicsExpose/NoExpose on copies.
    pub(crate) fn gc(conn: &Arc<C>, drawable: Drawable, exposures: bool) -> Result<Self, Error> {
        let id = conn.generate_id().map_err(Error::id("CreateGC"))?;
        let mut aux = CreateGCAux::new()
            .graphics_exposures(u32::from(exposures))
            .foreground(0);
        if fault::hit(Point::ServerGc) {
            // A function outside the protocol's 16: the real server answers BadValue.
            aux = aux.function(GX::from(16u8));
        }
        conn.create_gc(id, drawable, &aux)
            .map_err(Error::conn("CreateGC"))?
            .check()
            .map_err(Error::reply("CreateGC"))?;
        Ok(Resource {
            conn: conn.clone(),
            id: Some(id),
            kind: Kind::Gc,
        })
    }

    /// A `width` × `height` pixmap of `depth` on `drawable`'s screen, checked (the
    /// server may refuse it with BadAlloc).
    pub(crate) fn pixmap(
        conn: &Arc<C>,
        drawable: Drawable,
        depth: u8,
        width: u16,
        height: u16,
    ) -> Result<Self, Error> {
        let id = conn.generate_id().map_err(Error::id("CreatePixmap"))?;
        // Wider than the server's 32767: it answers BadAlloc, as when out of memory.
        let width = if fault::hit(Point::ServerPixmap) {
            40_000
        } else {
            width
        };
        conn.create_pixmap(depth, id, drawable, width, height)
            .map_err(Error::conn("CreatePixmap"))?
            .check()
            .map_err(Error::reply("CreatePixmap"))?;
        Ok(Resource {
            conn: conn.clone(),
            id: Some(id),
            kind: Kind::Pixmap,
        })
    }

    pub(crate) fn id(&self) -> u32 {
        // Some until `release` consumes the guard.
        self.id.unwrap_or(x11rb::NONE)
    }

    fn free(&self, id: u32) -> Result<x11rb::cookie::VoidCookie<'_, C>, Error> {
        let conn: &C = &self.conn;
        match self.kind {
            Kind::Gc => conn.free_gc(id).map_err(Error::conn("FreeGC")),
            Kind::Pixmap => conn.free_pixmap(id).map_err(Error::conn("FreePixmap")),
        }
    }

    /// Frees the resource and waits for the server's answer.
    pub(crate) fn release(mut self) -> Result<(), Error> {
        let Some(id) = self.id.take() else {
            return Ok(());
        };
        let what = match self.kind {
            Kind::Gc => "FreeGC",
            Kind::Pixmap => "FreePixmap",
        };
        self.free(id)?.check().map_err(Error::reply(what))
    }
}

impl<C: Connection> Drop for Resource<C> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            if let Ok(cookie) = self.free(id) {
                cookie.ignore_error();
            }
        }
    }
}

/// The store's GCs, all for the window's depth.
pub(crate) struct Gcs<C: Connection> {
    /// For the window, with GraphicsExpose on where the events reach the store
    /// (scrolls repair what CopyArea missed).
    pub(crate) window: Resource<C>,
    /// Without exposure events, for uploads to and copies from the pixmap.
    pub(crate) quiet: Resource<C>,
    /// Whose clip is set to the damage before one `ShmPutImage` of its bounds.
    pub(crate) clip: Resource<C>,
}

impl<C: Connection> Gcs<C> {
    pub(crate) fn new(conn: &Arc<C>, window: Drawable, exposures: bool) -> Result<Self, Error> {
        Ok(Gcs {
            window: Resource::gc(conn, window, exposures)?,
            quiet: Resource::gc(conn, window, false)?,
            clip: Resource::gc(conn, window, false)?,
        })
    }

    /// Frees the three, waiting for the server's answers; the first failure is
    /// reported, and every one is freed regardless.
    pub(crate) fn release(self) -> Result<(), Error> {
        let window = self.window.release();
        let quiet = self.quiet.release();
        window.and(quiet).and(self.clip.release())
    }
}

/// The server-side copy of the window: a pixmap of the image's size that flushes
/// upload into, and that the window is repaired and scrolled from without uploads.
pub(crate) struct ServerCopy<C: Connection> {
    pub(crate) pixmap: Resource<C>,
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// Presenting it (`store/present.rs`, filled): its last present, until the server
    /// is done reading it; nothing writes it till then.
    pub(crate) presenting: Option<crate::store::Pending>,
}

impl<C: Connection> ServerCopy<C> {
    /// A black pixmap of `width` × `height` for `window`, filled with `gc` (foreground
    /// 0), keeping the top-left of `old` if given.
    pub(crate) fn new(
        conn: &Arc<C>,
        window: Drawable,
        depth: u8,
        (width, height): (u32, u32),
        gc: u32,
        old: Option<&ServerCopy<C>>,
    ) -> Result<Self, Error> {
        let size = |v: u32| u16::try_from(v).unwrap_or(u16::MAX);
        let pixmap = Resource::pixmap(conn, window, depth, size(width), size(height))?;
        let all = Rectangle {
            x: 0,
            y: 0,
            width: size(width),
            height: size(height),
        };
        // Its errors are dropped, as the copy's below: the pixmap was just made
        // (checked), and a store whose connection a toolkit reads must leave nothing
        // pending on it.
        conn.poly_fill_rectangle(pixmap.id(), gc, &[all])
            .map_err(Error::conn("PolyFillRectangle"))?
            .ignore_error();
        let copy = ServerCopy {
            pixmap,
            width,
            height,
            presenting: None,
        };
        if let Some(old) = old {
            let keep = Rect::new(0, 0, old.width.min(width), old.height.min(height));
            copy_area(
                &**conn,
                old.pixmap.id(),
                copy.pixmap.id(),
                gc,
                keep,
                0,
                0,
                Errors::Dropped,
            )?;
        }
        Ok(copy)
    }
}

impl<C: Connection> ServerCopy<C> {
    /// Copies `rects` of the copy onto `window` with `gc`.
    pub(crate) fn show(
        &self,
        conn: &C,
        window: Drawable,
        gc: u32,
        rects: &[Rect],
        errors: Errors,
    ) -> Result<(), Error> {
        for &r in rects {
            copy_area(conn, self.pixmap.id(), window, gc, r, 0, 0, errors)?;
        }
        Ok(())
    }
}

/// `CopyArea` of `dst - (dx, dy)` in `src` to `dst` in `to`; `dst` and its source lie
/// inside images of at most `i16::MAX` pixels, so the conversions hold. Returns the
/// request's sequence number (its GraphicsExposure or NoExposure carries it).
#[allow(clippy::too_many_arguments)]
pub(crate) fn copy_area<C: Connection>(
    conn: &C,
    src: Drawable,
    to: Drawable,
    gc: u32,
    dst: Rect,
    dx: i32,
    dy: i32,
    errors: Errors,
) -> Result<u64, Error> {
    let to16 = |v: i32| i16::try_from(v).unwrap_or(i16::MAX);
    let w16 = |v: u32| u16::try_from(v).unwrap_or(u16::MAX);
    let request = CopyAreaRequest {
        src_drawable: src,
        dst_drawable: to,
        gc,
        src_x: to16(dst.x - dx),
        src_y: to16(dst.y - dy),
        dst_x: to16(dst.x),
        dst_y: to16(dst.y),
        width: w16(dst.width),
        height: w16(dst.height),
    };
    request::copy_area(conn, &request, errors).map_err(Error::conn("CopyArea"))
}
