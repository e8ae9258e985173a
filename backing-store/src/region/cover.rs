//! A cover of a region by fewer rectangles than its own, which may overlap: for a
//! server that reports every upload request to a compositor as damage, where each
//! request costs more than a few pixels sent twice.
//!
//! Banding splits rectangles that overlap: two 64×64 squares, one 7 px right of and
//! 5 px below the other, become three boxes (the first's top rows, a band of both
//! side by side, the second's bottom rows). As uploads, the two squares themselves do
//! it in two requests, their shared pixels sent twice. So every box is extended up and
//! down through the bands that hold its whole x span (the top rows become the first
//! square), and a rectangle the others already cover (the middle band) goes. The
//! rectangles still lie inside the region and cover all of it, so what the server is
//! told is damaged is exactly the region.

use super::{bands, Box, Rect, Region};

/// Most rectangles a region may have for a cover to be looked for: the search is
/// quadratic in them, and beyond a few dozen a compositor's damage costs more than
/// a request.
pub(crate) const COVER_MAX: usize = 32;

/// Pieces a rectangle minus the others may be cut into before the search gives up on
/// dropping it (keeping it is always correct).
const PIECES: usize = 32;

impl Region {
    /// Rectangles for uploading the region a request each (see the module docs): its
    /// own, or where that takes fewer requests with at most `slack` pixels sent twice
    /// a request saved, a cover of overlapping ones. Either way their union is exactly
    /// the region. No allocation once `out` has held as many rectangles.
    pub(crate) fn cover(&self, slack: u64, out: &mut Vec<Rect>) {
        out.clear();
        let n = self.boxes.len();
        if !(2..=COVER_MAX).contains(&n) {
            out.extend(self.rects());
            return;
        }
        // The bands, as ranges of `boxes`.
        let mut spans = [(0usize, 0usize); COVER_MAX];
        let mut count = 0;
        let mut at = 0;
        for (_, _, band) in bands(&self.boxes) {
            spans[count] = (at, at + band.len());
            at += band.len();
            count += 1;
        }
        let spans = &spans[..count];
        let band = |k: usize| &self.boxes[spans[k].0..spans[k].1];
        // Each box, as tall as the bands above and below that hold its span allow.
        let mut grew = false;
        for (k, &(start, end)) in spans.iter().enumerate() {
            for b in &self.boxes[start..end] {
                let (mut top, mut bottom) = (k, k);
                while top > 0 && band(top - 1)[0].y2 == band(top)[0].y1 && holds(band(top - 1), b) {
                    top -= 1;
                }
                while bottom + 1 < count
                    && band(bottom + 1)[0].y1 == band(bottom)[0].y2
                    && holds(band(bottom + 1), b)
                {
                    bottom += 1;
                }
                grew |= top != k || bottom != k;
                let tall = Box {
                    x1: b.x1,
                    y1: band(top)[0].y1,
                    x2: b.x2,
                    y2: band(bottom)[0].y2,
                };
                out.push(tall.to_rect());
            }
        }
        if !grew {
            // The region's own rects (nothing overlaps: the usual case).
            return;
        }
        out.sort_unstable_by_key(|r| (r.y, r.x, r.width, r.height));
        out.dedup();
        // Largest first: a wide band of two squares side by side goes before either.
        out.sort_by_key(|r| std::cmp::Reverse(r.area()));
        // Scratch for the search, set up once (1 KiB: per candidate it was a
        // tenth of the cover's time).
        let mut pieces = [[Box::default(); PIECES]; 2];
        let mut i = 0;
        while i < out.len() {
            if covered_by_others(out, i, &mut pieces) {
                out.remove(i);
            } else {
                i += 1;
            }
        }
        let sent: u64 = out.iter().map(Rect::area).sum();
        let twice = sent - self.area();
        let saved = (n - out.len()) as u64;
        if saved == 0 || twice > saved.saturating_mul(slack) {
            out.clear();
            out.extend(self.rects());
        }
    }
}

/// Whether a box of `band` holds all of `b`'s x span.
fn holds(band: &[Box], b: &Box) -> bool {
    // Boxes of a band are sorted by x and disjoint: the one starting last at or
    // before b.x1 is the only candidate.
    let i = band.partition_point(|c| c.x1 <= b.x1);
    i > 0 && band[i - 1].x2 >= b.x2
}

