//! [`Options`], how a store is set up, and [`Stats`], what it has done.

use std::time::Duration;

use crate::Transport;

/// How a [`crate::BackingStore`] is set up. Start from [`Options::new`] (the same as
/// `Options::default()`) and change what you need:
///
/// ```
/// use xbs::{Options, Transport};
/// let options = Options::new().server_copy(true).transport(Transport::PutImage);
/// assert!(options.server_copy && !options.single_buffer);
/// ```
///
/// # Environment
///
/// `XBS_TRANSPORT=shm-fd|shm-sysv|put-image` names the transport to try first when
/// [`Options::transport`] is `None` (a preference: if the server cannot take it, the
/// store warns and picks as usual). It is read when a store is made, in one place
/// (the transport choice), and ignored when a transport is forced.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Options {
    /// Use exactly this transport, or fail with [`crate::Error::TransportUnavailable`].
    /// `None` (the default) picks the best that works: `XBS_TRANSPORT` if set and
    /// usable, else shm-fd, shm-sysv, put-image, in that order; and with shared memory,
    /// sends small flushes in `PutImage` requests instead where that measures faster
    /// and no compositor reads the window ([`Stats::uploads_over_wire`]). Forced,
    /// every upload uses the transport.
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
    /// And where waiting measures faster (an app painting flat out on a machine whose
    /// cores the server needs, as Xwayland and its compositor do on two), those paints
    /// wait; the store measures again every few hundred such paints
    /// ([`Stats::prefers_waiting`]; [`Options::busy`](#structfield.busy) says whether
    /// to measure).
    /// Worth setting where memory counts more than latency; no effect on `put-image`,
    /// where the server never reads the memory later.
    pub single_buffer: bool,
    /// Who reads the connection's events, and so which events the store may ask the
    /// server for (see [`Events`]). `None` (the default): what the constructor says —
    /// [`Events::Handed`] for [`crate::BackingStore::new`], [`Events::Own`] for
    /// [`crate::BackingStore::from_raw_handles`], [`Events::Foreign`] for a store on a
    /// toolkit's own connection (`xbs_window::Context`).
    pub events: Option<Events>,
    /// How the app's pixels are laid out in memory (see [`Layout`]). Default: 32-bit
    /// words, what the server takes without conversion on 24/32-bit visuals.
    pub layout: Layout,
    /// How flushes reach the window (see [`PresentMode`]). Default: `Off`, uploads
    /// with `ShmPutImage`/`PutImage` as soon as they are sent.
    pub present: PresentMode,
    /// What a paint over pixels the server is still reading does, with two buffers
    /// (see [`Busy`]). Default: [`Busy::Measured`].
    pub busy: Busy,
}

/// What a paint over pixels the server is still reading does, where the store may
/// have two buffers ([`Options::single_buffer`] off).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Busy {
    /// Switch to the other buffer or wait for the server, whichever the store measures
    /// gives the shorter frames ([`Stats::prefers_waiting`]). Where a compositor reads
    /// the window, the store waits until it has measured switching clearly faster.
    #[default]
    Measured,
    /// Switch wherever the copy rule allows (see [`Options::single_buffer`]): the app
    /// never waits for the server because waiting measured faster, only where both
    /// buffers are in flight or the copy would cost more than the paints write. For an
    /// app that would rather keep the CPU than give it to the server.
    Switch,
}

/// How a flush reaches the window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PresentMode {
    /// `ShmPutImage` (or `PutImage`): the server copies the pixels when it reads the
    /// request, whenever that is relative to the display's refresh.
    #[default]
    Off,
    /// The Present extension at the next vblank, tear-free: a flush presents an
    /// MIT-SHM pixmap made over the buffer (`PresentPixmap`, the flushed region as its
    /// update region). The server reads the buffer then, so a buffer stays in flight
    /// until it is idle again (an XSync fence the present triggers), and the store
    /// paints into its other buffer meanwhile. A present queued for the same vblank as
    /// a later one is skipped by the server, so each present also updates what those
    /// not yet known shown did: the store must see its events ([`Events::Handed`] or
    /// [`Events::Own`]). Without shared pixmaps (put-image, a server that makes none)
    /// or with a server-side copy, the presented pixmap is the server-side copy of the
    /// window ([`Options::server_copy`], made for it), which the uploads fill; a flush
    /// then waits until the last present is done reading it. Needs the events and the
    /// native layout; where either is missing, or the server has no Present, the
    /// store warns once and works as with `Off` ([`Stats::present`] says which).
    Vsync,
    /// As `Vsync`, but presented at once (`PresentOptionAsync`): no wait for the
    /// vblank, tearing allowed.
    Immediate,
}

/// How the app's pixels are laid out in the image it paints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Layout {
    /// 32-bit words `0xAARRGGBB` in the client's byte order (on little-endian machines
    /// bytes B, G, R, A): what X11's 24- and 32-bit visuals store, so flushes upload
    /// the image as it is.
    #[default]
    Native,
    /// Bytes R, G, B, A (premultiplied on an ARGB window), as tiny-skia and most 2D
    /// rasterizers paint. The app paints into a canvas of its own and each flush
    /// converts the flushed rects into the upload memory (as for depth 16), so a frame
    /// costs one more pass over the damage and the image is held twice.
    Rgba,
}

