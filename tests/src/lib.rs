//! The X server harness: real `Xvfb` servers for tests, the demo and the benchmark.
//!
//! [`XServer::builder`] starts one `Xvfb` with `-displayfd`, so the server itself picks a
//! free display number and tells us when it is listening; nothing depends on the
//! developer's `$DISPLAY`. The server is killed and reaped when the [`XServer`] is
//! dropped, also while a test panics, and it is asked to die with its parent thread
//! (`PR_SET_PDEATHSIG`) in case the whole process is killed first.
//!
//! Configurations: screen size and depth, MIT-SHM off, listening on TCP (connect
//! through `127.0.0.1`), and a private IPC namespace (`unshare --ipc`, where the server
//! cannot see the client's SysV segments).
//!
//! ```no_run
//! let server = xbs_tests::XServer::builder().size(640, 480).start()?;
//! let (conn, screen) = server.connect()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod alloc_count;

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use x11rb::rust_connection::RustConnection;

/// How long a server may take to start before the harness gives up.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Why a server could not be started.
#[derive(Debug)]
pub enum StartError {
    /// `Xvfb` is not installed (`cargo xtask test` installs it).
    NotInstalled,
    /// This configuration cannot run on this machine; tests skip it, printing the reason.
    Unsupported(String),
    /// Starting or talking to the process failed.
    Io(io::Error),
    /// The server did not report a display in time, or exited first.
    Failed {
        /// What happened.
        what: String,
        /// The end of the server's log.
        log: String,
    },
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::NotInstalled => {
                write!(
                    f,
                    "Xvfb is not installed (run `cargo xtask test`, or apt-get install xvfb)"
                )
            }
            StartError::Unsupported(why) => write!(f, "not supported here: {why}"),
            StartError::Io(e) => write!(f, "starting Xvfb: {e}"),
            StartError::Failed { what, log } => write!(f, "Xvfb {what}; its log:\n{log}"),
        }
    }
}

impl std::error::Error for StartError {}

impl From<io::Error> for StartError {
    fn from(e: io::Error) -> Self {
        StartError::Io(e)
    }
}

/// Configures and starts an [`XServer`].
#[derive(Clone, Debug)]
pub struct Builder {
    width: u16,
    height: u16,
    depth: u8,
    shm: bool,
    tcp: bool,
    private_ipc: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            width: 1280,
            height: 1024,
            depth: 24,
            shm: true,
            tcp: false,
            private_ipc: false,
        }
    }
}

impl Builder {
    /// Screen size in pixels (default 1280×1024).
    pub fn size(mut self, width: u16, height: u16) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    /// Root depth: 24 (default, with a 32-bit ARGB visual beside it), 16, 8, ...
    pub fn depth(mut self, depth: u8) -> Self {
        self.depth = depth;
        self
    }

    /// Start the server with MIT-SHM disabled (`-extension MIT-SHM`).
    pub fn without_shm(mut self) -> Self {
        self.shm = false;
        self
    }

    /// Listen on TCP too; [`XServer::connect`] then goes through `127.0.0.1`, where the
    /// server cannot receive file descriptors nor check SysV credentials.
    pub fn tcp(mut self) -> Self {
        self.tcp = true;
        self
    }

    /// Start the server in its own IPC namespace (`unshare --ipc`): it cannot see the
    /// client's SysV segments, so `ShmAttach` fails with BadAccess, while fd passing
    /// works. Fails with [`StartError::Unsupported`] where `unshare` is not permitted.
    pub fn private_ipc(mut self) -> Self {
        self.private_ipc = true;
        self
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(self) -> Result<XServer, StartError> {
        XServer::start_with(self)
    }
}

/// A running `Xvfb`; killed and reaped on drop.
pub struct XServer {
    child: Option<Child>,
    display: u32,
    config: Builder,
    log_path: PathBuf,
}

impl fmt::Debug for XServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XServer")
            .field("display", &self.display_name())
            .field("config", &self.config)
            .finish()
    }
}

