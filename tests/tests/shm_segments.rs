//! xbs-shm against real Xvfb servers: probe on every configuration, pixels that really
//! travel through fd and SysV segments in both directions, size limits, and cleanup.

use x11rb::connection::Connection;
use x11rb::protocol::shm;
use x11rb::protocol::xproto::{ConnectionExt as _, ImageFormat, Rectangle};
use x11rb::rust_connection::RustConnection;
use xbs_shm::{Access, Error, Kind, Segment, ShmCaps};
use xbs_tests::{leaks, start_or_skip, XServer};

const W: u16 = 37; // odd on purpose: no accidental alignment
const H: u16 = 23;

fn pattern(i: usize) -> u32 {
    // Distinct in every byte, 24-bit (the pixmap has no alpha to keep).
    let v = i as u32;
    (v.wrapping_mul(2_654_435_761) ^ (v << 5)) & 0x00ff_ffff
}

fn pixmap(conn: &RustConnection, screen: usize) -> (u32, u32) {
    let root = conn.setup().roots[screen].root;
    let pix = conn.generate_id().unwrap();
    conn.create_pixmap(24, pix, root, W, H)
        .unwrap()
        .check()
        .unwrap();
    let gc = conn.generate_id().unwrap();
    conn.create_gc(gc, pix, &Default::default())
        .unwrap()
        .check()
        .unwrap();
    (pix, gc)
}

fn read_back(conn: &RustConnection, pix: u32) -> Vec<u32> {
    let img = conn
        .get_image(ImageFormat::Z_PIXMAP, pix, 0, 0, W, H, !0)
        .unwrap()
        .reply()
        .unwrap();
    img.data
        .chunks_exact(4)
        .map(|p| u32::from_le_bytes([p[0], p[1], p[2], p[3]]) & 0x00ff_ffff)
        .collect()
}

/// The server reads what we wrote: ShmPutImage from the segment, GetImage to compare.
fn server_reads_segment(kind: Kind) {
    let server = XServer::start().unwrap();
    let (conn, screen) = server.connect().unwrap();
    let (pix, gc) = pixmap(&conn, screen);
    let len = usize::from(W) * usize::from(H) * 4;
    let mut seg = Segment::new(&conn, len, kind, Access::ReadOnly).unwrap();
    assert_eq!(seg.len(), len);
    assert!(seg.mapped_len() >= len && seg.mapped_len() % 4096 == 0);
    for (i, px) in seg.as_mut_slice().chunks_exact_mut(4).enumerate() {
        px.copy_from_slice(&pattern(i).to_le_bytes());
    }
    shm::put_image(
        &conn,
        pix,
        gc,
        W,
        H,
        0,
        0,
        W,
        H,
        0,
        0,
        24,
        2, // ZPixmap
        false,
        seg.seg(),
        0,
    )
    .unwrap()
    .check()
    .unwrap();
    let got = read_back(&conn, pix);
    let want: Vec<u32> = (0..got.len()).map(pattern).collect();
    assert_eq!(
        got, want,
        "{kind:?} segment pixels differ after ShmPutImage"
    );
    assert_eq!(leaks::server_segments(&conn), 1);
    seg.close().unwrap();
    assert_eq!(leaks::server_segments(&conn), 0);
}