/// Who reads the events of the store's connection. The store asks the server for
/// events only where they will reach it, so nothing it asks for piles up in a queue
/// nobody reads, and it stays pixel-exact in every case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Events {
    /// The app reads the connection and hands the store its events
    /// ([`crate::BackingStore::handle_event`]), as `xbs-window`'s pump does. The store
    /// asks for `ShmCompletion` (a buffer is free again without a round trip) and
    /// `GraphicsExposure` (a scroll's obscured source is repaired).
    Handed,
    /// Nobody else reads this connection (it was opened for the store): the store reads
    /// and handles its events itself, inside its own calls, so none accumulate.
    Own,
    /// Someone else (a toolkit) reads the connection and never hands events over. The
    /// store asks for none: a buffer is known free from a reply it waits for, and a
    /// scroll needs no `GraphicsExposure` — with a compositor (a redirected window is
    /// never obscured) or a server-side copy it is a `CopyArea`; otherwise the moved
    /// pixels are uploaded from the image, as an app without a backing store would.
    Foreign,
}

impl Events {
    /// Whether the store may ask for events: they reach it.
    pub(crate) fn reach_the_store(self) -> bool {
        self != Events::Foreign
    }
}

impl Options {
    /// The defaults: the best transport that works, no server-side copy, two buffers.
    pub fn new() -> Options {
        Options::default()
    }

    /// Forces `transport` (see [`Options::transport`](#structfield.transport)).
    pub fn transport(mut self, transport: impl Into<Option<Transport>>) -> Options {
        self.transport = transport.into();
        self
    }

    /// Keeps a server-side copy (see [`Options::server_copy`](#structfield.server_copy)).
    pub fn server_copy(mut self, on: bool) -> Options {
        self.server_copy = on;
        self
    }

    /// One buffer only (see [`Options::single_buffer`](#structfield.single_buffer)).
    pub fn single_buffer(mut self, on: bool) -> Options {
        self.single_buffer = on;
        self
    }

    /// Lays the app's pixels out as `layout` (see [`Layout`]).
    pub fn layout(mut self, layout: Layout) -> Options {
        self.layout = layout;
        self
    }

    /// Says what a paint over pixels in flight does (see [`Busy`]).
    pub fn busy(mut self, busy: Busy) -> Options {
        self.busy = busy;
        self
    }

    /// Presents flushes through the Present extension (see [`PresentMode`]).
    pub fn present(mut self, mode: PresentMode) -> Options {
        self.present = mode;
        self
    }

    /// Says who reads the connection's events (see [`Events`]).
    pub fn events(mut self, events: Events) -> Options {
        self.events = Some(events);
        self
    }
}

/// Counters since the store was made.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// The transport in use now.
    pub transport: Transport,
    /// Pixel bytes the server copied from the image (shm) or received (put-image).
    pub bytes_uploaded: u64,
    /// Upload and copy requests sent.
    pub requests: u64,
    /// Calls to [`crate::BackingStore::flush`] that sent something.
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
    /// Whether such paints wait now rather than switch, because waiting gave the
    /// shorter frames when the store last measured both ([`Options::single_buffer`]).
    pub prefers_waiting: bool,
    /// Whether a switching repaint ([`crate::BackingStore::begin_repaint`]) leaves out
    /// of its copy every pixel it is about to write now, because that measured
    /// faster, rather than copy whole the small rects it covers in part (which brings
    /// their lines to the app's core before it writes them).
    pub repaints_cut: bool,
    /// Whether small flushes from shared memory (an eighth of the image at most) go
    /// over the wire now, in `PutImage` requests, because that measured faster: the
    /// server then never reads the app's memory, whose lines stay in the app's core
    /// (on a machine whose cores share no cache, 1.4x shorter frames of 16 sprites).
    pub uploads_over_wire: bool,
    /// Flushes from shared memory sent over the wire so.
    pub wire_flushes: u64,
    /// Times the store fell back to another transport after a failure.
    pub fallbacks: u64,
    /// Whether a server-side copy (pixmap) of the window is kept now.
    pub server_copy: bool,
    /// Scrolls remembered because their exposure events have not been handed over
    /// yet (at most 64; older ones are repaired by their areas).
    pub scrolls_remembered: usize,
    /// How flushes reach the window now ([`Options::present`], or `Off` where it could
    /// not be had).
    pub present: PresentMode,
    /// `PresentPixmap` requests sent.
    pub presents: u64,
    /// Presents the server said it completed by copying, by flipping (the pixmap shown
    /// as it is), and skipped (a later one replaced it before its vblank). Counted
    /// where the store's events reach it ([`Events::Handed`], [`Events::Own`]).
    pub present_copies: u64,
    /// See [`Stats::present_copies`].
    pub present_flips: u64,
    /// See [`Stats::present_copies`].
    pub present_skips: u64,
}

impl Stats {
    /// All zero, on `transport`.
    pub(crate) fn new(transport: Transport) -> Stats {
        Stats {
            transport,
            bytes_uploaded: 0,
            requests: 0,
            flushes: 0,
            waits: 0,
            wait_time: Duration::ZERO,
            allocations: 0,
            segments_alive: 0,
            switches: 0,
            prefers_waiting: false,
            repaints_cut: false,
            uploads_over_wire: false,
            wire_flushes: 0,
            fallbacks: 0,
            server_copy: false,
            scrolls_remembered: 0,
            present: PresentMode::Off,
            presents: 0,
            present_copies: 0,
            present_flips: 0,
            present_skips: 0,
        }
    }
}
