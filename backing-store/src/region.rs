//! [`Rect`] and [`Region`]: damage as a set of pixels, kept as X and pixman keep it.
//!
//! A region is a list of non-overlapping rectangles in *y-x banded* form: sorted by
//! top edge then left edge; rectangles of one band share top and bottom; within a band
//! they neither overlap nor touch; and two vertically adjacent bands never have the same
//! spans (they would have been merged). That form is canonical — two regions covering
//! the same pixels have identical rectangle lists — which makes equality cheap and every
//! operation a single sweep over the bands of both operands.
//!
//! Coordinates are `i32` and every rectangle is clamped into that plane as it enters,
//! so no operation can overflow: a caller can pass `Rect { x: i32::MAX, width:
//! u32::MAX, .. }` and get a (clipped) answer, never a panic (SECURITY.md S10).

/// A rectangle as callers give it: top-left corner and size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rect {
    /// Left edge.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Width in pixels; 0 is empty.
    pub width: u32,
    /// Height in pixels; 0 is empty.
    pub height: u32,
}

impl Rect {
    /// A rectangle from its corner and size.
    pub const fn new(x: i32, y: i32, width: u32, height: u32) -> Self {
        Rect {
            x,
            y,
            width,
            height,
        }
    }

    /// True when it covers no pixel.
    pub fn is_empty(&self) -> bool {
        self.width == 0 || self.height == 0
    }

    /// Number of pixels covered.
    pub fn area(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// Whether the two rectangles share a pixel.
    pub fn intersects(&self, other: &Rect) -> bool {
        match (self.to_box(), other.to_box()) {
            (Some(a), Some(b)) => a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2,
            _ => false,
        }
    }

    /// The smallest rectangle holding both (the other one if either is empty).
    pub fn union_bounds(&self, other: &Rect) -> Rect {
        bounding(*self, *other)
    }

    fn to_box(self) -> Option<Box> {
        // Edges in i64 cannot overflow; clamp the far edges into the i32 plane.
        let x2 = (i64::from(self.x) + i64::from(self.width)).min(i64::from(i32::MAX));
        let y2 = (i64::from(self.y) + i64::from(self.height)).min(i64::from(i32::MAX));
        let (x2, y2) = (i32::try_from(x2).ok()?, i32::try_from(y2).ok()?);
        (self.x < x2 && self.y < y2).then_some(Box {
            x1: self.x,
            y1: self.y,
            x2,
            y2,
        })
    }
}

/// A rectangle by its edges, `x1 <= x < x2`, `y1 <= y < y2`. Widths computed from it
/// never exceed `u32::MAX` because both edges are `i32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Box {
    x1: i32,
    y1: i32,
    x2: i32,
    y2: i32,
}

impl Box {
    fn to_rect(self) -> Rect {
        Rect {
            x: self.x1,
            y: self.y1,
            width: self.x2.abs_diff(self.x1),
            height: self.y2.abs_diff(self.y1),
        }
    }
}

/// A set of pixels, as banded rectangles. See the module docs.
///
/// ```
/// use xbs::{Rect, Region};
/// let a = Region::from(Rect::new(0, 0, 10, 10));
/// let b = Region::from(Rect::new(5, 5, 10, 10));
/// assert_eq!(a.union(&b).area(), 175);
/// assert_eq!(a.intersect(&b), Region::from(Rect::new(5, 5, 5, 5)));
/// assert_eq!(a.subtract(&b).rects().count(), 2);
/// ```
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct Region {
    boxes: Vec<Box>,
}

impl Clone for Region {
    fn clone(&self) -> Self {
        Region {
            boxes: self.boxes.clone(),
        }
    }

    /// Reuses this region's memory: no allocation once it has held as many rects.
    fn clone_from(&mut self, source: &Self) {
        self.boxes.clone_from(&source.boxes);
    }
}

impl From<Rect> for Region {
    fn from(r: Rect) -> Self {
        Region {
            boxes: r.to_box().into_iter().collect(),
        }
    }
}

impl FromIterator<Rect> for Region {
    fn from_iter<I: IntoIterator<Item = Rect>>(iter: I) -> Self {
        Region::from_rects(iter)
    }
}

