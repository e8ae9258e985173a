//! The harness itself: every kind of server starts, answers, and goes away with
//! everything it started; an option a kind cannot take is a typed error.

use x11rb::connection::{Connection, RequestConnection as _};
use x11rb::protocol::xproto::ConnectionExt as _;
use xbs_tests::{ServerKind, StartError, XServer};

/// Processes whose command name is `name` (as `pgrep -x` matches it).
fn running(name: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let pid: u32 = e.ok()?.file_name().into_string().ok()?.parse().ok()?;
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        (comm.trim() == name).then_some(pid)
    })
    .collect()
}

/// The server's programs, as `pgrep -x` names them.
fn programs(kind: ServerKind) -> &'static [&'static str] {
    match kind {
        ServerKind::Xvfb => &["Xvfb"],
        ServerKind::Xorg => &["Xorg"],
        ServerKind::Xwayland => &["weston", "Xwayland"],
        ServerKind::Xvnc => &["Xvnc"],
        ServerKind::Xephyr => &["Xephyr", "Xvfb"],
    }
}

#[test]
fn every_kind_starts_answers_and_leaves_nothing_behind() {
    for kind in ServerKind::ALL {
        let before: Vec<Vec<u32>> = programs(kind).iter().map(|p| running(p)).collect();
        let server = match XServer::builder().kind(kind).size(800, 600).start() {
            Ok(s) => s,
            Err(StartError::Unsupported(why)) => {
                eprintln!("skipped {kind}: {why}");
                continue;
            }
            Err(e) => panic!("{kind}: {e}"),
        };
        let (conn, screen) = server.connect().unwrap();
        let root = &conn.setup().roots[screen];
        assert_eq!(
            (root.width_in_pixels, root.height_in_pixels),
            (800, 600),
            "{kind}: the size asked for"
        );
        assert_eq!(root.root_depth, 24, "{kind}");
        let shm = conn
            .extension_information(x11rb::protocol::shm::X11_EXTENSION_NAME)
            .unwrap();
        assert!(shm.is_some(), "{kind}: MIT-SHM");
        let pid = server.pid().expect("a server process");
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
        let name = match kind {
            ServerKind::Xwayland => "Xwayland",
            _ => programs(kind)[0],
        };
        assert_eq!(comm.trim(), name, "{kind}: pid() is the X server itself");
        // Pinned (the bench's placements), every thread of the server and of what
        // runs it (weston) on CPU 0 alone.
        assert!(server.pin(&[0]).unwrap() > 0, "{kind}: nothing pinned");
        let mut pinned = vec![pid];
        if kind == ServerKind::Xwayland {
            pinned.extend(
                running("weston")
                    .into_iter()
                    .filter(|p| !before[0].contains(p)),
            );
        }
        for pid in pinned {
            for task in std::fs::read_dir(format!("/proc/{pid}/task"))
                .unwrap()
                .flatten()
            {
                let status = std::fs::read_to_string(task.path().join("status")).unwrap();
                let cpus = status.lines().find(|l| l.starts_with("Cpus_allowed_list:"));
                assert_eq!(
                    cpus.map(|l| l.split_whitespace().nth(1)),
                    Some(Some("0")),
                    "{kind}: thread {:?} of {pid} not pinned",
                    task.file_name()
                );
            }
        }
        conn.get_input_focus().unwrap().reply().unwrap();
        drop(conn);
        drop(server);
        for (program, was) in programs(kind).iter().zip(&before) {
            let left: Vec<u32> = running(program)
                .into_iter()
                .filter(|p| !was.contains(p))
                .collect();
            assert!(left.is_empty(), "{kind}: {program} left running: {left:?}");
        }
        eprintln!("{kind}: started, answered, stopped");
    }
}

#[test]
fn options_a_kind_cannot_take_are_typed_errors() {
    let refused = [
        (
            XServer::builder().kind(ServerKind::Xwayland).without_shm(),
            "MIT-SHM off",
        ),
        (XServer::builder().kind(ServerKind::Xwayland).tcp(), "TCP"),
        (
            XServer::builder().kind(ServerKind::Xwayland).depth(16),
            "depth 16",
        ),
        (
            XServer::builder().kind(ServerKind::Xvfb).bgr(),
            "a BGR visual",
        ),
        (
            XServer::builder().kind(ServerKind::Xorg).bgr(),
            "a BGR visual",
        ),
    ];
    for (builder, option) in refused {
        let kind = builder.server_kind();
        match builder.start() {
            Err(StartError::Unsupported(why)) => {
                assert!(why.contains(option), "{kind}: {why}");
            }
            Ok(_) => panic!("{kind} started with {option}"),
            Err(e) => panic!("{kind} with {option}: {e}"),
        }
    }
}

#[test]
fn xvnc_gives_a_bgr_root_visual() {
    let server = XServer::builder()
        .kind(ServerKind::Xvnc)
        .bgr()
        .start()
        .unwrap();
    let (conn, screen) = server.connect().unwrap();
    let root = &conn.setup().roots[screen];
    let visual = root
        .allowed_depths
        .iter()
        .flat_map(|d| &d.visuals)
        .find(|v| v.visual_id == root.root_visual)
        .unwrap();
    assert_eq!(
        (visual.red_mask, visual.green_mask, visual.blue_mask),
        (0xff, 0xff00, 0xff_0000)
    );
}
