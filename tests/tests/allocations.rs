//! A steady-state frame allocates nothing in xbs (DESIGN.md: "Steady state allocates
//! nothing per frame"): `begin_repaint`, the paint and `flush` of 16 rects, counted by
//! a global allocator on this thread, on every transport; a scroll allocates only the
//! region it returns. Between frames the test
//! syncs and hands the completions to the store, outside the count: reading a packet
//! is x11rb's allocation, not xbs's, and how many arrive during a frame is timing.

mod common;

use std::sync::Arc;

use common::{region, scene, Scene, SyncExt as _};
use x11rb::connection::Connection as _;
use x11rb::rust_connection::RustConnection;
use xbs::{BackingStore, Transport};
use xbs_tests::alloc_count::{this_thread, Counting};
use xbs_tests::XServer;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Outside the count: the server reads what was sent, and the store hears of it.
fn settle(sc: &Scene, store: &mut BackingStore<Arc<RustConnection>>) {
    sc.conn.sync().unwrap();
    while let Some(event) = sc.conn.poll_for_event().unwrap() {
        store.handle_event(&event);
    }
}

fn frames_allocate_nothing(server: &XServer, transport: Transport) {
    let mut sc = scene(server, 400, 400, false);
    xbs::enlarge_send_buffer(sc.conn.stream(), xbs::SEND_BUFFER).unwrap();
    let mut store = sc.store(transport);
    let grid: Vec<_> = (0..16).map(|i| (i % 4 * 96, i / 4 * 96, 64, 64)).collect();
    let damage = region(&grid);
    let mut counted = Vec::new();
    for n in 0..12u32 {
        let before = this_thread();
        {
            let mut frame = store.begin_repaint(&damage).unwrap();
            frame.fill(damage.bounds(), 0xff00_0000 | (n * 0x0101));
        }
        store.flush(&damage).unwrap();
        counted.push(this_thread() - before);
        settle(&sc, &mut store);
    }
    // The first frames may grow the store's scratch buffers (and the connection's).
    assert_eq!(
        counted[4..],
        [0; 8],
        "{transport:?}: allocations per frame {counted:?}"
    );
    assert_eq!(store.stats().waits, 0, "{transport:?}");
}

/// A scroll, then the repaint and flush of the strip that came in: one allocation, the
/// region `scroll` returns.
fn scrolls_allocate_only_what_they_return(server: &XServer, transport: Transport) {
    let mut sc = scene(server, 300, 200, false);
    let mut store = sc.store(transport);
    let all = region(&[(0, 0, 300, 200)]);
    {
        let mut frame = store.begin_repaint(&all).unwrap();
        frame.fill(all.bounds(), 0xff20_4060);
    }
    store.flush(&all).unwrap();
    let mut counted = Vec::new();
    for n in 0..12u32 {
        settle(&sc, &mut store);
        let before = this_thread();
        let strip = store.scroll(&all, 0, -8).unwrap();
        {
            let mut frame = store.begin_repaint(&strip).unwrap();
            frame.fill(strip.bounds(), 0xff00_0000 | (n * 0x0101));
        }
        store.flush(&strip).unwrap();
        drop(strip);
        counted.push(this_thread() - before);
    }
    assert_eq!(
        counted[4..],
        [1; 8],
        "{transport:?}: allocations per scroll {counted:?}"
    );
}

/// A resize storm within the memory the store has (a user dragging a corner back and
/// forth), each size repainted whole and flushed: nothing allocated once the store's
/// working regions have grown.
fn resizes_allocate_nothing(server: &XServer, transport: Transport) {
    let mut sc = scene(server, 400, 300, false);
    let mut store = sc.store(transport);
    let mut counted = Vec::new();
    for n in 0..16u32 {
        settle(&sc, &mut store);
        let (w, h) = if n % 2 == 0 {
            (120 + n * 3, 90 + n * 5)
        } else {
            (400 - n * 7, 300 - n * 3)
        };
        let all = region(&[(0, 0, w, h)]);
        let before = this_thread();
        store.resize(w, h).unwrap();
        {
            let mut frame = store.begin_repaint(&all).unwrap();
            frame.fill(all.bounds(), 0xff00_0000 | n);
        }
        store.flush(&all).unwrap();
        counted.push(this_thread() - before);
    }
    assert_eq!(
        counted[4..],
        [0; 12],
        "{transport:?}: allocations per resize {counted:?}"
    );
}

#[test]
fn a_resize_storm_allocates_nothing() {
    let server = XServer::start().unwrap();
    for transport in [Transport::ShmFd, Transport::ShmSysV, Transport::PutImage] {
        resizes_allocate_nothing(&server, transport);
    }
}

#[test]
fn a_steady_frame_allocates_nothing_on_shm() {
    let server = XServer::start().unwrap();
    for transport in [Transport::ShmFd, Transport::ShmSysV] {
        frames_allocate_nothing(&server, transport);
        scrolls_allocate_only_what_they_return(&server, transport);
    }
}

#[test]
fn a_steady_frame_allocates_nothing_over_the_wire() {
    let Some(server) = xbs_tests::start_or_skip(XServer::builder().without_shm()) else {
        return;
    };
    frames_allocate_nothing(&server, Transport::PutImage);
    scrolls_allocate_only_what_they_return(&server, Transport::PutImage);
}
