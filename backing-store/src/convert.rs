//! Pixel conversion on upload, for servers whose pixels are not the app's 32-bit
//! native-order words: depth 16 (RGB565) and 15, and a server byte order unlike the
//! client's. Only the rectangles being uploaded are converted, from the app's image into
//! the upload memory, at the moment of the flush.

use crate::format::Format;
use crate::geometry::Geometry;
use crate::pixels::{self, heap};
use crate::{Error, Rect};

/// A store that converts: the app paints into a private canvas (the image), and each
/// flush converts the flushed rects into the upload memory, which is only staging.
pub(crate) struct Conversion {
    pub(crate) canvas: crate::pixels::Heap,
    converter: Converter,
}

impl Conversion {
    /// The conversion `format` needs, with a canvas of `len` bytes, or `None` when the
    /// app's pixels are the server's.
    pub(crate) fn of(format: &Format, len: usize) -> Result<Option<Conversion>, Error> {
        match format.converter() {
            Some(converter) => Ok(Some(Conversion {
                canvas: heap(len)?,
                converter,
            })),
            None => Ok(None),
        }
    }

    /// Converts `rects` (inside the image) from the canvas into `staging`.
    pub(crate) fn convert(&self, rects: &[Rect], geometry: &Geometry, staging: &mut [u8]) {
        for &r in rects {
            self.converter.rect(
                &self.canvas,
                geometry.stride,
                staging,
                geometry.server_stride,
                r,
            );
        }
    }
}

/// One colour channel of the server's pixel: where it sits and how many bits it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Channel {
    shift: u32,
    bits: u32,
}

impl Channel {
    /// The channel of a visual's mask, if the mask is contiguous and 1..=16 bits wide.
    pub(crate) fn of_mask(mask: u32) -> Option<Channel> {
        if mask == 0 {
            return None;
        }
        let shift = mask.trailing_zeros();
        let bits = mask.count_ones();
        let contiguous = (mask >> shift).checked_add(1)?.is_power_of_two();
        (contiguous && bits <= 16).then_some(Channel { shift, bits })
    }

    /// Places the 8-bit value `c` in this channel (scaled down by truncation, up by
    /// replicating the high bits, as X servers do).
    fn place(self, c: u32) -> u32 {
        let scaled = if self.bits <= 8 {
            c >> (8 - self.bits)
        } else {
            (c << (self.bits - 8)) | (c >> (16 - self.bits))
        };
        scaled << self.shift
    }
}

/// How the app's `0xAARRGGBB` words become the server's pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Converter {
    /// Server bytes per pixel: 2 or 4.
    pub(crate) bytes: usize,
    /// The server stores pixels most significant byte first.
    pub(crate) msb_first: bool,
    /// Channels red, green, blue; `None` keeps the word as it is (masks are 8-8-8).
    pub(crate) pack: Option<[Channel; 3]>,
    /// The app's pixels are bytes R, G, B, A ([`crate::Layout::Rgba`]), not words.
    pub(crate) rgba: bool,
}

impl Converter {
    /// Converts one pixel.
    pub(crate) fn pixel(&self, v: u32) -> u32 {
        match self.pack {
            None => v,
            Some([r, g, b]) => {
                r.place((v >> 16) & 0xff) | g.place((v >> 8) & 0xff) | b.place(v & 0xff)
            }
        }
    }

    /// Converts `rect` (inside both images) from `src` (4 bytes a pixel, native order,
    /// `src_stride` bytes a row) into `dst` (the server's layout, `dst_stride`).
    pub(crate) fn rect(
        &self,
        src: &[u8],
        src_stride: usize,
        dst: &mut [u8],
        dst_stride: usize,
        rect: Rect,
    ) {
        let rows =
            pixels::rows(rect, src_stride, 4).zip(pixels::rows(rect, dst_stride, self.bytes));
        for (from, to) in rows {
            let (from, to) = (&src[from], &mut dst[to]);
            if self.pack.is_none()
                && self.bytes == 4
                && words_row(from, to, self.rgba, self.msb_first)
            {
                continue;
            }
            match (self.rgba, self.bytes, self.msb_first) {
                (false, 2, false) => convert_row(from, to, word, |v| self.short(v).to_le_bytes()),
                (false, 2, true) => convert_row(from, to, word, |v| self.short(v).to_be_bytes()),
                (false, _, false) => convert_row(from, to, word, |v| self.pixel(v).to_le_bytes()),
                (false, _, true) => convert_row(from, to, word, |v| self.pixel(v).to_be_bytes()),
                (true, 2, false) => convert_row(from, to, rgba, |v| self.short(v).to_le_bytes()),
                (true, 2, true) => convert_row(from, to, rgba, |v| self.short(v).to_be_bytes()),
                (true, _, false) => convert_row(from, to, rgba, |v| self.pixel(v).to_le_bytes()),
                (true, _, true) => convert_row(from, to, rgba, |v| self.pixel(v).to_be_bytes()),
            }
        }
    }

