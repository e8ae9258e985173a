//! [`BackingStore`]: paint, flush, scroll, expose, resize.

use std::sync::Arc;
use std::time::{Duration, Instant};

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ClipOrdering, Rectangle, Window};
use x11rb::protocol::Event;
use xbs_shm::ShmCaps;

use crate::buffer::{Buffer, Memory, Rects};
use crate::convert::Converter;
use crate::format::Format;
use crate::frame::Frame;
use crate::region::Scratch;
use crate::server::{copy_area, Resource, ServerCopy};
use crate::transport::wire::heap;
use crate::transport::{request, Target, Transport};
use crate::{Error, Rect, Region};

/// Pixels a merge of two upload rectangles may add before two requests are cheaper.
pub(crate) const COALESCE_SLACK: u64 = 4096;

/// Most rects a flush sends as one clipped `ShmPutImage` (8 bytes each in the
/// `SetClipRectangles`, far under any server's request limit); more go one by one.
const CLIP_MAX: usize = 2048;

/// Resizes in a row to less than a quarter of the image memory after which it shrinks.
pub const SHRINK_AFTER: u32 = 8;

/// How a [`BackingStore`] is set up.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Use exactly this transport, or fail with [`Error::TransportUnavailable`]. `None`
    /// (the default) picks the best that works: `XBS_TRANSPORT` if set and usable, else
    /// shm-fd, shm-sysv, put-image, in that order.
    pub transport: Option<Transport>,
    /// Keep a copy of the window on the server (a pixmap of its size): flushes upload
    /// into it and copy it onto the window, so that Expose repairs and scrolls cost no
    /// upload at all, and scrolling a partly covered window needs no GraphicsExpose
    /// round. Worth it on `put-image` (remote, no MIT-SHM), where every uploaded byte
    /// crosses the wire; on shm it costs one extra server-side copy per flush and the
    /// window's size in server memory. Off by default. If the server refuses the pixmap
    /// (BadAlloc), the store works without it and logs a warning.
    pub server_copy: bool,
    /// Never make a second buffer: a paint over pixels the server is still reading
    /// waits for it instead. By default (`false`), the first such paint makes a second
    /// shared segment of the image's size, and from then on those paints switch to the
    /// other buffer instead of waiting, after copying into it what changed since it
    /// was last painted. A switch that would copy more than the paints write waits
    /// instead, so over time switching never copies more pixels than the app paints.
    /// Worth setting where memory counts more than latency; no effect on `put-image`,
    /// where the server never reads the memory later.
    pub single_buffer: bool,
}

/// Counters since the store was made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    /// The transport in use now.
    pub transport: Transport,
    /// Pixel bytes the server copied from the image (shm) or received (put-image).
    pub bytes_uploaded: u64,
    /// Upload and copy requests sent.
    pub requests: u64,
    /// Calls to [`BackingStore::flush`] that sent something.
    pub flushes: u64,
    /// Times a paint, scroll or resize waited for the server to finish reading.
    pub waits: u64,
    /// Time spent in those waits.
    pub wait_time: Duration,
    /// Image memory (re)allocations, the first included.
    pub allocations: u64,
    /// Shared segments this store holds now: 0 on `put-image`, else 1, or 2 once a
    /// paint overlapped pixels in flight (see [`Options::single_buffer`]).
    pub segments_alive: usize,
    /// Paints, scrolls and conversions that overlapped pixels the server was still
    /// reading and went on in the other buffer instead of waiting.
    pub switches: u64,
    /// Times the store fell back to another transport after a failure.
    pub fallbacks: u64,
    /// Whether a server-side copy (pixmap) of the window is kept now.
    pub server_copy: bool,
}

