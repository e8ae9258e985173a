//! `xbs-demo bench`: xbs against softbuffer 0.4 and the memcpy floor, on private X
//! servers (Xvfb by default; `--server` picks others, or all), every contender doing the
//! same paint work on the same server, interleaved in rounds so that machine noise hits
//! all alike; the median round is reported.

use std::error::Error;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConfigureWindowAux, ConnectionExt as _};
use x11rb::xcb_ffi::XCBConnection;
use xbs::{BackingStore, Options, Rect, Region, Transport};
use xbs_tests::{alloc_count, ServerKind, XServer};
use xbs_window::Window;

use crate::paint::{fill_rect, paint_rect, paint_row};

/// What the user asked of the bench.
#[derive(Debug, Default)]
pub struct BenchArgs {
    pub quick: bool,
    pub json: Option<PathBuf>,
    pub svg: Option<PathBuf>,
    /// Where to write the results as the README's Markdown table.
    pub markdown: Option<PathBuf>,
    /// Only the scenario of this name, or if none has it, those whose name contains it.
    pub filter: Option<String>,
    /// Only the contenders of these names (to profile one lane alone).
    pub contenders: Vec<String>,
    /// The servers to run on, in order (default: Xvfb).
    pub servers: Vec<ServerKind>,
    /// The paint kinds to run every painting scenario with (default: both).
    pub paints: Vec<Paint>,
    /// Which CPUs the app and the server run on (default: two of them, one each).
    pub place: Place,
}

/// Where the bench runs the app (every lane: this process, Qt's) and the server.
/// Placed, every lane of a row runs where the others do: left to the scheduler, one
/// lane's app shared the server's CPU and the next one's did not, and that, not the
/// library, decided their ratio (Qt's damage-16 frames took 0.041 ms in one run and
/// 0.097 in another, xbs's 0.070 and 0.064).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Place {
    /// Wherever the scheduler puts them: on two CPUs at once or taking turns on one,
    /// from one lane to the next (a lane inherits what the one before it left).
    Free,
    /// Everything on one CPU (the first this process may use), taking turns: no cache
    /// line moves between cores, and a frame costs what the app and the server spend
    /// on it together.
    One,
    /// The app on the first CPU this process may use, the server (and its
    /// compositor) on the second: every lane as a desktop runs an app beside its
    /// server.
    #[default]
    Two,
}

impl Place {
    pub fn name(self) -> &'static str {
        match self {
            Place::Free => "free",
            Place::One => "one",
            Place::Two => "two",
        }
    }
}

/// The CPUs the app and the server run on for `place` (`None`: wherever the scheduler
/// puts them): the first one or two this process may run on. With one CPU, `two` is
/// `one`.
fn cpus(place: Place) -> Result<Option<(usize, usize)>, Box<dyn Error>> {
    if place == Place::Free {
        return Ok(None);
    }
    let ours = xbs_tests::allowed_cpus()?;
    let app = *ours.first().ok_or("this process may run on no CPU")?;
    let server = match place {
        Place::Two => ours.get(1).copied().unwrap_or(app),
        _ => app,
    };
    Ok(Some((app, server)))
}

impl BenchArgs {
    pub fn parse(mut args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut out = BenchArgs::default();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => out.quick = true,
                "--json" => out.json = Some(args.next().ok_or("--json needs a file")?.into()),
                "--svg" => out.svg = Some(args.next().ok_or("--svg needs a file")?.into()),
                "--markdown" => {
                    out.markdown = Some(args.next().ok_or("--markdown needs a file")?.into())
                }
                "--only" => out.filter = Some(args.next().ok_or("--only needs a name")?),
                "--contender" => out
                    .contenders
                    .push(args.next().ok_or("--contender needs a name")?),
                "--server" => {
                    let name = args.next().ok_or("--server needs a kind")?;
                    match name.as_str() {
                        "all" => out.servers.extend(ServerKind::ALL),
                        _ => out
                            .servers
                            .push(ServerKind::from_name(&name).ok_or_else(|| {
                                format!(
                                    "--server {name}: xvfb, xorg, xwayland, xvnc, xephyr or all"
                                )
                            })?),
                    }
                }
                "--place" => {
                    out.place = match args.next().as_deref() {
                        Some("free") => Place::Free,
                        Some("one") => Place::One,
                        Some("two") => Place::Two,
                        other => return Err(format!("--place {other:?}: free, one or two")),
                    }
                }
                "--paint" => {
                    out.paints = match args.next().as_deref() {
                        Some("pattern") => vec![Paint::Pattern],
                        Some("fill") => vec![Paint::Fill],
                        Some("both") => vec![Paint::Pattern, Paint::Fill],
                        other => return Err(format!("--paint {other:?}: pattern, fill or both")),
                    }
                }
                "-h" | "--help" => {
                    println!(
                        "usage: xbs-demo bench [--quick] [--json FILE] [--svg FILE] [--markdown FILE] \
                         [--only SCENARIO] [--contender NAME]... \
                         [--server xvfb|xorg|xwayland|xvnc|xephyr|all]... \
                         [--paint pattern|fill|both] [--place free|one|two]"
                    );
                    std::process::exit(0);
                }
                other => return Err(format!("bench: unknown argument {other:?} (try --help)")),
            }
        }
        if out.servers.is_empty() {
            out.servers.push(ServerKind::Xvfb);
        }
        if out.paints.is_empty() {
            out.paints = vec![Paint::Pattern, Paint::Fill];
        }
        Ok(out)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Work {
    /// Repaint and flush the whole window.
    Full,
    /// 16 rects of 64×64 at moving places.
    Damage16,
    /// Scroll everything up 40 px, paint and flush the new strip.
    Scroll,
    /// The server loses the window's pixels; repair.
    Expose,
    /// Resize between 200×200 and the full size, paint and flush after each.
    ResizeStorm,
}

/// What a frame's paint does to its damage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Paint {
    /// A pattern that changes with the frame, written per pixel (as a rasteriser
    /// would): the paint costs about what the upload does.
    Pattern,
    /// Solid fills of the same rects (backgrounds, panels, selections: most of what a
    /// toolkit paints): the paint costs little, and the library's own costs show.
    Fill,
}

impl Paint {
    pub fn name(self) -> &'static str {
        match self {
            Paint::Pattern => "pattern",
            Paint::Fill => "fill",
        }
    }
}

/// Paints `r` of an image with `stride` bytes a row, for frame `n`.
pub(crate) fn paint(paint: Paint, px: &mut [u8], stride: usize, r: Rect, n: u32) {
    match paint {
        Paint::Pattern => paint_rect(px, stride, r, n),
        Paint::Fill => fill_rect(px, stride, r, n),
    }
}

struct Scenario {
    name: &'static str,
    wire: bool,
    size: (u32, u32),
    work: Work,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "full-1080p",
        wire: false,
        size: (1920, 1080),
        work: Work::Full,
    },
    Scenario {
        name: "damage-16x64-1080p",
        wire: false,
        size: (1920, 1080),
        work: Work::Damage16,
    },
    Scenario {
        name: "scroll-1080p",
        wire: false,
        size: (1920, 1080),
        work: Work::Scroll,
    },
    Scenario {
        name: "expose-1080p",
        wire: false,
        size: (1920, 1080),
        work: Work::Expose,
    },
    Scenario {
        name: "resize-storm",
        wire: false,
        size: (1920, 1080),
        work: Work::ResizeStorm,
    },
    Scenario {
        name: "wire-full-1080p",
        wire: true,
        size: (1920, 1080),
        work: Work::Full,
    },
    Scenario {
        name: "wire-damage-16x64-1080p",
        wire: true,
        size: (1920, 1080),
        work: Work::Damage16,
    },
    Scenario {
        name: "wire-full-2160p",
        wire: true,
        size: (3840, 2160),
        work: Work::Full,
    },
];

