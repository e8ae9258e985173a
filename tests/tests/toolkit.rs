//! A store on a toolkit's connection (issue 18): the toolkit (here a libxcb connection
//! of the test's, as winit's is) reads every event. One that never hands them over
//! ([`Events::Foreign`]) and one that forwards the store's ([`Events::Handed`]) both
//! scroll a partly covered window pixel-exactly: the first because the store asks for
//! no GraphicsExposure and, with no compositor to keep covered pixels, shows the moved
//! pixels from its image; the second because it repairs what the events name. On
//! Xwayland, where every window is redirected, the first scrolls with `CopyArea`.

mod common;

use common::{region, scene, Cover, Scene, SyncExt as _};
use x11rb::connection::Connection;
use x11rb::protocol::Event;
use x11rb::xcb_ffi::XCBConnection;
use xbs::{BackingStore, Events, Options, Rect, Region, Transport};
use xbs_tests::{ServerKind, XServer};

const TRANSPORTS: [Transport; 3] = [Transport::ShmFd, Transport::ShmSysV, Transport::PutImage];

/// Paints `region` of the store and the image model with a pattern, and flushes it.
fn paint_flush<C: Connection>(
    store: &mut BackingStore<C>,
    image: &mut [u32],
    w: u32,
    region: &Region,
    seed: u32,
) {
    let mut frame = store.begin_paint(region).unwrap();
    let mut rects = frame.rects_mut();
    while let Some(mut rect) = rects.next() {
        let left = rect.rect().x;
        for (y, row) in rect.rows_mut() {
            for (i, px) in row.chunks_exact_mut(4).enumerate() {
                let x = left + i as i32;
                let v = common::pattern(x, y, seed);
                px.copy_from_slice(&v.to_ne_bytes());
                image[y as usize * w as usize + x as usize] = v;
            }
        }
    }
    store.flush(region).unwrap();
}

/// What the app does with the events of its window (Expose, read by the scene's
/// connection, which made the window) and, when it forwards them, with the toolkit
/// connection's (the store's GraphicsExposure and NoExposure).
fn hand_over(sc: &Scene, toolkit: &XCBConnection, store: &mut BackingStore<&XCBConnection>) {
    sc.conn.sync().unwrap();
    while let Some(event) = sc.conn.poll_for_event().unwrap() {
        if let Event::Expose(e) = event {
            let r = Rect::new(e.x.into(), e.y.into(), e.width.into(), e.height.into());
            store.expose(&Region::from(r)).unwrap();
        }
    }
    toolkit.get_input_focus_sync();
    while let Some((event, seq)) = toolkit.poll_for_event_with_sequence().unwrap() {
        if store.events() == Events::Handed {
            store.handle_event_at(&event, seq);
        }
    }
}

trait Sync_ {
    fn get_input_focus_sync(&self);
}

impl Sync_ for XCBConnection {
    fn get_input_focus_sync(&self) {
        use x11rb::protocol::xproto::ConnectionExt as _;
        self.get_input_focus().unwrap().reply().unwrap();
    }
}

/// Scrolls a window a cover hides the bottom of, twice, on a store with `events`.
fn scroll_a_covered_window(server: &XServer, events: Events) {
    let cover = Cover::new(server);
    let display = std::ffi::CString::new(server.display_name()).unwrap();
    let (toolkit, _) = XCBConnection::connect(Some(&display)).unwrap();
    for transport in TRANSPORTS {
        let what = format!("{transport:?} {events:?}");
        let mut sc = scene(server, 200, 150, false);
        let options = Options::new().transport(transport).events(events);
        let mut store = BackingStore::new(&toolkit, sc.window, options).unwrap();
        assert_eq!(store.events(), events);
        let mut image = vec![0u32; 200 * 150];
        let all = region(&[(0, 0, 200, 150)]);
        cover.show(Rect::new(0, 100, 200, 50));
        paint_flush(&mut store, &mut image, 200, &all, 1);
        for seed in [2, 3] {
            let strip = store.scroll(&all, 0, -30).unwrap();
            let moved = sc.scrolled(&mut image, &all, 0, -30);
            assert_eq!(strip, moved, "{what}");
            paint_flush(&mut store, &mut image, 200, &strip, seed);
        }
        hand_over(&sc, &toolkit, &mut store);
        cover.hide();
        hand_over(&sc, &toolkit, &mut store);
        sc.model = image.clone();
        sc.check(&what);
    }
}

#[test]
fn a_toolkit_that_never_hands_events_over_scrolls_exactly() {
    let server = XServer::start().unwrap();
    scroll_a_covered_window(&server, Events::Foreign);
}

#[test]
fn a_toolkit_that_forwards_the_stores_events_scrolls_exactly() {
    let server = XServer::start().unwrap();
    scroll_a_covered_window(&server, Events::Handed);
}

#[test]
fn on_xwayland_a_toolkit_that_never_hands_events_over_scrolls_exactly() {
    let Some(server) = xbs_tests::start_or_skip(XServer::builder().kind(ServerKind::Xwayland))
    else {
        return;
    };
    scroll_a_covered_window(&server, Events::Foreign);
}
