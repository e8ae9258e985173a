//! Runs `examples/tiny_skia` (built by `cargo test` beside this test) against a private
//! Xvfb, opaque and on an ARGB window: tiny-skia paints premultiplied RGBA, the store
//! (`Layout::Rgba`) converts the flushed rects, and the example reads known colours back
//! from the server (the red button stays red, the half-transparent background is
//! premultiplied) before it exits.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn a_tiny_skia_ui_shows_its_colours_opaque_and_transparent() {
    let exe = std::env::current_exe().unwrap();
    let example: PathBuf = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join("examples").join("tiny_skia"))
        .unwrap();
    assert!(example.exists(), "{} was not built", example.display());
    let server = xbs_tests::XServer::builder()
        .size(800, 600)
        .start()
        .unwrap();
    for (transparent, format) in [(false, "Rgbx8888"), (true, "Rgba8888")] {
        let mut cmd = Command::new(&example);
        cmd.env("DISPLAY", server.display_name())
            .env("XBS_EXAMPLE_FRAMES", "70");
        if transparent {
            cmd.env("XBS_EXAMPLE_TRANSPARENT", "1");
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "transparent={transparent}: {stdout}\n{stderr}"
        );
        assert!(stdout.contains(format), "{stdout}");
        assert!(
            stdout.contains("70 frames painted and read back"),
            "{stdout}"
        );
    }
}
