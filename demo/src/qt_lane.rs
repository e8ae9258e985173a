//! The bench's Qt lane: `demo/qt-lane/qt_lane.cpp`, each scenario's frames painted
//! through `QWidget::repaint` and Qt's own xcb backing store. Built here once with
//! `g++` against Debian's Qt 6 (`qt6-base-dev`; `cargo xtask demo bench` installs it),
//! run as a child on the bench's server and told a round at a time over a pipe. Where
//! Qt cannot be had the lane is skipped, saying why.

use std::error::Error;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use xbs::Rect;
use xbs_tests::XServer;

use crate::bench::{damage, storm_size, Paint, Runner, Work};

/// What a lane that could not start says, to be shown as skipped, not failed.
pub(crate) const SKIPPED: &str = "skipped: ";

const SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/qt-lane/qt_lane.cpp");

/// The built lane, next to this program (rebuilt when the source is newer), or why
/// there is none.
fn binary() -> Result<PathBuf, String> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT.get_or_init(build).clone()
}

fn build() -> Result<PathBuf, String> {
    let missing = || {
        format!(
            "{SKIPPED}Qt 6 is not installed (apt-get install qt6-base-dev g++ pkg-config, \
             or run the bench through `cargo xtask demo bench`)"
        )
    };
    let flags = Command::new("pkg-config")
        .args(["--cflags", "--libs", "Qt6Widgets", "xcb"])
        .output()
        .map_err(|_| missing())?;
    if !flags.status.success() {
        return Err(missing());
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = exe.with_file_name("qt-lane");
    let modified = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let source = modified(SOURCE.as_ref()).ok_or(format!("{SKIPPED}no source at {SOURCE}"))?;
    if modified(&out).is_some_and(|built| built >= source) {
        return Ok(out);
    }
    let flags = String::from_utf8_lossy(&flags.stdout).into_owned();
    let tmp = out.with_extension("tmp");
    let built = Command::new("g++")
        .args(["-O3", "-std=c++17", "-fPIC", SOURCE, "-o"])
        .arg(&tmp)
        .args(flags.split_whitespace())
        .output()
        .map_err(|_| missing())?;
    if !built.status.success() {
        return Err(format!(
            "building the Qt lane failed: {}",
            String::from_utf8_lossy(&built.stderr)
        ));
    }
    std::fs::rename(&tmp, &out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Qt's backing store on its own window and connection, in a child process.
pub(crate) struct QtRunner {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    size: (u32, u32),
    wire: bool,
    log: PathBuf,
    runtime: PathBuf,
    rects: Vec<Rect>,
}

impl QtRunner {
    /// The lane on `server`, `size` big, with MIT-SHM unless `wire`.
    pub(crate) fn new(server: &XServer, size: (u32, u32), wire: bool) -> Result<Self, String> {
        let binary = binary()?;
        let log = std::env::temp_dir().join(format!("xbs-qt-lane-{}.log", std::process::id()));
        // Qt wants an XDG_RUNTIME_DIR of its own, private (0700); it goes with the lane.
        let runtime = std::env::temp_dir().join(format!("xbs-qt-runtime-{}", std::process::id()));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&runtime)
            .map_err(|e| e.to_string())?;
        let mut command = Command::new(binary);
        command
            .args([size.0.to_string(), size.1.to_string()])
            .env("DISPLAY", server.display_name())
            .env("XDG_RUNTIME_DIR", &runtime)
            .env_remove("WAYLAND_DISPLAY")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).map_err(|e| e.to_string())?);
        if wire {
            // Qt's xcb plugin: no MIT-SHM, its backing store puts images on the wire.
            command.env("QT_XCB_NO_MITSHM", "1");
        }
        let mut child = command.spawn().map_err(|e| e.to_string())?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("no pipes to the Qt lane".into());
        };
        let mut runner = QtRunner {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            size,
            wire,
            log,
            runtime,
            rects: Vec::new(),
        };
        let ready = runner.answer().map_err(|e| e.to_string())?;
        if !ready.starts_with("ready ") {
            return Err(format!("the Qt lane said {ready:?}"));
        }
        Ok(runner)
    }

    /// The next line the lane writes, or what its log says when it wrote none.
    fn answer(&mut self) -> Result<String, Box<dyn Error>> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: String = log.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
            return Err(format!("the Qt lane exited: {tail}").into());
        }
        Ok(line.trim_end().to_string())
    }

    fn tell(&mut self, line: &str) -> Result<String, Box<dyn Error>> {
        writeln!(self.stdin, "{line}")?;
        self.stdin.flush()?;
        self.answer()
    }

    /// Bytes the frames `first..first + count` of `work` damage.
    fn bytes(&mut self, work: Work, first: u32, count: u32) -> u64 {
        (first..first + count)
            .map(|n| {
                let size = match work {
                    Work::ResizeStorm => storm_size(n, self.size),
                    _ => self.size,
                };
                damage(work, n, size, &mut self.rects);
                self.rects.iter().map(|r| r.area() * 4).sum::<u64>()
            })
            .sum()
    }
}

impl Runner for QtRunner {
    fn name(&self) -> String {
        "qt".into()
    }

    fn transport(&self) -> String {
        if self.wire { "put-image" } else { "shm" }.into()
    }

    fn frame(&mut self, _: Work, _: Paint, _: u32) -> Result<u64, Box<dyn Error>> {
        Err("the Qt lane runs whole rounds".into())
    }

    fn round(
        &mut self,
        work: Work,
        paint: Paint,
        first: u32,
        count: u32,
    ) -> Option<Result<u64, Box<dyn Error>>> {
        let name = match work {
            Work::Full => "full",
            Work::Damage16 => "damage16",
            Work::Scroll => "scroll",
            Work::Expose => "expose",
            Work::ResizeStorm => "storm",
        };
        let told = format!("round {name} {} {first} {count}", paint.name());
        Some(self.tell(&told).and_then(|done| {
            let v: Vec<u32> = done
                .strip_prefix("done ")
                .ok_or_else(|| format!("the Qt lane said {done:?}"))?
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()?;
            let &[x, y, pixel] = v.as_slice() else {
                return Err(format!("the Qt lane said {done:?}").into());
            };
            // Proof that the frames reached the server: the last one's pixel, read
            // back from it (Expose repaints nothing: any pixel will do).
            let n = first + count - 1;
            let painted = crate::paint::expected(paint == Paint::Fill, x, y, n);
            if work != Work::Expose && pixel != painted {
                return Err(format!(
                    "frame {n} did not reach the server: ({x}, {y}) shows {pixel:06x}, \
                     Qt painted {painted:06x}"
                )
                .into());
            }
            Ok(self.bytes(work, first, count))
        }))
    }

    fn sync(&mut self) -> Result<(), Box<dyn Error>> {
        // Every round ends with a round trip.
        Ok(())
    }

    fn raise(&mut self) -> Result<(), Box<dyn Error>> {
        match self.tell("raise")?.as_str() {
            "ok" => Ok(()),
            other => Err(format!("the Qt lane said {other:?}").into()),
        }
    }

    fn cpu_time(&self) -> Option<Duration> {
        Some(xbs_tests::process_cpu_time(self.child.id()))
    }
}

impl Drop for QtRunner {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let quit = (0..100).any(|_| {
            let done = matches!(self.child.try_wait(), Ok(Some(_)));
            if !done {
                std::thread::sleep(Duration::from_millis(10));
            }
            done
        });
        if !quit {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // The log stays where the lane did not quit as told: it says why.
        if quit {
            let _ = std::fs::remove_file(&self.log);
        }
        let _ = std::fs::remove_dir_all(&self.runtime);
    }
}
