//! Real X servers for tests, the demo and the benchmark: Xvfb (the default), Xorg with
//! the dummy video driver, Xwayland under a headless weston, TigerVNC's Xvnc, and
//! Xephyr nested in an Xvfb of its own. One file a kind turns a [`Builder`] into the
//! command that starts it; this file starts, watches and stops them all the same way.
//!
//! Every server runs in its own process group, is asked to die with its parent thread
//! (`PR_SET_PDEATHSIG`), and is killed with its whole group and reaped when the
//! [`XServer`] is dropped, also while a test panics. This process is a child subreaper,
//! so what a server starts (weston's Xwayland) is reaped here too: nothing is left
//! behind.

mod xephyr;
mod xorg;
mod xvfb;
mod xvnc;
mod xwayland;

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;
use x11rb::rust_connection::RustConnection;

/// How long a server may take to start before the harness gives up.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The X servers the harness can start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServerKind {
    /// `Xvfb`: a framebuffer in memory. The default.
    Xvfb,
    /// `Xorg` with the dummy video driver (runs as root).
    Xorg,
    /// `Xwayland`, rootless, under a headless `weston`.
    Xwayland,
    /// TigerVNC's `Xvnc`, its RFB port closed.
    Xvnc,
    /// `Xephyr`, nested in an Xvfb of its own.
    Xephyr,
}

impl ServerKind {
    /// Every kind, the default first.
    pub const ALL: [ServerKind; 5] = [
        ServerKind::Xvfb,
        ServerKind::Xorg,
        ServerKind::Xwayland,
        ServerKind::Xvnc,
        ServerKind::Xephyr,
    ];

    /// The name `XBS_TEST_SERVER` and `--server` use: `xvfb`, `xorg`, ...
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Xvfb => "xvfb",
            ServerKind::Xorg => "xorg",
            ServerKind::Xwayland => "xwayland",
            ServerKind::Xvnc => "xvnc",
            ServerKind::Xephyr => "xephyr",
        }
    }

    /// Parses a [`ServerKind::name`].
    pub fn from_name(name: &str) -> Option<ServerKind> {
        ServerKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The kind `XBS_TEST_SERVER` names, else Xvfb. An unknown name panics, so that a
    /// misspelt matrix never passes on the wrong server.
    pub fn from_env() -> ServerKind {
        match std::env::var("XBS_TEST_SERVER") {
            Ok(name) if !name.is_empty() => ServerKind::from_name(&name).unwrap_or_else(|| {
                panic!("XBS_TEST_SERVER={name:?} is not one of xvfb, xorg, xwayland, xvnc, xephyr")
            }),
            _ => ServerKind::Xvfb,
        }
    }

    /// The programs it needs on `PATH`.
    fn programs(self) -> &'static [&'static str] {
        match self {
            ServerKind::Xvfb => &["Xvfb"],
            ServerKind::Xorg => &["Xorg"],
            ServerKind::Xwayland => &["weston", "Xwayland"],
            ServerKind::Xvnc => &["Xvnc"],
            ServerKind::Xephyr => &["Xephyr", "Xvfb"],
        }
    }
}

impl fmt::Display for ServerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a server could not be started.
#[derive(Debug)]
pub enum StartError {
    /// The server's program is not installed (`cargo xtask test` installs it).
    NotInstalled(&'static str),
    /// This configuration cannot run here, or this kind of server cannot take one of
    /// the options asked for; tests skip it, printing the reason.
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
            StartError::NotInstalled(program) => write!(
                f,
                "{program} is not installed (run `cargo xtask test`, which installs it)"
            ),
            StartError::Unsupported(why) => write!(f, "not supported here: {why}"),
            StartError::Io(e) => write!(f, "starting the X server: {e}"),
            StartError::Failed { what, log } => write!(f, "the X server {what}; its log:\n{log}"),
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
    kind: ServerKind,
    width: u16,
    height: u16,
    depth: u8,
    shm: bool,
    tcp: bool,
    private_ipc: bool,
    bgr: bool,
    present: bool,
    fake_fps: Option<u32>,
}

impl Default for Builder {
    /// 1280×1024, depth 24, MIT-SHM on, local socket only, on the kind
    /// `XBS_TEST_SERVER` names (Xvfb unless set).
    fn default() -> Self {
        Builder {
            kind: ServerKind::from_env(),
            width: 1280,
            height: 1024,
            depth: 24,
            shm: true,
            tcp: false,
            private_ipc: false,
            bgr: false,
            present: true,
            fake_fps: None,
        }
    }
}

impl Builder {
    /// Which server (default: `XBS_TEST_SERVER`, else Xvfb).
    pub fn kind(mut self, kind: ServerKind) -> Self {
        self.kind = kind;
        self
    }