/// An X11 backing store: the pixels of one window, kept in this process, and the
/// machinery that moves exactly the damaged ones onto the window.
///
/// # A toolkit's loop
///
/// 1. [`BackingStore::new`] on the window (or [`BackingStore::from_raw_handles`] for a
///    window made by winit or another toolkit).
/// 2. For each frame: [`begin_paint`](Self::begin_paint) with the damage, paint into the
///    [`Frame`], [`flush`](Self::flush) the same damage. Only those pixels are sent, and
///    nothing waits for the server unless the paint overlaps pixels it is still
///    reading; even then, a paint goes to a second buffer instead when that costs
///    less ([`Options::single_buffer`]).
/// 3. Scrolling: [`scroll`](Self::scroll) moves what is on the window and returns the
///    strip that scrolled in; paint and flush only that.
/// 4. Events: `Expose` → [`expose_at`](Self::expose_at) with the event's sequence
///    number (repaired from retained pixels, no repaint, and nothing a later flush has
///    sent already), `ConfigureNotify` → [`resize`](Self::resize), anything else →
///    [`handle_event`](Self::handle_event), which takes the store's own events
///    (`ShmCompletion`, `GraphicsExposure`) and returns `false` for the rest.
///
/// ```
/// use x11rb::connection::Connection;
/// use x11rb::protocol::Event;
/// use xbs::{BackingStore, Options, Rect, Region};
/// # use x11rb::protocol::xproto::{ConnectionExt as _, CreateWindowAux, EventMask, WindowClass};
/// # let server = xbs_tests::XServer::start()?;
/// # let (conn, screen) = server.connect()?;
/// # let s = &conn.setup().roots[screen];
/// # let window = conn.generate_id()?;
/// # let aux = CreateWindowAux::new().event_mask(EventMask::EXPOSURE | EventMask::STRUCTURE_NOTIFY);
/// # conn.create_window(s.root_depth, window, s.root, 0, 0, 640, 480, 0,
/// #     WindowClass::INPUT_OUTPUT, s.root_visual, &aux)?;
/// # conn.map_window(window)?;
/// # conn.flush()?;
///
/// // `conn` is any x11rb connection: owned, borrowed (as here) or in an `Arc`.
/// let mut store = BackingStore::new(&conn, window, Options::default())?;
///
/// // Paint the damage (clipped to the image) and flush exactly that.
/// let damage = Region::from(Rect::new(10, 10, 100, 50));
/// let mut frame = store.begin_paint(&damage)?;
/// frame.fill(Rect::new(0, 0, 4096, 4096), 0xff_33_66_99); // fill clips to the damage
/// store.flush(&damage)?;
///
/// // Scroll a panel up by 20 pixels: CopyArea on the server; paint only what came in.
/// let panel = Region::from(Rect::new(0, 100, 300, 200));
/// let strip = store.scroll(&panel, 0, -20)?;
/// assert_eq!(strip, Region::from(Rect::new(0, 280, 300, 20)));
/// let mut frame = store.begin_paint(&strip)?;
/// frame.fill(strip.bounds(), 0xff_ff_ff_ff);
/// store.flush(&strip)?;
///
/// // Events: Expose is repaired from retained pixels, resizes keep what still fits,
/// // and the store takes its own events (ShmCompletion, GraphicsExposure).
/// # conn.clear_area(true, window, 0, 0, 50, 50)?;
/// # conn.get_input_focus()?.reply()?;
/// while let Some((event, sequence)) = conn.poll_for_event_with_sequence()? {
///     match event {
///         Event::Expose(e) => {
///             let r = Rect::new(e.x.into(), e.y.into(), e.width.into(), e.height.into());
///             store.expose_at(&Region::from(r), sequence)?;
///         }
///         Event::ConfigureNotify(e) => store.resize(e.width.into(), e.height.into())?,
///         other => {
///             store.handle_event(&other);
///         }
///     }
/// }
/// println!("{:?}", store.stats());
/// # conn.get_input_focus()?.reply()?;
/// # let img = conn.get_image(x11rb::protocol::xproto::ImageFormat::Z_PIXMAP, window, 20, 20, 1, 1, !0)?.reply()?;
/// # assert_eq!(img.data[..3], [0x99, 0x66, 0x33], "the Expose was repaired");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// `C` is any x11rb connection: `RustConnection` or `XCBConnection`, owned, borrowed
/// (`&conn`) or shared (`Arc<..>`).
///
/// # Over the wire
///
/// Where the server has no MIT-SHM (remote, or sandboxed), pixels travel in
/// `PutImage` requests through the connection's socket, which by default holds less
/// than a frame of modest damage, so each flush waits while the server reads. Call
/// [`crate::enlarge_send_buffer`] once on the socket after connecting
/// (`conn.stream()` of a `RustConnection`, or the `XCBConnection`), and a flush goes out
/// while the server draws the previous one: about 1.6× less time a frame.
///
/// # Errors
///
/// Every error is a typed [`Error`] with the numbers of what was attempted; nothing
/// panics on bad input or a misbehaving server. A server that refuses something the
/// store can live without (an shm segment, the server-side pixmap) costs a fallback and
/// one `warn` log line, not an error. Once the connection is lost (the server died or
/// disconnected, [`Error::is_connection_lost`]), every later call returns
/// [`Error::ConnectionLost`] at once, and dropping the store releases what this
/// process holds.
pub struct BackingStore<C: Connection> {
    // Drop order: the memory (detaches the segments), the pixmap, then the GCs.
    /// The memory the app paints into (or, when converting, the staging memory).
    front: Buffer<C>,
    /// The other buffer, made by the first paint over pixels in flight.
    spare: Option<Buffer<C>>,
    server_copy: Option<ServerCopy<C>>,
    /// GC for the window, with GraphicsExpose on (scrolls repair what CopyArea missed).
    gc: Resource<C>,
    /// GC without exposure events, for uploads to and copies from the pixmap.
    quiet_gc: Resource<C>,
    /// GC whose clip is set to the damage before one `ShmPutImage` of its bounds.
    clip_gc: Resource<C>,
    conn: Arc<C>,
    window: Window,
    format: Format,
    width: u32,
    height: u32,
    /// Bytes per row of the image the app paints, and of the server's layout.
    stride: usize,
    server_stride: usize,
    /// When the server's pixels are not the app's (depth 16, other byte order): the
    /// app paints here, and flushes convert into `front`, which is then only staging.
    canvas: Option<Vec<u8>>,
    converter: Option<Converter>,
    /// Transports that may work, best first; the one in use is first.
    fallbacks: Vec<Transport>,
    forced: bool,
    /// Pixels the spare buffer lacks: what changed in `front` since the last switch.
    stale: Rects,
    /// Whether a second buffer is refused: by the options, or the server once.
    single_buffer: bool,
    /// Pixels painted by the paints that waited, rather than switch and copy more than
    /// they paint, since the last switch (see `switch_buffers`).
    credit: u64,
    /// Scratch for clipping the caller's region (reused: no allocation per frame).
    clip: Region,
    /// Pixels that read as black but are not zeroed yet: what a resize added. They are
    /// zeroed when first painted, flushed or scrolled, and never when repainted
    /// ([`begin_repaint`](BackingStore::begin_repaint)), so a toolkit that repaints a
    /// grown window writes each new pixel once.
    blank: Region,
    paint_region: Region,
    rects: Vec<Rect>,
    /// Scratch for the `SetClipRectangles` request of a many-rect flush (reused).
    clip_bytes: Vec<u8>,
    /// What the last flushes showed, for [`expose_at`](Self::expose_at).
    shown: Shown,
    /// Resizes in a row that left most of the memory unused.
    small_streak: u32,
    /// Scratch for [`scroll`](Self::scroll) (reused).
    scroll_plan: ScrollPlan,
    /// The request during which the connection was lost; every call fails after it.
    lost: Option<&'static str>,
    stats: Stats,
}

fn transport_list(caps: ShmCaps) -> Vec<Transport> {
    let mut list = Vec::with_capacity(3);
    if caps.contains(ShmCaps::FD_PASSING) {
        list.push(Transport::ShmFd);
    }
    if caps.contains(ShmCaps::SYSV) {
        list.push(Transport::ShmSysV);
    }
    list.push(Transport::PutImage);
    list
}

