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

    /// The union of at most [`FEW`] rects, band by band: O(n²) after two sorts, no
    /// allocation but the result's.
    fn from_few(rects: &[Rect]) -> Self {
        debug_assert!(rects.len() <= FEW);
        let mut boxes = [Box::default(); FEW];
        let mut nb = 0;
        for b in rects.iter().filter_map(|r| r.to_box()) {
            boxes[nb] = b;
            nb += 1;
        }
        let boxes = &mut boxes[..nb];
        // In x order, so that each band's spans come out sorted.
        boxes.sort_unstable_by_key(|b| b.x1);
        // The bands' edges: every box's top and bottom, once each.
        let mut ys = [0i32; 2 * FEW];
        for (i, b) in boxes.iter().enumerate() {
            ys[2 * i] = b.y1;
            ys[2 * i + 1] = b.y2;
        }
        let ys = &mut ys[..2 * nb];
        ys.sort_unstable();
        let mut edges = 0;
        for i in 0..ys.len() {
            if edges == 0 || ys[i] != ys[edges - 1] {
                ys[edges] = ys[i];
                edges += 1;
            }
        }
        // Room for the usual result (a box a rect, and a few more where rects
        // overlap) in one allocation, not the four of growing from empty.
        let mut out: Vec<Box> = Vec::with_capacity(2 * nb);
        // (start, len) in `out` of the band written last.
        let mut prev: Option<(usize, usize)> = None;
        // The spans of the boxes across a band, merged where they overlap or touch as
        // they come (in x order).
        let mut spans = [(0i32, 0i32); FEW];
        for band in ys[..edges].windows(2) {
            let (y1, y2) = (band[0], band[1]);
            let mut nm = 0;
            for b in boxes.iter().filter(|b| b.y1 <= y1 && y2 <= b.y2) {
                if nm > 0 && b.x1 <= spans[nm - 1].1 {
                    spans[nm - 1].1 = spans[nm - 1].1.max(b.x2);
                } else {
                    spans[nm] = (b.x1, b.x2);
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
