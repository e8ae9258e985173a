//! Presenting through the Present extension ([`PresentMode::Vsync`],
//! [`PresentMode::Immediate`]): a flush becomes a `PresentPixmap` of an MIT-SHM pixmap
//! made over the buffer's segment, with the flushed region (an XFixes region kept and
//! reset, not made per frame) as its update region. Where there are no shared pixmaps
//! (put-image, a server without them), the pixmap is the server-side copy of the
//! window (`server.rs`), *filled* by the store's uploads before each present, and not
//! written again until that present is done with it.
//!
//! The server reads the pixmap at the vblank, long after the request: the buffer is in
//! flight until the present's idle fence (an XSync fence per segment) triggers. A wait
//! for it asks the server (`SyncQueryFence`) until it has, so it needs no event: it
//! works whoever reads the connection. Where the store's events reach it, `CompleteNotify` counts
//! copies, flips and skips.

use std::collections::VecDeque;
use std::sync::Arc;

use x11rb::connection::Connection;
use x11rb::protocol::present::ConnectionExt as _;
use x11rb::protocol::present::{self, CompleteKind, CompleteMode, CompleteNotifyEvent};
use x11rb::protocol::shm::ConnectionExt as _;
use x11rb::protocol::sync::ConnectionExt as _;
use x11rb::protocol::xfixes::ConnectionExt as _;
use x11rb::protocol::xproto::{ConnectionExt as _, Rectangle};
use xbs_shm::RequestError as _;

use super::options::{PresentMode, Stats};
use crate::geometry::Geometry;
use crate::{Error, Region};

/// A segment's pixmap (for the image size it was made at) and its idle fence; or, for
/// [`FILLED`], the server-side copy's pixmap, which is not the presenter's to free.
struct Target {
    seg: u32,
    pixmap: Option<u32>,
    fence: u32,
}

/// The segment number standing for the filled pixmap (no X resource is 0).
pub(crate) const FILLED: u32 = 0;

pub(crate) struct Presenter<C: Connection> {
    conn: Arc<C>,
    window: u32,
    mode: PresentMode,
    /// The update region of every present, set anew each time.
    region: u32,
    /// The event context for `CompleteNotify`, where the events reach the store.
    eid: Option<u32>,
    serial: u32,
    targets: Vec<Target>,
    /// The update regions of presents not yet known shown: a present queued for the
    /// same vblank as a later one is skipped, its update never copied, so every
    /// present also updates what those did (they are in the pixmap: the image).
    unconfirmed: VecDeque<(u32, Region)>,
    /// Scratch: the update region of a present, and its rectangles as sent.
    update: Region,
    rectangles: Vec<Rectangle>,
    /// Scratch for building the update, and the memory of unconfirmed regions shown
    /// since: a present allocates nothing once they have been as large.
    merged: Region,
    scratch: crate::region::Scratch,
    spare: Vec<Region>,
    /// Whether the server makes MIT-SHM pixmaps (else only a filled pixmap presents).
    shm_pixmaps: bool,
}

/// Presents kept unconfirmed before the oldest two merge (the region stays exact).
const UNCONFIRMED: usize = 8;

