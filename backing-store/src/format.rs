//! The pixel format of a window, from its visual and the server's pixmap formats, and
//! the checked arithmetic that turns a size into bytes (SECURITY.md S1).

use x11rb::connection::Connection;
use x11rb::image::{BitsPerPixel, ScanlinePad};
use x11rb::protocol::xproto::{
    ConnectionExt as _, ImageOrder, Setup, VisualClass, Visualid, Window,
};

use crate::convert::{Channel, Converter};
use crate::Error;
use xbs_shm::RequestError as _;

/// How a pixel is laid out in the image the app paints: 32-bit words in the client's
/// byte order, or, with [`crate::Layout::Rgba`], four bytes R, G, B, A.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PixelFormat {
    /// Depth 24: `0x00RRGGBB`, the top byte ignored.
    Xrgb8888,
    /// Depth 32: `0xAARRGGBB`, premultiplied alpha (as RENDER and compositors expect).
    Argb8888,
    /// Depth 24, [`crate::Layout::Rgba`]: bytes R, G, B and one ignored (tiny-skia's
    /// `PixmapMut` with opaque pixels).
    Rgbx8888,
    /// Depth 32, [`crate::Layout::Rgba`]: bytes R, G, B, A, premultiplied (tiny-skia's
    /// `PixmapMut`).
    Rgba8888,
}

impl PixelFormat {
    /// The 32-bit word (in the client's byte order) that stores the colour
    /// `0xAARRGGBB` in this layout: the colour itself for the word layouts, its bytes
    /// reordered to R, G, B, A for the byte layouts.
    pub fn word(self, argb: u32) -> u32 {
        match self {
            PixelFormat::Xrgb8888 | PixelFormat::Argb8888 => argb,
            PixelFormat::Rgbx8888 | PixelFormat::Rgba8888 => {
                let [a, r, g, b] = argb.to_be_bytes();
                u32::from_ne_bytes([r, g, b, a])
            }
        }
    }

    /// Whether the app's pixels are bytes R, G, B, A ([`crate::Layout::Rgba`]).
    pub fn is_rgba(self) -> bool {
        matches!(self, PixelFormat::Rgbx8888 | PixelFormat::Rgba8888)
    }

    /// This format in `layout`.
    pub(crate) fn in_layout(self, layout: crate::Layout) -> PixelFormat {
        let alpha = matches!(self, PixelFormat::Argb8888 | PixelFormat::Rgba8888);
        match (layout, alpha) {
            (crate::Layout::Native, false) => PixelFormat::Xrgb8888,
            (crate::Layout::Native, true) => PixelFormat::Argb8888,
            (crate::Layout::Rgba, false) => PixelFormat::Rgbx8888,
            (crate::Layout::Rgba, true) => PixelFormat::Rgba8888,
        }
    }
}

/// Everything about the window's pixels that uploads need.
///
/// The app always paints 32-bit words in its own byte order ([`PixelFormat`]). When the
/// server wants something else — 16 bits a pixel (depth 16, RGB565, or 15), or the
/// other byte order — only the rectangles being uploaded are converted
/// ([`Format::converts`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Format {
    /// What the app paints.
    pub pixel: PixelFormat,
    /// The window's depth.
    pub depth: u8,
    /// The window's visual.
    pub visual: Visualid,
    /// Bits per pixel of the depth's pixmap format on the server (16 or 32).
    pub bits_per_pixel: BitsPerPixel,
    /// Scanline padding of that format.
    pub scanline_pad: ScanlinePad,
    /// The visual's red, green and blue masks.
    pub masks: [u32; 3],
    /// The server's image byte order.
    pub byte_order: ImageOrder,
}

/// A window's [`Format`] and size, as [`Format::of_window`] finds them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowFormat {
    /// How its pixels are laid out.
    pub format: Format,
    /// Its width in pixels.
    pub width: u32,
    /// Its height in pixels.
    pub height: u32,
}

/// The largest width or height of an image: X11 coordinates are 16-bit signed.
pub const MAX_DIMENSION: u32 = i16::MAX as u32;

const NATIVE_ORDER: ImageOrder = if cfg!(target_endian = "little") {
    ImageOrder::LSB_FIRST
} else {
    ImageOrder::MSB_FIRST
};

const RGB888: [u32; 3] = [0xff_0000, 0xff00, 0xff];

impl Format {
    /// Derives the format of `window`: its visual's class and masks, its depth's pixmap
    /// format, and the server's image byte order; with the window's size.
    pub fn of_window(conn: &impl Connection, window: Window) -> Result<WindowFormat, Error> {
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
        Ok(WindowFormat {
            format: Format::from_setup(conn.setup(), visual, geo.depth)?,
            width: u32::from(geo.width),
            height: u32::from(geo.height),
        })
    }

