//! The region algebra against a model that keeps every pixel in a set.

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
    fn area_within_counts_exactly_the_pixels_of_the_rect_held(a in small_region(), r in small_rect()) {
        let inside = pixels(&a).intersection(&model_of(&[r])).count() as u64;
        prop_assert_eq!(a.area_within(r), inside);
    }

    #[test]
    fn from_rects_covers_exactly_the_union(rects in proptest::collection::vec(small_rect(), 0..40)) {
        let r = Region::from_rects(rects.iter().copied());
        prop_assert!(is_banded(&r.boxes));
        prop_assert_eq!(pixels(&r), model_of(&rects));
        // Banded directly (a few rects) or merged pairwise (many), the same canonical
        // region as unions one at a time.
        let folded = rects
            .iter()
            .fold(Region::new(), |acc, r| acc.union(&Region::from(*r)));
        prop_assert_eq!(&r, &folded);
        prop_assert_eq!(Region::merged(rects.iter().copied()), folded);
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
