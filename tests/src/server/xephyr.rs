//! `Xephyr`, nested in an Xvfb of its own (its window is the nested screen). Asked for
//! depth 30 it quietly gives 24, so 30 is refused.

use super::{program, Builder, Display, DisplayPipe, Launch, ServerKind, StartError, Supports};

const SUPPORTS: Supports = Supports {
    depths: &[8, 16, 24],
    shm_off: true,
    tcp: true,
    private_ipc: true,
    bgr: false,
    present_off: true,
    fake_fps: false,
};

pub(super) fn launch(c: &Builder) -> Result<Launch, StartError> {
    c.check(&SUPPORTS)?;
    // The host screen holds Xephyr's window; its depth is Xephyr's own business.
    let host = Builder::default()
        .kind(ServerKind::Xvfb)
        .size(c.width, c.height)
        .start()?;
    let mut cmd = program(c, "Xephyr");
    let pipe = DisplayPipe::add_to(&mut cmd)?;
    cmd.arg("-screen")
        .arg(format!("{}x{}x{}", c.width, c.height, c.depth))
        .arg("-noreset")
        .env("DISPLAY", host.display_name());
    c.common_args(&mut cmd);
    Ok(Launch {
        command: cmd,
        display: Display::Pipe(pipe),
        host: Some(host),
    })
}
