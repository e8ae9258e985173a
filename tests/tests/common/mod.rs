//! What the store's integration tests share: a mapped window on a real server, and a
//! model of what the app painted (`image`) and of what the window must show (`model`),
//! kept in step with each call on the store and compared pixel by pixel.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::sync::Arc;

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    ColormapAlloc, ConfigureWindowAux, ConnectionExt as _, CreateWindowAux, EventMask, ImageFormat,
    WindowClass,
};
use x11rb::rust_connection::RustConnection;
use xbs::{BackingStore, Options, Rect, Region, Transport};
use xbs_tests::XServer;

/// A window, mapped and exposed, and the model of what it must show.
pub struct Scene {
    pub conn: Arc<RustConnection>,
    pub window: u32,
    pub w: u32,
    pub h: u32,
    pub depth: u8,
    /// The window's visual's red, green and blue masks, and the server's bytes per
    /// pixel at its depth: how a colour of the model is stored on the server.
    pub masks: [u32; 3],
    pub bytes_per_pixel: usize,
    /// What the window must show, 0xAARRGGBB per pixel (alpha only for depth 32).
    pub model: Vec<u32>,
    /// What the store's server-side copy (`Options::server_copy`) holds, when it has
    /// one: what flushes uploaded, moved by scrolls, its top-left kept by resizes. The
    /// store scrolls and repairs Expose from it, so the window shows its pixels there,
    /// not the window's own (which may still be cleared by an Expose not handled yet).
    pub copy: Option<Vec<u32>>,
    /// Pixels the window shows wrongly because of an exposure whose event has not been
    /// handled yet (a `ClearArea`, a resize), where they are now: a scroll of the
    /// window moves them with the rest. Once the events are handled
    /// ([`Scene::events_handled`]), the store has repaired them.
    pub pending: Vec<bool>,
    /// Whether the store's flushes upload the coalesced rects of a region (put-image),
    /// which may send pixels around it, rather than exactly the region (one clipped
    /// `ShmPutImage`, for the few-rect regions these tests flush).
    pub coalesces: bool,
    /// Whether [`Scene::apply`] handles the events at once, or leaves them for a later
    /// [`Scene::settle`] (flushes then overtake Expose events, as in a busy app).
    pub settle_after_op: bool,
}

pub fn scene(server: &XServer, w: u16, h: u16, argb: bool) -> Scene {
    let (conn, screen) = server.connect().unwrap();
    let conn = Arc::new(conn);
    let s = &conn.setup().roots[screen];
    let window = conn.generate_id().unwrap();
    let (depth, visual, mut aux) = if argb {
        let visual = s
            .allowed_depths
            .iter()
            .find(|d| d.depth == 32)
            .and_then(|d| d.visuals.first())
            .expect("a 32-bit visual")
            .visual_id;
        let cmap = conn.generate_id().unwrap();
        conn.create_colormap(ColormapAlloc::NONE, cmap, s.root, visual)
            .unwrap();
        (
            32,
            visual,
            CreateWindowAux::new().colormap(cmap).border_pixel(0),
        )
    } else {
        (s.root_depth, s.root_visual, CreateWindowAux::new())
    };
    // Override-redirect: no window manager (weston is Xwayland's) moves, reparents or
    // resizes it, so it sits at the origin and shows exactly what the store puts there.
    aux = aux
        .background_pixel(0)
        .override_redirect(1)
        .event_mask(EventMask::EXPOSURE | EventMask::STRUCTURE_NOTIFY);
    conn.create_window(
        depth,
        window,
        s.root,
        0,
        0,
        w,
        h,
        0,
        WindowClass::INPUT_OUTPUT,
        visual,
        &aux,
    )
    .unwrap()
    .check()
    .unwrap();
    conn.map_window(window).unwrap();
    conn.sync().unwrap();
    wait_until_mapped(&conn, window);
    // Drain the first Expose: the window now shows its background (black).
    conn.sync().unwrap();
    while conn.poll_for_event().unwrap().is_some() {}
    let vt = s
        .allowed_depths
        .iter()
        .flat_map(|d| &d.visuals)
        .find(|v| v.visual_id == visual)
        .expect("the window's visual");
    let masks = [vt.red_mask, vt.green_mask, vt.blue_mask];
    let bits = conn
        .setup()
        .pixmap_formats
        .iter()
        .find(|f| f.depth == depth)
        .expect("a pixmap format of the depth")
        .bits_per_pixel;
    Scene {
        conn,
        window,
        masks,
        bytes_per_pixel: usize::from(bits) / 8,
        w: w.into(),
        h: h.into(),
        depth,
        model: vec![0; usize::from(w) * usize::from(h)],
        copy: None,
        pending: vec![false; usize::from(w) * usize::from(h)],
        coalesces: false,
        settle_after_op: true,
    }
}

