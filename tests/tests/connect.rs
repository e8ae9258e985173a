//! `xbs::connect`: x11rb's `RustConnection` over `xbs::Stream`, which waits on its
//! socket before a write only where the last write found it full. Against a real
//! server: a store on it shows exactly what was painted, a flood of requests whose
//! replies nobody reads meanwhile never sticks, and a stopped server is waited on,
//! not spun on.

use std::sync::Arc;
use std::time::Duration;

use nix::time::{clock_gettime, ClockId};
use std::io::IoSlice;

use x11rb::connection::RequestConnection as _;
use x11rb::protocol::xproto::{ConnectionExt as _, ImageFormat};
use xbs::{BackingStore, Options, Rect, Region, Transport};
use xbs_tests::XServer;

mod common;

/// This thread's CPU time.
fn thread_cpu() -> Duration {
    Duration::from(clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).unwrap())
}

#[test]
fn a_store_on_xbs_connect_shows_exactly_what_was_painted() {
    let server = XServer::start().unwrap();
    let (conn, _) = xbs::connect(Some(&server.display_name())).unwrap();
    let conn = Arc::new(conn);
    let (w, h) = (96u32, 64u32);
    let window = xbs_tests::window(&*conn, w as u16, h as u16).unwrap();
    common::wait_until_mapped(&*conn, window);
    for transport in [Transport::ShmFd, Transport::ShmSysV, Transport::PutImage] {
        let options = Options::new().transport(Some(transport));
        let mut store = BackingStore::new(conn.clone(), window, options).unwrap();
        // What the window must show: the colour of the last frame that painted it.
        let mut image = vec![0u32; (w * h) as usize];
        let all = Region::from(Rect::new(0, 0, w, h));
        store
            .begin_repaint(&all)
            .unwrap()
            .fill(Rect::new(0, 0, w, h), 0xff00_0000);
        store.flush(&all).unwrap();
        for n in 0..40u32 {
            // Sixteen small rects a frame: seventeen requests, each written without a
            // poll unless the socket is full.
            let colour = (n + 1) * 0x01_0305;
            let rects: Vec<Rect> = (0..16u32)
                .map(|i| Rect::new(((i * 11 + n) % 80) as i32, ((i * 7 + n) % 56) as i32, 8, 6))
                .collect();
            for r in &rects {
                for y in r.y..r.y + r.height as i32 {
                    let row = (y as u32 * w) as usize;
                    image[row + r.x as usize..][..r.width as usize].fill(colour);
                }
            }
            let damage = Region::from_rects(rects.iter().copied());
            store
                .begin_repaint(&damage)
                .unwrap()
                .fill(Rect::new(0, 0, w, h), 0xff00_0000 | colour);
            store.flush(&damage).unwrap();
        }
        store.close().unwrap();
        let shown = conn
            .get_image(ImageFormat::Z_PIXMAP, window, 0, 0, w as u16, h as u16, !0)
            .unwrap()
            .reply()
            .unwrap();
        let shown: Vec<u32> = shown
            .data
            .chunks_exact(4)
            .map(|b| u32::from_ne_bytes(b.try_into().unwrap()) & 0xff_ffff)
            .collect();
        let wrong = image.iter().zip(&shown).filter(|(a, b)| a != b).count();
        assert_eq!(
            wrong, 0,
            "{transport:?}: {wrong} pixels differ from what was painted"
        );
    }
}

#[test]
fn a_flood_of_requests_whose_replies_wait_never_sticks() {
    // 200 000 requests with replies, none read until all are sent: the server's
    // replies fill its side of the socket, it stops reading ours, our writes find the
    // socket full, and only reading replies meanwhile (x11rb does, on `WouldBlock`)
    // gets the rest out. Every reply then arrives, in order.
    let server = XServer::start().unwrap();
    let (conn, _) = xbs::connect(Some(&server.display_name())).unwrap();
    let cookies: Vec<_> = (0..200_000)
        .map(|_| conn.get_input_focus().unwrap())
        .collect();
    let mut last = 0;
    for cookie in cookies {
        let seq = cookie.sequence_number();
        assert!(seq > last);
        last = seq;
        cookie.reply().unwrap();
    }
}

#[test]
fn a_stopped_server_is_waited_on_not_spun_on() {
    // While the server is stopped (300 ms), a flood fills the socket; the writes that
    // follow must wait in `poll`, not try again and again. A loop retrying would spend
    // about the whole stop on the CPU.
    let server = XServer::start().unwrap();
    let (conn, _) = xbs::connect(Some(&server.display_name())).unwrap();
    // BIG-REQUESTS enabled now, not in a round trip while the server is stopped.
    assert!(conn.maximum_request_bytes() > 1 << 18);
    let resume = common::stop_for_a_while(&server);
    let cpu = thread_cpu();
    let started = std::time::Instant::now();
    // 64 MiB of requests: far more than the socket holds (`net.core.wmem_max` caps
    // its room; 208 KiB on most systems).
    let data = vec![0u8; 1 << 18];
    for _ in 0..256 {
        // Length 0: x11rb sends it as a BIG-REQUESTS request.
        let request = [IoSlice::new(&[127, 0, 0, 0]), IoSlice::new(&data)];
        conn.send_request_without_reply(&request, Vec::new())
            .unwrap();
    }
    conn.get_input_focus().unwrap().reply().unwrap();
    let (waited, spent) = (started.elapsed(), thread_cpu() - cpu);
    resume.join().unwrap();
    assert!(
        waited >= Duration::from_millis(200),
        "the server was not stopped: {waited:?}"
    );
    assert!(
        spent < waited / 3,
        "{spent:?} of CPU in {waited:?} waiting for a stopped server"
    );
}
