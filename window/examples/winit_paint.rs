//! A window made by winit, painted with xbs on winit's own X connection: an
//! `xbs_window::Context` borrows the connection behind winit's display handle, and its
//! store asks the server for no event, since winit reads them all.
//!
//! `cargo run -p xbs-window --example winit_paint` opens a window with a square moving
//! over a pattern; each frame repaints and flushes only the square's old and new rects.
//! With `XBS_EXAMPLE_FRAMES=N` it exits after N frames, after reading pixels back from
//! the server to check that the paint arrived (exit code 1 if not), and prints its
//! peak resident memory.

use std::error::Error;
use std::rc::Rc;

use winit::application::ApplicationHandler;
use winit::event::WindowEvent;
use winit::event_loop::{ActiveEventLoop, EventLoop};
use winit::window::{Window, WindowId};
use x11rb::protocol::xproto::{ConnectionExt as _, ImageFormat};
use xbs::{Options, Rect, Region};
use xbs_window::{Context, ToolkitStore};

const SQUARE: u32 = 32;
const SQUARE_COLOUR: u32 = 0xffff_8000;

/// The background at (x, y).
fn pattern(x: u32, y: u32) -> u32 {
    0xff00_0000 | (x & 0xff) << 16 | (y & 0xff) << 8 | 0x80
}

#[derive(Default)]
struct App {
    window: Option<Rc<Window>>,
    store: Option<ToolkitStore<Rc<Window>>>,
    /// Where the square was last painted.
    square: Option<Rect>,
    frame: u32,
    max_frames: Option<u32>,
    failed: Option<String>,
}

impl App {
    fn paint(&mut self) -> Result<(), Box<dyn Error>> {
        let Some(store) = &mut self.store else {
            return Ok(());
        };
        let (w, h) = store.size();
        if w < SQUARE || h < SQUARE {
            return Ok(());
        }
        let at = (self.frame * 3) % (w - SQUARE + 1);
        let square = Rect::new(at as i32, (h.min(80) - SQUARE) as i32, SQUARE, SQUARE);
        // The whole window the first time, else the square's old and new places.
        let damage = match self.square {
            None => Region::from(Rect::new(0, 0, w, h)),
            Some(old) => Region::from_rects([old, square]),
        };
        let mut frame = store.begin_repaint(&damage)?;
        let mut rects = frame.rects_mut();
        while let Some(mut r) = rects.next() {
            let left = r.rect().x as u32;
            for (y, row) in r.rows_mut() {
                for (i, px) in row.chunks_exact_mut(4).enumerate() {
                    let x = left + i as u32;
                    let inside = square.intersects(&Rect::new(x as i32, y, 1, 1));
                    let v = if inside {
                        SQUARE_COLOUR
                    } else {
                        pattern(x, y as u32)
                    };
                    px.copy_from_slice(&v.to_ne_bytes());
                }
            }
        }
        store.flush(&damage)?;
        self.square = Some(square);
        self.frame += 1;
        Ok(())
    }

    /// Reads back a pixel of the square and one of the background.
    fn check(&self) -> Result<(), String> {
        let store = self.store.as_ref().ok_or("no store")?;
        let square = self.square.ok_or("nothing painted")?;
        let conn = store.connection();
        let pixel = |x: i32, y: i32| -> Result<u32, String> {
            let img = conn
                .get_image(
                    ImageFormat::Z_PIXMAP,
                    store.window(),
                    x as i16,
                    y as i16,
                    1,
                    1,
                    !0,
                )
                .map_err(|e| e.to_string())?
                .reply()
                .map_err(|e| e.to_string())?;
            Ok(u32::from_le_bytes([
                img.data[0],
                img.data[1],
                img.data[2],
                0,
            ]))
        };
        let inside = pixel(square.x + 5, square.y + 5)?;
        let outside = pixel(3, 2)?;
        let (want_in, want_out) = (SQUARE_COLOUR & 0xff_ffff, pattern(3, 2) & 0xff_ffff);
        if inside != want_in || outside != want_out {
            return Err(format!(
                "read back {inside:06x} in the square and {outside:06x} at (3, 2); \
                 painted {want_in:06x} and {want_out:06x}"
            ));
        }
        Ok(())
    }
}

impl ApplicationHandler for App {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        let attrs = Window::default_attributes()
            .with_title("xbs in a winit window")
            .with_inner_size(winit::dpi::PhysicalSize::new(400, 300));
        let window = match event_loop.create_window(attrs) {
            Ok(w) => Rc::new(w),
            Err(e) => {
                self.failed = Some(format!("winit could not make a window: {e}"));
                return event_loop.exit();
            }
        };
        // winit's connection, borrowed; the context keeps the window (and so the
        // connection) alive as long as the store.
        let made =
            Context::new(window.clone()).and_then(|context| context.store(&window, Options::new()));
        match made {
            Ok(store) => {
                println!(
                    "xbs store on winit's own connection, transport {}",
                    store.transport().name()
                );
                self.store = Some(store);
            }
            Err(e) => {
                self.failed = Some(e.to_string());
                return event_loop.exit();
            }
        }
        window.request_redraw();
        self.window = Some(window);
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _: WindowId, event: WindowEvent) {
        match event {
            WindowEvent::CloseRequested => event_loop.exit(),
            WindowEvent::Resized(size) => {
                if let Some(store) = &mut self.store {
                    if let Err(e) = store.resize(size.width.max(1), size.height.max(1)) {
                        self.failed = Some(e.to_string());
                        event_loop.exit();
                    }
                    // Repaint everything at the new size.
                    self.square = None;
                }
            }
            WindowEvent::RedrawRequested => {
                if let Err(e) = self.paint() {
                    self.failed = Some(e.to_string());
                    return event_loop.exit();
                }
                if self.max_frames.is_some_and(|max| self.frame >= max) {
                    if let Err(e) = self.check() {
                        self.failed = Some(e);
                    }
                    return event_loop.exit();
                }
                if let Some(w) = &self.window {
                    w.request_redraw();
                }
            }
            _ => {}
        }
    }
}

/// Peak resident memory (VmHWM) in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let mut app = App {
        max_frames: std::env::var("XBS_EXAMPLE_FRAMES")
            .ok()
            .and_then(|v| v.parse().ok()),
        ..App::default()
    };
    let result = EventLoop::new()
        .map_err(|e| e.to_string())
        .and_then(|event_loop| event_loop.run_app(&mut app).map_err(|e| e.to_string()));
    if let Err(e) = result {
        app.failed.get_or_insert(e);
    }
    match app.failed {
        Some(e) => {
            eprintln!("winit_paint: {e}");
            std::process::exit(1);
        }
        None => {
            println!("winit_paint: {} frames painted and read back", app.frame);
            if let Some(kib) = peak_rss_kib() {
                println!("winit_paint: peak RSS {kib} KiB");
            }
        }
    }
}