impl<C: Connection> BackingStore<C> {
    /// A store for `window`, sized and formatted from the window itself.
    ///
    /// Probes the server's MIT-SHM (a few round trips), creates a GC and the image
    /// memory, and fails with a typed error if the window's visual is unsupported or the
    /// transport forced by `options` cannot work.
    pub fn new(conn: C, window: Window, options: Options) -> Result<Self, Error> {
        let conn = Arc::new(conn);
        let (format, width, height) = Format::of_window(&*conn, window)?;
        let (stride, len) = format.image_size(width, height)?;
        let (server_stride, server_len) = format.server_image_size(width, height)?;
        let converter = format.converter();
        let canvas = match converter {
            Some(_) => Some(heap(len)?),
            None => None,
        };
        let caps = xbs_shm::probe(&*conn)?;
        let available = transport_list(caps);
        let mut candidates = available.clone();
        let mut forced = false;
        if let Some(t) = options.transport {
            if !available.contains(&t) {
                return Err(Error::TransportUnavailable {
                    transport: t,
                    reason: format!("the server's MIT-SHM offers {caps:?}"),
                });
            }
            candidates = vec![t];
            forced = true;
        } else if let Ok(name) = std::env::var("XBS_TRANSPORT") {
            match Transport::from_name(&name) {
                Some(t) if available.contains(&t) => {
                    candidates.retain(|&c| c != t);
                    candidates.insert(0, t);
                }
                Some(t) => log::warn!(
                    "XBS_TRANSPORT={} is not available ({caps:?}); using {}",
                    t.name(),
                    candidates[0].name()
                ),
                None => log::warn!("XBS_TRANSPORT={name:?} is not shm-fd, shm-sysv or put-image"),
            }
        }

        let gc = Resource::gc(&conn, window, true)?;
        let quiet_gc = Resource::gc(&conn, window, false)?;
        let clip_gc = Resource::gc(&conn, window, false)?;
        let mut fallbacks = candidates;
        let mut stats = Stats {
            transport: Transport::PutImage,
            bytes_uploaded: 0,
            requests: 0,
            flushes: 0,
            waits: 0,
            wait_time: Duration::ZERO,
            allocations: 0,
            segments_alive: 0,
            fallbacks: 0,
            server_copy: false,
            switches: 0,
        };
        let memory = allocate(&conn, &mut fallbacks, server_len, forced, &mut stats)?;
        let server_copy = if options.server_copy {
            let made = ServerCopy::new(
                &conn,
                window,
                format.depth,
                (width, height),
                quiet_gc.id(),
                None,
            );
            keep_server_copy(made)?
        } else {
            None
        };
        Ok(BackingStore {
            front: Buffer::new(memory, &conn),
            spare: None,
            server_copy,
            gc,
            quiet_gc,
            clip_gc,
            conn,
            window,
            format,
            width,
            height,
            stride,
            server_stride,
            canvas,
            converter,
            fallbacks,
            forced,
            stale: Rects::default(),
            single_buffer: options.single_buffer,
            credit: 0,
            clip: Region::new(),
            blank: Region::new(),
            shown: Shown::default(),
            clip_bytes: Vec::new(),
            paint_region: Region::new(),
            rects: Vec::new(),
            small_streak: 0,
            scroll_plan: ScrollPlan::default(),
            lost: None,
            stats,
        })
    }

    /// A store for a window made by someone else (winit, another toolkit), found
    /// through its raw window handle (Xlib or XCB).
    pub fn from_raw_handles(
        conn: C,
        window: &impl raw_window_handle::HasWindowHandle,
    ) -> Result<Self, Error> {
        use raw_window_handle::RawWindowHandle;
        let handle = window
            .window_handle()
            .map_err(|e| Error::NotX11(e.to_string()))?;
        let id = match handle.as_raw() {
            RawWindowHandle::Xcb(h) => h.window.get(),
            RawWindowHandle::Xlib(h) => u32::try_from(h.window)
                .map_err(|_| Error::NotX11(format!("Xlib window id {} is not 32-bit", h.window)))?,
            other => return Err(Error::NotX11(format!("{other:?}"))),
        };
        BackingStore::new(conn, id, Options::default())
    }

    /// The window this store draws to.
    pub fn window(&self) -> Window {
        self.window
    }

    /// The image size in pixels.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The pixel format of the image.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The connection.
    pub fn connection(&self) -> &C {
        &self.conn
    }

    /// The transport in use.
    pub fn transport(&self) -> Transport {
        self.front.memory.get().transport()
    }

