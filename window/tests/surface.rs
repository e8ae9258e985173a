//! `xbs_window::Surface`, softbuffer's shape on xbs, against a private Xvfb: on an
//! `xbs_window::Window` over libxcb (an XCB display handle, where winit gives Xlib:
//! `examples/surface_port.rs` covers that one), and the port itself: one app compiled
//! against softbuffer and against xbs-window, both read back from the server.

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::process::Command;
use std::rc::Rc;

use x11rb::protocol::xproto::{ConnectionExt as _, ImageFormat};
use x11rb::xcb_ffi::XCBConnection;
use xbs_tests::XServer;
use xbs_window::{Context, Error, Rect, Surface, Window};

fn nz(v: u32) -> NonZeroU32 {
    NonZeroU32::new(v).unwrap()
}

fn pixel(conn: &XCBConnection, window: u32, x: i16, y: i16) -> u32 {
    let img = conn
        .get_image(ImageFormat::Z_PIXMAP, window, x, y, 1, 1, !0)
        .unwrap()
        .reply()
        .unwrap();
    u32::from_le_bytes([img.data[0], img.data[1], img.data[2], 0])
}

type TestSurface = Surface<Rc<Window<XCBConnection>>, Rc<Window<XCBConnection>>>;

/// A shown 64×48 window of `server` on a libxcb connection, its context and a surface
/// for it, and the window's id.
fn surface_on(server: &XServer) -> (Context<Rc<Window<XCBConnection>>>, TestSurface, u32) {
    let display = std::ffi::CString::new(server.display_name()).unwrap();
    let (conn, screen) = XCBConnection::connect(Some(&display)).unwrap();
    let window = Rc::new(
        Window::builder()
            .size(64, 48)
            .build(std::sync::Arc::new(conn), screen)
            .unwrap(),
    );
    window.map().unwrap();
    let id = window.id();
    let context = Context::new(window.clone()).unwrap();
    let surface = Surface::new(&context, window).unwrap();
    (context, surface, id)
}

#[test]
fn a_surface_presents_what_was_drawn_and_keeps_it() {
    let server = XServer::start().unwrap();
    let (context, mut surface, id) = surface_on(&server);
    surface.resize(nz(64), nz(48)).unwrap();

    let mut buffer = surface.buffer_mut().unwrap();
    assert_eq!(buffer.age(), 0, "nothing presented yet");
    assert_eq!(buffer.len(), 64 * 48);
    buffer.fill(0x0012_3456);
    buffer.present().unwrap();

    // The last frame is all there: draw one rect, present just it.
    let mut buffer = surface.buffer_mut().unwrap();
    assert_eq!(buffer.age(), 1);
    assert!(buffer.iter().all(|&p| p == 0x0012_3456));
    for y in 10..20 {
        buffer[y * 64 + 5..y * 64 + 15].fill(0x00ab_cdef);
    }
    let r = Rect {
        x: 5,
        y: 10,
        width: nz(10),
        height: nz(10),
    };
    buffer.present_with_damage(&[r]).unwrap();

    let conn = context.connection().xcb();
    assert_eq!(pixel(conn, id, 7, 12), 0xab_cdef);
    assert_eq!(pixel(conn, id, 30, 30), 0x12_3456);

    // Damage outside the surface is a typed error; a resize makes the age 0 again.
    let buffer = surface.buffer_mut().unwrap();
    let outside = Rect {
        x: 60,
        y: 0,
        width: nz(10),
        height: nz(1),
    };
    assert!(matches!(
        buffer.present_with_damage(&[outside]),
        Err(Error::Damage { x: 60, .. })
    ));
    surface.resize(nz(80), nz(48)).unwrap();
    assert_eq!(surface.buffer_mut().unwrap().age(), 0);
    let store = surface.store_mut();
    assert_eq!(store.size(), (80, 48));
    assert_eq!(store.events(), xbs::Events::Foreign);
}

#[test]
fn the_same_app_runs_on_softbuffer_and_on_xbs() {
    // target/<profile>/deps/<this test> → target/<profile>/examples/surface_port
    let exe = std::env::current_exe().unwrap();
    let example: PathBuf = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join("examples").join("surface_port"))
        .unwrap();
    assert!(example.exists(), "{} was not built", example.display());
    let server = XServer::builder().size(800, 600).start().unwrap();
    for backend in ["softbuffer", "xbs"] {
        let out = Command::new(&example)
            .env("DISPLAY", server.display_name())
            .env("XBS_EXAMPLE_BACKEND", backend)
            .env("XBS_EXAMPLE_FRAMES", "100")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{backend}: {stdout}\n{stderr}");
        assert!(
            stdout.contains(&format!(
                "({backend}): 100 frames presented and read back, 99 of them with damage only"
            )),
            "{stdout}"
        );
    }
}

/// With buffer age on, buffers keep their own pixels: on the toolkit's connection the
/// store reads no completion events, so each buffer is still in flight when the next
/// is asked for and the two alternate. The age says which frame a buffer holds, its
/// pixels are that frame's (nothing was copied into it), and what the app presents
/// after repainting is what the window shows.
#[test]
fn with_buffer_age_buffers_alternate_and_say_how_old_they_are() {
    let server = XServer::start().unwrap();
    let (context, mut surface, id) = surface_on(&server);
    surface.set_buffer_age(true);
    surface.resize(nz(64), nz(48)).unwrap();
    let colours = [0x0011_1111, 0x0022_2222, 0x0033_3333, 0x0044_4444];
    let mut seen = Vec::new();
    for &colour in &colours {
        let mut buffer = surface.buffer_mut().unwrap();
        seen.push((buffer.age(), buffer[64 * 20 + 30]));
        buffer.fill(colour);
        buffer.present().unwrap();
    }
    assert_eq!(seen[0].0, 0, "nothing presented yet");
    assert_eq!(seen[1].0, 0, "the second buffer is new");
    assert_eq!(seen[2], (2, colours[0]), "the first buffer, two frames old");
    assert_eq!(
        seen[3],
        (2, colours[1]),
        "the second buffer, two frames old"
    );
    let conn = context.connection().xcb();
    assert_eq!(pixel(conn, id, 30, 20), 0x44_4444);

    // Age 2 repaints what changed in two frames; present only this frame's change.
    let mut buffer = surface.buffer_mut().unwrap();
    assert_eq!(buffer.age(), 2);
    buffer.fill(0x0044_4444); // the last frame's change
    buffer[64 * 5 + 5] = 0x00ab_cdef;
    let r = Rect {
        x: 5,
        y: 5,
        width: nz(1),
        height: nz(1),
    };
    buffer.present_with_damage(&[r]).unwrap();
    assert_eq!(pixel(conn, id, 5, 5), 0xab_cdef);
    assert_eq!(pixel(conn, id, 30, 20), 0x44_4444);
    assert_eq!(surface.store_mut().stats().switches, 4);
}
