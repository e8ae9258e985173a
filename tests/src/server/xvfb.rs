//! `Xvfb`: `-displayfd`, a screen of the size and depth asked for.

use super::{program, Builder, Display, DisplayPipe, Launch, StartError, Supports};

const SUPPORTS: Supports = Supports {
    depths: &[8, 15, 16, 24, 30],
    shm_off: true,
    tcp: true,
    private_ipc: true,
    bgr: false,
    present_off: true,
    fake_fps: true,
};

pub(super) fn launch(c: &Builder) -> Result<Launch, StartError> {
    c.check(&SUPPORTS)?;
    let mut cmd = program(c, "Xvfb");
    let pipe = DisplayPipe::add_to(&mut cmd)?;
    cmd.arg("-screen")
        .arg("0")
        .arg(format!("{}x{}x{}", c.width, c.height, c.depth))
        .args(["-noreset", "-nolock"]);
    if let Some(fps) = c.fake_fps {
        cmd.arg("-fakescreenfps").arg(fps.to_string());
    }
    c.common_args(&mut cmd);
    Ok(Launch {
        command: cmd,
        display: Display::Pipe(pipe),
        host: None,
    })
}
