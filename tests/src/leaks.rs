//! Counting what a process holds, to prove nothing leaks: SysV segments it created,
//! its open descriptors, and its resources on the X server (X-Resource extension).
//!
//! The process-wide counts are only meaningful while no other thread creates or frees
//! such things; tests that use them hold [`serial`] for their whole run.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use x11rb::connection::Connection;
use x11rb::protocol::res::ConnectionExt as _;
use x11rb::protocol::xproto::ConnectionExt as _;

/// Serialises the tests of one binary that count process-wide resources. A test that
/// panicked while holding it does not poison the others.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// SysV segments in `/proc/sysvipc/shm` whose creator is this process.
pub fn sysv_segments() -> usize {
    let pid = std::process::id().to_string();
    let Ok(table) = std::fs::read_to_string("/proc/sysvipc/shm") else {
        return 0;
    };
    // Columns: key shmid perms size cpid lpid nattch ...
    table
        .lines()
        .skip(1)
        .filter(|line| line.split_whitespace().nth(4) == Some(pid.as_str()))
        .count()
}

/// The descriptors this process has open, with what each points to.
pub fn open_fds() -> Vec<String> {
    let mut fds: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| {
                    let target = std::fs::read_link(e.path())
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    format!("{} -> {target}", e.file_name().to_string_lossy())
                })
                .collect()
        })
        .unwrap_or_default();
    // read_dir itself holds one descriptor while listing; it names the directory.
    fds.retain(|f| !f.contains("/proc/") || !f.ends_with("/fd"));
    fds.sort();
    fds
}

/// This client's resources on the server, by type name (`"PIXMAP"`, `"GC"`,
/// `"ShmSeg"`, ...), through the X-Resource extension. Sends a round trip, so every
/// request sent before it (an unchecked `ShmDetach` too) has been processed.
pub fn server_resources(conn: &impl Connection) -> BTreeMap<String, u32> {
    let client = conn.setup().resource_id_base;
    let reply = conn
        .res_query_client_resources(client)
        .expect("send XResQueryClientResources")
        .reply()
        .expect("X-Resource answers (is the extension missing?)");
    reply
        .types
        .iter()
        .map(|t| {
            let name = conn
                .get_atom_name(t.resource_type)
                .expect("send GetAtomName")
                .reply()
                .map(|r| String::from_utf8_lossy(&r.name).into_owned())
                .unwrap_or_else(|_| format!("atom {}", t.resource_type));
            (name, t.count)
        })
        .collect()
}

/// How many MIT-SHM segments this client has attached on the server.
pub fn server_segments(conn: &impl Connection) -> u32 {
    server_resources(conn).get("ShmSeg").copied().unwrap_or(0)
}

/// Everything counted at one moment, to compare before and after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// [`sysv_segments`]
    pub sysv_segments: usize,
    /// [`open_fds`]
    pub fds: Vec<String>,
    /// [`server_resources`]
    pub server: BTreeMap<String, u32>,
}

impl Snapshot {
    /// Counts now.
    pub fn take(conn: &impl Connection) -> Self {
        let server = server_resources(conn);
        Snapshot {
            sysv_segments: sysv_segments(),
            fds: open_fds(),
            server,
        }
    }
}
