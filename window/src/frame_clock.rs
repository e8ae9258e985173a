//! The frame clock: [`Window::request_frame`](crate::Window::request_frame) asks for
//! one wake-up at the display's next vblank, which comes back as
//! [`WindowEvent::Frame`](crate::WindowEvent::Frame). Through the Present extension
//! (`PresentNotifyMSC` for the next MSC; its `CompleteNotify` carries the MSC and the
//! UST in µs); where the server lacks Present, a timer at the screen's RandR refresh
//! rate (60 Hz when unknown) stands in, and [`FrameSource`] says which it is.
//!
//! An app that paints on each `Frame` and then asks for the next runs at the display's
//! rate with no sleep and no busy loop; one that does not ask gets nothing.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use x11rb::connection::Connection;
use x11rb::protocol::present::{self, CompleteKind, CompleteNotifyEvent, ConnectionExt as _};
use x11rb::protocol::randr::ConnectionExt as _;
use xbs_shm::RequestError as _;

use crate::{Error, WindowEvent};

/// Where a window's frames come from.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum FrameSource {
    /// The Present extension: a frame is a vblank of the window's display (on servers
    /// without hardware vblank, the server's own clock: Xvfb's `-fakescreenfps`,
    /// the compositor's frame callbacks under Xwayland).
    Present,
    /// No Present on this server: a timer at `hz` (the screen's RandR refresh rate, or
    /// 60 when the server does not say).
    Timer {
        /// The timer's rate.
        hz: f64,
    },
}

/// Per-MSC intervals kept for the estimate.
const KEEP: usize = 16;
/// The interval assumed before two frames have been seen, where nothing says better.
const DEFAULT_INTERVAL: Duration = Duration::from_micros(16_667);

#[derive(Debug, Default)]
pub(crate) struct FrameClock {
    /// Decided at the first request (a round trip for the extension's presence).
    source: Option<FrameSource>,
    /// The Present event context selected on the window.
    eid: Option<u32>,
    serial: u32,
    /// The serial of the `PresentNotifyMSC` still to complete.
    pending: Option<u32>,
    /// The timer's next tick, when one was asked for (no Present).
    due: Option<Instant>,
    /// The timer's ticks so far, and when it started (its MSC and UST).
    ticks: u64,
    started: Option<Instant>,
    last: Option<(u64, u64)>,
    /// Recent µs per MSC.
    intervals: VecDeque<u64>,
    /// Frames completed, and MSCs skipped between asking and completing.
    pub(crate) frames: u64,
}

impl FrameClock {
    pub(crate) fn source(&self) -> Option<FrameSource> {
        self.source
    }

    /// Asks for one wake-up at the next vblank (nothing more while one is asked).
    pub(crate) fn request(&mut self, conn: &impl Connection, window: u32) -> Result<(), Error> {
        let source = match self.source {
            Some(s) => s,
            None => self.decide(conn, window)?,
        };
        match source {
            FrameSource::Present => {
                if self.pending.is_some() {
                    return Ok(());
                }
                self.serial = self.serial.wrapping_add(1);
                // Target 0 with divisor 1: the first MSC after the current one.
                conn.present_notify_msc(window, self.serial, 0, 1, 0)
                    .map_err(Error::conn("PresentNotifyMSC"))?;
                self.pending = Some(self.serial);
                conn.flush().map_err(Error::conn("flush"))
            }
            FrameSource::Timer { hz } => {
                if self.due.is_none() {
                    let period = Duration::from_secs_f64(1.0 / hz);
                    let now = Instant::now();
                    let started = *self.started.get_or_insert(now);
                    // The next tick of a clock that runs on whether asked or not.
                    let n = (now.duration_since(started).as_secs_f64() / period.as_secs_f64())
                        .floor() as u64
                        + 1;
                    self.due = Some(started + period.mul_f64(n as f64));
                }
                Ok(())
            }
        }
    }

    fn decide(&mut self, conn: &impl Connection, window: u32) -> Result<FrameSource, Error> {
        let has_present = conn
            .extension_information(present::X11_EXTENSION_NAME)
            .map_err(Error::conn("QueryExtension Present"))?
            .is_some();
        let source = if has_present {
            let eid = conn
                .generate_id()
                .map_err(Error::id("PresentSelectInput"))?;
            conn.present_select_input(eid, window, present::EventMask::COMPLETE_NOTIFY)
                .map_err(Error::conn("PresentSelectInput"))?;
            self.eid = Some(eid);
            FrameSource::Present
        } else {
            let hz = refresh_rate(conn, window).unwrap_or(60.0);
            log::info!("no Present extension: frames from a {hz} Hz timer");
            FrameSource::Timer { hz }
        };
        self.source = Some(source);
        Ok(source)
    }

    /// Takes a `CompleteNotify` of this window: the frame asked for, as the event.
    pub(crate) fn completed(&mut self, e: &CompleteNotifyEvent) -> Option<WindowEvent> {
        if e.kind != CompleteKind::NOTIFY_MSC || self.pending != Some(e.serial) {
            return None;
        }
        self.pending = None;
        Some(self.frame(e.msc, e.ust))
    }

    /// When the timer's next frame is due, if one was asked for.
    pub(crate) fn due(&self) -> Option<Instant> {
        self.due
    }

    /// The timer's frame, if it is due at `now`.
    pub(crate) fn fire(&mut self, now: Instant) -> Option<WindowEvent> {
        let due = self.due.filter(|&d| d <= now)?;
        self.due = None;
        let started = self.started.unwrap_or(due);
        let ust = due.duration_since(started).as_micros() as u64;
        self.ticks += 1;
        Some(self.frame(self.ticks, ust))
    }

    fn frame(&mut self, msc: u64, ust: u64) -> WindowEvent {
        if let Some((last_msc, last_ust)) = self.last {
            if msc > last_msc && ust > last_ust {
                if self.intervals.len() == KEEP {
                    self.intervals.pop_front();
                }
                self.intervals
                    .push_back((ust - last_ust) / (msc - last_msc));
            }
        }
        self.last = Some((msc, ust));
        self.frames += 1;
        let interval = if self.intervals.is_empty() {
            match self.source {
                Some(FrameSource::Timer { hz }) => Duration::from_secs_f64(1.0 / hz),
                _ => DEFAULT_INTERVAL,
            }
        } else {
            // The median, without allocating (at most KEEP of them).
            let mut v = [0u64; KEEP];
            let n = self.intervals.len();
            for (slot, &i) in v.iter_mut().zip(&self.intervals) {
                *slot = i;
            }
            v[..n].sort_unstable();
            Duration::from_micros(v[n / 2])
        };
        WindowEvent::Frame {
            msc,
            ust: Duration::from_micros(ust),
            interval,
        }
    }
}

/// The screen's refresh rate as RandR 1.0 reports it, if it does.
fn refresh_rate(conn: &impl Connection, window: u32) -> Option<f64> {
    let info = conn.randr_get_screen_info(window).ok()?.reply().ok()?;
    (info.rate > 0).then_some(f64::from(info.rate))
}