    /// The format for `visual` at `depth`, as the connection setup describes them.
    ///
    /// Supported: TrueColor and DirectColor visuals whose pixmap format has 16 or 32
    /// bits a pixel and whose masks are contiguous, in either byte order. Anything else
    /// is [`Error::UnsupportedVisual`], naming the visual, depth and masks.
    pub fn from_setup(setup: &Setup, visual: Visualid, depth: u8) -> Result<Format, Error> {
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
        if !matches!(
            vt.class,
            VisualClass::TRUE_COLOR | VisualClass::DIRECT_COLOR
        ) || !matches!(pf.bits_per_pixel, 16 | 32)
        {
            return Err(unsupported());
        }
        let masks = [vt.red_mask, vt.green_mask, vt.blue_mask];
        let channels = masks.map(Channel::of_mask);
        let [Some(_), Some(_), Some(_)] = channels else {
            return Err(unsupported());
        };
        let all = masks[0] | masks[1] | masks[2];
        let overlapping = all.count_ones() != masks.iter().map(|m| m.count_ones()).sum::<u32>();
        let fits = u32::from(pf.bits_per_pixel) == 32 || all >> pf.bits_per_pixel == 0;
        if overlapping || !fits {
            return Err(unsupported());
        }
        let pixel = if depth == 32 && masks == RGB888 {
            PixelFormat::Argb8888
        } else {
            PixelFormat::Xrgb8888
        };
        let bits_per_pixel =
            BitsPerPixel::try_from(pf.bits_per_pixel).map_err(|_| unsupported())?;
        let scanline_pad = ScanlinePad::try_from(pf.scanline_pad).map_err(|_| unsupported())?;
        Ok(Format {
            pixel,
            depth,
            visual,
            bits_per_pixel,
            scanline_pad,
            masks,
            byte_order: setup.image_byte_order,
        })
    }

    /// True when uploads convert pixels (the server's layout is not the app's).
    pub fn converts(&self) -> bool {
        self.converter().is_some()
    }

    /// How to convert, or `None` when the app's words are the server's pixels.
    pub(crate) fn converter(&self) -> Option<Converter> {
        let bytes = self.bytes_per_pixel();
        let msb_first = self.byte_order == ImageOrder::MSB_FIRST;
        let pack = if bytes == 4 && self.masks == RGB888 {
            None
        } else {
            let [r, g, b] = self.masks.map(Channel::of_mask);
            Some([r?, g?, b?])
        };
        let rgba = self.pixel.is_rgba();
        if bytes == 4 && pack.is_none() && self.byte_order == NATIVE_ORDER && !rgba {
            return None;
        }
        Some(Converter {
            bytes,
            msb_first,
            pack,
            rgba,
        })
    }

    /// Bytes per pixel.
    pub fn bytes_per_pixel(&self) -> usize {
        usize::from(u8::from(self.bits_per_pixel)) / 8
    }

    /// Bytes per row of `width` pixels in the server's layout, padded as the server
    /// pads scanlines, with checked arithmetic: `round_up(width * bpp, pad) / 8`.
    pub fn stride(&self, width: u32, height: u32) -> Result<usize, Error> {
        let bpp = u8::from(self.bits_per_pixel);
        stride(width, height, bpp, u8::from(self.scanline_pad))
    }

    /// Checks a size against X11's limits and returns `(stride, length)` in bytes of
    /// the image the app paints: 4 bytes a pixel, rows unpadded.
    pub fn image_size(&self, width: u32, height: u32) -> Result<(usize, usize), Error> {
        self.checked_size(width, height, 32, 32)
    }

    /// The same for the server's layout of the image (its bits per pixel and scanline
    /// pad): what a shared segment must hold.
    pub fn server_image_size(&self, width: u32, height: u32) -> Result<(usize, usize), Error> {
        let bpp = u8::from(self.bits_per_pixel);
        self.checked_size(width, height, bpp, u8::from(self.scanline_pad))
    }

    fn checked_size(
        &self,
        width: u32,
        height: u32,
        bpp: u8,
        pad: u8,
    ) -> Result<(usize, usize), Error> {
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
        let stride = stride(width, height, bpp, pad)?;
        let height_usize = usize::try_from(height).map_err(|_| size_err("height", u64::MAX))?;
        let len = stride
            .checked_mul(height_usize)
            .ok_or(size_err("stride x height overflows", u64::MAX))?;
        Ok((stride, len))
    }
}