/// Waits for `window`'s MapNotify (a compositing server may map it a little later).
pub fn wait_until_mapped(conn: &impl Connection, window: u32) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        match conn.poll_for_event().unwrap() {
            Some(x11rb::protocol::Event::MapNotify(e)) if e.window == window => return,
            Some(_) => {}
            None => std::thread::sleep(std::time::Duration::from_millis(2)),
        }
    }
    panic!("window {window:#x} was never mapped");
}

pub trait SyncExt {
    fn sync(&self) -> Result<(), x11rb::errors::ReplyError>;
}
impl SyncExt for RustConnection {
    fn sync(&self) -> Result<(), x11rb::errors::ReplyError> {
        self.get_input_focus()?.reply().map(drop)
    }
}

pub fn pattern(x: i32, y: i32, seed: u32) -> u32 {
    let v = (x as u32).wrapping_mul(73_856_093) ^ (y as u32).wrapping_mul(19_349_663) ^ seed;
    0xff00_0000 | (v & 0x00ff_ffff)
}

impl Scene {
    pub fn store(&mut self, transport: Transport) -> BackingStore<Arc<RustConnection>> {
        self.store_with(transport, false)
    }

    /// A store whose paints over pixels in flight switch buffers wherever the copy
    /// rule allows, whatever the server (under a compositor the store would first
    /// wait): for the tests of switching itself.
    pub fn store_switching(&mut self, transport: Transport) -> BackingStore<Arc<RustConnection>> {
        self.store_with_options(Options::new().transport(transport).busy(xbs::Busy::Switch))
    }

    pub fn store_with(
        &mut self,
        transport: Transport,
        server_copy: bool,
    ) -> BackingStore<Arc<RustConnection>> {
        let opts = Options::new().transport(transport).server_copy(server_copy);
        self.store_with_options(opts)
    }

    /// A store made with `opts` (its transport forced), modelled.
    pub fn store_with_options(&mut self, opts: Options) -> BackingStore<Arc<RustConnection>> {
        let (transport, server_copy) = (opts.transport, opts.server_copy);
        let store = BackingStore::new(self.conn.clone(), self.window, opts).unwrap();
        assert_eq!(Some(store.transport()), transport);
        assert_eq!(store.stats().server_copy, server_copy);
        self.model_store(&store);
        store
    }

    /// Models what `store` shows from now on: whether it keeps a server-side copy
    /// (made black at the window's size, as the store makes it), and how its
    /// flushes upload.
    pub fn model_store(&mut self, store: &BackingStore<Arc<RustConnection>>) {
        let stats = store.stats();
        self.copy = stats.server_copy.then(|| vec![0; self.model.len()]);
        self.coalesces = stats.transport == Transport::PutImage;
    }

    /// The bits of a server pixel that mean something: the colour masks, and alpha
    /// (the rest of 32 bits) for an ARGB window.
    pub fn pixel_mask(&self) -> u32 {
        let rgb = self.masks[0] | self.masks[1] | self.masks[2];
        if self.depth == 32 {
            0xffff_ffff
        } else {
            rgb
        }
    }

