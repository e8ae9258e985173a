//! BackingStore against real Xvfb servers: every transport × server configuration,
//! pixel-exact against a model of what the window must show.

mod common;

use std::sync::Arc;

use common::{pattern, region, scene, Scene, SyncExt as _};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    ConfigureWindowAux, ConnectionExt as _, CreateWindowAux, ImageFormat, WindowClass,
};
use x11rb::protocol::Event;
use x11rb::rust_connection::RustConnection;
use xbs::{BackingStore, Busy, Error, Layout, Options, Rect, Region, Transport};
use xbs_tests::{Builder, ServerKind, XServer};

/// Paint, flush parts, scroll every way, expose, resize: pixel-exact throughout.
fn exercise(server: &XServer, transport: Transport, argb: bool) {
    exercise_with(server, transport, argb, false);
}

fn exercise_with(server: &XServer, transport: Transport, argb: bool, server_copy: bool) {
    exercise_in(server, transport, argb, server_copy, Layout::Native);
}

fn exercise_in(
    server: &XServer,
    transport: Transport,
    argb: bool,
    server_copy: bool,
    layout: Layout,
) {
    let mut sc = scene(server, 200, 150, argb);
    let options = Options::new()
        .transport(transport)
        .server_copy(server_copy)
        .layout(layout);
    let mut store = sc.store_with_options(options);
    let mut image = vec![0u32; 200 * 150];
    let what =
        |s: &str| format!("{transport:?} argb={argb} server_copy={server_copy} {layout:?} {s}");

    // Paint everything, flush only two pieces (one sticking out of the window).
    sc.paint(&mut store, &mut image, &region(&[(0, 0, 200, 150)]), 1);
    let part = region(&[(10, 10, 50, 40), (150, 100, 500, 500)]);
    store.flush(&part).unwrap();
    sc.shown(&image, &part);
    sc.check(&what("partial flush"));
    let all = region(&[(0, 0, 200, 150)]);
    store.flush(&all).unwrap();
    sc.shown(&image, &all);
    sc.check(&what("full flush"));

    // Scroll a panel every way, by more than its size, negative, zero.
    let panel = Rect::new(20, 30, 120, 90);
    for (i, &(dx, dy)) in [
        (0, -17),
        (0, 23),
        (31, 0),
        (-9, 0),
        (13, -7),
        (-5, 11),
        (0, 0),
        (500, 0),
        (0, -90),
        (i32::MIN, i32::MAX),
    ]
    .iter()
    .enumerate()
    {
        let area = Region::from(panel);
        let exposed = store.scroll(&area, dx, dy).unwrap();
        let expected = sc.scrolled(&mut image, &area, dx, dy);
        assert_eq!(exposed, expected, "scroll {dx},{dy}");
        sc.paint_flush(&mut store, &mut image, &exposed, 100 + i as u32);
        sc.check(&what(&format!("scroll {dx},{dy}")));
    }

    // Expose: the server forgets part of the window; the store repairs it alone.
    sc.conn.clear_area(true, sc.window, 5, 5, 100, 60).unwrap();
    sc.conn.sync().unwrap();
    let mut exposed = Region::new();
    while let Some(ev) = sc.conn.poll_for_event().unwrap() {
        if let Event::Expose(e) = ev {
            exposed.add_rect(Rect::new(
                e.x.into(),
                e.y.into(),
                e.width.into(),
                e.height.into(),
            ));
        } else {
            store.handle_event(&ev);
        }
    }
    assert_eq!(exposed, region(&[(5, 5, 100, 60)]));
    let uploaded = store.stats().bytes_uploaded;
    store.expose(&exposed).unwrap();
    sc.check(&what("expose"));
    if server_copy {
        assert_eq!(
            store.stats().bytes_uploaded,
            uploaded,
            "expose from the pixmap uploads nothing"
        );
    } else {
        let bpp = sc.bytes_per_pixel as u64;
        assert_eq!(store.stats().bytes_uploaded, uploaded + 100 * 60 * bpp);
    }

    // Resize up, down, to 1×1 and back: the overlap survives, the rest is black.
    for (w, h) in [(260u32, 190u32), (90, 40), (1, 1), (200, 150)] {
        sc.resized(&mut image, w, h);
        store.resize(w, h).unwrap();
        assert_eq!(store.size(), (w, h));
        let all = region(&[(0, 0, w, h)]);
        store.flush(&all).unwrap();
        sc.shown(&image, &all);
        sc.check(&what(&format!("resize to {w}x{h}")));
    }
    let stats = store.stats();
    assert!(stats.bytes_uploaded > 0 && stats.requests > 0, "{stats:?}");
    store.close().unwrap();
}

#[test]
fn shm_fd_is_pixel_exact() {
    let server = XServer::start().unwrap();
    exercise(&server, Transport::ShmFd, false);
}

#[test]
fn shm_sysv_is_pixel_exact() {
    let server = XServer::start().unwrap();
    exercise(&server, Transport::ShmSysV, false);
}

#[test]
fn put_image_is_pixel_exact() {
    let server = XServer::start().unwrap();
    exercise(&server, Transport::PutImage, false);
}

#[test]
fn argb_visual_is_pixel_exact_on_every_transport() {
    let server = XServer::start().unwrap();
    for t in [Transport::ShmFd, Transport::ShmSysV, Transport::PutImage] {
        exercise(&server, t, true);
    }
}

#[test]
fn server_copy_is_pixel_exact_on_every_transport() {
    let server = XServer::start().unwrap();
    for t in [Transport::ShmFd, Transport::ShmSysV, Transport::PutImage] {
        exercise_with(&server, t, false, true);
        exercise_with(&server, t, true, true);
    }
    if let Some(server16) = xbs_tests::start_or_skip(XServer::builder().depth(16)) {
        exercise_with(&server16, Transport::PutImage, false, true);
    }
}

#[test]
fn scrolling_a_covered_window_repairs_what_was_hidden() {
    // A window covers part of ours while it scrolls: without a server copy the store
    // repairs the GraphicsExpose from the image; with one, the pixmap has everything.
    let server = XServer::start().unwrap();
    for server_copy in [false, true] {
        let mut sc = scene(&server, 160, 120, false);
        let mut store = sc.store_with(Transport::ShmFd, server_copy);
        let mut image = vec![0u32; 160 * 120];
        let all = region(&[(0, 0, 160, 120)]);
        sc.paint_flush(&mut store, &mut image, &all, 5);
        let s = &sc.conn.setup().roots[0];
        let cover = sc.conn.generate_id().unwrap();
        sc.conn
            .create_window(
                s.root_depth,
                cover,
                s.root,
                0,
                60,
                160,
                60,
                0,
                WindowClass::INPUT_OUTPUT,
                s.root_visual,
                &CreateWindowAux::new().background_pixel(0x00ff_00ff),
            )
            .unwrap();
        sc.conn.map_window(cover).unwrap();
        sc.conn.sync().unwrap();
        // Scroll everything up by 50: rows 60.. were hidden and must come up.
        let exposed = store.scroll(&all, 0, -50).unwrap();
        let mut frame_image = image.clone();
        for y in 0..70usize {
            for x in 0..160usize {
                frame_image[y * 160 + x] = image[(y + 50) * 160 + x];
            }
        }
        image = frame_image;
        sc.paint(&mut store, &mut image, &exposed, 6);
        store.flush(&exposed).unwrap();
        sc.conn.sync().unwrap();
        sc.conn.destroy_window(cover).unwrap();
        sc.conn.sync().unwrap();
        let mut expose = Region::new();
        while let Some(ev) = sc.conn.poll_for_event().unwrap() {
            match ev {
                Event::Expose(e) if e.window == sc.window => expose.add_rect(Rect::new(
                    e.x.into(),
                    e.y.into(),
                    e.width.into(),
                    e.height.into(),
                )),
                other => {
                    store.handle_event(&other);
                }
            }
        }
        store.expose(&expose).unwrap();
        sc.model = image.clone();
        sc.check(&format!("covered scroll, server_copy={server_copy}"));
    }
}

#[test]
fn server_without_mit_shm_uses_put_image() {
    let Some(server) = xbs_tests::start_or_skip(XServer::builder().without_shm()) else {
        return;
    };
    let sc = scene(&server, 64, 64, false);
    let store = BackingStore::new(sc.conn.clone(), sc.window, Options::default()).unwrap();
    assert_eq!(store.transport(), Transport::PutImage);
    assert_eq!(store.stats().segments_alive, 0);
    drop(store);
    let err = BackingStore::new(
        sc.conn.clone(),
        sc.window,
        Options::new().transport(Transport::ShmFd),
    )
    .err()
    .expect("shm-fd cannot work without MIT-SHM");
    assert!(
        matches!(
            err,
            Error::TransportUnavailable {
                transport: Transport::ShmFd,
                ..
            }
        ),
        "{err}"
    );
    exercise(&server, Transport::PutImage, false);
}

#[test]
fn tcp_server_uses_put_image() {
    let Some(server) = xbs_tests::start_or_skip(XServer::builder().tcp()) else {
        return;
    };
    let sc = scene(&server, 64, 64, false);
    let store = BackingStore::new(sc.conn.clone(), sc.window, Options::default()).unwrap();
    assert_eq!(store.transport(), Transport::PutImage);
    drop(store);
    exercise(&server, Transport::PutImage, false);
}

