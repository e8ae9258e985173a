//! A small UI drawn by tiny-skia in a winit window, through xbs on winit's own
//! connection: a gradient background, a rounded button whose hover highlight comes and
//! goes, an image, a line of text (font8x8, no system fonts needed) and a dot moving
//! along a track. Each frame repaints only what changed: the dot's old and new places,
//! and the button when its highlight changes.
//!
//! tiny-skia paints premultiplied bytes R, G, B, A; the store is made with
//! `xbs::Layout::Rgba`, so it converts exactly the flushed rects into the server's
//! words (B, G, R, A on little-endian) as it uploads them.
//!
//! `XBS_EXAMPLE_TRANSPARENT=1` asks winit for an ARGB window (the background becomes
//! half transparent); `XBS_EXAMPLE_FRAMES=N` exits after N frames, after reading pixels
//! back from the server (exit code 1 if a colour is wrong: red and blue swapped,
//! alpha not premultiplied) and, with `XBS_EXAMPLE_SCREENSHOT=FILE.png`, writing what
//! the server shows.

use std::rc::Rc;

use font8x8::UnicodeFonts as _;
use tiny_skia::{
    Color, FillRule, GradientStop, LinearGradient, Paint, PathBuilder, Pixmap, PixmapPaint, Point,
    SpreadMode, Transform,
};
use winit::application::ApplicationHandler;
use winit::event::WindowEvent;
use winit::event_loop::{ActiveEventLoop, EventLoop};
use winit::window::{Window, WindowId};
use x11rb::protocol::xproto::{ConnectionExt as _, ImageFormat};
use xbs::{Layout, Options, Rect, Region};
use xbs_window::{Context, ToolkitStore};

const W: u32 = 360;
const H: u32 = 220;
/// The button, and its colours (a strong red: a swap of red and blue shows at once).
const BUTTON: Rect = Rect::new(24, 120, 140, 48);
const BUTTON_RGB: [u8; 3] = [0xe0, 0x30, 0x20];
const HOVER_RGB: [u8; 3] = [0xff, 0x70, 0x40];
/// The dot's track.
const TRACK_Y: i32 = 190;
const DOT: u32 = 16;

struct Ui {
    transparent: bool,
    image: Pixmap,
}

impl Ui {
    fn new(transparent: bool) -> Ui {
        // The "image": an 8x8 checkerboard of 4-pixel squares, blue and yellow.
        let mut image = Pixmap::new(32, 32).expect("32x32");
        for (i, px) in image.data_mut().chunks_exact_mut(4).enumerate() {
            let (x, y) = (i % 32 / 4, i / 32 / 4);
            let c = if (x + y) % 2 == 0 {
                [0x20, 0x40, 0xd0, 0xff]
            } else {
                [0xf0, 0xd0, 0x20, 0xff]
            };
            px.copy_from_slice(&c);
        }
        Ui { transparent, image }
    }

    /// The dot's rect in frame `n`.
    fn dot(n: u32) -> Rect {
        let x = 200 + (n * 2) % (W - 200 - DOT);
        Rect::new(x as i32, TRACK_Y, DOT, DOT)
    }

    /// Whether the button is hovered in frame `n` (the pointer comes and goes).
    fn hovered(n: u32) -> bool {
        n / 30 % 2 == 1
    }

    /// Renders the scene of frame `n` clipped to `area`, into a pixmap of its size.
    fn render(&self, area: Rect, n: u32) -> Pixmap {
        let mut p = Pixmap::new(area.width, area.height).expect("a non-empty area");
        let t = Transform::from_translate(-area.x as f32, -area.y as f32);
        let alpha = if self.transparent { 0x80 } else { 0xff };
        // Background: a vertical gradient, half transparent on an ARGB window.
        let stops = vec![
            GradientStop::new(0.0, Color::from_rgba8(0x20, 0x30, 0x60, alpha)),
            GradientStop::new(1.0, Color::from_rgba8(0x10, 0x80, 0x70, alpha)),
        ];
        let gradient = LinearGradient::new(
            Point::from_xy(0.0, 0.0),
            Point::from_xy(0.0, H as f32),
            stops,
            SpreadMode::Pad,
            Transform::identity(),
        )
        .expect("two stops");
        let mut paint = Paint {
            shader: gradient,
            ..Paint::default()
        };
        let all = tiny_skia::Rect::from_xywh(0.0, 0.0, W as f32, H as f32).expect("a rect");
        p.fill_rect(all, &paint, t, None);
        // The button: a rounded rect, lighter when hovered.
        let [r, g, b] = if Ui::hovered(n) {
            HOVER_RGB
        } else {
            BUTTON_RGB
        };
        paint = Paint::default();
        paint.set_color_rgba8(r, g, b, 0xff);
        paint.anti_alias = true;
        p.fill_path(&rounded(BUTTON, 10.0), &paint, FillRule::Winding, t, None);
        // The image, and the text.
        p.draw_pixmap(
            300,
            100,
            self.image.as_ref(),
            &PixmapPaint::default(),
            t,
            None,
        );
        paint.set_color_rgba8(0xf0, 0xf0, 0xf0, 0xff);
        paint.anti_alias = false;
        text(&mut p, "xbs + tiny-skia", 24, 40, 2, &paint, t);
        // The track and the dot.
        paint.set_color_rgba8(0x50, 0x50, 0x50, 0xff);
        let track = tiny_skia::Rect::from_xywh(200.0, TRACK_Y as f32 + 7.0, 144.0, 2.0);
        p.fill_rect(track.expect("a rect"), &paint, t, None);
        let d = Ui::dot(n);
        let half = DOT as f32 / 2.0;
        if let Some(circle) = PathBuilder::from_circle(d.x as f32 + half, d.y as f32 + half, half) {
            paint.set_color_rgba8(0x40, 0xe0, 0x60, 0xff);
            paint.anti_alias = true;
            p.fill_path(&circle, &paint, FillRule::Winding, t, None);
        }
        p
    }
}

