//! Switching buffers or waiting, and how a switch copies, chosen by the time frames
//! take.
//!
//! A paint over pixels the server is still reading either switches to the other
//! buffer (copying into it what it lacks) or waits until the server has read them.
//! Switching wins where the app and the server each have a core: the app paints the
//! next frame while the server copies the last. It loses where they share too few
//! (Xwayland and its compositor beside the app on two cores): the server is then the
//! bottleneck, the copy takes CPU time it needed, and two buffers are twice the memory
//! both stream through. Measured on one machine, the same paints ran 1.25× faster
//! switching on Xvfb and 1.1× faster waiting on Xwayland. Which holds depends on the
//! machine, the server and what else runs, so the store measures it.
//!
//! The time from one paint to the next is the app's frame time. When a paint finds
//! the front busy (*contended*: the app paints faster than the server reads), the
//! [`Chooser`] runs blocks of frames switching and blocks waiting, four of each, keeps
//! the choice whose frames took less time, and measures again after some hundred
//! contended paints. Under a compositor a block lasts three refreshes at least, so
//! that each holds its share of the compositor's repaints, and a choice lasts
//! seconds. A choice's time is that of its two middle blocks: on a machine
//! shared with a compositor, a block that a stall of the server fell into can take
//! twice its neighbours, whatever the choice. Where the two are about the same the
//! store keeps its lean: switching, or waiting where a compositor reads the window
//! (there waiting gave the shorter frames in every run measured). Every paint of a block counts,
//! not only the contended ones: waiting makes some paints find the front free (the
//! server caught up meanwhile), and those are its fastest frames. Whole blocks, not
//! median frames: switching gives many short frames and some long ones (those that
//! find the other buffer busy too), and only the sum says which shows more frames. An app that
//! paints at the display's rate never finds the front busy and never gets here.
//!
//! The same trial, a [`Chooser`] of two other options ([`Copying`]), decides how a
//! switching repaint copies the small stale rects it covers in part: whole, which
//! brings their lines to the app's core before the paint writes them, or cut around
//! what it writes, which copies less. Which is faster is the machine's: with the
//! app's core and the server's sharing a cache, cutting gave 6–12% shorter damage-16
//! frames; with them apart, copying whole 2–7%. It is measured only while switching
//! is settled (frames of a trial of switching and waiting say nothing of it).
//!
//! And a third ([`Upload`]) decides how small flushes (an eighth of the image at
//! most) reach the server from shared memory: `ShmPutImage`, or `PutImage` with the
//! pixels in the request. Over the wire the server never reads the app's memory, so
//! the lines the app paints stay in its core: with the cores apart, damage-16 frames
//! took 0.054 ms so against 0.076 through shared memory; with them together,
//! 1.75-2x as long. A trial of the wire where it loses costs its frames, so a choice of uploads
//! lasts [`UPLOAD_SETTLED`] at least; and there is none under a compositor, where a
//! block lasts 50 ms and a trial tenths of a second. One chooser measures at a time.

use std::time::{Duration, Instant};

/// What a contended paint does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Choice {
    /// Switch to the other buffer (where the copy rule allows, else wait).
    Switch,
    /// Wait until the server has read the front.
    Wait,
}

/// How a switch copies the stale rects a repaint covers in part (`buffers.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Copying {
    /// Copies each whole unless the repaint covers all of it or many pixels of it:
    /// the copy brings the lines the paint then writes to the app's core.
    Whole,
    /// Leaves out every pixel the repaint writes: less to copy, but the paint then
    /// writes lines last read on the server's core.
    Cut,
}

/// How a flush of a few pixels from shared memory reaches the server
/// (`store/flush.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Upload {
    /// `ShmPutImage`: the server copies the pixels out of the app's memory.
    Shm,
    /// `PutImage`: the pixels travel in the request, and the server never reads the
    /// app's memory, whose lines then stay in the app's core.
    Wire,
}

/// A choice of uploads lasts this long at least before the next trial: a trial of
/// the wire where shared memory is faster costs its blocks' frames (1.75-2x as long
/// in runs of damage-16), so it comes seldom.
pub(crate) const UPLOAD_SETTLED: Duration = Duration::from_secs(5);