    /// Counters since the store was made.
    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        s.transport = self.transport();
        s.segments_alive = [Some(&self.front), self.spare.as_ref()]
            .into_iter()
            .flatten()
            .filter(|b| matches!(b.memory, Memory::Shm(_)))
            .count();
        s.server_copy = self.server_copy.is_some();
        s
    }

    fn image_rect(&self) -> Rect {
        Rect::new(0, 0, self.width, self.height)
    }

    fn target(&self) -> Target {
        let (drawable, gc) = match &self.server_copy {
            Some(copy) => (copy.pixmap.id(), self.quiet_gc.id()),
            None => (self.window, self.gc.id()),
        };
        Target {
            drawable,
            gc,
            depth: self.format.depth,
            width: self.width,
            height: self.height,
            stride: self.server_stride,
            bytes_per_pixel: self.format.bytes_per_pixel(),
            pad: usize::from(u8::from(self.format.scanline_pad)) / 8,
        }
    }

    /// The image the app paints: the canvas when converting, else the upload memory.
    fn paint_pixels(&mut self) -> &mut [u8] {
        match &mut self.canvas {
            Some(canvas) => canvas,
            None => self.front.memory.get_mut().pixels_mut(),
        }
    }

    /// Zeroes the pixels of `region` that a resize added and nothing has written yet.
    /// They were never flushed since, so the server is not reading them.
    fn unblank(&mut self, region: &Region) {
        if self.blank.is_empty() || !self.blank.intersects(region) {
            return;
        }
        let zero = self.blank.intersect(region);
        let stride = self.stride;
        let pixels = self.paint_pixels();
        for r in zero.rects() {
            // Blank rects lie inside the image: resizes clip them to it.
            let (x, w) = (r.x as usize * 4, r.width as usize * 4);
            for row in r.y as usize..r.y as usize + r.height as usize {
                pixels[row * stride + x..][..w].fill(0);
            }
        }
        self.changed(zero.rects());
        self.forget_blank(region);
    }

    /// Notes pixels of the app's image that changed in `front`: the spare lacks them.
    fn changed(&mut self, rects: impl Iterator<Item = Rect>) {
        // A canvas holds the image; the buffers are staging, whose content is not kept.
        if self.spare.is_some() && self.canvas.is_none() {
            self.stale.extend(rects);
        }
    }

    /// The app will write every pixel of `region`: none of it needs zeroing any more.
    fn forget_blank(&mut self, region: &Region) {
        if !self.blank.is_empty() && self.blank.intersects(region) {
            self.blank = self.blank.subtract(region);
        }
    }

    /// `Err` once the connection has been lost: the store can only be dropped.
    fn alive(&self) -> Result<(), Error> {
        match self.lost {
            Some(request) => Err(Error::ConnectionLost { request }),
            None => Ok(()),
        }
    }

    /// Passes `result` on, remembering a lost connection so every later call fails
    /// at once instead of painting into a store nobody will see.
    fn noted<T>(&mut self, result: Result<T, Error>) -> Result<T, Error> {
        if let Err(e) = &result {
            if let Some(request) = e.lost_during() {
                self.lost.get_or_insert(request);
            }
        }
        result
    }

    /// Blocks until the server has read everything uploaded from the front buffer.
    fn wait_for_server(&mut self) -> Result<(), Error> {
        timed_wait(&mut self.front, &self.conn, &mut self.stats)
    }

    /// Makes the pixels of `region` in `front` safe to write (SECURITY.md S13): if the
    /// server may still be reading some of them, switches to the other buffer, or
    /// where there is none, waits. With `repaint`, the app writes all of `region`.
    fn make_writable(&mut self, region: &Region, repaint: bool) -> Result<(), Error> {
        // A canvas is private: the server reads the staging memory, not it.
        if self.canvas.is_some() || !self.front.reads_later() || !self.front.busy.overlaps(region) {
            return Ok(());
        }
        if !self.switch_buffers(region, repaint)? {
            self.wait_for_server()?;
        }
        Ok(())
    }

    /// Swaps `front` with the spare buffer (made now if there is none), after copying
    /// into the spare what changed since it was last the front, less what a repaint of
    /// `painting` overwrites. Returns `false`, having done nothing, when there is no
    /// second buffer to be had, or when the copy would cost more than waiting is
    /// allowed to: more pixels than this paint writes plus those written by the paints
    /// that waited since the last switch. So over time a switch never copies more than
    /// the app paints: a scroll of the whole window followed by a paint of the strip
    /// that came in waits (as it did before there were two buffers) where copying the
    /// whole window each frame would cost more, while sprites moving a few pixels a
    /// frame switch and copy only their trails.
    fn switch_buffers(&mut self, painting: &Region, repaint: bool) -> Result<bool, Error> {
        if self.single_buffer {
            return Ok(false);
        }
        if self.spare.is_none() {
            let transport = self.transport();
            let len = self.front.memory.get().capacity();
            match Memory::create(&self.conn, transport, len) {
                Ok(memory) => {
                    self.stats.allocations += 1;
                    self.spare = Some(Buffer::new(memory, &self.conn));
                    // None of its pixels are the image's yet.
                    self.stale.clear();
                    self.stale.add(&[self.image_rect()]);
                }
                Err(e) if e.is_connection_lost() => return Err(e),
                Err(e) => {
                    log::warn!(
                        "no second {} buffer of {len} bytes ({e}); paints over pixels in \
                         flight will wait",
                        transport.name()
                    );
                    self.single_buffer = true;
                    return Ok(false);
                }
            }
        }
        let Some(spare) = &mut self.spare else {
            return Ok(false);
        };
        // A canvas holds the image; staging memory needs nothing copied.
        let copy = match self.canvas {
            Some(_) => 0,
            None => {
                let mut pixels = 0;
                stale_pieces(&self.stale, painting, repaint, |r| pixels += r.area());
                pixels
            }
        };
        let painted = painting.area();
        if copy > painted.saturating_add(self.credit) {
            self.credit = self.credit.saturating_add(painted);
            return Ok(false);
        }
        self.credit = 0;
        if !spare.busy.is_empty() {
            // Its last upload went before the front's: usually read long ago, and its
            // completion handled.
            timed_wait(spare, &self.conn, &mut self.stats)?;
        }
        if self.canvas.is_none() {
            // Stale rects lie inside the image: every rect noted is clipped to it.
            let stride = self.stride;
            let from = self.front.memory.get().pixels();
            let to = spare.memory.get_mut().pixels_mut();
            stale_pieces(&self.stale, painting, repaint, |r| {
                copy_between(from, to, stride, r);
            });
        }
        self.stale.clear();
        std::mem::swap(&mut self.front, spare);
        self.stats.switches += 1;
        Ok(true)
    }

    /// Lends the image for painting `region` (clipped to the image). Never hands out
    /// pixels the server may still be reading (SECURITY.md S13): when `region` overlaps
    /// some, the store switches to its other buffer, after copying into it what changed
    /// since it was last painted, or waits for the server where that copy would cost
    /// more than the paint ([`Options::single_buffer`] has the rules).
    /// The region's pixels are what the store holds: what was painted there before, or
    /// black where a resize added them, so the app may paint only part of it or blend.
    pub fn begin_paint(&mut self, region: &Region) -> Result<Frame<'_>, Error> {
        self.lend(region, false)
    }

    /// Like [`begin_paint`](Self::begin_paint), for a paint that writes every pixel of
    /// `region`, as toolkits do after a resize: pixels a resize added are not blackened
    /// first, so each is written once instead of twice. Where a resize added them, the
    /// frame's pixels in `region` start unspecified (this store's own older pixels,
    /// never another process's); painting only part of `region` shows such pixels.
    pub fn begin_repaint(&mut self, region: &Region) -> Result<Frame<'_>, Error> {
        self.lend(region, true)
    }

    fn lend(&mut self, region: &Region, repaint: bool) -> Result<Frame<'_>, Error> {
        self.alive()?;
        let mut clipped = std::mem::take(&mut self.paint_region);
        region.intersect_rect_into(self.image_rect(), &mut clipped);
        let waited = self.make_writable(&clipped, repaint);
        if waited.is_ok() {
            if repaint {
                self.forget_blank(&clipped);
            } else {
                self.unblank(&clipped);
            }
            self.changed(clipped.rects());
        }
        self.paint_region = clipped;
        self.noted(waited)?;
        let len = self.stride * self.height as usize;
        let pixels = match &mut self.canvas {
            Some(canvas) => &mut canvas[..len],
            None => &mut self.front.memory.get_mut().pixels_mut()[..len],
        };
        Ok(Frame {
            pixels,
            width: self.width,
            height: self.height,
            stride: self.stride,
            format: self.format.pixel,
            region: &self.paint_region,
        })
    }

    /// Sends the pixels of `region` (clipped to the image and window) to the window.
    /// Through shared memory, a region of several rects is one `SetClipRectangles` and
    /// one `ShmPutImage` of its bounds, so the server copies exactly the region's
    /// pixels (up to 2048 rects; larger regions go a coalesced rect at a time, which
    /// may send a few pixels around them too). Over the wire, `PutImage` bands of the
    /// coalesced rects. Does not wait for the server.
    pub fn flush(&mut self, region: &Region) -> Result<(), Error> {
        self.alive()?;
        let result = self.flush_now(region);
        self.noted(result)
    }

    fn flush_now(&mut self, region: &Region) -> Result<(), Error> {
        region.intersect_rect_into(self.image_rect(), &mut self.clip);
        if self.clip.is_empty() {
            return Ok(());
        }
        self.clip.coalesced(COALESCE_SLACK, &mut self.rects);
        if !self.blank.is_empty() {
            // What is sent, slack between merged rects included, must read as black.
            let sent = Region::from_rects(self.rects.iter().copied());
            self.unblank(&sent);
        }
        if let Some(conv) = self.converter {
            // Converting overwrites staging memory the server may still be reading;
            // the other buffer's needs nothing copied first (staging is not kept).
            let front = &self.front;
            if front.reads_later()
                && self.rects.iter().any(|r| front.busy.overlaps_rect(r))
                && !self.switch_buffers(&Region::new(), false)?
            {
                self.wait_for_server()?;
            }
            let canvas = self.canvas.as_deref().unwrap_or_default();
            let dst = self.front.memory.get_mut().pixels_mut();
            for &r in &self.rects {
                conv.rect(canvas, self.stride, dst, self.server_stride, r);
            }
        }
        let mut target = self.target();
        let conn = &*self.conn;
        let memory = self.front.memory.get_mut();
        let (mut first_seq, mut last_seq) = (0, 0);
        if memory.reads_later() && (2..=CLIP_MAX).contains(&self.clip.len()) {
            // Several rects: the damage as the GC's clip, then one put of its bounds.
            // The server reads exactly the damaged pixels, and handles two requests,
            // not one a rect (each of which RustConnection polls the socket for).
            let rects = self.clip.rects().map(|r| Rectangle {
                // Inside an image of at most i16::MAX pixels.
                x: r.x as i16,
                y: r.y as i16,
                width: r.width as u16,
                height: r.height as u16,
            });
            first_seq = request::set_clip_rectangles(
                conn,
                &mut self.clip_bytes,
                ClipOrdering::YX_BANDED,
                self.clip_gc.id(),
                rects,
            )
            .map_err(Error::conn("SetClipRectangles"))?;
            target.gc = self.clip_gc.id();
            let sent = memory.put(conn, &target, self.clip.bounds(), true)?;
            self.stats.bytes_uploaded += self.clip.area() * target.bytes_per_pixel as u64;
            self.stats.requests += sent.requests + 1;
            last_seq = sent.sequence;
        } else {
            let last = self.rects.len() - 1;
            for (i, &r) in self.rects.iter().enumerate() {
                let sent = memory.put(conn, &target, r, i == last)?;
                self.stats.bytes_uploaded += sent.bytes;
                self.stats.requests += sent.requests;
                last_seq = sent.sequence;
                if i == 0 {
                    // A put's requests are numbered in a row (fewer if another thread's
                    // requests came between, which only makes this bound lower: safe).
                    first_seq = (sent.sequence + 1).saturating_sub(sent.requests.max(1));
                }
            }
        }
        self.shown.record(first_seq, &self.clip);
        if memory.reads_later() {
            self.front.uploaded(conn, last_seq, &self.rects)?;
        }
        self.show_from_copy()?;
        self.stats.flushes += 1;
        self.conn.flush().map_err(Error::conn("flush"))?;
        Ok(())
    }

    /// Repairs `region` of the window (an Expose) from what is retained: the
    /// server-side copy if there is one (no upload), else the image. No repaint by the
    /// app is needed.
    pub fn expose(&mut self, region: &Region) -> Result<(), Error> {
        self.alive()?;
        let result = self.expose_now(region);
        self.noted(result)
    }

    /// Repairs an Expose that the server sent with sequence number `sequence` (the full
    /// number x11rb reports with the event: `poll_for_event_with_sequence`). Like
    /// [`expose`](Self::expose), less what a flush sent after that request has
    /// repainted already: after a resize or an unmap, the server's Expose usually
    /// arrives after the app has painted and flushed the new area, and sending it a
    /// second time would double the upload. The event pump of `xbs-window` calls this
    /// on its own.
    ///
    /// Only the store's own flushes count, and a scroll forgets them (it moves the
    /// window's pixels); anything else the app draws on the window behind the store's
    /// back (`ClearArea`, say) must be repaired with [`expose`](Self::expose).
    pub fn expose_at(&mut self, region: &Region, sequence: u64) -> Result<(), Error> {
        self.alive()?;
        let left = self.shown.unrepaired(region, sequence);
        let result = self.expose_now(&left);
        self.noted(result)
    }

    fn expose_now(&mut self, region: &Region) -> Result<(), Error> {
        if self.server_copy.is_none() {
            return self.flush(region);
        }
        region.intersect_rect_into(self.image_rect(), &mut self.clip);
        self.clip.coalesced(COALESCE_SLACK, &mut self.rects);
        self.show_from_copy()?;
        self.conn.flush().map_err(Error::conn("flush"))
    }

    /// Copies `self.rects` from the server-side copy onto the window, if there is one.
    fn show_from_copy(&mut self) -> Result<(), Error> {
        let Some(copy) = &self.server_copy else {
            return Ok(());
        };
        let (pixmap, gc) = (copy.pixmap.id(), self.quiet_gc.id());
        for &r in &self.rects {
            copy_area(&*self.conn, pixmap, self.window, gc, r, 0, 0)?;
        }
        self.stats.requests += self.rects.len() as u64;
        Ok(())
    }

    /// Moves the pixels of `area` by (`dx`, `dy`), in the image and on the window
    /// (`CopyArea`), clipped to the image. Returns the part of `area` that scrolled in
    /// and must be painted and flushed by the app.
    ///
    /// Moves what is on the window: pixels painted into `area` but not yet flushed are
    /// moved in the image only, so flush before scrolling.
    pub fn scroll(&mut self, area: &Region, dx: i32, dy: i32) -> Result<Region, Error> {
        self.alive()?;
        let result = self.scroll_now(area, dx, dy);
        self.noted(result)
    }

    fn scroll_now(&mut self, area: &Region, dx: i32, dy: i32) -> Result<Region, Error> {
        let mut plan = std::mem::take(&mut self.scroll_plan);
        plan.plan(self.image_rect(), area, dx, dy);
        let moved = self.move_planned(&plan.dst, area, dx, dy);
        // The one allocation of a scroll: the region returned (none when it is empty).
        let exposed = plan.exposed.clone();
        self.scroll_plan = plan;
        moved.map(|()| exposed)
    }

    /// Moves the pixels of `dst` from `dst - (dx, dy)`, in the image and on the server.
    fn move_planned(&mut self, dst: &Region, area: &Region, dx: i32, dy: i32) -> Result<(), Error> {
        if dst.is_empty() {
            return Ok(());
        }
        self.make_writable(dst, false)?;
        // The window's pixels move: what the flushes showed is no longer where it was.
        self.shown.forget();
        // Pixels not zeroed yet must not move as they are (blank lies inside the image).
        self.unblank(area);
        let stride = self.stride;
        let mut rects = std::mem::take(&mut self.rects);
        move_pixels(self.paint_pixels(), stride, dst, dx, dy, &mut rects);
        self.changed(rects.iter().copied());
        self.rects = rects;
        // Order matters on the server too: the copies run in the same sequence. With a
        // server-side copy, move it, then show the moved part; else move the window.
        let (from, gc) = match &self.server_copy {
            Some(copy) => (copy.pixmap.id(), self.quiet_gc.id()),
            None => (self.window, self.gc.id()),
        };
        for &r in &self.rects {
            copy_area(&*self.conn, from, from, gc, r, dx, dy)?;
        }
        self.stats.requests += self.rects.len() as u64;
        self.show_from_copy()?;
        self.conn.flush().map_err(Error::conn("flush"))?;
        Ok(())
    }

    /// Resizes the image to `width` × `height`, keeping the content that still lies
    /// inside (anchored top-left); new pixels are black. They are zeroed lazily, when
    /// painted, flushed or scrolled; a [`begin_repaint`](Self::begin_repaint) over them
    /// skips that, so a toolkit repainting the new size writes each pixel once.
    ///
    /// The memory is kept whenever the new size fits. It grows by half again as much
    /// when it must grow, and shrinks to fit only after [`SHRINK_AFTER`] resizes in a
    /// row to less than a quarter of it, so a user dragging a window corner back and
    /// forth never makes a segment per step.
    pub fn resize(&mut self, width: u32, height: u32) -> Result<(), Error> {
        self.alive()?;
        let result = self.resize_now(width, height);
        self.noted(result)
    }

    fn resize_now(&mut self, width: u32, height: u32) -> Result<(), Error> {
        let (stride, len) = self.format.image_size(width, height)?;
        let (server_stride, server_len) = self.format.server_image_size(width, height)?;
        if (width, height) == (self.width, self.height) {
            return Ok(());
        }
        let capacity = self.front.memory.get().capacity();
        if server_len < capacity / 4 {
            self.small_streak = self.small_streak.saturating_add(1);
        } else {
            self.small_streak = 0;
        }
        let shrink = self.small_streak >= SHRINK_AFTER;
        if self.front.reads_later() && !self.front.busy.is_empty() {
            self.wait_for_server()?;
        }
        if let Some(spare) = self.spare.as_mut().filter(|s| !s.busy.is_empty()) {
            timed_wait(spare, &self.conn, &mut self.stats)?;
        }
        // Everything that can fail comes first, so a failure leaves the store as it was.
        let fresh_canvas = match &self.canvas {
            Some(c) if !reusable(len, c.len(), shrink) => Some(heap(len)?),
            _ => None,
        };
        let fresh_memory = if reusable(server_len, capacity, shrink) {
            None
        } else {
            let grown = if server_len > capacity {
                server_len.max(capacity.saturating_add(capacity / 2))
            } else {
                server_len
            };
            let mut candidates = self.fallbacks.clone();
            let fresh = match allocate(
                &self.conn,
                &mut candidates,
                grown,
                self.forced,
                &mut self.stats,
            ) {
                Ok(m) => m,
                // The larger-than-needed size is a luxury; try exactly what is needed.
                Err(_) if grown > server_len => allocate(
                    &self.conn,
                    &mut candidates,
                    server_len,
                    self.forced,
                    &mut self.stats,
                )?,
                Err(e) => return Err(e),
            };
            self.fallbacks = candidates;
            Some(fresh)
        };

        // The kept top-left block, in bytes of the app's image (4 a pixel) and rows.
        let keep = Keep {
            old_stride: self.stride,
            new_stride: stride,
            width: self.width.min(width) as usize * 4,
            rows: self.height.min(height) as usize,
        };
        // Pixels outside the kept block read as black from now on; they are zeroed
        // only if something reads them before the app repaints them.
        let kept = Rect::new(0, 0, self.width.min(width), self.height.min(height));
        let added = Region::from(Rect::new(0, 0, width, height)).subtract(&Region::from(kept));
        let blank = self.blank.intersect_rect(kept).union(&added);
        match (&mut self.canvas, fresh_canvas) {
            (Some(canvas), Some(mut fresh)) => {
                keep.copy(canvas, &mut fresh);
                *canvas = fresh;
            }
            (Some(canvas), None) => keep.in_place(canvas),
            (None, _) => {}
        }
        let converting = self.canvas.is_some();
        match fresh_memory {
            // When converting, the memory is staging: its old content does not matter.
            Some(fresh) if converting => self.front.memory = fresh,
            Some(mut fresh) => {
                keep.copy(
                    self.front.memory.get().pixels(),
                    fresh.get_mut().pixels_mut(),
                );
                self.front.memory = fresh;
            }
            None if converting => {}
            None => keep.in_place(self.front.memory.get_mut().pixels_mut()),
        }
        if let Some(old) = self.server_copy.take() {
            let made = ServerCopy::new(
                &self.conn,
                self.window,
                self.format.depth,
                (width, height),
                self.quiet_gc.id(),
                Some(&old),
            );
            self.server_copy = keep_server_copy(made)?;
        }
        self.width = width;
        self.height = height;
        self.stride = stride;
        self.server_stride = server_stride;
        self.blank = blank;
        self.front.busy.clear();
        // The spare keeps its memory while the image fits it, as `front` does; none of
        // its pixels are the image's any more.
        let transport = self.transport();
        if let Some(spare) = &self.spare {
            let memory = spare.memory.get();
            if !reusable(server_len, memory.capacity(), shrink) || memory.transport() != transport {
                self.spare = None;
            }
        }
        self.stale.clear();
        self.stale.add(&[self.image_rect()]);
        Ok(())
    }

    /// Consumes the events meant for this store: `ShmCompletion` (the server finished
    /// reading a flush), `GraphicsExposure`/`NoExposure` from scrolls (parts of the
    /// window a `CopyArea` could not copy are re-uploaded from the image). Returns
    /// `true` when the event was this store's.
    pub fn handle_event(&mut self, event: &Event) -> bool {
        match event {
            Event::ShmCompletion(e) => {
                self.front.completed(e) || self.spare.as_mut().is_some_and(|s| s.completed(e))
            }
            Event::GraphicsExposure(e) if e.drawable == self.window => {
                let r = Rect::new(e.x.into(), e.y.into(), e.width.into(), e.height.into());
                if let Err(err) = self.flush(&Region::from(r)) {
                    log::debug!("repairing a GraphicsExpose failed: {err}");
                }
                true
            }
            Event::NoExposure(e) if e.drawable == self.window => true,
            _ => false,
        }
    }

    /// Releases everything now, waiting for the server's answers, and reports the
    /// first failure. Dropping the store does the same without waiting.
    pub fn close(self) -> Result<(), Error> {
        if let Some(request) = self.lost {
            // Dropping releases this process's part (memory, descriptors); the server
            // freed the rest when the connection went.
            return Err(Error::ConnectionLost { request });
        }
        let BackingStore {
            front,
            spare,
            server_copy,
            gc,
            quiet_gc,
            clip_gc,
            ..
        } = self;
        let detached = front.memory.close();
        let detached = detached.and(spare.map_or(Ok(()), |s| s.memory.close()));
        let pixmap = server_copy.map_or(Ok(()), |c| c.pixmap.release());
        let gcs = gc.release().and(quiet_gc.release()).and(clip_gc.release());
        detached.and(pixmap).and(gcs)
    }
}