/// The operation a sweep applies to "inside a" and "inside b".
#[derive(Clone, Copy)]
enum Op {
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

impl Region {
    /// The empty region.
    pub const fn new() -> Self {
        Region { boxes: Vec::new() }
    }

    /// The union of any rectangles (overlapping, empty, unordered), in O(n log n)
    /// merges for the usual damage lists.
    pub fn from_rects<I: IntoIterator<Item = Rect>>(rects: I) -> Self {
        let mut parts: Vec<Region> = rects.into_iter().map(Region::from).collect();
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

    /// True when it holds no pixel.
    pub fn is_empty(&self) -> bool {
        self.boxes.is_empty()
    }

    /// Number of pixels.
    pub fn area(&self) -> u64 {
        self.boxes.iter().map(|b| b.to_rect().area()).sum()
    }

    /// The rectangles, in banded order (top to bottom, left to right).
    pub fn rects(&self) -> impl ExactSizeIterator<Item = Rect> + '_ {
        self.boxes.iter().map(|b| b.to_rect())
    }

    /// Number of rectangles.
    pub fn len(&self) -> usize {
        self.boxes.len()
    }

    /// The smallest rectangle holding every pixel (empty for an empty region).
    pub fn bounds(&self) -> Rect {
        let (Some(first), Some(last)) = (self.boxes.first(), self.boxes.last()) else {
            return Rect::default();
        };
        let x1 = self.boxes.iter().map(|b| b.x1).min().unwrap_or(first.x1);
        let x2 = self.boxes.iter().map(|b| b.x2).max().unwrap_or(first.x2);
        Box {
            x1,
            y1: first.y1,
            x2,
            y2: last.y2,
        }
        .to_rect()
    }

    /// Whether the pixel at (x, y) is in the region.
    pub fn contains(&self, x: i32, y: i32) -> bool {
        self.boxes
            .iter()
            .any(|b| b.x1 <= x && x < b.x2 && b.y1 <= y && y < b.y2)
    }

    /// Whether the two regions share a pixel (no allocation).
    pub fn intersects(&self, other: &Region) -> bool {
        self.boxes.iter().any(|a| {
            other
                .boxes
                .iter()
                .any(|b| a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2)
        })
    }

    /// Whether the region shares a pixel with `rect` (no allocation).
    pub fn intersects_rect(&self, rect: Rect) -> bool {
        let Some(r) = rect.to_box() else {
            return false;
        };
        self.boxes
            .iter()
            .any(|b| b.x1 < r.x2 && r.x1 < b.x2 && b.y1 < r.y2 && r.y1 < b.y2)
    }

    /// Pixels in either.
    pub fn union(&self, other: &Region) -> Region {
        if self.is_empty() {
            return other.clone();
        }
        if other.is_empty() {
            return self.clone();
        }
        sweep(self, other, Op::Union)
    }

    /// Pixels in both.
    pub fn intersect(&self, other: &Region) -> Region {
        if self.is_empty() || other.is_empty() {
            return Region::new();
        }
        sweep(self, other, Op::Intersect)
    }

    /// Pixels in `self` but not in `other`.
    pub fn subtract(&self, other: &Region) -> Region {
        if self.is_empty() || other.is_empty() {
            return self.clone();
        }
        sweep(self, other, Op::Subtract)
    }

    /// [`Region::intersect`] into `out` (its memory reused), working in `scratch`.
    pub(crate) fn intersect_into(&self, other: &Region, out: &mut Region, scratch: &mut Scratch) {
        if self.is_empty() || other.is_empty() {
            out.boxes.clear();
        } else {
            sweep_into(self, other, Op::Intersect, out, scratch);
        }
    }

    /// [`Region::subtract`] into `out` (its memory reused), working in `scratch`.
    pub(crate) fn subtract_into(&self, other: &Region, out: &mut Region, scratch: &mut Scratch) {
        if other.is_empty() {
            out.clone_from(self);
        } else if self.is_empty() {
            out.boxes.clear();
        } else {
            sweep_into(self, other, Op::Subtract, out, scratch);
        }
    }