/// The trial's blocks, in order (indices into a chooser's two options): ABBA BAAB,
/// so that a machine slowing down or speeding up during the trial favours neither.
const ORDER: [usize; 8] = [0, 1, 1, 0, 1, 0, 0, 1];
/// Blocks of each choice in a trial.
const BLOCKS: usize = ORDER.len() / 2;
/// Frames a block measures at least.
const BLOCK: usize = 16;
/// Under a compositor, a block also lasts this long (its frames' time, pauses not
/// counted): three refreshes at 60 Hz. The compositor repaints once a refresh, taking
/// CPU the app and the server share (headless weston: about 6 ms of a 16.7 ms period),
/// so a block of 16 damage-16 frames (1 ms) holds one repaint or none, and decided by
/// that which choice won: in three runs of the bench on Xwayland the store switched
/// in two and took 0.73–0.79x softbuffer's time there, 0.94x where it waited.
pub(crate) const COMPOSITED_BLOCK: Duration = Duration::from_millis(50);
/// Under a compositor, a choice lasts this much longer than its paints before the
/// next trial (a trial of fast frames takes some 0.4 s: under a tenth of the time)...
pub(crate) const COMPOSITED_SETTLED: Duration = Duration::from_secs(5);
/// ...and the first, waiting, this much: an app painting flat out for a moment (an
/// animation of a second) pays no trial.
const COMPOSITED_FIRST: Duration = Duration::from_secs(1);
/// Frames at the start of a block not measured: the change itself (the first switch
/// after waiting copies everything painted meanwhile) is no frame of either choice.
const SKIP: u32 = 2;
/// Contended paints that follow a choice before measuring again.
const SETTLED: u32 = 480;
/// A gap between contended paints longer than this is the app pausing, not a frame.
const GAP: Duration = Duration::from_millis(50);

#[derive(Debug)]
enum State<T> {
    /// Measuring block `ORDER[block]`, `skipped` frames into it (since it began or
    /// since a pause).
    Trial { block: usize, skipped: u32 },
    /// Doing `choice` for `left` more contended paints, then until `lasts` has passed
    /// since the last of them (`since`).
    Settled {
        choice: T,
        left: u32,
        lasts: Duration,
        since: Option<Instant>,
    },
}

/// Chooses what a contended paint does, from the frame times each of two options
/// gave.
#[derive(Debug)]
pub(crate) struct Chooser<T = Choice> {
    /// The two options, the first the one a trial starts with.
    options: [T; 2],
    state: State<T>,
    /// The last paint, while measuring (the time since then is a frame).
    last: Option<Instant>,
    /// The first frame times of the block on trial, for its typical frame.
    samples: [Duration; BLOCK],
    /// Frames the block on trial has measured, and their time (see `end_block`).
    taken: usize,
    took: Duration,
    /// The block's longest frame that counts in full, once it has `BLOCK` samples.
    cap: Option<Duration>,
    /// The mean frame of each of the trial's blocks of each option.
    times: [[Duration; BLOCKS]; 2],
    /// The choice before the first trial, and where the trial finds the two about
    /// the same.
    lean: T,
    /// How long a block lasts at least, and a settled choice after a trial.
    block_time: Duration,
    settled_time: Duration,
}

impl Chooser {
    /// A chooser that switches unless waiting is clearly faster: until a paint first
    /// finds the front busy, which starts a trial (an app that never paints over
    /// pixels in flight has nothing to choose).
    pub(crate) fn new() -> Self {
        Chooser::leaning([Choice::Switch, Choice::Wait])
    }

    /// A chooser for a window a compositor reads, which waits unless switching is
    /// clearly faster: the server and the compositor are then the bottleneck on the
    /// CPUs they share with the app (module docs). It waits, measuring nothing, for
    /// a settled choice's contended paints and then [`COMPOSITED_FIRST`]; its blocks
    /// last [`COMPOSITED_BLOCK`] at least, its settled choices [`COMPOSITED_SETTLED`]
    /// more than their paints.
    pub(crate) fn under_compositor() -> Self {
        Chooser {
            state: State::Settled {
                choice: Choice::Wait,
                left: SETTLED,
                lasts: COMPOSITED_FIRST,
                since: None,
            },
            lean: Choice::Wait,
            block_time: COMPOSITED_BLOCK,
            settled_time: COMPOSITED_SETTLED,
            ..Self::new()
        }
    }

