use std::num::NonZeroU32;
use std::rc::Rc;
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConfigureWindowAux, ConnectionExt as _};
use x11rb::xcb_ffi::XCBConnection;
use xbs_tests::XServer;
use xbs_window::{Context, Surface, Window};
fn nz(v: u32) -> NonZeroU32 {
    NonZeroU32::new(v).unwrap()
}
fn storm_size(n: u32, (w, h): (u32, u32)) -> (u32, u32) {
    if n % 2 == 0 {
        (200 + (n * 37) % 200, 200 + (n * 53) % 200)
    } else {
        (w - (n * 29) % 300, h - (n * 31) % 200)
    }
}
#[test]
fn storm() { for own in [false, true, false, true] { let own = own;
    let server = XServer::builder().size(1920, 1080).start().unwrap();
    let display = std::ffi::CString::new(server.display_name()).unwrap();
    let (conn, screen) = XCBConnection::connect(Some(&display)).unwrap();
    let window = Rc::new(
        Window::builder()
            .size(1920, 1080)
            .build(std::sync::Arc::new(conn), screen)
            .unwrap(),
    );
    window.map().unwrap();
    let context = Context::new(window.clone()).unwrap();
    let o = if own { xbs::Options::new().events(xbs::Events::Handed) } else { xbs::Options::new() }; let mut surface = Surface::with_options(&context, window.clone(), o).unwrap();
    surface.resize(nz(1920), nz(1080)).unwrap();
    let conn = context.connection().xcb();
    for round in 0..3 {
        let t = std::time::Instant::now();
        let mut tp = std::time::Duration::ZERO;
        let mut tb = std::time::Duration::ZERO;
        for n in 0..200u32 {
            let (w, h) = storm_size(n + round * 200, (1920, 1080));
            conn.configure_window(window.id(), &ConfigureWindowAux::new().width(w).height(h))
                .unwrap();
            surface.resize(nz(w), nz(h)).unwrap();
            let t0 = std::time::Instant::now();
            let mut b = surface.buffer_mut().unwrap();
            tb += t0.elapsed();
            for (i, p) in b.iter_mut().enumerate() {
                *p = (i as u32).wrapping_mul(n);
            }
            let t1 = std::time::Instant::now();
            b.present().unwrap();
            tp += t1.elapsed();
            while let Some(ev) = conn.poll_for_event().unwrap() { if own { surface.store_mut().handle_event(&ev); } }
        }
        conn.get_input_focus().unwrap().reply().unwrap();
        let s = surface.store_mut().stats();
        eprintln!(
            "{:?}/frame buffer_mut {:?} present {:?} waits {} wait_time {:?} switches {} allocs {}",
            t.elapsed() / 200,
            tb / 200,
            tp / 200,
            s.waits,
            s.wait_time,
            s.switches,
            s.allocations
        );
    }
}}
