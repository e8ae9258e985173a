//! Exposure events handed over late (issue 16): a window of another client covers
//! parts of the store's window while it scrolls, and the app scrolls again before it
//! reads the events of the last change. The store must repair every exposure where
//! the scrolls since have moved it. Checked strictly: once nothing covers the window
//! and every event is handed over, the window shows the app's image, pixel for pixel.
//!
//! Longer: `XBS_LATE_OPS=100000 XBS_LATE_SEED=7 cargo test --release -p xbs-tests
//! --test late_events -- --nocapture late_events_with`.

mod common;

use common::{region, scene, Cover, Scene, SyncExt as _};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ChangeWindowAttributesAux, ConnectionExt as _, Gravity};
use x11rb::protocol::Event;
use x11rb::rust_connection::RustConnection;
use xbs::{BackingStore, Rect, Region, Transport};
use xbs_tests::XServer;

type Store = BackingStore<std::sync::Arc<RustConnection>>;

const TRANSPORTS: [Transport; 3] = [Transport::ShmFd, Transport::ShmSysV, Transport::PutImage];

/// Hands every event sent so far to the store, as a toolkit does: Expose through
/// `expose_at` with its sequence number, the rest through `handle_event_at`.
fn hand_over(sc: &Scene, store: &mut Store) {
    sc.conn.sync().unwrap();
    while let Some((event, seq)) = sc.conn.poll_for_event_with_sequence().unwrap() {
        match event {
            Event::Expose(e) => {
                let r = Rect::new(e.x.into(), e.y.into(), e.width.into(), e.height.into());
                store.expose_at(&Region::from(r), seq).unwrap();
            }
            other => {
                store.handle_event_at(&other, seq);
            }
        }
    }
}

/// Asserts that the window shows exactly `image`.
fn shows(sc: &mut Scene, image: &[u32], what: &str) {
    sc.model = image.to_vec();
    sc.check(what);
}

/// Paints `r` with a pattern and flushes it.
fn paint_flush(sc: &mut Scene, store: &mut Store, image: &mut [u32], r: &Region, seed: u32) {
    sc.paint(store, image, r, seed);
    store.flush(r).unwrap();
}

/// Scrolls `area` and repaints what came in; the image moves as the store's does.
fn scroll(
    sc: &mut Scene,
    store: &mut Store,
    image: &mut [u32],
    area: &Region,
    d: (i32, i32),
    seed: u32,
) {
    let strip = store.scroll(area, d.0, d.1).unwrap();
    let expected = sc.scrolled(image, area, d.0, d.1);
    assert_eq!(strip, expected);
    paint_flush(sc, store, image, &strip, seed);
}

/// Case 1: the window is partly covered; scroll #1 cannot copy the rows whose source
/// is covered (GraphicsExposure); scroll #2 comes before that event is read and moves
/// those rows up. The repair must follow them.
#[test]
fn a_graphics_exposure_overtaken_by_a_second_scroll_is_repaired_where_it_moved() {
    let server = XServer::start().unwrap();
    let cover = Cover::new(&server);
    for transport in TRANSPORTS {
        for server_copy in [false, true] {
            let what = format!("{transport:?} server_copy={server_copy}");
            let mut sc = scene(&server, 200, 150, false);
            let mut store = sc.store_with(transport, server_copy);
            let mut image = vec![0u32; 200 * 150];
            let all = region(&[(0, 0, 200, 150)]);
            cover.show(Rect::new(0, 100, 200, 50));
            paint_flush(&mut sc, &mut store, &mut image, &all, 1);
            hand_over(&sc, &mut store);
            scroll(&mut sc, &mut store, &mut image, &all, (0, -30), 2);
            scroll(&mut sc, &mut store, &mut image, &all, (0, -30), 3);
            hand_over(&sc, &mut store);
            cover.hide();
            hand_over(&sc, &mut store);
            shows(
                &mut sc,
                &image,
                &format!("{what}: two scrolls, then the events"),
            );
            assert_eq!(store.stats().scrolls_remembered, 0, "{what}");
        }
    }
}

/// Case 2: the cover goes away, the server queues an Expose for what it uncovered;
/// before the app reads it, it scrolls that area. The repair must follow the scroll.
#[test]
fn an_expose_overtaken_by_a_scroll_is_repaired_where_it_moved() {
    let server = XServer::start().unwrap();
    let cover = Cover::new(&server);
    for transport in TRANSPORTS {
        for server_copy in [false, true] {
            let what = format!("{transport:?} server_copy={server_copy}");
            let mut sc = scene(&server, 200, 150, false);
            let mut store = sc.store_with(transport, server_copy);
            let mut image = vec![0u32; 200 * 150];
            let all = region(&[(0, 0, 200, 150)]);
            cover.show(Rect::new(50, 40, 100, 60));
            paint_flush(&mut sc, &mut store, &mut image, &all, 1);
            hand_over(&sc, &mut store);
            cover.hide();
            scroll(&mut sc, &mut store, &mut image, &all, (0, -25), 2);
            scroll(&mut sc, &mut store, &mut image, &all, (-20, 0), 3);
            hand_over(&sc, &mut store);
            shows(
                &mut sc,
                &image,
                &format!("{what}: an Expose read after two scrolls"),
            );
        }
    }
}

