//! The one borrow of another library's memory in xbs: the `xcb_connection_t` behind a
//! toolkit's display handle, as an x11rb connection that keeps the handle's owner
//! alive.
//!
//! [`ToolkitConnection`] holds the display's owner `D` (a winit window, an `Rc` or
//! `Arc` of one) beside an x11rb `XCBConnection` made over the raw connection pointer
//! the handle lent, without taking it over (nothing is disconnected on drop). Every
//! clone shares both, so no copy of the connection can outlive `D`. It is an x11rb
//! `Connection` by delegation, so a [`xbs::BackingStore`] runs on it unchanged.
//!
//! An Xlib display (winit's) is a libxcb connection underneath: `XGetXCBConnection`
//! from `libX11-xcb.so.1`, loaded at run time as libxcb itself is (x11rb's
//! `dl-libxcb`), so nothing links against X libraries at build time.

use std::ffi::{c_void, CStr};
use std::io::IoSlice;
use std::ptr::NonNull;
use std::sync::{Arc, OnceLock};

use raw_window_handle::{HasDisplayHandle, RawDisplayHandle};
use x11rb::connection::{
    BufWithFds, Connection, DiscardMode, ReplyOrError, RequestConnection, RequestKind,
    SequenceNumber,
};
use x11rb::cookie::{Cookie, CookieWithFds, VoidCookie};
use x11rb::errors::{ConnectionError, ParseError, ReplyOrIdError};
use x11rb::protocol::xproto::Setup;
use x11rb::protocol::Event;
use x11rb::utils::RawFdContainer;
use x11rb::x11_utils::{ExtensionInformation, TryParse, TryParseFd, X11Error};
use x11rb::xcb_ffi::XCBConnection;
use x11rb_protocol::RawEventAndSeqNumber;

use crate::Error;

/// A toolkit's X connection, borrowed from its display handle, valid while any clone
/// lives: see the module docs.
pub struct ToolkitConnection<D> {
    shared: Arc<Shared<D>>,
}

struct Shared<D> {
    // Declared first, so dropped before `owner` (it does not disconnect anyway).
    conn: XCBConnection,
    owner: D,
}

impl<D> Clone for ToolkitConnection<D> {
    fn clone(&self) -> Self {
        ToolkitConnection {
            shared: self.shared.clone(),
        }
    }
}

impl<D: HasDisplayHandle> ToolkitConnection<D> {
    /// The connection of `owner`'s display handle (XCB, or Xlib through
    /// `XGetXCBConnection`), and the handle's screen.
    pub(crate) fn new(owner: D) -> Result<(Self, usize), Error> {
        let handle = owner
            .display_handle()
            .map_err(|e| Error::Handle(e.to_string()))?;
        let (raw, screen) = match handle.as_raw() {
            RawDisplayHandle::Xcb(h) => {
                let conn = h
                    .connection
                    .ok_or_else(|| Error::Handle("an XCB handle without a connection".into()))?;
                (conn, h.screen)
            }
            RawDisplayHandle::Xlib(h) => {
                let display = h
                    .display
                    .ok_or_else(|| Error::Handle("an Xlib handle without a display".into()))?;
                (xcb_of_xlib(display)?, h.screen)
            }
            other => return Err(Error::Handle(format!("{other:?}"))),
        };
        let screen =
            usize::try_from(screen).map_err(|_| Error::Handle(format!("screen {screen}")))?;
        // `owner` is moved into the same `Shared` as the `XCBConnection`, and nothing
        // hands the latter out beyond a borrow of it; the toolkit disconnects it, after
        // `owner` is gone.
        #[allow(unsafe_code)]
        // SAFETY: `raw` is the live connection of `owner`'s display handle, valid while
        // `owner` lives (raw-window-handle's contract, as softbuffer and wgpu read it);
        // with `should_drop` false x11rb never disconnects it.
        let conn = unsafe { XCBConnection::from_raw_xcb_connection(raw.as_ptr(), false) }?;
        let shared = Arc::new(Shared { conn, owner });
        Ok((ToolkitConnection { shared }, screen))
    }
}

impl<D> ToolkitConnection<D> {
    /// What keeps the connection alive: the display handle's owner.
    pub fn owner(&self) -> &D {
        &self.shared.owner
    }

    /// The x11rb connection itself, for as long as this borrow.
    pub fn xcb(&self) -> &XCBConnection {
        &self.shared.conn
    }
}

/// `Display *` → `xcb_connection_t *`, through `libX11-xcb.so.1`.
fn xcb_of_xlib(display: NonNull<c_void>) -> Result<NonNull<c_void>, Error> {
    type GetXcb = unsafe extern "C" fn(*mut c_void) -> *mut c_void;
    static LOADED: OnceLock<Result<GetXcb, String>> = OnceLock::new();
    let get = LOADED
        .get_or_init(|| {
            const LIB: &CStr = c"libX11-xcb.so.1";
            const SYMBOL: &CStr = c"XGetXCBConnection";
            #[allow(unsafe_code)]
            // SAFETY: dlopen and dlsym take NUL-terminated names; the library is
            // never closed, so the function pointer stays valid for the process, and
            // XGetXCBConnection has this signature (X11/Xlib-xcb.h).
            unsafe {
                let lib = libc::dlopen(LIB.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL);
                if lib.is_null() {
                    return Err(dl_error());
                }
                let sym = libc::dlsym(lib, SYMBOL.as_ptr());
                if sym.is_null() {
                    return Err(dl_error());
                }
                Ok(std::mem::transmute::<*mut c_void, GetXcb>(sym))
            }
        })
        .clone()
        .map_err(Error::XlibXcb)?;
    #[allow(unsafe_code)]
    // SAFETY: `display` is a live Xlib `Display *` (from the handle, whose owner the
    // caller holds); XGetXCBConnection only reads it.
    let conn = unsafe { get(display.as_ptr()) };
    NonNull::new(conn).ok_or_else(|| Error::Handle("the Xlib display has no XCB connection".into()))
}

