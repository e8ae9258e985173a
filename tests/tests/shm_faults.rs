//! Every step of segment creation made to fail in turn (SECURITY.md S2, S3, S4, S8):
//! each failure is a typed error and leaves nothing behind — no SysV segment in
//! `/proc/sysvipc/shm`, no new descriptor in `/proc/self/fd`, no segment attached on the
//! server (X-Resource). Release steps that fail are reported by `close()` and never
//! panic in `Drop` (S5).
//!
//! The counts are process-wide, so every test here holds `leaks::serial()`.

use xbs_shm::fault::Call;
use xbs_shm::fault::{self, Point};
use xbs_shm::{Access, Error, Kind, Segment, ShmCaps};
use xbs_tests::leaks::{self, Snapshot};
use xbs_tests::XServer;

const LEN: usize = 3 * 4096 + 17;

/// The points a successful creation passes, in order.
fn creation_trace(conn: &impl x11rb::connection::Connection, kind: Kind) -> Vec<Point> {
    fault::reset();
    fault::start_trace();
    let seg = Segment::new(conn, LEN, kind, Access::ReadOnly).expect("creation succeeds");
    let trace = fault::take_trace();
    drop(seg);
    trace
}

fn fail_every_creation_step(kind: Kind, expected: &[Point]) {
    let _serial = leaks::serial();
    let server = XServer::start().unwrap();
    let (conn, _) = server.connect().unwrap();
    let trace = creation_trace(&conn, kind);
    assert_eq!(trace, expected, "the steps of a {kind:?} segment changed");
    let before = Snapshot::take(&conn);
    for (i, &point) in trace.iter().enumerate() {
        let nth = trace[..i].iter().filter(|&&p| p == point).count();
        fault::reset();
        fault::fail(point, nth);
        let err = Segment::new(&conn, LEN, kind, Access::ReadOnly)
            .expect_err("an injected failure must fail the creation");
        fault::reset();
        match (point, &err) {
            (
                Point::Sys(call),
                Error::Syscall {
                    call: name, len, ..
                },
            ) => {
                assert_eq!(*name, call.name());
                assert!(*len >= LEN, "the error names the size: {err}");
            }
            (Point::ServerAttach, Error::Refused { request, .. }) => {
                assert!(request.starts_with("ShmAttach"), "{err}");
            }
            _ => panic!("{kind:?} step {i} ({point:?}): wrong error {err:?}"),
        }
        let after = Snapshot::take(&conn);
        assert_eq!(
            before, after,
            "{kind:?} step {i} ({point:?}) leaked; error was: {err}"
        );
    }
    // And the path still works after all that.
    let seg = Segment::new(&conn, LEN, kind, Access::ReadOnly).unwrap();
    seg.close().unwrap();
    assert_eq!(before, Snapshot::take(&conn));
}

#[test]
fn fd_segment_releases_everything_when_any_step_fails() {
    fail_every_creation_step(
        Kind::Fd,
        &[
            Point::Sys(Call::MemfdCreate),
            Point::Sys(Call::Ftruncate),
            Point::Sys(Call::AddSeals),
            Point::Sys(Call::Mmap),
            Point::Sys(Call::DupFd),
            Point::ServerAttach,
        ],
    );
}

#[test]
fn sysv_segment_removed_when_any_step_fails() {
    fail_every_creation_step(
        Kind::SysV,
        &[
            Point::Sys(Call::Shmget),
            Point::Sys(Call::Shmat),
            Point::ServerAttach,
            Point::Sys(Call::ShmctlRmid),
        ],
    );
}

#[test]
fn sysv_segment_removed_when_shmat_fails() {
    // The defect found in Qt 6.6: shmat failing left the id behind.
    let _serial = leaks::serial();
    let server = XServer::start().unwrap();
    let (conn, _) = server.connect().unwrap();
    let before = leaks::sysv_segments();
    fault::fail(Point::Sys(Call::Shmat), 0);
    let err = Segment::new(&conn, LEN, Kind::SysV, Access::ReadOnly).unwrap_err();
    fault::reset();
    assert!(matches!(err, Error::Syscall { call: "shmat", .. }), "{err}");
    assert_eq!(leaks::sysv_segments(), before);
}

