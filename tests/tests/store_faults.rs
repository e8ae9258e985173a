//! Every step of a store's life that can fail, failed in turn (SECURITY.md S3, S4, S9):
//! the syscalls of xbs-shm, the server's attach, its `CreatePixmap` and `CreateGC`
//! (the real server refusing with BadAccess, BadAlloc, BadValue), and heap
//! allocations. After each, the store works on a fallback (pixel-exact) or creation
//! returns a typed error, and once it is gone nothing is left: SysV segments, open
//! descriptors, and the client's resources on the server (X-Resource) are as before.

mod common;

use std::sync::Arc;

use common::{region, scene, Scene};
use x11rb::rust_connection::RustConnection;
use xbs::fault::{self, Point};
use xbs::{BackingStore, Error, Options, Rect, Region, Transport};
use xbs_shm::fault::{Call, Point as Shm};
use xbs_tests::leaks::{self, Snapshot};
use xbs_tests::XServer;

type Store = BackingStore<Arc<RustConnection>>;

/// A store's life: creation with a server-side copy, a paint and flush, a resize that
/// needs new memory and a new pixmap, a scroll over pixels in flight (which makes the
/// second buffer) and an expose, a resize down, and a last full flush. Returns the store, the window's model is kept in `sc`.
fn life(sc: &mut Scene, transport: Option<Transport>) -> Result<Store, Error> {
    let mut image = vec![0u32; (sc.w * sc.h) as usize];
    sc.resized(&mut image, 80, 60);
    image.fill(0);
    let options = Options::new().transport(transport).server_copy(true);
    let mut store = BackingStore::new(sc.conn.clone(), sc.window, options)?;
    let step = |sc: &mut Scene, store: &mut Store, image: &mut Vec<u32>, seed| {
        let all = region(&[(0, 0, sc.w, sc.h)]);
        sc.paint(store, image, &all, seed);
        store.flush(&all)?;
        sc.shown(image, &all);
        Ok::<_, Error>(())
    };
    step(sc, &mut store, &mut image, 1)?;
    // Three times the area: more than the memory's growth margin, so new memory.
    sc.resized(&mut image, 160, 90);
    store.resize(160, 90)?;
    step(sc, &mut store, &mut image, 2)?;
    let panel = Region::from(Rect::new(10, 10, 100, 60));
    store.scroll(&panel, 3, -7)?;
    let exposed = sc.scrolled(&mut image, &panel, 3, -7);
    sc.paint(&mut store, &mut image, &exposed, 3);
    store.flush(&exposed)?;
    sc.shown(&image, &exposed);
    store.expose(&region(&[(0, 0, 40, 40)]))?;
    sc.resized(&mut image, 50, 30);
    store.resize(50, 30)?;
    step(sc, &mut store, &mut image, 4)?;
    Ok(store)
}

/// Release steps fail inside `drop`, which must not leak by their own failure only
/// (S5, proven in `shm_faults`); here only the steps that acquire are failed.
fn acquires(point: Point) -> bool {
    !matches!(
        point,
        Point::Shm(Shm::Sys(Call::Munmap | Call::Close | Call::Shmdt))
    )
}

/// What a failure at `point` may end in: a fallback, or a typed error naming it.
fn acceptable(point: Point, transport: Option<Transport>, err: &Error) -> bool {
    match (point, err) {
        (_, Error::Connection { .. }) => false,
        (Point::ServerGc, Error::Reply { request, .. }) => *request == "CreateGC",
        (Point::Heap, Error::OutOfMemory { .. }) => true,
        // A forced transport does not fall back; nor does the last one.
        (Point::Shm(_), Error::Shm(_)) => transport.is_some(),
        // The probe tries fd passing with a memfd it attaches: without it, a forced shm-fd is
        // unavailable.
        (Point::Shm(_), Error::TransportUnavailable { .. }) => transport.is_some(),
        _ => false,
    }
}

/// Walks the faults of one life; the caller holds [`leaks::serial`] from before its
/// server started, so no other test's server or descriptors change the counts.
fn walk(server: &XServer, transport: Option<Transport>) -> usize {
    let mut sc = scene(server, 80, 60, false);
    fault::reset();
    fault::start_trace();
    let store = life(&mut sc, transport).expect("a life without faults works");
    let trace = fault::take_trace();
    sc.check("no fault");
    drop(store);
    let what = format!("{transport:?} on depth {}", sc.depth);
    for needed in [Point::ServerGc, Point::ServerPixmap] {
        assert!(
            trace.contains(&needed),
            "{what}: {needed:?} not in {trace:?}"
        );
    }
    let before = Snapshot::take(&*sc.conn);
    let mut walked = 0;
    for (i, &point) in trace.iter().enumerate() {
        if !acquires(point) {
            continue;
        }
        let nth = trace[..i].iter().filter(|&&p| p == point).count();
        fault::reset();
        fault::fail(point, nth);
        let result = life(&mut sc, transport);
        fault::reset();
        match result {
            Ok(store) => {
                sc.check(&format!("{what}: {point:?} #{nth} failed"));
                if point == Point::ServerPixmap {
                    assert!(!store.stats().server_copy, "{what}: the pixmap was refused");
                }
                if i % 2 == 0 {
                    drop(store);
                } else {
                    store.close().unwrap();
                }
            }
            Err(err) => assert!(
                acceptable(point, transport, &err),
                "{what}: {point:?} #{nth} failed with {err:?}"
            ),
        }
        let after = Snapshot::take(&*sc.conn);
        assert_eq!(before, after, "{what}: {point:?} #{nth} leaked");
        walked += 1;
    }
    eprintln!("{what}: {walked} faults injected, at {trace:?}");
    walked
}

#[test]
fn every_acquiring_step_of_a_store_fails_cleanly_on_every_transport() {
    let _serial = leaks::serial();
    let server = XServer::start().unwrap();
    let mut walked = 0;
    for transport in [
        None,
        Some(Transport::ShmFd),
        Some(Transport::ShmSysV),
        Some(Transport::PutImage),
    ] {
        walked += walk(&server, transport);
    }
    assert!(walked > 40, "only {walked} steps walked");
}

#[test]
fn every_acquiring_step_fails_cleanly_when_converting_to_depth_16() {
    // Depth 16 paints into a heap canvas and converts into the shared memory.
    let _serial = leaks::serial();
    let Some(server) = xbs_tests::start_or_skip(XServer::builder().depth(16)) else {
        return;
    };
    let walked = walk(&server, None);
    assert!(walked > 10, "only {walked} steps walked");
}

#[test]
fn a_pixmap_refused_on_resize_costs_only_the_server_copy() {
    let _serial = leaks::serial();
    let server = XServer::start().unwrap();
    let mut sc = scene(&server, 60, 40, false);
    let mut store = sc.store_with(Transport::ShmFd, true);
    let mut image = vec![0u32; 60 * 40];
    fault::reset();
    fault::fail(Point::ServerPixmap, 0);
    sc.resized(&mut image, 90, 70);
    store.resize(90, 70).unwrap();
    fault::reset();
    assert!(!store.stats().server_copy);
    // Expose now uploads from the image: still pixel-exact.
    let all = region(&[(0, 0, 90, 70)]);
    sc.paint(&mut store, &mut image, &all, 9);
    store.flush(&all).unwrap();
    sc.shown(&image, &all);
    let uploaded = store.stats().bytes_uploaded;
    store.expose(&region(&[(0, 0, 10, 10)])).unwrap();
    assert_eq!(store.stats().bytes_uploaded, uploaded + 10 * 10 * 4);
    sc.check("after a refused pixmap");
}
