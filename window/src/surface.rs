//! A softbuffer-shaped surface on xbs: an app drawing a winit window through
//! softbuffer switches on X11 by changing type names (`softbuffer::Context` →
//! [`xbs_window::Context`](crate::Context), `softbuffer::Surface` → [`Surface`],
//! `softbuffer::Rect` → [`Rect`]).
//!
//! The buffer is the store's retained image, so [`Buffer::age`] is 1 after the first
//! present (the last frame's pixels are all there, as softbuffer's age promises) and 0,
//! content unspecified, after a resize. Every pixel of it is safe to write: the store switches to its other
//! buffer or waits for the server, as it decides for any paint (SECURITY.md S13).
//! [`Buffer::present_with_damage`] sends exactly the damage.
//!
//! With [`Surface::set_buffer_age`] on, a buffer keeps its own pixels instead: it is
//! whichever of the store's two buffers the server is not reading, [`Buffer::age`]
//! counts the presents since it was drawn (EGL's buffer age: 1, 2, or 0 for
//! unknown), and the app repaints what changed in that many frames. Nothing is then
//! copied into a buffer, nor waited for, before it is lent: on a full-frame repaint
//! the app paints one buffer while the server reads the other.

use std::num::NonZeroU32;
use std::ops::{Deref, DerefMut};

use raw_window_handle::HasWindowHandle;
use xbs::{Frame, Options, Region};

use crate::{Context, Error, ToolkitStore};

/// A damaged rectangle, as softbuffer's `Rect`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rect {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: NonZeroU32,
    /// Height.
    pub height: NonZeroU32,
}

/// A window of the context's display, drawn through a retained image: see the module
/// docs.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let window: std::rc::Rc<stand_in::Window> = todo!();
/// use std::num::NonZeroU32;
/// let context = xbs_window::Context::new(window.clone())?;
/// let mut surface = xbs_window::Surface::new(&context, window.clone())?;
/// surface.resize(NonZeroU32::new(640).unwrap(), NonZeroU32::new(480).unwrap())?;
/// let mut buffer = surface.buffer_mut()?;
/// buffer.fill(0x00_20_40_60); // 0RGB, as softbuffer's
/// buffer.present()?;
/// # Ok(()) }
/// # mod stand_in {
/// #     pub struct Window;
/// #     impl raw_window_handle::HasDisplayHandle for Window {
/// #         fn display_handle(&self) -> Result<raw_window_handle::DisplayHandle<'_>, raw_window_handle::HandleError> { todo!() }
/// #     }
/// #     impl raw_window_handle::HasWindowHandle for Window {
/// #         fn window_handle(&self) -> Result<raw_window_handle::WindowHandle<'_>, raw_window_handle::HandleError> { todo!() }
/// #     }
/// # }
/// ```
pub struct Surface<D, W> {
    // Declared first: dropped before the window it draws to.
    store: ToolkitStore<D>,
    window: W,
    /// Whether the image holds a whole presented frame (softbuffer's age 1).
    presented: bool,
    /// Buffers keep their own pixels and say how old they are (see the module docs).
    buffer_age: bool,
    /// Scratch for a damage list.
    damage: Vec<xbs::Rect>,
}

impl<D, W: HasWindowHandle> Surface<D, W> {
    /// A surface for `window`, a window of `context`'s display, sized as the window is
    /// now. Its store is made with [`Options::new`]; see [`Surface::with_options`].
    pub fn new(context: &Context<D>, window: W) -> Result<Self, Error> {
        Surface::with_options(context, window, Options::new())
    }

    /// [`Surface::new`] with the store's options.
    pub fn with_options(context: &Context<D>, window: W, options: Options) -> Result<Self, Error> {
        let store = context.store(&window, options)?;
        Ok(Surface {
            store,
            window,
            presented: false,
            buffer_age: false,
            damage: Vec::new(),
        })
    }
}

impl<D, W> Surface<D, W> {
    /// Sets the size of the buffer. The next buffer's content is unspecified (its age
    /// is 0), as softbuffer's is after a resize: draw all of it.
    pub fn resize(&mut self, width: NonZeroU32, height: NonZeroU32) -> Result<(), Error> {
        let size = (width.get(), height.get());
        if size != self.store.size() {
            crate::builder::check_size(size.0, size.1)?;
            self.store.resize(size.0, size.1)?;
            self.presented = false;
        }
        Ok(())
    }

    /// Whether buffers keep their own pixels, [`Buffer::age`] saying how many presents
    /// old they are (off by default: softbuffer's promise, every buffer holds the last
    /// frame). On, an app that repaints what changed in the last `age` frames (keeping
    /// its damage of the last two) never has a buffer copied up to date or waited for.
    ///
    /// ```no_run
    /// # fn frame(surface: &mut xbs_window::Surface<(), ()>, damage: &[xbs_window::Rect],
    /// #     last_damage: &[xbs_window::Rect], draw: impl Fn(&mut [u32], &[xbs_window::Rect]))
    /// # -> Result<(), xbs_window::Error> {
    /// surface.set_buffer_age(true);
    /// let mut buffer = surface.buffer_mut()?;
    /// match buffer.age() {
    ///     1 => draw(&mut buffer, damage),
    ///     2 => { draw(&mut buffer, last_damage); draw(&mut buffer, damage) }
    ///     _ => draw(&mut buffer, &[]), // everything
    /// }
    /// buffer.present_with_damage(damage)?;
    /// # Ok(()) }
    /// ```
    pub fn set_buffer_age(&mut self, on: bool) {
        self.buffer_age = on;
    }