    /// Screen size in pixels (default 1280×1024).
    pub fn size(mut self, width: u16, height: u16) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    /// Root depth: 24 (default, with a 32-bit ARGB visual beside it), 16, 30, 8, ...
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

    /// A root visual with blue in the low byte (Xvnc's `-pixelformat bgr888`).
    pub fn bgr(mut self) -> Self {
        self.bgr = true;
        self
    }

    /// Start the server without the Present extension (`-extension Present`).
    pub fn without_present(mut self) -> Self {
        self.present = false;
        self
    }

    /// Xvfb's fake vblank rate (`-fakescreenfps N`): the rate of its Present clock.
    pub fn fake_screen_fps(mut self, fps: u32) -> Self {
        self.fake_fps = Some(fps);
        self
    }

    /// The kind of server this builds.
    pub fn server_kind(&self) -> ServerKind {
        self.kind
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(self) -> Result<XServer, StartError> {
        XServer::start_with(self)
    }

    /// An option this kind of server cannot take, as the typed error.
    fn refuse(&self, option: &str) -> StartError {
        StartError::Unsupported(format!("{} cannot be started with {option}", self.kind))
    }

    /// Refuses the options this kind of server cannot take.
    fn check(&self, supports: &Supports) -> Result<(), StartError> {
        if !supports.depths.contains(&self.depth) {
            return Err(self.refuse(&format!("depth {}", self.depth)));
        }
        let refused = [
            (!self.shm && !supports.shm_off, "MIT-SHM off"),
            (self.tcp && !supports.tcp, "TCP"),
            (
                self.private_ipc && !supports.private_ipc,
                "a private IPC namespace",
            ),
            (self.bgr && !supports.bgr, "a BGR visual"),
            (!self.present && !supports.present_off, "Present off"),
            (
                self.fake_fps.is_some() && !supports.fake_fps,
                "-fakescreenfps",
            ),
        ];
        match refused.into_iter().find(|(asked, _)| *asked) {
            Some((_, option)) => Err(self.refuse(option)),
            None => Ok(()),
        }
    }

    /// The X-server arguments every Xorg-based kind takes the same way: listening,
    /// MIT-SHM off.
    fn common_args(&self, cmd: &mut Command) {
        if self.tcp {
            // Host-based access control would refuse 127.0.0.1 without an auth file.
            cmd.args(["-listen", "tcp", "-ac"]);
        } else {
            cmd.args(["-nolisten", "tcp"]);
        }
        if !self.shm {
            cmd.args(["-extension", "MIT-SHM"]);
        }
        if !self.present {
            cmd.args(["-extension", "Present"]);
        }
    }
}

/// The options a kind of server can take.
struct Supports {
    depths: &'static [u8],
    shm_off: bool,
    tcp: bool,
    private_ipc: bool,
    bgr: bool,
    present_off: bool,
    fake_fps: bool,
}

/// What a kind's launcher starts: the command, and how the display is learnt.
struct Launch {
    command: Command,
    /// How the display number is learnt: from `-displayfd`, or by `find` once the
    /// process runs (weston picks it and says so in a lock file).
    display: Display,
    /// A server this one runs inside (Xephyr's Xvfb).
    host: Option<XServer>,
}

enum Display {
    Pipe(DisplayPipe),
    Find(fn(&Child) -> Option<u32>),
}

/// The pipe of `-displayfd`: the server writes its display number to `write`.
struct DisplayPipe {
    read: OwnedFd,
    write: OwnedFd,
}

impl DisplayPipe {
    /// A pipe, and `-displayfd N` on `cmd` with its write end.
    fn add_to(cmd: &mut Command) -> Result<DisplayPipe, StartError> {
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| StartError::Io(e.into()))?;
        cmd.arg("-displayfd").arg(write.as_raw_fd().to_string());
        Ok(DisplayPipe { read, write })
    }
}

/// A running X server; killed with its process group and reaped on drop.
pub struct XServer {
    child: Option<Child>,
    display: u32,
    config: Builder,
    /// Logs, configuration files and runtime directories of this server.
    dir: PathBuf,
    /// The server this one runs inside, dropped after it.
    host: Option<Box<XServer>>,
    /// A connection held open for the server's life (Xwayland quits when its last
    /// client goes, and weston would start a fresh one).
    keepalive: Option<RustConnection>,
}

impl fmt::Debug for XServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XServer")
            .field("display", &self.display_name())
            .field("config", &self.config)
            .finish()
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|p| p.join(program).is_file()))
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

