//! `cargo xtask`: the project's own commands, so the README can promise two that work
//! on a fresh Debian machine with Rust.
//!
//! - `cargo xtask demo [ARGS]`: runs the demo (release build). Without `$DISPLAY` the
//!   demo starts a private Xvfb, so Xvfb is installed first if it is missing.
//! - `cargo xtask test [ARGS]`: installs what the tests need (Xvfb, the other X servers,
//!   valgrind) when it is missing, then runs the whole test suite on Xvfb (`cargo test
//!   --workspace`, doc tests included), the memory-checker pass below, and the
//!   server matrix: the suites of [`MATRIX_TESTS`] once on each of Xorg, Xwayland, Xvnc
//!   and Xephyr (`XBS_TEST_SERVER`). With ARGS (a test filter, say) it runs only `cargo
//!   test --workspace ARGS`. `cargo xtask test --server NAME` runs the whole suite on
//!   that server instead.
//! - `cargo xtask compat`: writes `docs/compatibility.md`, what works on each X server
//!   the harness starts (`xbs-demo compat`), from one run.
//! - `cargo xtask valgrind`: the integration suites of xbs-shm and xbs, and the unit
//!   tests of both, under `valgrind --error-exitcode=1` (invalid accesses and definite
//!   leaks fail), in a CI-sized form: a shorter soak and fewer proptest cases.

use std::env;
use std::path::Path;
use std::process::{exit, Command};
use std::time::Instant;

/// The integration tests of xbs-shm and xbs (in `tests/tests/`) the valgrind pass runs.
const VALGRIND_TESTS: &[&str] = &[
    "shm_segments",
    "shm_faults",
    "store",
    "store_faults",
    "store_inputs",
    "server_loss",
    "soak",
];

/// The integration suites the server matrix runs on each server but Xvfb.
const MATRIX_TESTS: &[&str] = &[
    "store",
    "soak",
    "window",
    "store_inputs",
    "server_loss",
    "late_events",
    "display",
    "frame_clock",
    "present",
];

/// The servers of the matrix beside Xvfb, as `XBS_TEST_SERVER` names them.
const OTHER_SERVERS: &[&str] = &["xorg", "xwayland", "xvnc", "xephyr"];

