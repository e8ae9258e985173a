//! A store whose events nobody hands over never grows (issue 18): 100,000 frames on
//! every transport, on a connection of the store's own that nobody else reads
//! ([`Events::Own`]: the store reads it inside its calls) and on one a toolkit reads
//! without handing anything over ([`Events::Foreign`]: the store asks for no event).
//! Resident heap memory and the events left queued on the connection stay within a small
//! constant, and the window shows the last frame. Alone in its binary, so that no
//! other test's memory counts.

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt as _, ImageFormat};
use x11rb::xcb_ffi::XCBConnection;
use xbs::{BackingStore, Events, Options, Rect, Region, Transport};
use xbs_tests::XServer;

mod common;

const FRAMES: u32 = 100_000;
const W: u32 = 320;
const H: u32 = 240;

/// Resident private memory of this process (`RssAnon`), in KiB: the heap, where
/// anything piling up would be. Shared segments count apart (`RssShmem`), as their
/// pages are first touched.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("RssAnon:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// `FRAMES` frames of a small moving rect, a scroll every 64; returns the RSS growth
/// in KiB between frame 2,000 and the end, and the colour of the last rect.
fn frames<C: Connection>(store: &mut BackingStore<C>) -> (i64, Rect, u32) {
    let all = Region::from(Rect::new(0, 0, W, H));
    let mut settled = 0;
    let mut last = (Rect::default(), 0);
    for n in 0..FRAMES {
        if n == 2_000 {
            settled = rss_kib();
        }
        if n % 64 == 63 {
            let strip = store.scroll(&all, 0, -2).unwrap();
            store
                .begin_paint(&strip)
                .unwrap()
                .fill(strip.bounds(), 0xff10_2030);
            store.flush(&strip).unwrap();
        }
        let r = Rect::new(((n * 7) % (W - 8)) as i32, ((n * 3) % (H - 8)) as i32, 8, 8);
        let colour = 0xff00_0000 | (n & 0xff_ffff);
        let damage = Region::from(r);
        store.begin_paint(&damage).unwrap().fill(r, colour);
        store.flush(&damage).unwrap();
        last = (r, colour);
    }
    let grown = rss_kib() as i64 - settled as i64;
    (grown, last.0, last.1)
}

/// The pixel at (`x`, `y`) of `window`, as 0xRRGGBB (24-bit TrueColor, little-endian).
fn pixel(conn: &impl Connection, window: u32, x: i32, y: i32) -> u32 {
    let img = conn
        .get_image(ImageFormat::Z_PIXMAP, window, x as i16, y as i16, 1, 1, !0)
        .unwrap()
        .reply()
        .unwrap();
    u32::from_le_bytes([img.data[0], img.data[1], img.data[2], 0])
}

/// Events still queued on `conn`, drained.
fn queued(conn: &impl Connection) -> usize {
    let mut n = 0;
    while conn.poll_for_event().unwrap().is_some() {
        n += 1;
    }
    n
}

#[test]
fn a_store_whose_events_nobody_hands_over_stays_flat() {
    let server = XServer::start().unwrap();
    let sc = common::scene(&server, W as u16, H as u16, false);
    let mut report = Vec::new();
    for transport in [Transport::ShmFd, Transport::ShmSysV, Transport::PutImage] {
        // A connection only the store uses.
        let (own, _) = server.connect().unwrap();
        let options = Options::new().transport(transport).events(Events::Own);
        let mut store = BackingStore::new(own, sc.window, options).unwrap();
        let (grown, r, colour) = frames(&mut store);
        let left = queued(store.connection());
        assert_eq!(
            pixel(&sc.conn, sc.window, r.x + 3, r.y + 3),
            colour & 0xff_ffff
        );
        report.push(format!(
            "{transport:?} own: {grown} KiB, {left} events left"
        ));
        assert!(
            grown <= 256,
            "{transport:?}, own connection: grew {grown} KiB"
        );
        assert!(
            left <= 4,
            "{transport:?}, own connection: {left} events queued"
        );
        drop(store);

        // A toolkit's libxcb connection that never hands events over (nobody reads it
        // here: whatever the store asked for would stay queued).
        let display = std::ffi::CString::new(server.display_name()).unwrap();
        let (toolkit, _) = XCBConnection::connect(Some(&display)).unwrap();
        let options = Options::new().transport(transport).events(Events::Foreign);
        let mut store = BackingStore::new(&toolkit, sc.window, options).unwrap();
        let (grown, r, colour) = frames(&mut store);
        drop(store);
        let left = queued(&toolkit);
        assert_eq!(
            pixel(&sc.conn, sc.window, r.x + 3, r.y + 3),
            colour & 0xff_ffff
        );
        report.push(format!(
            "{transport:?} foreign: {grown} KiB, {left} events left"
        ));
        assert!(
            grown <= 256,
            "{transport:?}, toolkit's connection: grew {grown} KiB"
        );
        assert_eq!(
            left, 0,
            "{transport:?}, toolkit's connection: events queued"
        );
    }
    println!("{FRAMES} frames each: {}", report.join("; "));
}
