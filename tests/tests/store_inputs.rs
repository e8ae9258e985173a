//! Bad input, fuzzed with proptest against a real server (SECURITY.md S1, S10): rects
//! and regions at the edges of `i32` and `u32`, empty and huge; scroll deltas of 0,
//! ±1, ±65535, `i32::MIN`/`MAX`; sizes of 0×0, 1×65535, 65535×65535, `u32::MAX`;
//! all mixed with resizes. Each operation clips or returns a typed error, nothing
//! panics, and after every case the window equals the model pixel for pixel.
//!
//! `cargo fuzz` drives the same region algebra and clipping for hours (see
//! `fuzz/`); this is its bounded form for every test run.

mod common;

use common::{region, scene, Op, Scene};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use x11rb::protocol::xproto::ConnectionExt as _;
use xbs::{BackingStore, Error, Options, Rect, Region, Transport};
use xbs_tests::XServer;

fn coord() -> impl Strategy<Value = i32> {
    prop_oneof![
        4 => -40..240i32,
        1 => Just(i32::MIN),
        1 => Just(i32::MAX),
        1 => Just(-1),
        1 => Just(32767),
        1 => Just(65535),
    ]
}

fn extent() -> impl Strategy<Value = u32> {
    prop_oneof![
        4 => 0..200u32,
        1 => Just(0),
        1 => Just(u32::MAX),
        1 => Just(65535),
        1 => Just(u32::MAX / 2 + 1),
    ]
}

fn rect() -> impl Strategy<Value = Rect> {
    (coord(), coord(), extent(), extent()).prop_map(|(x, y, w, h)| Rect::new(x, y, w, h))
}

fn any_region() -> impl Strategy<Value = Region> {
    prop::collection::vec(rect(), 0..6).prop_map(Region::from_rects)
}

fn delta() -> impl Strategy<Value = i32> {
    prop_oneof![
        4 => -60..60i32,
        1 => Just(0),
        1 => Just(1),
        1 => Just(-1),
        1 => Just(65535),
        1 => Just(-65535),
        1 => Just(i32::MIN),
        1 => Just(i32::MAX),
    ]
}

fn size() -> impl Strategy<Value = (u32, u32)> {
    prop_oneof![
        6 => (1..180u32, 1..140u32),
        1 => Just((0, 0)),
        1 => Just((0, 50)),
        1 => Just((1, 1)),
        1 => Just((1, 65535)),
        1 => Just((65535, 65535)),
        1 => Just((32768, 1)),
        1 => Just((32767, 2)),
        1 => Just((u32::MAX, 1)),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any_region(), any::<u32>()).prop_map(|(r, seed)| Op::Paint(r, seed)),
        3 => (any_region(), delta(), delta()).prop_map(|(r, dx, dy)| Op::Scroll(r, dx, dy)),
        2 => size().prop_map(|(w, h)| Op::Resize(w, h)),
        1 => rect().prop_map(Op::Expose),
    ]
}

/// Whether X11 can have an image of this size at all.
fn in_range(w: u32, h: u32) -> bool {
    (1..=32767).contains(&w) && (1..=32767).contains(&h)
}

/// One case: a fresh store on the (black) window, the operations, the final check.
fn run_case(sc: &mut Scene, options: Options, ops: &[Op]) {
    let transport = options.transport.expect("a case forces its transport");
    // Start from a black 120×90 window, as a fresh store's image is.
    let mut image = vec![0u32; (sc.w * sc.h) as usize];
    sc.resized(&mut image, 120, 90);
    sc.conn.clear_area(false, sc.window, 0, 0, 0, 0).unwrap();
    sc.model.fill(0);
    let mut store = BackingStore::new(sc.conn.clone(), sc.window, options.clone()).unwrap();
    sc.settle(&mut store, &image).unwrap();
    for op in ops {
        match (op, sc.apply(&mut store, &mut image, op)) {
            (_, Ok(())) => {}
            (Op::Resize(w, h), Err(Error::Size { .. })) if !in_range(*w, *h) => {
                assert_eq!(
                    store.size(),
                    (sc.w, sc.h),
                    "a refused resize changes nothing"
                );
            }
            (op, Err(e)) => panic!("{transport:?}: {op:?} failed: {e:?}"),
        }
    }
    let (bad, first) = sc.mismatches();
    assert_eq!(bad, 0, "{options:?}: first {first:x?}");
    store.close().unwrap();
}

#[test]
fn bad_input_clips_or_fails_typed_and_the_window_stays_exact() {
    let server = XServer::start().unwrap();
    // Shared by every case (proptest's closure is `Fn`); a failing case leaves no
    // borrow behind.
    let sc = std::cell::RefCell::new(scene(&server, 120, 90, false));
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        prop_oneof![
            Just(Transport::ShmFd),
            Just(Transport::ShmSysV),
            Just(Transport::PutImage)
        ],
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(op(), 1..12),
    );
    let ops_run = std::cell::Cell::new(0);
    runner
        .run(&strategy, |(transport, server_copy, single_buffer, ops)| {
            let options = Options::new()
                .transport(transport)
                .server_copy(server_copy)
                .single_buffer(single_buffer);
            run_case(&mut sc.borrow_mut(), options, &ops);
            ops_run.set(ops_run.get() + ops.len());
            Ok(())
        })
        .unwrap();
    eprintln!(
        "{cases} cases, {} operations, 0 pixels wrong",
        ops_run.get()
    );
}

#[test]
fn a_region_of_100_000_rects_is_painted_and_flushed_exactly() {
    let server = XServer::start().unwrap();
    let mut sc = scene(&server, 640, 640, false);
    // Every other pixel of every other row: 100 000 rects that do not merge.
    let rects: Vec<(i32, i32, u32, u32)> = (0..100_000)
        .map(|i| ((i % 320) * 2, (i / 320) * 2, 1, 1))
        .collect();
    assert!(rects.iter().all(|&(_, y, _, _)| y < 640));
    let dots = region(&rects);
    assert_eq!(dots.rects().count(), 100_000);
    for transport in [Transport::ShmFd, Transport::PutImage] {
        let mut store = sc.store(transport);
        let mut image = vec![0u32; 640 * 640];
        sc.apply(&mut store, &mut image, &Op::Paint(dots.clone(), 5))
            .unwrap();
        sc.check(&format!("{transport:?}: 100 000 dots"));
        let stats = store.stats();
        // Coalescing sends a bounded number of requests, not one per rect.
        assert!(stats.requests < 1000, "{transport:?}: {stats:?}");
        store.close().unwrap();
    }
}
