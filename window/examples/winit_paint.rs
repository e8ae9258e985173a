//! A window made by winit, painted with xbs: `BackingStore::from_raw_handles` finds the
//! X11 window through raw-window-handle, on a connection of xbs's own.
//!
//! `cargo run -p xbs-window --example winit_paint` opens a window; with
//! `XBS_EXAMPLE_FRAMES=N` it exits after N frames, after reading a pixel back from the
//! server to check that the paint arrived (exit code 1 if not).

use std::error::Error;

use winit::application::ApplicationHandler;
use winit::event::WindowEvent;
use winit::event_loop::{ActiveEventLoop, EventLoop};
use winit::window::{Window, WindowId};
use x11rb::protocol::xproto::{ConnectionExt as _, ImageFormat};
use x11rb::rust_connection::RustConnection;
use xbs::{BackingStore, Rect, Region};

#[derive(Default)]
struct App {
    window: Option<Window>,
    store: Option<BackingStore<RustConnection>>,
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
        let all = Region::from(Rect::new(0, 0, w, h));
        let t = self.frame;
        let mut frame = store.begin_paint(&all)?;
        let stride = frame.stride();
        for (y, row) in frame.pixels_mut()?.chunks_exact_mut(stride).enumerate() {
            for (x, px) in row[..w as usize * 4].chunks_exact_mut(4).enumerate() {
                let v = 0xff00_0000 | ((x as u32 + t) & 0xff) << 16 | (y as u32 & 0xff) << 8 | 0x80;
                px.copy_from_slice(&v.to_ne_bytes());
            }
        }
        store.flush(&all)?;
        self.frame += 1;
        Ok(())
    }

    /// Reads pixel (3, 2) back from the server and compares it with the last frame.
    fn check(&self) -> Result<(), String> {
        let store = self.store.as_ref().ok_or("no store")?;
        let conn = store.connection();
        let img = conn
            .get_image(ImageFormat::Z_PIXMAP, store.window(), 3, 2, 1, 1, !0)
            .map_err(|e| e.to_string())?
            .reply()
            .map_err(|e| e.to_string())?;
        let want = ((3 + self.frame - 1) & 0xff) << 16 | 2 << 8 | 0x80;
        let got = u32::from_le_bytes([img.data[0], img.data[1], img.data[2], 0]);
        if got == want {
            Ok(())
        } else {
            Err(format!("pixel (3, 2) is {got:06x}, painted {want:06x}"))
        }
    }
}

impl ApplicationHandler for App {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        let attrs = Window::default_attributes()
            .with_title("xbs in a winit window")
            .with_inner_size(winit::dpi::PhysicalSize::new(400, 300));
        let window = match event_loop.create_window(attrs) {
            Ok(w) => w,
            Err(e) => {
                self.failed = Some(format!("winit could not make a window: {e}"));
                return event_loop.exit();
            }
        };
        let made = x11rb::connect(None)
            .map_err(|e| e.to_string())
            .and_then(|(conn, _)| {
                BackingStore::from_raw_handles(conn, &window).map_err(|e| e.to_string())
            });
        match made {
            Ok(store) => {
                println!(
                    "xbs store on winit's window, transport {}",
                    store.transport().name()
                );
                self.store = Some(store);
            }
            Err(e) => {
                self.failed = Some(e);
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
        None => println!("winit_paint: {} frames painted and read back", app.frame),
    }
}
