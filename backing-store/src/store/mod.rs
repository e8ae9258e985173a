//! [`BackingStore`]: a struct of parts, each with its own file.
//!
//! - `paint.rs`: the [`Canvas`] the app paints into (the buffers, or a private canvas
//!   when converting), and lending it as a [`Frame`];
//! - `flush.rs`: a damage region becomes requests;
//! - `expose.rs`: Expose repairs, and what flushes have shown since ([`Shown`]);
//! - `scroll.rs`: moving pixels in the image and on the server;
//! - `resize.rs`: keeping memory and content across sizes;
//! - `blank.rs`: the pixels a resize added, zeroed only when first read;
//! - `options.rs`: [`Options`] and [`Stats`].
//!
//! Below the store: `buffers.rs` decides between switching buffers and waiting,
//! `transport/` owns the memory and uploads it, `transport/select.rs` picks the
//! transport, `server.rs` owns the GCs and the server-side copy.

mod blank;
mod expose;
mod flush;
mod history;
mod options;
mod pace;
mod paint;
mod present;
mod resize;
mod scroll;

use std::sync::Arc;

use x11rb::connection::Connection;
use x11rb::protocol::xproto::Window;
use x11rb::protocol::Event;

use crate::buffers::Buffers;
use crate::convert::Conversion;
use crate::format::Format;
use crate::geometry::Geometry;
use crate::server::{Gcs, ServerCopy};
use crate::transport::select::Choice;
use crate::transport::Transport;
use crate::{Error, Rect, Region};
use blank::Blank;
use expose::Shown;
use history::History;
use pace::Pace;
use paint::Canvas;
use present::Presenter;
use resize::Shrink;
use scroll::ScrollPlan;
use xbs_shm::RequestError as _;

pub(crate) use flush::COALESCE_SLACK;
pub use options::{Busy, Events, Layout, Options, PresentMode, Stats};
pub(crate) use present::Pending;
pub use resize::SHRINK_AFTER;
#[cfg(fuzzing)]
pub(crate) use scroll::{move_pixels, scroll_plan};

/// An X11 backing store: the pixels of one window, kept in this process, and the
/// machinery that moves exactly the damaged ones onto the window.
///
/// # A toolkit's loop
///
/// 1. [`BackingStore::new`] on the window (or [`BackingStore::from_raw_handles`] for a
///    window made by winit or another toolkit).
/// 2. For each frame: [`begin_paint`](Self::begin_paint) with the damage, paint into the
///    [`Frame`](crate::Frame), [`flush`](Self::flush) the same damage. Only those pixels are sent, and
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
/// # use x11rb::protocol::xproto::ConnectionExt as _;
/// # let server = xbs_tests::XServer::start()?;
/// # let (conn, screen) = server.connect()?;
/// # let window = xbs_tests::window(&conn, 640, 480)?;
///
/// // `conn` is any x11rb connection: owned, borrowed (as here) or in an `Arc`.
/// let mut store = BackingStore::new(&conn, window, Options::new())?;
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
    // Drop order: the presents' pixmaps and fences, the memory (detaches the
    // segments), the pixmap, then the GCs.
    presenter: Option<Presenter<C>>,
    canvas: Canvas<C>,
    server_copy: Option<ServerCopy<C>>,
    gcs: Gcs<C>,
    conn: Arc<C>,
    window: Window,
    transports: Choice,
    shown: Shown,
    /// Scrolls whose exposure events may still arrive.
    history: History,
    shrink: Shrink,
    scroll_plan: ScrollPlan,
    scratch: Scratch,
    /// The region the frame lent last paints (its memory reused).
    painting: Region,
    /// Whether a compositor reads the window's damage (see `compositor.rs`).
    composited: bool,
    /// Who reads the connection's events, and so which the store asks for.
    events: Events,
    /// Keeps the connection read every few hundred flushes.
    pace: Pace<C>,
    /// The request during which the connection was lost; every call fails after it.
    lost: Option<&'static str>,
    /// What the store counts itself; the buffers count their own waits and switches.
    stats: Stats,
}

/// Memory reused by every flush, so that one allocates nothing once it has grown.
#[derive(Default)]
struct Scratch {
    /// The caller's region clipped to the image.
    clip: Region,
    /// Its rects as uploads, coalesced.
    rects: Vec<Rect>,
    /// The `SetClipRectangles` request of a many-rect flush.
    clip_bytes: Vec<u8>,
    /// Rows gathered for a `PutImage` of a flush from shared memory over the wire.
    wire: Vec<u8>,
}

