//! One winit app, written once for softbuffer's API and compiled twice: against
//! `softbuffer` and against `xbs_window`. The `app!` macro below takes the crate
//! name and nothing else, so porting an app from softbuffer to xbs is changing that
//! name (`softbuffer::Context`, `Surface`, `Rect` → `xbs_window::Context`, `Surface`,
//! `Rect`).
//!
//! The app draws a gradient on a full frame (when the buffer's age says its content is
//! unknown) and then moves a square, presenting only the square's old and new rects.
//! `XBS_EXAMPLE_BACKEND=softbuffer|xbs` (default xbs) picks the crate;
//! `XBS_EXAMPLE_FRAMES=N` exits after N frames, after reading pixels back from the
//! server (exit code 1 if they are wrong).

use std::num::NonZeroU32;
use std::rc::Rc;

use winit::application::ApplicationHandler;
use winit::event::WindowEvent;
use winit::event_loop::{ActiveEventLoop, EventLoop};
use winit::window::{Window, WindowId};

const SQUARE: u32 = 24;
const SQUARE_COLOUR: u32 = 0x00ff_c000;

/// The gradient at (x, y), 0RGB.
fn gradient(x: u32, y: u32) -> u32 {
    (x % 255) << 16 | (y % 255) << 8 | ((x * y) % 255)
}

/// The square's rect in frame `n` of a `w`-wide window.
fn square_at(n: u32, w: u32) -> (u32, u32) {
    ((n * 5) % (w - SQUARE), 40)
}

