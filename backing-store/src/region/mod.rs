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

mod build;
mod cover;
mod sweep;
#[cfg(test)]
mod tests;

pub(crate) use sweep::Scratch;
use sweep::{sweep, sweep_into, Op};

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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
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

impl Region {
    /// The empty region.
    pub const fn new() -> Self {
        Region { boxes: Vec::new() }
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

    /// The `i`-th rectangle in banded order (`i < len()`).
    pub(crate) fn rect_at(&self, i: usize) -> Rect {
        self.boxes[i].to_rect()
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

    /// [`Region::union`] into `out` (its memory reused), working in `scratch`.
    pub(crate) fn union_into(&self, other: &Region, out: &mut Region, scratch: &mut Scratch) {
        if other.is_empty() {
            out.clone_from(self);
        } else if self.is_empty() {
            out.clone_from(other);
        } else {
            sweep_into(self, other, Op::Union, out, scratch);
        }
    }

    /// Makes the region exactly `rect`, keeping its memory.
    pub(crate) fn set_rect(&mut self, rect: Rect) {
        self.boxes.clear();
        self.boxes.extend(rect.to_box());
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

    /// How many of `rect`'s pixels the region holds, looking only at the bands `rect`
    /// spans (the boxes are sorted by band).
    pub(crate) fn area_within(&self, rect: Rect) -> u64 {
        let Some(r) = rect.to_box() else {
            return 0;
        };
        // The first box of a band that ends below the rect's top.
        let first = self.boxes.partition_point(|b| b.y2 <= r.y1);
        self.boxes[first..]
            .iter()
            .take_while(|b| b.y1 < r.y2)
            .map(|b| {
                let w = (b.x2.min(r.x2) - b.x1.max(r.x1)).max(0);
                let h = (b.y2.min(r.y2) - b.y1.max(r.y1)).max(0);
                w as u64 * h as u64
            })
            .sum()
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

    /// Adds `rect` to the region: O(n) in the region's rects, as every union is. To
    /// merge many rects (an Expose series, a frame's damage), collect them and use
    /// [`Region::from_rects`], which merges n rects in O(n log n).
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