/// The command that runs `program`, in a private IPC namespace if asked for.
fn program(config: &Builder, program: &str) -> Command {
    if config.private_ipc {
        let mut c = Command::new("unshare");
        c.args(["--ipc", program]);
        c
    } else {
        Command::new(program)
    }
}

fn tail(path: &Path) -> String {
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

fn next_serial() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    SERIAL.fetch_add(1, Ordering::Relaxed)
}

/// Makes this process the reaper of what its servers start (weston's Xwayland), once.
fn become_subreaper() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = nix::sys::prctl::set_child_subreaper(true);
    });
}

/// Spawns `cmd` in a process group of its own, its output to `log`, dying with this
/// thread, keeping `keep` (a `-displayfd` pipe) open across exec.
fn spawn(cmd: &mut Command, log: &Path, keep: Option<RawFd>) -> io::Result<Child> {
    let out = File::create(log)?;
    cmd.stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .process_group(0);
    // SAFETY: between fork and exec only async-signal-safe calls run: fcntl to let
    // the display pipe survive exec, and prctl so the server dies with this thread.
    unsafe {
        cmd.pre_exec(move || {
            if let Some(fd) = keep {
                use nix::fcntl::{fcntl, FcntlArg, FdFlag};
                fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty()))?;
            }
            let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
            Ok(())
        });
    }
    cmd.spawn()
}

impl XServer {
    /// A builder for a server other than the default one.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Starts a default server: 1280×1024, depth 24, MIT-SHM on, local socket only,
    /// of the kind `XBS_TEST_SERVER` names (Xvfb unless set).
    pub fn start() -> Result<XServer, StartError> {
        Builder::default().start()
    }

    fn start_with(config: Builder) -> Result<XServer, StartError> {
        if let Some(missing) = config.kind.programs().iter().find(|p| !on_path(p)) {
            return Err(StartError::NotInstalled(missing));
        }
        if config.private_ipc {
            unshare_permitted().map_err(StartError::Unsupported)?;
        }
        become_subreaper();
        let dir = std::env::temp_dir().join(format!(
            "xbs-{}-{}-{}",
            config.kind,
            std::process::id(),
            next_serial()
        ));
        std::fs::create_dir_all(&dir)?;
        let launch = match config.kind {
            ServerKind::Xvfb => xvfb::launch(&config),
            ServerKind::Xorg => xorg::launch(&config, &dir),
            ServerKind::Xwayland => xwayland::launch(&config, &dir),
            ServerKind::Xvnc => xvnc::launch(&config),
            ServerKind::Xephyr => xephyr::launch(&config),
        };
        let launch = match launch {
            Ok(l) => l,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        let Launch {
            mut command,
            display,
            host,
        } = launch;
        let keep = match &display {
            Display::Pipe(p) => Some(p.write.as_raw_fd()),
            Display::Find(_) => None,
        };
        let child = match spawn(&mut command, &dir.join("server.log"), keep) {
            Ok(child) => child,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e.into());
            }
        };
        let mut server = XServer {
            child: Some(child),
            display: 0,
            config,
            dir,
            host: host.map(Box::new),
            keepalive: None,
        };
        server.display = match display {
            Display::Pipe(DisplayPipe { read, write }) => {
                // Only the server may hold the write end, so its exit ends the read.
                drop(write);
                server.read_display(read)?
            }
            Display::Find(find) => server.poll_display(find)?,
        };
        server.wait_until_accepting()?;
        if server.config.kind == ServerKind::Xwayland {
            server.keepalive = server.connect().ok().map(|(c, _)| c);
        }
        Ok(server)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    fn failed(&self, what: impl Into<String>) -> StartError {
        StartError::Failed {
            what: what.into(),
            log: tail(&self.log_path()),
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

    /// Waits for `find` to learn the display from the running process.
    fn poll_display(&mut self, find: fn(&Child) -> Option<u32>) -> Result<u32, StartError> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(self.failed(format!("exited ({status}) before listening")));
                }
            }
            if let Some(d) = self.child.as_ref().and_then(find) {
                return Ok(d);
            }
            if Instant::now() > deadline {
                return Err(self.failed("did not open a display within 20 s"));
            }
            std::thread::sleep(Duration::from_millis(20));
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