#[test]
fn other_ipc_namespace_picks_fd_passing() {
    let Some(server) = xbs_tests::start_or_skip(Builder::default().private_ipc()) else {
        return;
    };
    let sc = scene(&server, 64, 64, false);
    let store = BackingStore::new(sc.conn.clone(), sc.window, Options::default()).unwrap();
    assert_eq!(store.transport(), Transport::ShmFd);
}

#[test]
fn depth_16_converts_on_every_transport() {
    // RGB565: the app paints xRGB words; only the flushed rects are converted.
    let Some(server) = xbs_tests::start_or_skip(XServer::builder().depth(16)) else {
        return;
    };
    let mut sc = scene(&server, 32, 32, false);
    assert_eq!(sc.depth, 16);
    let store = sc.store(Transport::ShmFd);
    assert!(store.format().converts());
    assert_eq!(store.format().masks, [0xf800, 0x07e0, 0x001f]);
    drop(store);
    for t in [Transport::ShmFd, Transport::ShmSysV, Transport::PutImage] {
        exercise(&server, t, false);
    }
}

/// The visuals users meet beyond Xvfb's depth 24: 16 and 30 bits, and a BGR root
/// visual (TigerVNC's `-pixelformat bgr888`), on every transport, pixel-exact.
#[test]
fn every_visual_of_the_matrix_is_pixel_exact_on_every_transport() {
    let matrix = [
        (
            "Xvfb depth 16",
            XServer::builder().kind(ServerKind::Xvfb).depth(16),
        ),
        (
            "Xvfb depth 30",
            XServer::builder().kind(ServerKind::Xvfb).depth(30),
        ),
        (
            "Xorg depth 16",
            XServer::builder().kind(ServerKind::Xorg).depth(16),
        ),
        (
            "Xorg depth 30",
            XServer::builder().kind(ServerKind::Xorg).depth(30),
        ),
        ("Xvnc BGR", XServer::builder().kind(ServerKind::Xvnc).bgr()),
        (
            "Xephyr depth 16",
            XServer::builder().kind(ServerKind::Xephyr).depth(16),
        ),
    ];
    for (what, builder) in matrix {
        let Some(server) = xbs_tests::start_or_skip(builder) else {
            continue;
        };
        for t in [Transport::ShmFd, Transport::ShmSysV, Transport::PutImage] {
            exercise(&server, t, false);
        }
        eprintln!("{what}: pixel-exact on shm-fd, shm-sysv and put-image");
    }
}

/// tiny-skia's layout (bytes R, G, B, A, `Layout::Rgba`) on every transport, opaque
/// and ARGB, at depth 24 and 16 and on a BGR visual where the server has one: every
/// flushed pixel right, red and blue never swapped.
#[test]
fn an_rgba_canvas_is_pixel_exact_on_every_transport() {
    let servers = [
        ("Xvfb", XServer::builder().kind(ServerKind::Xvfb)),
        (
            "Xvfb depth 16",
            XServer::builder().kind(ServerKind::Xvfb).depth(16),
        ),
        ("Xvnc BGR", XServer::builder().kind(ServerKind::Xvnc).bgr()),
    ];
    for (what, builder) in servers {
        let Some(server) = xbs_tests::start_or_skip(builder) else {
            continue;
        };
        for t in [Transport::ShmFd, Transport::ShmSysV, Transport::PutImage] {
            for argb in [false, true] {
                if argb && what != "Xvfb" {
                    continue;
                }
                exercise_in(&server, t, argb, false, Layout::Rgba);
            }
            exercise_in(&server, t, false, true, Layout::Rgba);
        }
        eprintln!("{what}: an RGBA canvas is pixel-exact on every transport");
    }
}

/// Depth 8 (a palette) is a typed error on every server that has it.
#[test]
fn depth_8_is_a_typed_error_on_every_server() {
    for kind in [ServerKind::Xvfb, ServerKind::Xorg, ServerKind::Xephyr] {
        let Some(server) = xbs_tests::start_or_skip(XServer::builder().kind(kind).depth(8)) else {
            continue;
        };
        let sc = scene(&server, 32, 32, false);
        let err = BackingStore::new(sc.conn.clone(), sc.window, Options::default())
            .err()
            .expect("an 8-bit palette visual cannot be painted in xRGB");
        assert!(
            matches!(err, Error::UnsupportedVisual { depth: 8, .. }),
            "{kind}: {err}"
        );
    }
}

/// A client playing the compositing manager: it takes the selection `_NET_WM_CM_S0`
/// if `take_cm`. The selection is its own while the connection lives.
fn compositor(server: &XServer, take_cm: bool) -> RustConnection {
    let (cm, screen) = server.connect().unwrap();
    let owner = cm.generate_id().unwrap();
    let root = cm.setup().roots[screen].root;
    cm.create_window(
        0,
        owner,
        root,
        0,
        0,
        1,
        1,
        0,
        WindowClass::INPUT_ONLY,
        0,
        &CreateWindowAux::new(),
    )
    .unwrap();
    if take_cm {
        let atom = cm
            .intern_atom(false, b"_NET_WM_CM_S0")
            .unwrap()
            .reply()
            .unwrap()
            .atom;
        cm.set_selection_owner(owner, atom, x11rb::CURRENT_TIME)
            .unwrap();
    }
    cm.sync().unwrap();
    cm
}

/// A flush of `dots` on `server`, watched through DAMAGE by another client, which
/// first takes the compositing manager's selection `_NET_WM_CM_S0` if `take_cm` (on
/// Xwayland weston owns it already). Returns the area the server reported damaged and
/// the requests the store sent.
fn damage_told(server: &XServer, dots: &Region, take_cm: bool, what: &str) -> (u64, u64) {
    use x11rb::protocol::damage::{self, ConnectionExt as _};
    let cm = compositor(server, take_cm);
    cm.damage_query_version(1, 1).unwrap().reply().unwrap();
    let mut sc = scene(server, 640, 640, false);
    let watch = cm.generate_id().unwrap();
    cm.damage_create(watch, sc.window, damage::ReportLevel::RAW_RECTANGLES)
        .unwrap();
    cm.sync().unwrap();
    let mut store = sc.store(Transport::ShmFd);
    let mut image = vec![0u32; 640 * 640];
    sc.paint(&mut store, &mut image, dots, 1);
    cm.sync().unwrap();
    while cm.poll_for_event().unwrap().is_some() {}
    let before = store.stats().requests;
    store.flush(dots).unwrap();
    let requests = store.stats().requests - before;
    sc.shown(&image, dots);
    sc.check(what);
    cm.sync().unwrap();
    let mut damaged = 0u64;
    while let Some(e) = cm.poll_for_event().unwrap() {
        if let x11rb::protocol::Event::DamageNotify(e) = e {
            damaged += u64::from(e.area.width) * u64::from(e.area.height);
        }
    }
    (damaged, requests)
}

/// 16 small rects scattered over a window.
fn sparse_dots() -> Region {
    let dots: Vec<_> = (0..16)
        .map(|i| ((i % 4) * 150 + 5, (i / 4) * 150 + 5, 30, 20))
        .collect();
    region(&dots)
}

/// 8 pairs of overlapping squares (sprites a frame apart): banded, 3 rects a pair.
fn overlapping_sprites() -> (Region, usize) {
    let sprites: Vec<_> = (0..8)
        .flat_map(|i| {
            let (x, y) = ((i % 4) * 150 + 5, (i / 4) * 300 + 5);
            [(x, y, 64, 64), (x + 7, y + 5, 64, 64)]
        })
        .collect();
    (region(&sprites), sprites.len())
}

/// 1 000 rects of one pixel that do not merge: more than a compositor takes one by
/// one.
fn many_dots() -> Region {
    let dots: Vec<_> = (0..1000)
        .map(|i| ((i % 100) * 6, (i / 100) * 6, 1, 1))
        .collect();
    region(&dots)
}

/// The X server's damage layer trims what a put damages to the extents of the GC's
/// clip, so one clipped `ShmPutImage` of a sparse region's bounds tells a compositor
/// that all the bounds changed, which would make it recomposite all of them. With a
/// compositing manager present (it owns `_NET_WM_CM_S0`, here a second client), a
/// sparse flush damages exactly its rects; without one, the store keeps the cheaper
/// single put. Either way a region of more rects than a compositor takes one by one
/// goes in few requests.
#[test]
fn a_compositor_is_told_exactly_what_a_sparse_flush_drew() {
    // Xvfb, whatever XBS_TEST_SERVER says: the test plays the compositor.
    let server = XServer::builder().kind(ServerKind::Xvfb).start().unwrap();
    let dots = sparse_dots();
    let (damaged, _) = damage_told(&server, &dots, false, "no compositor");
    assert!(
        damaged >= dots.bounds().area(),
        "no compositor: one put of the bounds"
    );
    let (damaged, requests) = damage_told(&server, &dots, true, "a compositor");
    assert_eq!(damaged, dots.area(), "a compositor: exactly the rects");
    assert!(requests <= 17, "a compositor: {requests} requests");
    // Overlapping sprites go as themselves, not as the bands they make: a request a
    // sprite, their shared pixels sent twice, the damage still exactly theirs.
    let (sprites, count) = overlapping_sprites();
    assert_eq!(sprites.len(), 3 * count / 2);
    let (damaged, requests) = damage_told(&server, &sprites, true, "a compositor, sprites");
    assert_eq!(
        damaged,
        64 * 64 * count as u64,
        "a compositor: each sprite, once"
    );
    assert_eq!(requests, count as u64, "a compositor: a request a sprite");
    let many = many_dots();
    let (damaged, requests) = damage_told(&server, &many, true, "a compositor, 1000 rects");
    assert!(damaged >= many.area(), "{damaged}");
    assert!(
        requests <= 4,
        "1000 rects with a compositor: {requests} requests"
    );
}

