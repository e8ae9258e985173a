//! TigerVNC's `Xvnc`: `-displayfd`, no authentication and no RFB port at all (nothing
//! listens beyond the X socket), optionally a BGR root visual. Depths 8 and 30 make it
//! exit at start.

use super::{program, Builder, Display, DisplayPipe, Launch, StartError, Supports};

const SUPPORTS: Supports = Supports {
    depths: &[16, 24],
    shm_off: true,
    tcp: true,
    private_ipc: true,
    bgr: true,
    present_off: true,
    fake_fps: false,
};

pub(super) fn launch(c: &Builder) -> Result<Launch, StartError> {
    c.check(&SUPPORTS)?;
    let mut cmd = program(c, "Xvnc");
    let pipe = DisplayPipe::add_to(&mut cmd)?;
    cmd.args(["-SecurityTypes", "None", "-rfbport", "-1", "-noreset"])
        .arg("-geometry")
        .arg(format!("{}x{}", c.width, c.height))
        .arg("-depth")
        .arg(c.depth.to_string());
    if c.bgr {
        cmd.args(["-pixelformat", "bgr888"]);
    }
    c.common_args(&mut cmd);
    Ok(Launch {
        command: cmd,
        display: Display::Pipe(pipe),
        host: None,
    })
}