    /// The kind of server.
    pub fn kind(&self) -> ServerKind {
        self.config.kind
    }

    /// Connects a new client with x11rb's pure-Rust connection.
    pub fn connect(&self) -> Result<(RustConnection, usize), x11rb::errors::ConnectError> {
        x11rb::connect(Some(&self.display_name()))
    }

    /// The last 4,000 bytes of the server's log (weston's too, for Xwayland): what to
    /// print when the server went away in a test.
    pub fn log_tail(&self) -> String {
        tail(&self.log_path())
    }

    /// The X server's process id (for tests that stop it mid-flight): the server
    /// itself, also where a compositor started it (weston's Xwayland).
    pub fn pid(&self) -> Option<u32> {
        let child = self.child.as_ref()?;
        match self.config.kind {
            ServerKind::Xwayland => xwayland::server_pid(child.id()),
            _ => Some(child.id()),
        }
    }

    /// CPU time (user and system) the server has used so far: the X server, and the
    /// compositor it runs under (weston, for Xwayland). For the bench: the server's
    /// share of a frame's cost, which wall time on the client does not show.
    pub fn cpu_time(&self) -> std::time::Duration {
        let mut pids: Vec<u32> = self.child.iter().map(Child::id).collect();
        if self.config.kind == ServerKind::Xwayland {
            pids.extend(self.pid());
        }
        pids.into_iter().map(process_cpu_time).sum()
    }