    fn short(&self, v: u32) -> u16 {
        self.pixel(v) as u16
    }
}

/// A pixel of the app's image as `0xAARRGGBB`: a word in the client's byte order.
fn word(s: &[u8]) -> u32 {
    u32::from_ne_bytes([s[0], s[1], s[2], s[3]])
}

/// A pixel of the app's image as `0xAARRGGBB`: bytes R, G, B, A.
fn rgba(s: &[u8]) -> u32 {
    u32::from_be_bytes([s[3], s[0], s[1], s[2]])
}

/// Converts a row of 32-bit pixels whose channels stay 8 bits wide, as words: a
/// byte swap or exchange the compiler turns into vector code (a 1080p frame of RGBA
/// bytes took 1.0 ms pixel by pixel). Returns `false`, having done nothing, where the
/// rows are not word-aligned (never in the store's images).
fn words_row(from: &[u8], to: &mut [u8], rgba: bool, msb_first: bool) -> bool {
    let (Ok(from), Ok(to)) = (
        bytemuck::try_cast_slice::<u8, u32>(from),
        bytemuck::try_cast_slice_mut::<u8, u32>(to),
    ) else {
        return false;
    };
    // What each pixel's bytes in memory become: R, G, B, A to the server's B, G, R, A
    // (LSB first) or A, R, G, B (MSB first); the client's word to the server's order.
    let convert = |v: u32| -> u32 {
        let word = match rgba {
            true => u32::from_be_bytes(v.to_ne_bytes()).rotate_right(8),
            false => v,
        };
        match msb_first {
            true => u32::from_ne_bytes(word.to_be_bytes()),
            false => u32::from_ne_bytes(word.to_le_bytes()),
        }
    };
    for (d, &s) in to.iter_mut().zip(from) {
        *d = convert(s);
    }
    true
}