impl<C: Connection> Presenter<C> {
    /// Sets presenting up on `window`, or says why it cannot be had (the store then
    /// uploads as with `Off`). `events`: whether the store's events reach it.
    pub(crate) fn new(
        conn: &Arc<C>,
        window: u32,
        mode: PresentMode,
        events: bool,
    ) -> Result<Result<Self, String>, Error> {
        let c = &**conn;
        for (name, what) in [
            (present::X11_EXTENSION_NAME, "Present"),
            (x11rb::protocol::xfixes::X11_EXTENSION_NAME, "XFixes"),
            (x11rb::protocol::sync::X11_EXTENSION_NAME, "XSync"),
        ] {
            let has = c
                .extension_information(name)
                .map_err(Error::conn("QueryExtension"))?
                .is_some();
            if !has {
                return Ok(Err(format!("the server has no {what} extension")));
            }
        }
        let has_shm = c
            .extension_information(x11rb::protocol::shm::X11_EXTENSION_NAME)
            .map_err(Error::conn("QueryExtension"))?
            .is_some();
        let shm_pixmaps = has_shm
            && c.shm_query_version()
                .map_err(Error::conn("ShmQueryVersion"))?
                .reply()
                .map_err(Error::reply("ShmQueryVersion"))?
                .shared_pixmaps;
        // Each extension wants its version asked before use.
        c.present_query_version(1, 2)
            .map_err(Error::conn("PresentQueryVersion"))?
            .reply()
            .map_err(Error::reply("PresentQueryVersion"))?;
        c.xfixes_query_version(5, 0)
            .map_err(Error::conn("XFixesQueryVersion"))?
            .reply()
            .map_err(Error::reply("XFixesQueryVersion"))?;
        let sync = c
            .sync_initialize(3, 1)
            .map_err(Error::conn("SyncInitialize"))?
            .reply()
            .map_err(Error::reply("SyncInitialize"))?;
        if (sync.major_version, sync.minor_version) < (3, 1) {
            return Ok(Err("the server's XSync has no fences (before 3.1)".into()));
        }
        let region = c.generate_id().map_err(Error::id("CreateRegion"))?;
        c.xfixes_create_region(region, &[])
            .map_err(Error::conn("CreateRegion"))?;
        let eid = if events {
            let eid = c.generate_id().map_err(Error::id("PresentSelectInput"))?;
            let mask = present::EventMask::COMPLETE_NOTIFY | present::EventMask::IDLE_NOTIFY;
            c.present_select_input(eid, window, mask)
                .map_err(Error::conn("PresentSelectInput"))?;
            Some(eid)
        } else {
            None
        };
        Ok(Ok(Presenter {
            conn: conn.clone(),
            window,
            mode,
            region,
            eid,
            serial: 0,
            targets: Vec::new(),
            unconfirmed: VecDeque::new(),
            update: Region::new(),
            rectangles: Vec::new(),
            merged: Region::new(),
            scratch: crate::region::Scratch::default(),
            spare: Vec::new(),
            shm_pixmaps,
        }))
    }

    pub(crate) fn mode(&self) -> PresentMode {
        self.mode
    }

    /// Whether the server makes MIT-SHM pixmaps over the store's segments.
    pub(crate) fn shm_pixmaps(&self) -> bool {
        self.shm_pixmaps
    }

    /// The pixmap over segment `seg` for `image`, and its fence (made now if need be,
    /// checked: a refused pixmap is an error the caller falls back from).
    fn target(&mut self, seg: u32, image: &Geometry) -> Result<(u32, u32), Error> {
        let c = &*self.conn;
        let at = match self.targets.iter().position(|t| t.seg == seg) {
            Some(at) => at,
            None => {
                let fence = self.new_fence()?;
                self.targets.push(Target {
                    seg,
                    pixmap: None,
                    fence,
                });
                self.targets.len() - 1
            }
        };
        let target = &mut self.targets[at];
        let pixmap = match target.pixmap {
            Some(p) => p,
            None => {
                let p = c.generate_id().map_err(Error::id("ShmCreatePixmap"))?;
                // Inside X11's limits: the geometry was checked.
                c.shm_create_pixmap(
                    p,
                    self.window,
                    image.width as u16,
                    image.height as u16,
                    image.format.depth,
                    seg,
                    0,
                )
                .map_err(Error::conn("ShmCreatePixmap"))?
                .check()
                .map_err(Error::reply("ShmCreatePixmap"))?;
                target.pixmap = Some(p);
                p
            }
        };
        Ok((pixmap, target.fence))
    }

    /// An idle fence for a pixmap's presents, untriggered.
    fn new_fence(&self) -> Result<u32, Error> {
        let c = &*self.conn;
        let fence = c.generate_id().map_err(Error::id("CreateFence"))?;
        c.sync_create_fence(self.window, fence, false)
            .map_err(Error::conn("CreateFence"))?;
        Ok(fence)
    }

    /// The fence of the filled pixmap's presents (made now if need be), the pixmap
    /// being `pixmap` now (the server-side copy's, remade at a resize).
    fn filled_target(&mut self, pixmap: u32) -> Result<u32, Error> {
        if let Some(t) = self.targets.iter_mut().find(|t| t.seg == FILLED) {
            t.pixmap = Some(pixmap);
            return Ok(t.fence);
        }
        let fence = self.new_fence()?;
        self.targets.push(Target {
            seg: FILLED,
            pixmap: Some(pixmap),
            fence,
        });
        Ok(fence)
    }

