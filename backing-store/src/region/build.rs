//! Building a region from any rects: a few are banded directly on the stack, many
//! are merged pairwise.

use super::{Box, Rect, Region};

/// Up to this many rects, [`Region::from_rects`] bands them directly, on the stack.
const FEW: usize = 16;

impl Region {
    /// The union of any rectangles (overlapping, empty, unordered), in O(n log n)
    /// merges for the usual damage lists.
    pub fn from_rects<I: IntoIterator<Item = Rect>>(rects: I) -> Self {
        let mut rects = rects.into_iter();
        // A few rects (an Expose series, a frame's damage) are banded directly, on the
        // stack: one allocation, the result's.
        let mut few = [Rect::new(0, 0, 0, 0); FEW];
        let mut n = 0;
        for r in rects.by_ref() {
            if n == FEW {
                let first = few.into_iter().chain([r]);
                return Region::merged(first.chain(rects));
            }
            few[n] = r;
            n += 1;
        }
        Region::from_few(&few[..n])
    }

    /// The union of at most [`FEW`] rects, band by band: O(n² log n), no allocation
    /// but the result's.
    fn from_few(rects: &[Rect]) -> Self {
        debug_assert!(rects.len() <= FEW);
        let mut boxes = [Box::default(); FEW];
        let mut nb = 0;
        let mut ys = [0i32; 2 * FEW];
        for b in rects.iter().filter_map(|r| r.to_box()) {
            boxes[nb] = b;
            ys[2 * nb] = b.y1;
            ys[2 * nb + 1] = b.y2;
            nb += 1;
        }
        let boxes = &boxes[..nb];
        let ys = &mut ys[..2 * nb];
        ys.sort_unstable();
        let mut out: Vec<Box> = Vec::new();
        // (start, len) in `out` of the band written last.
        let mut prev: Option<(usize, usize)> = None;
        let mut last_y = None;
        for (i, &y1) in ys.iter().enumerate() {
            let Some(&y2) = ys[i + 1..].iter().find(|&&y| y > y1) else {
                break;
            };
            if last_y == Some(y1) {
                continue;
            }
            last_y = Some(y1);
            let mut spans = [(0i32, 0i32); FEW];
            let mut ns = 0;
            for b in boxes.iter().filter(|b| b.y1 <= y1 && y2 <= b.y2) {
                spans[ns] = (b.x1, b.x2);
                ns += 1;
            }
            let spans = &mut spans[..ns];
            spans.sort_unstable();
            // Merge overlapping and touching spans, in place.
            let mut nm = 0;
            for k in 0..spans.len() {
                let s = spans[k];
                if nm > 0 && s.0 <= spans[nm - 1].1 {
                    spans[nm - 1].1 = spans[nm - 1].1.max(s.1);
                } else {
                    spans[nm] = s;
                    nm += 1;
                }
            }
            let spans = &spans[..nm];
            if spans.is_empty() {
                prev = None;
                continue;
            }
            // Merge with the band just above when it touches and has the same spans.
            if let Some((start, len)) = prev {
                let above = &mut out[start..start + len];
                if above[0].y2 == y1
                    && len == spans.len()
                    && above.iter().zip(spans).all(|(b, s)| (b.x1, b.x2) == *s)
                {
                    above.iter_mut().for_each(|b| b.y2 = y2);
                    continue;
                }
            }
            prev = Some((out.len(), spans.len()));
            out.extend(spans.iter().map(|&(x1, x2)| Box { x1, y1, x2, y2 }));
        }
        Region { boxes: out }
    }

    /// The union of many rects by pairwise merging, which keeps every union between
    /// regions of similar size: O(n log n) merges.
    pub(super) fn merged(rects: impl Iterator<Item = Rect>) -> Self {
        let mut parts: Vec<Region> = rects.map(Region::from).collect();
        // Pairwise merging keeps every union between regions of similar size.
        while parts.len() > 1 {
            let mut next = Vec::with_capacity(parts.len().div_ceil(2));
            let mut it = parts.into_iter();
            while let Some(a) = it.next() {
                match it.next() {
                    Some(b) => next.push(a.union(&b)),
                    None => next.push(a),
                }
            }
            parts = next;
        }
        parts.pop().unwrap_or_default()
    }
}
