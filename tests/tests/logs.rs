//! S11: log lines name the operation, sizes and errno; never addresses or pixels. Its
//! own test binary, because it installs the process's logger.

use std::sync::{Arc, Mutex};

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt as _, CreateWindowAux, WindowClass};
use xbs::{BackingStore, Options, Transport};
use xbs_shm::fault::Call;
use xbs_shm::fault::{self, Point};
use xbs_tests::XServer;

struct Capture(Mutex<Vec<(log::Level, String)>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        if let Ok(mut lines) = self.0.lock() {
            lines.push((record.level(), record.args().to_string()));
        }
    }
    fn flush(&self) {}
}

#[test]
fn fallback_warnings_name_sizes_and_errno_but_no_addresses() {
    let capture: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
    log::set_logger(capture).unwrap();
    log::set_max_level(log::LevelFilter::Trace);

    let server = XServer::start().unwrap();
    let (conn, screen) = server.connect().unwrap();
    let conn = Arc::new(conn);
    let s = &conn.setup().roots[screen];
    let window = conn.generate_id().unwrap();
    conn.create_window(
        s.root_depth,
        window,
        s.root,
        0,
        0,
        64,
        48,
        0,
        WindowClass::INPUT_OUTPUT,
        s.root_visual,
        &CreateWindowAux::new(),
    )
    .unwrap();
    // The probe's memfd works; the image's fails with ENOSPC: the store falls back to
    // SysV and says so at warn.
    fault::fail_with(Point::Sys(Call::MemfdCreate), 1, nix::errno::Errno::ENOSPC);
    let store = BackingStore::new(conn.clone(), window, Options::default()).unwrap();
    fault::reset();
    assert_eq!(store.transport(), Transport::ShmSysV);
    drop(store);
    conn.get_input_focus().unwrap().reply().unwrap();

    let lines = capture.0.lock().unwrap().clone();
    let warn: Vec<&String> = lines
        .iter()
        .filter(|(l, _)| *l == log::Level::Warn)
        .map(|(_, m)| m)
        .collect();
    assert_eq!(warn.len(), 1, "one warning for one fallback: {lines:?}");
    let w = warn[0];
    assert!(
        w.contains("shm-fd") && w.contains("shm-sysv"),
        "names both transports: {w}"
    );
    assert!(
        w.contains(&(64 * 48 * 4).to_string()),
        "names the size: {w}"
    );
    assert!(w.contains("memfd_create"), "names the call: {w}");
    assert!(
        w.contains("ENOSPC") || w.contains("No space"),
        "names the errno: {w}"
    );
    for (_, m) in &lines {
        assert!(
            !m.contains("0x7f"),
            "a pointer-like address leaked into a log: {m}"
        );
    }
}