/// Bytes per row of `width` pixels of `bpp` bits, padded to `pad` bits, checked:
/// `round_up(width * bpp, pad) / 8`.
fn stride(width: u32, height: u32, bpp: u8, pad: u8) -> Result<usize, Error> {
    let size_err = |reason| Error::Size {
        width,
        height,
        reason,
        limit: u64::MAX,
    };
    let bits = u64::from(width)
        .checked_mul(u64::from(bpp))
        .ok_or(size_err("row bits overflow"))?;
    let padded = bits
        .checked_next_multiple_of(u64::from(pad.max(1)))
        .ok_or(size_err("row padding overflows"))?;
    usize::try_from(padded / 8).map_err(|_| size_err("row exceeds the address space"))
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
            masks: RGB888,
            byte_order: NATIVE_ORDER,
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

    #[test]
    fn server_layouts_pad_and_convert() {
        let f = Format {
            bits_per_pixel: BitsPerPixel::B16,
            masks: [0xf800, 0x07e0, 0x001f],
            depth: 16,
            ..xrgb()
        };
        // 3 px of 16 bits = 6 bytes, padded to 32 bits = 8; the app's image is unpadded.
        assert_eq!(f.server_image_size(3, 2).unwrap(), (8, 16));
        assert_eq!(f.image_size(3, 2).unwrap(), (12, 24));
        assert!(f.converts());
        assert!(!xrgb().converts());
        let swapped = Format {
            byte_order: if NATIVE_ORDER == ImageOrder::LSB_FIRST {
                ImageOrder::MSB_FIRST
            } else {
                ImageOrder::LSB_FIRST
            },
            ..xrgb()
        };
        assert!(swapped.converts());
    }

    /// A setup with one visual (id 0x21) at `depth`, `bpp` bits a pixel, `masks`.
    fn setup(order: ImageOrder, depth: u8, bpp: u8, class: VisualClass, masks: [u32; 3]) -> Setup {
        use x11rb::protocol::xproto::{Depth, Format as PixmapFormat, Screen, Visualtype};
        Setup {
            image_byte_order: order,
            pixmap_formats: vec![PixmapFormat {
                depth,
                bits_per_pixel: bpp,
                scanline_pad: 32,
            }],
            roots: vec![Screen {
                allowed_depths: vec![Depth {
                    depth,
                    visuals: vec![Visualtype {
                        visual_id: 0x21,
                        class,
                        bits_per_rgb_value: 8,
                        colormap_entries: 256,
                        red_mask: masks[0],
                        green_mask: masks[1],
                        blue_mask: masks[2],
                    }],
                }],
                ..Screen::default()
            }],
            ..Setup::default()
        }
    }

    #[test]
    fn setups_are_accepted_converted_or_refused_by_name() {
        let foreign = if NATIVE_ORDER == ImageOrder::LSB_FIRST {
            ImageOrder::MSB_FIRST
        } else {
            ImageOrder::LSB_FIRST
        };
        let tc = VisualClass::TRUE_COLOR;
        let native =
            Format::from_setup(&setup(NATIVE_ORDER, 24, 32, tc, RGB888), 0x21, 24).unwrap();
        assert!(!native.converts());
        // The other byte order: the same pixels, swapped on upload.
        let swapped = Format::from_setup(&setup(foreign, 24, 32, tc, RGB888), 0x21, 24).unwrap();
        let conv = swapped.converter().unwrap();
        assert_eq!((conv.bytes, conv.pack), (4, None));
        assert_eq!(conv.msb_first, foreign == ImageOrder::MSB_FIRST);
        let argb = Format::from_setup(&setup(foreign, 32, 32, tc, RGB888), 0x21, 32).unwrap();
        assert_eq!(argb.pixel, PixelFormat::Argb8888);
        // BGR and 10-bit visuals are packed from their masks.
        let bgr = [0xff, 0xff00, 0xff_0000];
        let f = Format::from_setup(&setup(NATIVE_ORDER, 24, 32, tc, bgr), 0x21, 24).unwrap();
        assert_eq!(f.converter().unwrap().pixel(0x00_11_22_33), 0x00_33_22_11);
        let ten = [0x3ff0_0000, 0x000f_fc00, 0x0000_03ff];
        let f = Format::from_setup(&setup(NATIVE_ORDER, 30, 32, tc, ten), 0x21, 30).unwrap();
        assert_eq!(f.converter().unwrap().pixel(0x00_ff_ff_ff), 0x3fff_ffff);
        // Refused, with the numbers: palettes, 24-bit packed pixels, masks that overlap
        // or do not fit, unknown visuals and depths.
        let refused = [
            (
                setup(NATIVE_ORDER, 8, 8, VisualClass::PSEUDO_COLOR, [0; 3]),
                0x21,
                8,
            ),
            (setup(NATIVE_ORDER, 24, 24, tc, RGB888), 0x21, 24),
            (
                setup(NATIVE_ORDER, 16, 16, tc, [0xf800, 0xffe0, 0x1f]),
                0x21,
                16,
            ),
            (setup(NATIVE_ORDER, 16, 16, tc, RGB888), 0x21, 16),
            (
                setup(NATIVE_ORDER, 16, 16, tc, [0xf000, 0x0f0f, 0x00f0]),
                0x21,
                16,
            ),
            (setup(NATIVE_ORDER, 24, 32, tc, RGB888), 0x99, 24),
            (setup(NATIVE_ORDER, 24, 32, tc, RGB888), 0x21, 16),
        ];
        for (setup, visual, depth) in refused {
            let err = Format::from_setup(&setup, visual, depth).unwrap_err();
            assert!(
                matches!(err, Error::UnsupportedVisual { visual: v, depth: d, .. } if v == visual && d == depth),
                "{err}"
            );
            assert!(err.to_string().contains(&format!("depth {depth}")), "{err}");
        }
    }
}
