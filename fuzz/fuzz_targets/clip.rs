//! The store's in-memory work, with no server (SECURITY.md S1, S10): what a flush
//! sends for any region (clipped to the image, banded under the request limit) and
//! what a scroll does to the image for any area and any delta, against a pixel model.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use xbs::fuzzing::{flush_rects, scroll_image};
use xbs::{Rect, Region};

#[derive(Arbitrary, Debug)]
struct Input {
    width: u8,
    height: u8,
    region: Vec<(i32, i32, u32, u32)>,
    dx: i32,
    dy: i32,
    /// Small deltas are where the bugs live; pick them often.
    small: bool,
    room: u16,
    bpp: u8,
    pad: u8,
}

fuzz_target!(|input: Input| {
    let (w, h) = (
        u32::from(input.width % 64) + 1,
        u32::from(input.height % 64) + 1,
    );
    let image = Rect::new(0, 0, w, h);
    let region = Region::from_rects(
        input
            .region
            .iter()
            .take(16)
            .map(|&(x, y, rw, rh)| Rect::new(x, y, rw, rh)),
    );
    let clipped = region.intersect_rect(image);

    // Flush: inside the image, covering the clipped region, each band within `room`.
    let bpp = usize::from(input.bpp % 4) + 1;
    let pad = [1, 2, 4][usize::from(input.pad % 3)];
    let room = usize::from(input.room);
    let sent = flush_rects(&region, w, h, room, bpp, pad);
    let covered = Region::from_rects(sent.iter().copied());
    assert!(
        clipped.subtract(&covered).is_empty(),
        "a damaged pixel was not sent"
    );
    assert!(
        covered.subtract(&Region::from(image)).is_empty(),
        "sent outside the image"
    );
    for r in &sent {
        let bytes = (r.width as usize * bpp).next_multiple_of(pad) * r.height as usize;
        assert!(
            bytes <= room.max(pad).max(bpp.next_multiple_of(pad)),
            "{r:?}: {bytes} > {room}"
        );
    }

    // Scroll: every pixel of the clipped area whose source is also in it moves, the
    // rest of the area is reported as scrolled in, nothing else changes.
    let (dx, dy) = if input.small {
        (input.dx % 70, input.dy % 70)
    } else {
        (input.dx, input.dy)
    };
    let old: Vec<u32> = (0..w * h).collect();
    let mut pixels: Vec<u8> = old.iter().flat_map(|v| v.to_ne_bytes()).collect();
    let exposed = scroll_image(&mut pixels, w, h, &region, dx, dy);
    let new: Vec<u32> = pixels
        .chunks_exact(4)
        .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    for y in 0..h as i32 {
        for x in 0..w as i32 {
            let here = (y as u32 * w + x as u32) as usize;
            let (sx, sy) = (i64::from(x) - i64::from(dx), i64::from(y) - i64::from(dy));
            let source_inside = sx >= 0
                && sy >= 0
                && sx < i64::from(w)
                && sy < i64::from(h)
                && clipped.contains(sx as i32, sy as i32);
            let moves = (dx, dy) != (0, 0) && clipped.contains(x, y) && source_inside;
            if moves {
                let from = (sy as u32 * w + sx as u32) as usize;
                assert_eq!(new[here], old[from], "pixel {x},{y} by {dx},{dy}");
            } else {
                assert_eq!(new[here], old[here], "pixel {x},{y} must not change");
            }
            let scrolled_in = (dx, dy) != (0, 0) && clipped.contains(x, y) && !moves;
            assert_eq!(exposed.contains(x, y), scrolled_in, "exposed at {x},{y}");
        }
    }
    assert!(exposed.subtract(&Region::from(image)).is_empty());
});
