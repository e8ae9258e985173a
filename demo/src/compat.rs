//! `xbs-demo compat`: which X servers xbs works on, measured: for each kind the harness
//! starts, its version, what `xbs_shm::probe` finds, the transport a store picks, and
//! whether a store is pixel-exact on each transport and visual (paint, scroll, Expose,
//! read back with `GetImage`); and what the server advertises for what comes next
//! (Present, shared pixmaps). Writes a Markdown table (`docs/compatibility.md`).

use std::error::Error;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use x11rb::connection::{Connection, RequestConnection as _};
use x11rb::protocol::xproto::{
    ColormapAlloc, ConnectionExt as _, CreateWindowAux, EventMask, ImageFormat, MapState,
    WindowClass,
};
use x11rb::protocol::Event;
use x11rb::rust_connection::RustConnection;
use xbs::{BackingStore, Options, Rect, Region, Transport};
use xbs_shm::ShmCaps;
use xbs_tests::{Builder, ServerKind, StartError, XServer};

const SIZE: (u16, u16) = (160, 120);
const TRANSPORTS: [Transport; 3] = [Transport::ShmFd, Transport::ShmSysV, Transport::PutImage];

/// Where to write the table.
pub struct CompatArgs {
    pub md: Option<PathBuf>,
}

impl CompatArgs {
    pub fn parse(mut args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut out = CompatArgs { md: None };
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--md" => out.md = Some(args.next().ok_or("--md needs a file")?.into()),
                "-h" | "--help" => {
                    println!("usage: xbs-demo compat [--md FILE]");
                    std::process::exit(0);
                }
                other => return Err(format!("compat: unknown argument {other:?}")),
            }
        }
        Ok(out)
    }
}

/// One server's row.
struct Row {
    kind: ServerKind,
    version: String,
    probe: String,
    auto: String,
    transports: Vec<String>,
    argb: String,
    bgr: String,
    depth16: String,
    depth30: String,
    present: String,
}

pub fn run(args: CompatArgs) -> Result<(), Box<dyn Error>> {
    let mut rows = Vec::new();
    for kind in ServerKind::ALL {
        let row = match row(kind) {
            Ok(row) => row,
            Err(e) => {
                println!("{kind}: {e}");
                continue;
            }
        };
        println!(
            "{kind}: {} | {} | auto {} | {} | argb {} | bgr {} | 16 {} | 30 {} | {}",
            row.version,
            row.probe,
            row.auto,
            row.transports.join(", "),
            row.argb,
            row.bgr,
            row.depth16,
            row.depth30,
            row.present
        );
        rows.push(row);
    }
    let md = table(&rows);
    if let Some(path) = &args.md {
        std::fs::write(path, md)?;
        println!("md: {}", path.display());
    } else {
        print!("{md}");
    }
    Ok(())
}

fn row(kind: ServerKind) -> Result<Row, Box<dyn Error>> {
    let (w, h) = SIZE;
    let server = XServer::builder().kind(kind).size(640, 480).start()?;
    let (conn, screen) = server.connect()?;
    let setup = conn.setup();
    let r = setup.release_number;
    let version = format!(
        "{} {}.{}.{}.{}",
        String::from_utf8_lossy(&setup.vendor).replace("The X.Org Foundation", "X.Org"),
        r / 10_000_000,
        r / 100_000 % 100,
        r / 1000 % 100,
        r % 1000
    );
    let report = xbs_shm::probe_report(&conn)?;
    let mut caps = Vec::new();
    if let Some((major, minor)) = report.version {
        caps.push(format!("MIT-SHM {major}.{minor}"));
    }
    for (flag, name) in [
        (ShmCaps::FD_PASSING, "fd"),
        (ShmCaps::SYSV, "SysV"),
        (ShmCaps::SHARED_PIXMAPS, "shared pixmaps"),
    ] {
        if report.caps.contains(flag) {
            caps.push(name.into());
        }
    }
    let present = match conn.extension_information("Present")? {
        Some(_) => "yes".into(),
        None => "no".into(),
    };
    let conn = Arc::new(conn);
    let window = make_window(&conn, screen, w, h, false)?;
    let auto = BackingStore::new(conn.clone(), window, Options::new())?
        .transport()
        .name()
        .to_string();
    let transports = TRANSPORTS
        .iter()
        .map(|&t| {
            let verdict = exact(&conn, screen, t, false);
            format!("{}: {verdict}", t.name())
        })
        .collect();
    let argb = exact(&conn, screen, Transport::ShmFd, true);
    drop(server);
    let visual = |builder: Builder| match builder.start() {
        Ok(server) => match server.connect() {
            Ok((conn, screen)) => {
                let conn = Arc::new(conn);
                let all: Vec<String> = TRANSPORTS
                    .iter()
                    .map(|&t| exact(&conn, screen, t, false))
                    .collect();
                if all.iter().all(|v| v == "exact") {
                    "exact".to_string()
                } else {
                    all.join("/")
                }
            }
            Err(e) => format!("cannot connect: {e}"),
        },
        Err(StartError::Unsupported(_)) => "n/a".into(),
        Err(e) => format!(
            "cannot start: {}",
            e.to_string().lines().next().unwrap_or("")
        ),
    };
    let sized = || XServer::builder().kind(kind).size(640, 480);
    Ok(Row {
        kind,
        version,
        probe: caps.join(", "),
        auto,
        transports,
        argb,
        bgr: visual(sized().bgr()),
        depth16: visual(sized().depth(16)),
        depth30: visual(sized().depth(30)),
        present,
    })
}

