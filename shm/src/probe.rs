//! [`probe`]: what this client and this server can really do with shared memory.
//!
//! Version numbers alone do not tell: a server in another IPC namespace (a container),
//! one reached over TCP or ssh, or one that cannot read the client's credentials
//! advertises MIT-SHM and then refuses every SysV attach. So each mechanism is tried
//! for real with a one-page segment, checked, and detached again. A failure of one does
//! not disable the other (Qt's probe turns off fd passing when SysV fails).

use x11rb::connection::Connection;
use x11rb::protocol::shm;

use crate::error::RequestError as _;
use crate::segment::{Access, Kind, Segment};
use crate::Error;

bitflags::bitflags! {
    /// What works between this client and the server.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct ShmCaps: u8 {
        /// The server offers MIT-SHM.
        const SHM = 1;
        /// A memfd segment was attached with `ShmAttachFd` (MIT-SHM ≥ 1.2, a local
        /// connection that can carry descriptors).
        const FD_PASSING = 1 << 1;
        /// A SysV segment was attached with `ShmAttach` (same IPC namespace, and the
        /// server could check the client's credentials).
        const SYSV = 1 << 2;
        /// The server can create pixmaps backed by a segment (`ShmCreatePixmap`).
        const SHARED_PIXMAPS = 1 << 3;
    }
}

/// The full result of a probe: capabilities, version, and why a mechanism failed.
#[derive(Debug, Default)]
pub struct ProbeReport {
    /// What works.
    pub caps: ShmCaps,
    /// The server's MIT-SHM version, if it has the extension.
    pub version: Option<(u16, u16)>,
    /// Why an fd segment could not be attached, if it could not.
    pub fd_error: Option<Error>,
    /// Why a SysV segment could not be attached, if it could not.
    pub sysv_error: Option<Error>,
}

/// Probes MIT-SHM on `conn`: extension, version, and a real one-page attach of each
/// kind of segment. Costs a few round trips; call it once per connection.
///
/// Returns `Err` only when the connection itself fails; a server without MIT-SHM gives
/// `Ok(ShmCaps::empty())`.
///
/// ```no_run
/// let (conn, _) = x11rb::connect(None)?;
/// let caps = xbs_shm::probe(&conn)?;
/// if caps.contains(xbs_shm::ShmCaps::FD_PASSING) { /* use Kind::Fd */ }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn probe<C: Connection>(conn: &C) -> Result<ShmCaps, Error> {
    probe_report(conn).map(|r| r.caps)
}

/// Like [`probe`], with the version and the reason each failed mechanism failed.
pub fn probe_report<C: Connection>(conn: &C) -> Result<ProbeReport, Error> {
    let present = conn
        .extension_information(shm::X11_EXTENSION_NAME)
        .map_err(Error::conn("QueryExtension(MIT-SHM)"))?
        .is_some();
    if !present {
        log::debug!("MIT-SHM: not offered by the server");
        return Ok(ProbeReport::default());
    }
    let version = shm::query_version(conn)
        .map_err(Error::conn("ShmQueryVersion"))?
        .reply()
        .map_err(Error::reply("ShmQueryVersion"))?;
    let mut report = ProbeReport {
        caps: ShmCaps::SHM,
        version: Some((version.major_version, version.minor_version)),
        ..ProbeReport::default()
    };
    if version.shared_pixmaps {
        report.caps |= ShmCaps::SHARED_PIXMAPS;
    }
    if (version.major_version, version.minor_version) >= (1, 2) {
        match try_attach(conn, Kind::Fd)? {
            None => report.caps |= ShmCaps::FD_PASSING,
            Some(e) => report.fd_error = Some(e),
        }
    } else {
        report.fd_error = Some(Error::NoFdPassing {
            major: version.major_version,
            minor: version.minor_version,
        });
    }
    match try_attach(conn, Kind::SysV)? {
        None => report.caps |= ShmCaps::SYSV,
        Some(e) => report.sysv_error = Some(e),
    }
    log::debug!(
        "MIT-SHM {}.{}: {:?} (fd: {}, sysv: {})",
        version.major_version,
        version.minor_version,
        report.caps,
        report
            .fd_error
            .as_ref()
            .map_or("ok".into(), |e| e.to_string()),
        report
            .sysv_error
            .as_ref()
            .map_or("ok".into(), |e| e.to_string()),
    );
    Ok(report)
}

/// `Ok(None)` when a segment of `kind` attaches and detaches cleanly, `Ok(Some(why))`
/// when it does not, `Err` when the connection broke.
fn try_attach<C: Connection>(conn: &C, kind: Kind) -> Result<Option<Error>, Error> {
    let attempt = Segment::new(conn, 1, kind, Access::ReadOnly).and_then(Segment::close);
    match attempt {
        Ok(()) => Ok(None),
        Err(e) if e.is_connection_lost() => Err(e),
        Err(e) => Ok(Some(e)),
    }
}
