//! Command-line arguments of the demo.

use std::path::PathBuf;

use xbs_tests::ServerKind;

/// The usage line, for `--help`.
pub const USAGE: &str =
    "usage: xbs-demo [--display NAME | --headless | --server xvfb|xorg|xwayland|xvnc|xephyr] \
[--frames N] [--screenshot FILE.png] [--present vsync|immediate|off]
       xbs-demo bench [--help]

  --display NAME   the X display to open (default: $DISPLAY)
  --headless       start a private Xvfb (the default without $DISPLAY)
  --server KIND    start a private server of that kind (headless)
  --frames N       stop after N frames (headless: 300 unless given)
  --screenshot F   write the window to F when done (headless: xbs-demo.png)
  --present MODE   flushes through the Present extension at the vblank (vsync, the
                   default where the server can), at once (immediate), or not (off)";

/// What the user asked for.
pub struct Args {
    /// The private server to start, if any (headless).
    pub server: Option<ServerKind>,
    /// The display to open otherwise (`None`: `$DISPLAY`).
    pub display: Option<String>,
    /// Frames to run before stopping (`None`: until the window is closed).
    pub frames: Option<u32>,
    pub screenshot: Option<PathBuf>,
    /// How flushes reach the window.
    pub present: xbs::PresentMode,
}

/// What the command line asks for.
pub enum Parsed {
    Run(Args),
    Help,
}

impl Args {
    pub fn parse(args: impl Iterator<Item = String>) -> Result<Parsed, String> {
        let no_display = std::env::var_os("DISPLAY").is_none_or(|d| d.is_empty());
        let mut server = None;
        let mut display = None;
        let mut frames = None;
        let mut screenshot = None;
        let mut present = xbs::PresentMode::Vsync;
        let mut args = args.peekable();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--headless" => server = Some(server.unwrap_or(ServerKind::Xvfb)),
                "--server" => {
                    let name = args.next().ok_or("--server needs a kind")?;
                    server = Some(ServerKind::from_name(&name).ok_or_else(|| {
                        format!("--server {name}: one of xvfb, xorg, xwayland, xvnc, xephyr")
                    })?);
                }
                "--display" => display = Some(args.next().ok_or("--display needs a name")?),
                "--frames" => {
                    let n = args.next().ok_or("--frames needs a number")?;
                    frames = Some(
                        n.parse()
                            .map_err(|_| format!("--frames: not a number: {n}"))?,
                    );
                }
                "--screenshot" => {
                    screenshot = Some(args.next().ok_or("--screenshot needs a file")?.into())
                }
                "--present" => {
                    present = match args.next().as_deref() {
                        Some("vsync") => xbs::PresentMode::Vsync,
                        Some("immediate") => xbs::PresentMode::Immediate,
                        Some("off") => xbs::PresentMode::Off,
                        other => {
                            return Err(format!("--present {other:?}: vsync, immediate or off"))
                        }
                    }
                }
                "-h" | "--help" => return Ok(Parsed::Help),
                other => return Err(format!("unknown argument {other:?} (try --help)")),
            }
        }
        if server.is_some() && display.is_some() {
            return Err("--display and --server/--headless exclude each other".into());
        }
        if server.is_none() && display.is_none() && no_display {
            server = Some(ServerKind::Xvfb);
        }
        if server.is_some() {
            frames = frames.or(Some(300));
            screenshot = screenshot.or_else(|| Some("xbs-demo.png".into()));
        }
        Ok(Parsed::Run(Args {
            server,
            display,
            frames,
            screenshot,
            present,
        }))
    }
}