/// The regions the last [`Shown::KEPT`] flushes sent, each with (a lower bound of) the
/// sequence number of its first request. An Expose the server sent before that request
/// was processed is repaired there already. The regions' memory is reused.
#[derive(Default)]
struct Shown {
    recent: [(u64, Region); Shown::KEPT],
    next: usize,
}

impl Shown {
    const KEPT: usize = 4;

    fn record(&mut self, first_seq: u64, region: &Region) {
        let slot = &mut self.recent[self.next];
        slot.0 = first_seq;
        slot.1.clone_from(region);
        self.next = (self.next + 1) % Self::KEPT;
    }

    /// Sequence 0 is never sent (numbering starts at 1), so nothing is newer than it.
    fn forget(&mut self) {
        for slot in &mut self.recent {
            slot.0 = 0;
        }
    }

    /// `region` less what flushes sent wholly after request `sequence` showed.
    fn unrepaired(&self, region: &Region, sequence: u64) -> Region {
        let mut left = region.clone();
        for (first, shown) in &self.recent {
            if *first > sequence && !left.is_empty() && left.intersects(shown) {
                left = left.subtract(shown);
            }
        }
        left
    }
}

/// The server-side copy if it was made; a refusal (BadAlloc, ...) only costs the copy,
/// a lost connection is an error.
fn keep_server_copy<C: Connection>(
    made: Result<ServerCopy<C>, Error>,
) -> Result<Option<ServerCopy<C>>, Error> {
    match made {
        Ok(copy) => Ok(Some(copy)),
        Err(e) if e.is_connection_lost() => Err(e),
        Err(e) => {
            log::warn!(
                "no server-side copy of the window ({e}); expose and scroll upload from the image"
            );
            Ok(None)
        }
    }
}