/// A rect with corners of radius `r`.
fn rounded(rect: Rect, r: f32) -> tiny_skia::Path {
    let (x, y, w, h) = (
        rect.x as f32,
        rect.y as f32,
        rect.width as f32,
        rect.height as f32,
    );
    let mut pb = PathBuilder::new();
    pb.move_to(x + r, y);
    pb.line_to(x + w - r, y);
    pb.quad_to(x + w, y, x + w, y + r);
    pb.line_to(x + w, y + h - r);
    pb.quad_to(x + w, y + h, x + w - r, y + h);
    pb.line_to(x + r, y + h);
    pb.quad_to(x, y + h, x, y + h - r);
    pb.line_to(x, y + r);
    pb.quad_to(x, y, x + r, y);
    pb.close();
    pb.finish().expect("a closed path")
}

/// `s` in font8x8's glyphs, `scale` pixels a dot, from (`x`, `y`).
fn text(p: &mut Pixmap, s: &str, x: i32, y: i32, scale: u32, paint: &Paint, t: Transform) {
    for (i, c) in s.chars().enumerate() {
        let Some(glyph) = font8x8::BASIC_FONTS.get(c) else {
            continue;
        };
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits >> col & 1 == 1 {
                    let gx = x + (i as i32 * 8 + col) * scale as i32;
                    let gy = y + row as i32 * scale as i32;
                    if let Some(dot) =
                        tiny_skia::Rect::from_xywh(gx as f32, gy as f32, scale as f32, scale as f32)
                    {
                        p.fill_rect(dot, paint, t, None);
                    }
                }
            }
        }
    }
}

struct App {
    ui: Ui,
    window: Option<Rc<Window>>,
    store: Option<ToolkitStore<Rc<Window>>>,
    frame: u32,
    max_frames: Option<u32>,
    failed: Option<String>,
    /// Pixels repainted over the run, for the report.
    repainted: u64,
}

impl App {
    fn paint(&mut self) -> Result<(), Box<dyn std::error::Error>> {
        let Some(store) = &mut self.store else {
            return Ok(());
        };
        let n = self.frame;
        let damage = if n == 0 {
            Region::from(Rect::new(0, 0, W, H))
        } else {
            let mut changed = vec![Ui::dot(n - 1), Ui::dot(n)];
            if Ui::hovered(n) != Ui::hovered(n - 1) {
                changed.push(BUTTON);
            }
            Region::from_rects(changed)
        };
        let damage = damage.intersect_rect(Rect::new(0, 0, W, H));
        let bounds = damage.bounds();
        let scene = self.ui.render(bounds, n);
        let mut frame = store.begin_paint(&damage)?;
        assert!(
            frame.format().is_rgba(),
            "the store was made with Layout::Rgba"
        );
        let mut rects = frame.rects_mut();
        while let Some(mut r) = rects.next() {
            let rect = r.rect();
            let (x0, w) = ((rect.x - bounds.x) as usize * 4, rect.width as usize * 4);
            for (y, row) in r.rows_mut() {
                let from = (y - bounds.y) as usize * bounds.width as usize * 4 + x0;
                row.copy_from_slice(&scene.data()[from..from + w]);
            }
        }
        store.flush(&damage)?;
        self.repainted += damage.area();
        self.frame += 1;
        Ok(())
    }

