//! Whether a compositor reads the window's damage: a compositing manager owns the
//! screen's `_NET_WM_CM_S<n>` selection (EWMH), as weston does for Xwayland and mutter
//! or kwin do on composited Xorg desktops.
//!
//! For future readers, why a flush cares. The X server's damage layer trims what a
//! drawing request damages to the *extents* of the GC's clip (`TRIM_BOX` in
//! `miext/damage`), not to the clip itself. So one `ShmPutImage` of a region's bounds
//! through a clip of its rects, the cheapest shape on an uncomposited server (two
//! requests, exactly the region's pixels copied), tells a compositor that the whole
//! bounds changed, and it copies and recomposites all of them. Where a compositor
//! listens, a region whose bounds are much larger than itself goes a rect at a time,
//! up to [`EXACT_MAX`] rects: beyond that a compositor takes the extents anyway
//! (Xwayland posts a damage region of more than 256 rects to the Wayland compositor as
//! its extents, `xwl_window_post_damage`), and a request a rect would only flood the
//! server.

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt as _, Window};
use xbs_shm::RequestError as _;

use crate::Error;

/// Whether a compositing manager owns `_NET_WM_CM_S<n>` for `window`'s screen.
pub(crate) fn composited<C: Connection>(conn: &C, window: Window) -> Result<bool, Error> {
    let root = conn
        .get_geometry(window)
        .map_err(Error::conn("GetGeometry"))?
        .reply()
        .map_err(Error::reply("GetGeometry"))?
        .root;
    let Some(screen) = conn.setup().roots.iter().position(|s| s.root == root) else {
        return Ok(false);
    };
    let name = format!("_NET_WM_CM_S{screen}");
    let atom = conn
        .intern_atom(false, name.as_bytes())
        .map_err(Error::conn("InternAtom"))?
        .reply()
        .map_err(Error::reply("InternAtom"))?
        .atom;
    let owner = conn
        .get_selection_owner(atom)
        .map_err(Error::conn("GetSelectionOwner"))?
        .reply()
        .map_err(Error::reply("GetSelectionOwner"))?
        .owner;
    Ok(owner != x11rb::NONE)
}

/// The most rects a flush sends one by one so that a compositor sees exactly them.
pub(crate) const EXACT_MAX: usize = 256;

/// Whether a flush of a region of `rects` rects should tell the compositor exactly
/// those rects (if there is one): up to [`EXACT_MAX`] of them.
pub(crate) fn exact_damage(composited: bool, rects: usize) -> bool {
    composited && rects <= EXACT_MAX
}

/// Whether a region of `area` pixels whose bounds hold `bounds` pixels may go as one
/// clipped put of its bounds: always unless `exact` damage is wanted; then while the
/// damage the compositor is told (the bounds) is at most twice the region.
pub(crate) fn clip_the_bounds(exact: bool, area: u64, bounds: u64) -> bool {
    !exact || bounds <= area.saturating_mul(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compositor_gets_exact_damage_for_sparse_regions() {
        // 16 rects of 64x64 scattered over 1080p: bounds 32 times the region.
        assert!(clip_the_bounds(false, 65_536, 1920 * 1080));
        assert!(!clip_the_bounds(true, 65_536, 1920 * 1080));
        // Dense damage (a scrolled-in L, a window's worth) still goes as one put.
        assert!(clip_the_bounds(true, 1000, 1800));
        // Exact up to 256 rects; beyond, the compositor takes the extents anyway.
        assert!(exact_damage(true, 16) && exact_damage(true, EXACT_MAX));
        assert!(!exact_damage(true, EXACT_MAX + 1) && !exact_damage(false, 16));
    }
}