    /// Whether contended paints wait now (rather than switch).
    pub(crate) fn waits(&self) -> bool {
        self.choice() == Choice::Wait
    }
}

impl<T: Copy + Eq> Chooser<T> {
    /// A chooser of `options` that does the first unless the second is clearly
    /// faster, and does it until the first contended paint starts a trial.
    pub(crate) fn leaning(options: [T; 2]) -> Self {
        Chooser {
            options,
            state: State::Settled {
                choice: options[0],
                left: 1,
                lasts: Duration::ZERO,
                since: None,
            },
            last: None,
            samples: [Duration::ZERO; BLOCK],
            taken: 0,
            took: Duration::ZERO,
            cap: None,
            times: [[Duration::ZERO; BLOCKS]; 2],
            lean: options[0],
            block_time: Duration::ZERO,
            settled_time: Duration::ZERO,
        }
    }

    /// The chooser with blocks lasting `block` at least, and a settled choice `settled`
    /// more than its paints.
    pub(crate) fn timed(mut self, block: Duration, settled: Duration) -> Self {
        self.block_time = block;
        self.settled_time = settled;
        self
    }

    /// What a contended paint does now.
    pub(crate) fn choice(&self) -> T {
        match self.state {
            State::Trial { block, .. } => self.options[ORDER[block]],
            State::Settled { choice, .. } => choice,
        }
    }

    /// Whether a trial is on.
    pub(crate) fn trying(&self) -> bool {
        matches!(self.state, State::Trial { .. })
    }

    /// The paints since the last one are no frames of the block on trial (the app
    /// painted with another chooser trying): the next paint starts a frame.
    pub(crate) fn interrupted(&mut self) {
        self.last = None;
    }

    /// A paint, which found the front busy if `contended`, at the time `now` gives
    /// (asked only while measuring): what a contended one should do.
    pub(crate) fn paint(&mut self, now: impl FnOnce() -> Instant, contended: bool) -> T {
        let State::Trial { skipped, .. } = &mut self.state else {
            if !contended {
                return self.choice();
            }
            let choice = self.choice();
            if let State::Settled {
                left, lasts, since, ..
            } = &mut self.state
            {
                *left = left.saturating_sub(1);
                // The clock only where the choice lasts a time too.
                let over = *left == 0
                    && (lasts.is_zero() || {
                        let now = now();
                        now.saturating_duration_since(*since.get_or_insert(now)) >= *lasts
                    });
                if over {
                    self.start_trial();
                }
            }
            return choice;
        };
        let now = now();
        if let Some(frame) = self.last.map(|then| now.saturating_duration_since(then)) {
            if frame >= GAP {
                // The app paused: no frame of either choice, and the frames after it
                // are skipped: after a pause (other work, other windows painted) the
                // caches are cold whatever the choice.
                *skipped = 0;
            } else if *skipped < SKIP {
                *skipped += 1;
            } else {
                self.measured(frame);
            }
        }
        self.last = Some(now);
        if self.taken >= BLOCK && self.took >= self.block_time {
            self.end_block();
        }
        self.choice()
    }

    fn start_trial(&mut self) {
        self.state = State::Trial {
            block: 0,
            skipped: 0,
        };
        self.last = None;
        self.clear_block();
    }

    /// Forgets the frames of the block on trial.
    fn clear_block(&mut self) {
        self.taken = 0;
        self.took = Duration::ZERO;
        self.cap = None;
    }

    /// A frame of the block on trial. A frame the scheduler took the app off the CPU
    /// in counts as at most four of the block's typical ones (the median of its first
    /// [`BLOCK`]): a frame that waits for the server is kept, a preemption is not the
    /// choice's doing.
    fn measured(&mut self, frame: Duration) {
        match self.cap {
            Some(cap) => self.took += frame.min(cap),
            None => {
                self.samples[self.taken] = frame;
                if self.taken + 1 == BLOCK {
                    let mut sorted = self.samples;
                    sorted.sort_unstable();
                    let cap = sorted[BLOCK / 2] * 4;
                    self.took = self.samples.iter().map(|&f| f.min(cap)).sum();
                    self.cap = Some(cap);
                }
            }
        }
        self.taken += 1;
    }