/// Makes image memory with the first transport in `candidates` that works, dropping
/// the ones that fail (with a warning) unless `forced`.
fn allocate<C: Connection>(
    conn: &Arc<C>,
    candidates: &mut Vec<Transport>,
    len: usize,
    forced: bool,
    stats: &mut Stats,
) -> Result<Memory<C>, Error> {
    loop {
        let Some(&transport) = candidates.first() else {
            return Err(Error::TransportUnavailable {
                transport: Transport::PutImage,
                reason: "no transport could allocate the image".into(),
            });
        };
        match Memory::create(conn, transport, len) {
            Ok(m) => {
                stats.allocations += 1;
                return Ok(m);
            }
            Err(e) if forced || e.is_connection_lost() || candidates.len() == 1 => return Err(e),
            Err(e) => {
                candidates.remove(0);
                stats.fallbacks += 1;
                log::warn!(
                    "{} image of {len} bytes failed ({e}); falling back to {}",
                    transport.name(),
                    candidates[0].name()
                );
            }
        }
    }
}

/// What a scroll of `area` by (`dx`, `dy`) in an image of `image` does: the part of
/// the clipped area that receives moved pixels, and the part that scrolled in (to be
/// painted). Both are empty for a move by (0, 0).
pub(crate) fn scroll_plan(image: Rect, area: &Region, dx: i32, dy: i32) -> (Region, Region) {
    let mut plan = ScrollPlan::default();
    plan.plan(image, area, dx, dy);
    (plan.dst, plan.exposed)
}