    /// A model colour (`0xAARRGGBB`) as the server stores it in the window's visual:
    /// each 8-bit channel placed in its mask, cut to its bits or widened by repeating
    /// its top bits (as X servers scale colours), alpha kept for an ARGB window.
    pub fn server_pixel(&self, v: u32) -> u32 {
        let place = |c: u32, mask: u32| {
            let (shift, bits) = (mask.trailing_zeros(), mask.count_ones());
            let scaled = if bits <= 8 {
                c >> (8 - bits)
            } else {
                (c << (bits - 8)) | (c >> (16 - bits))
            };
            scaled << shift
        };
        let [r, g, b] = self.masks;
        let rgb = place((v >> 16) & 0xff, r) | place((v >> 8) & 0xff, g) | place(v & 0xff, b);
        if self.depth == 32 {
            rgb | (v & 0xff00_0000)
        } else {
            rgb
        }
    }

    /// Paints `region` with a pattern into the store (and the image model).
    pub fn paint(
        &self,
        store: &mut BackingStore<Arc<RustConnection>>,
        image: &mut [u32],
        region: &Region,
        seed: u32,
    ) {
        self.paint_with(store, image, region, seed, false);
    }

    /// [`Scene::paint`], then a flush of `region`, which the model shows.
    pub fn paint_flush(
        &mut self,
        store: &mut BackingStore<Arc<RustConnection>>,
        image: &mut [u32],
        region: &Region,
        seed: u32,
    ) {
        self.paint(store, image, region, seed);
        store.flush(region).unwrap();
        self.shown(image, region);
    }

    /// [`Scene::paint_flush`] through `begin_repaint`.
    pub fn repaint_flush(
        &mut self,
        store: &mut BackingStore<Arc<RustConnection>>,
        image: &mut [u32],
        region: &Region,
        seed: u32,
    ) {
        self.paint_with(store, image, region, seed, true);
        store.flush(region).unwrap();
        self.shown(image, region);
    }

    /// [`Scene::paint`], through `begin_repaint` when `repaint` (the paint writes
    /// every pixel of the region).
    pub fn paint_with(
        &self,
        store: &mut BackingStore<Arc<RustConnection>>,
        image: &mut [u32],
        region: &Region,
        seed: u32,
        repaint: bool,
    ) {
        let mut frame = if repaint {
            store.begin_repaint(region).unwrap()
        } else {
            store.begin_paint(region).unwrap()
        };
        // The colour in the store's layout (a word, or bytes R, G, B, A).
        let format = frame.format();
        let mut rects = frame.rects_mut();
        while let Some(mut rect) = rects.next() {
            let left = rect.rect().x;
            for (y, row) in rect.rows_mut() {
                for (i, px) in row.chunks_exact_mut(4).enumerate() {
                    let x = left + i as i32;
                    let v = pattern(x, y, seed);
                    px.copy_from_slice(&format.word(v).to_ne_bytes());
                    image[y as usize * self.w as usize + x as usize] = v;
                }
            }
        }
    }

    /// The model of a flush of `region`: the image's pixels are uploaded (exactly the
    /// region, or its coalesced rects), to the window or into the server-side copy,
    /// which then shows the coalesced rects on the window.
    pub fn shown(&mut self, image: &[u32], region: &Region) {
        let coalesced = self.coalesced(region);
        let sent = if self.coalesces { &coalesced } else { region };
        let sent = self.indices(sent);
        match &mut self.copy {
            Some(copy) => {
                for &i in &sent {
                    copy[i] = image[i];
                }
                self.show_copy(&coalesced);
            }
            None => {
                for i in sent {
                    self.model[i] = image[i];
                    self.pending[i] = false;
                }
            }
        }
    }

    /// The model of an Expose repair of `region`: from the server-side copy if there
    /// is one (its coalesced rects, no upload), else a flush from the image.
    pub fn repaired(&mut self, image: &[u32], region: &Region) {
        if self.copy.is_some() {
            self.show_copy(&self.coalesced(region));
        } else {
            self.shown(image, region);
        }
    }

    /// The window takes the server-side copy's pixels in `region`.
    fn show_copy(&mut self, region: &Region) {
        let indices = self.indices(region);
        if let Some(copy) = &self.copy {
            for i in indices {
                self.model[i] = copy[i];
                self.pending[i] = false;
            }
        }
    }