macro_rules! app {
    ($sb:ident) => {
        pub struct App {
            pub window: Option<Rc<Window>>,
            pub surface: Option<$sb::Surface<Rc<Window>, Rc<Window>>>,
            pub frame: u32,
            /// Frames presented with damage only (the buffer held the last frame).
            pub damaged: u32,
            pub max_frames: Option<u32>,
            pub failed: Option<String>,
            last: Option<(u32, u32)>,
        }

        impl App {
            pub fn new(max_frames: Option<u32>) -> Self {
                App {
                    window: None,
                    surface: None,
                    frame: 0,
                    damaged: 0,
                    max_frames,
                    failed: None,
                    last: None,
                }
            }

            fn draw(&mut self) -> Result<(), Box<dyn std::error::Error>> {
                let (Some(window), Some(surface)) = (&self.window, &mut self.surface) else {
                    return Ok(());
                };
                let size = window.inner_size();
                let (w, h) = (size.width.max(SQUARE + 1), size.height.max(80));
                surface.resize(NonZeroU32::new(w).unwrap(), NonZeroU32::new(h).unwrap())?;
                let mut buffer = surface.buffer_mut()?;
                let (x, y) = square_at(self.frame, w);
                let paint_square = |buffer: &mut [u32]| {
                    for row in y..y + SQUARE {
                        let start = (row * w + x) as usize;
                        buffer[start..start + SQUARE as usize].fill(SQUARE_COLOUR);
                    }
                };
                match self.last {
                    Some((ox, oy)) if buffer.age() == 1 => {
                        // The buffer holds the last frame: put the gradient back where
                        // the square was, draw it anew, present those two rects.
                        for row in oy..oy + SQUARE {
                            for col in ox..ox + SQUARE {
                                buffer[(row * w + col) as usize] = gradient(col, row);
                            }
                        }
                        paint_square(&mut buffer);
                        let rect = |x: u32, y: u32| $sb::Rect {
                            x,
                            y,
                            width: NonZeroU32::new(SQUARE).unwrap(),
                            height: NonZeroU32::new(SQUARE).unwrap(),
                        };
                        buffer.present_with_damage(&[rect(ox, oy), rect(x, y)])?;
                        self.damaged += 1;
                    }
                    _ => {
                        for index in 0..(w * h) {
                            buffer[index as usize] = gradient(index % w, index / w);
                        }
                        paint_square(&mut buffer);
                        buffer.present()?;
                    }
                }
                self.last = Some((x, y));
                self.frame += 1;
                Ok(())
            }
        }

        impl ApplicationHandler for App {
            fn resumed(&mut self, event_loop: &ActiveEventLoop) {
                let attrs = Window::default_attributes()
                    .with_title("surface_port")
                    .with_inner_size(winit::dpi::PhysicalSize::new(320, 200));
                let window = match event_loop.create_window(attrs) {
                    Ok(w) => Rc::new(w),
                    Err(e) => {
                        self.failed = Some(e.to_string());
                        return event_loop.exit();
                    }
                };
                let context = $sb::Context::new(window.clone());
                let surface = context.and_then(|c| $sb::Surface::new(&c, window.clone()));
                match surface {
                    Ok(surface) => self.surface = Some(surface),
                    Err(e) => {
                        self.failed = Some(e.to_string());
                        return event_loop.exit();
                    }
                }
                window.request_redraw();
                self.window = Some(window);
            }

            fn window_event(&mut self, event_loop: &ActiveEventLoop, _: WindowId, e: WindowEvent) {
                match e {
                    WindowEvent::CloseRequested => event_loop.exit(),
                    WindowEvent::RedrawRequested => {
                        if let Err(e) = self.draw() {
                            self.failed = Some(e.to_string());
                            return event_loop.exit();
                        }
                        if self.max_frames.is_some_and(|max| self.frame >= max) {
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
    };
}

mod on_softbuffer {
    use super::*;
    app!(softbuffer);
}

mod on_xbs {
    use super::*;
    app!(xbs_window);
}

/// Reads back a pixel inside the last square and one of the gradient, through a
/// connection of its own.
fn check(window: &Window, frame: u32) -> Result<(), String> {
    use raw_window_handle::{HasWindowHandle, RawWindowHandle};
    use x11rb::protocol::xproto::{ConnectionExt as _, ImageFormat};
    let id = match window.window_handle().map_err(|e| e.to_string())?.as_raw() {
        RawWindowHandle::Xlib(h) => h.window as u32,
        RawWindowHandle::Xcb(h) => h.window.get(),
        other => return Err(format!("not X11: {other:?}")),
    };
    let (conn, _) = x11rb::connect(None).map_err(|e| e.to_string())?;
    let w = window.inner_size().width.max(SQUARE + 1);
    let (x, y) = square_at(frame - 1, w);
    let pixel = |x: u32, y: u32| -> Result<u32, String> {
        let img = conn
            .get_image(ImageFormat::Z_PIXMAP, id, x as i16, y as i16, 1, 1, !0)
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
    let (inside, outside) = (pixel(x + 3, y + 3)?, pixel(7, 150)?);
    if inside != SQUARE_COLOUR || outside != gradient(7, 150) {
        return Err(format!(
            "read back {inside:06x} in the square, {outside:06x} at (7, 150); painted \
             {SQUARE_COLOUR:06x} and {:06x}",
            gradient(7, 150)
        ));
    }
    Ok(())
}

fn main() {
    let max_frames = std::env::var("XBS_EXAMPLE_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok());
    let backend = std::env::var("XBS_EXAMPLE_BACKEND").unwrap_or_else(|_| "xbs".into());
    let event_loop = EventLoop::new().expect("an event loop");
    let (failed, frames, damaged, checked) = match backend.as_str() {
        "softbuffer" => {
            let mut app = on_softbuffer::App::new(max_frames);
            let run = event_loop.run_app(&mut app);
            let checked = app.window.as_deref().map(|w| check(w, app.frame));
            let failed = app.failed.or(run.err().map(|e| e.to_string()));
            (failed, app.frame, app.damaged, checked)
        }
        _ => {
            let mut app = on_xbs::App::new(max_frames);
            let run = event_loop.run_app(&mut app);
            let checked = app.window.as_deref().map(|w| check(w, app.frame));
            let failed = app.failed.or(run.err().map(|e| e.to_string()));
            (failed, app.frame, app.damaged, checked)
        }
    };
    let failed = failed.or(match (max_frames, checked) {
        (Some(_), Some(Err(e))) => Some(e),
        _ => None,
    });
    match failed {
        Some(e) => {
            eprintln!("surface_port ({backend}): {e}");
            std::process::exit(1);
        }
        None => println!(
            "surface_port ({backend}): {frames} frames presented and read back, \
             {damaged} of them with damage only"
        ),
    }
}