/// The same two changes, with the events handed over without their sequence numbers
/// (`handle_event`, `expose`): repaired wherever the scrolls may have moved them.
#[test]
fn events_without_sequence_numbers_are_repaired_wherever_they_may_be() {
    let server = XServer::start().unwrap();
    let cover = Cover::new(&server);
    for transport in TRANSPORTS {
        let mut sc = scene(&server, 200, 150, false);
        let mut store = sc.store_with(transport, false);
        let mut image = vec![0u32; 200 * 150];
        let all = region(&[(0, 0, 200, 150)]);
        cover.show(Rect::new(0, 100, 200, 50));
        paint_flush(&mut sc, &mut store, &mut image, &all, 1);
        scroll(&mut sc, &mut store, &mut image, &all, (0, -30), 2);
        cover.show(Rect::new(60, 20, 80, 30));
        cover.hide();
        scroll(&mut sc, &mut store, &mut image, &all, (0, -30), 3);
        sc.conn.sync().unwrap();
        while let Some(event) = sc.conn.poll_for_event().unwrap() {
            match event {
                Event::Expose(e) => {
                    let r = Rect::new(e.x.into(), e.y.into(), e.width.into(), e.height.into());
                    store.expose(&Region::from(r)).unwrap();
                }
                other => {
                    store.handle_event(&other);
                }
            }
        }
        shows(
            &mut sc,
            &image,
            &format!("{transport:?}: events without sequences"),
        );
    }
}

/// A resize between the scroll and its events: the repair lands where the damage is,
/// clipped to the new size. The window keeps its content across resizes (north-west
/// bit gravity, as `xbs-window` makes windows), so the resize exposes only what it adds.
#[test]
fn a_resize_between_a_scroll_and_its_events() {
    let server = XServer::start().unwrap();
    let cover = Cover::new(&server);
    for transport in TRANSPORTS {
        let mut sc = scene(&server, 200, 150, false);
        let keep = ChangeWindowAttributesAux::new().bit_gravity(Gravity::NORTH_WEST);
        sc.conn.change_window_attributes(sc.window, &keep).unwrap();
        let mut store = sc.store_with(transport, false);
        let mut image = vec![0u32; 200 * 150];
        let all = region(&[(0, 0, 200, 150)]);
        cover.show(Rect::new(0, 100, 200, 50));
        paint_flush(&mut sc, &mut store, &mut image, &all, 1);
        hand_over(&sc, &mut store);
        scroll(&mut sc, &mut store, &mut image, &all, (0, -30), 2);
        store.resize(180, 160).unwrap();
        sc.resized(&mut image, 180, 160);
        let grown = region(&[(0, 150, 180, 10)]);
        paint_flush(&mut sc, &mut store, &mut image, &grown, 3);
        let now = region(&[(0, 0, 180, 160)]);
        scroll(&mut sc, &mut store, &mut image, &now, (0, -20), 4);
        cover.hide();
        hand_over(&sc, &mut store);
        shows(
            &mut sc,
            &image,
            &format!("{transport:?}: resized before the events"),
        );
    }
}

/// xorshift64*, as the soak's.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u32) -> u32 {
        (self.next() % u64::from(n.max(1))) as u32
    }
    fn range(&mut self, lo: i32, hi: i32) -> i32 {
        lo + self.below((hi - lo) as u32) as i32
    }
    fn rect(&mut self, w: u32, h: u32) -> Rect {
        let x = self.range(-20, w as i32 + 10);
        let y = self.range(-20, h as i32 + 10);
        Rect::new(x, y, 1 + self.below(w / 2 + 20), 1 + self.below(h / 2 + 20))
    }
}

