//! The demo's scene, painted only where it changed: a static background, sprites
//! moving at different speeds (old and new rects repainted), a log panel that scrolls
//! (`scroll` + the new strip), and a stats overlay redrawn only when its text changes.

use font8x8::UnicodeFonts;
use xbs::{Frame, Rect, Region};

const PANEL_W: u32 = 240;
const LINE: u32 = 10;
const OVERLAY: Rect = Rect::new(8, 8, 300, 4 * LINE + 8);
const SPRITE: u32 = 28;

struct Sprite {
    x: i32,
    y: i32,
    dx: i32,
    dy: i32,
    colour: u32,
}

impl Sprite {
    fn rect(&self) -> Rect {
        Rect::new(self.x, self.y, SPRITE, SPRITE)
    }
}

/// The scene's state; each `step` says what changed as a damage region.
pub struct Scene {
    width: u32,
    height: u32,
    sprites: Vec<Sprite>,
    frame: u64,
    lines: u64,
    overlay: [String; 4],
    overlay_drawn: bool,
}

/// The static background: a soft checkerboard with a diagonal tint.
fn background(x: i32, y: i32) -> u32 {
    let check = ((x >> 5) ^ (y >> 5)) & 1;
    let base = if check == 0 { 0x20 } else { 0x2c };
    // A triangle wave along the diagonal: no seams.
    let t = ((x + y) >> 4).rem_euclid(64) as u32;
    let tint = if t < 32 { t } else { 63 - t };
    0xff00_0000 | (base << 16) | ((base + tint) << 8) | (base + 2 * tint)
}

impl Scene {
    pub fn new(width: u32, height: u32) -> Scene {
        let colours = [
            0xffe0_6040,
            0xff40_c070,
            0xff50_80e0,
            0xffe0_c040,
            0xffc0_50d0,
            0xff40_d0d0,
        ];
        let sprites = colours
            .iter()
            .enumerate()
            .map(|(i, &colour)| {
                let i = i as i32;
                Sprite {
                    x: 40 + i * 47,
                    y: 70 + i * 31,
                    dx: 1 + i % 4,
                    dy: 2 + (i * 3) % 5 - 3,
                    colour,
                }
            })
            .collect();
        Scene {
            width,
            height,
            sprites,
            frame: 0,
            lines: 0,
            overlay: Default::default(),
            overlay_drawn: false,
        }
    }

    pub fn resize(&mut self, width: u32, height: u32) {
        self.width = width;
        self.height = height;
        self.overlay_drawn = false;
    }

    /// The log panel on the right, below the top edge.
    pub fn panel(&self) -> Rect {
        let w = PANEL_W.min(self.width / 2);
        Rect::new(self.width as i32 - w as i32, 0, w, self.height)
    }

    /// Where sprites move: left of the panel.
    fn field(&self) -> Rect {
        Rect::new(0, 0, self.width - self.panel().width, self.height)
    }

    /// Paints everything inside the frame's region: after a resize, a transport
    /// switch, or to repair what the damage flash covered.
    pub fn paint(&mut self, frame: &mut Frame<'_>) {
        let region = frame.region().clone();
        self.paint_region(frame);
        let panel = self.panel();
        if region.intersects_rect(panel) {
            fill(frame, panel, 0xff10_1418);
            let rows = panel.height / LINE;
            for i in 0..rows {
                // Rows above the oldest line stay empty.
                let Some(n) = self.lines.checked_sub(u64::from(rows - i)) else {
                    continue;
                };
                let y = panel.y + (i * LINE) as i32;
                text(
                    frame,
                    panel.x + 6,
                    y + 1,
                    &log_line(n),
                    0xff90_b0a0,
                    0xff10_1418,
                );
            }
        }
        if region.intersects_rect(OVERLAY) {
            self.paint_overlay(frame);
        }
    }

    /// Background and sprites inside the frame's region of the field.
    fn paint_region(&self, frame: &mut Frame<'_>) {
        let field = self.field();
        let right = field.x + field.width as i32;
        let mut rects = frame.rects_mut();
        while let Some(mut rect) = rects.next() {
            let r = rect.rect();
            let inside = (right - r.x).clamp(0, r.width as i32) as usize;
            for (y, row) in rect.rows_mut() {
                for (i, px) in row[..inside * 4].chunks_exact_mut(4).enumerate() {
                    px.copy_from_slice(&background(r.x + i as i32, y).to_ne_bytes());
                }
            }
        }
        for s in &self.sprites {
            let r = s.rect();
            if frame.region().intersects_rect(r) {
                fill(frame, r, s.colour);
                fill(
                    frame,
                    Rect::new(r.x + 6, r.y + 6, SPRITE - 12, SPRITE - 12),
                    0xfff0_f0f0,
                );
            }
        }
    }