fn main() {
    let mut args = env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    let result = match task.as_str() {
        "test" => match rest.as_slice() {
            [flag, server, more @ ..] if flag == "--server" => ensure_servers()
                .and_then(|()| check_server(server))
                .and_then(|()| {
                    cargo_on(
                        Some(server),
                        &["test", "--workspace", "--no-fail-fast"],
                        more,
                    )
                }),
            _ => ensure_servers()
                .and_then(|()| cargo(&["test", "--workspace"], &rest))
                .and_then(|()| {
                    if rest.is_empty() {
                        valgrind().and_then(|()| matrix())
                    } else {
                        Ok(())
                    }
                }),
        },
        "valgrind" => ensure_xvfb().and_then(|()| valgrind()),
        // The server x feature table of docs/compatibility.md, from one run.
        "compat" => ensure_servers().and_then(|()| {
            let md = ["compat", "--md", "docs/compatibility.md"].map(String::from);
            cargo(&["run", "--release", "-p", "xbs-demo", "--"], &md)
        }),
        "demo" => {
            // `cargo xtask demo -- ARGS`, by cargo habit, means the same as without `--`.
            let rest = match rest.first() {
                Some(first) if first == "--" => &rest[1..],
                _ => &rest[..],
            };
            let headless = env::var_os("DISPLAY").is_none_or(|d| d.is_empty())
                || rest.iter().any(|a| a == "--headless" || a == "bench");
            let ready = if rest.iter().any(|a| a == "--server") {
                ensure_servers()
            } else if headless {
                ensure_xvfb()
            } else {
                Ok(())
            };
            if rest.iter().any(|a| a == "bench") {
                // The bench's Qt lane (`demo/qt-lane`); without it the lane is skipped.
                if let Err(e) = ensure_qt() {
                    eprintln!("xtask: no Qt lane in the bench: {e}");
                }
            }
            ready.and_then(|()| cargo(&["run", "--release", "-p", "xbs-demo", "--"], rest))
        }
        _ => {
            eprintln!(
                "usage: cargo xtask test [--server xvfb|xorg|xwayland|xvnc|xephyr] [cargo test args] \
                 | valgrind | compat | demo [demo args]"
            );
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

/// The X servers of the matrix: a program each needs, and the Debian packages.
const SERVER_PACKAGES: &[(&str, &[&str])] = &[
    ("Xorg", &["xserver-xorg-core", "xserver-xorg-video-dummy"]),
    ("weston", &["weston"]),
    ("Xwayland", &["xwayland"]),
    ("Xvnc", &["tigervnc-standalone-server"]),
    ("Xephyr", &["xserver-xephyr"]),
];

/// [`ensure_xvfb`], and the other servers of the matrix.
fn ensure_servers() -> Result<(), String> {
    ensure_xvfb()?;
    let missing: Vec<&str> = SERVER_PACKAGES
        .iter()
        .filter(|(program, _)| !on_path(program))
        .flat_map(|(_, packages)| packages.iter().copied())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    install(&missing)
}

/// What the bench's Qt lane builds with: Qt 6's widgets (Debian's qt6-base-dev, which
/// brings libxcb's headers), g++ and pkg-config.
fn ensure_qt() -> Result<(), String> {
    let found = Command::new("pkg-config")
        .args(["--exists", "Qt6Widgets", "xcb"])
        .status()
        .is_ok_and(|s| s.success());
    if found && on_path("g++") {
        return Ok(());
    }
    install(&["qt6-base-dev", "g++", "pkg-config"])
}

fn check_server(name: &str) -> Result<(), String> {
    if name == "xvfb" || OTHER_SERVERS.contains(&name) {
        Ok(())
    } else {
        Err(format!(
            "--server {name}: one of xvfb, {}",
            OTHER_SERVERS.join(", ")
        ))
    }
}

/// The suites of [`MATRIX_TESTS`] once on each of [`OTHER_SERVERS`]: every server,
/// even after one fails, and then the servers that failed.
fn matrix() -> Result<(), String> {
    let mut args = vec!["test", "--no-fail-fast", "-p", "xbs-tests"];
    for t in MATRIX_TESTS {
        args.extend(["--test", t]);
    }
    let mut failed = Vec::new();
    for server in OTHER_SERVERS {
        let started = Instant::now();
        eprintln!("xtask: the matrix on {server}");
        let outcome = match cargo_on(Some(server), &args, &[]) {
            Ok(()) => "passed",
            Err(e) => {
                failed.push(format!("{server}: {e}"));
                "FAILED"
            }
        };
        eprintln!(
            "xtask: the matrix on {server}: {outcome}, {:.0?}",
            started.elapsed()
        );
    }
    match failed.is_empty() {
        true => Ok(()),
        false => Err(format!("the matrix failed on {}", failed.join("; "))),
    }
}

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
    let mut packages = vec!["xvfb", "xauth"];
    packages.extend(missing);
    install(&packages)?;
    if on_path("Xvfb") {
        Ok(())
    } else {
        Err("installed xvfb but Xvfb is still not on PATH".into())
    }
}

/// Installs Debian `packages` with apt-get, as root or through sudo.
fn install(packages: &[&str]) -> Result<(), String> {
    eprintln!("xtask: installing {}", packages.join(" "));
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
            "these are missing and this user cannot install them: \
             run `apt-get install {}` as root",
            packages.join(" ")
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
    let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
    args.extend_from_slice(packages);
    apt(&args)
}

/// The valgrind pass: builds the test binaries, then runs each under memcheck.
fn valgrind() -> Result<(), String> {
    if !on_path("valgrind") {
        install(&["valgrind"])?;
    }
    let mut build = vec![
        "test",
        "--no-run",
        "--message-format=json",
        "-p",
        "xbs-tests",
    ];
    for t in VALGRIND_TESTS {
        build.extend(["--test", t]);
    }
    let mut binaries = test_binaries(&build)?;
    binaries.extend(test_binaries(&[
        "test",
        "--no-run",
        "--message-format=json",
        "-p",
        "xbs",
        "-p",
        "xbs-shm",
        "--lib",
    ])?);
    let root = env::current_dir().map_err(|e| e.to_string())?;
    for (binary, dir) in &binaries {
        let started = Instant::now();
        let name = Path::new(binary)
            .file_name()
            .unwrap_or_default()
            .to_string_lossy();
        eprintln!("xtask: valgrind {name}");
        run(Command::new("valgrind")
            .args([
                "-q",
                "--error-exitcode=1",
                "--leak-check=full",
                "--errors-for-leak-kinds=definite",
                "--show-leak-kinds=definite",
            ])
            .arg(binary)
            .current_dir(root.join(dir))
            // CI-sized: the soak and the proptests keep their shape, with fewer runs.
            .env("XBS_SOAK_OPS", "300")
            .env("PROPTEST_CASES", "32"))?;
        eprintln!("xtask: valgrind {name}: clean, {:.0?}", started.elapsed());
    }
    Ok(())
}

/// Builds with `cargo <args>` and returns each test executable with the directory of
/// its package (where cargo would run it).
fn test_binaries(args: &[&str]) -> Result<Vec<(String, String)>, String> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "building the test binaries failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let root = env::current_dir().map_err(|e| e.to_string())?;
    let mut found = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let (Some(exe), Some(manifest)) =
            (msg["executable"].as_str(), msg["manifest_path"].as_str())
        else {
            continue;
        };
        let dir = Path::new(manifest)
            .parent()
            .and_then(|d| d.strip_prefix(&root).ok())
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        found.push((exe.to_string(), dir));
    }
    Ok(found)
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
    cargo_on(None, args, rest)
}

/// `cargo <args> <rest>`, with the tests' X server `server` (`XBS_TEST_SERVER`).
fn cargo_on(server: Option<&str>, args: &[&str], rest: &[String]) -> Result<(), String> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(args).args(rest);
    if let Some(server) = server {
        cmd.env("XBS_TEST_SERVER", server);
    }
    run(&mut cmd)
}
