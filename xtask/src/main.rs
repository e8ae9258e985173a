//! `cargo xtask`: the project's own commands, so the README can promise two that work
//! on a fresh Debian machine with Rust.
//!
//! - `cargo xtask demo [ARGS]`: runs the demo (release build). Without `$DISPLAY` the
//!   demo starts a private Xvfb, so Xvfb is installed first if it is missing.
//! - `cargo xtask test [ARGS]`: installs what the tests need (Xvfb) when it is missing,
//!   then runs the whole test suite (`cargo test --workspace`, doc tests included).

use std::env;
use std::process::{exit, Command};

fn main() {
    let mut args = env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    let result = match task.as_str() {
        "test" => ensure_xvfb().and_then(|()| cargo(&["test", "--workspace"], &rest)),
        "demo" => {
            let headless = env::var_os("DISPLAY").is_none_or(|d| d.is_empty())
                || rest.iter().any(|a| a == "--headless" || a == "bench");
            let ready = if headless { ensure_xvfb() } else { Ok(()) };
            ready.and_then(|()| cargo(&["run", "--release", "-p", "xbs-demo", "--"], &rest))
        }
        _ => {
            eprintln!("usage: cargo xtask test [cargo test args] | demo [demo args]");
            exit(2);
        }
    };
    if let Err(e) = result {
        eprintln!("xtask {task}: {e}");
        exit(1);
    }
}

fn on_path(program: &str) -> bool {
    env::var_os("PATH")
        .map(|paths| env::split_paths(&paths).any(|p| p.join(program).is_file()))
        .unwrap_or(false)
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let status = cmd.status().map_err(|e| format!("{cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed: {status}"))
    }
}

/// Shared libraries the tests load at run time, and the Debian packages holding them:
/// libxcb for x11rb's `XCBConnection`; Xlib and friends for winit (the example that
/// paints into a winit window).
const RUNTIME_LIBS: &[(&str, &str)] = &[
    ("libxcb.so.1", "libxcb1"),
    ("libX11.so.6", "libx11-6"),
    ("libX11-xcb.so.1", "libx11-xcb1"),
    ("libXcursor.so.1", "libxcursor1"),
    ("libXrandr.so.2", "libxrandr2"),
    ("libXi.so.6", "libxi6"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
];

/// Installs Debian's `xvfb` package when `Xvfb` is not on `PATH`, and the run-time
/// libraries of [`RUNTIME_LIBS`] that are missing.
fn ensure_xvfb() -> Result<(), String> {
    let known = linker_cache();
    let missing: Vec<&str> = RUNTIME_LIBS
        .iter()
        .filter(|(lib, _)| !known.contains(lib))
        .map(|&(_, pkg)| pkg)
        .collect();
    if on_path("Xvfb") && missing.is_empty() {
        return Ok(());
    }
    eprintln!(
        "xtask: installing what the tests need: xvfb {}",
        missing.join(" ")
    );
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let prefix: &[&str] = if is_root {
        &[]
    } else if on_path("sudo") {
        &["sudo"]
    } else {
        return Err(format!(
            "Xvfb or libraries are missing and this user cannot install them: \
             run `apt-get install xvfb {}` as root",
            missing.join(" ")
        ));
    };
    let apt = |args: &[&str]| {
        let mut all: Vec<&str> = prefix.to_vec();
        all.push("apt-get");
        all.extend_from_slice(args);
        let mut cmd = Command::new(all[0]);
        cmd.args(&all[1..]).env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut cmd)
    };
    apt(&["update", "-q"])?;
    let mut args = vec![
        "install",
        "-y",
        "-q",
        "--no-install-recommends",
        "xvfb",
        "xauth",
    ];
    args.extend(RUNTIME_LIBS.iter().map(|&(_, pkg)| pkg));
    apt(&args)?;
    if on_path("Xvfb") {
        Ok(())
    } else {
        Err("installed xvfb but Xvfb is still not on PATH".into())
    }
}

/// What the dynamic linker's cache lists (`ldconfig -p`), to find missing libraries.
fn linker_cache() -> String {
    ["ldconfig", "/sbin/ldconfig"]
        .iter()
        .find_map(|cmd| Command::new(cmd).arg("-p").output().ok())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn cargo(args: &[&str], rest: &[String]) -> Result<(), String> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(Command::new(cargo).args(args).args(rest))
}