/// The same on Xwayland, where weston is the compositor: exact damage for a sparse
/// flush, and a region of 1 000 rects in a few requests, not one a rect.
#[test]
fn weston_is_told_exactly_what_a_sparse_flush_drew() {
    let Some(server) = xbs_tests::start_or_skip(XServer::builder().kind(ServerKind::Xwayland))
    else {
        return;
    };
    let dots = sparse_dots();
    let (damaged, _) = damage_told(&server, &dots, false, "weston");
    assert_eq!(damaged, dots.area(), "weston: exactly the rects");
    let (sprites, count) = overlapping_sprites();
    let (_, requests) = damage_told(&server, &sprites, false, "weston, sprites");
    assert_eq!(requests, count as u64, "weston: a request a sprite");
    let many = many_dots();
    let (_, requests) = damage_told(&server, &many, false, "weston, 1000 rects");
    assert!(
        requests <= 4,
        "1000 rects under weston: {requests} requests"
    );
}

/// Under a compositor the server and the compositor share the CPUs with the app and
/// are its bottleneck, and waiting for the server was measured faster than switching
/// buffers there (docs/performance.md): a store leans towards waiting, switching only
/// where its trial measures that clearly faster. Without one it leans towards
/// switching, as it does everywhere with `Busy::Switch`. Either way the first paint
/// over pixels in flight shows the lean: a wait keeps one buffer, a switch makes the
/// second.
#[test]
fn under_a_compositor_the_first_paint_over_pixels_in_flight_waits() {
    // Xvfb, whatever XBS_TEST_SERVER says: the test plays the compositor.
    let server = XServer::builder().kind(ServerKind::Xvfb).start().unwrap();
    // (a compositor, what the options say, whether the paint waits)
    for (composited, busy, waits) in [
        (false, Busy::Measured, false),
        (true, Busy::Measured, true),
        (true, Busy::Switch, false),
    ] {
        let what = format!("composited {composited}, {busy:?}");
        let _cm = compositor(&server, composited);
        let mut sc = scene(&server, 320, 240, false);
        let options = Options::new().transport(Transport::ShmFd).busy(busy);
        let mut store = sc.store_with_options(options);
        assert_eq!(store.stats().prefers_waiting, waits, "{what}");
        let all = Region::from(Rect::new(0, 0, 320, 240));
        for pixel in [0xff00_00ff, 0xff00_ff00] {
            // Its events never handed over: the flushed pixels stay in flight.
            store.begin_repaint(&all).unwrap().fill(all.bounds(), pixel);
            store.flush(&all).unwrap();
        }
        let segments = if waits { 1 } else { 2 };
        assert_eq!(store.stats().segments_alive, segments, "{what}");
        sc.model.fill(0xff00_ff00);
        sc.check(&what);
    }
}

#[test]
fn unsupported_visuals_are_typed_errors() {
    // Depth 8 PseudoColor has no RGB masks to paint into.
    let Some(server) = xbs_tests::start_or_skip(XServer::builder().depth(8)) else {
        return;
    };
    let sc = scene(&server, 32, 32, false);
    let err = BackingStore::new(sc.conn.clone(), sc.window, Options::default())
        .err()
        .expect("an 8-bit palette visual cannot be painted in xRGB");
    match &err {
        Error::UnsupportedVisual { depth, class, .. } => {
            assert_eq!(*depth, 8);
            assert!(
                class.contains("PSEUDO") || class.contains("Pseudo"),
                "{err}"
            );
        }
        other => panic!("expected UnsupportedVisual, got {other}"),
    }
    assert!(err.to_string().contains("depth 8"), "{err}");
}

#[test]
fn full_4k_frame_goes_through_put_image_in_bands() {
    // softbuffer fails here with MaximumRequestLengthExceeded: 33 MB in one request.
    let Some(server) = xbs_tests::start_or_skip(XServer::builder().size(3840, 2160).without_shm())
    else {
        return;
    };
    let mut sc = scene(&server, 3840, 2160, false);
    let mut store = sc.store(Transport::PutImage);
    let mut image = vec![0u32; 3840 * 2160];
    let all = region(&[(0, 0, 3840, 2160)]);
    sc.paint_flush(&mut store, &mut image, &all, 7);
    sc.check("3840x2160 put-image");
    let stats = store.stats();
    // In plain requests (at most 65535 4-byte units), never BIG-REQUESTS ones: the
    // server streams those, and x11rb allocates nothing for them.
    let plain = 65535 * 4;
    assert!(
        stats.requests > 3840 * 2160 * 4 / plain,
        "{stats:?}: {} requests, a plain one holds {plain} bytes",
        stats.requests
    );
}

#[test]
fn a_wire_frame_goes_out_while_the_server_reads_nothing() {
    // With room in the socket for a frame (`enlarge_send_buffer`), a put-image flush of
    // 16 rects of 64x64 (256 KiB, more than a Unix socket holds by default) returns
    // while the server is stopped: the app goes on to its next frame meanwhile.
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    use std::sync::mpsc;
    use std::time::Duration;

    let Some(server) = xbs_tests::start_or_skip(XServer::builder().without_shm()) else {
        return;
    };
    let mut sc = scene(&server, 400, 400, false);
    let frame = 16 * 64 * 64 * 4;
    let room = xbs::enlarge_send_buffer(sc.conn.stream(), xbs::SEND_BUFFER).unwrap();
    assert!(room > frame, "{room}");
    let mut store = sc.store(Transport::PutImage);
    let mut image = vec![0u32; 400 * 400];
    let grid: Vec<_> = (0..16).map(|i| (i % 4 * 96, i / 4 * 96, 64, 64)).collect();
    let damage = region(&grid);
    // A first frame, so the connection has learnt the server's request limit (a round
    // trip) before the server stops.
    sc.paint_flush(&mut store, &mut image, &damage, 2);
    sc.paint(&mut store, &mut image, &damage, 3);
    sc.conn.sync().unwrap();

    let pid = Pid::from_raw(server.pid().unwrap() as i32);
    kill(pid, Signal::SIGSTOP).unwrap();
    let (sent, flushed) = mpsc::channel();
    // Resumes the server when the flush returned, or after 20 s if it never does.
    let watchdog = std::thread::spawn(move || {
        let waited = flushed.recv_timeout(Duration::from_secs(20)).is_err();
        kill(pid, Signal::SIGCONT).unwrap();
        waited
    });
    let result = store.flush(&damage);
    let _ = sent.send(());
    let had_to_resume = watchdog.join().unwrap();
    result.unwrap();
    assert!(!had_to_resume, "the flush waited for the stopped server");
    assert!(store.stats().bytes_uploaded >= 2 * frame as u64);
    sc.shown(&image, &damage);
    sc.check("the frame sent while the server was stopped");
}

/// Defect: `Frame::pixels_mut` lent the whole image, but only the frame's region was
/// checked against pixels in flight. A write outside the region went into pixels a
/// queued `ShmPutImage` had not read yet, and the window showed pixels never flushed.
/// Now taking the whole image first makes all of it safe to write.
#[test]
fn the_whole_image_is_lent_only_once_the_server_has_read_it() {
    let server = XServer::start().unwrap();
    for single_buffer in [true, false] {
        let what = format!("single_buffer={single_buffer}");
        let mut sc = scene(&server, 100, 100, false);
        let options = Options::new()
            .transport(Transport::ShmFd)
            .single_buffer(single_buffer);
        let mut store = BackingStore::new(sc.conn.clone(), sc.window, options).unwrap();
        let mut image = vec![0u32; 100 * 100];
        let all = region(&[(0, 0, 100, 100)]);
        let a = region(&[(50, 50, 20, 20)]);
        let b = region(&[(0, 0, 10, 10)]);
        sc.paint_flush(&mut store, &mut image, &all, 1);
        sc.settle(&mut store, &image).unwrap();

        // The server stops with the upload of `a` queued: it has not read `a` yet.
        let resume = common::stop_for_a_while(&server);
        sc.paint_flush(&mut store, &mut image, &a, 2);
        {
            // A paint of `b`, which the server is not reading, through the whole image:
            // the app writes `a` as well.
            let mut frame = store.begin_paint(&b).unwrap();
            let stride = frame.stride();
            let px = frame.pixels_mut().unwrap();
            for r in a.rects() {
                for y in r.y..r.y + r.height as i32 {
                    for x in r.x..r.x + r.width as i32 {
                        let at = y as usize * stride + x as usize * 4;
                        px[at..at + 4].copy_from_slice(&pattern(x, y, 3).to_ne_bytes());
                    }
                }
            }
        }
        resume.join().unwrap();
        sc.conn.sync().unwrap();
        sc.check(&format!(
            "{what}: the server read `a` before the app wrote it again"
        ));

        // What was written is kept: a flush of `a` shows it, also after a switch.
        for (x, y) in (50..70).flat_map(|y| (50..70).map(move |x| (x, y))) {
            image[y * 100 + x] = pattern(x as i32, y as i32, 3);
        }
        store.flush(&a).unwrap();
        sc.shown(&image, &a);
        sc.check(&format!("{what}: the whole-image write, flushed"));
        sc.paint_flush(&mut store, &mut image, &a.union(&b), 4);
        store.expose(&all).unwrap();
        sc.shown(&image, &all);
        sc.check(&format!("{what}: after a paint over pixels in flight"));
    }
}

