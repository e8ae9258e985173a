//! `xbs-demo`: opens a window and animates a test pattern through an xbs
//! `BackingStore`. On a desktop it shows the window; with no `$DISPLAY` (or `--headless`) it
//! starts a private Xvfb, runs a fixed number of frames and writes a screenshot.
//!
//! ```text
//! xbs-demo [--headless] [--frames N] [--screenshot FILE.png]
//! ```
#![deny(unsafe_code)]

mod alloc_count;
mod args;
mod bench;
mod chart;
mod paint;
mod screenshot;

#[global_allocator]
static ALLOCATOR: alloc_count::Counting = alloc_count::Counting;

use std::error::Error;
use std::time::Instant;

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt as _, CreateWindowAux, EventMask, WindowClass};
use x11rb::protocol::Event;
use x11rb::wrapper::ConnectionExt as _;
use xbs::{BackingStore, Frame, Options, Rect, Region};

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
        Some("run") => {
            argv.next();
        }
        _ => {}
    }
    let args = args::Args::parse(argv)?;
    // Keeps the private server alive for the whole run when headless.
    let mut _server = None;
    let display = if args.headless {
        let server = xbs_tests::XServer::builder().size(WIDTH, HEIGHT).start()?;
        let name = server.display_name();
        println!("headless: started a private Xvfb on {name}");
        _server = Some(server);
        Some(name)
    } else {
        None
    };
    let (conn, screen_num) = x11rb::connect(display.as_deref())?;
    let screen = &conn.setup().roots[screen_num];
    let win = conn.generate_id()?;
    conn.create_window(
        screen.root_depth,
        win,
        screen.root,
        0,
        0,
        WIDTH,
        HEIGHT,
        0,
        WindowClass::INPUT_OUTPUT,
        screen.root_visual,
        &CreateWindowAux::new()
            .background_pixel(screen.black_pixel)
            .event_mask(EventMask::EXPOSURE | EventMask::KEY_PRESS | EventMask::STRUCTURE_NOTIFY),
    )?
    .check()?;
    conn.change_property8(
        x11rb::protocol::xproto::PropMode::REPLACE,
        win,
        x11rb::protocol::xproto::AtomEnum::WM_NAME,
        x11rb::protocol::xproto::AtomEnum::STRING,
        b"xbs demo",
    )?;
    conn.map_window(win)?;
    conn.flush()?;

    // The store picks the transport (shm-fd, shm-sysv, or put-image) by probing.
    let mut store = BackingStore::new(&conn, win, Options::default())?;
    println!("transport: {}", store.transport().name());
    let whole = Region::from(Rect::new(0, 0, WIDTH.into(), HEIGHT.into()));

    let started = Instant::now();
    let mut frame: u32 = 0;
    loop {
        while let Some(event) = conn.poll_for_event()? {
            match event {
                Event::KeyPress(_) if !args.headless => return Ok(()),
                Event::DestroyNotify(_) => return Ok(()),
                Event::Expose(e) => {
                    let r = Rect::new(e.x.into(), e.y.into(), e.width.into(), e.height.into());
                    store.expose(&Region::from(r))?;
                }
                other => {
                    store.handle_event(&other);
                }
            }
        }
        // Waits only if the server is still reading the previous frame.
        paint(&mut store.begin_paint(&whole)?, frame);
        store.flush(&whole)?;
        frame += 1;
        if args.headless && frame >= args.frames {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{frame} frames in {secs:.2} s ({:.0} fps)",
        f64::from(frame) / secs
    );
    if let Some(path) = &args.screenshot {
        screenshot::save(&conn, win, path)?;
        println!("screenshot: {}", path.display());
    }
    Ok(())
}

/// A moving test pattern: diagonal colour bands and a bright bar sweeping across.
fn paint(frame: &mut Frame<'_>, n: u32) {
    let w = frame.width() as usize;
    let bar = (n as usize * 4) % w;
    for (y, row) in frame.rows_mut().enumerate() {
        for (x, px) in row.chunks_exact_mut(4).enumerate() {
            let t = (x + y + n as usize) as u32;
            let mut v =
                ((t & 0xff) << 16) | (((x as u32 * 255) / w as u32) << 8) | ((y as u32) & 0xff);
            if x.abs_diff(bar) < 8 {
                v = 0x00ff_ffff;
            }
            px.copy_from_slice(&v.to_ne_bytes());
        }
    }
}
