//! `xbs-demo`: opens a window and animates a test pattern through an xbs
//! `BackingStore`. On a desktop it shows the window; with no `$DISPLAY` (or `--headless`,
//! or `--server KIND`) it starts a private X server, runs a fixed number of frames and
//! writes a screenshot. `xbs-demo --help` lists the options.
#![deny(unsafe_code)]

mod args;
mod bench;
mod chart;
mod compat;
mod menu;
mod pacing;
mod paint;
mod qt_lane;
mod scene;
mod screenshot;

#[global_allocator]
static ALLOCATOR: xbs_tests::alloc_count::Counting = xbs_tests::alloc_count::Counting;

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use x11rb::protocol::xproto::ConnectionExt as _;
use xbs::{Options, OwnConnection, PresentMode, Rect, Region, Transport};
use xbs_window::{Display, Window, WindowEvent, WindowId};

use menu::{Item, Menu, Outcome};
use scene::Scene;

const WIDTH: u16 = 640;
const HEIGHT: u16 = 400;

fn main() {
    if let Err(e) = run() {
        eprintln!("xbs-demo: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let mut argv = std::env::args().skip(1).peekable();
    match argv.peek().map(String::as_str) {
        Some("bench") => {
            argv.next();
            return bench::run(bench::BenchArgs::parse(argv)?);
        }
        Some("compat") => {
            argv.next();
            return compat::run(compat::CompatArgs::parse(argv)?);
        }
        Some("run") => {
            argv.next();
        }
        _ => {}
    }
    match args::Args::parse(argv)? {
        args::Parsed::Run(args) => demo(&args),
        args::Parsed::Help => {
            println!("{}", args::USAGE);
            Ok(())
        }
    }
}

/// What `t` cycles through: transports, and how flushes reach the window.
const MODES: [(Transport, PresentMode); 6] = [
    (Transport::ShmFd, PresentMode::Vsync),
    (Transport::ShmFd, PresentMode::Immediate),
    (Transport::ShmFd, PresentMode::Off),
    (Transport::ShmSysV, PresentMode::Vsync),
    (Transport::ShmSysV, PresentMode::Off),
    (Transport::PutImage, PresentMode::Off),
];

/// The demo: events in, damage out.
fn demo(args: &args::Args) -> Result<(), Box<dyn Error>> {
    // Keeps the private server alive for the whole run when headless.
    let mut _server = None;
    let display = match args.server {
        Some(kind) => {
            let server = xbs_tests::XServer::builder()
                .kind(kind)
                .size(WIDTH, HEIGHT)
                .start()?;
            let name = server.display_name();
            println!("headless: started a private {kind} on {name}");
            _server = Some(server);
            Some(name)
        }
        None => args.display.clone(),
    };
    let headless = args.server.is_some();
    // x11rb's own connection, with room in the socket for a frame should the server
    // lack MIT-SHM, and no `poll` before each request.
    let (conn, screen) = xbs::connect(display.as_deref())?;
    // One loop for the connection: the main window and, when open, the menu's.
    let mut display = Display::new(Arc::new(conn), screen);
    let main = display.window(
        Window::builder()
            .title("xbs demo — right click or m: menu, t: transport, space: pause, d: show damage, q: quit")
            .size(WIDTH.into(), HEIGHT.into())
            .min_size(320, 200)
            .class("xbs-demo", "XbsDemo"),
    )?;
    let window = display.get_mut(main).ok_or("no window")?;
    window.attach_store(Options::default().present(args.present))?;
    window.map()?;
    let _ = window.set_cursor("default");
    let stats = window.store().map(|s| s.stats()).ok_or("no store")?;
    println!(
        "transport: {}, present: {:?}",
        stats.transport.name(),
        stats.present
    );

    let (w, h) = window.size();
    let mut scene = Scene::new(w, h);
    repaint_all(window, &mut scene)?;

    let started = Instant::now();
    let mut frames: u32 = 0;
    let mut paused = false;
    let mut flash = false;
    let mut flashed = Region::new();
    let mut second = Instant::now();
    let mut second_frames = 0u32;
    let mut second_bytes = window.store().map_or(0, |s| s.stats().bytes_uploaded);
    let mut damaged_area = 0u64;
    let mut fps = 0.0;
    let mut rate = 0.0;
    let mut area_per_frame = 0u64;
    let mut menu: Option<Menu> = None;
    let mut waiting_frame = false;
    let mut frame_interval = Duration::ZERO;
    loop {
        // On a desktop the display paces the demo: after each frame it waits for the
        // next vblank (Present's frame clock, a timer where there is none), handling
        // events meanwhile. Headless it runs as fast as the server takes frames.
        loop {
            let next = if waiting_frame {
                display.wait_event_timeout(Duration::from_millis(250))?
            } else {
                display.poll_event()?
            };
            let Some((id, event)) = next else {
                // Nothing queued (or no frame for 250 ms: paint anyway).
                waiting_frame = false;
                break;
            };
            if let WindowEvent::Frame { interval, .. } = event {
                if id == main {
                    frame_interval = interval;
                    waiting_frame = false;
                }
                continue;
            }
            if let Some(m) = menu.as_mut().filter(|m| m.id == id) {
                let chosen = match m.event(&mut display, event)? {
                    Outcome::Open => continue,
                    Outcome::Closed => None,
                    Outcome::Chosen(item) => Some(item),
                };
                menu = None;
                match chosen {
                    Some(Item::Pause) => paused = !paused,
                    Some(Item::Damage) => flash = true,
                    Some(Item::Transport) => {
                        let window = display.get_mut(main).ok_or("main window gone")?;
                        switch_transport(window)?;
                        repaint_all(window, &mut scene)?;
                    }
                    Some(Item::Quit) => return finish(&display, main, args, frames, started),
                    None => {}
                }
                continue;
            }
            if id != main {
                continue;
            }
            let mut open_at = None;
            let window = display.get_mut(main).ok_or("main window gone")?;
            match event {
                WindowEvent::CloseRequested | WindowEvent::Destroyed => {
                    return finish(&display, main, args, frames, started)
                }
                WindowEvent::KeyPressed(key) => match key.keysym {
                    0x71 | 0xff1b => return finish(&display, main, args, frames, started), // q, Escape
                    0x20 => paused = !paused,
                    0x64 => flash = true,
                    0x6d => open_at = Some((40, 40)), // m
                    0x74 => {
                        switch_transport(window)?;
                        repaint_all(window, &mut scene)?;
                    }
                    _ => {}
                },
                WindowEvent::ButtonPressed { button: 3, x, y } => open_at = Some((x, y)),
                WindowEvent::Resized { width, height } => {
                    scene.resize(width, height);
                    repaint_all(window, &mut scene)?;
                }
                _ => {}
            }
            if let (Some((x, y)), None) = (open_at, &menu) {
                match Menu::open(&mut display, main, x, y) {
                    Ok(m) => menu = Some(m),
                    Err(e) => println!("menu: not opened: {e}"),
                }
            }
        }
        if headless && frames == 10 && menu.is_none() {
            // The headless run goes through the menu once: opened, an item highlighted
            // (damage only), its pixels read back, chosen, closed.
            let mut m = Menu::open(&mut display, main, 60, 60)?;
            m.set_hover(&mut display, Some(Menu::index(Item::Damage)))?;
            if let Some(path) = &args.screenshot {
                let path = path.with_extension("menu.png");
                display.connection().get_input_focus()?.reply()?;
                screenshot::save(&**display.connection(), m.id.raw(), &path)?;
                println!("screenshot: {}", path.display());
            }
            let hovered = m.hover().unwrap_or("-");
            if let Outcome::Chosen(Item::Damage) =
                m.choose(&mut display, Menu::index(Item::Damage))?
            {
                flash = true;
            }
            println!("menu: opened, {hovered:?} highlighted, chosen, closed");
        }
        let window = display.get_mut(main).ok_or("main window gone")?;
        if paused && !headless {
            // Paused: no frames asked for; the loop above wakes for events only.
            waiting_frame = true;
            continue;
        }

        // Sprites: old and new places, plus what the last flash covered.
        let store = window.store_mut().ok_or("no store")?;
        let mut damage = std::mem::take(&mut flashed);
        if !damage.is_empty() {
            scene.paint(&mut store.begin_paint(&damage)?);
        }
        let mut sprites = Region::new();
        scene.move_sprites(&mut sprites);
        scene.paint_sprites(&mut store.begin_paint(&sprites)?);
        damage = damage.union(&sprites);
        // The log panel scrolls a line every 8 frames: CopyArea, then one new strip.
        if frames % 8 == 0 {
            let moved = store.scroll(&Region::from(scene.panel()), 0, -10)?;
            let strip = moved.union(&Region::from(scene.log_strip()));
            scene.paint_log_line(&mut store.begin_paint(&strip)?, scene.log_strip());
            damage = damage.union(&strip);
        }
        // The overlay: redrawn only when its text changes.
        let s = store.stats();
        let lines = [
            match s.present {
                PresentMode::Off => format!("xbs demo  {}", s.transport.name()),
                mode => format!(
                    "xbs demo  {} {mode:?} {}/{}",
                    s.transport.name(),
                    s.presents,
                    s.present_skips
                ),
            },
            if frame_interval.is_zero() {
                format!("{fps:>7.1} fps")
            } else {
                let ms = frame_interval.as_secs_f64() * 1e3;
                format!("{fps:>7.1} fps  vblank {ms:.2} ms")
            },
            format!("{:>7.2} MB/s uploaded", rate / 1e6),
            format!("{area_per_frame:>7} px damaged/frame"),
        ];
        if let Some(r) = scene.set_overlay(lines) {
            let region = Region::from(r);
            scene.paint_overlay(&mut store.begin_paint(&region)?);
            damage = damage.union(&region);
        }
        if flash {
            // Show what is sent: the damage in red for one frame, repaired the next.
            let mut frame = store.begin_paint(&damage)?;
            for r in damage.rects() {
                frame.fill(r, 0xffff_2020);
            }
            flashed = damage.clone();
            flash = false;
        }
        window.flush(&damage)?;
        damaged_area += damage.area();
        frames += 1;
        second_frames += 1;

        let elapsed = second.elapsed();
        // Numbers every quarter second (every 50 frames when headless and fast).
        if elapsed >= Duration::from_millis(250) || (headless && second_frames >= 50) {
            let bytes = window.store().map_or(0, |s| s.stats().bytes_uploaded);
            fps = f64::from(second_frames) / elapsed.as_secs_f64();
            rate = bytes.saturating_sub(second_bytes) as f64 / elapsed.as_secs_f64();
            area_per_frame = damaged_area / u64::from(second_frames.max(1));
            second = Instant::now();
            second_frames = 0;
            second_bytes = bytes;
            damaged_area = 0;
        }
        if args.frames.is_some_and(|n| frames >= n) {
            return finish(&display, main, args, frames, started);
        }
        if !headless {
            display
                .get_mut(main)
                .ok_or("main window gone")?
                .request_frame()?;
            waiting_frame = true;
        }
    }
}

/// Paints and flushes the whole window.
fn repaint_all(
    window: &mut Window<OwnConnection>,
    scene: &mut Scene,
) -> Result<(), Box<dyn Error>> {
    let (w, h) = window.size();
    let all = Region::from(Rect::new(0, 0, w, h));
    let store = window.store_mut().ok_or("no store")?;
    scene.paint(&mut store.begin_paint(&all)?);
    window.flush(&all)?;
    Ok(())
}

/// Moves to the next transport and present mode that work with this server, saying
/// which were skipped.
fn switch_transport(window: &mut Window<OwnConnection>) -> Result<(), Box<dyn Error>> {
    let s = window.store().map(|s| s.stats()).ok_or("no store")?;
    let at = MODES
        .iter()
        .position(|&m| m == (s.transport, s.present))
        .unwrap_or(0);
    for step in 1..=MODES.len() {
        let (next, present) = MODES[(at + step) % MODES.len()];
        let options = Options::new().transport(next).present(present);
        match window.attach_store(options) {
            Ok(()) => {
                let got = window.store().map(|s| s.stats().present);
                println!("transport: {}, present: {got:?}", next.name());
                return Ok(());
            }
            Err(e) => println!("transport {} skipped: {e}", next.name()),
        }
    }
    window.attach_store(Options::default())?;
    Ok(())
}

fn finish(
    display: &Display<OwnConnection>,
    main: WindowId,
    args: &args::Args,
    frames: u32,
    started: Instant,
) -> Result<(), Box<dyn Error>> {
    let window = display.get(main).ok_or("main window gone")?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{frames} frames in {secs:.2} s ({:.0} fps)",
        f64::from(frames) / secs
    );
    if let Some(store) = window.store() {
        let s = store.stats();
        println!(
            "stats: transport {}, {} bytes uploaded in {} requests over {} flushes, {} buffer switches, {} waits ({:.1} ms), {} segment(s)",
            s.transport.name(),
            s.bytes_uploaded,
            s.requests,
            s.flushes,
            s.switches,
            s.waits,
            s.wait_time.as_secs_f64() * 1e3,
            s.segments_alive
        );
        if s.present != PresentMode::Off {
            println!(
                "present {:?}: {} presents, {} copied, {} flipped, {} skipped",
                s.present, s.presents, s.present_copies, s.present_flips, s.present_skips
            );
        }
    }
    if let Some(path) = &args.screenshot {
        window.connection().get_input_focus()?.reply()?;
        screenshot::save(&**window.connection(), window.id(), path)?;
        println!("screenshot: {}", path.display());
    }
    Ok(())
}
