//! The soak (issue 6): random paints, flushes, scrolls, exposes and resizes on every
//! transport, with and without the server-side copy, and on a depth-16 server. The
//! window is read back at checkpoints and compared with the model: 0 pixels may
//! differ. Descriptors, SysV segments, server resources and RSS must stay flat.
//!
//! CI runs a short form (`XBS_SOAK_OPS` operations per configuration, 2000 unless
//! set; the valgrind pass sets 300).
//! The long form: `XBS_SOAK_SECS=600 cargo test --release -p xbs-tests --test soak --
//! --nocapture` (seconds per configuration; `XBS_SOAK_SEED` repeats a run).

mod common;

use std::time::{Duration, Instant};

use common::{scene, Op, Scene};
use xbs::{Options, Rect, Region, Transport};
use xbs_tests::leaks::{self, Snapshot};
use xbs_tests::XServer;

const SOAK_OPS: u64 = 2000;
const CHECK_EVERY: u64 = 25;

/// xorshift64*: small, seedable, good enough to pick operations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u32) -> u32 {
        (self.next() % u64::from(n.max(1))) as u32
    }
    fn range(&mut self, lo: i32, hi: i32) -> i32 {
        lo + self.below((hi - lo) as u32) as i32
    }
    fn rect(&mut self, w: u32, h: u32) -> Rect {
        // Mostly inside, sometimes sticking out of the window.
        let x = self.range(-20, w as i32 + 10);
        let y = self.range(-20, h as i32 + 10);
        Rect::new(x, y, 1 + self.below(w / 2 + 20), 1 + self.below(h / 2 + 20))
    }
}

fn random_op(rng: &mut Rng, sc: &Scene) -> Op {
    let (w, h) = (sc.w, sc.h);
    match rng.below(20) {
        0..=9 => {
            let n = 1 + rng.below(6);
            let region = Region::from_rects((0..n).map(|_| rng.rect(w, h)));
            Op::Paint(region, rng.below(1 << 30))
        }
        10..=14 => {
            let (dx, dy) = match rng.below(4) {
                0 => (0, rng.range(-40, 40)),
                1 => (rng.range(-40, 40), 0),
                2 => (rng.range(-40, 40), rng.range(-40, 40)),
                _ => (rng.range(-3, 3) * 1000, rng.range(-3, 3) * 1000),
            };
            Op::Scroll(Region::from(rng.rect(w, h)), dx, dy)
        }
        15..=16 => Op::Expose(rng.rect(w, h)),
        _ => Op::Resize(1 + rng.below(320), 1 + rng.below(240)),
    }
}

/// Resident set size of this process in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * xbs_shm::sys::page_size() as u64
}

fn soak(server: &XServer, transport: Option<Transport>, server_copy: bool, seed: u64) {
    let mut sc = scene(server, 200, 150, false);
    let what = format!("{transport:?} server_copy={server_copy} depth={}", sc.depth);
    let options = Options {
        transport,
        server_copy,
        ..Options::default()
    };
    let mut store = xbs::BackingStore::new(sc.conn.clone(), sc.window, options).unwrap();
    sc.model_store(&store);
    let mut image = vec![0u32; 200 * 150];
    let mut rng = Rng(seed | 1);
    let budget = std::env::var("XBS_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs);
    let count = std::env::var("XBS_SOAK_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SOAK_OPS);
    let started = Instant::now();
    let mut warm: Option<(Snapshot, u64)> = None;
    let mut ops = 0u64;
    let mut checks = 0u64;
    loop {
        let done = match budget {
            Some(b) => started.elapsed() >= b,
            None => ops >= count,
        };
        if done {
            break;
        }
        let op = random_op(&mut rng, &sc);
        // A third of the ops leave their events for later: flushes then overtake the
        // Expose events, which `expose_at` must repair only where no flush has since.
        sc.settle_after_op = rng.below(3) != 0;
        if let Err(e) = sc.apply(&mut store, &mut image, &op) {
            panic!("{what}: op {ops} ({op:?}) failed: {e}");
        }
        ops += 1;
        if ops % CHECK_EVERY == 0 {
            if let Err(e) = sc.settle(&mut store, &image) {
                panic!("{what}: settling after op {ops} failed: {e}");
            }
            let (bad, first) = sc.mismatches();
            assert_eq!(
                bad, 0,
                "{what}, seed {seed}: after op {ops} ({op:?}), first {first:x?}"
            );
            checks += 1;
            // The first quarter warms up (memory grows to its largest size once).
            if warm.is_none() && ops >= count.min(SOAK_OPS) / 4 {
                warm = Some((Snapshot::take(&*sc.conn), rss()));
            }
        }
    }
    sc.settle(&mut store, &image).unwrap();
    let (bad, first) = sc.mismatches();
    assert_eq!(bad, 0, "{what}, seed {seed}: at the end, first {first:x?}");
    let (warm, warm_rss) = warm.expect("the soak ran past its warm-up");
    let end = Snapshot::take(&*sc.conn);
    // A replaced segment may get another descriptor number; the count must hold.
    assert_eq!(
        warm.fds.len(),
        end.fds.len(),
        "{what}: descriptors {:?}",
        end.fds
    );
    assert_eq!(
        warm.sysv_segments, end.sysv_segments,
        "{what}: SysV segments"
    );
    assert_eq!(warm.server, end.server, "{what}: resources on the server");
    let grown = rss().saturating_sub(warm_rss);
    // Under valgrind the RSS is mostly valgrind's own; it checks leaks itself there.
    if !under_valgrind() {
        assert!(
            grown < 16 << 20,
            "{what}: RSS grew by {grown} bytes after warm-up"
        );
    }
    let stats = store.stats();
    eprintln!(
        "{what}: {ops} ops, {checks} checkpoints with 0 pixels wrong, RSS +{} KiB, {} segments, {stats:?}",
        grown >> 10,
        stats.segments_alive
    );
    store.close().unwrap();
}

/// Whether this process runs under valgrind (its preload library is in the env).
fn under_valgrind() -> bool {
    std::env::var("LD_PRELOAD").is_ok_and(|p| p.contains("vgpreload"))
}

fn seed() -> u64 {
    std::env::var("XBS_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_50a6)
}

#[test]
fn soak_every_transport_against_the_model() {
    let _serial = leaks::serial();
    let server = XServer::start().unwrap();
    for transport in [Transport::ShmFd, Transport::ShmSysV, Transport::PutImage] {
        for server_copy in [false, true] {
            soak(&server, Some(transport), server_copy, seed());
        }
    }
}

#[test]
fn soak_depth_16_against_the_model() {
    let _serial = leaks::serial();
    let server = XServer::builder().depth(16).start().unwrap();
    soak(&server, None, false, seed());
}