#[test]
fn a_resize_with_pixels_in_flight_switches_instead_of_waiting() {
    // S13 across a resize: the kept rows move to the new stride, which writes pixels
    // the server may not have read yet. With two buffers the store switches and copies
    // the rows out of the busy one instead of waiting (as a resize once always did);
    // with one it waits. Either way the server reads the frame as it was flushed.

    let server = XServer::start().unwrap();
    for single_buffer in [false, true] {
        let what = format!("single_buffer={single_buffer}");
        let mut sc = scene(&server, 100, 100, false);
        let options = Options::new()
            .transport(Transport::ShmFd)
            .single_buffer(single_buffer);
        let mut store = BackingStore::new(sc.conn.clone(), sc.window, options).unwrap();
        let mut image = vec![0u32; 100 * 100];
        let all = region(&[(0, 0, 100, 100)]);
        sc.paint_flush(&mut store, &mut image, &all, 1);
        sc.settle(&mut store, &image).unwrap();

        // The server stops with the upload of frame 2 queued, unread.
        let resume = common::stop_for_a_while(&server);
        sc.paint_flush(&mut store, &mut image, &all, 2);
        let waits = store.stats().waits;
        // Rows of 400 bytes become rows of 320.
        store.resize(80, 100).unwrap();
        let waited = store.stats().waits - waits;
        // A paint of a corner: the rest of the kept block moves now.
        let corner = region(&[(0, 0, 10, 10)]);
        sc.paint(&mut store, &mut image, &corner, 3);
        resume.join().unwrap();
        assert_eq!(
            waited,
            u64::from(single_buffer),
            "{what}: waits of the resize"
        );
        sc.conn.sync().unwrap();
        sc.check(&format!(
            "{what}: the server read frame 2 as it was flushed"
        ));

        let kept = region(&[(0, 0, 80, 100)]);
        store.flush(&kept).unwrap();
        sc.shown(&image, &kept);
        sc.check(&format!("{what}: the kept block at its new stride"));
        // And on: the buffer the resize left is the spare, switched to and from.
        for seed in 4..8 {
            sc.paint_flush(&mut store, &mut image, &region(&[(5, 5, 30, 30)]), seed);
        }
        store.expose(&kept).unwrap();
        sc.shown(&image, &kept);
        sc.check(&format!("{what}: after switches"));
    }
}

#[test]
fn paint_waits_only_for_pixels_in_flight() {
    // S13: a paint overlapping a flushed rect waits for the server; a disjoint one not.
    // (With one buffer only: by default, the paint goes to a second buffer instead.)
    let server = XServer::start().unwrap();
    let mut sc = scene(&server, 100, 100, false);
    let options = Options::new()
        .transport(Transport::ShmFd)
        .single_buffer(true);
    let mut store = BackingStore::new(sc.conn.clone(), sc.window, options).unwrap();
    let mut image = vec![0u32; 100 * 100];
    let left = region(&[(0, 0, 50, 100)]);
    let right = region(&[(50, 0, 50, 100)]);
    sc.paint(&mut store, &mut image, &left, 1);
    store.flush(&left).unwrap();
    assert_eq!(store.stats().waits, 0);
    sc.paint(&mut store, &mut image, &right, 2);
    assert_eq!(store.stats().waits, 0, "disjoint paint must not wait");
    store.flush(&right).unwrap();
    sc.paint(&mut store, &mut image, &left, 3);
    assert_eq!(store.stats().waits, 1, "overlapping paint must wait");
    store.flush(&left).unwrap();

    // The ShmCompletion events of the three flushes, forwarded by the app, free the
    // pixels once the last one has arrived.
    let mut completions = 0;
    while completions < 3 {
        let ev = sc.conn.wait_for_event().unwrap();
        if let Event::ShmCompletion(_) = ev {
            completions += 1;
            assert!(store.handle_event(&ev));
        }
    }
    sc.paint(&mut store, &mut image, &left, 4);
    assert_eq!(
        store.stats().waits,
        1,
        "completion must clear the busy pixels"
    );
    let all = region(&[(0, 0, 100, 100)]);
    store.flush(&all).unwrap();
    sc.shown(&image, &all);
    sc.check("after waits");
}

/// Paints and flushes `region` (with seeds from `seed` on) until the store switches
/// buffers; returns how many of the paints waited instead.
fn paint_until_switch(
    sc: &mut Scene,
    store: &mut BackingStore<Arc<RustConnection>>,
    image: &mut [u32],
    region: &Region,
    seed: u32,
) -> u32 {
    let before = store.stats().switches;
    for i in 0..16 {
        sc.paint_flush(store, image, region, seed + i);
        if store.stats().switches > before {
            return i;
        }
    }
    panic!("no switch in 16 paints: {:?}", store.stats());
}

/// Waits for the next `ShmCompletion`, leaving other events aside.
fn next_completion(sc: &Scene) -> Event {
    loop {
        let event = sc.conn.wait_for_event().unwrap();
        if let Event::ShmCompletion(_) = event {
            return event;
        }
    }
}

#[test]
fn paint_over_pixels_in_flight_goes_to_the_other_buffer_without_waiting() {
    // S13 without the wait: the other buffer takes the paint, after getting what
    // changed in this one since it was last painted.
    let server = XServer::start().unwrap();
    let mut sc = scene(&server, 100, 100, false);
    let mut store = sc.store_switching(Transport::ShmFd);
    let mut image = vec![0u32; 100 * 100];
    let counts = |store: &BackingStore<_>| {
        let s = store.stats();
        (s.waits, s.switches, s.segments_alive)
    };
    let left = region(&[(0, 0, 50, 100)]);
    let all = region(&[(0, 0, 100, 100)]);
    let top = region(&[(0, 0, 100, 50)]);
    let right = region(&[(40, 20, 60, 80)]);
    sc.paint_flush(&mut store, &mut image, &left, 1);
    assert_eq!(
        counts(&store),
        (0, 0, 1),
        "no second buffer before it is needed"
    );
    // Over the left half in flight: a second buffer, which needs nothing copied
    // first (the repaint writes all of it).
    sc.repaint_flush(&mut store, &mut image, &all, 2);
    assert_eq!(counts(&store), (0, 1, 2));
    assert_eq!(store.stats().allocations, 2);
    // The server reads in order: the first completion is the first buffer's. Only it
    // is handed over, so the second buffer's pixels stay in flight.
    assert!(store.handle_event(&next_completion(&sc)));
    // Over them: back to the first buffer, which first gets the bottom half.
    sc.repaint_flush(&mut store, &mut image, &top, 3);
    assert_eq!(counts(&store), (0, 2, 2));
    assert!(store.handle_event(&next_completion(&sc)));
    // And back again: the second buffer gets what of the top half is not repainted.
    sc.repaint_flush(&mut store, &mut image, &right, 4);
    assert_eq!(counts(&store), (0, 3, 2));
    // Every pixel sent from the second buffer now: the top half's included.
    store.flush(&all).unwrap();
    sc.check("after three switches");
    // A paint over pixels in flight whose other buffer is in flight too waits for the
    // other buffer only (its requests went first), then switches.
    sc.paint_flush(&mut store, &mut image, &left, 5);
    assert_eq!(counts(&store), (1, 4, 2));
    store.flush(&all).unwrap();
    sc.check("after a switch that waited");
    store.close().unwrap();
}

#[test]
fn a_switch_copies_no_more_over_time_than_the_paints_write() {
    // A strip repainted over and over while the whole window is in flight: the
    // other buffer lacks the whole window, ten strips' worth. The paints wait until
    // they have written as much as the switch copies, then one switch pays it.
    let server = XServer::start().unwrap();
    let mut sc = scene(&server, 100, 100, false);
    let mut store = sc.store_switching(Transport::ShmFd);
    let mut image = vec![0u32; 100 * 100];
    let all = region(&[(0, 0, 100, 100)]);
    sc.paint_flush(&mut store, &mut image, &all, 1);
    sc.repaint_flush(&mut store, &mut image, &all, 2);
    let strip = region(&[(0, 90, 100, 10)]);
    let mut seen = Vec::new();
    for seed in 3..14 {
        sc.repaint_flush(&mut store, &mut image, &strip, seed);
        let s = store.stats();
        seen.push((s.waits, s.switches));
    }
    // 9 000 pixels to copy: 8 strips of 1 000 wait, and the 9th (1 000 of its own and
    // 8 000 waited for) switches. From then on, the buffer switched to lacks only the
    // strip, which is repainted: every strip switches, with nothing to copy. (Each
    // of these switches waits for the other buffer's reads first, as no completion is
    // handed over here.)
    let want: Vec<(u64, u64)> = (1..=8)
        .map(|w| (w, 1))
        .chain([(9, 2), (10, 3), (11, 4)])
        .collect();
    assert_eq!(seen, want);
    store.flush(&all).unwrap();
    sc.check("after the waits and the switch");
    store.close().unwrap();
}