    /// Every exposure event sent so far has been handed to the store: the pixels they
    /// named, wherever scrolls have moved them since, show the image again (the copy,
    /// if the store keeps one).
    pub fn events_handled(&mut self, image: &[u32]) {
        for i in 0..self.pending.len() {
            if std::mem::take(&mut self.pending[i]) {
                self.model[i] = self.copy.as_ref().map_or(image[i], |c| c[i]);
            }
        }
    }

    /// `region` in the window as the store coalesces it for upload: neighbouring rects
    /// merged where that adds at most the store's slack of 4096 pixels.
    fn coalesced(&self, region: &Region) -> Region {
        let mut rects = Vec::new();
        region
            .intersect_rect(Rect::new(0, 0, self.w, self.h))
            .coalesced(4096, &mut rects);
        Region::from_rects(rects)
    }

    /// The index of each pixel of `region` inside the window.
    fn indices(&self, region: &Region) -> Vec<usize> {
        let clip = region.intersect_rect(Rect::new(0, 0, self.w, self.h));
        let w = self.w as usize;
        clip.rects()
            .flat_map(|r| {
                (r.y..r.y + r.height as i32).flat_map(move |y| {
                    (r.x..r.x + r.width as i32).map(move |x| y as usize * w + x as usize)
                })
            })
            .collect()
    }

    /// Applies a store's `scroll` of `area` by (`dx`, `dy`) to the image and the
    /// model, and returns the region that must have scrolled in. The image moves, and
    /// so does what the window shows: its own pixels (a `CopyArea` on the window, which
    /// moves pixels an unhandled Expose has cleared along with the rest), or, with a
    /// server-side copy, the copy's pixels (the store moves the copy and shows the
    /// moved part from it).
    pub fn scrolled(&mut self, image: &mut [u32], area: &Region, dx: i32, dy: i32) -> Region {
        let area = area.intersect_rect(Rect::new(0, 0, self.w, self.h));
        if dx == 0 && dy == 0 {
            return Region::new();
        }
        let dst = area.intersect(&area.translate(dx, dy));
        let w = self.w as usize;
        let moves: Vec<(usize, usize)> = self
            .indices(&dst)
            .into_iter()
            .map(|to| {
                let (x, y) = ((to % w) as i32, (to / w) as i32);
                (to, (y - dy) as usize * w + (x - dx) as usize)
            })
            .collect();
        let move_within = |pixels: &mut [u32]| {
            let old = pixels.to_vec();
            for &(to, from) in &moves {
                pixels[to] = old[from];
            }
        };
        move_within(image);
        match &mut self.copy {
            Some(copy) => {
                move_within(copy);
                for &(to, _) in &moves {
                    self.model[to] = copy[to];
                    self.pending[to] = false;
                }
            }
            None => {
                move_within(&mut self.model);
                let old = self.pending.clone();
                for &(to, from) in &moves {
                    self.pending[to] = old[from];
                }
            }
        }
        area.subtract(&dst)
    }

    /// Resizes the window (ConfigureWindow) and applies a store's `resize` to the
    /// image: the top-left overlap is kept, the rest is black. The window's model is
    /// reset to black (the server forgets a resized window's pixels and sends Expose)
    /// until the store shows it again.
    pub fn resized(&mut self, image: &mut Vec<u32>, w: u32, h: u32) {
        if (w, h) == (self.w, self.h) {
            // The server neither forgets the window's pixels nor exposes it.
            return;
        }
        self.conn
            .configure_window(self.window, &ConfigureWindowAux::new().width(w).height(h))
            .unwrap();
        let old = (self.w, self.h);
        *image = top_left_kept(image, old, (w, h));
        if let Some(copy) = &mut self.copy {
            // The store makes a black pixmap of the new size and copies the overlap.
            *copy = top_left_kept(copy, old, (w, h));
        }
        self.w = w;
        self.h = h;
        self.model = vec![0; (w * h) as usize];
        // The server forgets the window's pixels; the resize's Expose repairs them.
        self.pending = vec![true; (w * h) as usize];
    }