/// The regions of a scroll, kept by the store so that planning one allocates nothing.
#[derive(Debug, Default)]
pub(crate) struct ScrollPlan {
    area: Region,
    moved: Region,
    /// The pixels that move: area ∩ (area + (dx, dy)).
    dst: Region,
    /// The pixels that scroll in: area − dst.
    exposed: Region,
    scratch: Scratch,
}

impl ScrollPlan {
    /// Plans moving `area` (clipped to `image`) by (`dx`, `dy`), as [`scroll_plan`].
    fn plan(&mut self, image: Rect, area: &Region, dx: i32, dy: i32) {
        if dx == 0 && dy == 0 {
            self.dst.clear();
            self.exposed.clear();
            return;
        }
        area.intersect_rect_into(image, &mut self.area);
        self.area.translate_into(dx, dy, &mut self.moved);
        self.area
            .intersect_into(&self.moved, &mut self.dst, &mut self.scratch);
        self.area
            .subtract_into(&self.dst, &mut self.exposed, &mut self.scratch);
    }
}

/// Moves the pixels of `dst` (inside the image, as [`scroll_plan`] gives it) from
/// `dst - (dx, dy)`, in 4-byte pixels with rows `stride` bytes apart. `rects` is
/// scratch, left holding the rects in the order they were copied.
pub(crate) fn move_pixels(
    pixels: &mut [u8],
    stride: usize,
    dst: &Region,
    dx: i32,
    dy: i32,
    rects: &mut Vec<Rect>,
) {
    // Order the rects so no copy overwrites the source of a later one: against the
    // direction of motion (as a memmove picks its direction).
    rects.clear();
    rects.extend(dst.rects());
    rects.sort_by_key(|r| {
        (
            if dy > 0 { -r.y } else { r.y },
            if dx > 0 { -r.x } else { r.x },
        )
    });
    for r in rects.iter() {
        copy_rect(pixels, stride, *r, dx, dy);
    }
}