#[test]
fn a_resize_keeps_the_second_buffer_while_the_image_fits() {
    let server = XServer::start().unwrap();
    let mut sc = scene(&server, 100, 100, false);
    let mut store = sc.store_switching(Transport::ShmSysV);
    let mut image = vec![0u32; 100 * 100];
    let all = |sc: &Scene| region(&[(0, 0, sc.w, sc.h)]);
    sc.paint_flush(&mut store, &mut image, &all(&sc), 1);
    sc.paint_flush(&mut store, &mut image, &all(&sc), 2);
    assert_eq!(store.stats().segments_alive, 2);
    // Smaller: both buffers stay; the spare lacks every pixel of the new layout, so
    // the next switch copies them all.
    sc.resized(&mut image, 90, 70);
    store.resize(90, 70).unwrap();
    let middle = region(&[(20, 20, 30, 30)]);
    sc.paint_flush(&mut store, &mut image, &middle, 3);
    // Copying all 6 300 pixels is paid for by 6 paints of 900 that wait, and the 7th.
    assert_eq!(
        paint_until_switch(&mut sc, &mut store, &mut image, &middle, 4),
        6
    );
    // Two switches of paints, and one of the resize: its rows moved to the new
    // stride while the front was still being read.
    let s = store.stats();
    assert_eq!(
        (s.segments_alive, s.allocations, s.switches),
        (2, 2, 3),
        "{s:?}"
    );
    store.flush(&all(&sc)).unwrap();
    sc.shown(&image, &all(&sc));
    sc.check("after a resize with two buffers");
    // Larger than the memory: the front grows and the spare is let go until needed.
    sc.resized(&mut image, 200, 150);
    store.resize(200, 150).unwrap();
    assert_eq!(store.stats().segments_alive, 1);
    sc.paint_flush(&mut store, &mut image, &all(&sc), 5);
    sc.paint_flush(&mut store, &mut image, &middle, 6);
    let s = store.stats();
    assert_eq!((s.segments_alive, s.allocations), (2, 4), "{s:?}");
    store.flush(&all(&sc)).unwrap();
    sc.check("after growing");
    store.close().unwrap();
}

#[test]
fn pixels_a_resize_adds_stay_black_across_buffer_switches() {
    // Pixels a resize added are zeroed lazily in the front buffer; the other buffer
    // must get those zeros too, or a switch would show what the memory held before.
    let server = XServer::start().unwrap();
    let mut sc = scene(&server, 100, 100, false);
    let mut store = sc.store_switching(Transport::ShmFd);
    let mut image = vec![0u32; 100 * 100];
    let all = region(&[(0, 0, 100, 100)]);
    sc.paint_flush(&mut store, &mut image, &all, 1);
    // Shrink and grow back in the same memory: the new pixels hold old ones, unzeroed.
    // (The first resize switches buffers: the front is still being read.)
    for (w, h) in [(50, 50), (100, 100)] {
        sc.resized(&mut image, w, h);
        store.resize(w, h).unwrap();
    }
    let resized = store.stats().switches;
    let corner = region(&[(0, 0, 50, 50)]);
    sc.paint_flush(&mut store, &mut image, &corner, 2);
    paint_until_switch(&mut sc, &mut store, &mut image, &corner, 3);
    assert_eq!(store.stats().switches, resized + 1);
    // Flushed without a paint: two rects and the gap between them (sent as one
    // merged rect) are zeroed in the front buffer now.
    let pair = region(&[(0, 60, 10, 10), (20, 60, 10, 10)]);
    store.flush(&pair).unwrap();
    sc.shown(&image, &pair);
    // Back to the first buffer, then every pixel from it.
    paint_until_switch(&mut sc, &mut store, &mut image, &corner, 20);
    assert_eq!(store.stats().switches, resized + 2);
    store.flush(&all).unwrap();
    sc.check("new pixels after two switches");
    store.close().unwrap();
}

#[test]
fn a_refused_second_buffer_means_waiting() {
    use xbs::fault::{self, Point};
    use xbs_shm::fault::{Call, Point as Shm};
    let server = XServer::start().unwrap();
    let mut sc = scene(&server, 60, 40, false);
    let mut store = sc.store(Transport::ShmFd);
    let mut image = vec![0u32; 60 * 40];
    let all = region(&[(0, 0, 60, 40)]);
    sc.paint_flush(&mut store, &mut image, &all, 1);
    fault::reset();
    fault::fail(Point::Shm(Shm::Sys(Call::MemfdCreate)), 0);
    sc.paint_flush(&mut store, &mut image, &all, 2);
    fault::reset();
    let s = store.stats();
    assert_eq!((s.waits, s.switches, s.segments_alive), (1, 0, 1), "{s:?}");
    // Refused once, not asked again: later paints wait, with no new attempt.
    fault::start_trace();
    sc.paint_flush(&mut store, &mut image, &all, 3);
    assert_eq!(fault::take_trace(), vec![], "no second try");
    assert_eq!(store.stats().waits, 2);
    sc.check("with one buffer after a refusal");
    store.close().unwrap();
}

#[test]
fn bad_sizes_are_typed_errors_and_leave_the_store_working() {
    let server = XServer::start().unwrap();
    let mut sc = scene(&server, 40, 30, false);
    let mut store = sc.store(Transport::ShmFd);
    for (w, h) in [(0, 0), (0, 10), (65535, 65535), (1, 65535), (u32::MAX, 1)] {
        match store.resize(w, h) {
            Err(Error::Size { width, height, .. }) => assert_eq!((width, height), (w, h)),
            other => panic!("resize({w}, {h}): expected Error::Size, got {other:?}"),
        }
    }
    assert_eq!(store.size(), (40, 30));
    let mut image = vec![0u32; 40 * 30];
    let all = region(&[(0, 0, 40, 30)]);
    sc.paint(&mut store, &mut image, &all, 9);
    // Rects far outside, overflowing and empty are clipped, never a panic.
    let wild = region(&[
        (i32::MIN, i32::MIN, u32::MAX, u32::MAX),
        (i32::MAX, 0, u32::MAX, 1),
        (5, 5, 0, 0),
    ]);
    store.flush(&wild).unwrap();
    store.expose(&wild).unwrap();
    store.scroll(&wild, i32::MIN, i32::MAX).unwrap();
    store.flush(&all).unwrap();
    sc.shown(&image, &all);
    sc.check("after bad input");
}

#[test]
fn resize_keeps_the_segment_when_it_fits() {
    let server = XServer::start().unwrap();
    let mut sc = scene(&server, 400, 300, false);
    let mut store = sc.store(Transport::ShmFd);
    store.resize(390, 290).unwrap();
    store.resize(300, 200).unwrap();
    assert_eq!(
        store.stats().allocations,
        1,
        "smaller sizes reuse the segment"
    );
    store.resize(410, 310).unwrap();
    assert_eq!(store.stats().allocations, 2);
    // Growth is geometric: a little more does not reallocate again.
    store.resize(420, 320).unwrap();
    assert_eq!(store.stats().allocations, 2);
    // Back and forth between small and large: the memory stays.
    for i in 0..20 {
        let (w, h) = if i % 2 == 0 { (20, 20) } else { (400, 300) };
        store.resize(w, h).unwrap();
    }
    assert_eq!(
        store.stats().allocations,
        2,
        "a resize storm makes no segments"
    );
    // Small for a while: the memory is given back, once.
    for i in 0..xbs::SHRINK_AFTER {
        store.resize(20 + i, 20).unwrap();
    }
    assert_eq!(
        store.stats().allocations,
        3,
        "much smaller for long gives memory back"
    );
    store.resize(20, 20).unwrap();
    assert_eq!(store.stats().allocations, 3);
    assert_eq!(store.stats().segments_alive, 1);
}

#[test]
fn segment_failure_on_resize_falls_back() {
    use xbs::fault::{self, Point};
    use xbs_shm::fault::{Call, Point as Shm};
    let server = XServer::start().unwrap();
    let mut sc = scene(&server, 50, 50, false);
    let mut store = BackingStore::new(sc.conn.clone(), sc.window, Options::default()).unwrap();
    assert_eq!(store.transport(), Transport::ShmFd);
    // The next memfd fails (as ENOSPC/EMFILE would): SysV takes over, with a warning.
    fault::fail(Point::Shm(Shm::Sys(Call::MemfdCreate)), 0);
    store.resize(500, 400).unwrap();
    assert_eq!(store.transport(), Transport::ShmSysV);
    // Then the server refuses SysV too (BadAccess) when the image must grow: the wire
    // takes over.
    fault::fail(Point::Shm(Shm::ServerAttach), 0);
    store.resize(900, 700).unwrap();
    fault::reset();
    store.resize(50, 50).unwrap();
    assert_eq!(store.transport(), Transport::PutImage);
    assert_eq!(store.stats().fallbacks, 2);
    sc.conn
        .configure_window(sc.window, &ConfigureWindowAux::new().width(50).height(50))
        .unwrap();
    let mut image = vec![0u32; 50 * 50];
    let all = region(&[(0, 0, 50, 50)]);
    sc.paint_flush(&mut store, &mut image, &all, 3);
    sc.check("after fallbacks");
}