/// The server writes what we read: fill the pixmap, ShmGetImage into the segment.
fn server_writes_segment(kind: Kind) {
    let server = XServer::start().unwrap();
    let (conn, screen) = server.connect().unwrap();
    let (pix, gc) = pixmap(&conn, screen);
    conn.change_gc(
        gc,
        &x11rb::protocol::xproto::ChangeGCAux::new().foreground(0x12_3456),
    )
    .unwrap();
    conn.poly_fill_rectangle(
        pix,
        gc,
        &[Rectangle {
            x: 0,
            y: 0,
            width: W,
            height: H,
        }],
    )
    .unwrap();
    let len = usize::from(W) * usize::from(H) * 4;
    let seg = Segment::new(&conn, len, kind, Access::ReadWrite).unwrap();
    assert!(
        seg.as_slice().iter().all(|&b| b == 0),
        "new memory is zeroed"
    );
    shm::get_image(&conn, pix, 0, 0, W, H, !0, 2, seg.seg(), 0)
        .unwrap()
        .reply()
        .unwrap();
    for px in seg.as_slice().chunks_exact(4) {
        let v = u32::from_le_bytes([px[0], px[1], px[2], px[3]]) & 0x00ff_ffff;
        assert_eq!(v, 0x12_3456);
    }
    drop(seg); // Drop, not close: the detach goes out without a round trip.
    assert_eq!(leaks::server_segments(&conn), 0);
}

#[test]
fn fd_segment_is_read_by_the_server() {
    let _serial = leaks::serial();
    server_reads_segment(Kind::Fd);
}

#[test]
fn sysv_segment_is_read_by_the_server() {
    let _serial = leaks::serial();
    server_reads_segment(Kind::SysV);
}

#[test]
fn fd_segment_is_written_by_the_server() {
    let _serial = leaks::serial();
    server_writes_segment(Kind::Fd);
}

#[test]
fn sysv_segment_is_written_by_the_server() {
    let _serial = leaks::serial();
    server_writes_segment(Kind::SysV);
}

#[test]
fn read_only_segment_refuses_server_writes() {
    let _serial = leaks::serial();
    // S12: a read-only attach means the server cannot write into our memory.
    let server = XServer::start().unwrap();
    let (conn, screen) = server.connect().unwrap();
    let (pix, _gc) = pixmap(&conn, screen);
    for kind in [Kind::Fd, Kind::SysV] {
        let seg = Segment::new(&conn, 4096, kind, Access::ReadOnly).unwrap();
        let err = shm::get_image(&conn, pix, 0, 0, 4, 4, !0, 2, seg.seg(), 0)
            .unwrap()
            .reply()
            .expect_err("ShmGetImage into a read-only segment must fail");
        assert!(format!("{err:?}").contains("Access"), "{kind:?}: {err:?}");
    }
}

#[test]
fn probe_default_server_finds_everything() {
    let _serial = leaks::serial();
    let server = XServer::start().unwrap();
    let (conn, _) = server.connect().unwrap();
    let report = xbs_shm::probe_report(&conn).unwrap();
    assert_eq!(
        report.caps,
        ShmCaps::SHM | ShmCaps::FD_PASSING | ShmCaps::SYSV | ShmCaps::SHARED_PIXMAPS,
        "{report:?}"
    );
    assert!(report.version >= Some((1, 2)));
    // The probe's own segments are gone again, here and on the server.
    assert_eq!(leaks::server_segments(&conn), 0);
}

#[test]
fn probe_without_mit_shm_finds_nothing() {
    let _serial = leaks::serial();
    let Some(server) = xbs_tests::start_or_skip(XServer::builder().without_shm()) else {
        return;
    };
    let (conn, _) = server.connect().unwrap();
    let report = xbs_shm::probe_report(&conn).unwrap();
    assert_eq!(report.caps, ShmCaps::empty());
    assert_eq!(report.version, None);
    // And asking for a segment anyway is a typed error, not a panic.
    let err = Segment::new(&conn, 4096, Kind::Fd, Access::ReadOnly).unwrap_err();
    assert!(matches!(err, Error::NoExtension), "{err}");
    let err = Segment::new(&conn, 4096, Kind::SysV, Access::ReadOnly).unwrap_err();
    assert!(matches!(err, Error::NoExtension), "{err}");
    // Every test here holds `leaks::serial`, so no other test's segment is counted.
    assert_eq!(leaks::sysv_segments(), 0);
}

