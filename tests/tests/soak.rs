//! The soak (issue 6): random paints, flushes, scrolls, exposes and resizes on every
//! transport, with and without the server-side copy, and on a depth-16 server. The
//! window is read back at checkpoints and compared with the model: 0 pixels may
//! differ. Descriptors, SysV segments, server resources and RSS must stay flat.
//!
//! Each configuration ([`CONFIGS`], by name) runs once per seed of [`SEEDS`].
//! CI runs `XBS_SOAK_OPS` operations per configuration and seed ([`SOAK_OPS`] unless
//! set; the valgrind pass sets 300). Environment:
//! - `XBS_SOAK_SECS=N`: N seconds per configuration and seed instead (the long form:
//!   `XBS_SOAK_SECS=60 cargo test --release -p xbs-tests --test soak -- --nocapture`);
//! - `XBS_SOAK_SEED=N`: that seed only;
//! - `XBS_SOAK_ONLY=NAME[,NAME..]`: only those configurations (`auto`, `shm-fd`,
//!   `shm-fd+copy`, `shm-sysv`, `shm-sysv+copy`, `put-image`, `put-image+copy`,
//!   `shm-fd+present`, `put-image+present`, `depth-16`).
//!
//! A failure prints the command that repeats exactly that configuration and seed.

mod common;

use std::time::{Duration, Instant};

use common::{scene, Op, Scene};
use xbs::{Options, PresentMode, Rect, Region, Transport};
use xbs_tests::leaks::{self, Snapshot};
use xbs_tests::XServer;

/// Operations per configuration and seed in CI: well past where a state that takes
/// many operations to build up (op 15,175 of the default seed once) goes wrong.
const SOAK_OPS: u64 = 50_000;
const CHECK_EVERY: u64 = 25;

/// The fixed seeds: the first is the one every earlier run used.
const SEEDS: [u64; 2] = [0x5eed_50a6, 0x0dd5_0a6e];

/// One configuration of the store the soak drives.
struct Config {
    name: &'static str,
    transport: Option<Transport>,
    server_copy: bool,
    present: PresentMode,
}

/// The configurations on the default (depth 24) server.
const CONFIGS: [Config; 9] = [
    // The transport the store picks: shared memory, small flushes over the wire
    // where that measures faster.
    Config {
        name: "auto",
        transport: None,
        server_copy: false,
        present: PresentMode::Off,
    },
    Config::new("shm-fd", Transport::ShmFd, false),
    Config::new("shm-fd+copy", Transport::ShmFd, true),
    Config::new("shm-sysv", Transport::ShmSysV, false),
    Config::new("shm-sysv+copy", Transport::ShmSysV, true),
    Config::new("put-image", Transport::PutImage, false),
    Config::new("put-image+copy", Transport::PutImage, true),
    Config::presenting("shm-fd+present", Transport::ShmFd),
    Config::presenting("put-image+present", Transport::PutImage),
];

/// The configuration on a depth-16 server: the transport the store picks.
const DEPTH_16: Config = Config {
    name: "depth-16",
    transport: None,
    server_copy: false,
    present: PresentMode::Off,
};

impl Config {
    const fn new(name: &'static str, transport: Transport, server_copy: bool) -> Config {
        Config {
            name,
            transport: Some(transport),
            server_copy,
            present: PresentMode::Off,
        }
    }

    /// Flushes through Present at once (`PresentMode::Immediate`): shared pixmaps over
    /// the store's segments, two buffers switched at each present, idle fences; over
    /// put-image, the server pixmap the uploads fill.
    const fn presenting(name: &'static str, transport: Transport) -> Config {
        Config {
            name,
            transport: Some(transport),
            server_copy: false,
            present: PresentMode::Immediate,
        }
    }

    /// Whether `XBS_SOAK_ONLY` (if set) names this configuration.
    fn selected(&self) -> bool {
        std::env::var("XBS_SOAK_ONLY")
            .map_or(true, |only| only.split(',').any(|n| n.trim() == self.name))
    }
}

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
    pages
        * nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
            .ok()
            .flatten()
            .unwrap_or(4096) as u64
}

