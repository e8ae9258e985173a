//! Command-line arguments of the demo.

use std::path::PathBuf;

/// What the user asked for.
pub struct Args {
    pub headless: bool,
    pub frames: u32,
    pub screenshot: Option<PathBuf>,
}

impl Args {
    pub fn parse(args: impl Iterator<Item = String>) -> Result<Self, String> {
        let no_display = std::env::var_os("DISPLAY").is_none_or(|d| d.is_empty());
        let mut out = Args {
            headless: no_display,
            frames: 300,
            screenshot: None,
        };
        let mut args = args.peekable();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--headless" => out.headless = true,
                "--frames" => {
                    let n = args.next().ok_or("--frames needs a number")?;
                    out.frames = n
                        .parse()
                        .map_err(|_| format!("--frames: not a number: {n}"))?;
                }
                "--screenshot" => {
                    out.screenshot = Some(args.next().ok_or("--screenshot needs a file")?.into())
                }
                "-h" | "--help" => {
                    return Err(
                        "usage: xbs-demo [--headless] [--frames N] [--screenshot FILE.png]".into(),
                    )
                }
                other => return Err(format!("unknown argument {other:?} (try --help)")),
            }
        }
        if out.headless && out.screenshot.is_none() {
            out.screenshot = Some("xbs-demo.png".into());
        }
        Ok(out)
    }
}