#[test]
fn probe_over_tcp_finds_neither_mechanism() {
    let _serial = leaks::serial();
    let Some(server) = xbs_tests::start_or_skip(XServer::builder().tcp()) else {
        return;
    };
    let (conn, _) = server.connect().unwrap();
    let report = xbs_shm::probe_report(&conn).unwrap();
    // The extension is there, but a TCP socket carries no descriptors and gives the
    // server no credentials to check a 0600 SysV segment against.
    assert!(report.caps.contains(ShmCaps::SHM), "{report:?}");
    assert!(!report.caps.contains(ShmCaps::FD_PASSING), "{report:?}");
    assert!(!report.caps.contains(ShmCaps::SYSV), "{report:?}");
    // The connection still works after both refusals.
    conn.get_input_focus().unwrap().reply().unwrap();
}

#[test]
fn probe_in_other_ipc_namespace_keeps_fd_passing() {
    let _serial = leaks::serial();
    let Some(server) = start_or_skip(XServer::builder().private_ipc()) else {
        return;
    };
    let (conn, _) = server.connect().unwrap();
    let report = xbs_shm::probe_report(&conn).unwrap();
    assert!(report.caps.contains(ShmCaps::FD_PASSING), "{report:?}");
    assert!(!report.caps.contains(ShmCaps::SYSV), "{report:?}");
    let why = report.sysv_error.expect("a reason for SysV");
    assert!(matches!(why, Error::Refused { .. }), "{why}");
    assert_eq!(leaks::server_segments(&conn), 0);
}

#[test]
fn sizes_out_of_range_are_typed_errors() {
    let _serial = leaks::serial();
    let server = XServer::start().unwrap();
    let (conn, _) = server.connect().unwrap();
    for kind in [Kind::Fd, Kind::SysV] {
        for len in [0, usize::MAX, usize::MAX - 1, (1 << 32) + 1] {
            let err = Segment::new(&conn, len, kind, Access::ReadOnly).unwrap_err();
            match err {
                Error::Size { len: l, .. } => assert_eq!(l, len),
                other => panic!("{kind:?} {len}: expected Error::Size, got {other}"),
            }
        }
        // The largest length MIT-SHM can address is still checked, not refused early.
        assert!(xbs_shm::mapped_len(u32::MAX as usize - 4095, Kind::Fd).is_ok());
    }
    let msg = Segment::new(&conn, usize::MAX, Kind::Fd, Access::ReadOnly)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains(&usize::MAX.to_string()),
        "message names the size: {msg}"
    );
}

#[test]
fn sysv_segment_is_removed_while_still_attached() {
    let _serial = leaks::serial();
    // S2: right after the checked attach, the id is marked IPC_RMID, so the segment
    // cannot outlive this process even if it is killed now.
    let server = XServer::start().unwrap();
    let (conn, _) = server.connect().unwrap();
    // A size no other test here uses, to find our row while other tests run.
    let seg = Segment::new(&conn, 24576, Kind::SysV, Access::ReadOnly).unwrap();
    let pid = std::process::id().to_string();
    let table = std::fs::read_to_string("/proc/sysvipc/shm").unwrap();
    let row: Vec<String> = table
        .lines()
        .find(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.get(4) == Some(&pid.as_str()) && cols.get(3) == Some(&"24576")
        })
        .expect("our segment is listed")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    // key 0 = IPC_PRIVATE; perms 1600 = SHM_DEST (marked for removal) | 0600.
    assert_eq!(row[0], "0");
    assert_eq!(row[2], "1600", "row: {row:?}");
    drop(seg);
    drop(conn);
}

#[test]
fn segments_work_over_an_arc_connection() {
    let _serial = leaks::serial();
    let server = XServer::start().unwrap();
    let (conn, _) = server.connect().unwrap();
    let conn = std::sync::Arc::new(conn);
    let seg = Segment::new(conn.clone(), 4096, Kind::Fd, Access::ReadOnly).unwrap();
    assert_eq!(leaks::server_segments(&*conn), 1);
    drop(seg);
    assert_eq!(leaks::server_segments(&*conn), 0);
}