impl<C: Connection> BackingStore<C> {
    /// A store for `window`, sized and formatted from the window itself.
    ///
    /// Probes the server's MIT-SHM (a few round trips), creates a GC and the image
    /// memory, and fails with a typed error if the window's visual is unsupported or the
    /// transport forced by `options` cannot work.
    ///
    /// The app reads the connection's events and hands the store its own
    /// ([`handle_event`](Self::handle_event)) unless [`Options::events`] says otherwise.
    pub fn new(conn: C, window: Window, options: Options) -> Result<Self, Error> {
        let events = options.events.unwrap_or(Events::Handed);
        let conn = Arc::new(conn);
        let of_window = Format::of_window(&*conn, window)?;
        let mut format = of_window.format;
        format.pixel = format.pixel.in_layout(options.layout);
        let (geometry, len) = Geometry::new(format, of_window.width, of_window.height)?;
        let conversion = Conversion::of(&geometry.format, len.image)?;
        let caps = xbs_shm::probe(&*conn)?;
        let mut transports = Choice::new(caps, options.transport)?;
        // A shared pixmap over a segment needs it attached read-write (the server
        // answers BadAccess otherwise): the one case where the server must be able to
        // write (SECURITY.md S12). It never does unless a client draws into the pixmap.
        // Not where there are no shared pixmaps: the presents are then of a server
        // pixmap the uploads fill, and the server only reads the segments.
        let shared_pixmaps = caps.contains(xbs_shm::ShmCaps::SHARED_PIXMAPS);
        let access = match options.present {
            PresentMode::Off => xbs_shm::Access::ReadOnly,
            _ if !shared_pixmaps || options.server_copy => xbs_shm::Access::ReadOnly,
            _ => xbs_shm::Access::ReadWrite,
        };
        transports.access = access;
        let gcs = Gcs::new(&conn, window, events.reach_the_store())?;
        let composited = crate::compositor::composited(&*conn, window)?;
        let mut stats = Stats::new(Transport::PutImage);
        let memory = transports.allocate(&conn, len.server, len.server, &mut stats)?;
        let make_copy = || {
            let made = ServerCopy::new(
                &conn,
                window,
                geometry.format.depth,
                (geometry.width, geometry.height),
                gcs.quiet.id(),
                None,
            );
            keep_server_copy(made)
        };
        let mut server_copy = if options.server_copy {
            make_copy()?
        } else {
            None
        };
        let presenter = match options.present {
            PresentMode::Off => None,
            mode => {
                let why_not = if !events.reach_the_store() {
                    // Its CompleteNotify says what a skipped present left unshown.
                    Some("the store's events do not reach it (Events::Foreign)".to_string())
                } else if conversion.is_some() {
                    Some("the pixels are converted on upload".to_string())
                } else {
                    None
                };
                let made = match why_not {
                    Some(why) => Err(why),
                    None => Presenter::new(&conn, window, mode, events.reach_the_store())?,
                };
                match made {
                    Ok(p) => Some(p),
                    Err(why) => {
                        log::warn!("presenting {mode:?} is off: {why}; flushes upload at once");
                        None
                    }
                }
            }
        };
        // Without shared pixmaps over the memory (put-image, a server that makes none)
        // or with a server-side copy kept anyway, the presents are of that copy, which
        // the uploads fill (`present.rs`).
        let filled = presenter.as_ref().is_some_and(|p| {
            memory.segment().is_none() || !p.shm_pixmaps() || server_copy.is_some()
        });
        let mut presenter = presenter;
        if filled && server_copy.is_none() {
            server_copy = make_copy()?;
            if server_copy.is_none() {
                log::warn!("presenting is off: no pixmap to present; flushes upload at once");
                presenter = None;
            }
        }
        let retains = conversion.is_none();
        let mut buffers = Buffers::new(memory, &conn, retains, options.single_buffer, access);
        match options.busy {
            Busy::Switch => buffers.switch_by_rule(),
            Busy::Measured if composited => buffers.lean_towards_waiting(),
            Busy::Measured => {}
        }
        // Presenting the buffers' own pixmaps, a wait lasts until a vblank: switch.
        buffers.switch_always = presenter.is_some() && !filled;
        let pace = Pace::new(&conn);
        Ok(BackingStore {
            presenter,
            canvas: Canvas {
                buffers,
                conversion,
                blank: Blank::default(),
                geometry,
                relayout: None,
                pieces: Vec::new(),
            },
            server_copy,
            gcs,
            conn,
            window,
            transports,
            shown: Shown::default(),
            history: History::default(),
            shrink: Shrink::default(),
            scroll_plan: ScrollPlan::default(),
            scratch: Scratch::default(),
            painting: Region::new(),
            composited,
            events,
            pace,
            lost: None,
            stats,
        })
    }