#[test]
fn server_death_gives_errors_not_panics() {
    // S14: every call after the server is gone returns Err, in bounded time.
    let mut server = XServer::start().unwrap();
    let mut sc = scene(&server, 64, 64, false);
    let mut store = sc.store(Transport::ShmFd);
    let all = region(&[(0, 0, 64, 64)]);
    store.flush(&all).unwrap();
    server.kill();
    let mut saw_error = false;
    for _ in 0..3 {
        saw_error |= store.flush(&all).is_err();
        saw_error |= store.begin_paint(&all).is_err();
    }
    assert!(saw_error, "a dead server must surface as Err");
    assert!(store.resize(10, 10).is_err() || store.close().is_err());
}

#[test]
fn works_with_a_borrowed_connection() {
    let server = XServer::start().unwrap();
    let sc = scene(&server, 32, 32, false);
    let conn: &RustConnection = &sc.conn;
    let mut store = BackingStore::new(conn, sc.window, Options::default()).unwrap();
    let all = region(&[(0, 0, 32, 32)]);
    store
        .begin_paint(&all)
        .unwrap()
        .fill(Rect::new(0, 0, 32, 32), 0xff12_3456);
    store.flush(&all).unwrap();
    let img = sc
        .conn
        .get_image(ImageFormat::Z_PIXMAP, sc.window, 0, 0, 32, 32, !0)
        .unwrap()
        .reply()
        .unwrap();
    assert!(img
        .data
        .chunks_exact(4)
        .all(|p| p[..3] == [0x56, 0x34, 0x12]));
}

#[test]
fn works_over_libxcb_on_every_transport() {
    // The same store over x11rb's XCBConnection (libxcb), owned and in an Arc; the
    // window belongs to another client, as with a toolkit that shares its connection.
    use std::ffi::CString;
    use x11rb::xcb_ffi::XCBConnection;
    let server = XServer::start().unwrap();
    let mut sc = scene(&server, 120, 80, false);
    let display = CString::new(server.display_name()).unwrap();
    for t in [Transport::ShmFd, Transport::ShmSysV, Transport::PutImage] {
        let (xcb, _) = XCBConnection::connect(Some(&display)).unwrap();
        let opts = Options::new().transport(t);
        let xcb = Arc::new(xcb);
        let mut store = BackingStore::new(xcb.clone(), sc.window, opts).unwrap();
        assert_eq!(store.transport(), t);
        let mut image = vec![0u32; 120 * 80];
        let all = region(&[(0, 0, 120, 80)]);
        {
            let mut frame = store.begin_paint(&all).unwrap();
            let stride = frame.stride();
            for (i, px) in image.iter_mut().enumerate() {
                let (x, y) = ((i % 120) as i32, (i / 120) as i32);
                *px = pattern(x, y, t as u32);
                let at = y as usize * stride + x as usize * 4;
                frame.pixels_mut().unwrap()[at..at + 4].copy_from_slice(&px.to_ne_bytes());
            }
        }
        let part = region(&[(3, 4, 50, 30), (70, 10, 40, 60)]);
        store.flush(&part).unwrap();
        sc.shown(&image, &part);
        // Completions arrive on the XCB connection; forwarding them frees the pixels.
        xcb.get_input_focus().unwrap().reply().unwrap();
        while let Some(ev) = xcb.poll_for_event().unwrap() {
            store.handle_event(&ev);
        }
        store.flush(&all).unwrap();
        sc.shown(&image, &all);
        xcb.get_input_focus().unwrap().reply().unwrap();
        sc.check(&format!("{t:?} over XCBConnection"));
        store.close().unwrap();
    }
}

/// Sends `ClearArea` with exposures over `r` (the server forgets those pixels) and
/// blackens them in the model; returns the request's sequence number.
fn clear(sc: &mut common::Scene, r: Rect) -> u64 {
    let seq = sc
        .conn
        .clear_area(
            true,
            sc.window,
            r.x as i16,
            r.y as i16,
            r.width as u16,
            r.height as u16,
        )
        .unwrap()
        .sequence_number();
    sc.blacken(r);
    seq
}

/// The Expose events now queued, merged, with the highest sequence number among them;
/// other events go to the store.
fn exposed(sc: &common::Scene, store: &mut BackingStore<Arc<RustConnection>>) -> (Region, u64) {
    sc.conn.sync().unwrap();
    let (mut region, mut last) = (Region::new(), 0);
    while let Some((event, seq)) = sc.conn.poll_for_event_with_sequence().unwrap() {
        match event {
            Event::Expose(e) => {
                region.add_rect(Rect::new(
                    e.x.into(),
                    e.y.into(),
                    e.width.into(),
                    e.height.into(),
                ));
                last = last.max(seq);
            }
            other => {
                store.handle_event(&other);
            }
        }
    }
    (region, last)
}

/// Repairs the queued Expose with `expose_at`, checks what was uploaded (`bytes`, when
/// the repair comes from the image) and the window; returns the Expose.
fn repaired(
    sc: &mut common::Scene,
    store: &mut BackingStore<Arc<RustConnection>>,
    image: &[u32],
    bytes: Option<u64>,
    what: &str,
) -> (Region, u64) {
    let (lost, at) = exposed(sc, store);
    let before = store.stats().bytes_uploaded;
    store.expose_at(&lost, at).unwrap();
    sc.repaired(image, &lost);
    sc.events_handled(image);
    if let Some(bytes) = bytes {
        assert_eq!(store.stats().bytes_uploaded - before, bytes, "{what}");
    }
    sc.check(what);
    (lost, at)
}

#[test]
fn expose_at_skips_only_what_a_later_flush_showed() {
    let server = XServer::start().unwrap();
    for transport in [Transport::ShmFd, Transport::PutImage] {
        for server_copy in [false, true] {
            let what = format!("{transport:?} server_copy={server_copy}");
            let mut sc = scene(&server, 200, 100, false);
            let mut store = sc.store_with(transport, server_copy);
            let mut image = vec![0u32; 200 * 100];
            let all = region(&[(0, 0, 200, 100)]);
            let left = Rect::new(0, 0, 100, 100);
            let top_left = region(&[(0, 0, 100, 50)]);
            // With the server copy the repair is a CopyArea: nothing is uploaded.
            let upload = |bytes| (!server_copy).then_some(bytes);
            sc.paint_flush(&mut store, &mut image, &all, 1);

            // The server forgets the left half after the last flush: all of it is
            // repaired.
            let seq = clear(&mut sc, left);
            let (lost, at) = repaired(
                &mut sc,
                &mut store,
                &image,
                upload(100 * 100 * 4),
                &format!("{what}: an Expose after the flushes"),
            );
            assert_eq!((lost.bounds(), at), (left, seq), "{what}");

            // The app flushes the top-left quarter before it reads the Expose: only
            // the rest of the half is repaired.
            clear(&mut sc, left);
            sc.paint_flush(&mut store, &mut image, &top_left, 2);
            repaired(
                &mut sc,
                &mut store,
                &image,
                upload(100 * 50 * 4),
                &format!("{what}: an Expose overtaken by a flush"),
            );

            // The same, but a scroll moves the window's pixels in between (up 10: the
            // cleared rows 50..60 of the left half come up into the flushed quarter).
            // The store forgets the flushes before the scroll and repairs the half, but
            // for the strip flushed after it (rows 90..100).
            clear(&mut sc, left);
            sc.paint_flush(&mut store, &mut image, &top_left, 3);
            let strip = store.scroll(&all, 0, -10).unwrap();
            assert_eq!(strip, sc.scrolled(&mut image, &all, 0, -10));
            sc.paint_flush(&mut store, &mut image, &strip, 4);
            repaired(
                &mut sc,
                &mut store,
                &image,
                upload(100 * 90 * 4),
                &format!("{what}: an Expose overtaken by a flush and a scroll"),
            );
        }
    }
}

/// Issue 21: the soak's model took the window's pixels to move with every scroll,
/// as a `CopyArea` on the window moves them. With a server-side copy the store moves
/// the copy and shows the moved part from it, so pixels that an Expose not handled
/// yet has cleared do not travel: after the events are handled, the window is the
/// image everywhere.
#[test]
fn a_scroll_over_an_unhandled_expose_shows_the_server_copy_moved() {
    let server = XServer::start().unwrap();
    for transport in [Transport::ShmFd, Transport::ShmSysV, Transport::PutImage] {
        let what = format!("{transport:?}");
        let mut sc = scene(&server, 200, 100, false);
        let mut store = sc.store_with(transport, true);
        let mut image = vec![0u32; 200 * 100];
        let all = region(&[(0, 0, 200, 100)]);
        sc.paint_flush(&mut store, &mut image, &all, 1);
        // The server forgets a block; its Expose stays queued while the app scrolls
        // the block's rows up and right, onto pixels the Expose does not name.
        clear(&mut sc, Rect::new(40, 50, 60, 20));
        let strip = store.scroll(&all, 25, -30).unwrap();
        assert_eq!(strip, sc.scrolled(&mut image, &all, 25, -30), "{what}");
        sc.check(&format!(
            "{what}: the scroll showed the copy, cleared pixels and all"
        ));
        sc.paint_flush(&mut store, &mut image, &strip, 2);
        sc.settle(&mut store, &image).unwrap();
        assert!(
            sc.model == image,
            "{what}: the model shows the image after the events"
        );
        sc.check(&format!("{what}: the Expose repaired after the scroll"));
    }
}