/// One measured result.
#[derive(Clone, Debug)]
pub struct Outcome {
    server: ServerKind,
    scenario: &'static str,
    /// The paint kind (none for Expose, which repairs without painting).
    paint: Option<Paint>,
    /// The core-to-core round trip measured just before the scenario ran (ns).
    trip_ns: f64,
    contender: String,
    transport: String,
    ms_per_frame: f64,
    /// The time a frame took in each round, in the order the rounds ran (the median
    /// of them is `ms_per_frame`).
    ms_rounds: Vec<f64>,
    /// CPU time the server (and its compositor) spent per frame, in ms.
    server_ms_per_frame: f64,
    /// CPU time the contender's own thread (the app and the library) spent per frame.
    client_ms_per_frame: f64,
    bytes_per_frame: u64,
    allocs_per_frame: f64,
    segments_alive: Option<usize>,
    /// What the store's switch-or-wait chooser settled on, for xbs's own lanes.
    prefers_waiting: Option<bool>,
    /// Whether its switching repaints cut out what they write (xbs's own lanes).
    repaints_cut: Option<bool>,
    /// Whether its small flushes go over the wire (xbs's own lanes).
    uploads_over_wire: Option<bool>,
    status: String,
}

/// The damage of frame `n` of `work` on a `w`×`h` window.
pub(crate) fn damage(work: Work, n: u32, (w, h): (u32, u32), out: &mut Vec<Rect>) {
    out.clear();
    match work {
        Work::Full | Work::Expose | Work::ResizeStorm => out.push(Rect::new(0, 0, w, h)),
        Work::Damage16 => {
            for i in 0..16u32 {
                let x = (i * 113 + n * 7) % (w - 64);
                let y = (i * 71 + n * 5) % (h - 64);
                out.push(Rect::new(x as i32, y as i32, 64, 64));
            }
        }
        Work::Scroll => out.push(Rect::new(0, h as i32 - 40, w, 40)),
    }
}

/// The size of resize-storm step `n`: alternating small and large, never repeating.
pub(crate) fn storm_size(n: u32, (w, h): (u32, u32)) -> (u32, u32) {
    if n % 2 == 0 {
        (200 + (n * 37) % 200, 200 + (n * 53) % 200)
    } else {
        (w - (n * 29) % 300, h - (n * 31) % 200)
    }
}

/// A contender running one scenario on its own window.
pub(crate) trait Runner {
    fn name(&self) -> String;
    fn transport(&self) -> String;
    /// One frame of `work`, painted as `paint` says; returns bytes the server had to
    /// take.
    fn frame(&mut self, work: Work, paint: Paint, n: u32) -> Result<u64, Box<dyn Error>>;
    /// Frames `first..first + count` at once, for a contender in another process told
    /// once a round (the Qt lane); `None`: it is driven a frame at a time.
    fn round(
        &mut self,
        _work: Work,
        _paint: Paint,
        _first: u32,
        _count: u32,
    ) -> Option<Result<u64, Box<dyn Error>>> {
        None
    }
    /// Waits until the server has done everything sent.
    fn sync(&mut self) -> Result<(), Box<dyn Error>>;
    /// Puts its window on top, so the server really draws it (the contenders' windows
    /// overlap; an obscured window would cost the server nothing).
    fn raise(&mut self) -> Result<(), Box<dyn Error>> {
        Ok(())
    }
    /// What the store says of itself, for xbs's lanes: the segments it holds, what
    /// its choosers settled on (the `segs` and `busy` columns).
    fn stats(&self) -> Option<xbs::Stats> {
        None
    }
    /// Allocations made inside the contender's own calls (the library's, not the
    /// app's), since it was made.
    fn allocs(&self) -> u64 {
        0
    }
    /// CPU time the contender has used, where it runs in a process of its own (else
    /// the bench's thread is measured).
    fn cpu_time(&self) -> Option<std::time::Duration> {
        None
    }
}

/// Runs `f`, adding the allocations it made to `count`.
fn counted<T>(count: &mut u64, f: impl FnOnce() -> T) -> T {
    let before = alloc_count::get();
    let out = f();
    *count += alloc_count::get() - before;
    out
}

