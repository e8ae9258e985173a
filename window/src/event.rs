//! The event pump: X events in, [`WindowEvent`]s out. The attached store takes its own
//! events first; Expose series are merged into one region and repaired by the store;
//! ConfigureNotify events from before the app's own [`Window::set_size`] are stale.

use std::collections::VecDeque;

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{Keycode, Keysym};
use x11rb::protocol::Event;
use xbs::{Rect, Region};
use xbs_shm::RequestError as _;

use crate::builder::MAX_SIZE;
use crate::keymap::Keymap;
use crate::{wm, Error, Window};

/// Something that happened to a window, as the app needs to know it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum WindowEvent {
    /// Parts of the window were exposed: every rect of one Expose series, merged. When a
    /// store is attached it has already repaired them from its retained pixels.
    Expose(Region),
    /// The window's size changed; an attached store has been resized (content kept
    /// where it still fits). Paint and flush the new area.
    Resized {
        /// New width.
        width: u32,
        /// New height.
        height: u32,
    },
    /// The user asked to close the window (`WM_DELETE_WINDOW`).
    CloseRequested,
    /// The pointer moved inside the window.
    PointerMoved {
        /// Position in the window.
        x: i32,
        /// Position in the window.
        y: i32,
    },
    /// A pointer button was pressed (1 left, 2 middle, 3 right, 4/5 wheel).
    ButtonPressed {
        /// Button number.
        button: u8,
        /// Position in the window.
        x: i32,
        /// Position in the window.
        y: i32,
    },
    /// A pointer button was released.
    ButtonReleased {
        /// Button number.
        button: u8,
        /// Position in the window.
        x: i32,
        /// Position in the window.
        y: i32,
    },
    /// The pointer entered the window.
    PointerEntered,
    /// The pointer left the window.
    PointerLeft,
    /// A key was pressed.
    KeyPressed(Key),
    /// A key was released.
    KeyReleased(Key),
    /// The window gained (`true`) or lost keyboard focus.
    Focus(bool),
    /// The display's next vblank, asked for with [`Window::request_frame`]: paint the
    /// next frame now (and ask for the one after). `msc` counts vblanks, `ust` is when
    /// this one happened (the server's clock, µs; the timer's own count where the
    /// server has no Present), `interval` the measured time between vblanks (the
    /// median of the last 16).
    Frame {
        /// The vblank's number (Present's MSC).
        msc: u64,
        /// When it happened.
        ust: std::time::Duration,
        /// The time between vblanks.
        interval: std::time::Duration,
    },
    /// The window was destroyed; the window can no longer be used.
    Destroyed,
    /// Any other event on the connection (for other windows, or not interpreted here).
    Other(Box<Event>),
}

/// A key event: the hardware keycode and the keysym it means with the modifiers held
/// (shift level only; compose and input methods are out of scope).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// The keycode.
    pub keycode: Keycode,
    /// The keysym (`0x71` is `q`, `0xff1b` Escape, ...), 0 if the key has none.
    pub keysym: Keysym,
    /// The modifier mask (`KeyButMask`).
    pub state: u16,
}

/// The rects of the Expose series being received (until one with `count == 0`), and
/// the highest sequence number among its events (`None` once one came without).
#[derive(Debug)]
pub(crate) struct ExposeSeries {
    rects: Vec<Rect>,
    seq: Option<u64>,
}

impl Default for ExposeSeries {
    fn default() -> Self {
        ExposeSeries {
            rects: Vec::new(),
            seq: Some(0),
        }
    }
}

impl ExposeSeries {
    /// One event's rect. A flush must come after every event of the series to count.
    pub(crate) fn add(&mut self, r: Rect, sequence: Option<u64>) {
        self.rects.push(r);
        self.seq = self.seq.zip(sequence).map(|(a, b)| a.max(b));
    }

    /// The series is complete: its rects as one region (merged in O(n log n), however
    /// many there are), and its sequence number.
    pub(crate) fn finish(&mut self) -> (Region, Option<u64>) {
        let region = Region::from_rects(self.rects.drain(..));
        (region, self.seq.replace(0))
    }
}