    /// Pixels in `self` inside `rect`.
    pub fn intersect_rect(&self, rect: Rect) -> Region {
        let mut out = Region::new();
        self.intersect_rect_into(rect, &mut out);
        out
    }

    /// Pixels in `self` inside `rect`, written into `out` (its memory is reused, so a
    /// clip per frame allocates nothing once `out` has grown).
    pub fn intersect_rect_into(&self, rect: Rect, out: &mut Region) {
        out.boxes.clear();
        let Some(r) = rect.to_box() else {
            return;
        };
        // (start, len) in `out` of the band written last.
        let mut prev: Option<(usize, usize)> = None;
        for (y1, y2, band) in bands(&self.boxes) {
            let (y1, y2) = (y1.max(r.y1), y2.min(r.y2));
            if y1 >= y2 {
                continue;
            }
            let start = out.boxes.len();
            for b in band {
                let (x1, x2) = (b.x1.max(r.x1), b.x2.min(r.x2));
                if x1 < x2 {
                    out.boxes.push(Box { x1, y1, x2, y2 });
                }
            }
            let len = out.boxes.len() - start;
            if len == 0 {
                prev = None;
                continue;
            }
            // Clipping can make a band equal to the one above: merge, as a sweep does.
            if let Some((p, plen)) = prev {
                let same = plen == len
                    && out.boxes[p].y2 == y1
                    && (0..len).all(|i| {
                        let (a, b) = (out.boxes[p + i], out.boxes[start + i]);
                        (a.x1, a.x2) == (b.x1, b.x2)
                    });
                if same {
                    out.boxes.truncate(start);
                    for b in &mut out.boxes[p..p + plen] {
                        b.y2 = y2;
                    }
                    continue;
                }
            }
            prev = Some((start, len));
        }
    }

    /// The region moved by (dx, dy). Pixels pushed past the edge of the `i32` plane are
    /// dropped, never wrapped.
    pub fn translate(&self, dx: i32, dy: i32) -> Region {
        let mut out = Region::new();
        self.translate_into(dx, dy, &mut out);
        out
    }

    /// [`Region::translate`] into `out` (its memory reused).
    pub(crate) fn translate_into(&self, dx: i32, dy: i32, out: &mut Region) {
        let mut clamped = false;
        let mut shift = |v: i32, d: i32| {
            let s = i64::from(v) + i64::from(d);
            i32::try_from(s).unwrap_or_else(|_| {
                clamped = true;
                if s < 0 {
                    i32::MIN
                } else {
                    i32::MAX
                }
            })
        };
        out.boxes.clear();
        out.boxes.extend(self.boxes.iter().map(|b| Box {
            x1: shift(b.x1, dx),
            y1: shift(b.y1, dy),
            x2: shift(b.x2, dx),
            y2: shift(b.y2, dy),
        }));
        if clamped {
            // Clamping squashes rectangles onto the edge: some vanish, bands whose
            // spans become equal must merge. Rebuilding restores the canonical form.
            // (A plain shift keeps it: same bands, same spans.)
            *out = Region::from_rects(
                out.boxes
                    .iter()
                    .filter(|b| b.x1 < b.x2 && b.y1 < b.y2)
                    .map(|b| b.to_rect()),
            );
        }
    }

    /// Empties the region, keeping its memory.
    pub(crate) fn clear(&mut self) {
        self.boxes.clear();
    }

    /// The region's rects clipped to `rect`, without allocating: together, exactly the
    /// pixels of [`Region::intersect_rect`], none twice (in bands not merged).
    pub(crate) fn rects_within(&self, rect: Rect) -> impl Iterator<Item = Rect> + '_ {
        let clip = rect.to_box();
        self.boxes.iter().filter_map(move |b| {
            let r = clip?;
            let c = Box {
                x1: b.x1.max(r.x1),
                y1: b.y1.max(r.y1),
                x2: b.x2.min(r.x2),
                y2: b.y2.min(r.y2),
            };
            (c.x1 < c.x2 && c.y1 < c.y2).then(|| c.to_rect())
        })
    }