/// The soak's model of a put-image flush: its region goes out as coalesced rects, so
/// pixels between the rects of a region are sent too, from the image as it is now.
#[test]
fn a_put_image_flush_sends_the_coalesced_rects_of_its_region() {
    let server = XServer::start().unwrap();
    let mut sc = scene(&server, 200, 100, false);
    let mut store = sc.store(Transport::PutImage);
    let mut image = vec![0u32; 200 * 100];
    let all = region(&[(0, 0, 200, 100)]);
    sc.paint_flush(&mut store, &mut image, &all, 1);
    sc.paint(&mut store, &mut image, &all, 2);
    // An L of two rects whose bounding box adds 30 x 40 pixels, far under the slack.
    let ell = region(&[(10, 10, 20, 40), (10, 50, 50, 20)]);
    let before = store.stats().bytes_uploaded;
    store.flush(&ell).unwrap();
    assert_eq!(store.stats().bytes_uploaded - before, 50 * 60 * 4);
    sc.shown(&image, &ell);
    assert_eq!(
        sc.model[20 * 200 + 45],
        image[20 * 200 + 45],
        "the model sent the corner"
    );
    sc.check("an L flushed as its bounding box");
}

/// A resize that changes the stride keeps the content that still fits; the move to the
/// new stride waits for the first use, and skips what a repaint then overwrites. What
/// the repaint leaves must be the kept content, moved.
#[test]
fn a_repaint_after_a_resize_keeps_the_rest_of_the_content() {
    let server = XServer::start().unwrap();
    for transport in [Transport::ShmFd, Transport::PutImage] {
        let what = format!("{transport:?}");
        let mut sc = scene(&server, 200, 100, false);
        let mut store = sc.store(transport);
        let mut image = vec![0u32; 200 * 100];
        sc.paint_flush(&mut store, &mut image, &region(&[(0, 0, 200, 100)]), 1);
        for (i, (w, h, part)) in [
            (150, 120, (20, 10, 60, 40)),
            (190, 90, (100, 0, 90, 90)),
            (230, 95, (0, 50, 230, 45)),
        ]
        .into_iter()
        .enumerate()
        {
            store.resize(w, h).unwrap();
            sc.resized(&mut image, w, h);
            sc.repaint_flush(&mut store, &mut image, &region(&[part]), 2 + i as u32);
            let all = region(&[(0, 0, w, h)]);
            store.flush(&all).unwrap();
            sc.shown(&image, &all);
            sc.settle(&mut store, &image).unwrap();
            sc.check(&format!("{what}: resized to {w}x{h}, part repainted"));
        }
    }
}

#[test]
fn pixels_a_resize_adds_read_black_until_repainted() {
    let server = XServer::start().unwrap();
    for transport in [Transport::ShmFd, Transport::PutImage] {
        let what = format!("{transport:?}");
        let mut sc = scene(&server, 200, 100, false);
        let mut store = sc.store(transport);
        let mut image = vec![0u32; 200 * 100];
        let all = region(&[(0, 0, 200, 100)]);
        // Fills the memory with a pattern, then shrinks and grows back: the memory is
        // kept, and outside the kept 50x40 block it still holds the old pattern. The
        // Expose of the resize is left queued: repairing it would blacken everything.
        let regrow = |sc: &mut common::Scene,
                      store: &mut BackingStore<Arc<RustConnection>>,
                      image: &mut Vec<u32>,
                      seed| {
            sc.paint_flush(store, image, &all, seed);
            store.resize(50, 40).unwrap();
            sc.resized(image, 50, 40);
            store.resize(200, 100).unwrap();
            sc.resized(image, 200, 100);
        };

        // Shown without a paint (the Expose of the resize, then a flush of all).
        regrow(&mut sc, &mut store, &mut image, 1);
        store.flush(&all).unwrap();
        sc.shown(&image, &all);
        sc.settle(&mut store, &image).unwrap();
        sc.check(&format!("{what}: flushed after a resize"));
        // Kept: the one allocation more on shm is the second buffer the first resize
        // switched to rather than wait for the server.
        let made = if transport == Transport::PutImage {
            1
        } else {
            2
        };
        assert_eq!(
            store.stats().allocations,
            made,
            "{what}: the memory was kept"
        );

        // A paint reads black where the resize added pixels.
        regrow(&mut sc, &mut store, &mut image, 2);
        let part = region(&[(40, 30, 100, 50)]);
        {
            let mut frame = store.begin_paint(&part).unwrap();
            let mut seen = 0;
            let mut rects = frame.rects_mut();
            while let Some(mut rect) = rects.next() {
                let left = rect.rect().x;
                for (y, row) in rect.rows_mut() {
                    for (i, px) in row.chunks_exact(4).enumerate() {
                        let x = left + i as i32;
                        let v = u32::from_ne_bytes(px.try_into().unwrap());
                        let want = image[y as usize * 200 + x as usize];
                        assert_eq!(v & 0xff_ffff, want & 0xff_ffff, "{what}: at {x},{y}");
                        seen += 1;
                    }
                }
            }
            assert_eq!(seen, 100 * 50, "{what}: every pixel of the region");
        }
        sc.settle(&mut store, &image).unwrap();

        // A repaint writes its region; the rest of what was added still reads black,
        // also through a scroll.
        regrow(&mut sc, &mut store, &mut image, 3);
        let band = region(&[(0, 60, 200, 20)]);
        sc.paint_with(&mut store, &mut image, &band, 4, true);
        store.flush(&band).unwrap();
        sc.shown(&image, &band);
        let strip = store.scroll(&all, 7, -9).unwrap();
        assert_eq!(strip, sc.scrolled(&mut image, &all, 7, -9));
        sc.paint(&mut store, &mut image, &strip, 5);
        store.flush(&all).unwrap();
        sc.shown(&image, &all);
        sc.settle(&mut store, &image).unwrap();
        sc.check(&format!("{what}: repainted in part, scrolled, flushed"));
    }
}

#[test]
fn many_rect_shm_flush_is_one_clipped_put_of_exactly_the_damage() {
    let server = XServer::start().unwrap();
    for transport in [Transport::ShmFd, Transport::ShmSysV] {
        for server_copy in [false, true] {
            let what = format!("{transport:?} server_copy={server_copy}");
            let mut sc = scene(&server, 200, 100, false);
            let mut store = sc.store_with(transport, server_copy);
            let mut image = vec![0u32; 200 * 100];
            let all = region(&[(0, 0, 200, 100)]);
            sc.paint_flush(&mut store, &mut image, &all, 1);
            // The app paints everything anew but flushes only a scatter of small rects,
            // two pixels apart: the window must show the new pixels there and the old
            // ones between them (a put per merged rect would send the gaps too).
            let stale = image.clone();
            sc.paint(&mut store, &mut image, &all, 2);
            let dots: Vec<_> = (0..24)
                .map(|i| ((i % 6) * 12 + i / 6, (i / 6) * 9, 10, 7))
                .collect();
            let dots = region(&dots);
            let requests = store.stats().requests;
            store.flush(&dots).unwrap();
            sc.shown(&image, &dots);
            if !server_copy {
                assert_eq!(
                    store.stats().requests - requests,
                    2,
                    "{what}: SetClipRectangles and one ShmPutImage"
                );
            }
            sc.check(&format!("{what}: a clipped flush"));
            // The clip stays on its own GC: a one-rect flush, a scroll and an Expose
            // after it draw in full.
            let one = region(&[(150, 50, 40, 40)]);
            store.flush(&one).unwrap();
            sc.shown(&image, &one);
            let strip = store.scroll(&all, -3, 4).unwrap();
            assert_eq!(strip, sc.scrolled(&mut image, &all, -3, 4));
            sc.paint_flush(&mut store, &mut image, &strip, 3);
            assert_ne!(image, stale);
            store.expose(&all).unwrap();
            if !server_copy {
                // From the image, painted but not all flushed. The server copy holds
                // what was flushed, which the window shows already.
                sc.shown(&image, &all);
            }
            sc.settle(&mut store, &image).unwrap();
            sc.check(&format!("{what}: after a clipped flush"));
        }
    }
}