/// The sizes the app asked for with [`Window::set_size`] that the server has not
/// confirmed yet, so that a ConfigureNotify of an older one is not taken for news.
///
/// Without a window manager the server answers each request at once, and a
/// ConfigureNotify sent before the last request (a lower sequence number) is stale.
/// With one (weston's, under Xwayland), a `ConfigureWindow` becomes a request the
/// manager grants later, so the notification of an older size can carry a newer
/// sequence number: it is stale when a size asked for after it is still to come. The
/// manager answers in order, but may lag far behind: measured on weston 10 during a
/// resize storm, 50 requests. Sizes older than [`AskedSizes::MAX`] are forgotten; a
/// manager lagging further would make one stale size look like its own choice.
#[derive(Debug, Default)]
pub(crate) struct AskedSizes {
    /// Oldest first; at most [`AskedSizes::MAX`].
    sizes: VecDeque<(u32, u32)>,
    /// The sequence number of the last request.
    seq: u64,
}

impl AskedSizes {
    const MAX: usize = 256;

    /// The app asked for `size` in request `seq`.
    pub(crate) fn asked(&mut self, size: (u32, u32), seq: u64) {
        if self.sizes.len() == Self::MAX {
            self.sizes.pop_front();
        }
        self.sizes.push_back(size);
        self.seq = seq;
    }

    /// Whether a ConfigureNotify of `size` (sent after request `sequence`, if known)
    /// is an answer to a request the app has since replaced.
    pub(crate) fn is_stale(&mut self, size: (u32, u32), sequence: Option<u64>) -> bool {
        let before_last = sequence.is_some_and(|seq| seq < self.seq);
        let superseded = match self.sizes.iter().position(|&s| s == size) {
            // One of ours: those asked before it are answered (or never will be).
            Some(i) => {
                self.sizes.drain(..=i);
                !self.sizes.is_empty()
            }
            None => false,
        };
        before_last || superseded
    }
}

impl<C: Connection> Window<C> {
    /// The next event if one is queued, without blocking.
    pub fn poll_event(&mut self) -> Result<Option<WindowEvent>, Error> {
        if let Some(frame) = self.clock.fire(std::time::Instant::now()) {
            return Ok(Some(frame));
        }
        loop {
            let Some((event, seq)) = self
                .conn
                .poll_for_event_with_sequence()
                .map_err(Error::conn("poll"))?
            else {
                return Ok(None);
            };
            if let Some(e) = self.process_with_sequence(event, seq)? {
                return Ok(Some(e));
            }
        }
    }

    /// The next event, blocking until there is one. (Frames of the timer that stands
    /// in for Present come through [`poll_event`](Self::poll_event) and
    /// [`Display`](crate::Display)'s waits, not here.)
    pub fn wait_event(&mut self) -> Result<WindowEvent, Error> {
        loop {
            let (event, seq) = self
                .conn
                .wait_for_event_with_sequence()
                .map_err(Error::conn("wait"))?;
            if let Some(e) = self.process_with_sequence(event, seq)? {
                return Ok(e);
            }
        }
    }

    /// Interprets one event; `None` when it was consumed (by the store or the protocols).
    /// Prefer [`process_with_sequence`](Self::process_with_sequence) when the event's
    /// sequence number is at hand: without it, an Expose is repaired in full even where
    /// a later flush has repainted it.
    pub fn process(&mut self, event: Event) -> Result<Option<WindowEvent>, Error> {
        self.process_inner(event, None)
    }

    /// Interprets one event with the sequence number x11rb reports for it
    /// (`poll_for_event_with_sequence`), so that the attached store repairs an Expose
    /// only where no flush since has ([`BackingStore::expose_at`](xbs::BackingStore::expose_at)).
    pub fn process_with_sequence(
        &mut self,
        event: Event,
        sequence: u64,
    ) -> Result<Option<WindowEvent>, Error> {
        self.process_inner(event, Some(sequence))
    }

    /// Hands `event` to the attached store; whether it took it (its segment's
    /// `ShmCompletion`, its server-side copy's exposures).
    pub(crate) fn offer_to_store(&mut self, event: &Event, sequence: u64) -> bool {
        self.store
            .as_mut()
            .is_some_and(|s| s.handle_event_at(event, sequence))
    }