    /// A store for a window made by someone else (winit, another toolkit), found
    /// through its raw window handle (Xlib or XCB), on `conn`, a connection opened for
    /// the store: unless [`Options::events`] says otherwise, the store reads that
    /// connection's events itself ([`Events::Own`]), so nothing piles up on it.
    ///
    /// To draw on the toolkit's own connection instead (no second connection), use
    /// `xbs_window::Context` with the toolkit's display handle.
    ///
    /// Before 0.2 this took no options and used the defaults, without reading the
    /// connection: pass `Options::new()` for the old behaviour but the event handling.
    pub fn from_raw_handles(
        conn: C,
        window: &impl raw_window_handle::HasWindowHandle,
        options: Options,
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
        let events = options.events.unwrap_or(Events::Own);
        BackingStore::new(conn, id, options.events(events))
    }

    /// The window this store draws to.
    pub fn window(&self) -> Window {
        self.window
    }

    /// The image size in pixels.
    pub fn size(&self) -> (u32, u32) {
        let g = &self.canvas.geometry;
        (g.width, g.height)
    }

    /// The pixel format of the image.
    pub fn format(&self) -> Format {
        self.canvas.geometry.format
    }

    /// The connection.
    pub fn connection(&self) -> &C {
        &self.conn
    }

    /// The transport in use.
    pub fn transport(&self) -> Transport {
        self.canvas.buffers.transport()
    }

    /// Counters since the store was made.
    pub fn stats(&self) -> Stats {
        let buffers = &self.canvas.buffers;
        let counts = buffers.counts();
        let mut s = self.stats.clone();
        s.transport = self.transport();
        // The buffers' waits, and the store's own for a filled pixmap (`present.rs`).
        s.waits += counts.waits;
        s.wait_time += counts.wait_time;
        s.switches = counts.switches;
        s.prefers_waiting = buffers.prefers_waiting();
        s.repaints_cut = buffers.repaints_cut();
        s.uploads_over_wire = buffers.prefers_wire();
        s.allocations += counts.spares;
        s.segments_alive = buffers.segments_alive();
        s.server_copy = self.server_copy.is_some();
        s.scrolls_remembered = self.history.len();
        s.present = self
            .presenter
            .as_ref()
            .map_or(PresentMode::Off, |p| p.mode());
        s
    }

    /// What becomes of the errors of the requests sent every frame: events where
    /// someone reads the connection through x11rb, else dropped by the connection.
    pub(crate) fn request_errors(&self) -> crate::request::Errors {
        match self.events.reach_the_store() {
            true => crate::request::Errors::AsEvents,
            false => crate::request::Errors::Dropped,
        }
    }

    /// How events reach this store (see [`Events`]).
    pub fn events(&self) -> Events {
        self.events
    }