fn convert_row<const N: usize>(
    from: &[u8],
    to: &mut [u8],
    read: impl Fn(&[u8]) -> u32,
    write: impl Fn(u32) -> [u8; N],
) {
    for (s, d) in from.chunks_exact(4).zip(to.chunks_exact_mut(N)) {
        d.copy_from_slice(&write(read(s)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgb565() -> Converter {
        Converter {
            bytes: 2,
            msb_first: false,
            pack: Some([0xf800, 0x07e0, 0x001f].map(|m| Channel::of_mask(m).unwrap())),
            rgba: false,
        }
    }

    #[test]
    fn rgba_bytes_become_the_servers_words() {
        // Bytes R, G, B, A of tiny-skia to an 8-8-8 server of either byte order.
        for msb_first in [false, true] {
            let c = Converter {
                bytes: 4,
                msb_first,
                pack: None,
                rgba: true,
            };
            let src = [0x12, 0x34, 0x56, 0x80];
            let mut dst = [0u8; 4];
            c.rect(&src, 4, &mut dst, 4, Rect::new(0, 0, 1, 1));
            let want = 0x8012_3456u32;
            let want = if msb_first {
                want.to_be_bytes()
            } else {
                want.to_le_bytes()
            };
            assert_eq!(dst, want, "msb_first={msb_first}");
        }
    }

    #[test]
    fn whole_words_and_pixel_by_pixel_agree_in_every_byte_order() {
        // 32-bit 8-8-8 servers of either byte order, from words or RGBA bytes: the
        // word loop (aligned rows) writes what the pixel loop (unaligned) writes.
        let words: Vec<u32> = (0..64u32).map(|i| i.wrapping_mul(0x9e37_79b9)).collect();
        let bytes: &[u8] = bytemuck::cast_slice(&words);
        for (rgba, msb_first) in [(false, true), (true, false), (true, true)] {
            let c = Converter {
                bytes: 4,
                msb_first,
                pack: None,
                rgba,
            };
            let mut aligned = vec![0u32; 64];
            let out: &mut [u8] = bytemuck::cast_slice_mut(&mut aligned);
            assert!(words_row(bytes, out, rgba, msb_first));
            let mut unaligned = vec![0u8; 64 * 4 + 1];
            let mut src = vec![0u8; 64 * 4 + 1];
            src[1..].copy_from_slice(bytes);
            c.rect(
                &src[1..],
                64 * 4,
                &mut unaligned[1..],
                64 * 4,
                Rect::new(0, 0, 64, 1),
            );
            assert!(!words_row(&src[1..], &mut unaligned[1..], rgba, msb_first));
            let out: &[u8] = bytemuck::cast_slice(&aligned);
            assert_eq!(out, &unaligned[1..], "rgba={rgba} msb_first={msb_first}");
            // And through `rect`, which takes the word loop on aligned rows.
            let mut through = vec![0u32; 64];
            c.rect(
                bytes,
                64 * 4,
                bytemuck::cast_slice_mut(&mut through),
                64 * 4,
                Rect::new(0, 0, 64, 1),
            );
            assert_eq!(through, aligned);
        }
    }

    #[test]
    fn masks_must_be_contiguous() {
        assert_eq!(
            Channel::of_mask(0xf800),
            Some(Channel { shift: 11, bits: 5 })
        );
        assert_eq!(Channel::of_mask(0), None);
        assert_eq!(Channel::of_mask(0xf0f0), None);
        assert_eq!(Channel::of_mask(0xffff_ffff), None);
        assert_eq!(
            Channel::of_mask(0x3ff0_0000),
            Some(Channel {
                shift: 20,
                bits: 10
            })
        );
    }

    #[test]
    fn rgb565_keeps_the_high_bits() {
        let c = rgb565();
        assert_eq!(c.pixel(0xff_ff_ff_ff), 0xffff);
        assert_eq!(c.pixel(0x00_ff_00_00), 0xf800);
        assert_eq!(c.pixel(0x00_00_ff_00), 0x07e0);
        assert_eq!(c.pixel(0x00_00_00_ff), 0x001f);
        assert_eq!(
            c.pixel(0x00_12_34_56),
            (0x12 >> 3) << 11 | (0x34 >> 2) << 5 | 0x56 >> 3
        );
        // 10-bit channels replicate the top bits: full stays full.
        let ten = Channel::of_mask(0x3ff).unwrap();
        assert_eq!(ten.place(0xff), 0x3ff);
        assert_eq!(ten.place(0x80), 0x202);
    }

    #[test]
    fn only_the_rect_is_written_in_the_servers_byte_order() {
        let (w, h) = (5usize, 3usize);
        let src: Vec<u8> = (0..w * h)
            .flat_map(|i| (0x0011_2233u32 + i as u32 * 0x0101_0101).to_ne_bytes())
            .collect();
        // Server stride padded to 4 bytes: 5 px * 2 = 10 -> 12.
        let mut dst = vec![0xaa; 12 * h];
        rgb565().rect(&src, w * 4, &mut dst, 12, Rect::new(1, 1, 3, 1));
        for (i, &b) in dst.iter().enumerate() {
            let (row, col) = (i / 12, i % 12);
            if row == 1 && (2..8).contains(&col) {
                continue;
            }
            assert_eq!(b, 0xaa, "byte {i} outside the rect was written");
        }
        let px = |x: usize| {
            let v = 0x0011_2233u32 + (w + x) as u32 * 0x0101_0101;
            (rgb565().pixel(v) as u16).to_le_bytes()
        };
        assert_eq!(dst[12 + 2..12 + 4], px(1));
        assert_eq!(dst[12 + 6..12 + 8], px(3));

        // A big-endian server with 32-bit pixels: the words are swapped, alpha kept.
        let swap = Converter {
            bytes: 4,
            msb_first: true,
            pack: None,
            rgba: false,
        };
        let src = 0x80_12_34_56u32.to_ne_bytes();
        let mut dst = [0u8; 4];
        swap.rect(&src, 4, &mut dst, 4, Rect::new(0, 0, 1, 1));
        assert_eq!(dst, [0x80, 0x12, 0x34, 0x56]);
        let be565 = Converter {
            msb_first: true,
            ..rgb565()
        };
        let mut dst = [0u8; 2];
        be565.rect(&src, 4, &mut dst, 2, Rect::new(0, 0, 1, 1));
        assert_eq!(dst, (rgb565().pixel(0x80_12_34_56) as u16).to_be_bytes());
    }
}
