//! `xbs-demo bench` pacing lanes: the same frames shown at the display's rate three
//! ways. `putimage-paced`: today's path (`ShmPutImage`), each frame after a
//! `PresentNotifyMSC` wake-up at the vblank; `present-vsync`: flushes presented at
//! the next vblank, the app painting as fast as its buffers allow; `present-immediate`:
//! presented at once. For each: frames per second, the spread of the intervals between
//! the server's completions (its UST), and client and server CPU time a frame.

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use x11rb::connection::Connection;
use x11rb::protocol::present::{self, CompleteKind, ConnectionExt as _};
use x11rb::protocol::Event;
use xbs::{BackingStore, Options, PresentMode, Region};
use xbs_tests::{ServerKind, XServer};

use crate::bench::{damage, make_window, Work};
use crate::paint::paint_row;

const FRAMES: u32 = 120;

#[derive(Clone, Copy, PartialEq)]
enum Lane {
    PutImagePaced,
    Vsync,
    Immediate,
}

impl Lane {
    fn name(self) -> &'static str {
        match self {
            Lane::PutImagePaced => "putimage-paced",
            Lane::Vsync => "present-vsync",
            Lane::Immediate => "present-immediate",
        }
    }
}

/// CPU time this thread has used.
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// The pacing lanes on a fresh 1920×1080 server of `kind`, run on `server_cpu` if
/// given (the bench's placement; each lane's app runs where the bench does).
pub fn run(kind: ServerKind, server_cpu: Option<usize>) -> Result<(), Box<dyn Error>> {
    let server = XServer::builder().kind(kind).size(1920, 1080).start()?;
    if let Some(cpu) = server_cpu {
        server.pin(&[cpu])?;
    }
    println!("\npacing ({kind}, 1920x1080, {FRAMES} frames a lane)");
    println!(
        "  {:<18} {:<10} {:>7} {:>26} {:>11} {:>11}",
        "lane", "work", "fps", "interval p50/p99/max (ms)", "client ms", "server ms"
    );
    for (work, name) in [(Work::Damage16, "damage-16"), (Work::Full, "full")] {
        for lane in [Lane::PutImagePaced, Lane::Vsync, Lane::Immediate] {
            match measure(&server, work, lane) {
                Ok(r) => println!(
                    "  {:<18} {:<10} {:>7.1} {:>26} {:>11.3} {:>11.3}",
                    lane.name(),
                    name,
                    r.fps,
                    format!("{:.2}/{:.2}/{:.2}", r.p50, r.p99, r.max),
                    r.client_ms,
                    r.server_ms
                ),
                Err(e) => println!("  {:<18} {:<10} failed: {e}", lane.name(), name),
            }
        }
    }
    Ok(())
}

struct Measured {
    fps: f64,
    p50: f64,
    p99: f64,
    max: f64,
    client_ms: f64,
    server_ms: f64,
}

fn measure(server: &XServer, work: Work, lane: Lane) -> Result<Measured, Box<dyn Error>> {
    let (conn, _) = server.connect()?;
    let conn = Arc::new(conn);
    let size = (1920, 1080);
    let window = make_window(conn.clone(), size)?;
    let mode = match lane {
        Lane::PutImagePaced => PresentMode::Off,
        Lane::Vsync => PresentMode::Vsync,
        Lane::Immediate => PresentMode::Immediate,
    };
    let mut store = BackingStore::new(conn.clone(), window.id(), Options::new().present(mode))?;
    if store.stats().present != mode {
        return Err(format!("presenting {mode:?} is not available here").into());
    }
    // Our own view of the completions: the presents' (the store selects its own) and
    // the wake-ups of the paced lane.
    let eid = conn.generate_id()?;
    conn.present_select_input(eid, window.id(), present::EventMask::COMPLETE_NOTIFY)?;
    let mut usts = Vec::with_capacity(FRAMES as usize);
    let mut rects = Vec::new();
    let (cpu, server_cpu, t) = (thread_cpu(), server.cpu_time(), Instant::now());
    let mut serial = 0u32;
    let take = |event: Event, store: &mut BackingStore<_>, usts: &mut Vec<u64>| {
        if let Event::PresentCompleteNotify(e) = &event {
            if e.event == eid {
                let ours = match lane {
                    Lane::PutImagePaced => e.kind == CompleteKind::NOTIFY_MSC,
                    _ => e.kind == CompleteKind::PIXMAP,
                };
                if ours {
                    usts.push(e.ust);
                }
                return;
            }
        }
        store.handle_event(&event);
    };
    for n in 0..FRAMES {
        damage(work, n, size, &mut rects);
        let region = Region::from_rects(rects.iter().copied());
        {
            let mut frame = store.begin_repaint(&region)?;
            let mut lent = frame.rects_mut();
            while let Some(mut r) = lent.next() {
                let x = r.rect().x as usize;
                for (y, row) in r.rows_mut() {
                    paint_row(row, x, y as usize, n);
                }
            }
        }
        store.flush(&region)?;
        if lane == Lane::PutImagePaced {
            // Wait for the next vblank before the next frame.
            serial += 1;
            conn.present_notify_msc(window.id(), serial, 0, 1, 0)?;
            conn.flush()?;
            let want = usts.len() + 1;
            while usts.len() < want {
                let event = conn.wait_for_event()?;
                take(event, &mut store, &mut usts);
            }
        } else {
            while let Some(event) = conn.poll_for_event()? {
                take(event, &mut store, &mut usts);
            }
        }
    }
    // Every completion in.
    let deadline = Instant::now() + Duration::from_secs(5);
    while usts.len() < FRAMES as usize && Instant::now() < deadline {
        match conn.poll_for_event()? {
            Some(event) => take(event, &mut store, &mut usts),
            None => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    let elapsed = t.elapsed();
    let (client, server_time) = (thread_cpu() - cpu, server.cpu_time() - server_cpu);
    let mut steps: Vec<f64> = usts
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]) as f64 / 1e3)
        .collect();
    steps.sort_by(f64::total_cmp);
    let at = |q: f64| {
        steps
            .get(((steps.len() as f64 - 1.0) * q) as usize)
            .copied()
    };
    let frames = f64::from(FRAMES);
    Ok(Measured {
        fps: frames / elapsed.as_secs_f64(),
        p50: at(0.5).unwrap_or(f64::NAN),
        p99: at(0.99).unwrap_or(f64::NAN),
        max: steps.last().copied().unwrap_or(f64::NAN),
        client_ms: client.as_secs_f64() * 1e3 / frames,
        server_ms: server_time.as_secs_f64() * 1e3 / frames,
    })
}