    /// Moves the sprites; returns the damage (old and new rects).
    pub fn move_sprites(&mut self, damage: &mut Region) {
        let field = self.field();
        for s in &mut self.sprites {
            damage.add_rect(s.rect());
            s.x += s.dx;
            s.y += s.dy;
            let (maxx, maxy) = (
                field.width as i32 - SPRITE as i32,
                field.height as i32 - SPRITE as i32,
            );
            if s.x < 0 || s.x > maxx {
                s.dx = -s.dx;
                s.x = s.x.clamp(0, maxx.max(0));
            }
            // Sprites stay below the overlay.
            let top = OVERLAY.y + OVERLAY.height as i32 + 4;
            if s.y < top || s.y > maxy {
                s.dy = -s.dy;
                s.y = s.y.clamp(top, maxy.max(top));
            }
            damage.add_rect(s.rect());
        }
        self.frame += 1;
    }

    /// Paints the sprites' damage: the frame's region.
    pub fn paint_sprites(&self, frame: &mut Frame<'_>) {
        self.paint_region(frame);
    }

    /// The region a new log line needs after `scroll` moved the panel up one line.
    pub fn log_strip(&self) -> Rect {
        let p = self.panel();
        let rows = (p.height / LINE).max(1);
        Rect::new(
            p.x,
            p.y + ((rows - 1) * LINE) as i32,
            p.width,
            p.height - (rows - 1) * LINE,
        )
    }

    /// Paints the newest log line into `strip`.
    pub fn paint_log_line(&mut self, frame: &mut Frame<'_>, strip: Rect) {
        fill(frame, strip, 0xff10_1418);
        let line = log_line(self.lines);
        text(
            frame,
            strip.x + 6,
            strip.y + 1,
            &line,
            0xff90_b0a0,
            0xff10_1418,
        );
        self.lines += 1;
    }

    /// Sets the overlay's text; returns its rect when it changed (to repaint and flush).
    pub fn set_overlay(&mut self, lines: [String; 4]) -> Option<Rect> {
        if self.overlay_drawn && lines == self.overlay {
            return None;
        }
        self.overlay = lines;
        self.overlay_drawn = false;
        Some(OVERLAY)
    }

    pub fn paint_overlay(&mut self, frame: &mut Frame<'_>) {
        fill(frame, OVERLAY, 0xe010_1010);
        for (i, l) in self.overlay.iter().enumerate() {
            text(
                frame,
                OVERLAY.x + 6,
                OVERLAY.y + 5 + (i as u32 * LINE) as i32,
                l,
                0xfff0_f0f0,
                0xe010_1010,
            );
        }
        self.overlay_drawn = true;
    }
}

fn log_line(n: u64) -> String {
    format!("{n:>6}  flush ok  {:>3} rects", (n * 7) % 97)
}

/// Fills `r` (clipped to the frame's region) with `pixel`.
fn fill(frame: &mut Frame<'_>, r: Rect, pixel: u32) {
    frame.fill(r, pixel);
}

/// Draws `s` with the 8×8 font at (x, y), clipped to the frame's region.
pub fn text(frame: &mut Frame<'_>, x: i32, y: i32, s: &str, fg: u32, bg: u32) {
    let glyphs: Vec<[u8; 8]> = s
        .chars()
        .map(|ch| font8x8::BASIC_FONTS.get(ch).unwrap_or([0; 8]))
        .collect();
    let right = x + glyphs.len() as i32 * 8;
    let mut rects = frame.rects_mut();
    while let Some(mut rect) = rects.next() {
        let left = rect.rect().x;
        for (py, pixels) in rect.rows_mut() {
            let row = py - y;
            if !(0..8).contains(&row) {
                continue;
            }
            for (i, px) in pixels.chunks_exact_mut(4).enumerate() {
                let at = left + i as i32;
                if at < x || at >= right {
                    continue;
                }
                let (glyph, col) = (((at - x) / 8) as usize, (at - x) % 8);
                let on = glyphs[glyph][row as usize] & (1 << col) != 0;
                px.copy_from_slice(&if on { fg } else { bg }.to_ne_bytes());
            }
        }
    }
}
