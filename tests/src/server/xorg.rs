//! `Xorg` with the dummy video driver: a generated `xorg.conf` with `Driver "dummy"`,
//! `VideoRam 256000`, a modeline for the size asked for and `DefaultDepth` the depth.
//! Xorg needs root (CI runs as root); input devices are not added.

use std::path::Path;

use super::{program, Builder, Display, DisplayPipe, Launch, StartError, Supports};

const SUPPORTS: Supports = Supports {
    depths: &[8, 16, 24, 30],
    shm_off: true,
    tcp: true,
    private_ipc: true,
    bgr: false,
    present_off: true,
    fake_fps: false,
};

/// A modeline of `w`×`h` with ordinary (not reduced) blanking, at 60 Hz or as fast as
/// the dummy driver's 300 MHz clock allows (the mode only sizes the screen; nothing is
/// shown).
fn modeline(w: u16, h: u16) -> String {
    let (w, h) = (u32::from(w), u32::from(h));
    let (hfront, hsync) = ((w / 20).max(8), (w / 10).max(8));
    let htotal = w + hfront + hsync + (w * 3 / 20).max(8);
    let vtotal = h + 3 + 5 + (h / 30).max(3);
    let refresh = (290e6 / (f64::from(htotal) * f64::from(vtotal))).min(60.0);
    let clock = f64::from(htotal) * f64::from(vtotal) * refresh / 1e6;
    format!(
        "Modeline \"{w}x{h}\" {clock:.2} {w} {} {} {htotal} {h} {} {} {vtotal}",
        w + hfront,
        w + hfront + hsync,
        h + 3,
        h + 8
    )
}

fn config(c: &Builder) -> String {
    let (w, h, d) = (c.width, c.height, c.depth);
    format!(
        r#"Section "ServerFlags"
    Option "AutoAddDevices" "false"
    Option "AutoAddGPU" "false"
    Option "DontVTSwitch" "true"
EndSection
Section "Device"
    Identifier "dummy"
    Driver "dummy"
    VideoRam 256000
EndSection
Section "Monitor"
    Identifier "monitor"
    HorizSync 5.0 - 2000.0
    VertRefresh 5.0 - 200.0
    {mode}
EndSection
Section "Screen"
    Identifier "screen"
    Device "dummy"
    Monitor "monitor"
    DefaultDepth {d}
    SubSection "Display"
        Depth {d}
        Modes "{w}x{h}"
        Virtual {w} {h}
    EndSubSection
EndSection
"#,
        mode = modeline(w, h)
    )
}

pub(super) fn launch(c: &Builder, dir: &Path) -> Result<Launch, StartError> {
    c.check(&SUPPORTS)?;
    if !nix::unistd::geteuid().is_root() {
        return Err(StartError::Unsupported(
            "Xorg with the dummy driver needs root (CI runs as root)".into(),
        ));
    }
    let conf = dir.join("xorg.conf");
    std::fs::write(&conf, config(c))?;
    let mut cmd = program(c, "Xorg");
    let pipe = DisplayPipe::add_to(&mut cmd)?;
    cmd.arg("-config")
        .arg(&conf)
        .arg("-logfile")
        .arg(dir.join("xorg.log"))
        .args(["-noreset", "-novtswitch", "-sharevts"]);
    c.common_args(&mut cmd);
    Ok(Launch {
        command: cmd,
        display: Display::Pipe(pipe),
        host: None,
    })
}
