//! Runs `examples/winit_paint` (built by `cargo test` beside this test) against a
//! private Xvfb: winit makes the window, xbs paints it on winit's own connection, and
//! the example reads pixels back from the server before it exits. Its memory stays
//! flat however long it runs: nothing the store asks for piles up on a connection
//! whose events winit reads.

use std::path::PathBuf;
use std::process::Command;

/// Runs the example for `frames` frames; its peak RSS in KiB.
fn run(server: &xbs_tests::XServer, frames: u32) -> u64 {
    // target/<profile>/deps/<this test> → target/<profile>/examples/winit_paint
    let exe = std::env::current_exe().unwrap();
    let example: PathBuf = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join("examples").join("winit_paint"))
        .unwrap();
    assert!(example.exists(), "{} was not built", example.display());
    let out = Command::new(&example)
        .env("DISPLAY", server.display_name())
        .env("XBS_EXAMPLE_FRAMES", frames.to_string())
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
        stdout.contains(&format!("{frames} frames painted and read back")),
        "{stdout}"
    );
    assert!(stdout.contains("on winit's own connection"), "{stdout}");
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("winit_paint: peak RSS "))
        .and_then(|l| l.strip_suffix(" KiB"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS in {stdout}"))
}

#[test]
fn winit_window_painted_by_xbs_on_winits_connection_in_flat_memory() {
    let server = xbs_tests::XServer::builder()
        .size(800, 600)
        .start()
        .unwrap();
    let short = run(&server, 1_000);
    let long = run(&server, 40_000);
    println!("peak RSS: {short} KiB after 1,000 frames, {long} KiB after 40,000");
    assert!(
        long <= short + 256,
        "memory grew: {short} KiB after 1,000 frames, {long} KiB after 40,000"
    );
}
