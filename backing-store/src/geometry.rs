//! [`Geometry`]: the image's size and the strides of its two layouts, derived once per
//! size with checked arithmetic (SECURITY.md S1).

use crate::format::Format;
use crate::transport::Target;
use crate::{Error, Rect};

/// The image's format and size, with the bytes per row of the image the app paints
/// (4 bytes a pixel) and of the server's layout (its bits per pixel and pad).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    pub(crate) format: Format,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) stride: usize,
    pub(crate) server_stride: usize,
}

/// The bytes an image of a [`Geometry`] takes, in each layout.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lengths {
    /// The image the app paints.
    pub(crate) image: usize,
    /// The server's layout: what a shared segment must hold.
    pub(crate) server: usize,
}

impl Geometry {
    /// Checks `width` × `height` against X11's limits and the address space.
    pub(crate) fn new(format: Format, width: u32, height: u32) -> Result<(Self, Lengths), Error> {
        let (stride, image) = format.image_size(width, height)?;
        let (server_stride, server) = format.server_image_size(width, height)?;
        let geometry = Geometry {
            format,
            width,
            height,
            stride,
            server_stride,
        };
        Ok((geometry, Lengths { image, server }))
    }

    /// The whole image.
    pub(crate) fn rect(&self) -> Rect {
        Rect::new(0, 0, self.width, self.height)
    }

    /// Bytes of the image the app paints.
    pub(crate) fn image_len(&self) -> usize {
        // Checked when the geometry was made.
        self.stride * self.height as usize
    }

    /// Uploads of this image to `drawable` with `gc`.
    pub(crate) fn target(&self, drawable: u32, gc: u32) -> Target {
        Target {
            drawable,
            gc,
            depth: self.format.depth,
            width: self.width,
            height: self.height,
            stride: self.server_stride,
            bytes_per_pixel: self.format.bytes_per_pixel(),
            pad: usize::from(u8::from(self.format.scanline_pad)) / 8,
            errors: crate::request::Errors::AsEvents,
        }
    }
}