/// A mapped override-redirect window (no window manager moves it), at the origin.
fn make_window(
    conn: &RustConnection,
    screen: usize,
    w: u16,
    h: u16,
    argb: bool,
) -> Result<u32, Box<dyn Error>> {
    let s = &conn.setup().roots[screen];
    let window = conn.generate_id()?;
    let mut aux = CreateWindowAux::new()
        .override_redirect(1)
        .background_pixel(0)
        .border_pixel(0)
        .event_mask(EventMask::EXPOSURE | EventMask::STRUCTURE_NOTIFY);
    let (depth, visual) = if argb {
        let visual = s
            .allowed_depths
            .iter()
            .find(|d| d.depth == 32)
            .and_then(|d| d.visuals.first())
            .ok_or("no 32-bit visual")?
            .visual_id;
        let cmap = conn.generate_id()?;
        conn.create_colormap(ColormapAlloc::NONE, cmap, s.root, visual)?;
        aux = aux.colormap(cmap);
        (32, visual)
    } else {
        (s.root_depth, s.root_visual)
    };
    conn.create_window(
        depth,
        window,
        s.root,
        0,
        0,
        w,
        h,
        0,
        WindowClass::INPUT_OUTPUT,
        visual,
        &aux,
    )?
    .check()?;
    conn.map_window(window)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while conn.get_window_attributes(window)?.reply()?.map_state != MapState::VIEWABLE {
        if Instant::now() > deadline {
            return Err("the window was never mapped".into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    conn.get_input_focus()?.reply()?;
    while conn.poll_for_event()?.is_some() {}
    Ok(window)
}

/// Paints, flushes, scrolls, has the server forget a rect and the store repair it, and
/// reads the window back: "exact", or what went wrong.
fn exact(conn: &Arc<RustConnection>, screen: usize, t: Transport, argb: bool) -> String {
    match check(conn, screen, t, argb) {
        Ok(0) => "exact".into(),
        Ok(bad) => format!("{bad} pixels wrong"),
        Err(e) => format!("fails: {e}"),
    }
}

fn check(
    conn: &Arc<RustConnection>,
    screen: usize,
    t: Transport,
    argb: bool,
) -> Result<usize, Box<dyn Error>> {
    let (w, h) = SIZE;
    let window = make_window(conn, screen, w, h, argb)?;
    let mut store = BackingStore::new(conn.clone(), window, Options::new().transport(t))?;
    let (w32, h32) = (u32::from(w), u32::from(h));
    let colour = |x: u32, y: u32| 0xff00_0000 | (x * 1597 + y * 51_749) & 0x00ff_ffff;
    let mut image: Vec<u32> = (0..w32 * h32).map(|i| colour(i % w32, i / w32)).collect();
    let all = Region::from(Rect::new(0, 0, w32, h32));
    {
        let mut frame = store.begin_paint(&all)?;
        let mut rects = frame.rects_mut();
        while let Some(mut r) = rects.next() {
            for (y, row) in r.rows_mut() {
                for (x, px) in row.chunks_exact_mut(4).enumerate() {
                    px.copy_from_slice(&colour(x as u32, y as u32).to_ne_bytes());
                }
            }
        }
    }
    store.flush(&all)?;
    // Scroll up 7 rows; the strip that came in is painted white.
    let strip = store.scroll(&all, 0, -7)?;
    image.copy_within(7 * w32 as usize.., 0);
    store.begin_paint(&strip)?.fill(strip.bounds(), 0xffff_ffff);
    for y in h32 - 7..h32 {
        image[(y * w32) as usize..((y + 1) * w32) as usize].fill(0xffff_ffff);
    }
    store.flush(&strip)?;
    // The server forgets a block; the store repairs it from what it keeps.
    conn.clear_area(true, window, 20, 20, 50, 40)?;
    conn.get_input_focus()?.reply()?;
    while let Some((event, seq)) = conn.poll_for_event_with_sequence()? {
        match event {
            Event::Expose(e) if e.window == window => {
                let r = Rect::new(e.x.into(), e.y.into(), e.width.into(), e.height.into());
                store.expose_at(&Region::from(r), seq)?;
            }
            other => {
                store.handle_event_at(&other, seq);
            }
        }
    }
    conn.get_input_focus()?.reply()?;
    let img = conn
        .get_image(ImageFormat::Z_PIXMAP, window, 0, 0, w, h, !0)?
        .reply()?;
    let s = &conn.setup().roots[screen];
    let attrs = conn.get_window_attributes(window)?.reply()?;
    let vt = s
        .allowed_depths
        .iter()
        .flat_map(|d| &d.visuals)
        .find(|v| v.visual_id == attrs.visual)
        .ok_or("the window's visual")?;
    let depth = conn.get_geometry(window)?.reply()?.depth;
    let bpp = usize::from(
        conn.setup()
            .pixmap_formats
            .iter()
            .find(|f| f.depth == depth)
            .ok_or("a pixmap format")?
            .bits_per_pixel,
    ) / 8;
    let masks = [vt.red_mask, vt.green_mask, vt.blue_mask];
    let alpha = depth == 32;
    let stride = img.data.len() / usize::from(h);
    let msb = conn.setup().image_byte_order == x11rb::protocol::xproto::ImageOrder::MSB_FIRST;
    let mut bad = 0;
    for y in 0..usize::from(h) {
        for x in 0..usize::from(w) {
            let at = y * stride + x * bpp;
            let mut b = [0u8; 4];
            b[..bpp].copy_from_slice(&img.data[at..at + bpp]);
            if msb {
                b[..bpp].reverse();
            }
            let rgb = masks[0] | masks[1] | masks[2];
            let got = u32::from_le_bytes(b) & if alpha { !0 } else { rgb };
            if got != encode(image[y * usize::from(w) + x], masks, alpha) {
                bad += 1;
            }
        }
    }
    store.close()?;
    conn.destroy_window(window)?;
    Ok(bad)
}

/// A colour as a TrueColor visual of `masks` stores it (8-bit channels cut to fewer
/// bits, or widened by repeating their top bits), alpha kept for an ARGB window.
fn encode(v: u32, masks: [u32; 3], alpha: bool) -> u32 {
    let place = |c: u32, mask: u32| {
        let (shift, bits) = (mask.trailing_zeros(), mask.count_ones());
        let scaled = if bits <= 8 {
            c >> (8 - bits)
        } else {
            (c << (bits - 8)) | (c >> (16 - bits))
        };
        scaled << shift
    };
    let rgb = place((v >> 16) & 0xff, masks[0])
        | place((v >> 8) & 0xff, masks[1])
        | place(v & 0xff, masks[2]);
    if alpha {
        rgb | (v & 0xff00_0000)
    } else {
        rgb
    }
}

fn table(rows: &[Row]) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Compatibility: the X servers xbs is tested on\n");
    let _ = writeln!(
        md,
        "Written by `cargo xtask compat` (`xbs-demo compat --md docs/compatibility.md`) from \
         one run, each server started by the test harness (`xbs-tests`) without hardware. \
         \"exact\": a store painted a pattern, flushed it, scrolled, had the server forget a \
         rect and repaired it, and `GetImage` read back exactly the pixels painted. \"n/a\": \
         the server cannot be started with that visual. The integration suites run on every \
         one of these servers in `cargo xtask test`.\n"
    );
    let _ = writeln!(
        md,
        "| server | version | MIT-SHM (probed) | auto transport | shm-fd | shm-sysv | put-image | ARGB window | BGR visual | depth 16 | depth 30 | Present |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let t = |i: usize| {
            r.transports
                .get(i)
                .and_then(|v| v.split_once(": ").map(|(_, v)| v.to_string()))
                .unwrap_or_default()
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.kind,
            r.version,
            r.probe,
            r.auto,
            t(0),
            t(1),
            t(2),
            r.argb,
            r.bgr,
            r.depth16,
            r.depth30,
            r.present
        );
    }
    md
}
