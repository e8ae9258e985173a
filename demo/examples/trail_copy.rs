//! What a buffer switch's copy costs on damage-16, with and without another core
//! reading the buffers, without X: the measurement behind the README's account of why
//! damage-16 stays near 2× softbuffer.
//!
//! Two 1920×1080 buffers alternate as in the store. Each frame copies the trail (the
//! last frame's 16 rects of 64×64, less this frame's, moved by (7, 5)) from the other
//! buffer, then paints this frame's rects. With a reader, a second thread reads each
//! frame's rects out of the buffer just painted into a framebuffer of its own, as the
//! X server does with shared memory, while the next frame is painted into the other.
//! The painting thread runs on CPU 0, the reader on CPU 0 too or on CPU 1.
//!
//! `cargo run --release -p xbs-demo --example trail_copy`

use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use nix::sched::{sched_setaffinity, CpuSet};
use nix::unistd::Pid;

const W: usize = 1920;
const H: usize = 1080;
const STRIDE: usize = W * 4;
const SIDE: usize = 64;
const FRAMES: usize = 20_000;

/// Top-left corners of frame `n`'s rects, as in the bench's damage-16.
fn rects(n: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..16).map(move |i| {
        (
            (i * 113 + n * 7) % (W - SIDE),
            (i * 71 + n * 5) % (H - SIDE),
        )
    })
}

/// Row `y`'s `width` bytes from column `x` of an image.
fn row(y: usize, x: usize, width: usize) -> std::ops::Range<usize> {
    let at = y * STRIDE + x * 4;
    at..at + width * 4
}

fn paint(px: &mut [u8], n: usize) {
    for (x, y) in rects(n) {
        for yy in y..y + SIDE {
            let v = (n as u32).wrapping_mul(0x0101_0101 ^ yy as u32);
            for p in px[row(yy, x, SIDE)].chunks_exact_mut(4) {
                p.copy_from_slice(&v.to_ne_bytes());
            }
        }
    }
}

/// Copies the trail of frame `n - 1`'s rects (moved by (7, 5) since): their top 5
/// rows, and 7 columns on the left of the rest.
fn copy_trail(from: &[u8], to: &mut [u8], n: usize) {
    for (x, y) in rects(n - 1) {
        for yy in y..y + 5 {
            to[row(yy, x, SIDE)].copy_from_slice(&from[row(yy, x, SIDE)]);
        }
        for yy in y + 5..y + SIDE {
            to[row(yy, x, 7)].copy_from_slice(&from[row(yy, x, 7)]);
        }
    }
}

/// Runs the calling thread on `cpu` only.
fn pin(cpu: usize) -> nix::Result<()> {
    let mut set = CpuSet::new();
    set.set(cpu)?;
    sched_setaffinity(Pid::from_raw(0), &set)
}

/// Mean time a frame of the trail copy, the paint and the reader's read, with a reader
/// on `reader_cpu` or none.
fn run(reader_cpu: Option<usize>) -> [Duration; 3] {
    let reader = reader_cpu.is_some();
    let mut bufs = [
        Arc::new(vec![1u8; STRIDE * H]),
        Arc::new(vec![2u8; STRIDE * H]),
    ];
    let (to_reader, frames) = mpsc::sync_channel::<(Arc<Vec<u8>>, usize)>(2);
    let (done, acks) = mpsc::sync_channel::<()>(2);
    let server = thread::spawn(move || {
        if let Some(cpu) = reader_cpu {
            pin(cpu).expect("pin the reader");
        }
        let mut fb = vec![0u8; STRIDE * H];
        let mut read = Duration::ZERO;
        while let Ok((buf, n)) = frames.recv() {
            let t = Instant::now();
            for (x, y) in rects(n) {
                for yy in y..y + SIDE {
                    fb[row(yy, x, SIDE)].copy_from_slice(&buf[row(yy, x, SIDE)]);
                }
            }
            // Nothing reads `fb`: keep the copies from being optimised away.
            std::hint::black_box(&mut fb);
            drop(buf);
            read += t.elapsed();
            if done.send(()).is_err() {
                break;
            }
        }
        read
    });
    let (mut copy, mut paint_time) = (Duration::ZERO, Duration::ZERO);
    for n in 1..=FRAMES {
        if reader && n > 2 {
            // The buffer of frame n - 2 is back: the reader dropped its handle.
            acks.recv().expect("reader alive");
        }
        let (a, b) = bufs.split_at_mut(1);
        let (front, other) = if n % 2 == 0 {
            (&mut a[0], &b[0])
        } else {
            (&mut b[0], &a[0])
        };
        let front = Arc::get_mut(front).expect("the reader is done with it");
        let t0 = Instant::now();
        copy_trail(other, front, n);
        let t1 = Instant::now();
        paint(front, n);
        copy += t1 - t0;
        paint_time += t1.elapsed();
        if reader {
            let sent = Arc::clone(&bufs[n % 2]);
            to_reader.send((sent, n)).expect("reader alive");
        }
    }
    drop(to_reader);
    while acks.recv().is_ok() {}
    let read = server.join().expect("reader thread");
    [copy, paint_time, read].map(|d| d / FRAMES as u32)
}

fn main() -> nix::Result<()> {
    // Counted before pinning, which limits what this reports.
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    pin(0)?;
    let mut cases = vec![("alone", None), ("a reader on this core", Some(0))];
    if cpus > 1 {
        cases.push(("a reader on CPU 1", Some(1)));
    } else {
        println!("one CPU: no reader on another core");
    }
    for _ in 0..2 {
        for &(who, reader) in &cases {
            let [copy, paint, read] = run(reader).map(|d| d.as_secs_f64() * 1e6);
            let read = match reader {
                Some(_) => format!(", its read {read:5.1} µs"),
                None => String::new(),
            };
            println!("{who:>22}: trail copy {copy:5.1} µs, paint {paint:5.1} µs{read} a frame");
        }
    }
    Ok(())
}
