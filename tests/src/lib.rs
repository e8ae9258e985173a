//! The X server harness: real servers for tests, the demo and the benchmark.
//!
//! [`XServer::builder`] starts one server with `-displayfd` (or, for Xwayland, the lock
//! file weston writes), so the server itself picks a free display number and tells us
//! when it is listening; nothing depends on the developer's `$DISPLAY`. The server, and
//! whatever it starts, is killed and reaped when the [`XServer`] is dropped, also while
//! a test panics, and it is asked to die with its parent thread (`PR_SET_PDEATHSIG`) in
//! case the whole process is killed first.
//!
//! Kinds ([`ServerKind`]): Xvfb (the default), Xorg with the dummy driver, Xwayland
//! under a headless weston, TigerVNC's Xvnc and Xephyr. `XBS_TEST_SERVER=xorg|xwayland|
//! xvnc|xephyr` makes every test that does not ask for a kind run on that one.
//! Configurations: screen size and depth, MIT-SHM off, listening on TCP (connect
//! through `127.0.0.1`), a private IPC namespace (`unshare --ipc`, where the server
//! cannot see the client's SysV segments) and a BGR visual; an option a kind cannot
//! take is [`StartError::Unsupported`], which tests skip with the reason printed
//! ([`start_or_skip`]), never a silently different server.
//!
//! ```no_run
//! let server = xbs_tests::XServer::builder().size(640, 480).start()?;
//! let (conn, screen) = server.connect()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod alloc_count;
pub mod leaks;
pub mod proxy;
mod server;

pub use server::{
    allowed_cpus, pin_this_thread, process_cpu_time, Builder, ServerKind, StartError, XServer,
};

/// Starts a server for a test, or prints why this configuration cannot run here and
/// returns `None` (only [`StartError::Unsupported`] skips; anything else panics, so a
/// broken harness never passes silently). The reason goes straight to stderr, past
/// the test harness's capture, so a skip shows in every run's output:
/// `skipped <test>: <why>`.
pub fn start_or_skip(builder: Builder) -> Option<XServer> {
    match builder.start() {
        Ok(server) => Some(server),
        Err(StartError::Unsupported(why)) => {
            skip(&why);
            None
        }
        Err(e) => panic!("cannot start the test X server: {e}"),
    }
}

/// Says that the running test skips (the caller then returns): `skipped <test>: <why>`,
/// straight to stderr, past the test harness's capture, so it shows in every run.
pub fn skip(why: &str) {
    use std::io::Write as _;
    let test = std::thread::current().name().unwrap_or("?").to_string();
    let _ = writeln!(std::io::stderr().lock(), "skipped {test}: {why}");
}

/// A mapped `width` × `height` window at the origin of the first screen, with the
/// screen's visual and Expose and structure events selected; waits until the server
/// has mapped it. For doc examples and tests that need a plain window.
pub fn window(
    conn: &impl x11rb::connection::Connection,
    width: u16,
    height: u16,
) -> Result<u32, Box<dyn std::error::Error>> {
    use x11rb::protocol::xproto::{ConnectionExt as _, CreateWindowAux, EventMask, WindowClass};
    let s = &conn.setup().roots[0];
    let window = conn.generate_id()?;
    let aux = CreateWindowAux::new().event_mask(EventMask::EXPOSURE | EventMask::STRUCTURE_NOTIFY);
    conn.create_window(
        s.root_depth,
        window,
        s.root,
        0,
        0,
        width,
        height,
        0,
        WindowClass::INPUT_OUTPUT,
        s.root_visual,
        &aux,
    )?
    .check()?;
    conn.map_window(window)?;
    conn.get_input_focus()?.reply()?;
    Ok(window)
}
