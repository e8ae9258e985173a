//! `xbs-demo`: opens a window and animates a test pattern through a shared-memory
//! segment. On a desktop it shows the window; with no `$DISPLAY` (or `--headless`) it
//! starts a private Xvfb, runs a fixed number of frames and writes a screenshot.
//!
//! ```text
//! xbs-demo [--headless] [--frames N] [--screenshot FILE.png]
//! ```
#![forbid(unsafe_code)]

mod args;
mod screenshot;

use std::error::Error;
use std::time::Instant;

use x11rb::connection::{Connection, RequestConnection as _};
use x11rb::protocol::xproto::{
    ConnectionExt as _, CreateGCAux, CreateWindowAux, EventMask, ImageFormat, WindowClass,
};
use x11rb::protocol::Event;
use x11rb::wrapper::ConnectionExt as _;
use xbs_shm::{Access, Kind, Segment, ShmCaps};

const WIDTH: u16 = 640;
const HEIGHT: u16 = 400;

fn main() {
    if let Err(e) = run() {
        eprintln!("xbs-demo: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let args = args::Args::parse(std::env::args().skip(1))?;
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
    let gc = conn.generate_id()?;
    conn.create_gc(gc, win, &CreateGCAux::new().graphics_exposures(0))?
        .check()?;
    conn.map_window(win)?;
    conn.flush()?;

    let caps = xbs_shm::probe(&conn)?;
    let kind = if caps.contains(ShmCaps::FD_PASSING) {
        Some(Kind::Fd)
    } else if caps.contains(ShmCaps::SYSV) {
        Some(Kind::SysV)
    } else {
        None
    };
    let len = usize::from(WIDTH) * usize::from(HEIGHT) * 4;
    let mut seg = match kind {
        Some(kind) => Some(Segment::new(&conn, len, kind, Access::ReadOnly)?),
        None => None,
    };
    let mut wire = Vec::new();
    if seg.is_none() {
        wire.try_reserve_exact(len)?;
        wire.resize(len, 0);
    }
    println!(
        "transport: {}",
        kind.map_or("put-image".into(), |k| format!("shm {k:?}"))
    );

    let started = Instant::now();
    let mut frame: u32 = 0;
    loop {
        while let Some(event) = conn.poll_for_event()? {
            match event {
                Event::KeyPress(_) if !args.headless => return Ok(()),
                Event::DestroyNotify(_) => return Ok(()),
                _ => {}
            }
        }
        let pixels = match seg.as_mut() {
            Some(seg) => seg.as_mut_slice(),
            None => wire.as_mut_slice(),
        };
        paint(pixels, frame);
        match &seg {
            Some(seg) => {
                x11rb::protocol::shm::put_image(
                    &conn,
                    win,
                    gc,
                    WIDTH,
                    HEIGHT,
                    0,
                    0,
                    WIDTH,
                    HEIGHT,
                    0,
                    0,
                    screen.root_depth,
                    2,
                    false,
                    seg.seg(),
                    0,
                )?;
            }
            None => {
                // One band per request, under the server's request limit.
                let row = usize::from(WIDTH) * 4;
                let rows = (conn.maximum_request_bytes() - 64) / row;
                let rows = rows.clamp(1, usize::from(HEIGHT));
                for (i, band) in wire.chunks(rows * row).enumerate() {
                    let y = i16::try_from(i * rows)?;
                    let h = u16::try_from(band.len() / row)?;
                    conn.put_image(
                        ImageFormat::Z_PIXMAP,
                        win,
                        gc,
                        WIDTH,
                        h,
                        0,
                        y,
                        0,
                        screen.root_depth,
                        band,
                    )?;
                }
            }
        }
        // Wait for the server to have read this frame before painting the next.
        conn.get_input_focus()?.reply()?;
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
fn paint(pixels: &mut [u8], frame: u32) {
    let w = usize::from(WIDTH);
    let bar = (frame as usize * 4) % w;
    for (i, px) in pixels.chunks_exact_mut(4).enumerate() {
        let (x, y) = (i % w, i / w);
        let t = (x + y + frame as usize) as u32;
        let mut v = ((t & 0xff) << 16) | (((x as u32 * 255) / w as u32) << 8) | ((y as u32) & 0xff);
        if x.abs_diff(bar) < 8 {
            v = 0x00ff_ffff;
        }
        px.copy_from_slice(&v.to_le_bytes());
    }
}
