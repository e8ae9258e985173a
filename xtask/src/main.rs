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

/// Installs Debian's `xvfb` package when `Xvfb` is not on `PATH`, and `libxcb1` (loaded
/// at run time by the tests on x11rb's `XCBConnection`) when it is missing.
fn ensure_xvfb() -> Result<(), String> {
    if on_path("Xvfb") && has_libxcb() {
        return Ok(());
    }
    eprintln!("xtask: Xvfb or libxcb is missing; installing Debian's xvfb and libxcb1");
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
        return Err("Xvfb is missing and this user cannot install it: \
                    run `apt-get install xvfb` as root"
            .into());
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
    apt(&[
        "install",
        "-y",
        "-q",
        "--no-install-recommends",
        "xvfb",
        "xauth",
        "libxcb1",
    ])?;
    if on_path("Xvfb") && has_libxcb() {
        Ok(())
    } else {
        Err("installed xvfb and libxcb1 but Xvfb or libxcb.so.1 is still missing".into())
    }
}

/// Whether the dynamic linker knows `libxcb.so.1`.
fn has_libxcb() -> bool {
    Command::new("ldconfig")
        .arg("-p")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("libxcb.so.1"))
        .unwrap_or(false)
        || [
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu",
            "/usr/lib",
        ]
        .iter()
        .any(|d| std::path::Path::new(d).join("libxcb.so.1").exists())
}

fn cargo(args: &[&str], rest: &[String]) -> Result<(), String> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(Command::new(cargo).args(args).args(rest))
}
