//! The server vanishing under a store (SECURITY.md S14), made exact with a proxy
//! between the store's connection and a real Xvfb: the connection cut in the middle of
//! a flush's bytes, or cut while the server's answers (the `ShmCompletion`, the
//! marker's reply) are held back. Every call that needs the server returns `Err` in
//! bounded time, nothing panics, and this process keeps no descriptor or segment.

mod common;

use std::time::{Duration, Instant};

use common::{pattern, scene, Scene};
use xbs::{BackingStore, Error, Options, Rect, Region, Transport};
use xbs_tests::leaks;
use xbs_tests::proxy::Proxy;
use xbs_tests::XServer;

/// No hang: far above anything a live server takes, far below a stuck test.
const BOUND: Duration = Duration::from_secs(10);

/// What this process holds that a store could leak: SysV segments and descriptors.
fn ours() -> (usize, Vec<String>) {
    (leaks::sysv_segments(), leaks::open_fds())
}

/// [`ours`] once the server has noticed the disconnect: a SysV segment (already
/// marked for removal) lives until the server detaches it, which it does on its own
/// time when it sees the connection close.
fn settled(before: &(usize, Vec<String>)) -> (usize, Vec<String>) {
    let deadline = Instant::now() + BOUND;
    loop {
        let now = ours();
        if &now == before || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

type Store = BackingStore<x11rb::rust_connection::RustConnection>;

/// A store on `transport` for `sc`'s window, over a proxied connection, with the whole
/// image painted `pixel` (not flushed).
fn proxied_store(server: &XServer, sc: &Scene, transport: Transport, pixel: u32) -> (Store, Proxy) {
    let (conn, _, proxy) = server.connect_through_proxy().unwrap();
    let options = Options::new().transport(transport);
    let mut store = BackingStore::new(conn, sc.window, options).unwrap();
    let all = Rect::new(0, 0, sc.w, sc.h);
    store
        .begin_paint(&Region::from(all))
        .unwrap()
        .fill(all, pixel);
    (store, proxy)
}

#[test]
fn server_gone_mid_flush_gives_errors_and_keeps_nothing() {
    let _serial = leaks::serial();
    let server = XServer::builder().size(1200, 900).start().unwrap();
    // The window belongs to another client, which outlives the cut.
    let sc = scene(&server, 1000, 800, false);
    let all = Region::from(Rect::new(0, 0, 1000, 800));
    for transport in [Transport::PutImage, Transport::ShmFd, Transport::ShmSysV] {
        let before = ours();
        let (mut store, proxy) = proxied_store(&server, &sc, transport, 0xff80_4020);
        store.flush(&all).unwrap();
        // The next flush is cut inside its bytes: in the first band of put-image (3.2 MB
        // in all), in the second request of the shm transports.
        {
            let mut frame = store.begin_paint(&all).unwrap();
            for y in 0..800 {
                for x in 0..1000 {
                    frame.fill(Rect::new(x, y, 1, 1), pattern(x, y, 7));
                }
            }
        }
        proxy.cut_after(if transport == Transport::PutImage {
            10_000
        } else {
            60
        });
        let started = Instant::now();
        // Small flushes fit in the socket's buffer and return before the proxy cuts;
        // the cut must surface in a later one.
        let mut strips = (0..).map(|i| Region::from(Rect::new(0, (i % 40) * 20, 1000, 20)));
        let mut result = store.flush(&all);
        while result.is_ok() && started.elapsed() < BOUND {
            std::thread::sleep(Duration::from_millis(1));
            result = store.flush(&strips.next().unwrap());
        }
        let err = result.expect_err("flushes into a cut connection must fail");
        assert!(err.is_connection_lost(), "{transport:?}: {err:?}");
        // From now on every call fails at once, none panics: the store knows it is lost.
        let lost = |r: Result<_, Error>| matches!(r, Err(Error::ConnectionLost { .. }));
        assert!(lost(store.flush(&all)), "{transport:?}: flush");
        assert!(lost(store.resize(1100, 850)), "{transport:?}: resize");
        let panel = Region::from(Rect::new(0, 0, 500, 500));
        assert!(
            lost(store.scroll(&panel, 0, 10).map(drop)),
            "{transport:?}: scroll"
        );
        assert!(lost(store.expose(&panel)), "{transport:?}: expose");
        assert!(
            lost(store.begin_paint(&all).map(drop)),
            "{transport:?}: begin_paint"
        );
        assert!(lost(store.close()), "{transport:?}: close reports the loss");
        assert!(
            started.elapsed() < BOUND,
            "{transport:?}: took {:?}",
            started.elapsed()
        );
        proxy.join();
        assert_eq!(
            settled(&before),
            before,
            "{transport:?}: a descriptor or segment was kept"
        );
    }
}

#[test]
fn disconnect_with_a_completion_outstanding_fails_begin_paint_in_bounded_time() {
    let _serial = leaks::serial();
    let server = XServer::start().unwrap();
    let sc = scene(&server, 300, 200, false);
    let all = Region::from(Rect::new(0, 0, 300, 200));
    for transport in [Transport::ShmFd, Transport::ShmSysV] {
        let before = ours();
        let (mut store, proxy) = proxied_store(&server, &sc, transport, 0xff00_ff00);
        // The server reads the flush, but its completion and the marker's reply never
        // reach us; then it disconnects.
        proxy.hold_server();
        store.flush(&all).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        proxy.cut();
        let started = Instant::now();
        let err = match store.begin_paint(&all) {
            Ok(_) => panic!("{transport:?}: painting pixels in flight needs the server"),
            Err(e) => e,
        };
        let took = started.elapsed();
        assert!(took < BOUND, "{transport:?}: begin_paint took {took:?}");
        assert!(err.is_connection_lost(), "{transport:?}: {err:?}");
        assert!(
            matches!(store.begin_paint(&all), Err(Error::ConnectionLost { .. })),
            "{transport:?}: later calls fail at once"
        );
        drop(store);
        proxy.join();
        assert_eq!(
            settled(&before),
            before,
            "{transport:?}: a descriptor or segment was kept"
        );
        eprintln!("{transport:?}: begin_paint failed after {took:?}: {err}");
    }
}

#[test]
fn disconnect_with_presents_outstanding_fails_in_bounded_time_and_keeps_nothing() {
    // Presenting (Options::present): the buffers are the server's until their idle
    // fences trigger, which the store learns from IdleNotify or by asking. Cut with
    // two presents outstanding and their events held back.
    let _serial = leaks::serial();
    let server = XServer::start().unwrap();
    let sc = scene(&server, 300, 200, false);
    let all = Region::from(Rect::new(0, 0, 300, 200));
    for mode in [xbs::PresentMode::Vsync, xbs::PresentMode::Immediate] {
        for transport in [Transport::ShmFd, Transport::ShmSysV] {
            let what = format!("{transport:?} {mode:?}");
            let before = ours();
            let (conn, _, proxy) = server.connect_through_proxy().unwrap();
            let options = Options::new().transport(transport).present(mode);
            let mut store = BackingStore::new(conn, sc.window, options).unwrap();
            assert_eq!(store.stats().present, mode, "{what}");
            for pixel in [0xff00_ff00, 0xff00_00ff] {
                store.begin_paint(&all).unwrap().fill(all.bounds(), pixel);
                store.flush(&all).unwrap();
            }
            proxy.hold_server();
            std::thread::sleep(Duration::from_millis(50));
            proxy.cut();
            let started = Instant::now();
            // A buffer is being presented: the next frame (a paint over it, or with
            // Vsync the present that must follow the last one) waits, and cannot.
            let next = store
                .begin_paint(&all)
                .map(drop)
                .and_then(|()| store.flush(&all));
            let err = match next {
                Ok(()) => panic!("{what}: a frame over a presented buffer needs the server"),
                Err(e) => e,
            };
            let took = started.elapsed();
            assert!(took < BOUND, "{what}: begin_paint took {took:?}");
            assert!(err.is_connection_lost(), "{what}: {err:?}");
            assert!(
                matches!(store.flush(&all), Err(Error::ConnectionLost { .. })),
                "{what}: later calls fail at once"
            );
            drop(store);
            proxy.join();
            assert_eq!(
                settled(&before),
                before,
                "{what}: a descriptor or segment was kept"
            );
        }
    }
}