    fn process_inner(
        &mut self,
        event: Event,
        sequence: Option<u64>,
    ) -> Result<Option<WindowEvent>, Error> {
        if let Some(store) = &mut self.store {
            // With the sequence number, a repair follows exactly the scrolls since.
            let taken = match sequence {
                Some(seq) => store.handle_event_at(&event, seq),
                None => store.handle_event(&event),
            };
            if taken {
                return Ok(None);
            }
        }
        let me = self.id;
        Ok(Some(match event {
            Event::Expose(e) if e.window == me => {
                let r = Rect::new(e.x.into(), e.y.into(), e.width.into(), e.height.into());
                self.expose.add(r, sequence);
                if e.count > 0 {
                    return Ok(None);
                }
                let (region, seq) = self.expose.finish();
                if let Some(store) = &mut self.store {
                    match seq {
                        Some(seq) => store.expose_at(&region, seq)?,
                        None => store.expose(&region)?,
                    }
                }
                WindowEvent::Expose(region)
            }
            Event::ConfigureNotify(e) if e.window == me => {
                self.sync.configured();
                let (w, h) = (u32::from(e.width), u32::from(e.height));
                let stale = self.asked.is_stale((w, h), sequence);
                if stale || (w, h) == (self.width, self.height) {
                    return Ok(None);
                }
                self.width = w;
                self.height = h;
                if let Some(store) = &mut self.store {
                    // A window may legally be larger than a store can back (someone
                    // else resized it): the store covers its top-left part.
                    store.resize(w.min(MAX_SIZE), h.min(MAX_SIZE))?;
                }
                WindowEvent::Resized {
                    width: w,
                    height: h,
                }
            }
            Event::ClientMessage(e) if e.window == me && e.type_ == self.atoms.WM_PROTOCOLS => {
                let data = e.data.as_data32();
                let a = &self.atoms;
                if data[0] == a.WM_DELETE_WINDOW {
                    WindowEvent::CloseRequested
                } else if data[0] == a._NET_WM_PING {
                    let root = self.conn.setup().roots[self.screen].root;
                    wm::pong(&*self.conn, root, e)?;
                    return Ok(None);
                } else if data[0] == a._NET_WM_SYNC_REQUEST {
                    self.sync.requested(&data);
                    return Ok(None);
                } else {
                    WindowEvent::Other(Box::new(Event::ClientMessage(e)))
                }
            }
            Event::MotionNotify(e) if e.event == me => WindowEvent::PointerMoved {
                x: e.event_x.into(),
                y: e.event_y.into(),
            },
            Event::ButtonPress(e) if e.event == me => WindowEvent::ButtonPressed {
                button: e.detail,
                x: e.event_x.into(),
                y: e.event_y.into(),
            },
            Event::ButtonRelease(e) if e.event == me => WindowEvent::ButtonReleased {
                button: e.detail,
                x: e.event_x.into(),
                y: e.event_y.into(),
            },
            Event::EnterNotify(e) if e.event == me => WindowEvent::PointerEntered,
            Event::LeaveNotify(e) if e.event == me => WindowEvent::PointerLeft,
            Event::KeyPress(e) if e.event == me => {
                WindowEvent::KeyPressed(self.keymap.key(e.detail, e.state.into()))
            }
            Event::KeyRelease(e) if e.event == me => {
                WindowEvent::KeyReleased(self.keymap.key(e.detail, e.state.into()))
            }
            Event::FocusIn(e) if e.event == me => WindowEvent::Focus(true),
            Event::FocusOut(e) if e.event == me => WindowEvent::Focus(false),
            Event::MappingNotify(_) => {
                self.keymap = Keymap::load(&*self.conn)?;
                return Ok(None);
            }
            Event::PresentCompleteNotify(e) if e.window == me => match self.clock.completed(&e) {
                Some(frame) => frame,
                None => return Ok(None),
            },
            Event::DestroyNotify(e) if e.window == me => {
                self.destroyed = true;
                // Its pixels have nowhere to go; the store's own resources stay valid
                // and are freed on drop.
                WindowEvent::Destroyed
            }
            other => WindowEvent::Other(Box::new(other)),
        }))
    }
}