/// `Frame::age` against a server stopped with uploads unread, so that every repaint
/// finds the front busy and switches: a new buffer holds no image (0), the other one
/// the image as of the flush before last (2), and its pixels are that image's, not
/// copied up to date (a repaint overwrites them). A paint that keeps the region's
/// pixels, and a resize, are told apart.
#[test]
fn a_repaint_tells_how_many_flushes_old_its_pixels_are() {
    let server = XServer::start().unwrap();
    let sc = scene(&server, 64, 48, false);
    let options = Options::new()
        .transport(Transport::ShmFd)
        .busy(Busy::Switch);
    let mut store = BackingStore::new(sc.conn.clone(), sc.window, options).unwrap();
    let all = region(&[(0, 0, 64, 48)]);
    let frame_of = |store: &mut BackingStore<_>, repaint: bool, pixel: u32| {
        let mut frame = match repaint {
            true => store.begin_repaint(&all).unwrap(),
            false => store.begin_paint(&all).unwrap(),
        };
        let age = frame.age();
        let mut first = 0;
        {
            let mut rects = frame.rects_mut();
            while let Some(mut r) = rects.next() {
                if let Some((_, row)) = r.rows_mut().next() {
                    first = u32::from_ne_bytes(row[..4].try_into().unwrap());
                }
                r.fill(pixel);
            }
        }
        frame.flush(&all).unwrap();
        (age, first)
    };
    assert_eq!(
        frame_of(&mut store, true, 0xff00_0001).0,
        1,
        "nothing in flight"
    );
    sc.conn.sync().unwrap();
    let resume = common::stop_for_a_while(&server);
    assert_eq!(frame_of(&mut store, true, 0xff00_0002).0, 0, "a new buffer");
    assert_eq!(
        frame_of(&mut store, true, 0xff00_0003),
        (2, 0xff00_0001),
        "the first buffer, as the first flush left it"
    );
    assert_eq!(
        frame_of(&mut store, false, 0xff00_0004),
        (1, 0xff00_0003),
        "begin_paint copies what the buffer lacks"
    );
    resume.join().unwrap();
    // After a resize the other buffer holds no image of the new size: the first
    // repaint lent it says 0, not how many flushes ago it was the front.
    store.resize(60, 40).unwrap();
    let all = region(&[(0, 0, 60, 40)]);
    let frame_of = |store: &mut BackingStore<_>| {
        let mut frame = store.begin_repaint(&all).unwrap();
        let age = frame.age();
        frame.fill(all.bounds(), 0xff00_0005);
        frame.flush(&all).unwrap();
        age
    };
    let after = frame_of(&mut store);
    sc.conn.sync().unwrap();
    let resume = common::stop_for_a_while(&server);
    let ages = [after, frame_of(&mut store), frame_of(&mut store)];
    resume.join().unwrap();
    assert_eq!(
        ages.iter().find(|&&a| a != 1),
        Some(&0),
        "ages after the resize: {ages:?}"
    );
}

/// Frame `n` of 16 sprites of 32x32 moving 3 px right and 2 down a frame over the
/// scene's window: repainted (`begin_repaint`) where they now are with a pattern of
/// `n`, and flushed; events handed over every fourth frame, late, as a busy app does
/// (most paints find the front's last upload not known to be read).
fn sprites_frame(
    sc: &mut Scene,
    store: &mut BackingStore<Arc<RustConnection>>,
    image: &mut [u32],
    n: u32,
) {
    let (w, h) = (sc.w, sc.h);
    let sprites: Vec<_> = (0..16u32)
        .map(|i| {
            let x = (i * 37 + n * 3) % (w - 32);
            let y = (i * 23 + n * 2) % (h - 32);
            (x as i32, y as i32, 32, 32)
        })
        .collect();
    sc.repaint_flush(store, image, &region(&sprites), n + 2);
    if n % 4 == 3 {
        while let Some(event) = sc.conn.poll_for_event().unwrap() {
            store.handle_event(&event);
        }
    }
}

/// Sprites moving a few pixels a frame, each repainted (`begin_repaint`) where it now
/// is while the server may still read where it was: every switch copies the other
/// buffer's stale trails, whole or cut around the repaint, as the store measures
/// faster (its trial runs both). Whichever it did, the image is the app's: a flush of
/// all of it at the end shows exactly the model.
#[test]
fn moving_sprites_repainted_keep_their_trails_whether_switches_copy_whole_or_cut() {
    let server = XServer::start().unwrap();
    let (w, h) = (320u16, 240u16);
    let mut sc = scene(&server, w, h, false);
    for transport in [Transport::ShmFd, Transport::ShmSysV] {
        let mut store = sc.store_switching(transport);
        let mut image = vec![0u32; w as usize * h as usize];
        let all = region(&[(0, 0, w as u32, h as u32)]);
        sc.paint_flush(&mut store, &mut image, &all, 1);
        for n in 0..600u32 {
            sprites_frame(&mut sc, &mut store, &mut image, n);
        }
        let stats = store.stats();
        assert!(stats.switches > 100, "{transport:?}: {stats:?}");
        sc.conn.sync().unwrap();
        // All of the image, trails and all, as the front holds it.
        store.flush(&all).unwrap();
        sc.shown(&image, &all);
        sc.check(&format!("{transport:?}"));
    }
}

/// Small flushes from shared memory go through `ShmPutImage` or, where the store
/// measures that faster, over the wire in `PutImage` requests; its trial sends some
/// each way. Either way the window shows exactly what was flushed, and the image
/// stays the app's. With the transport forced, or under a compositor (Xwayland's
/// weston), none goes over the wire.
#[test]
fn small_flushes_show_exactly_their_pixels_through_shared_memory_or_over_the_wire() {
    let server = XServer::start().unwrap();
    let composited = server.kind() == ServerKind::Xwayland;
    let (w, h) = (640u16, 480u16);
    let mut sc = scene(&server, w, h, false);
    // The transport the store picks (shared memory, on every server of the suite).
    let options = Options::new().busy(Busy::Switch);
    let mut store = BackingStore::new(sc.conn.clone(), sc.window, options).unwrap();
    sc.model_store(&store);
    assert_ne!(store.transport(), Transport::PutImage);
    let mut image = vec![0u32; w as usize * h as usize];
    let all = region(&[(0, 0, w as u32, h as u32)]);
    sc.paint_flush(&mut store, &mut image, &all, 1);
    // Until the trial has sent some over the wire (a few hundred frames where its
    // blocks last 16 frames; more under a compositor).
    for n in 0..30_000u32 {
        if n >= 1000 && (composited || store.stats().wire_flushes > 0) {
            break;
        }
        // A twentieth of the image: a small flush.
        sprites_frame(&mut sc, &mut store, &mut image, n);
    }
    let stats = store.stats();
    match composited {
        true => assert_eq!(stats.wire_flushes, 0, "under a compositor: {stats:?}"),
        false => assert!(stats.wire_flushes > 0, "no trial of the wire: {stats:?}"),
    }
    assert!(
        stats.flushes - stats.wire_flushes > 100,
        "shared memory: {stats:?}"
    );
    sc.conn.sync().unwrap();
    // What the flushes showed, each as its own way sent it...
    sc.check("the flushes");
    // ...and the image, all of it.
    store.flush(&all).unwrap();
    sc.shown(&image, &all);
    sc.check("the image");
    drop(store);
    // Forced: shared memory only, for as many frames as the trial above took at most.
    let mut store = sc.store_switching(Transport::ShmFd);
    for n in 0..stats.flushes as u32 {
        let x = (n * 3) % (w as u32 - 32);
        let sprite = region(&[(x as i32, 100, 32, 32), (x as i32 + 200, 300, 32, 32)]);
        sc.repaint_flush(&mut store, &mut image, &sprite, n);
        if n % 4 == 3 {
            while let Some(event) = sc.conn.poll_for_event().unwrap() {
                store.handle_event(&event);
            }
        }
    }
    let forced = store.stats();
    assert!(forced.switches > 100, "{forced:?}");
    assert_eq!(forced.wire_flushes, 0, "{forced:?}");
}

/// A paint of the whole image whose damage is told only at the flush (`begin_frame`,
/// softbuffer's shape) over a whole-image flush still in flight waits for the server
/// rather than copy the image into the other buffer, however many such paints waited
/// before (whose pixels would otherwise earn the copy): copying a whole frame costs
/// the app about what the server's read of it does. A tracked paint of all of it
/// (`begin_paint`), which the copy rule lets switch, does switch. Either way the window
/// ends up showing the last frame.
#[test]
fn a_whole_frame_told_at_the_flush_waits_rather_than_copy_the_image() {
    let server = XServer::start().unwrap();
    let (w, h) = (320u32, 240u32);
    let mut sc = scene(&server, w as u16, h as u16, false);
    let all = region(&[(0, 0, w, h)]);
    for untracked in [true, false] {
        let mut store = sc.store_switching(Transport::ShmFd);
        let mut frame = store.begin_frame().unwrap();
        frame.fill(all.bounds(), 0xff10_2030);
        frame.flush(&all).unwrap();
        // Five frames, each begun before the store knows the one before was read (its
        // events are never handed over).
        for n in 0..5u32 {
            let mut frame = match untracked {
                true => store.begin_frame().unwrap(),
                false => store.begin_paint(&all).unwrap(),
            };
            frame.fill(all.bounds(), 0xff40_5060 + n);
            frame.flush(&all).unwrap();
        }
        let stats = store.stats();
        let what = format!("untracked {untracked}: {stats:?}");
        match untracked {
            true => assert_eq!((stats.switches, stats.waits), (0, 5), "{what}"),
            false => assert!(stats.switches > 0, "{what}"),
        }
        sc.conn.sync().unwrap();
        sc.model.fill(0xff40_5064);
        sc.check(&what);
        if untracked {
            // Then small frames (a sprite told at the flush): those do switch, the
            // other buffer getting the image once and then only what changed.
            let mut image = vec![0xff40_5064u32; (w * h) as usize];
            for n in 0..10u32 {
                let (x, pixel) = (10 + 5 * n, 0xff00_8000 + n);
                let sprite = region(&[(x as i32, 20, 32, 32)]);
                let mut frame = store.begin_frame().unwrap();
                frame.fill(sprite.bounds(), pixel);
                frame.flush(&sprite).unwrap();
                for y in 20..52 {
                    image[(y * w + x) as usize..][..32].fill(pixel);
                }
                sc.shown(&image, &sprite);
            }
            let after = store.stats();
            assert!(
                after.switches > 0,
                "small frames after whole ones: {after:?}"
            );
            sc.conn.sync().unwrap();
            sc.check("small frames after whole ones");
        }
    }
}