    /// Reads the window back and compares with the model: how many pixels differ, and
    /// the first one as (x, y, got, want). Only the part on the screen can be read
    /// (`GetImage` of a window needs it visible); the window sits at the origin.
    pub fn mismatches(&self) -> (usize, Option<(usize, usize, u32, u32)>) {
        self.conn.sync().unwrap();
        let root = &self.conn.setup().roots[0];
        let vw = self.w.min(root.width_in_pixels.into()) as usize;
        let vh = self.h.min(root.height_in_pixels.into()) as usize;
        let img = self
            .conn
            .get_image(
                ImageFormat::Z_PIXMAP,
                self.window,
                0,
                0,
                vw as u16,
                vh as u16,
                !0,
            )
            .unwrap()
            .reply()
            .unwrap();
        let w = self.w as usize;
        let stride = img.data.len() / vh;
        let msb =
            self.conn.setup().image_byte_order == x11rb::protocol::xproto::ImageOrder::MSB_FIRST;
        let bpp = self.bytes_per_pixel;
        let mut bad = 0;
        let mut first = None;
        for i in 0..vw * vh {
            let (x, y) = (i % vw, i / vw);
            let at = y * stride + x * bpp;
            let mut bytes = [0u8; 4];
            bytes[..bpp].copy_from_slice(&img.data[at..at + bpp]);
            if msb {
                bytes[..bpp].reverse();
            }
            let got = u32::from_le_bytes(bytes) & self.pixel_mask();
            let want = self.server_pixel(self.model[y * w + x]);
            if got != want {
                bad += 1;
                first.get_or_insert((x, y, got, want));
            }
        }
        (bad, first)
    }

    /// Asserts the window shows exactly the model.
    pub fn check(&self, what: &str) {
        let (bad, first) = self.mismatches();
        assert_eq!(
            bad, 0,
            "{what}: {bad} pixels differ, first (x, y, got, want) = {first:x?}"
        );
    }
}

/// `pixels` of a `from`-sized image re-laid out at size `to`: the top-left overlap
/// kept, the rest black.
fn top_left_kept(pixels: &[u32], from: (u32, u32), to: (u32, u32)) -> Vec<u32> {
    let (ow, oh) = (from.0 as usize, from.1 as usize);
    let (w, h) = (to.0 as usize, to.1 as usize);
    let mut out = vec![0u32; w * h];
    for y in 0..oh.min(h) {
        out[y * w..][..ow.min(w)].copy_from_slice(&pixels[y * ow..][..ow.min(w)]);
    }
    out
}

/// Stops `server` (SIGSTOP) and resumes it after 300 ms from another thread: what is
/// queued meanwhile is not read until then. Join the handle before checking.
pub fn stop_for_a_while(server: &XServer) -> std::thread::JoinHandle<()> {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    let pid = Pid::from_raw(server.pid().unwrap() as i32);
    kill(pid, Signal::SIGSTOP).unwrap();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        kill(pid, Signal::SIGCONT).unwrap();
    })
}

pub fn region(rects: &[(i32, i32, u32, u32)]) -> Region {
    Region::from_rects(rects.iter().map(|&(x, y, w, h)| Rect::new(x, y, w, h)))
}

/// One thing a toolkit does to a store, as the soak and the bad-input tests drive it.
/// Each paints and flushes what it touches, so the window must always equal the image.
#[derive(Clone, Debug)]
pub enum Op {
    /// Paint `region` with a pattern and flush it.
    Paint(Region, u32),
    /// Scroll `area` by (dx, dy), then paint and flush what scrolled in.
    Scroll(Region, i32, i32),
    /// Resize the window and the store (sizes out of range must be typed errors).
    Resize(u32, u32),
    /// The server forgets a rect of the window (`ClearArea` with exposures).
    Expose(Rect),
}