    /// Presents `region` of the filled `pixmap` (the store uploaded it there); returns
    /// the present, pending until the server no longer reads the pixmap.
    pub(crate) fn present_filled(
        &mut self,
        pixmap: u32,
        region: &Region,
        stats: &mut Stats,
    ) -> Result<Pending, Error> {
        let fence = self.filled_target(pixmap)?;
        self.send(pixmap, fence, region, stats)
    }

    /// Presents `region` of segment `seg`'s pixmap on the window; returns the present,
    /// pending until the server no longer reads the segment.
    pub(crate) fn present(
        &mut self,
        seg: u32,
        image: &Geometry,
        region: &Region,
        stats: &mut Stats,
    ) -> Result<Pending, Error> {
        let (pixmap, fence) = self.target(seg, image)?;
        self.send(pixmap, fence, region, stats)
    }

    /// `PresentPixmap` of `region` of `pixmap` (and of what earlier presents not known
    /// shown updated), triggering `fence` when done with it.
    fn send(
        &mut self,
        pixmap: u32,
        fence: u32,
        region: &Region,
        stats: &mut Stats,
    ) -> Result<Pending, Error> {
        let c = &*self.conn;
        self.update.clone_from(region);
        for (_, earlier) in &self.unconfirmed {
            self.update
                .union_into(earlier, &mut self.merged, &mut self.scratch);
            std::mem::swap(&mut self.update, &mut self.merged);
        }
        self.rectangles.clear();
        self.rectangles
            .extend(self.update.rects().map(|r| Rectangle {
                // Inside an image of at most i16::MAX pixels.
                x: r.x as i16,
                y: r.y as i16,
                width: r.width as u16,
                height: r.height as u16,
            }));
        c.xfixes_set_region(self.region, &self.rectangles)
            .map_err(Error::conn("SetRegion"))?;
        self.serial = self.serial.wrapping_add(1);
        let options = match self.mode {
            PresentMode::Immediate => u32::from(present::Option::ASYNC),
            _ => u32::from(present::Option::NONE),
        };
        c.present_pixmap(
            self.window,
            pixmap,
            self.serial,
            x11rb::NONE,
            self.region,
            0,
            0,
            x11rb::NONE,
            x11rb::NONE,
            fence,
            options,
            0,
            0,
            0,
            &[],
        )
        .map_err(Error::conn("PresentPixmap"))?;
        stats.presents += 1;
        stats.requests += 2;
        if self.unconfirmed.len() == UNCONFIRMED {
            if let (Some((_, a)), Some((_, b))) =
                (self.unconfirmed.pop_front(), self.unconfirmed.front_mut())
            {
                b.union_into(&a, &mut self.merged, &mut self.scratch);
                std::mem::swap(b, &mut self.merged);
                self.spare.push(a);
            }
        }
        let mut kept = self.spare.pop().unwrap_or_default();
        kept.clone_from(region);
        self.unconfirmed.push_back((self.serial, kept));
        Ok(Pending {
            fence,
            serial: self.serial,
        })
    }

    /// The image was resized: the pixmaps (made for the old size) go; the fences of
    /// segments still held (`live`; [`FILLED`] for the filled pixmap's) stay. Only
    /// with nothing in flight.
    pub(crate) fn resized(&mut self, live: &[u32]) {
        let c = &*self.conn;
        self.targets.retain_mut(|t| {
            // The filled pixmap is the server-side copy's: it frees it.
            if let Some(p) = t.pixmap.take().filter(|_| t.seg != FILLED) {
                if let Ok(cookie) = c.free_pixmap(p) {
                    cookie.ignore_error();
                }
            }
            let keep = live.contains(&t.seg);
            if !keep {
                if let Ok(cookie) = c.sync_destroy_fence(t.fence) {
                    cookie.ignore_error();
                }
            }
            keep
        });
    }