fn soak(server: &XServer, config: &Config, seed: u64) {
    let mut sc = scene(server, 200, 150, false);
    let (transport, server_copy) = (config.transport, config.server_copy);
    let what = format!("{} (depth {}), seed {seed}", config.name, sc.depth);
    let rerun = format!(
        "XBS_SOAK_ONLY={} XBS_SOAK_SEED={seed} cargo test --release -p xbs-tests --test soak -- --nocapture",
        config.name
    );
    let options = Options::new()
        .transport(transport)
        .server_copy(server_copy)
        .present(config.present);
    let before = Snapshot::take(&*sc.conn);
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
    let mut warm: Option<(Held, u64)> = None;
    let mut ops = 0u64;
    let mut checks = 0u64;
    let mut since_check = Vec::new();
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
            panic!("{what}: op {ops} ({op:?}) failed: {e}\nrerun: {rerun}");
        }
        ops += 1;
        // What happened since the last good checkpoint, for the failure message.
        since_check.push(format!(
            "op {ops}: {op:?}, events handled: {}",
            sc.settle_after_op
        ));
        if ops % CHECK_EVERY == 0 {
            if let Err(e) = sc.settle(&mut store, &image) {
                panic!("{what}: settling after op {ops} failed: {e}\nrerun: {rerun}");
            }
            let (bad, first) = sc.mismatches();
            assert_eq!(
                bad,
                0,
                "{what}: {bad} pixels wrong after op {ops}, first (x, y, got, want) {first:x?}\n\
                 the ops since the last good checkpoint:\n{}\nrerun: {rerun}",
                since_check.join("\n")
            );
            since_check.clear();
            checks += 1;
            // The first quarter warms up (memory grows to its largest size once).
            if warm.is_none() && ops >= count.min(SOAK_OPS) / 4 {
                warm = Some((Held::now(&sc, &store, &what), rss()));
            }
        }
    }
    sc.settle(&mut store, &image).unwrap();
    let (bad, first) = sc.mismatches();
    assert_eq!(
        bad, 0,
        "{what}: at the end, first {first:x?}\nrerun: {rerun}"
    );
    let (warm, warm_rss) = warm.expect("the soak ran past its warm-up");
    assert_eq!(
        warm,
        Held::now(&sc, &store, &what),
        "{what}: held after warm-up, and at the end"
    );
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
    assert_eq!(
        before,
        Snapshot::take(&*sc.conn),
        "{what}: released by close"
    );
}

/// What the process holds beside the store's own segments, whose number a resize may
/// change (it drops the second buffer where the new size does not fit it, and the
/// next paint over pixels in flight makes it again).
#[derive(Debug, PartialEq, Eq)]
struct Held {
    /// Open descriptors but the segments' memfds.
    fds: Vec<String>,
    /// Resources on the server but the segments.
    server: std::collections::BTreeMap<String, u32>,
}

impl Held {
    /// Counts now, having checked that the segments are exactly the store's.
    fn now(
        sc: &Scene,
        store: &xbs::BackingStore<std::sync::Arc<x11rb::rust_connection::RustConnection>>,
        what: &str,
    ) -> Held {
        let Snapshot {
            sysv_segments,
            mut fds,
            mut server,
        } = Snapshot::take(&*sc.conn);
        let stats = store.stats();
        let expect = |t: Transport| {
            if stats.transport == t {
                stats.segments_alive
            } else {
                0
            }
        };
        let memfds = fds.len();
        fds.retain(|f| !f.contains("memfd:xbs-shm"));
        let memfds = memfds - fds.len();
        let attached = server.remove("ShmSeg").unwrap_or(0) as usize;
        if stats.present != PresentMode::Off {
            // A fence a segment, and a pixmap a segment presented since the last
            // resize (which frees them: they were made for the old size); presenting
            // the server-side copy it fills (put-image), its pixmap and one fence.
            let filled = usize::from(stats.server_copy);
            let fences = server.remove("SyncFence").unwrap_or(0) as usize;
            let pixmaps = server.remove("PIXMAP").unwrap_or(0) as usize;
            let presented = stats.segments_alive + filled;
            assert_eq!(fences, presented, "{what}: fences ({stats:?})");
            assert!(
                (filled..=presented).contains(&pixmaps),
                "{what}: {pixmaps} pixmaps ({stats:?})"
            );
        }
        assert_eq!(
            memfds,
            expect(Transport::ShmFd),
            "{what}: memfds ({stats:?})"
        );
        assert_eq!(
            sysv_segments,
            expect(Transport::ShmSysV),
            "{what}: SysV segments"
        );
        assert_eq!(
            attached, stats.segments_alive,
            "{what}: segments attached on the server"
        );
        Held { fds, server }
    }
}

/// Whether this process runs under valgrind (its preload library is in the env).
fn under_valgrind() -> bool {
    std::env::var("LD_PRELOAD").is_ok_and(|p| p.contains("vgpreload"))
}

/// `XBS_SOAK_SEED` if set, else every seed of [`SEEDS`].
fn seeds() -> Vec<u64> {
    match std::env::var("XBS_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(seed) => vec![seed],
        None => SEEDS.to_vec(),
    }
}

#[test]
fn soak_every_transport_against_the_model() {
    let _serial = leaks::serial();
    let server = XServer::start().unwrap();
    for config in CONFIGS.iter().filter(|c| c.selected()) {
        for seed in seeds() {
            soak(&server, config, seed);
        }
    }
}

#[test]
fn soak_depth_16_against_the_model() {
    if !DEPTH_16.selected() {
        return;
    }
    let _serial = leaks::serial();
    let Some(server) = xbs_tests::start_or_skip(XServer::builder().depth(16)) else {
        return;
    };
    for seed in seeds() {
        soak(&server, &DEPTH_16, seed);
    }
}