impl Scene {
    /// Does `op` on the store and the model; events are handled as a toolkit would.
    pub fn apply(
        &mut self,
        store: &mut BackingStore<Arc<RustConnection>>,
        image: &mut Vec<u32>,
        op: &Op,
    ) -> Result<(), xbs::Error> {
        match op {
            Op::Paint(region, seed) => {
                self.paint(store, image, region, *seed);
                store.flush(region)?;
                self.shown(image, region);
            }
            Op::Scroll(area, dx, dy) => {
                let exposed = store.scroll(area, *dx, *dy)?;
                let expected = self.scrolled(image, area, *dx, *dy);
                assert_eq!(exposed, expected, "scroll of {area:?} by {dx},{dy}");
                self.paint(store, image, &exposed, dx.wrapping_add(*dy) as u32);
                store.flush(&exposed)?;
                self.shown(image, &exposed);
            }
            Op::Resize(w, h) => {
                store.resize(*w, *h)?;
                self.resized(image, *w, *h);
            }
            Op::Expose(r) => {
                let c = Region::from(*r)
                    .intersect_rect(Rect::new(0, 0, self.w, self.h))
                    .bounds();
                if !c.is_empty() {
                    self.conn
                        .clear_area(
                            true,
                            self.window,
                            c.x as i16,
                            c.y as i16,
                            c.width as u16,
                            c.height as u16,
                        )
                        .unwrap();
                    self.blacken(c);
                }
            }
        }
        if self.settle_after_op {
            self.settle(store, image)?;
        }
        Ok(())
    }

    /// Sets `r` (inside the window) to black in the model, as `ClearArea` does, until
    /// its Expose is handled.
    pub fn blacken(&mut self, r: Rect) {
        for y in r.y..r.y + r.height as i32 {
            let row = y as usize * self.w as usize;
            let span = row + r.x as usize..row + (r.x + r.width as i32) as usize;
            self.model[span.clone()].fill(0);
            self.pending[span].fill(true);
        }
    }

    /// Handles every event the server has sent by now: `Expose` is repaired by the
    /// store (`expose_at`, with the event's sequence number), the rest goes to its
    /// `handle_event`.
    pub fn settle(
        &mut self,
        store: &mut BackingStore<Arc<RustConnection>>,
        image: &[u32],
    ) -> Result<(), xbs::Error> {
        self.conn.sync().unwrap();
        while let Some((event, seq)) = self.conn.poll_for_event_with_sequence().unwrap() {
            match event {
                x11rb::protocol::Event::Expose(e) => {
                    let r = Rect::new(e.x.into(), e.y.into(), e.width.into(), e.height.into());
                    store.expose_at(&Region::from(r), seq)?;
                    self.repaired(image, &Region::from(r));
                }
                other => {
                    store.handle_event_at(&other, seq);
                }
            }
        }
        self.events_handled(image);
        Ok(())
    }
}

/// A window of another client, over the store's window.
pub struct Cover {
    conn: RustConnection,
    id: u32,
}

impl Cover {
    pub fn new(server: &XServer) -> Cover {
        let (conn, screen) = server.connect().unwrap();
        let s = &conn.setup().roots[screen];
        let id = conn.generate_id().unwrap();
        let aux = CreateWindowAux::new()
            .background_pixel(0x00ff_00ff)
            .override_redirect(1);
        conn.create_window(
            s.root_depth,
            id,
            s.root,
            0,
            0,
            1,
            1,
            0,
            WindowClass::INPUT_OUTPUT,
            s.root_visual,
            &aux,
        )
        .unwrap();
        Cover { conn, id }
    }

    /// Covers `r` of the screen (the store's window sits at its origin).
    pub fn show(&self, r: Rect) {
        let aux = ConfigureWindowAux::new()
            .x(r.x)
            .y(r.y)
            .width(r.width)
            .height(r.height);
        self.conn.configure_window(self.id, &aux).unwrap();
        self.conn.map_window(self.id).unwrap();
        self.conn.sync().unwrap();
    }

    pub fn hide(&self) {
        self.conn.unmap_window(self.id).unwrap();
        self.conn.sync().unwrap();
    }
}
