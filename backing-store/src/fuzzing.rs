//! Entry points for the fuzz targets in `fuzz/` (run with `cargo +nightly fuzz`): the
//! parts of `flush` and `scroll` that work on memory alone, with no server, so a
//! fuzzer can drive them for hours. They call exactly the code the store runs. Not
//! part of the API: compiled only with `--cfg fuzzing`, which `cargo fuzz` sets.

use crate::store::{move_pixels, scroll_plan, COALESCE_SLACK};
use crate::transport::wire::bands;
use crate::{Rect, Region};

/// The rects a flush of `region` on a `width` × `height` image sends: clipped to the
/// image, coalesced, each split in bands of at most `room` bytes (`bpp` bytes a
/// pixel, rows padded to `pad` bytes), as the put-image transport splits them.
pub fn flush_rects(
    region: &Region,
    width: u32,
    height: u32,
    room: usize,
    bpp: usize,
    pad: usize,
) -> Vec<Rect> {
    let mut clip = Region::new();
    region.intersect_rect_into(Rect::new(0, 0, width, height), &mut clip);
    let mut rects = Vec::new();
    clip.coalesced(COALESCE_SLACK, &mut rects);
    rects
        .into_iter()
        .flat_map(|r| bands(r, room, bpp, pad))
        .collect()
}

/// A scroll's work on the image, as the store does it: moves the pixels of `area`
/// (clipped to the `width` × `height` image of 4-byte pixels, rows `width * 4` bytes)
/// by (`dx`, `dy`) in `pixels`, and returns the region that scrolled in.
///
/// # Panics
///
/// If `pixels` is shorter than `width * height * 4` bytes.
pub fn scroll_image(
    pixels: &mut [u8],
    width: u32,
    height: u32,
    area: &Region,
    dx: i32,
    dy: i32,
) -> Region {
    let stride = width as usize * 4;
    assert!(pixels.len() >= stride * height as usize, "pixels too short");
    let (dst, exposed) = scroll_plan(Rect::new(0, 0, width, height), area, dx, dy);
    move_pixels(pixels, stride, &dst, dx, dy, &mut Vec::new());
    exposed
}
