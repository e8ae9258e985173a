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

/// The solid colour of frame `n` of a fill paint (`0x00RRGGBB`), the same for every
/// contender (the Qt lane has its own copy: `demo/qt-lane/qt_lane.cpp`).
pub fn fill_pixel(n: u32) -> u32 {
    let c = |k: u32, add: u32| (n.wrapping_mul(k).wrapping_add(add)) & 0xff;
    (c(37, 0) << 16) | (c(91, 0) << 8) | c(53, 1)
}

/// Fills `r` (inside the image) with the colour of frame `n`.
pub fn fill_rect(px: &mut [u8], stride: usize, r: Rect, n: u32) {
    let (x0, y0) = (r.x as usize, r.y as usize);
    let w = r.width as usize;
    let pixel = fill_pixel(n);
    for y in y0..y0 + r.height as usize {
        let row = &mut px[y * stride + x0 * 4..][..w * 4];
        // As a toolkit fills: whole words (the memory is word-aligned here).
        match as_words(row) {
            Some(words) => words.fill(pixel),
            None => {
                for p in row.chunks_exact_mut(4) {
                    p.copy_from_slice(&pixel.to_ne_bytes());
                }
            }
        }
    }
}

/// The pixel frame `n` paints at (x, y), as the server shows it (`0x00RRGGBB`).
pub fn expected(fill: bool, x: u32, y: u32, n: u32) -> u32 {
    if fill {
        return fill_pixel(n);
    }
    let mut row = [0u8; 4];
    paint_row(&mut row, x as usize, y as usize, n);
    u32::from_ne_bytes(row)
}

/// `bytes` as 32-bit words, where they are aligned for it.
fn as_words(bytes: &mut [u8]) -> Option<&mut [u32]> {
    bytemuck::try_cast_slice_mut(bytes).ok()
}