/// The last dlopen or dlsym error.
fn dl_error() -> String {
    #[allow(unsafe_code)]
    // SAFETY: dlerror returns null or a NUL-terminated string valid until the next dl
    // call on this thread; it is copied at once.
    unsafe {
        let e = libc::dlerror();
        if e.is_null() {
            "unknown dlopen error".into()
        } else {
            CStr::from_ptr(e).to_string_lossy().into_owned()
        }
    }
}

// Delegation to the XCBConnection. A cookie of the inner connection is turned into
// one of this connection by its sequence number; the inner one is forgotten, not
// dropped, so that its reply is not discarded (it holds no resource).

impl<D> RequestConnection for ToolkitConnection<D> {
    type Buf = <XCBConnection as RequestConnection>::Buf;

    fn send_request_with_reply<R: TryParse>(
        &self,
        bufs: &[IoSlice<'_>],
        fds: Vec<RawFdContainer>,
    ) -> Result<Cookie<'_, Self, R>, ConnectionError> {
        let inner = self.xcb().send_request_with_reply::<R>(bufs, fds)?;
        let sequence = inner.sequence_number();
        std::mem::forget(inner);
        Ok(Cookie::new(self, sequence))
    }

    fn send_request_with_reply_with_fds<R: TryParseFd>(
        &self,
        bufs: &[IoSlice<'_>],
        fds: Vec<RawFdContainer>,
    ) -> Result<CookieWithFds<'_, Self, R>, ConnectionError> {
        let inner = self
            .xcb()
            .send_request_with_reply_with_fds::<R>(bufs, fds)?;
        let sequence = inner.sequence_number();
        std::mem::forget(inner);
        Ok(CookieWithFds::new(self, sequence))
    }

    fn send_request_without_reply(
        &self,
        bufs: &[IoSlice<'_>],
        fds: Vec<RawFdContainer>,
    ) -> Result<VoidCookie<'_, Self>, ConnectionError> {
        let inner = self.xcb().send_request_without_reply(bufs, fds)?;
        let sequence = inner.sequence_number();
        std::mem::forget(inner);
        Ok(VoidCookie::new(self, sequence))
    }

    fn discard_reply(&self, sequence: SequenceNumber, kind: RequestKind, mode: DiscardMode) {
        self.xcb().discard_reply(sequence, kind, mode)
    }

    fn prefetch_extension_information(&self, name: &'static str) -> Result<(), ConnectionError> {
        self.xcb().prefetch_extension_information(name)
    }

    fn extension_information(
        &self,
        name: &'static str,
    ) -> Result<Option<ExtensionInformation>, ConnectionError> {
        self.xcb().extension_information(name)
    }

    fn wait_for_reply_or_raw_error(
        &self,
        sequence: SequenceNumber,
    ) -> Result<ReplyOrError<Self::Buf>, ConnectionError> {
        self.xcb().wait_for_reply_or_raw_error(sequence)
    }

    fn wait_for_reply(
        &self,
        sequence: SequenceNumber,
    ) -> Result<Option<Self::Buf>, ConnectionError> {
        self.xcb().wait_for_reply(sequence)
    }

    fn wait_for_reply_with_fds_raw(
        &self,
        sequence: SequenceNumber,
    ) -> Result<ReplyOrError<BufWithFds<Self::Buf>, Self::Buf>, ConnectionError> {
        self.xcb().wait_for_reply_with_fds_raw(sequence)
    }

    fn check_for_raw_error(
        &self,
        sequence: SequenceNumber,
    ) -> Result<Option<Self::Buf>, ConnectionError> {
        self.xcb().check_for_raw_error(sequence)
    }

    fn prefetch_maximum_request_bytes(&self) {
        self.xcb().prefetch_maximum_request_bytes()
    }

    fn maximum_request_bytes(&self) -> usize {
        self.xcb().maximum_request_bytes()
    }

    fn parse_error(&self, error: &[u8]) -> Result<X11Error, ParseError> {
        self.xcb().parse_error(error)
    }

    fn parse_event(&self, event: &[u8]) -> Result<Event, ParseError> {
        self.xcb().parse_event(event)
    }
}

impl<D> Connection for ToolkitConnection<D> {
    fn wait_for_raw_event_with_sequence(
        &self,
    ) -> Result<RawEventAndSeqNumber<Self::Buf>, ConnectionError> {
        self.xcb().wait_for_raw_event_with_sequence()
    }

    fn poll_for_raw_event_with_sequence(
        &self,
    ) -> Result<Option<RawEventAndSeqNumber<Self::Buf>>, ConnectionError> {
        self.xcb().poll_for_raw_event_with_sequence()
    }

    fn flush(&self) -> Result<(), ConnectionError> {
        self.xcb().flush()
    }

    fn setup(&self) -> &Setup {
        self.xcb().setup()
    }

    fn generate_id(&self) -> Result<u32, ReplyOrIdError> {
        self.xcb().generate_id()
    }
}
