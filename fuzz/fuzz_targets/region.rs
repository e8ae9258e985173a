//! Region algebra against a point-membership oracle, with rects anywhere in the i32
//! plane and sizes up to u32::MAX (SECURITY.md S10): union, intersection,
//! difference, translation, clipping and coalescing give exactly the pixels they
//! should, in canonical form, and never panic.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use xbs::{Rect, Region};

#[derive(Arbitrary, Debug)]
struct Input {
    a: Vec<(i32, i32, u32, u32)>,
    b: Vec<(i32, i32, u32, u32)>,
    clip: (i32, i32, u32, u32),
    dx: i32,
    dy: i32,
    slack: u16,
    probes: Vec<(i32, i32)>,
}

fn rect(&(x, y, w, h): &(i32, i32, u32, u32)) -> Rect {
    Rect::new(x, y, w, h)
}

/// Whether pixel (px, py) (i64, so shifted probes cannot overflow) is in `r`: edges
/// past the i32 plane are clamped to it, so no pixel has a coordinate of i32::MAX.
fn in_rect(r: &Rect, px: i64, py: i64) -> bool {
    let end = |v: i32, len: u32| (i64::from(v) + i64::from(len)).min(i64::from(i32::MAX));
    px >= i64::from(r.x)
        && px < end(r.x, r.width)
        && py >= i64::from(r.y)
        && py < end(r.y, r.height)
}

fn in_rects(rects: &[Rect], px: i64, py: i64) -> bool {
    rects.iter().any(|r| in_rect(r, px, py))
}

/// Canonical form: non-empty, disjoint rects whose areas add up, rebuilt identically.
fn check_canonical(r: &Region) {
    let rects: Vec<Rect> = r.rects().collect();
    assert!(rects.iter().all(|x| !x.is_empty()));
    let sum: u64 = rects.iter().map(Rect::area).sum();
    assert_eq!(sum, r.area(), "rects overlap");
    assert_eq!(&Region::from_rects(rects.iter().copied()), r);
    let bounds = r.bounds();
    for x in &rects {
        assert_eq!(x.union_bounds(&bounds), bounds, "{x:?} outside the bounds");
    }
}

fuzz_target!(|input: Input| {
    let (ra, rb): (Vec<Rect>, Vec<Rect>) = (
        input.a.iter().take(64).map(rect).collect(),
        input.b.iter().take(64).map(rect).collect(),
    );
    let a = Region::from_rects(ra.iter().copied());
    let b = Region::from_rects(rb.iter().copied());
    let clip = rect(&input.clip);
    let (u, i, d) = (a.union(&b), a.intersect(&b), a.subtract(&b));
    let t = a.translate(input.dx, input.dy);
    let c = a.intersect_rect(clip);
    for r in [&a, &b, &u, &i, &d, &t, &c] {
        check_canonical(r);
    }
    assert_eq!(c, a.intersect(&Region::from(clip)));
    let mut into = Region::new();
    a.intersect_rect_into(clip, &mut into);
    assert_eq!(into, c);
    assert_eq!(a.intersects(&b), !i.is_empty());

    // Probes: the fuzzer's own, and every rect's corners and their neighbours.
    let mut probes: Vec<(i32, i32)> = input.probes.iter().take(64).copied().collect();
    for r in ra.iter().chain(&rb).chain([&clip]) {
        let far = |v: i32, len: u32| v.saturating_add(i32::try_from(len).unwrap_or(i32::MAX));
        for x in [r.x, far(r.x, r.width)] {
            for y in [r.y, far(r.y, r.height)] {
                for (ox, oy) in [(-1, -1), (0, 0), (-1, 0), (0, -1), (1, 1)] {
                    probes.push((x.saturating_add(ox), y.saturating_add(oy)));
                }
            }
        }
    }
    for &(x, y) in &probes {
        let (px, py) = (i64::from(x), i64::from(y));
        let (ia, ib) = (in_rects(&ra, px, py), in_rects(&rb, px, py));
        assert_eq!(a.contains(x, y), ia, "a at {x},{y}");
        assert_eq!(u.contains(x, y), ia || ib, "union at {x},{y}");
        assert_eq!(i.contains(x, y), ia && ib, "intersection at {x},{y}");
        assert_eq!(d.contains(x, y), ia && !ib, "difference at {x},{y}");
        assert_eq!(
            c.contains(x, y),
            ia && in_rect(&clip, px, py),
            "clip at {x},{y}"
        );
        // Translation: a pixel comes from (p - d), and none lands on the far edge.
        let from = (px - i64::from(input.dx), py - i64::from(input.dy));
        let moved = x < i32::MAX && y < i32::MAX && in_rects(&ra, from.0, from.1);
        assert_eq!(
            t.contains(x, y),
            moved,
            "translate by {},{} at {x},{y}",
            input.dx,
            input.dy
        );
    }

    // Coalescing may add slack pixels but never loses one, and stays in the bounds.
    let mut out = Vec::new();
    a.coalesced(u64::from(input.slack), &mut out);
    let covered = Region::from_rects(out.iter().copied());
    assert!(a.subtract(&covered).is_empty(), "coalescing lost pixels");
    let bounds = a.bounds();
    assert!(out.iter().all(|r| r.union_bounds(&bounds) == bounds));
});
