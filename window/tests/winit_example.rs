//! Runs `examples/winit_paint` (built by `cargo test` beside this test) against a
//! private Xvfb: winit makes the window, xbs paints it, and the example reads a pixel
//! back from the server before it exits.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn winit_window_painted_by_xbs() {
    // target/<profile>/deps/<this test> → target/<profile>/examples/winit_paint
    let exe = std::env::current_exe().unwrap();
    let example: PathBuf = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join("examples").join("winit_paint"))
        .unwrap();
    assert!(example.exists(), "{} was not built", example.display());
    let server = xbs_tests::XServer::builder()
        .size(800, 600)
        .start()
        .unwrap();
    let out = Command::new(&example)
        .env("DISPLAY", server.display_name())
        .env("XBS_EXAMPLE_FRAMES", "20")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "winit_paint failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("20 frames painted and read back"),
        "{stdout}"
    );
}