    /// Reads back pixels of known colour: the button's fill and the background.
    fn check(&self) -> Result<(), String> {
        let store = self.store.as_ref().ok_or("no store")?;
        let conn = store.connection();
        let read = |x: i16, y: i16| -> Result<u32, String> {
            let img = conn
                .get_image(ImageFormat::Z_PIXMAP, store.window(), x, y, 1, 1, !0)
                .map_err(|e| e.to_string())?
                .reply()
                .map_err(|e| e.to_string())?;
            Ok(u32::from_le_bytes([
                img.data[0],
                img.data[1],
                img.data[2],
                img.data[3],
            ]))
        };
        let [r, g, b] = if Ui::hovered(self.frame - 1) {
            HOVER_RGB
        } else {
            BUTTON_RGB
        };
        let button = read(BUTTON.x as i16 + 70, BUTTON.y as i16 + 4)?;
        let want = u32::from_be_bytes([0, r, g, b]);
        // The background's top row, premultiplied on an ARGB window: the colour of the
        // gradient's first stop times alpha 0x80 (as tiny-skia rounds), alpha 0x80.
        let background = read(W as i16 - 3, 0)?;
        let (mask, want_bg) = if self.ui.transparent {
            let pm = |c: u32| (c * 0x80 + 127) / 255;
            (
                0xffff_ffff,
                0x80 << 24 | pm(0x20) << 16 | pm(0x30) << 8 | pm(0x60),
            )
        } else {
            (0xff_ffff, 0x20_3060)
        };
        if button & 0xff_ffff != want {
            return Err(format!("the button reads {button:08x}, painted {want:06x}"));
        }
        // One step of rounding either way in each channel.
        let near = |a: u32, b: u32| {
            (0..4).all(|i| ((a >> (8 * i)) as u8).abs_diff((b >> (8 * i)) as u8) <= 1)
        };
        if !near(background & mask, want_bg) {
            return Err(format!(
                "the background reads {background:08x}, painted {want_bg:08x}"
            ));
        }
        Ok(())
    }
}

impl App {
    /// With `XBS_EXAMPLE_SCREENSHOT=FILE.png`, writes what the server shows.
    fn screenshot(&self) -> Result<(), String> {
        let Some(path) = std::env::var_os("XBS_EXAMPLE_SCREENSHOT") else {
            return Ok(());
        };
        let store = self.store.as_ref().ok_or("no store")?;
        let img = store
            .connection()
            .get_image(
                ImageFormat::Z_PIXMAP,
                store.window(),
                0,
                0,
                W as u16,
                H as u16,
                !0,
            )
            .map_err(|e| e.to_string())?
            .reply()
            .map_err(|e| e.to_string())?;
        // B, G, R, x words (little-endian) to R, G, B.
        let rgb: Vec<u8> = img
            .data
            .chunks_exact(4)
            .flat_map(|p| [p[2], p[1], p[0]])
            .collect();
        let file = std::fs::File::create(&path).map_err(|e| e.to_string())?;
        let mut png = png::Encoder::new(std::io::BufWriter::new(file), W, H);
        png.set_color(png::ColorType::Rgb);
        png.set_depth(png::BitDepth::Eight);
        let mut writer = png.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(&rgb).map_err(|e| e.to_string())
    }
}

impl ApplicationHandler for App {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        let attrs = Window::default_attributes()
            .with_title("xbs + tiny-skia")
            .with_resizable(false)
            .with_transparent(self.ui.transparent)
            .with_inner_size(winit::dpi::PhysicalSize::new(W, H));
        let window = match event_loop.create_window(attrs) {
            Ok(w) => Rc::new(w),
            Err(e) => {
                self.failed = Some(e.to_string());
                return event_loop.exit();
            }
        };
        let options = Options::new().layout(Layout::Rgba);
        match Context::new(window.clone()).and_then(|c| c.store(&window, options)) {
            Ok(store) => {
                println!(
                    "tiny_skia: store on winit's connection, {:?}, transport {}",
                    store.format().pixel,
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
                    // The UI keeps its size; the store follows the window.
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
                    if let Err(e) = self.check().and_then(|()| self.screenshot()) {
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
    let transparent = std::env::var_os("XBS_EXAMPLE_TRANSPARENT").is_some();
    let mut app = App {
        ui: Ui::new(transparent),
        window: None,
        store: None,
        frame: 0,
        max_frames: std::env::var("XBS_EXAMPLE_FRAMES")
            .ok()
            .and_then(|v| v.parse().ok()),
        failed: None,
        repainted: 0,
    };
    let result = EventLoop::new()
        .map_err(|e| e.to_string())
        .and_then(|event_loop| event_loop.run_app(&mut app).map_err(|e| e.to_string()));
    if let Err(e) = result {
        app.failed.get_or_insert(e);
    }
    match app.failed {
        Some(e) => {
            eprintln!("tiny_skia: {e}");
            std::process::exit(1);
        }
        None => println!(
            "tiny_skia: {} frames painted and read back, {} pixels a frame repainted on average",
            app.frame,
            app.repainted / u64::from(app.frame.max(1))
        ),
    }
}