    /// The segment whose pixmap an `IdleNotify` of this store's names, and its fence.
    pub(crate) fn idle(&self, e: &present::IdleNotifyEvent) -> Option<(u32, u32)> {
        // (The serial is the buffer's to check: an older present's notify may come
        // after the buffer was presented again.)
        if self.eid != Some(e.event) || e.window != self.window {
            return None;
        }
        self.targets
            .iter()
            .find(|t| t.pixmap == Some(e.pixmap))
            .map(|t| (t.seg, t.fence))
    }

    /// Takes a `CompleteNotify` of this store's presents.
    pub(crate) fn completed(&mut self, e: &CompleteNotifyEvent, stats: &mut Stats) -> bool {
        if self.eid != Some(e.event) || e.window != self.window {
            return false;
        }
        if e.kind == CompleteKind::PIXMAP {
            match e.mode {
                CompleteMode::FLIP => stats.present_flips += 1,
                CompleteMode::SKIP => stats.present_skips += 1,
                _ => stats.present_copies += 1,
            }
            if e.mode != CompleteMode::SKIP {
                // Shown: so is everything presented before it.
                let serial = e.serial;
                // Presents are shown in order: the shown ones are at the front.
                while let Some((s, _)) = self.unconfirmed.front() {
                    if (s.wrapping_sub(serial) as i32) > 0 {
                        break;
                    }
                    if let Some((_, r)) = self.unconfirmed.pop_front() {
                        self.spare.push(r);
                    }
                }
            }
        }
        true
    }

    /// Stops the `CompleteNotify` events (the event context is the window's until it
    /// goes).
    fn deselect(&mut self) {
        if let Some(eid) = self.eid.take() {
            let c = &*self.conn;
            let none = present::EventMask::NO_EVENT;
            if let Ok(cookie) = c.present_select_input(eid, self.window, none) {
                cookie.ignore_error();
            }
        }
    }

    /// Frees everything on the server, waiting for its answer (nothing in flight).
    pub(crate) fn release(mut self) -> Result<(), Error> {
        self.resized(&[]);
        self.deselect();
        let c = &*self.conn;
        c.xfixes_destroy_region(self.region)
            .map_err(Error::conn("DestroyRegion"))?
            .check()
            .map_err(Error::reply("DestroyRegion"))?;
        self.region = x11rb::NONE;
        Ok(())
    }
}

impl<C: Connection> Drop for Presenter<C> {
    fn drop(&mut self) {
        self.resized(&[]);
        self.deselect();
        if self.region != x11rb::NONE {
            if let Ok(cookie) = self.conn.xfixes_destroy_region(self.region) {
                cookie.ignore_error();
            }
        }
    }
}

/// A present whose pixmap the server may still read: its idle fence and serial.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pending {
    fence: u32,
    serial: u32,
}

impl Pending {
    /// Whether the `IdleNotify` of (`fence`, `serial`) is this present's (an older
    /// present's may come later); if so the fence is reset for the next present, with
    /// no round trip.
    pub(crate) fn idle_by<C: Connection>(&self, conn: &C, fence: u32, serial: u32) -> bool {
        if (self.fence, self.serial) != (fence, serial) {
            return false;
        }
        if let Ok(cookie) = conn.sync_reset_fence(fence) {
            cookie.ignore_error();
        }
        true
    }

    /// Blocks until the server no longer reads the pixmap; its fence is reset then.
    pub(crate) fn wait<C: Connection>(self, conn: &C) -> Result<(), Error> {
        wait_for_fence(conn, self.fence)
    }
}

/// Blocks until `fence` (a present's idle fence) has triggered, then resets it for the
/// next present. The present triggers it without waking a `SyncAwaitFence` (the X
/// server's `present_fence_set_triggered` only sets the flag), so this asks until it
/// says so: a round trip a nap, backing off to 2 ms (a vblank is ~16 ms away: the next
/// present still makes it).
fn wait_for_fence<C: Connection>(conn: &C, fence: u32) -> Result<(), Error> {
    let mut nap = std::time::Duration::from_micros(250);
    loop {
        let triggered = conn
            .sync_query_fence(fence)
            .map_err(Error::conn("QueryFence"))?
            .reply()
            .map_err(Error::reply("QueryFence"))?
            .triggered;
        if triggered {
            break;
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(std::time::Duration::from_millis(2));
    }
    conn.sync_reset_fence(fence)
        .map_err(Error::conn("ResetFence"))?;
    Ok(())
}
