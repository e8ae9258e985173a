//! The one algorithm behind union, intersection and subtraction: a sweep down the
//! bands of both operands, combining their x spans band by band and merging bands
//! that come out equal, so every result is canonical.

use super::{bands, Box, Region};

/// The operation a sweep applies to "inside a" and "inside b".
#[derive(Clone, Copy)]
pub(super) enum Op {
    Union,
    Intersect,
    Subtract,
}

impl Op {
    fn keep(self, a: bool, b: bool) -> bool {
        match self {
            Op::Union => a || b,
            Op::Intersect => a && b,
            Op::Subtract => a && !b,
        }
    }
}

/// Applies `op` to the x spans of two bands, appending the resulting spans.
fn combine_spans(a: &[Box], b: &[Box], op: Op, out: &mut Vec<(i32, i32)>) {
    let (mut i, mut j) = (0, 0);
    // Sweep the x edges of both span lists in order, tracking insideness.
    let mut x = i32::MIN;
    let mut start: Option<i32> = None;
    loop {
        let in_a = i < a.len() && a[i].x1 <= x && x < a[i].x2;
        let in_b = j < b.len() && b[j].x1 <= x && x < b[j].x2;
        let keep = op.keep(in_a, in_b);
        match (keep, start) {
            (true, None) => start = Some(x),
            (false, Some(s)) => {
                out.push((s, x));
                start = None;
            }
            _ => {}
        }
        // The next x where insideness of a or b can change.
        let next_a = a.get(i).map(|s| if x < s.x1 { s.x1 } else { s.x2 });
        let next_b = b.get(j).map(|s| if x < s.x1 { s.x1 } else { s.x2 });
        let next = match (next_a, next_b) {
            (Some(p), Some(q)) => p.min(q),
            (Some(p), None) => p,
            (None, Some(q)) => q,
            (None, None) => break,
        };
        x = next;
        if i < a.len() && x >= a[i].x2 {
            i += 1;
        }
        if j < b.len() && x >= b[j].x2 {
            j += 1;
        }
    }
    if let Some(s) = start {
        // Only reachable if a span ended at i32::MAX, which `keep` saw as inside.
        out.push((s, i32::MAX));
    }
}

/// One pass over the bands of `a` and `b`, producing `a op b` in banded form.
pub(super) fn sweep(a: &Region, b: &Region, op: Op) -> Region {
    let mut out = Region::new();
    sweep_into(a, b, op, &mut out, &mut Scratch::default());
    out
}

/// Memory that region operations reuse: with it (and an output region that has grown
/// as large before), an operation allocates nothing.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    /// Bands of each operand as `(y1, y2, start, end)` into its boxes.
    bands: [Vec<(i32, i32, usize, usize)>; 2],
    ys: Vec<i32>,
    spans: Vec<(i32, i32)>,
}

fn band_list(boxes: &[Box], out: &mut Vec<(i32, i32, usize, usize)>) {
    out.clear();
    let mut start = 0;
    for (y1, y2, band) in bands(boxes) {
        out.push((y1, y2, start, start + band.len()));
        start += band.len();
    }
}

/// [`sweep`] into `out` (its memory reused), with `s` for its working memory.
pub(super) fn sweep_into(a: &Region, b: &Region, op: Op, out: &mut Region, s: &mut Scratch) {
    let [a_bands, b_bands] = &mut s.bands;
    band_list(&a.boxes, a_bands);
    band_list(&b.boxes, b_bands);
    let ys = &mut s.ys;
    ys.clear();
    ys.extend(
        a_bands
            .iter()
            .chain(b_bands.iter())
            .flat_map(|&(y1, y2, _, _)| [y1, y2]),
    );
    ys.sort_unstable();
    ys.dedup();

    let out = &mut out.boxes;
    out.clear();
    let spans = &mut s.spans;
    let mut prev_band: Option<(usize, usize)> = None; // (start, len) in `out`
    let (mut ia, mut ib) = (0, 0);
    for w in ys.windows(2) {
        let (y1, y2) = (w[0], w[1]);
        while ia < a_bands.len() && a_bands[ia].1 <= y1 {
            ia += 1;
        }
        while ib < b_bands.len() && b_bands[ib].1 <= y1 {
            ib += 1;
        }
        let sa: &[Box] = match a_bands.get(ia) {
            Some(&(by1, _, from, to)) if by1 <= y1 => &a.boxes[from..to],
            _ => &[],
        };
        let sb: &[Box] = match b_bands.get(ib) {
            Some(&(by1, _, from, to)) if by1 <= y1 => &b.boxes[from..to],
            _ => &[],
        };
        spans.clear();
        combine_spans(sa, sb, op, spans);
        if spans.is_empty() {
            prev_band = None;
            continue;
        }
        // Merge with the band just above when it touches and has the same spans.
        if let Some((start, len)) = prev_band {
            let above = &out[start..start + len];
            if above[0].y2 == y1
                && len == spans.len()
                && above
                    .iter()
                    .zip(spans.iter())
                    .all(|(b, s)| (b.x1, b.x2) == *s)
            {
                for b in &mut out[start..start + len] {
                    b.y2 = y2;
                }
                continue;
            }
        }
        let start = out.len();
        out.extend(spans.iter().map(|&(x1, x2)| Box { x1, y1, x2, y2 }));
        prev_band = Some((start, spans.len()));
    }
}