    /// The buffer to draw the next frame into: `width * height` pixels, 0RGB in the
    /// client's byte order (a `u32` each, as softbuffer's), every one safe to write, and
    /// holding the last frame presented ([`Buffer::age`]; with
    /// [`Surface::set_buffer_age`], the frame it says).
    pub fn buffer_mut(&mut self) -> Result<Buffer<'_>, Error> {
        let (width, height) = self.store.size();
        let all = || Region::from(xbs::Rect::new(0, 0, width, height));
        let (frame, age) = match (self.presented, self.buffer_age) {
            (true, false) => {
                // The last frame is kept; what the present sends is what changed.
                (self.store.begin_frame()?, 1)
            }
            (true, true) => {
                // The app repaints what the buffer lacks: none of it is copied.
                let frame = self.store.begin_repaint(&all())?;
                let age = u8::try_from(frame.age()).unwrap_or(0);
                (frame, age)
            }
            // Age 0: the content is unspecified (as softbuffer's after a resize), so
            // nothing is zeroed or moved for it; the app draws all of it.
            (false, _) => (self.store.begin_repaint(&all())?, 0),
        };
        Ok(Buffer {
            frame,
            width,
            height,
            age,
            presented: &mut self.presented,
            damage: &mut self.damage,
        })
    }

    /// The window.
    pub fn window(&self) -> &W {
        &self.window
    }

    /// The store under the surface, to read: its stats, the transport.
    pub fn store(&self) -> &ToolkitStore<D> {
        &self.store
    }

    /// The store under the surface, for what softbuffer has no word for: scrolling
    /// (`store.scroll`), stats, the transport.
    pub fn store_mut(&mut self) -> &mut ToolkitStore<D> {
        &mut self.store
    }
}

/// The next frame's pixels: see [`Surface::buffer_mut`]. Derefs to `[u32]`, `width`
/// pixels a row. Pixels written outside the damage presented may be lost when the
/// store next switches buffers (they were never shown).
pub struct Buffer<'a> {
    frame: Frame<'a>,
    width: u32,
    height: u32,
    age: u8,
    /// The surface's: set once a whole frame has been presented.
    presented: &'a mut bool,
    damage: &'a mut Vec<xbs::Rect>,
}

impl Buffer<'_> {
    /// How many frames ago the buffer's content was presented: 0 (unknown: before the
    /// first present, after a resize), else 1; with [`Surface::set_buffer_age`], 1, 2
    /// or more (0 when unknown, or more than 255).
    pub fn age(&self) -> u8 {
        self.age
    }

    /// Shows the whole buffer.
    pub fn present(self) -> Result<(), Error> {
        let all = Region::from(xbs::Rect::new(0, 0, self.width, self.height));
        self.frame.flush(&all)?;
        *self.presented = true;
        Ok(())
    }

    /// Shows the `damage` rects of the buffer, and only them.
    pub fn present_with_damage(self, damage: &[Rect]) -> Result<(), Error> {
        let Buffer {
            frame,
            width,
            height,
            damage: rects,
            presented,
            ..
        } = self;
        rects.clear();
        for r in damage {
            let inside = u64::from(r.x) + u64::from(r.width.get()) <= u64::from(width)
                && u64::from(r.y) + u64::from(r.height.get()) <= u64::from(height);
            if !inside {
                return Err(Error::Damage {
                    x: r.x,
                    y: r.y,
                    width: r.width.get(),
                    height: r.height.get(),
                    surface_width: width,
                    surface_height: height,
                });
            }
            // Inside a surface of at most MAX_SIZE pixels a side: fits an i32.
            rects.push(xbs::Rect::new(
                r.x as i32,
                r.y as i32,
                r.width.get(),
                r.height.get(),
            ));
        }
        let region = Region::from_rects(rects.iter().copied());
        frame.flush(&region)?;
        // softbuffer's age counts presents: the damage was drawn on the last frame.
        *presented = true;
        Ok(())
    }
}

impl Deref for Buffer<'_> {
    type Target = [u32];
    fn deref(&self) -> &[u32] {
        self.frame.words()
    }
}

impl DerefMut for Buffer<'_> {
    fn deref_mut(&mut self) -> &mut [u32] {
        // The whole image was lent by `buffer_mut` (a paint of all of it): nothing left
        // to wait for, so this cannot fail.
        match self.frame.words_mut() {
            Ok(words) => words,
            Err(_) => &mut [],
        }
    }
}