/// Copies `dst` (inside the image) from `dst - (dx, dy)` (also inside), row by row in
/// the order that never reads a row already overwritten.
fn copy_rect(pixels: &mut [u8], stride: usize, dst: Rect, dx: i32, dy: i32) {
    let row_len = dst.width as usize * 4;
    let rows = dst.y..dst.y + dst.height as i32;
    let mut copy_row = |y: i32| {
        // Both rects were clipped to the image, so the indices are non-negative and in
        // bounds; copy_within would still panic rather than touch memory outside.
        let to = y as usize * stride + dst.x as usize * 4;
        let from = (y - dy) as usize * stride + (dst.x - dx) as usize * 4;
        pixels.copy_within(from..from + row_len, to);
    };
    if dy > 0 {
        rows.rev().for_each(&mut copy_row);
    } else {
        rows.for_each(&mut copy_row);
    }
}

/// Waits until the server has read `buffer`, counting the wait in `stats`.
fn timed_wait<C: Connection>(
    buffer: &mut Buffer<C>,
    conn: &C,
    stats: &mut Stats,
) -> Result<(), Error> {
    let started = Instant::now();
    buffer.wait(conn)?;
    stats.waits += 1;
    stats.wait_time += started.elapsed();
    Ok(())
}

/// Calls `piece` with rects covering what a switch must copy: the `stale` rects, less
/// the `painting` region where the app repaints it.
fn stale_pieces(stale: &Rects, painting: &Region, repaint: bool, mut piece: impl FnMut(Rect)) {
    for &r in stale.as_slice() {
        if repaint {
            painting.rect_minus(r, &mut piece);
        } else {
            piece(r);
        }
    }
}

/// Copies the pixels of `r` (inside the image) from one buffer into the other.
fn copy_between(from: &[u8], to: &mut [u8], stride: usize, r: Rect) {
    let (x, w) = (r.x as usize * 4, r.width as usize * 4);
    for row in r.y as usize..r.y as usize + r.height as usize {
        let at = row * stride + x;
        to[at..at + w].copy_from_slice(&from[at..at + w]);
    }
}

/// Whether memory of `capacity` bytes is kept for an image of `len`: it fits, and it is
/// not much smaller or the store has not decided to `shrink`.
fn reusable(len: usize, capacity: usize, shrink: bool) -> bool {
    len <= capacity && (len >= capacity / 4 || !shrink)
}

/// The top-left block of an image kept across a resize.
struct Keep {
    old_stride: usize,
    new_stride: usize,
    /// Bytes of each kept row, and kept rows.
    width: usize,
    rows: usize,
}

impl Keep {
    /// Copies the kept block from `src` into `dst` of the new size.
    fn copy(&self, src: &[u8], dst: &mut [u8]) {
        for row in 0..self.rows {
            dst[row * self.new_stride..][..self.width]
                .copy_from_slice(&src[row * self.old_stride..][..self.width]);
        }
    }

    /// Re-lays the kept block out for the new stride in the same memory; the rest is
    /// left as it is (the store's `blank` region).
    fn in_place(&self, pixels: &mut [u8]) {
        let (old, new, keep) = (self.old_stride, self.new_stride, self.width);
        if new > old {
            for row in (0..self.rows).rev() {
                pixels.copy_within(row * old..row * old + keep, row * new);
            }
        } else if new < old {
            for row in 0..self.rows {
                pixels.copy_within(row * old..row * old + keep, row * new);
            }
        }
    }
}