pub(crate) fn make_window<C: Connection>(
    conn: Arc<C>,
    size: (u32, u32),
) -> Result<Window<C>, Box<dyn Error>> {
    // A window manager (weston's, on Xwayland) maps it when it likes: measure a
    // window that shows. Weston's can lose a window whose id a client that just
    // disconnected had used (a new connection gets the old one's id base, and weston
    // may read the old window's DestroyNotify after the new one's CreateNotify); a
    // window with a fresh id is then asked for.
    for _ in 0..3 {
        let window = Window::builder()
            .title("xbs bench")
            .size(size.0, size.1)
            .build(conn.clone(), 0)?;
        window.map()?;
        let deadline = Instant::now() + std::time::Duration::from_secs(3);
        while Instant::now() < deadline {
            let state = window
                .connection()
                .get_window_attributes(window.id())?
                .reply()?
                .map_state;
            if state == x11rb::protocol::xproto::MapState::VIEWABLE {
                return Ok(window);
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
    Err("the bench window was never mapped".into())
}

struct XbsRunner<C: Connection> {
    window: Window<C>,
    size: (u32, u32),
    rects: Vec<Rect>,
    region: Region,
    label: String,
    allocs: u64,
    /// `begin_paint` (keeps the region's pixels) instead of `begin_repaint`.
    keep: bool,
}

impl<C: Connection> XbsRunner<C> {
    fn new(
        conn: C,
        size: (u32, u32),
        options: Options,
        label: String,
    ) -> Result<Self, Box<dyn Error>> {
        let mut window = make_window(Arc::new(conn), size)?;
        window.attach_store(options)?;
        Ok(XbsRunner {
            window,
            size,
            rects: Vec::new(),
            region: Region::new(),
            keep: label.ends_with("-begin-paint"),
            label,
            allocs: 0,
        })
    }

    fn store(&mut self) -> &mut BackingStore<Arc<C>> {
        self.window.store_mut().expect("attached in new")
    }
}

impl<C: Connection> Runner for XbsRunner<C> {
    fn name(&self) -> String {
        self.label.clone()
    }

    fn transport(&self) -> String {
        self.window
            .store()
            .map_or("-".into(), |s| s.transport().name().into())
    }

    fn frame(&mut self, work: Work, paint: Paint, n: u32) -> Result<u64, Box<dyn Error>> {
        if work == Work::ResizeStorm {
            let (w, h) = storm_size(n, self.size);
            let window = &mut self.window;
            counted(&mut self.allocs, || window.set_size(w, h))?;
        }
        let size = self.store().size();
        let before = self.store().stats().bytes_uploaded;
        let mut rects = std::mem::take(&mut self.rects);
        damage(work, n, size, &mut rects);
        match work {
            Work::Expose => {
                let conn = self.window.connection().clone();
                conn.clear_area(false, self.window.id(), 0, 0, 0, 0)?;
                self.region = Region::from(rects[0]);
                let region = std::mem::take(&mut self.region);
                let store = self.window.store_mut().ok_or("no store")?;
                counted(&mut self.allocs, || store.expose(&region))?;
                self.region = region;
            }
            _ => {
                if work == Work::Scroll {
                    let all = Region::from(Rect::new(0, 0, size.0, size.1));
                    let store = self.window.store_mut().ok_or("no store")?;
                    self.region = counted(&mut self.allocs, || store.scroll(&all, 0, -40))?;
                } else if rects.len() == 1 {
                    self.region = Region::from(rects[0]);
                } else {
                    self.region = Region::from_rects(rects.iter().copied());
                }
                let region = std::mem::take(&mut self.region);
                let store = self.window.store_mut().ok_or("no store")?;
                {
                    // The paint below writes every pixel of the damage.
                    let keep = self.keep;
                    let mut frame = counted(&mut self.allocs, || match keep {
                        true => store.begin_paint(&region),
                        false => store.begin_repaint(&region),
                    })?;
                    let mut rects = frame.rects_mut();
                    let pixel = crate::paint::fill_pixel(n);
                    while let Some(mut r) = rects.next() {
                        if paint == Paint::Fill {
                            r.fill(pixel);
                            continue;
                        }
                        let x = r.rect().x as usize;
                        for (y, row) in r.rows_mut() {
                            paint_row(row, x, y as usize, n);
                        }
                    }
                }
                counted(&mut self.allocs, || store.flush(&region))?;
                self.region = region;
            }
        }
        self.rects = rects;
        // Completions and other events go to the store without a round trip.
        let window = &mut self.window;
        counted(&mut self.allocs, || -> Result<(), xbs_window::Error> {
            while window.poll_event()?.is_some() {}
            Ok(())
        })?;
        Ok(self.store().stats().bytes_uploaded - before)
    }

    fn sync(&mut self) -> Result<(), Box<dyn Error>> {
        viewable(&**self.window.connection(), self.window.id())
    }

    fn stats(&self) -> Option<xbs::Stats> {
        let mut stats = self.window.store()?.stats();
        // One buffer: a paint over pixels in flight always waits.
        stats.prefers_waiting |= self.label.ends_with("-single-buffer");
        Some(stats)
    }

    fn raise(&mut self) -> Result<(), Box<dyn Error>> {
        raise(&**self.window.connection(), self.window.id())?;
        // The Expose of what was hidden is repaired by the store here, before timing.
        while self.window.poll_event()?.is_some() {}
        Ok(())
    }

    fn allocs(&self) -> u64 {
        self.allocs
    }
}

type SbWindow = Arc<Window<XCBConnection>>;

fn nonzero(v: u32) -> Result<NonZeroU32, Box<dyn Error>> {
    NonZeroU32::new(v).ok_or_else(|| "zero size".into())
}

/// A contender on softbuffer's API, written once for two crates: `softbuffer` itself
/// and `xbs_window`'s `Surface` (the port an app makes: the crate name, nothing else).
/// With `age`, the app honours the buffer's age as an EGL app does (the `setup`
/// turned buffer age on): it repaints what changed in the frames the buffer lacks.
/// `stats` reads the store under the surface, where there is one (the bench's `segs`
/// and `busy` columns).
macro_rules! surface_runner {
    ($runner:ident, $krate:ident, $label:expr, $setup:expr, $age:expr, $stats:expr) => {
        struct $runner {
            // Drop order: the surface before the context and the window.
            surface: $krate::Surface<SbWindow, SbWindow>,
            _context: $krate::Context<SbWindow>,
            window: SbWindow,
            size: (u32, u32),
            rects: Vec<Rect>,
            /// The last frame's damage, for a buffer two frames old.
            last: Vec<Rect>,
            shm: bool,
            allocs: u64,
        }

        impl $runner {
            fn new(server: &XServer, size: (u32, u32), shm: bool) -> Result<Self, Box<dyn Error>> {
                let display = std::ffi::CString::new(server.display_name())?;
                let (conn, _) = XCBConnection::connect(Some(&display))?;
                let window = Arc::new(make_window(Arc::new(conn), size)?);
                let context = $krate::Context::new(window.clone()).map_err(|e| e.to_string())?;
                let mut surface =
                    $krate::Surface::new(&context, window.clone()).map_err(|e| e.to_string())?;
                surface
                    .resize(nonzero(size.0)?, nonzero(size.1)?)
                    .map_err(|e| e.to_string())?;
                #[allow(clippy::redundant_closure_call)]
                ($setup)(&mut surface);
                Ok($runner {
                    surface,
                    _context: context,
                    window,
                    size,
                    rects: Vec::new(),
                    last: Vec::new(),
                    shm,
                    allocs: 0,
                })
            }
        }

        impl Runner for $runner {
            fn name(&self) -> String {
                $label.into()
            }

            fn transport(&self) -> String {
                if self.shm { "shm" } else { "put-image" }.into()
            }

            fn frame(&mut self, work: Work, paint: Paint, n: u32) -> Result<u64, Box<dyn Error>> {
                let mut size = self.size;
                if work == Work::ResizeStorm {
                    size = storm_size(n, self.size);
                    let conn = self.window.connection();
                    conn.configure_window(
                        self.window.id(),
                        &ConfigureWindowAux::new().width(size.0).height(size.1),
                    )?;
                    // As winit's `request_inner_size` (and xbs-window's `set_size`) do.
                    conn.flush()?;
                    self.surface
                        .resize(nonzero(size.0)?, nonzero(size.1)?)
                        .map_err(|e| e.to_string())?;
                }
                damage(work, n, size, &mut self.rects);
                if work == Work::Expose {
                    self.window
                        .connection()
                        .clear_area(false, self.window.id(), 0, 0, 0, 0)?;
                }
                let stride = size.0 as usize * 4;
                let surface = &mut self.surface;
                let mut buffer = counted(&mut self.allocs, || surface.buffer_mut())
                    .map_err(|e| e.to_string())?;
                // What the buffer lacks: with buffer age honoured, the frames since it
                // was drawn (all of it if that is more than the last one or unknown).
                let age = if $age { buffer.age() } else { 1 };
                let px: &mut [u8] = bytemuck::cast_slice_mut(&mut buffer[..]);
                let all = Rect::new(0, 0, size.0, size.1);
                if age == 0 || age > 2 || (age == 2 && work == Work::Scroll) {
                    self::paint(paint, px, stride, all, n);
                } else {
                    if work == Work::Scroll {
                        // No scroll in softbuffer's API: move the pixels here, present them all.
                        px.copy_within(40 * stride.., 0);
                    }
                    if age == 2 {
                        // What the last frame changed and this one does not repaint,
                        // as the last frame left it.
                        let current = Region::from_rects(self.rects.iter().copied());
                        let lost = Region::from_rects(self.last.iter().copied()).subtract(&current);
                        for r in lost.rects() {
                            self::paint(paint, px, stride, r, n.wrapping_sub(1));
                        }
                    }
                    for r in &self.rects {
                        self::paint(paint, px, stride, *r, n);
                    }
                }
                if $age {
                    self.last.clone_from(&self.rects);
                }
                let rect = |r: Rect| -> Result<$krate::Rect, Box<dyn Error>> {
                    Ok($krate::Rect {
                        x: r.x as u32,
                        y: r.y as u32,
                        width: nonzero(r.width)?,
                        height: nonzero(r.height)?,
                    })
                };
                let present: Vec<$krate::Rect> = match work {
                    Work::Scroll => vec![rect(Rect::new(0, 0, size.0, size.1))?],
                    _ => self
                        .rects
                        .iter()
                        .map(|r| rect(*r))
                        .collect::<Result<_, _>>()?,
                };
                counted(&mut self.allocs, || buffer.present_with_damage(&present))
                    .map_err(|e| e.to_string())?;
                // An app drains its events every frame, whichever library draws.
                while self.window.connection().poll_for_event()?.is_some() {}
                // Over the wire softbuffer sends the whole image whatever the damage.
                let bytes = if self.shm {
                    present
                        .iter()
                        .map(|r| u64::from(r.width.get()) * u64::from(r.height.get()) * 4)
                        .sum()
                } else {
                    u64::from(size.0) * u64::from(size.1) * 4
                };
                Ok(bytes)
            }

            fn sync(&mut self) -> Result<(), Box<dyn Error>> {
                viewable(&**self.window.connection(), self.window.id())
            }

            fn allocs(&self) -> u64 {
                self.allocs
            }

            fn raise(&mut self) -> Result<(), Box<dyn Error>> {
                raise(&**self.window.connection(), self.window.id())
            }

            fn stats(&self) -> Option<xbs::Stats> {
                #[allow(clippy::redundant_closure_call)]
                ($stats)(&self.surface)
            }
        }
    };
}

/// What the store under an `xbs_window::Surface` says of itself.
fn surface_stats(s: &xbs_window::Surface<SbWindow, SbWindow>) -> Option<xbs::Stats> {
    Some(s.store().stats())
}

surface_runner!(
    SoftbufferRunner,
    softbuffer,
    "softbuffer",
    |_| {},
    false,
    |_: &softbuffer::Surface<SbWindow, SbWindow>| None
);
surface_runner!(
    SurfaceRunner,
    xbs_window,
    "xbs-surface",
    |_| {},
    false,
    surface_stats
);
surface_runner!(
    SurfaceAgeRunner,
    xbs_window,
    "xbs-surface-age",
    |s: &mut xbs_window::Surface<SbWindow, SbWindow>| s.set_buffer_age(true),
    true,
    surface_stats
);

/// The numbers `0..n` in the order of round `round`: a Fisher–Yates shuffle from a
/// fixed seed, so that every run orders its rounds the same way. A lane inherits the
/// CPUs as the lane before it left them (the scheduler keeps the app and the server on
/// one CPU, taking turns, or on two). In the same order every round, softbuffer's full
/// fills, run after Qt's lane, kept 0.26–0.28 ms a frame in every round of one run,
/// while xbs's lanes, run after lanes that switch buffers (the app and the server at
/// once, on two CPUs), took 0.32–0.38; xbs's lane with one buffer took 0.24–0.25 where
/// it came after softbuffer's.
fn shuffled(n: usize, round: u32) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state =
        0x9e37_79b9_7f4a_7c15_u64 ^ u64::from(round).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    for i in (1..n).rev() {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let r = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
        order.swap(i, (r % (i as u64 + 1)) as usize);
    }
    order
}

/// Waits until the server (with its compositor) is idle. Under weston, the first
/// lanes of the first round, run right after the lanes' dozen windows were mapped,
/// took 2.5–5 ms a damage-16 frame for some ten seconds where every later round took
/// 0.05–0.09 (lanes run later in that round did not), and those lanes were xbs's.
/// Weston was busy for 0.3 s after the windows mapped; waiting that out, no first
/// round is slow. Idle: under a tenth of a CPU over 100 ms, for at most 10 s.
fn settle(server: &XServer) {
    let start = Instant::now();
    loop {
        let cpu = server.cpu_time();
        std::thread::sleep(std::time::Duration::from_millis(100));
        let busy = server.cpu_time() - cpu;
        if busy < std::time::Duration::from_millis(10) || start.elapsed().as_secs() >= 10 {
            return;
        }
    }
}

/// A round trip, and a check that the window still shows: frames into a window the
/// compositor unmapped cost the server nothing and would measure nothing.
fn viewable(conn: &impl Connection, window: u32) -> Result<(), Box<dyn Error>> {
    let state = conn.get_window_attributes(window)?.reply()?.map_state;
    if state != x11rb::protocol::xproto::MapState::VIEWABLE {
        return Err(format!("the window is no longer viewable ({state:?}): not measured").into());
    }
    Ok(())
}

fn raise(conn: &impl Connection, window: u32) -> Result<(), Box<dyn Error>> {
    use x11rb::protocol::xproto::StackMode;
    conn.configure_window(
        window,
        &ConfigureWindowAux::new().stack_mode(StackMode::ABOVE),
    )?;
    conn.get_input_focus()?.reply()?;
    Ok(())
}

/// The floor: the same paint into one buffer and a memcpy of the damaged bytes into
/// another (what the server's copy out of shared memory costs at best).
struct MemcpyRunner {
    src: Vec<u8>,
    dst: Vec<u8>,
    size: (u32, u32),
    rects: Vec<Rect>,
}

impl MemcpyRunner {
    fn new(size: (u32, u32)) -> Self {
        let len = size.0 as usize * size.1 as usize * 4;
        MemcpyRunner {
            src: vec![0; len],
            dst: vec![0; len],
            size,
            rects: Vec::new(),
        }
    }
}

impl Runner for MemcpyRunner {
    fn name(&self) -> String {
        "memcpy".into()
    }

    fn transport(&self) -> String {
        "-".into()
    }

    fn frame(&mut self, work: Work, paint: Paint, n: u32) -> Result<u64, Box<dyn Error>> {
        let size = if work == Work::ResizeStorm {
            storm_size(n, self.size)
        } else {
            self.size
        };
        let stride = size.0 as usize * 4;
        damage(work, n, size, &mut self.rects);
        // Expose needs no paint (the pixels are retained); the others paint the damage.
        if work != Work::Expose {
            for r in &self.rects {
                self::paint(paint, &mut self.src, stride, *r, n);
            }
        }
        let copied = match work {
            Work::Scroll => vec![Rect::new(0, 0, size.0, size.1)],
            _ => self.rects.clone(),
        };
        let mut bytes = 0;
        for r in &copied {
            copy_rect(&self.src, &mut self.dst, stride, *r);
            bytes += r.area() * 4;
        }
        std::hint::black_box(&self.dst);
        Ok(bytes)
    }

    fn sync(&mut self) -> Result<(), Box<dyn Error>> {
        Ok(())
    }
}

/// A second floor: the pixels moved as a store with two buffers in shared memory moves
/// them, by two threads and no X. The app's thread copies into the buffer it paints
/// what the last frame painted into the other (whole rects, as xbs's switch does) and
/// paints this frame's damage; a thread on the server's CPU copies each posted frame's
/// damage into a framebuffer of its own, reading the buffer while the app paints the
/// other. Against `memcpy` (one thread, one core's cache) it shows what handing the
/// lines between the app's core and the server's costs on this machine: what no store
/// sharing memory with a server on another core can go under.
struct HandoffRunner {
    shared: Arc<Handoff>,
    helper: Option<std::thread::JoinHandle<Vec<u8>>>,
    rects: Vec<Rect>,
    last: Vec<Rect>,
    posted: u64,
}

/// What the two threads of a [`HandoffRunner`] share.
struct Handoff {
    buffers: [std::sync::RwLock<Vec<u8>>; 2],
    /// The last frame the app posted and the last the copier copied (from 1).
    posted: std::sync::atomic::AtomicU64,
    copied: std::sync::atomic::AtomicU64,
    /// The bench's number of the frame in each buffer, for the copier to derive its
    /// damage.
    numbers: [std::sync::atomic::AtomicU32; 2],
    work: Work,
    size: (u32, u32),
    stop: std::sync::atomic::AtomicBool,
}

impl Handoff {
    /// Spins until `counter` reaches `at_least` (or the runner stops), yielding now and
    /// then: with both threads on one CPU (`--place one`) only a yield lets the other
    /// run. With `park`, after some 10 000 spins (a frame is 0.01-0.1 ms) it sleeps
    /// until unparked: the copier waits so between lanes, leaving the server's CPU to
    /// the server.
    fn wait(&self, counter: &std::sync::atomic::AtomicU64, at_least: u64, park: bool) {
        use std::sync::atomic::Ordering;
        let mut spins = 0u32;
        while counter.load(Ordering::Acquire) < at_least && !self.stop.load(Ordering::Acquire) {
            spins = spins.saturating_add(1);
            if park && spins > 10_000 {
                std::thread::park_timeout(std::time::Duration::from_millis(10));
            } else if spins % 256 == 0 {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
    }
}

impl HandoffRunner {
    fn new(size: (u32, u32), work: Work, server_cpu: Option<usize>) -> Self {
        let len = size.0 as usize * size.1 as usize * 4;
        let shared = Arc::new(Handoff {
            buffers: [
                std::sync::RwLock::new(vec![0; len]),
                std::sync::RwLock::new(vec![0; len]),
            ],
            posted: 0.into(),
            copied: 0.into(),
            numbers: [0.into(), 0.into()],
            work,
            size,
            stop: false.into(),
        });
        let theirs = shared.clone();
        let helper = std::thread::spawn(move || {
            use std::sync::atomic::Ordering;
            if let Some(cpu) = server_cpu {
                let _ = xbs_tests::pin_this_thread(cpu);
            }
            let mut framebuffer = vec![0u8; len];
            let mut rects = Vec::new();
            let mut k = 1;
            loop {
                theirs.wait(&theirs.posted, k, true);
                if theirs.stop.load(Ordering::Acquire) {
                    break;
                }
                let n = theirs.numbers[(k % 2) as usize].load(Ordering::Relaxed);
                damage(theirs.work, n, theirs.size, &mut rects);
                let stride = theirs.size.0 as usize * 4;
                {
                    let from = theirs.buffers[(k % 2) as usize]
                        .read()
                        .unwrap_or_else(|e| e.into_inner());
                    for r in &rects {
                        copy_rect(&from, &mut framebuffer, stride, *r);
                    }
                }
                std::hint::black_box(&framebuffer);
                theirs.copied.store(k, Ordering::Release);
                k += 1;
            }
            framebuffer
        });
        HandoffRunner {
            shared,
            helper: Some(helper),
            rects: Vec::new(),
            last: Vec::new(),
            posted: 0,
        }
    }
}

/// Copies the rows of `r` from `from` into `to`, both `stride` bytes a row.
fn copy_rect(from: &[u8], to: &mut [u8], stride: usize, r: Rect) {
    let row = r.width as usize * 4;
    for y in r.y as usize..(r.y as u32 + r.height) as usize {
        let at = y * stride + r.x as usize * 4;
        to[at..at + row].copy_from_slice(&from[at..at + row]);
    }
}

impl Runner for HandoffRunner {
    fn name(&self) -> String {
        "memcpy-handoff".into()
    }

    fn transport(&self) -> String {
        "-".into()
    }

    fn frame(&mut self, work: Work, paint: Paint, n: u32) -> Result<u64, Box<dyn Error>> {
        use std::sync::atomic::Ordering;
        if work != self.shared.work {
            return Err(format!("made for {:?}, asked for {work:?}", self.shared.work).into());
        }
        let k = self.posted + 1;
        // The buffer of frame k was last read by the copier at k - 2.
        self.shared
            .wait(&self.shared.copied, k.saturating_sub(2), false);
        let size = self.shared.size;
        let stride = size.0 as usize * 4;
        damage(work, n, size, &mut self.rects);
        {
            let (this, other) = ((k % 2) as usize, ((k + 1) % 2) as usize);
            let mut to = self.shared.buffers[this]
                .write()
                .unwrap_or_else(|e| e.into_inner());
            let from = self.shared.buffers[other]
                .read()
                .unwrap_or_else(|e| e.into_inner());
            for r in &self.last {
                copy_rect(&from, &mut to, stride, *r);
            }
            for r in &self.rects {
                self::paint(paint, &mut to, stride, *r, n);
            }
        }
        self.shared.numbers[(k % 2) as usize].store(n, Ordering::Relaxed);
        self.posted = k;
        self.shared.posted.store(k, Ordering::Release);
        if let Some(helper) = &self.helper {
            // A syscall only where it sleeps (the first frame of a lane).
            helper.thread().unpark();
        }
        std::mem::swap(&mut self.last, &mut self.rects);
        Ok(self.last.iter().map(|r| r.area() * 4).sum())
    }

    fn sync(&mut self) -> Result<(), Box<dyn Error>> {
        self.shared.wait(&self.shared.copied, self.posted, false);
        Ok(())
    }
}

impl HandoffRunner {
    /// Stops the copier; its framebuffer (empty if it panicked).
    fn stop(&mut self) -> Vec<u8> {
        self.shared
            .stop
            .store(true, std::sync::atomic::Ordering::Release);
        let Some(helper) = self.helper.take() else {
            return Vec::new();
        };
        helper.thread().unpark();
        helper.join().unwrap_or_default()
    }
}

impl Drop for HandoffRunner {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Measured rounds of one contender.
struct Lane {
    runner: Box<dyn Runner>,
    ms: Vec<f64>,
    server_ms: Vec<f64>,
    client_ms: Vec<f64>,
    bytes: u64,
    allocs: Vec<f64>,
    failed: Option<String>,
}

/// CPU time this thread has run (`/proc/thread-self/schedstat`, its first field), so a
/// lane's own cost shows beside the server's: on 2 cores shared with the server, a
/// client's CPU is frame time the server does not get.
fn thread_cpu_time() -> std::time::Duration {
    let ns = std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    std::time::Duration::from_nanos(ns)
}

fn contenders(server: &XServer, s: &Scenario, placed: Option<(usize, usize)>) -> Vec<Lane> {
    let mut lanes: Vec<Result<Box<dyn Runner>, (String, String)>> = Vec::new();
    let name = |t: Option<Transport>| t.map_or("xbs".into(), |t| format!("xbs-{}", t.name()));
    let with = |options: Options, label: String| {
        // As an app connects with xbs (`xbs::connect`: x11rb's own connection, its
        // send buffer enlarged, no `poll` before each request).
        xbs::connect(Some(&server.display_name()))
            .map_err(|e| e.into())
            .and_then(|(conn, _)| XbsRunner::new(conn, s.size, options, label.clone()))
            .map(|r| Box::new(r) as Box<dyn Runner>)
            .map_err(|e| (label, e.to_string()))
    };
    let xbs = |t: Option<Transport>| {
        let options = Options::new().transport(t);
        with(options, name(t))
    };
    lanes.push(xbs(None));
    if matches!(s.work, Work::Expose | Work::Scroll) {
        // The option made for these: a pixmap of the window kept on the server, so
        // Expose and scroll are server-side copies with no upload.
        let options = Options::new().server_copy(true);
        lanes.push(with(options, "xbs-server-copy".into()));
    }
    // The same on libxcb, the connection softbuffer uses.
    lanes.push(
        std::ffi::CString::new(server.display_name())
            .map_err(|e| e.into())
            .and_then(|d| XCBConnection::connect(Some(&d)).map_err(|e| e.into()))
            .and_then(|(conn, _)| {
                xbs::enlarge_send_buffer(&conn, xbs::SEND_BUFFER)?;
                XbsRunner::new(conn, s.size, Options::default(), "xbs-xcb".into())
            })
            .map(|r| Box::new(r) as Box<dyn Runner>)
            .map_err(|e: Box<dyn Error>| ("xbs-xcb".to_string(), e.to_string())),
    );
    if !s.wire && s.work != Work::ResizeStorm {
        for t in [Transport::ShmFd, Transport::ShmSysV, Transport::PutImage] {
            lanes.push(xbs(Some(t)));
        }
        // Through Present at once (no vblank wait): against ShmPutImage, the same paint.
        if matches!(s.work, Work::Full | Work::Damage16) {
            let options = Options::new().present(xbs::PresentMode::Immediate);
            lanes.push(with(options, "xbs-present-immediate".into()));
        }
        // One buffer: a paint over pixels in flight waits, as softbuffer's does.
        lanes.push(with(
            Options::new().single_buffer(true),
            "xbs-single-buffer".into(),
        ));
        // `begin_paint`, which keeps the region's old pixels, against the xbs lane's
        // `begin_repaint` (the app repaints all of it): never faster.
        if matches!(s.work, Work::Full | Work::Damage16) {
            lanes.push(with(Options::new(), "xbs-begin-paint".into()));
        }
    }
    if !s.wire {
        // softbuffer's API on xbs (xbs_window::Surface), the same code as the next lane.
        lanes.push(
            SurfaceRunner::new(server, s.size, true)
                .map(|r| Box::new(r) as Box<dyn Runner>)
                .map_err(|e| ("xbs-surface".into(), e.to_string())),
        );
        // The same with buffer age on, the app repainting what each buffer lacks.
        lanes.push(
            SurfaceAgeRunner::new(server, s.size, true)
                .map(|r| Box::new(r) as Box<dyn Runner>)
                .map_err(|e| ("xbs-surface-age".into(), e.to_string())),
        );
    }
    if !s.wire && matches!(s.work, Work::Damage16 | Work::Full) {
        // tiny-skia's byte order: the flushed rects converted on upload.
        lanes.push(with(
            Options::new().layout(xbs::Layout::Rgba),
            "xbs-rgba".into(),
        ));
    }
    // Qt's own backing store, in a process of its own.
    lanes.push(
        crate::qt_lane::QtRunner::new(server, s.size, s.wire)
            .map(|r| Box::new(r) as Box<dyn Runner>)
            .map_err(|e| ("qt".into(), e)),
    );
    lanes.push(
        SoftbufferRunner::new(server, s.size, !s.wire)
            .map(|r| Box::new(r) as Box<dyn Runner>)
            .map_err(|e| ("softbuffer".into(), e.to_string())),
    );
    lanes.push(Ok(Box::new(MemcpyRunner::new(s.size))));
    // Damage-16 only: its rects are what a two-buffer store's switch copies whole. Not
    // beside a compositor, which the copier would take the server's CPU from.
    if s.work == Work::Damage16 && !s.wire && server.kind() != ServerKind::Xwayland {
        let server_cpu = placed.map(|(_, server)| server);
        lanes.push(Ok(Box::new(HandoffRunner::new(s.size, s.work, server_cpu))));
    }
    lanes
        .into_iter()
        .map(|l| match l {
            Ok(runner) => Lane {
                runner,
                ms: Vec::new(),
                server_ms: Vec::new(),
                client_ms: Vec::new(),
                bytes: 0,
                allocs: Vec::new(),
                failed: None,
            },
            Err((name, e)) => Lane {
                runner: Box::new(Failed(name)),
                ms: Vec::new(),
                server_ms: Vec::new(),
                client_ms: Vec::new(),
                bytes: 0,
                allocs: Vec::new(),
                failed: Some(e),
            },
        })
        .collect()
}

/// A contender that could not even start.
struct Failed(String);

impl Runner for Failed {
    fn name(&self) -> String {
        self.0.clone()
    }
    fn transport(&self) -> String {
        "-".into()
    }
    fn frame(&mut self, _: Work, _: Paint, _: u32) -> Result<u64, Box<dyn Error>> {
        Err("not started".into())
    }
    fn sync(&mut self) -> Result<(), Box<dyn Error>> {
        Ok(())
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Measures `memcpy` bandwidth on this machine (GB/s), the unit of the floor.
fn memcpy_gbps() -> f64 {
    let len = 64 << 20;
    let src = vec![1u8; len];
    let mut dst = vec![0u8; len];
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        dst.copy_from_slice(&src);
        std::hint::black_box(&dst);
        best = best.min(t.elapsed().as_secs_f64());
    }
    len as f64 / best / 1e9
}

/// How long a cache line takes to go from one core to another and back (ns): two
/// threads hand a counter to each other. Every frame moves the damage's lines between
/// the app's core and the server's, so this says much of what a run will measure: on
/// a virtual machine whose two CPUs the host places on cores that share a cache it is
/// ~100 ns, on cores that do not (another CCD of an EPYC) several times that, and the
/// shm lanes then take 2-4 times as long.
fn core_to_core_ns(placed: Option<(usize, usize)>) -> f64 {
    if placed.is_some_and(|(app, server)| app == server) {
        // One CPU: no line goes anywhere.
        return f64::NAN;
    }
    // No cache line takes 2 µs (here: 60–400 ns): a burst that slow ran both threads
    // on one CPU for some of its trips (the other busy: a server going away, a
    // compositor), which says nothing. Try again a little later, and say so if it
    // never works.
    for _ in 0..4 {
        let trip = core_to_core_once(placed);
        if trip < 2_000.0 {
            return trip;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    f64::NAN
}

/// `a cache line core to core and back: …` as printed.
fn trip_text(trip: f64) -> String {
    match trip.is_nan() {
        true => "not measured (one CPU, or the two threads never ran at once)".into(),
        false => format!("{trip:.0} ns"),
    }
}

/// Where the bench places the app and the server (`placed`), between the app's CPU
/// (this thread's) and the server's.
fn core_to_core_once(placed: Option<(usize, usize)>) -> f64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    const BURSTS: u32 = 5;
    const TRIPS: u64 = 2_000;
    const STOP: u64 = u64::MAX;
    let ball = std::sync::Arc::new(AtomicU64::new(0));
    let other = ball.clone();
    // Odd: the echo's turn to add one; STOP: done.
    let echo = std::thread::spawn(move || {
        if let Some((_, server)) = placed {
            // This thread inherits the app's CPU: the trip is between the two.
            let _ = xbs_tests::pin_this_thread(server);
        }
        loop {
            match other.load(Ordering::Acquire) {
                STOP => break,
                v if v % 2 == 1 => other.store(v + 1, Ordering::Release),
                _ => std::hint::spin_loop(),
            }
        }
    });
    // The best of a few short bursts: one the scheduler interrupted (a server, a
    // compositor waking) says nothing about where the CPUs are. Each at most 20 ms:
    // on one CPU (the bench pinned) every trip is a time slice.
    let mut best = f64::MAX;
    let mut v = 0;
    for _ in 0..BURSTS {
        let t = Instant::now();
        let mut trips = 0;
        while trips < TRIPS && t.elapsed() < std::time::Duration::from_millis(20) {
            ball.store(v + 1, Ordering::Release);
            while ball.load(Ordering::Acquire) != v + 2 {
                std::hint::spin_loop();
            }
            v += 2;
            trips += 1;
        }
        best = best.min(t.elapsed().as_nanos() as f64 / trips.max(1) as f64);
    }
    ball.store(STOP, Ordering::Release);
    let _ = echo.join();
    best
}

pub fn run(args: BenchArgs) -> Result<(), Box<dyn Error>> {
    let (rounds, frames) = if args.quick { (3, 12) } else { (11, 40) };
    let placed = cpus(args.place)?;
    if let Some((app, _)) = placed {
        // The servers and Qt's lane, started from here, start there too.
        xbs_tests::pin_this_thread(app)?;
    }
    let gbps = memcpy_gbps();
    let trip = core_to_core_ns(placed);
    let placed_text = match placed {
        None => "app and server where the scheduler puts them".to_string(),
        Some((app, server)) => format!("the app on CPU {app}, the server on CPU {server}"),
    };
    println!(
        "memcpy: {gbps:.1} GB/s; a cache line core to core and back: {}; \
         {rounds} rounds, median reported; {placed_text}",
        trip_text(trip)
    );
    let mut outcomes = Vec::new();
    // `--only NAME`: the scenario of that exact name, else every one whose name
    // contains NAME.
    let exact = |f: &String| SCENARIOS.iter().any(|s| s.name == f.as_str());
    let selected: Vec<&Scenario> = SCENARIOS
        .iter()
        .filter(|s| match &args.filter {
            None => true,
            Some(f) if exact(f) => s.name == f.as_str(),
            Some(f) => s.name.contains(f.as_str()),
        })
        .collect();
    for &kind in &args.servers {
        outcomes.extend(on_server(kind, &selected, &args, placed, rounds, frames)?);
        // The pacing lanes take seconds each (frames at the display's rate).
        if !args.quick && args.filter.as_deref().is_none_or(|f| "pacing".contains(f)) {
            crate::pacing::run(kind, placed.map(|(_, server)| server))?;
        }
    }

    if let Some(path) = &args.json {
        // As placed: `two` on a machine of one CPU is `one`.
        let place = match placed {
            None => Place::Free,
            Some((app, server)) if app == server => Place::One,
            Some(_) => Place::Two,
        };
        std::fs::write(path, json(gbps, trip, place, &outcomes))?;
        println!("json: {}", path.display());
    }
    if let Some(path) = &args.svg {
        crate::chart::draw(path, &outcomes)?;
        println!("svg: {}", path.display());
    }
    if let Some(path) = &args.markdown {
        std::fs::write(path, markdown(&outcomes))?;
        println!("markdown: {}", path.display());
    }
    Ok(())
}

/// The README's table: a row for each server, scenario and paint that xbs ran, with
/// softbuffer, Qt and the memcpy floor beside it (ratios as [`speedup`] pairs them).
fn markdown(outcomes: &[Outcome]) -> String {
    let mut out = String::from(
        "| server | scenario | paint | core↔core | xbs ms | softbuffer ms | Qt ms | \
         xbs vs softbuffer | xbs vs Qt | xbs vs floor | server CPU xbs / sb / Qt |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    // Each server's outcomes lie together, in the order they ran.
    for ran in outcomes.chunk_by(|a, b| a.server == b.server) {
        let server = ran[0].server;
        let mut rows: Vec<(&str, Option<Paint>)> = Vec::new();
        for o in ran {
            // Expose repairs without painting: one row, whatever the paint.
            let seen = rows
                .iter()
                .any(|r| r.0 == o.scenario && (r.1 == o.paint || o.scenario.starts_with("expose")));
            if !seen {
                rows.push((o.scenario, o.paint));
            }
        }
        for (scenario, paint) in rows {
            out += &markdown_row(ran, server, scenario, paint);
        }
    }
    out
}

/// One row of [`markdown`]: `scenario` with `paint` on `server`, from the outcomes
/// that `ran` there; empty where xbs has no result.
fn markdown_row(
    ran: &[Outcome],
    server: ServerKind,
    scenario: &str,
    paint: Option<Paint>,
) -> String {
    fn ok(o: Option<&Outcome>) -> Option<&Outcome> {
        o.filter(|o| o.status == "ok" && o.ms_per_frame.is_finite())
    }
    let get = |c: &str| find(ran, scenario, paint, c);
    let Some(x) = ok(get("xbs")) else {
        return String::new();
    };
    let (sb, qt, floor) = (get("softbuffer"), get("qt"), ok(get("memcpy")));
    let ms = |o: Option<&Outcome>| match (o, ok(o)) {
        (_, Some(o)) => format!("{:.3}", o.ms_per_frame),
        (Some(o), None) if o.status.contains("too long") || o.status.contains("xceeded") => {
            "fails (request too long)".into()
        }
        _ => "—".into(),
    };
    let vs = |base: Option<&Outcome>| {
        ok(base).map_or("—".into(), |b| format!("{:.2}×", speedup(b, x)))
    };
    let cpu = |o: Option<&Outcome>| {
        ok(o).map_or("—".into(), |o| format!("{:.3}", o.server_ms_per_frame))
    };
    let name = match server {
        ServerKind::Xorg => "Xorg (dummy)".to_string(),
        ServerKind::Xwayland => "Xwayland (weston)".to_string(),
        ServerKind::Xvfb => "Xvfb".to_string(),
        ServerKind::Xvnc => "Xvnc (TigerVNC)".to_string(),
        ServerKind::Xephyr => "Xephyr (in Xvfb)".to_string(),
    };
    let scenario_text = match scenario {
        "resize-storm" => "resize-storm (per resize)".to_string(),
        s => s.to_string(),
    };
    let paint_text = match (scenario.starts_with("expose"), paint) {
        (false, Some(p)) => p.name(),
        _ => "—",
    };
    let trip = if x.trip_ns.is_finite() {
        format!("{:.0} ns", x.trip_ns)
    } else {
        "—".into()
    };
    format!(
            "| {name} | {scenario_text} | {paint_text} | {trip} | {} | {} | {} | {} | {} | {} | {} / {} / {} |\n",
            ms(Some(x)),
            ms(sb),
            ms(qt),
            vs(sb),
            vs(qt),
            floor.map_or("—".into(), |f| format!("{:.2}×", 1.0 / speedup(f, x))),
            cpu(Some(x)),
            cpu(sb),
            cpu(qt),
        )
}

/// Every selected scenario on a fresh server of `kind` (one at 1920×1080 with MIT-SHM,
/// one at 3840×2160 without, for the wire scenarios).
fn on_server(
    kind: ServerKind,
    selected: &[&Scenario],
    args: &BenchArgs,
    placed: Option<(usize, usize)>,
    rounds: u32,
    frames: u32,
) -> Result<Vec<Outcome>, Box<dyn Error>> {
    println!("\n== {kind}");
    let mut outcomes = Vec::new();
    let mut shm_server = None;
    let mut wire_server = None;
    let mut storm_server = None;
    // Every painting scenario with each paint kind; Expose repairs without painting.
    let jobs: Vec<(&Scenario, Option<Paint>)> = selected
        .iter()
        .flat_map(|&s| match s.work {
            Work::Expose => vec![(s, None)],
            _ => args.paints.iter().map(|&p| (s, Some(p))).collect(),
        })
        .collect();
    for &(s, paint) in &jobs {
        let builder = XServer::builder().kind(kind);
        let server = if s.wire {
            wire_server.get_or_insert_with(|| builder.size(3840, 2160).without_shm().start())
        } else if s.work == Work::ResizeStorm && kind == ServerKind::Xwayland {
            // A server of its own for each storm: Xwayland takes a few hundred
            // resizes at full speed, not more (see below).
            storm_server.insert(builder.size(1920, 1080).start())
        } else {
            shm_server.get_or_insert_with(|| builder.size(1920, 1080).start())
        };
        let label = paint.map_or(s.name.to_string(), |p| format!("{} {}", s.name, p.name()));
        let server = match server {
            Ok(server) => server,
            Err(xbs_tests::StartError::Unsupported(why)) => {
                println!("\n{label} skipped: {why}");
                outcomes.push(Outcome {
                    server: kind,
                    scenario: s.name,
                    paint,
                    trip_ns: f64::NAN,
                    contender: "xbs".into(),
                    transport: "-".into(),
                    ms_per_frame: f64::NAN,
                    ms_rounds: Vec::new(),
                    server_ms_per_frame: f64::NAN,
                    client_ms_per_frame: f64::NAN,
                    bytes_per_frame: 0,
                    allocs_per_frame: f64::NAN,
                    segments_alive: None,
                    prefers_waiting: None,
                    repaints_cut: None,
                    uploads_over_wire: None,
                    status: format!("skipped: {why}"),
                });
                continue;
            }
            Err(e) => return Err(format!("starting {kind}: {e}").into()),
        };
        let frames = if s.work == Work::ResizeStorm {
            if args.quick {
                100
            } else if kind == ServerKind::Xwayland {
                // Xwayland 22.1 under headless weston dies (fatal "request could not
                // be marshaled: can't send file descriptor") after some 600 resizes
                // at full speed on 2 cores, whoever sends them: each resize is a new
                // wl_shm buffer, and weston, starved, reads its fds too slowly. 100 a
                // lane, in 5 rounds of 20: a resize there takes 0.5-8 ms, waiting
                // on weston, and one pass of 100 read 0.21x in one run and 5.7x in
                // another for the same two lanes.
                20
            } else {
                200
            }
        } else if s.size.0 > 1920 {
            frames / 4
        } else if s.work == Work::Damage16 {
            // A frame takes about 0.1 ms: 40 of them are 4 ms, too short a window to
            // average out the scheduler's wakeups. 12x as many keeps the ratio steady.
            frames * 12
        } else {
            frames
        };
        // Resize storm: rounds of different resizes (one pass in a quick run; five
        // where the server cannot take more than 100 resizes a lane, see above).
        let rounds = match (s.work == Work::ResizeStorm, args.quick, kind) {
            (true, true, _) => 1,
            (true, false, ServerKind::Xwayland) => 5,
            _ => rounds,
        };
        let mut lanes = contenders(server, s, placed);
        if let Some((_, cpu)) = placed {
            // Every thread the server has now, the helpers weston starts included.
            server.pin(&[cpu])?;
        }
        let paint_kind = paint.unwrap_or(Paint::Pattern);
        // Where the CPUs are now (see `core_to_core_ns`): the host may move them.
        let trip = core_to_core_ns(placed);
        if !args.contenders.is_empty() {
            lanes.retain(|l| args.contenders.contains(&l.runner.name()));
        }
        settle(server);
        // Warm up: fault in the memory, settle the server.
        for lane in &mut lanes {
            if lane.failed.is_some() {
                continue;
            }
            let warm = lane.runner.raise();
            let warm = warm.and_then(|()| match lane.runner.round(s.work, paint_kind, 0, 3) {
                Some(r) => r.map(drop),
                None => (0..3).try_for_each(|n| lane.runner.frame(s.work, paint_kind, n).map(drop)),
            });
            if let Err(e) = warm.and_then(|()| lane.runner.sync()) {
                lane.failed = Some(e.to_string());
            }
        }
        for round in 0..rounds {
            // Each round runs the lanes in another order: a lane starts where the one
            // before left the server (busy, idle, on which CPU), so none may always
            // follow the same one.
            for k in shuffled(lanes.len(), round) {
                let lane = &mut lanes[k];
                if lane.failed.is_some() {
                    continue;
                }
                if let Err(e) = lane.runner.raise() {
                    lane.failed = Some(e.to_string());
                    continue;
                }
                let allocs = lane.runner.allocs();
                let cpu = server.cpu_time();
                let own = lane.runner.cpu_time().unwrap_or_else(thread_cpu_time);
                let t = Instant::now();
                let mut bytes = 0;
                let first = 3 + round * frames;
                let result = match lane.runner.round(s.work, paint_kind, first, frames) {
                    Some(r) => r.map(|b| bytes += b),
                    None => (0..frames).try_for_each(|n| {
                        bytes += lane.runner.frame(s.work, paint_kind, first + n)?;
                        Ok::<(), Box<dyn Error>>(())
                    }),
                };
                let result = result.and_then(|()| lane.runner.sync());
                let ms = t.elapsed().as_secs_f64() * 1e3 / f64::from(frames);
                let server_ms = (server.cpu_time() - cpu).as_secs_f64() * 1e3 / f64::from(frames);
                let now = lane.runner.cpu_time().unwrap_or_else(thread_cpu_time);
                let client_ms = (now - own).as_secs_f64() * 1e3 / f64::from(frames);
                let allocated = lane.runner.allocs() - allocs;
                match result {
                    Ok(()) => {
                        lane.ms.push(ms);
                        lane.server_ms.push(server_ms);
                        lane.client_ms.push(client_ms);
                        lane.allocs.push(allocated as f64 / f64::from(frames));
                        lane.bytes = bytes / u64::from(frames);
                    }
                    Err(e) => lane.failed = Some(e.to_string()),
                }
            }
        }
        for lane in &lanes {
            let stats = lane.runner.stats();
            outcomes.push(Outcome {
                server: kind,
                scenario: s.name,
                paint,
                trip_ns: trip,
                contender: lane.runner.name(),
                transport: lane.runner.transport(),
                ms_per_frame: if lane.failed.is_some() {
                    f64::NAN
                } else {
                    median(&lane.ms)
                },
                ms_rounds: lane.ms.clone(),
                server_ms_per_frame: if lane.failed.is_some() {
                    f64::NAN
                } else {
                    median(&lane.server_ms)
                },
                client_ms_per_frame: if lane.failed.is_some() {
                    f64::NAN
                } else {
                    median(&lane.client_ms)
                },
                bytes_per_frame: lane.bytes,
                allocs_per_frame: median(&lane.allocs),
                segments_alive: stats.as_ref().map(|s| s.segments_alive),
                prefers_waiting: stats.as_ref().map(|s| s.prefers_waiting),
                repaints_cut: stats.as_ref().map(|s| s.repaints_cut),
                uploads_over_wire: stats.as_ref().map(|s| s.uploads_over_wire),
                status: lane.failed.clone().map_or("ok".into(), |e| {
                    match e.starts_with(crate::qt_lane::SKIPPED) {
                        true => e,
                        false => format!("failed: {e}"),
                    }
                }),
            });
        }
        print_scenario(&outcomes, s.name, paint, trip);
    }
    Ok(outcomes)
}

fn find<'a>(
    outcomes: &'a [Outcome],
    scenario: &str,
    paint: Option<Paint>,
    contender: &str,
) -> Option<&'a Outcome> {
    outcomes
        .iter()
        .find(|o| o.scenario == scenario && o.paint == paint && o.contender == contender)
}

/// How many times faster `o` was than `base`: the median over rounds of the ratio of
/// their frame times in the same round. The lanes of a round run one after the other
/// within milliseconds, while the machine can change under the bench from one round
/// to the next (`docs/performance.md`, "Where the two CPUs are"), so a ratio of the
/// two medians could compare one lane's good rounds with the other's bad ones. The
/// ratio of the medians where the rounds do not pair up.
fn speedup(base: &Outcome, o: &Outcome) -> f64 {
    let (b, x) = (&base.ms_rounds, &o.ms_rounds);
    if b.is_empty() || b.len() != x.len() {
        return base.ms_per_frame / o.ms_per_frame;
    }
    let ratios: Vec<f64> = b.iter().zip(x).map(|(b, x)| b / x).collect();
    median(&ratios)
}

fn print_scenario(outcomes: &[Outcome], scenario: &str, paint: Option<Paint>, trip: f64) {
    let kind = paint.map_or(String::new(), |p| format!(", {} paint", p.name()));
    println!(
        "\n{scenario}{kind} (core to core and back: {})",
        trip_text(trip)
    );
    println!(
        "  {:<16} {:<10} {:>10} {:>10} {:>10} {:>12} {:>9} {:>9} {:>9} {:>8} {:>5} {:>6}",
        "contender",
        "transport",
        "ms/frame",
        "server ms",
        "client ms",
        "bytes/frame",
        "vs sb",
        "vs qt",
        "vs floor",
        "allocs",
        "segs",
        "busy"
    );
    let sb = find(outcomes, scenario, paint, "softbuffer");
    let qt = find(outcomes, scenario, paint, "qt");
    let floor = find(outcomes, scenario, paint, "memcpy");
    for o in outcomes
        .iter()
        .filter(|o| o.scenario == scenario && o.paint == paint)
    {
        let ratio = |base: Option<&Outcome>| match base.map(|b| speedup(b, o)) {
            Some(r) if r.is_finite() => format!("{r:.2}x"),
            _ => "-".into(),
        };
        let vs_floor = match floor.map(|f| 1.0 / speedup(f, o)) {
            Some(r) if r.is_finite() => format!("{r:.2}x"),
            _ => "-".into(),
        };
        if o.status != "ok" {
            println!("  {:<16} {:<10} {}", o.contender, o.transport, o.status);
            continue;
        }
        println!(
            "  {:<16} {:<10} {:>10.3} {:>10.3} {:>10.3} {:>12} {:>9} {:>9} {:>9} {:>8.1} {:>5} {:>6}",
            o.contender,
            o.transport,
            o.ms_per_frame,
            o.server_ms_per_frame,
            o.client_ms_per_frame,
            o.bytes_per_frame,
            ratio(sb),
            ratio(qt),
            vs_floor,
            o.allocs_per_frame,
            o.segments_alive.map_or("-".into(), |s| s.to_string()),
            match (o.uploads_over_wire, o.prefers_waiting, o.repaints_cut) {
                (Some(true), _, _) => "wire",
                (_, Some(true), _) => "wait",
                (_, Some(false), Some(true)) => "cut",
                (_, Some(false), _) => "switch",
                (_, None, _) => "-",
            },
        );
    }
}

fn json(gbps: f64, trip: f64, place: Place, outcomes: &[Outcome]) -> String {
    let num = |v: f64| {
        if v.is_finite() {
            serde_json::json!(v)
        } else {
            serde_json::Value::Null
        }
    };
    let results: Vec<_> = outcomes
        .iter()
        .map(|o| {
            serde_json::json!({
                "server": o.server.name(),
                "scenario": o.scenario,
                "paint": o.paint.map(Paint::name),
                "core_to_core_round_trip_ns": num(o.trip_ns),
                "contender": o.contender,
                "transport": o.transport,
                "ms_per_frame": num(o.ms_per_frame),
                "ms_rounds": o.ms_rounds,
                "server_ms_per_frame": num(o.server_ms_per_frame),
                "client_ms_per_frame": num(o.client_ms_per_frame),
                "bytes_per_frame": o.bytes_per_frame,
                "allocs_per_frame": num(o.allocs_per_frame),
                "segments_alive": o.segments_alive,
                "prefers_waiting": o.prefers_waiting,
                "repaints_cut": o.repaints_cut,
                "uploads_over_wire": o.uploads_over_wire,
                "status": o.status,
            })
        })
        .collect();
    let doc = serde_json::json!({
        "memcpy_gbps": gbps,
        "core_to_core_round_trip_ns": trip,
        "placement": place.name(),
        "results": results,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

impl Outcome {
    pub fn server(&self) -> ServerKind {
        self.server
    }
    /// The scenario and its paint kind, as the table and chart name them.
    pub fn label(&self) -> String {
        match self.paint {
            Some(p) => format!("{} {}", self.scenario, p.name()),
            None => self.scenario.to_string(),
        }
    }
    pub fn contender(&self) -> &str {
        &self.contender
    }
    pub fn ms(&self) -> f64 {
        self.ms_per_frame
    }
    pub fn skipped(&self) -> bool {
        self.status.starts_with("skipped")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handoff_floor_copies_every_frame_and_stops() {
        let size = (320, 240);
        let mut lane = HandoffRunner::new(size, Work::Damage16, None);
        for n in 0..200 {
            lane.frame(Work::Damage16, Paint::Pattern, n).unwrap();
        }
        lane.sync().unwrap();
        // The copier's framebuffer holds the last frame's sprites as painted.
        let framebuffer = lane.stop();
        let stride = size.0 as usize * 4;
        let mut want = vec![0u8; framebuffer.len()];
        let mut rects = Vec::new();
        damage(Work::Damage16, 199, size, &mut rects);
        for r in &rects {
            paint(Paint::Pattern, &mut want, stride, *r, 199);
        }
        for r in &rects {
            for row in xbs_rows(*r, stride) {
                assert_eq!(framebuffer[row.clone()], want[row], "{r:?}");
            }
        }
        assert!(lane.frame(Work::Full, Paint::Fill, 200).is_err());
    }

    fn xbs_rows(r: Rect, stride: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
        (r.y as usize..(r.y as u32 + r.height) as usize).map(move |y| {
            let at = y * stride + r.x as usize * 4;
            at..at + r.width as usize * 4
        })
    }
}
