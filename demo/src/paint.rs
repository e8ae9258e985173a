//! The paint work every contender does: a pattern that changes with the frame, written
//! per pixel (as a rasteriser would), into 32-bit xRGB rows.

use xbs::Rect;

/// Paints `r` (inside the image) of an image with `stride` bytes a row.
pub fn paint_rect(px: &mut [u8], stride: usize, r: Rect, n: u32) {
    let (x0, y0) = (r.x as usize, r.y as usize);
    let w = r.width as usize;
    for y in y0..y0 + r.height as usize {
        paint_row(&mut px[y * stride + x0 * 4..][..w * 4], x0, y, n);
    }
}

/// Paints the pixels `row` holds of row `y`, from column `x0` on: the same work as
/// [`paint_rect`] does for each row, for a store that lends its damage row by row.
pub fn paint_row(row: &mut [u8], x0: usize, y: usize, n: u32) {
    let g = (y as u32).wrapping_add(n) & 0xff;
    for (i, p) in row.chunks_exact_mut(4).enumerate() {
        let x = (x0 + i) as u32;
        let v = ((x.wrapping_add(n * 3) & 0xff) << 16) | (g << 8) | ((x ^ y as u32) & 0xff);
        p.copy_from_slice(&v.to_ne_bytes());
    }
}
