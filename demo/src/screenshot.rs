//! Screenshots: the window's pixels read back from the server, written as PNG.

use std::error::Error;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt as _, ImageFormat};

/// Reads `window` with `GetImage` (32-bpp little-endian xRGB) and writes it to `path`.
pub fn save(conn: &impl Connection, window: u32, path: &Path) -> Result<(), Box<dyn Error>> {
    let geo = conn.get_geometry(window)?.reply()?;
    let img = conn
        .get_image(
            ImageFormat::Z_PIXMAP,
            window,
            0,
            0,
            geo.width,
            geo.height,
            !0,
        )?
        .reply()?;
    let mut rgb = Vec::new();
    rgb.try_reserve_exact(img.data.len() / 4 * 3)?;
    for px in img.data.chunks_exact(4) {
        rgb.extend_from_slice(&[px[2], px[1], px[0]]);
    }
    let mut enc = png::Encoder::new(
        BufWriter::new(File::create(path)?),
        geo.width.into(),
        geo.height.into(),
    );
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()?.write_image_data(&rgb)?;
    Ok(())
}