    /// Notes the block's mean frame for its choice, and moves on: to the next block,
    /// or when the trial is over, to the choice whose frames took less time.
    fn end_block(&mut self) {
        let took = self.took / self.taken as u32;
        self.clear_block();
        let State::Trial { block, .. } = self.state else {
            return;
        };
        let option = ORDER[block];
        // The how-many-th block of its option this one is.
        let nth = ORDER[..block].iter().filter(|&&o| o == option).count();
        self.times[option][nth] = took;
        self.state = if block + 1 < ORDER.len() {
            State::Trial {
                block: block + 1,
                skipped: 0,
            }
        } else {
            let times = [middle(self.times[0]), middle(self.times[1])];
            // The lean unless the other is faster by more than 1/16 (noise).
            let lean = usize::from(self.options[1] == self.lean);
            let other = 1 - lean;
            let choice = match times[other] + times[other] / 16 < times[lean] {
                true => self.options[other],
                false => self.lean,
            };
            State::Settled {
                choice,
                left: SETTLED,
                lasts: self.settled_time,
                since: None,
            }
        };
    }
}

/// The mean frames of the middle blocks of a choice (all but its fastest and its slowest):
/// a block a stall of the server or the scheduler fell into says nothing about the
/// choice, nor does one that had the machine to itself.
fn middle(mut blocks: [Duration; BLOCKS]) -> Duration {
    blocks.sort_unstable();
    blocks[1..BLOCKS - 1].iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Contended paints from `*now` until the trial is over, each frame taking what
    /// `frame` says for the chooser's choice and its number; then `settled` more.
    /// Returns the waits among the settled ones.
    fn run(
        c: &mut Chooser,
        now: &mut Instant,
        settled: u32,
        mut frame: impl FnMut(Choice, u32) -> Duration,
    ) -> u32 {
        let mut n = 0;
        if !matches!(c.state, State::Trial { .. }) {
            // The contended paint that starts a trial.
            *now += frame(c.paint(|| *now, true), n);
            n += 1;
        }
        while matches!(c.state, State::Trial { .. }) {
            *now += frame(c.paint(|| *now, true), n);
            n += 1;
        }
        let mut waits = 0;
        for _ in 0..settled {
            let choice = c.paint(|| *now, true);
            waits += u32::from(choice == Choice::Wait);
            *now += frame(choice, n);
            n += 1;
        }
        waits
    }

    const US: Duration = Duration::from_micros(1);

    fn flat(switch: Duration, wait: Duration) -> impl FnMut(Choice, u32) -> Duration {
        move |c, _| match c {
            Choice::Switch => switch,
            Choice::Wait => wait,
        }
    }

    #[test]
    fn it_waits_where_waiting_gives_shorter_frames() {
        let (mut c, mut now) = (Chooser::new(), Instant::now());
        // The paint that ended the trial was the first of the settled ones.
        let settled = SETTLED;
        assert_eq!(
            run(&mut c, &mut now, settled, flat(80 * US, 60 * US)),
            settled
        );
        // Then it measures again.
        assert!(matches!(c.state, State::Trial { block: 0, .. }));
    }

    #[test]
    fn it_switches_where_switching_gives_shorter_frames_or_about_the_same() {
        for wait in [95 * US, 79 * US] {
            let (mut c, mut now) = (Chooser::new(), Instant::now());
            assert_eq!(run(&mut c, &mut now, SETTLED, flat(80 * US, wait)), 0);
        }
    }

    #[test]
    fn under_a_compositor_it_switches_only_where_that_is_clearly_faster() {
        for (switch, waits) in [(60 * US, SETTLED), (57 * US, SETTLED), (50 * US, 0)] {
            let (mut c, mut now) = (Chooser::under_compositor(), Instant::now());
            // It waits, and measures nothing, for a settled choice's paints and a
            // second more.
            assert!(c.waits());
            let start = now;
            let mut paints = 0;
            while !matches!(c.state, State::Trial { .. }) {
                assert_eq!(c.paint(|| now, true), Choice::Wait);
                now += 60 * US;
                paints += 1;
            }
            assert!(paints > SETTLED && now - start >= COMPOSITED_FIRST);
            let trial = now;
            assert_eq!(run(&mut c, &mut now, SETTLED, flat(switch, 60 * US)), waits);
            // Every block of the trial lasted three refreshes at least.
            assert!(now - trial >= COMPOSITED_BLOCK * ORDER.len() as u32);
            // The choice then lasts its paints and 5 s more.
            for _ in 0..(COMPOSITED_SETTLED.as_micros() / 60) as u32 {
                assert!(!matches!(c.state, State::Trial { .. }));
                c.paint(|| now, true);
                now += 60 * US;
            }
        }
    }

    #[test]
    fn a_compositors_repaints_decide_nothing() {
        // Frames of 60 µs waiting, 70 switching; but for 6 ms of every 16.7 (a
        // compositor repainting at 60 Hz on one of the two CPUs) every frame takes
        // twice as long, whatever the choice. Blocks of 16 frames (1 ms) fell inside
        // such a stretch or outside it, and that decided which choice won.
        for phase in 0..16 {
            let (mut c, mut now) = (Chooser::under_compositor(), Instant::now());
            let start = now;
            let refresh = Duration::from_micros(16_667);
            let offset = refresh * phase / 16;
            let frame = move |choice: Choice, at: Instant| {
                let took = match choice {
                    Choice::Switch => 70 * US,
                    Choice::Wait => 60 * US,
                };
                let into = (at - start + offset).as_nanos() % refresh.as_nanos();
                match into < 6_000_000 {
                    true => took * 2,
                    false => took,
                }
            };
            // Settled paints after a trial that switched, and trials.
            let (mut switched, mut trials, mut was_trial) = (0, 0, false);
            while now - start < Duration::from_secs(20) {
                let choice = c.paint(|| now, true);
                let trial = matches!(c.state, State::Trial { .. });
                trials += u32::from(trial && !was_trial);
                was_trial = trial;
                switched += u32::from(!trial && trials > 0 && choice == Choice::Switch);
                now += frame(choice, now);
            }
            assert!(trials >= 2, "phase {phase}: {trials} trials");
            assert_eq!(switched, 0, "phase {phase}: settled on switching");
        }
    }

    #[test]
    fn a_switch_cuts_out_what_a_repaint_covers_only_where_that_is_clearly_faster() {
        // Cutting 4% faster (noise, or too little to matter): the whole copy stays.
        // 10% faster: cutting.
        for (cut, cuts) in [(48 * US, false), (45 * US, true)] {
            let (mut c, mut now) = (
                Chooser::leaning([Copying::Whole, Copying::Cut]),
                Instant::now(),
            );
            assert_eq!(c.choice(), Copying::Whole);
            c.paint(|| now, true);
            assert!(c.trying());
            while c.trying() {
                now += match c.paint(|| now, true) {
                    Copying::Whole => 50 * US,
                    Copying::Cut => cut,
                };
            }
            assert_eq!(c.choice() == Copying::Cut, cuts, "{cut:?}");
        }
    }

    #[test]
    fn an_interruption_is_no_frame() {
        // Frames of the trial's blocks are 50 µs whatever the option, but now and
        // then the app painted for 40 ms (under the pause threshold) with another
        // chooser trying between two paints of a block copying whole: that is no
        // frame of it, and cutting must not win by it.
        let (mut c, mut now) = (
            Chooser::leaning([Copying::Whole, Copying::Cut]),
            Instant::now(),
        );
        c.paint(|| now, true);
        let mut n = 0;
        while c.trying() {
            let option = c.paint(|| now, true);
            now += 50 * US;
            n += 1;
            if option == Copying::Whole && n % 5 == 0 {
                c.interrupted();
                now += Duration::from_millis(40);
            }
        }
        assert_eq!(c.choice(), Copying::Whole);
    }

    #[test]
    fn it_follows_a_change() {
        let (mut c, mut now) = (Chooser::new(), Instant::now());
        assert!(run(&mut c, &mut now, SETTLED, flat(80 * US, 60 * US)) > 0);
        // The machine frees up: switching now gives the shorter frames.
        assert_eq!(run(&mut c, &mut now, SETTLED, flat(40 * US, 60 * US)), 0);
    }

    #[test]
    fn a_few_long_frames_count_in_full() {
        // Switching: three short frames, then one that waits for both buffers;
        // waiting: every frame a little longer than the short ones. Waiting shows
        // more frames (4 in 280 µs against 4 in 300 µs), though its median is longer.
        let (mut c, mut now) = (Chooser::new(), Instant::now());
        let frame = |c: Choice, n: u32| match c {
            Choice::Switch if n % 4 == 0 => 150 * US,
            Choice::Switch => 50 * US,
            Choice::Wait => 70 * US,
        };
        assert_eq!(run(&mut c, &mut now, 10, frame), 10);
    }

    #[test]
    fn a_preemption_or_a_costly_change_decides_nothing() {
        // Switching is faster, but one of its frames lost 20 ms to the scheduler and
        // the first of each of its blocks copied everything painted while waiting.
        let (mut c, mut now) = (Chooser::new(), Instant::now());
        let mut last = Choice::Switch;
        let frame = move |choice: Choice, n: u32| {
            let change = choice != last;
            last = choice;
            match choice {
                Choice::Switch if n == 40 => 20_000 * US,
                Choice::Switch if change => 3_000 * US,
                Choice::Switch => 25 * US,
                Choice::Wait => 30 * US,
            }
        };
        assert_eq!(run(&mut c, &mut now, 10, frame), 0);
    }

    #[test]
    fn a_block_a_stall_fell_into_decides_nothing() {
        // Waiting is faster, but the server stalled three times (a compositor busy
        // elsewhere) during the first block of waiting, for 3 ms each.
        let (mut c, mut now) = (Chooser::new(), Instant::now());
        let mut waited = 0;
        let frame = move |choice: Choice, _| match choice {
            Choice::Switch => 80 * US,
            Choice::Wait => {
                waited += 1;
                match waited {
                    6..=8 => 3_000 * US,
                    _ => 60 * US,
                }
            }
        };
        assert_eq!(run(&mut c, &mut now, 10, frame), 10);
    }

    #[test]
    fn a_pause_and_the_frames_after_it_count_in_no_block() {
        // The app paints 40 frames, then pauses (the bench's other lanes, an app's
        // other windows), and the two frames after a pause are slow whatever the
        // choice (cold caches). Waiting is faster; the blocks a pause fell into must
        // not say otherwise.
        let (mut c, mut now) = (Chooser::new(), Instant::now());
        let frame = |choice: Choice, n: u32| match (n % 40, choice) {
            (0, _) => 100 * GAP,
            (1 | 2, _) => 400 * US,
            (_, Choice::Switch) => 70 * US,
            (_, Choice::Wait) => 60 * US,
        };
        assert_eq!(run(&mut c, &mut now, 10, frame), 10);
    }

    #[test]
    fn free_paints_count_and_pauses_do_not() {
        // Waiting: every other paint finds the front free (the server caught up while
        // the app waited), and those frames are short. Counted, they make waiting
        // the faster (130 µs two frames against 160).
        let (mut c, mut now) = (Chooser::new(), Instant::now());
        let mut n = 0u32;
        // Nothing is measured before a paint finds the front busy.
        for _ in 0..100 {
            assert_eq!(c.paint(|| now, false), Choice::Switch);
            now += 30 * US;
        }
        assert!(!matches!(c.state, State::Trial { .. }));
        c.paint(|| now, true);
        while matches!(c.state, State::Trial { .. }) {
            let contended = !(c.waits() && n % 2 == 1);
            now += match c.paint(|| now, contended) {
                Choice::Switch => 80 * US,
                Choice::Wait if contended => 100 * US,
                Choice::Wait => 30 * US,
            };
            n += 1;
        }
        assert!(c.waits());
        // Pauses are no frames: a trial of them never ends.
        let (mut c, mut now) = (Chooser::new(), Instant::now());
        c.paint(|| now, true);
        for _ in 0..200 {
            assert_eq!(c.paint(|| now, true), Choice::Switch);
            now += GAP;
        }
        assert!(matches!(c.state, State::Trial { block: 0, .. }));
    }
}
