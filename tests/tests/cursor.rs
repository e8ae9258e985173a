//! Themed cursors from a theme this test writes (its own Xcursor file), the core-font
//! fallback, the cache, and unknown names. Its own test binary: it sets XCURSOR_PATH
//! and XCURSOR_THEME for the process.

use std::sync::Arc;

use x11rb::protocol::xfixes::ConnectionExt as _;
use x11rb::protocol::xproto::ConnectionExt as _;
use xbs_tests::XServer;
use xbs_window::{CursorSource, Error, Window};

/// An Xcursor file with one `size`×`size` image of `argb`, hotspot at 1,1.
fn xcursor_file(size: u32, argb: u32) -> Vec<u8> {
    const IMAGE: u32 = 0xfffd_0002;
    let mut f = Vec::new();
    let put = |f: &mut Vec<u8>, v: u32| f.extend_from_slice(&v.to_le_bytes());
    // Header: magic, header size, version, one table-of-contents entry.
    f.extend_from_slice(b"Xcur");
    for v in [16, 0x1_0000, 1] {
        put(&mut f, v);
    }
    // TOC: type, nominal size, position of the chunk (right after the TOC).
    for v in [IMAGE, size, 16 + 12] {
        put(&mut f, v);
    }
    // Image chunk: header size, type, size, version, width, height, hotspot, delay.
    for v in [36, IMAGE, size, 1, size, size, 1, 1, 0] {
        put(&mut f, v);
    }
    for _ in 0..size * size {
        put(&mut f, argb);
    }
    f
}

#[test]
fn cursors_come_from_the_theme_then_the_core_font() {
    let dir = std::env::temp_dir().join(format!("xbs-cursor-test-{}", std::process::id()));
    let cursors = dir.join("xbs-test-theme").join("cursors");
    std::fs::create_dir_all(&cursors).unwrap();
    std::fs::write(cursors.join("xbs-arrow"), xcursor_file(8, 0xffff_0000)).unwrap();
    // "default" in this theme is a green square; "wait" is not in it.
    std::fs::write(cursors.join("left_ptr"), xcursor_file(8, 0xff00_ff00)).unwrap();
    std::env::set_var("XCURSOR_PATH", &dir);
    std::env::set_var("XCURSOR_THEME", "xbs-test-theme");
    std::env::set_var("XCURSOR_SIZE", "8");

    let server = XServer::start().unwrap();
    let (conn, screen) = server.connect().unwrap();
    let conn = Arc::new(conn);
    let mut window = Window::builder()
        .size(100, 100)
        .build(conn.clone(), screen)
        .unwrap();
    window.map().unwrap();
    conn.warp_pointer(x11rb::NONE, window.id(), 0, 0, 0, 0, 50, 50)
        .unwrap();
    conn.xfixes_query_version(5, 0).unwrap().reply().unwrap();
    let shown = |conn: &x11rb::rust_connection::RustConnection| {
        let img = conn.xfixes_get_cursor_image().unwrap().reply().unwrap();
        (img.width, img.height, img.cursor_image)
    };

    // A theme cursor, uploaded as ARGB: the server shows exactly our pixels.
    assert_eq!(window.set_cursor("xbs-arrow").unwrap(), CursorSource::Theme);
    let (w, h, px) = shown(&conn);
    assert_eq!((w, h), (8, 8));
    assert!(px.iter().all(|&p| p == 0xffff_0000), "{px:x?}");
    // A standard name found under its older theme name.
    assert_eq!(window.set_cursor("default").unwrap(), CursorSource::Theme);
    let (_, _, px) = shown(&conn);
    assert!(px.iter().all(|&p| p == 0xff00_ff00));
    // Not in the theme: the core cursor font.
    assert_eq!(window.set_cursor("wait").unwrap(), CursorSource::CoreFont);
    let (w, h, _) = shown(&conn);
    assert!(w > 0 && h > 0 && (w, h) != (8, 8));
    // Cached: the same cursor again, no new resources.
    assert_eq!(window.set_cursor("xbs-arrow").unwrap(), CursorSource::Theme);
    // Unknown everywhere: a typed error, the cursor unchanged.
    let err = window.set_cursor("no-such-cursor").unwrap_err();
    assert!(matches!(err, Error::UnknownCursor(_)), "{err}");
    let (_, _, px) = shown(&conn);
    assert!(px.iter().all(|&p| p == 0xffff_0000));
    window.close().unwrap();
    conn.get_input_focus().unwrap().reply().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
