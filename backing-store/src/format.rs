//! The pixel format of a window, from its visual and the server's pixmap formats, and
//! the checked arithmetic that turns a size into bytes (SECURITY.md S1).

use x11rb::connection::Connection;
use x11rb::image::{BitsPerPixel, ScanlinePad};
use x11rb::protocol::xproto::{ConnectionExt as _, ImageOrder, Visualid, Window};

use crate::Error;

/// How a pixel is laid out in the image the app paints (32-bit words in the client's
/// byte order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// Depth 24: `0x00RRGGBB`, the top byte ignored.
    Xrgb8888,
    /// Depth 32: `0xAARRGGBB`, premultiplied alpha (as RENDER and compositors expect).
    Argb8888,
}

/// Everything about the window's pixels that uploads need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Format {
    /// What the app paints.
    pub pixel: PixelFormat,
    /// The window's depth.
    pub depth: u8,
    /// The window's visual.
    pub visual: Visualid,
    /// Bits per pixel of the depth's pixmap format (always 32 here).
    pub bits_per_pixel: BitsPerPixel,
    /// Scanline padding of that format.
    pub scanline_pad: ScanlinePad,
}

/// The largest width or height of an image: X11 coordinates are 16-bit signed.
pub const MAX_DIMENSION: u32 = i16::MAX as u32;

impl Format {
    /// Derives the format of `window`: its visual's class and masks, its depth's pixmap
    /// format, and the server's image byte order.
    pub fn of_window(conn: &impl Connection, window: Window) -> Result<(Format, u32, u32), Error> {
        let attrs = conn
            .get_window_attributes(window)
            .map_err(Error::conn("GetWindowAttributes"))?;
        let geo = conn
            .get_geometry(window)
            .map_err(Error::conn("GetGeometry"))?
            .reply()
            .map_err(Error::reply("GetGeometry"))?;
        let visual = attrs
            .reply()
            .map_err(Error::reply("GetWindowAttributes"))?
            .visual;
        let format = Format::from_setup(conn.setup(), visual, geo.depth)?;
        Ok((format, u32::from(geo.width), u32::from(geo.height)))
    }

    /// The format for `visual` at `depth`, as the connection setup describes them.
    pub fn from_setup(
        setup: &x11rb::protocol::xproto::Setup,
        visual: Visualid,
        depth: u8,
    ) -> Result<Format, Error> {
        let vt = setup
            .roots
            .iter()
            .flat_map(|s| &s.allowed_depths)
            .filter(|d| d.depth == depth)
            .flat_map(|d| &d.visuals)
            .find(|v| v.visual_id == visual);
        let pf = setup.pixmap_formats.iter().find(|f| f.depth == depth);
        let byte_order = if setup.image_byte_order == ImageOrder::LSB_FIRST {
            "LSBFirst"
        } else {
            "MSBFirst"
        };
        let unsupported = || Error::UnsupportedVisual {
            visual,
            depth,
            bits_per_pixel: pf.map_or(0, |f| f.bits_per_pixel),
            class: vt.map_or("unknown".into(), |v| format!("{:?}", v.class)),
            red_mask: vt.map_or(0, |v| v.red_mask),
            green_mask: vt.map_or(0, |v| v.green_mask),
            blue_mask: vt.map_or(0, |v| v.blue_mask),
            byte_order,
        };
        let (Some(vt), Some(pf)) = (vt, pf) else {
            return Err(unsupported());
        };
        let native_order = if cfg!(target_endian = "little") {
            ImageOrder::LSB_FIRST
        } else {
            ImageOrder::MSB_FIRST
        };
        let rgb = (vt.red_mask, vt.green_mask, vt.blue_mask) == (0xff_0000, 0xff00, 0xff);
        let pixel = match depth {
            24 => PixelFormat::Xrgb8888,
            32 => PixelFormat::Argb8888,
            _ => return Err(unsupported()),
        };
        if pf.bits_per_pixel != 32 || !rgb || setup.image_byte_order != native_order {
            return Err(unsupported());
        }
        let bits_per_pixel =
            BitsPerPixel::try_from(pf.bits_per_pixel).map_err(|_| unsupported())?;
        let scanline_pad = ScanlinePad::try_from(pf.scanline_pad).map_err(|_| unsupported())?;
        Ok(Format {
            pixel,
            depth,
            visual,
            bits_per_pixel,
            scanline_pad,
        })
    }

    /// Bytes per pixel.
    pub fn bytes_per_pixel(&self) -> usize {
        usize::from(u8::from(self.bits_per_pixel)) / 8
    }

    /// Bytes per row for `width` pixels, padded as the server pads scanlines, with
    /// checked arithmetic: `round_up(width * bpp, pad) / 8`.
    pub fn stride(&self, width: u32, height: u32) -> Result<usize, Error> {
        let size_err = |reason, limit| Error::Size {
            width,
            height,
            reason,
            limit,
        };
        let bits = u64::from(width)
            .checked_mul(u64::from(u8::from(self.bits_per_pixel)))
            .ok_or(size_err("row bits overflow", u64::MAX))?;
        let pad = u64::from(u8::from(self.scanline_pad));
        let padded = bits
            .checked_next_multiple_of(pad)
            .ok_or(size_err("row padding overflows", u64::MAX))?;
        usize::try_from(padded / 8).map_err(|_| size_err("row exceeds the address space", u64::MAX))
    }

    /// Checks a size against X11's limits and returns `(stride, length)` in bytes.
    pub fn image_size(&self, width: u32, height: u32) -> Result<(usize, usize), Error> {
        let size_err = |reason, limit| Error::Size {
            width,
            height,
            reason,
            limit,
        };
        if width == 0 || height == 0 {
            return Err(size_err("an image must have at least one pixel", 1));
        }
        if width > MAX_DIMENSION || height > MAX_DIMENSION {
            return Err(size_err(
                "X11 coordinates are 16-bit signed",
                u64::from(MAX_DIMENSION),
            ));
        }
        let stride = self.stride(width, height)?;
        let height_usize = usize::try_from(height).map_err(|_| size_err("height", u64::MAX))?;
        let len = stride
            .checked_mul(height_usize)
            .ok_or(size_err("stride x height overflows", u64::MAX))?;
        Ok((stride, len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xrgb() -> Format {
        Format {
            pixel: PixelFormat::Xrgb8888,
            depth: 24,
            visual: 0x21,
            bits_per_pixel: BitsPerPixel::B32,
            scanline_pad: ScanlinePad::Pad32,
        }
    }

    #[test]
    fn sizes_are_checked_and_name_the_numbers() {
        let f = xrgb();
        assert_eq!(f.image_size(1, 1).unwrap(), (4, 4));
        assert_eq!(f.image_size(1920, 1080).unwrap(), (7680, 7680 * 1080));
        for (w, h) in [
            (0, 0),
            (0, 5),
            (5, 0),
            (65535, 65535),
            (32768, 1),
            (1, u32::MAX),
        ] {
            let err = f.image_size(w, h).unwrap_err();
            assert!(matches!(err, Error::Size { width, height, .. } if width == w && height == h));
            assert!(err.to_string().contains(&format!("{w}x{h}")), "{err}");
        }
        assert!(f.image_size(32767, 32767).is_ok());
        // A stride that cannot be represented is an error, not a wrap.
        assert!(f
            .stride(u32::MAX, 1)
            .is_ok_and(|s| s == u32::MAX as usize * 4));
    }
}