fn xvfb_installed() -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|p| p.join("Xvfb").is_file()))
        .unwrap_or(false)
}

/// Whether `unshare --ipc` may be used here (needs CAP_SYS_ADMIN or user namespaces).
fn unshare_permitted() -> Result<(), String> {
    static PERMITTED: OnceLock<Result<(), String>> = OnceLock::new();
    PERMITTED
        .get_or_init(|| {
            match Command::new("unshare")
                .args(["--ipc", "true"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .output()
            {
                Ok(out) if out.status.success() => Ok(()),
                Ok(out) => Err(format!(
                    "`unshare --ipc` is not permitted: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )),
                Err(e) => Err(format!("`unshare` cannot run: {e}")),
            }
        })
        .clone()
}

fn tail(path: &PathBuf) -> String {
    let mut s = String::new();
    if let Ok(mut f) = File::open(path) {
        let _ = f.read_to_string(&mut s);
    }
    let start = s.len().saturating_sub(4000);
    let start = (start..s.len())
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0);
    s[start..].to_string()
}

impl XServer {
    /// A builder for a server other than the default one.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Starts a default server: 1280×1024, depth 24, MIT-SHM on, local socket only.
    pub fn start() -> Result<XServer, StartError> {
        Builder::default().start()
    }

    fn start_with(config: Builder) -> Result<XServer, StartError> {
        if !xvfb_installed() {
            return Err(StartError::NotInstalled);
        }
        if config.private_ipc {
            unshare_permitted().map_err(StartError::Unsupported)?;
        }
        let (read_end, write_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| StartError::Io(e.into()))?;
        let log_path = std::env::temp_dir().join(format!(
            "xbs-xvfb-{}-{}.log",
            std::process::id(),
            next_serial()
        ));
        let log = File::create(&log_path)?;

        let mut cmd = if config.private_ipc {
            let mut c = Command::new("unshare");
            c.args(["--ipc", "Xvfb"]);
            c
        } else {
            Command::new("Xvfb")
        };
        cmd.arg("-displayfd")
            .arg(write_end.as_raw_fd().to_string())
            .arg("-screen")
            .arg("0")
            .arg(format!(
                "{}x{}x{}",
                config.width, config.height, config.depth
            ))
            .arg("-noreset")
            .arg("-nolock");
        if config.tcp {
            // Host-based access control would refuse 127.0.0.1 without an auth file.
            cmd.args(["-listen", "tcp", "-ac"]);
        } else {
            cmd.args(["-nolisten", "tcp"]);
        }
        if !config.shm {
            cmd.args(["-extension", "MIT-SHM"]);
        }
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
        let inherited = write_end.as_raw_fd();
        // SAFETY: between fork and exec only async-signal-safe calls run: fcntl to let
        // the display pipe survive exec, and prctl so the server dies with this thread.
        unsafe {
            cmd.pre_exec(move || {
                if libc_fcntl_clear_cloexec(inherited) {
                    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
                    Ok(())
                } else {
                    Err(io::Error::last_os_error())
                }
            });
        }
        let child = cmd.spawn()?;
        drop(write_end);
        let mut server = XServer {
            child: Some(child),
            display: 0,
            config,
            log_path,
        };
        server.display = server.read_display(read_end)?;
        server.wait_until_accepting()?;
        Ok(server)
    }

    fn failed(&self, what: impl Into<String>) -> StartError {
        StartError::Failed {
            what: what.into(),
            log: tail(&self.log_path),
        }
    }

    /// Reads the display number the server writes to `-displayfd` once it listens.
    fn read_display(&mut self, pipe: OwnedFd) -> Result<u32, StartError> {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut text = Vec::new();
        let mut file = File::from(pipe);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.failed("did not report a display within 20 s"));
            }
            let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
            let mut fds = [PollFd::new(file.as_fd(), PollFlags::POLLIN)];
            nix::poll::poll(&mut fds, PollTimeout::from(ms))
                .map_err(|e| StartError::Io(e.into()))?;
            let mut buf = [0u8; 32];
            let n = match file.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            if n == 0 {
                return Err(self.failed("exited before reporting a display"));
            }
            text.extend_from_slice(&buf[..n]);
            if text.contains(&b'\n') {
                let line = String::from_utf8_lossy(&text);
                return line
                    .trim()
                    .parse()
                    .map_err(|_| self.failed(format!("reported a display of {line:?}")));
            }
        }
    }

    fn wait_until_accepting(&self) -> Result<(), StartError> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match self.connect() {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() > deadline => {
                    return Err(self.failed(format!("does not accept connections: {e}")))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// The display name to connect to: `:N`, or `127.0.0.1:N` for a TCP server.
    pub fn display_name(&self) -> String {
        if self.config.tcp {
            format!("127.0.0.1:{}", self.display)
        } else {
            format!(":{}", self.display)
        }
    }

    /// The display number the server chose.
    pub fn display_number(&self) -> u32 {
        self.display
    }

    /// How the server was configured.
    pub fn config(&self) -> &Builder {
        &self.config
    }

    /// Connects a new client with x11rb's pure-Rust connection.
    pub fn connect(&self) -> Result<(RustConnection, usize), x11rb::errors::ConnectError> {
        x11rb::connect(Some(&self.display_name()))
    }

    /// The server's process id (for tests that kill it mid-flight).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the server now (SIGKILL) and reaps it; connections to it break.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for XServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Ask politely, so the server removes its socket; insist after a moment.
            if let Ok(pid) = i32::try_from(child.id()) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            }
            let deadline = Instant::now() + Duration::from_secs(3);
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(10))
                    }
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                }
            }
        }
        let _ = std::fs::remove_file(&self.log_path);
    }
}