#[test]
fn failed_release_steps_are_reported_by_close_and_do_not_stop_the_others() {
    let _serial = leaks::serial();
    let server = XServer::start().unwrap();
    let (conn, _) = server.connect().unwrap();
    let before = Snapshot::take(&conn);

    // fd: close(2) fails. The detach and munmap still happen; the descriptor is gone.
    let seg = Segment::new(&conn, LEN, Kind::Fd, Access::ReadOnly).unwrap();
    fault::fail(Point::Sys(Call::Close), 0);
    let err = seg.close().unwrap_err();
    fault::reset();
    assert!(matches!(err, Error::Syscall { call: "close", .. }), "{err}");
    assert_eq!(before, Snapshot::take(&conn));

    // fd: munmap fails. Reported; the server side and the descriptor are still released.
    let seg = Segment::new(&conn, LEN, Kind::Fd, Access::ReadOnly).unwrap();
    fault::fail(Point::Sys(Call::Munmap), 0);
    let err = seg.close().unwrap_err();
    fault::reset();
    assert!(
        matches!(err, Error::Syscall { call: "munmap", .. }),
        "{err}"
    );
    assert_eq!(before, Snapshot::take(&conn));

    // SysV: shmdt fails. Reported; the server has detached.
    let seg = Segment::new(&conn, LEN, Kind::SysV, Access::ReadOnly).unwrap();
    fault::fail(Point::Sys(Call::Shmdt), 0);
    let err = seg.close().unwrap_err();
    fault::reset();
    assert!(matches!(err, Error::Syscall { call: "shmdt", .. }), "{err}");
    assert_eq!(leaks::server_segments(&conn), 0);
}

#[test]
fn drop_never_panics_when_every_release_step_fails() {
    let _serial = leaks::serial();
    let server = XServer::start().unwrap();
    let (conn, _) = server.connect().unwrap();
    for kind in [Kind::Fd, Kind::SysV] {
        let seg = Segment::new(&conn, LEN, kind, Access::ReadOnly).unwrap();
        for call in [Call::Munmap, Call::Shmdt, Call::Close] {
            fault::fail(Point::Sys(call), 0);
        }
        drop(seg);
        fault::reset();
    }
    // Drop of a segment whose server is gone: no panic, no hang.
    let seg = Segment::new(&conn, LEN, Kind::Fd, Access::ReadOnly).unwrap();
    drop(server);
    drop(seg);
}

#[test]
fn probe_keeps_fd_passing_when_sysv_fails() {
    let _serial = leaks::serial();
    let server = XServer::start().unwrap();
    let (conn, _) = server.connect().unwrap();
    fault::fail(Point::Sys(Call::Shmget), 0);
    let report = xbs_shm::probe_report(&conn).unwrap();
    fault::reset();
    assert!(report.caps.contains(ShmCaps::FD_PASSING), "{report:?}");
    assert!(!report.caps.contains(ShmCaps::SYSV), "{report:?}");
    fault::fail(Point::ServerAttach, 0);
    let report = xbs_shm::probe_report(&conn).unwrap();
    fault::reset();
    assert!(!report.caps.contains(ShmCaps::FD_PASSING), "{report:?}");
    assert!(report.caps.contains(ShmCaps::SYSV), "{report:?}");
    assert_eq!(leaks::server_segments(&conn), 0);
}

#[test]
fn nth_call_of_a_syscall_can_be_failed() {
    // The second segment's mmap fails, the first is untouched.
    let _serial = leaks::serial();
    let server = XServer::start().unwrap();
    let (conn, _) = server.connect().unwrap();
    fault::fail(Point::Sys(Call::Mmap), 1);
    let first = Segment::new(&conn, LEN, Kind::Fd, Access::ReadOnly);
    let second = Segment::new(&conn, LEN, Kind::Fd, Access::ReadOnly);
    fault::reset();
    assert!(first.is_ok());
    assert!(matches!(second, Err(Error::Syscall { call: "mmap", .. })));
    assert_eq!(leaks::server_segments(&conn), 1);
}