    /// Runs every thread of every process of the server's group (the X server, and
    /// weston and its Xwayland and clients where there is a compositor) on `cpus`
    /// only, as `taskset` would: for the bench, which places the app and the server
    /// on one CPU or on two rather than wherever the scheduler puts them (weston's
    /// Xwayland is running once `start` returns: the harness keeps a connection to
    /// it). Returns the threads placed.
    ///
    /// # Errors
    /// `sched_setaffinity`'s: a CPU the machine does not have, for one.
    pub fn pin(&self, cpus: &[usize]) -> std::io::Result<usize> {
        let Some(group) = self.child.as_ref().map(Child::id) else {
            return Ok(0);
        };
        let set = cpu_set(cpus)?;
        let mut placed = 0;
        let members: Vec<u32> = processes()
            .filter(|p| p.pgrp == group)
            .map(|p| p.pid)
            .collect();
        for pid in members {
            let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
                continue;
            };
            for task in tasks.flatten() {
                let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else {
                    continue;
                };
                match nix::sched::sched_setaffinity(Pid::from_raw(tid), &set) {
                    Ok(()) => placed += 1,
                    // A thread that ended meanwhile.
                    Err(Errno::ESRCH) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(placed)
    }

    /// Kills the server now (SIGKILL to its process group) and reaps it; connections to
    /// it break.
    pub fn kill(&mut self) {
        self.keepalive = None;
        if let Some(child) = self.child.take() {
            stop_group(child, Signal::SIGKILL);
        }
    }
}

/// A process, as `/proc/PID/stat` has it.
pub(crate) struct Process {
    pub(crate) pid: u32,
    pub(crate) comm: String,
    pub(crate) ppid: u32,
    pub(crate) pgrp: u32,
}

/// The processes running now.
pub(crate) fn processes() -> impl Iterator<Item = Process> {
    let entries = std::fs::read_dir("/proc").into_iter().flatten();
    entries.filter_map(|entry| {
        let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // pid (comm) state ppid pgrp ...; comm may hold ") ".
        let (head, rest) = stat.rsplit_once(") ")?;
        let (_, comm) = head.split_once(" (")?;
        let mut fields = rest.split_whitespace().skip(1);
        let ppid = fields.next()?.parse().ok()?;
        let pgrp = fields.next()?.parse().ok()?;
        Some(Process {
            pid,
            comm: comm.to_string(),
            ppid,
            pgrp,
        })
    })
}

/// The CPU set of `cpus`.
fn cpu_set(cpus: &[usize]) -> std::io::Result<nix::sched::CpuSet> {
    let mut set = nix::sched::CpuSet::new();
    for &cpu in cpus {
        set.set(cpu)?;
    }
    Ok(set)
}

/// Runs the calling thread (and the threads and processes it starts later) on `cpu`
/// only: the bench's app side of a placement.
///
/// # Errors
/// `sched_setaffinity`'s: a CPU the machine does not have, for one.
pub fn pin_this_thread(cpu: usize) -> std::io::Result<()> {
    nix::sched::sched_setaffinity(Pid::from_raw(0), &cpu_set(&[cpu])?)?;
    Ok(())
}

/// The CPUs this thread may run on, in order.
///
/// # Errors
/// `sched_getaffinity`'s.
pub fn allowed_cpus() -> std::io::Result<Vec<usize>> {
    let allowed = nix::sched::sched_getaffinity(Pid::from_raw(0))?;
    let all = 0..nix::sched::CpuSet::count();
    Ok(all
        .filter(|&c| allowed.is_set(c).unwrap_or(false))
        .collect())
}

/// The CPU time of process `pid`, every thread of it, in nanoseconds
/// (`/proc/PID/task/*/schedstat`: its first field is the time run on a CPU).
pub fn process_cpu_time(pid: u32) -> Duration {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Duration::ZERO;
    };
    let ns: u64 = tasks
        .filter_map(|t| {
            let path = t.ok()?.path().join("schedstat");
            std::fs::read_to_string(path)
                .ok()?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum();
    Duration::from_nanos(ns)
}

/// Signals `child`'s process group and reaps every member (this process is a child
/// subreaper, so the group's orphans are ours to reap), insisting with SIGKILL after a
/// moment.
fn stop_group(mut child: Child, first: Signal) {
    let Ok(pgid) = i32::try_from(child.id()) else {
        let _ = child.kill();
        let _ = child.wait();
        return;
    };
    let group = Pid::from_raw(pgid);
    let _ = killpg(group, first);
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut insisted = first == Signal::SIGKILL;
    loop {
        match waitpid(Pid::from_raw(-pgid), Some(WaitPidFlag::WNOHANG)) {
            // No member left to reap.
            Err(Errno::ECHILD) => break,
            Ok(nix::sys::wait::WaitStatus::StillAlive) => {
                if !insisted && Instant::now() > deadline {
                    let _ = killpg(group, Signal::SIGKILL);
                    insisted = true;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(_) => {}
            Err(Errno::EINTR) => {}
            Err(_) => break,
        }
    }
    // Reaped through the group already; the handle's own wait would find nothing.
    drop(child);
}

impl Drop for XServer {
    fn drop(&mut self) {
        self.keepalive = None;
        if let Some(child) = self.child.take() {
            // Ask politely, so the server removes its socket; insist after a moment.
            stop_group(child, Signal::SIGTERM);
        }
        // The host (Xephyr's Xvfb) goes after the nested server.
        self.host = None;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
