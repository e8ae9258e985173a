//! The bench chart: one bar per scenario and contender, ms per frame on a log scale,
//! grouped by server, drawn with plotters into an SVG.

use std::error::Error;
use std::path::Path;

use plotters::prelude::*;

use crate::bench::Outcome;

const ROW: i32 = 22;
const LABEL: i32 = 250;
const WIDTH: u32 = 1000;

fn colour(contender: &str) -> RGBColor {
    match contender {
        "softbuffer" => RGBColor(0xd6, 0x60, 0x4d),
        "qt" => RGBColor(0x41, 0xb8, 0x3e),
        "memcpy" => RGBColor(0x99, 0x99, 0x99),
        "memcpy-handoff" => RGBColor(0xbb, 0xbb, 0xbb),
        "xbs" => RGBColor(0x2b, 0x6c, 0xb0),
        _ => RGBColor(0x7f, 0xa8, 0xd8),
    }
}

pub fn draw(path: &Path, outcomes: &[Outcome]) -> Result<(), Box<dyn Error>> {
    let ok: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.ms().is_finite() && o.ms() > 0.0)
        .collect();
    // (server, scenario) groups, in the order run.
    let mut groups: Vec<(xbs_tests::ServerKind, String)> = Vec::new();
    for o in outcomes {
        if !groups.contains(&(o.server(), o.label())) {
            groups.push((o.server(), o.label()));
        }
    }
    let mut servers = groups.iter().map(|g| g.0).collect::<Vec<_>>();
    servers.dedup();
    let rows = outcomes.len() as i32 + groups.len() as i32 + servers.len() as i32;
    let height = (80 + rows * ROW) as u32;
    let root = SVGBackend::new(path, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let title = ("sans-serif", 20).into_font();
    root.draw(&Text::new(
        "xbs-demo bench: ms per frame (log scale, shorter is better)",
        (10, 10),
        title,
    ))?;
    let lo = ok.iter().map(|o| o.ms()).fold(f64::MAX, f64::min).max(1e-4) / 2.0;
    let hi = ok.iter().map(|o| o.ms()).fold(0.0, f64::max).max(lo * 10.0) * 1.5;
    let span = (WIDTH as i32 - LABEL - 90) as f64;
    let x_of = |ms: f64| LABEL + ((ms / lo).ln() / (hi / lo).ln() * span) as i32;
    let text = ("sans-serif", 13).into_font();
    let bold = ("sans-serif", 14).into_font().style(FontStyle::Bold);
    let server_font = ("sans-serif", 16).into_font().style(FontStyle::Bold);
    let mut y = 50;
    let mut last_server = None;
    for (server, s) in &groups {
        let server = *server;
        if last_server != Some(server) {
            root.draw(&Text::new(
                format!("on {server}"),
                (10, y + 2),
                server_font.clone(),
            ))?;
            y += ROW;
            last_server = Some(server);
        }
        root.draw(&Text::new(s.to_string(), (20, y + 4), bold.clone()))?;
        y += ROW;
        for o in outcomes
            .iter()
            .filter(|o| o.server() == server && &o.label() == s)
        {
            root.draw(&Text::new(
                o.contender().to_string(),
                (40, y + 4),
                text.clone(),
            ))?;
            if o.ms().is_finite() && o.ms() > 0.0 {
                let x = x_of(o.ms()).max(LABEL + 1);
                root.draw(&Rectangle::new(
                    [(LABEL, y + 3), (x, y + ROW - 3)],
                    colour(o.contender()).filled(),
                ))?;
                root.draw(&Text::new(
                    format!("{:.3}", o.ms()),
                    (x + 5, y + 4),
                    text.clone(),
                ))?;
            } else {
                let (what, colour) = if o.skipped() {
                    ("skipped", &BLACK)
                } else {
                    ("failed", &RED)
                };
                root.draw(&Text::new(
                    what,
                    (LABEL + 5, y + 4),
                    text.clone().color(colour),
                ))?;
            }
            y += ROW;
        }
    }
    root.present()?;
    Ok(())
}