    /// At the start of every call: fails once the connection is lost; on a connection
    /// the store owns ([`Events::Own`]), handles the events that came meanwhile, so
    /// none accumulate there.
    fn enter(&mut self) -> Result<(), Error> {
        self.alive()?;
        if self.events == Events::Own {
            loop {
                let next = self.conn.poll_for_event_with_sequence();
                match self.noted(next.map_err(Error::conn("poll for event"))) {
                    Ok(Some((Event::Error(e), _))) => {
                        log::warn!("X error on the store's connection: {e:?}");
                    }
                    Ok(Some((event, sequence))) => {
                        self.handle_event_at(&event, sequence);
                    }
                    Ok(None) => break,
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
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

    /// Consumes the events meant for this store: `ShmCompletion` (the server finished
    /// reading a flush), `GraphicsExposure`/`NoExposure` from scrolls (parts of the
    /// window a `CopyArea` could not copy are re-uploaded from the image, where later
    /// scrolls have moved them). Returns `true` when the event was this store's.
    ///
    /// Hand events over in the order they are read; late, in batches, is fine. With the
    /// event's full sequence number at hand (`poll_for_event_with_sequence`), prefer
    /// [`handle_event_at`](Self::handle_event_at): here the store extends the event's
    /// 16 bits from the scrolls it remembers.
    pub fn handle_event(&mut self, event: &Event) -> bool {
        let low = match event {
            Event::GraphicsExposure(e) if e.drawable == self.window => e.sequence,
            Event::NoExposure(e) if e.drawable == self.window => e.sequence,
            _ => return self.handle_event_at(event, 0),
        };
        match self.history.copy_with_low_bits(low) {
            Some(seq) => self.handle_event_at(event, seq),
            None => {
                // Not a scroll the store remembers (its events are done, or it was
                // made with the server-side copy): repair wherever it may be.
                if let Event::GraphicsExposure(e) = event {
                    let r = Rect::new(e.x.into(), e.y.into(), e.width.into(), e.height.into());
                    let anywhere = self.history.follow_any(&Region::from(r));
                    self.repair(&anywhere);
                }
                true
            }
        }
    }

    /// [`handle_event`](Self::handle_event) for an event whose full sequence number
    /// x11rb reported (`poll_for_event_with_sequence`), as `xbs-window`'s pump does.
    pub fn handle_event_at(&mut self, event: &Event, sequence: u64) -> bool {
        match event {
            Event::ShmCompletion(e) => self.canvas.buffers.completed(e),
            Event::PresentCompleteNotify(e) => match &mut self.presenter {
                Some(p) => p.completed(e, &mut self.stats),
                None => false,
            },
            Event::PresentIdleNotify(e) => {
                let Some((seg, fence)) = self.presenter.as_ref().and_then(|p| p.idle(e)) else {
                    return false;
                };
                if seg == present::FILLED {
                    // The server is done with the filled pixmap: uploads may go on.
                    if let Some(copy) = &mut self.server_copy {
                        let conn = &*self.conn;
                        if copy
                            .presenting
                            .is_some_and(|p| p.idle_by(conn, fence, e.serial))
                        {
                            copy.presenting = None;
                        }
                    }
                    return true;
                }
                // The server is done with the buffer: free without asking.
                self.canvas.buffers.idle(seg, fence, e.serial);
                true
            }
            Event::GraphicsExposure(e) if e.drawable == self.window => {
                let r = Rect::new(e.x.into(), e.y.into(), e.width.into(), e.height.into());
                // Wrong since its scroll: repaired where the scrolls since moved it.
                let after = self.history.end_of_scroll(sequence);
                let now = self.history.follow(&Region::from(r), after);
                self.repair(&now);
                if e.count == 0 {
                    self.history.exposures_done(sequence);
                }
                true
            }
            Event::NoExposure(e) if e.drawable == self.window => {
                self.history.exposures_done(sequence);
                true
            }
            _ => false,
        }
    }

    /// Re-uploads `region` for an exposure event (errors are the next call's to see).
    fn repair(&mut self, region: &Region) {
        if let Err(err) = self.flush(region) {
            log::debug!("repairing a GraphicsExpose failed: {err}");
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
            mut canvas,
            server_copy,
            gcs,
            presenter,
            conn,
            ..
        } = self;
        let filled = server_copy.as_ref().and_then(|c| c.presenting);
        let presents = match presenter {
            // Nothing may be presented from a segment or pixmap about to go.
            Some(p) => canvas
                .buffers
                .wait_all()
                .and_then(|()| filled.map_or(Ok(()), |f| f.wait(&*conn)))
                .and_then(|()| p.release()),
            None => Ok(()),
        };
        let detached = canvas.buffers.close();
        let pixmap = server_copy.map_or(Ok(()), |c| c.pixmap.release());
        presents.and(detached).and(pixmap).and(gcs.release())
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

#[cfg(test)]
mod tests {
    use super::*;
    use x11rb::errors::ConnectionError;

    /// Defect: every `ConnectionError` used to poison the store for good, including the
    /// ones x11rb raises before sending anything (a request too long, an extension the
    /// server lacks). Only a real loss may.
    #[test]
    #[cfg_attr(miri, ignore = "starts an X server")]
    fn only_a_real_loss_poisons_the_store() {
        let server = xbs_tests::XServer::start().unwrap();
        let (conn, _) = server.connect().unwrap();
        let window = xbs_tests::window(&conn, 64, 64).unwrap();
        let mut store = BackingStore::new(&conn, window, Options::new()).unwrap();
        let all = Region::from(Rect::new(0, 0, 64, 64));
        for source in [
            ConnectionError::UnsupportedExtension,
            ConnectionError::MaximumRequestLengthExceeded,
        ] {
            let failed = store.noted::<()>(Err(Error::Connection {
                request: "a request",
                source,
            }));
            assert!(failed.is_err());
            store
                .begin_paint(&all)
                .unwrap()
                .fill(all.bounds(), 0xff00_ff00);
            store.flush(&all).expect("the store still works");
        }
        let broken = ConnectionError::IoError(std::io::ErrorKind::BrokenPipe.into());
        let _ = store.noted::<()>(Err(Error::Connection {
            request: "a request",
            source: broken,
        }));
        assert!(matches!(
            store.flush(&all),
            Err(Error::ConnectionLost {
                request: "a request"
            })
        ));
    }
}