    /// Calls `piece` with rects that together cover exactly the pixels of `rect` not in
    /// the region, without allocating.
    pub(crate) fn rect_minus(&self, rect: Rect, mut piece: impl FnMut(Rect)) {
        let Some(r) = rect.to_box() else {
            return;
        };
        let mut emit = |x1: i32, y1: i32, x2: i32, y2: i32| {
            if x1 < x2 && y1 < y2 {
                piece(Box { x1, y1, x2, y2 }.to_rect());
            }
        };
        // Rows of `rect` above `y` are done.
        let mut y = r.y1;
        for (by1, by2, band) in bands(&self.boxes) {
            if by2 <= y {
                continue;
            }
            if by1 >= r.y2 {
                break;
            }
            // Rows between bands hold none of the region.
            emit(r.x1, y, r.x2, by1);
            let (y1, y2) = (by1.max(y), by2.min(r.y2));
            let mut x = r.x1;
            for b in band {
                if b.x1 >= r.x2 {
                    break;
                }
                emit(x, y1, b.x1.min(r.x2), y2);
                x = x.max(b.x2);
            }
            emit(x, y1, r.x2, y2);
            y = y2;
        }
        emit(r.x1, y, r.x2, r.y2);
    }

    /// Adds `rect` to the region.
    pub fn add_rect(&mut self, rect: Rect) {
        *self = self.union(&Region::from(rect));
    }

    /// Rectangles for upload: the region's own, except that neighbours in the list are
    /// merged into their bounding box when that adds at most `slack` pixels that are
    /// not in the region (one request is then cheaper than two). The result covers the
    /// region and may cover up to `slack` extra pixels per merge.
    pub fn coalesced(&self, slack: u64, out: &mut Vec<Rect>) {
        out.clear();
        // Pixels of the region inside `out.last()`; the rest of its area is slack spent.
        let mut real_in_last = 0u64;
        for b in &self.boxes {
            let r = b.to_rect();
            if let Some(last) = out.last_mut() {
                let merged = bounding(*last, r);
                // Region rectangles are disjoint, so this never underflows.
                let extra = merged.area() - (real_in_last + r.area());
                if extra <= slack {
                    real_in_last += r.area();
                    *last = merged;
                    continue;
                }
            }
            real_in_last = r.area();
            out.push(r);
        }
    }
}

fn bounding(a: Rect, b: Rect) -> Rect {
    let (Some(a), Some(b)) = (a.to_box(), b.to_box()) else {
        return if a.is_empty() { b } else { a };
    };
    Box {
        x1: a.x1.min(b.x1),
        y1: a.y1.min(b.y1),
        x2: a.x2.max(b.x2),
        y2: a.y2.max(b.y2),
    }
    .to_rect()
}