/// The seed: `XBS_LATE_SEED`, else a fixed one.
fn seed() -> u64 {
    std::env::var("XBS_LATE_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x1a7e_0001)
}

/// Operations per configuration: `XBS_LATE_OPS`, else 1500.
fn ops() -> u64 {
    std::env::var("XBS_LATE_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500)
}

/// Paints, scrolls (small and large steps, both axes), resizes and exposes, with the
/// other client's window covering and uncovering parts of ours at random, and the
/// events handed over late: after 0, 1, 2 or several more scrolls, or all at the next
/// checkpoint. Every 20 operations the cover goes away, every event is handed over,
/// and the window must show the image.
fn late_events(
    server: &XServer,
    cover: &Cover,
    transport: Transport,
    server_copy: bool,
    seed: u64,
) {
    let what = format!("{transport:?} server_copy={server_copy} seed {seed}");
    let mut sc = scene(server, 200, 150, false);
    let mut store = sc.store_with(transport, server_copy);
    let mut image = vec![0u32; 200 * 150];
    let mut rng = Rng(seed | 1);
    let all = region(&[(0, 0, 200, 150)]);
    paint_flush(&mut sc, &mut store, &mut image, &all, 1);
    // Scrolls still to come before the events are handed over (`None`: at the
    // checkpoint).
    let mut hand_after: Option<u32> = Some(0);
    let mut checks = 0;
    for op in 1..=ops() {
        let (w, h) = (sc.w, sc.h);
        match rng.below(20) {
            0..=5 => {
                let r = Region::from_rects((0..1 + rng.below(4)).map(|_| rng.rect(w, h)));
                paint_flush(&mut sc, &mut store, &mut image, &r, rng.below(1 << 30));
            }
            6..=12 => {
                let d = match rng.below(4) {
                    0 => (0, rng.range(-40, 40)),
                    1 => (rng.range(-40, 40), 0),
                    2 => (rng.range(-40, 40), rng.range(-40, 40)),
                    _ => (rng.range(-2, 3) * 100, rng.range(-2, 3) * 100),
                };
                let area = if rng.below(2) == 0 {
                    all.intersect_rect(Rect::new(0, 0, w, h))
                } else {
                    Region::from(rng.rect(w, h))
                };
                scroll(
                    &mut sc,
                    &mut store,
                    &mut image,
                    &area,
                    d,
                    rng.below(1 << 30),
                );
                hand_after = hand_after.map(|n| n.saturating_sub(1));
            }
            13..=15 => match rng.below(3) {
                0 => cover.hide(),
                _ => cover.show(rng.rect(w, h).union_bounds(&Rect::new(
                    rng.range(0, w as i32),
                    rng.range(0, h as i32),
                    1,
                    1,
                ))),
            },
            16 => {
                let c = Region::from(rng.rect(w, h))
                    .intersect_rect(Rect::new(0, 0, w, h))
                    .bounds();
                if !c.is_empty() {
                    sc.conn
                        .clear_area(
                            true,
                            sc.window,
                            c.x as i16,
                            c.y as i16,
                            c.width as u16,
                            c.height as u16,
                        )
                        .unwrap();
                }
            }
            17 => {
                let (nw, nh) = (40 + rng.below(200), 40 + rng.below(150));
                store.resize(nw, nh).unwrap();
                sc.resized(&mut image, nw, nh);
                let grown = Region::from(Rect::new(0, 0, nw, nh));
                paint_flush(&mut sc, &mut store, &mut image, &grown, rng.below(1 << 30));
            }
            _ => {
                hand_after = match rng.below(5) {
                    0 => None,
                    n => Some(n - 1),
                };
            }
        }
        if hand_after == Some(0) {
            hand_over(&sc, &mut store);
            hand_after = Some(rng.below(4));
        }
        assert!(store.stats().scrolls_remembered <= 64, "{what}: bounded");
        if op % 20 == 0 {
            cover.hide();
            hand_over(&sc, &mut store);
            let shown = image.clone();
            shows(&mut sc, &shown, &format!("{what}: after op {op}"));
            checks += 1;
        }
    }
    eprintln!(
        "{what}: {} ops, {checks} checkpoints, 0 pixels wrong",
        ops()
    );
}

#[test]
fn late_events_with_a_window_over_ours_against_the_image() {
    let server = XServer::start().unwrap();
    let cover = Cover::new(&server);
    for transport in TRANSPORTS {
        for server_copy in [false, true] {
            late_events(&server, &cover, transport, server_copy, seed());
        }
    }
}

/// A toolkit that hands no events over for a while: many scrolls of a partly covered
/// window, their GraphicsExposures queued. The history stays within its cap; the full
/// read at the end repairs everything.
#[test]
fn events_held_back_past_the_cap_then_read_at_once() {
    let server = XServer::start().unwrap();
    let cover = Cover::new(&server);
    for transport in TRANSPORTS {
        let what = format!("{transport:?}");
        let mut sc = scene(&server, 200, 150, false);
        let mut store = sc.store_with(transport, false);
        let mut image = vec![0u32; 200 * 150];
        let all = region(&[(0, 0, 200, 150)]);
        paint_flush(&mut sc, &mut store, &mut image, &all, 1);
        hand_over(&sc, &mut store);
        cover.show(Rect::new(120, 60, 80, 40));
        let mut most = 0;
        for i in 0..150 {
            let d = [(0, -7), (0, 5), (-6, 0), (4, 3)][i % 4];
            scroll(&mut sc, &mut store, &mut image, &all, d, 10 + i as u32);
            most = most.max(store.stats().scrolls_remembered);
        }
        assert_eq!(most, 64, "{what}: the history stops at its cap");
        cover.hide();
        hand_over(&sc, &mut store);
        shows(
            &mut sc,
            &image,
            &format!("{what}: 150 scrolls, then every event"),
        );
        assert_eq!(store.stats().scrolls_remembered, 0, "{what}");
    }
}
