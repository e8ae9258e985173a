//! Presenting through the Present extension (`Options::present`): flushes become
//! `PresentPixmap`s of shm pixmaps over the store's buffers, read at the vblank, or,
//! over put-image, of a server pixmap the uploads fill. On a real server
//! (`XBS_TEST_SERVER` picks which; Xvfb at `-fakescreenfps 120`).

mod common;
mod hide;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{region, scene, Scene};
use x11rb::protocol::xproto::ConnectionExt as _;
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;
use xbs::{BackingStore, Options, PresentMode, Transport};
use xbs_tests::leaks::{self, Snapshot};
use xbs_tests::{ServerKind, XServer};

type Store = BackingStore<Arc<RustConnection>>;

fn server() -> XServer {
    match ServerKind::from_env() {
        ServerKind::Xvfb => XServer::builder().fake_screen_fps(120).start().unwrap(),
        _ => XServer::start().unwrap(),
    }
}

/// Hands the store its events until every present sent has completed (copied,
/// flipped or skipped), as an app's loop would.
fn presented(sc: &mut Scene, store: &mut Store, image: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        sc.settle(store, image).unwrap();
        let s = store.stats();
        if s.present_copies + s.present_flips + s.present_skips >= s.presents {
            return;
        }
        assert!(Instant::now() < deadline, "presents never completed: {s:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn presented_flushes_are_pixel_exact_on_every_transport() {
    let _serial = leaks::serial();
    let server = server();
    // Put-image presents a server pixmap its uploads fill.
    for transport in [Transport::ShmFd, Transport::ShmSysV, Transport::PutImage] {
        for mode in [PresentMode::Vsync, PresentMode::Immediate] {
            let what = format!("{transport:?} {mode:?}");
            let mut sc = scene(&server, 160, 120, false);
            let baseline = Snapshot::take(&*sc.conn);
            let options = Options::new().transport(transport).present(mode);
            let mut store = BackingStore::new(sc.conn.clone(), sc.window, options).unwrap();
            assert_eq!(store.stats().present, mode, "{what}");
            let mut image = vec![0u32; 160 * 120];
            let all = region(&[(0, 0, 160, 120)]);
            sc.paint_flush(&mut store, &mut image, &all, 1);
            presented(&mut sc, &mut store, &image);
            sc.check(&format!("{what}: a whole frame"));
            // Damage only, several frames in a row: each paint goes to the buffer the
            // server is not reading.
            for seed in 2..10 {
                let r = region(&[(seed as i32 * 9, 10, 30, 20), (5, seed as i32 * 7, 12, 12)]);
                sc.paint_flush(&mut store, &mut image, &r, seed);
            }
            presented(&mut sc, &mut store, &image);
            sc.check(&format!("{what}: damage"));
            // A scroll and an Expose are presented too, in order.
            let strip = store.scroll(&all, 0, -9).unwrap();
            assert_eq!(strip, sc.scrolled(&mut image, &all, 0, -9));
            sc.paint_flush(&mut store, &mut image, &strip, 20);
            sc.conn.clear_area(true, sc.window, 0, 0, 0, 0).unwrap();
            presented(&mut sc, &mut store, &image);
            sc.check(&format!("{what}: scrolled and exposed"));
            // Resized: the pixmaps are made anew.
            sc.resized(&mut image, 100, 80);
            store.resize(100, 80).unwrap();
            let small = region(&[(0, 0, 100, 80)]);
            sc.paint_flush(&mut store, &mut image, &small, 30);
            presented(&mut sc, &mut store, &image);
            sc.check(&format!("{what}: resized"));
            let s = store.stats();
            assert!(s.presents >= 12, "{what}: {s:?}");
            assert_eq!(s.bytes_uploaded % 4, 0);
            eprintln!(
                "{what}: {} presents: {} copied, {} flipped, {} skipped; {} waits, {} switches",
                s.presents, s.present_copies, s.present_flips, s.present_skips, s.waits, s.switches
            );
            store.close().unwrap();
            sc.conn.sync().unwrap();
            let after = Snapshot::take(&*sc.conn);
            assert_eq!(after.server, baseline.server, "{what}: server resources");
            assert_eq!(after.fds, baseline.fds, "{what}: fds");
            assert_eq!(after.sysv_segments, baseline.sysv_segments, "{what}");
        }
    }
}

#[test]
fn a_paint_while_a_present_waits_for_its_vblank_never_tears_it() {
    let _serial = leaks::serial();
    let server = server();
    let mut sc = scene(&server, 100, 100, false);
    let options = Options::new().present(PresentMode::Vsync);
    let mut store = BackingStore::new(sc.conn.clone(), sc.window, options).unwrap();
    let mut image = vec![0u32; 100 * 100];
    let all = region(&[(0, 0, 100, 100)]);
    // Two frames: both buffers exist.
    sc.paint_flush(&mut store, &mut image, &all, 1);
    sc.paint_flush(&mut store, &mut image, &all, 2);
    presented(&mut sc, &mut store, &image);

    // The server stops with frame 3 presented, not yet read.
    sc.paint_flush(&mut store, &mut image, &all, 3);
    let shown = image.clone();
    let resume = common::stop_for_a_while(&server);
    // Frame 4 is painted meanwhile: into the other buffer, or after a wait.
    let mut next = image.clone();
    sc.paint(&mut store, &mut next, &all, 4);
    resume.join().unwrap();
    presented(&mut sc, &mut store, &shown);
    sc.check("frame 3 as it was presented");
    store.flush(&all).unwrap();
    sc.shown(&next, &all);
    presented(&mut sc, &mut store, &next);
    sc.check("then frame 4");
}

#[test]
fn put_image_presents_a_pixmap_it_fills_and_writes_it_only_once_read() {
    // On a server without MIT-SHM at all (where one runs without it).
    let _serial = leaks::serial();
    let builder = match ServerKind::from_env() {
        ServerKind::Xvfb => XServer::builder().fake_screen_fps(120),
        kind => XServer::builder().kind(kind),
    };
    let Some(server) = xbs_tests::start_or_skip(builder.without_shm()) else {
        return;
    };
    let mut sc = scene(&server, 120, 90, false);
    let baseline = Snapshot::take(&*sc.conn);
    let options = Options::new().present(PresentMode::Vsync);
    let mut store = BackingStore::new(sc.conn.clone(), sc.window, options).unwrap();
    let s = store.stats();
    assert_eq!(
        (s.transport, s.present),
        (Transport::PutImage, PresentMode::Vsync)
    );
    let mut image = vec![0u32; 120 * 90];
    let all = region(&[(0, 0, 120, 90)]);
    // Frames in a row: each flush waits until the last present has read the pixmap,
    // so each one shows as it was painted.
    for seed in 1..6 {
        sc.paint_flush(&mut store, &mut image, &all, seed);
        presented(&mut sc, &mut store, &image);
        sc.check(&format!("frame {seed}"));
    }
    // Back to back: each flush waits for the last present to have read the pixmap
    // (one present a vblank), so none is skipped, none shows a later frame's pixels.
    for seed in 6..16 {
        sc.paint_flush(&mut store, &mut image, &all, seed);
    }
    presented(&mut sc, &mut store, &image);
    sc.check("after ten back to back");
    let s = store.stats();
    assert!(s.presents >= 15 && s.present_copies >= 15, "{s:?}");
    assert_eq!(s.present_skips, 0, "{s:?}");
    // A flush while the last present may still read the pixmap waits for it: with
    // the server stopped right after a present, the next flush waits until it runs
    // again, having written nothing meanwhile.
    sc.paint_flush(&mut store, &mut image, &all, 16);
    let waits = store.stats().waits;
    let resume = common::stop_for_a_while(&server);
    sc.paint_flush(&mut store, &mut image, &all, 17);
    resume.join().unwrap();
    assert_eq!(store.stats().waits, waits + 1, "{:?}", store.stats());
    presented(&mut sc, &mut store, &image);
    sc.check("after the stop");
    store.close().unwrap();
    sc.conn.sync().unwrap();
    let after = Snapshot::take(&*sc.conn);
    assert_eq!(after.server, baseline.server, "server resources");
}

#[test]
fn without_present_presenting_falls_back_with_a_warning() {
    // No server here can turn Present off: the connection says the server lacks it.
    let _serial = leaks::serial();
    let server = XServer::start().unwrap();
    let sc = scene(&server, 64, 64, false);
    let (conn, _) = server.connect().unwrap();
    let conn = hide::Hiding {
        inner: conn,
        extension: x11rb::protocol::present::X11_EXTENSION_NAME,
    };
    let options = Options::new().present(PresentMode::Vsync);
    let mut store = BackingStore::new(conn, sc.window, options).unwrap();
    assert_eq!(store.stats().present, PresentMode::Off);
    let all = region(&[(0, 0, 64, 64)]);
    store
        .begin_paint(&all)
        .unwrap()
        .fill(all.bounds(), 0xff00_8040);
    store.flush(&all).unwrap();
    assert_eq!(store.stats().presents, 0);
    assert!(store.stats().flushes >= 1);
}