/// The bands of a region: `(y1, y2, boxes of the band)`.
fn bands(boxes: &[Box]) -> impl Iterator<Item = (i32, i32, &[Box])> {
    let mut rest = boxes;
    std::iter::from_fn(move || {
        let first = rest.first()?;
        let n = rest.iter().take_while(|b| b.y1 == first.y1).count();
        let (band, tail) = rest.split_at(n);
        rest = tail;
        Some((first.y1, first.y2, band))
    })
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
fn sweep(a: &Region, b: &Region, op: Op) -> Region {
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
fn sweep_into(a: &Region, b: &Region, op: Op, out: &mut Region, s: &mut Scratch) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    /// Bands in order, rects in a band in order and not touching.
    fn is_banded(boxes: &[Box]) -> bool {
        boxes.windows(2).all(|w| {
            let (a, b) = (w[0], w[1]);
            if a.y1 == b.y1 {
                a.y2 == b.y2 && a.x2 < b.x1
            } else {
                a.y2 <= b.y1
            }
        })
    }

    /// The model: a region is the set of its pixels.
    fn pixels(r: &Region) -> BTreeSet<(i32, i32)> {
        let mut set = BTreeSet::new();
        for rect in r.rects() {
            for y in rect.y..rect.y + rect.height as i32 {
                for x in rect.x..rect.x + rect.width as i32 {
                    assert!(set.insert((x, y)), "rectangles overlap at {x},{y}");
                }
            }
        }
        set
    }

    fn small_rect() -> impl Strategy<Value = Rect> {
        (-8i32..24, -8i32..24, 0u32..14, 0u32..14).prop_map(|(x, y, w, h)| Rect::new(x, y, w, h))
    }

    fn small_region() -> impl Strategy<Value = Region> {
        proptest::collection::vec(small_rect(), 0..7).prop_map(Region::from_rects)
    }

    fn model_of(rects: &[Rect]) -> BTreeSet<(i32, i32)> {
        rects
            .iter()
            .flat_map(|r| {
                (r.y..r.y + r.height as i32)
                    .flat_map(move |y| (r.x..r.x + r.width as i32).map(move |x| (x, y)))
            })
            .collect()
    }

    proptest! {
        #[test]
        fn from_rects_covers_exactly_the_union(rects in proptest::collection::vec(small_rect(), 0..9)) {
            let r = Region::from_rects(rects.iter().copied());
            prop_assert!(is_banded(&r.boxes));
            prop_assert_eq!(pixels(&r), model_of(&rects));
        }

        #[test]
        fn operations_match_the_pixel_model(a in small_region(), b in small_region()) {
            let (pa, pb) = (pixels(&a), pixels(&b));
            let u = a.union(&b);
            let i = a.intersect(&b);
            let s = a.subtract(&b);
            for r in [&u, &i, &s] {
                prop_assert!(is_banded(&r.boxes), "not banded: {:?}", r);
            }
            prop_assert_eq!(pixels(&u), pa.union(&pb).copied().collect());
            prop_assert_eq!(pixels(&i), pa.intersection(&pb).copied().collect());
            prop_assert_eq!(pixels(&s), pa.difference(&pb).copied().collect());
            prop_assert_eq!(a.intersects(&b), !i.is_empty());
        }

        #[test]
        fn clipping_to_a_rect_is_the_canonical_intersection(a in small_region(), r in small_rect()) {
            // The allocation-free clip must give exactly the sweep's (canonical) answer.
            let mut out = Region::from(Rect::new(-5, -5, 3, 3)); // stale content is replaced
            a.intersect_rect_into(r, &mut out);
            prop_assert_eq!(&out, &a.intersect(&Region::from(r)));
            prop_assert!(is_banded(&out.boxes));
            let b = Region::from(r);
            prop_assert_eq!(a.rects().any(|x| x.intersects(&r)), a.intersects(&b));
        }

        #[test]
        fn algebra_identities_hold(a in small_region(), b in small_region()) {
            let u = a.union(&b);
            // a ∪ b ⊇ a, (a − b) ∩ b = ∅, |a ∪ b| = |a| + |b| − |a ∩ b|.
            prop_assert_eq!(a.subtract(&u), Region::new());
            prop_assert!(a.subtract(&b).intersect(&b).is_empty());
            prop_assert_eq!(u.area() + a.intersect(&b).area(), a.area() + b.area());
            // Canonical form: the same pixels give the same rectangles.
            prop_assert_eq!(a.union(&b), b.union(&a));
            prop_assert_eq!(a.subtract(&b).union(&a.intersect(&b)), a.clone());
        }

        #[test]
        fn rect_minus_covers_exactly_the_difference(a in small_region(), r in small_rect()) {
            let mut got = BTreeSet::new();
            let mut overlapping = false;
            a.rect_minus(r, |p| {
                for px in pixels(&Region::from(p)) {
                    overlapping |= !got.insert(px);
                }
            });
            prop_assert!(!overlapping, "pieces overlap");
            let want: BTreeSet<_> = pixels(&Region::from(r)).difference(&pixels(&a)).copied().collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn operations_into_reused_memory_are_the_plain_ones(
            ops in proptest::collection::vec((small_region(), small_region(), -20i32..20, -20i32..20), 1..5),
        ) {
            // One scratch and one output for every operation, dirty from the last.
            let mut scratch = Scratch::default();
            let mut out = Region::from(Rect::new(-5, -5, 50, 3));
            for (a, b, dx, dy) in ops {
                a.intersect_into(&b, &mut out, &mut scratch);
                prop_assert_eq!(&out, &a.intersect(&b));
                a.subtract_into(&b, &mut out, &mut scratch);
                prop_assert_eq!(&out, &a.subtract(&b));
                a.translate_into(dx, dy, &mut out);
                prop_assert_eq!(&out, &a.translate(dx, dy));
            }
        }

        #[test]
        fn rects_within_cover_exactly_the_intersection(a in small_region(), r in small_rect()) {
            let mut got = BTreeSet::new();
            for p in a.rects_within(r) {
                for px in pixels(&Region::from(p)) {
                    prop_assert!(got.insert(px), "pieces overlap at {:?}", px);
                }
            }
            prop_assert_eq!(got, pixels(&a.intersect_rect(r)));
        }

        #[test]
        fn translate_moves_every_pixel(a in small_region(), dx in -20i32..20, dy in -20i32..20) {
            let t = a.translate(dx, dy);
            let moved: BTreeSet<_> = pixels(&a).into_iter().map(|(x, y)| (x + dx, y + dy)).collect();
            prop_assert_eq!(pixels(&t), moved);
        }

        #[test]
        fn coalesced_rects_cover_the_region(a in small_region(), slack in 0u64..64) {
            let mut out = Vec::new();
            a.coalesced(slack, &mut out);
            let covered = Region::from_rects(out.iter().copied());
            prop_assert!(a.subtract(&covered).is_empty());
            prop_assert!(out.len() <= a.len());
            if slack == 0 {
                prop_assert_eq!(covered, a.clone());
            }
        }

        #[test]
        fn huge_and_overflowing_rects_never_panic(
            x in any::<i32>(), y in any::<i32>(), w in any::<u32>(), h in any::<u32>(),
            dx in any::<i32>(), dy in any::<i32>(),
        ) {
            let a = Region::from(Rect::new(x, y, w, h));
            let b = Region::from(Rect::new(y, x, h, w));
            let _ = (a.union(&b), a.intersect(&b), a.subtract(&b), a.area(), a.bounds());
            let t = a.translate(dx, dy);
            prop_assert!(is_banded(&t.boxes));
            prop_assert!(t.len() <= 1);
        }
    }

    #[test]
    fn edges_of_the_plane_are_clamped_not_wrapped() {
        let r = Region::from(Rect::new(i32::MAX - 1, 0, u32::MAX, 1));
        assert_eq!(r.bounds(), Rect::new(i32::MAX - 1, 0, 1, 1));
        let whole = Region::from(Rect::new(i32::MIN, i32::MIN, u32::MAX, u32::MAX));
        assert_eq!(whole.bounds().width, u32::MAX);
        assert_eq!(
            whole.translate(i32::MAX, 0).bounds(),
            Rect::new(-1, i32::MIN, i32::MAX as u32 + 1, u32::MAX)
        );
        assert!(Region::from(Rect::new(5, 5, 0, 9)).is_empty());
    }

    #[test]
    fn translation_onto_the_edge_stays_canonical() {
        // Found by `cargo fuzz run region`: two bands whose spans differ only past the
        // plane's edge become equal when clamped there, and must merge, or equal
        // regions compare unequal.
        let a = Region::from_rects([
            Rect::new(0, 0, 10, 5),
            Rect::new(-5, 5, 20, 5),
            Rect::new(-5, 10, 30, 5),
        ]);
        let moved = a.translate(i32::MAX - 12, 0);
        let rebuilt = Region::from_rects(moved.rects());
        assert_eq!(moved, rebuilt);
        assert_eq!(moved.len(), 2, "{moved:?}");
    }

    #[test]
    fn many_rects_union_quickly() {
        // 100 000 damage rects on a grid: the pairwise union stays near n log n.
        let rects = (0..100_000).map(|i| Rect::new((i % 400) * 5, (i / 400) * 5, 4, 4));
        let r = Region::from_rects(rects);
        assert_eq!(r.area(), 100_000 * 16);
        assert_eq!(r.len(), 100_000);
    }
}