fn next_serial() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    SERIAL.fetch_add(1, Ordering::Relaxed)
}

/// Clears `FD_CLOEXEC` on `fd`; async-signal-safe (a bare fcntl).
fn libc_fcntl_clear_cloexec(fd: i32) -> bool {
    use nix::fcntl::{fcntl, FcntlArg, FdFlag};
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty())).is_ok()
}

/// Starts a server for a test, or prints why this configuration cannot run here and
/// returns `None` (only [`StartError::Unsupported`] skips; anything else panics, so a
/// broken harness never passes silently).
pub fn start_or_skip(builder: Builder) -> Option<XServer> {
    match builder.start() {
        Ok(server) => Some(server),
        Err(StartError::Unsupported(why)) => {
            eprintln!("skipped: {why}");
            None
        }
        Err(e) => panic!("cannot start the test X server: {e}"),
    }
}

/// A mapped `width` × `height` window at the origin of the first screen, with the
/// screen's visual and Expose and structure events selected; waits until the server
/// has mapped it. For doc examples and tests that need a plain window.
pub fn window(
    conn: &impl x11rb::connection::Connection,
    width: u16,
    height: u16,
) -> Result<u32, Box<dyn std::error::Error>> {
    use x11rb::protocol::xproto::{ConnectionExt as _, CreateWindowAux, EventMask, WindowClass};
    let s = &conn.setup().roots[0];
    let window = conn.generate_id()?;
    let aux = CreateWindowAux::new().event_mask(EventMask::EXPOSURE | EventMask::STRUCTURE_NOTIFY);
    conn.create_window(
        s.root_depth,
        window,
        s.root,
        0,
        0,
        width,
        height,
        0,
        WindowClass::INPUT_OUTPUT,
        s.root_visual,
        &aux,
    )?
    .check()?;
    conn.map_window(window)?;
    conn.get_input_focus()?.reply()?;
    Ok(window)
}

pub mod leaks;
pub mod proxy;
