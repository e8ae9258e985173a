//! The demo binary as a newcomer runs it: headless with a screenshot, and the bench end
//! to end with its JSON and SVG (a functional check; no timing is asserted).

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xbs-{name}-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the demo without `$DISPLAY`, asserts it succeeded, returns its stdout.
fn demo<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(args: I) -> String {
    demo_with(Command::new(env!("CARGO_BIN_EXE_xbs-demo")).args(args))
}

/// [`demo`] with `command` as given (its environment, say).
fn demo_with(command: &mut Command) -> String {
    let out = command.env_remove("DISPLAY").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn headless_run_writes_a_screenshot_of_the_scene() {
    let dir = scratch("demo");
    let shot = dir.join("shot.png");
    let stdout = demo([
        OsStr::new("--frames"),
        "60".as_ref(),
        "--screenshot".as_ref(),
        shot.as_os_str(),
    ]);
    assert!(stdout.contains("60 frames"), "{stdout}");
    assert!(stdout.contains("transport shm-fd"), "{stdout}");
    // A real PNG of the window: 640×400, and not one flat colour.
    let decoder = png::Decoder::new(std::fs::File::open(&shot).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (640, 400));
    let first = &buf[..3];
    assert!(
        buf.chunks_exact(3).any(|p| p != first),
        "the screenshot is blank"
    );
    // The menu, opened once on the way: its own window and store, read back with an
    // item highlighted, then closed.
    assert!(
        stdout.contains("menu: opened, \"Show damage\" highlighted, chosen, closed"),
        "{stdout}"
    );
    let decoder = png::Decoder::new(std::fs::File::open(dir.join("shot.menu.png")).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut menu = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut menu).unwrap();
    assert_eq!((info.width, info.height), (140, 76));
    let count = |rgb: [u8; 3]| menu.chunks_exact(3).filter(|p| *p == rgb).count();
    // The highlighted row (136x18, less its text) and the others' background.
    let (hover, background) = (count([0x46, 0x82, 0xb4]), count([0x30, 0x34, 0x40]));
    assert!(hover > 1500 && hover < 136 * 18, "{hover} highlight pixels");
    assert!(background > 4000, "{background} background pixels");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bench_runs_end_to_end_and_writes_json_and_svg() {
    let dir = scratch("bench");
    let (json, svg) = (dir.join("bench.json"), dir.join("bench.svg"));
    let args = ["bench", "--quick", "--only", "wire-damage", "--json"];
    let mut args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    args.extend([json.as_os_str(), OsStr::new("--svg"), svg.as_os_str()]);
    // Its temporary files (the servers', the Qt lane's) go where it can be watched.
    let tmp = dir.join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    demo_with(
        Command::new(env!("CARGO_BIN_EXE_xbs-demo"))
            .args(args)
            .env("TMPDIR", &tmp),
    );
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "the bench left {left:?} behind");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert!(doc["memcpy_gbps"].as_f64().unwrap() > 0.0);
    // By default the app and the server each on a CPU of their own, where there are two.
    let two = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
    assert_eq!(doc["placement"], if two { "two" } else { "one" });
    let results = doc["results"].as_array().unwrap();
    // Both paint kinds by default.
    for paint in ["pattern", "fill"] {
        for contender in ["xbs", "softbuffer", "memcpy"] {
            let r = results
                .iter()
                .find(|r| r["contender"] == contender && r["paint"] == paint)
                .unwrap_or_else(|| panic!("no {contender} {paint} in {doc}"));
            assert_eq!(r["scenario"], "wire-damage-16x64-1080p");
            assert_eq!(r["status"], "ok", "{r}");
            assert!(r["ms_per_frame"].as_f64().unwrap() > 0.0);
        }
        // Qt's backing store where Qt 6 is installed; else skipped, saying why.
        let qt = results
            .iter()
            .find(|r| r["contender"] == "qt" && r["paint"] == paint)
            .unwrap_or_else(|| panic!("no qt {paint} in {doc}"));
        let status = qt["status"].as_str().unwrap();
        assert!(
            status == "ok" || status.starts_with("skipped: Qt 6 is not installed"),
            "{qt}"
        );
    }
    let xbs = results.iter().find(|r| r["contender"] == "xbs").unwrap();
    assert_eq!(xbs["transport"], "put-image");
    // 16 rects of 64×64 (coalescing may add a little), never the whole 1920×1080 frame.
    let bytes = xbs["bytes_per_frame"].as_u64().unwrap();
    assert!(
        (262_144..300_000).contains(&bytes),
        "{bytes} bytes: only the damage is sent"
    );
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("wire-damage-16x64-1080p"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Whether the PNG at `path` is a `w`×`h` picture of more than one colour.
fn a_real_screenshot(path: &std::path::Path, w: u32, h: u32) -> bool {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let first = &buf[..3];
    (info.width, info.height) == (w, h) && buf.chunks_exact(3).any(|p| p != first)
}

#[test]
fn help_prints_the_usage_and_exits_zero() {
    let stdout = demo(["--help"]);
    assert!(
        stdout.contains("usage: xbs-demo") && stdout.contains("--server"),
        "{stdout}"
    );
}

#[test]
fn the_demo_runs_headless_on_every_server_kind() {
    let dir = scratch("servers");
    for kind in ["xorg", "xwayland", "xvnc", "xephyr"] {
        let shot = dir.join(format!("{kind}.png"));
        let out = Command::new(env!("CARGO_BIN_EXE_xbs-demo"))
            .env_remove("DISPLAY")
            .args(["--server", kind, "--frames", "40", "--screenshot"])
            .arg(&shot)
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        if stderr.contains("not supported here") {
            xbs_tests::skip(&format!("{kind}: {}", stderr.trim()));
            continue;
        }
        assert!(out.status.success(), "{kind}: {stdout}\n{stderr}");
        assert!(stdout.contains("40 frames"), "{kind}: {stdout}");
        assert!(a_real_screenshot(&shot, 640, 400), "{kind}: the screenshot");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn frames_ends_a_run_on_a_display_too() {
    let server = xbs_tests::XServer::start().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xbs-demo"))
        .env("DISPLAY", server.display_name())
        .args(["--frames", "25"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("25 frames"), "{stdout}");
}