/// Whether `rects[i]` lies inside the union of the other rectangles; `pieces` is
/// scratch.
fn covered_by_others(rects: &[Rect], i: usize, pieces: &mut [[Box; PIECES]; 2]) -> bool {
    let Some(target) = rects[i].to_box() else {
        return true;
    };
    // What of the target no other rectangle covers yet, in `pieces[now]`.
    let (mut now, mut count) = (0, 1);
    pieces[0][0] = target;
    for (j, other) in rects.iter().enumerate() {
        let Some(o) = other.to_box().filter(|o| j != i && overlap(o, &target)) else {
            continue;
        };
        let (from, to) = pieces.split_at_mut(1);
        let (from, to) = match now {
            0 => (&from[0], &mut to[0]),
            _ => (&to[0], &mut from[0]),
        };
        let mut kept = 0;
        for p in &from[..count] {
            let outside = if overlap(p, &o) {
                // What of p lies outside o: up to four pieces.
                let (y1, y2) = (p.y1.max(o.y1), p.y2.min(o.y2));
                [
                    Box { y2: y1, ..*p },
                    Box { y1: y2, ..*p },
                    Box {
                        x2: o.x1.max(p.x1),
                        y1,
                        y2,
                        ..*p
                    },
                    Box {
                        x1: o.x2.min(p.x2),
                        y1,
                        y2,
                        ..*p
                    },
                ]
            } else {
                [*p, Box::default(), Box::default(), Box::default()]
            };
            for piece in outside {
                if piece.x1 < piece.x2 && piece.y1 < piece.y2 {
                    if kept == PIECES {
                        return false;
                    }
                    to[kept] = piece;
                    kept += 1;
                }
            }
        }
        now = 1 - now;
        count = kept;
        if count == 0 {
            return true;
        }
    }
    false
}

fn overlap(a: &Box, b: &Box) -> bool {
    a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn union_of(rects: &[Rect]) -> Region {
        Region::from_rects(rects.iter().copied())
    }

    #[test]
    fn two_overlapping_squares_go_as_themselves() {
        let (a, b) = (Rect::new(100, 200, 64, 64), Rect::new(107, 205, 64, 64));
        let region = union_of(&[a, b]);
        assert_eq!(region.len(), 3);
        let mut out = Vec::new();
        region.cover(4096, &mut out);
        out.sort_by_key(|r| (r.y, r.x));
        assert_eq!(out, vec![a, b]);
    }

    #[test]
    fn its_own_rects_where_a_cover_saves_nothing_or_sends_too_much_twice() {
        let mut out = Vec::new();
        // An L: the tall strip would overlap the bar and save no request.
        let l = union_of(&[Rect::new(0, 0, 100, 10), Rect::new(0, 10, 10, 50)]);
        l.cover(4096, &mut out);
        assert_eq!(out, l.rects().collect::<Vec<_>>());
        // Two squares sharing 57×59 pixels: saving one request is not worth 3363
        // pixels sent twice at a slack of 1000.
        let two = union_of(&[Rect::new(0, 0, 64, 64), Rect::new(7, 5, 64, 64)]);
        two.cover(1000, &mut out);
        assert_eq!(out, two.rects().collect::<Vec<_>>());
    }

    #[test]
    fn a_region_of_too_many_rects_goes_as_its_own() {
        let many = union_of(
            &(0..40)
                .map(|i| Rect::new(i * 20, i * 3, 10, 10))
                .collect::<Vec<_>>(),
        );
        assert!(many.len() > COVER_MAX);
        let mut out = Vec::new();
        many.cover(4096, &mut out);
        assert_eq!(out, many.rects().collect::<Vec<_>>());
    }

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_cover_is_exactly_the_region_in_no_more_rects(
            rects in proptest::collection::vec((0i32..200, 0i32..200, 1u32..80, 1u32..80), 1..12),
            slack in 0u64..8192,
        ) {
            let rects: Vec<Rect> = rects.into_iter().map(|(x, y, w, h)| Rect::new(x, y, w, h)).collect();
            let region = union_of(&rects);
            let mut out = Vec::new();
            region.cover(slack, &mut out);
            prop_assert_eq!(union_of(&out), region.clone());
            prop_assert!(out.len() <= region.len());
            let twice = out.iter().map(Rect::area).sum::<u64>() - region.area();
            let saved = (region.len() - out.len()) as u64;
            prop_assert!(twice <= saved * slack);
        }
    }
}
