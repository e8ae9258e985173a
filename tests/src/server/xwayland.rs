//! Xwayland, rootless, under `weston --backend=headless-backend.so --xwayland`, with a
//! fresh 0700 `XDG_RUNTIME_DIR`. Weston picks the X display itself and starts Xwayland
//! on the first connection: the display is the one whose lock file names weston's pid.
//! Weston hands Xwayland no options of ours, so only the size is ours to choose.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command};

use super::{Builder, Display, Launch, StartError, Supports};

const SUPPORTS: Supports = Supports {
    depths: &[24],
    shm_off: false,
    tcp: false,
    private_ipc: false,
    bgr: false,
    present_off: false,
    fake_fps: false,
};

pub(super) fn launch(c: &Builder, dir: &Path) -> Result<Launch, StartError> {
    c.check(&SUPPORTS)?;
    let runtime = dir.join("runtime");
    std::fs::create_dir_all(&runtime)?;
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700))?;
    let mut cmd = Command::new("weston");
    cmd.args([
        "--backend=headless-backend.so",
        "--xwayland",
        "--idle-time=0",
    ])
    .arg("--socket=xbs-wayland")
    .arg(format!("--width={}", c.width))
    .arg(format!("--height={}", c.height))
    .env("XDG_RUNTIME_DIR", &runtime)
    .env_remove("WAYLAND_DISPLAY")
    .env_remove("DISPLAY");
    Ok(Launch {
        command: cmd,
        display: Display::Find(display_of),
        host: None,
    })
}

/// The display whose lock file (`/tmp/.X<N>-lock`) names `weston`'s pid.
fn display_of(weston: &Child) -> Option<u32> {
    let pid = weston.id().to_string();
    std::fs::read_dir("/tmp").ok()?.find_map(|entry| {
        let name = entry.ok()?.file_name().into_string().ok()?;
        let n = name
            .strip_prefix(".X")?
            .strip_suffix("-lock")?
            .parse()
            .ok()?;
        let owner = std::fs::read_to_string(format!("/tmp/{name}")).ok()?;
        (owner.trim() == pid).then_some(n)
    })
}

/// The pid of the Xwayland that `weston` started, if it runs.
pub(super) fn server_pid(weston: u32) -> Option<u32> {
    super::processes()
        .find(|p| p.ppid == weston && p.comm == "Xwayland")
        .map(|p| p.pid)
}
