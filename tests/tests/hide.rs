//! A connection to a real server that says one extension is missing: the server keeps
//! it, the client is told (`QueryExtension` answers "not present"), as on a server
//! built without it. For the paths a library takes where an extension is absent and no
//! server here can switch it off (Xvfb 21: "Extension Present can not be disabled").

use std::io::IoSlice;

use x11rb::connection::{
    BufWithFds, Connection, DiscardMode, ReplyOrError, RequestConnection, RequestKind,
};
use x11rb::cookie::{Cookie, CookieWithFds, VoidCookie};
use x11rb::errors::{ConnectionError, ParseError, ReplyOrIdError};
use x11rb::protocol::xproto::Setup;
use x11rb::protocol::Event;
use x11rb::utils::RawFdContainer;
use x11rb::x11_utils::{ExtensionInformation, TryParse, TryParseFd, X11Error};
use x11rb_protocol::SequenceNumber;

/// `inner`, but for `extension`, which it says the server lacks.
pub struct Hiding<C> {
    /// The real connection.
    pub inner: C,
    /// The extension it hides.
    pub extension: &'static str,
}

impl<C: RequestConnection> RequestConnection for Hiding<C> {
    type Buf = C::Buf;

    fn send_request_with_reply<R: TryParse>(
        &self,
        bufs: &[IoSlice<'_>],
        fds: Vec<RawFdContainer>,
    ) -> Result<Cookie<'_, Self, R>, ConnectionError> {
        let cookie = self.inner.send_request_with_reply::<R>(bufs, fds)?;
        let seq = cookie.sequence_number();
        // Ours now: the inner cookie must not discard the reply on drop.
        std::mem::forget(cookie);
        Ok(Cookie::new(self, seq))
    }

    fn send_request_with_reply_with_fds<R: TryParseFd>(
        &self,
        bufs: &[IoSlice<'_>],
        fds: Vec<RawFdContainer>,
    ) -> Result<CookieWithFds<'_, Self, R>, ConnectionError> {
        let cookie = self
            .inner
            .send_request_with_reply_with_fds::<R>(bufs, fds)?;
        let seq = cookie.sequence_number();
        // Ours now: the inner cookie must not discard the reply on drop.
        std::mem::forget(cookie);
        Ok(CookieWithFds::new(self, seq))
    }

    fn send_request_without_reply(
        &self,
        bufs: &[IoSlice<'_>],
        fds: Vec<RawFdContainer>,
    ) -> Result<VoidCookie<'_, Self>, ConnectionError> {
        let cookie = self.inner.send_request_without_reply(bufs, fds)?;
        let seq = cookie.sequence_number();
        // Ours now: the inner cookie must not discard the reply on drop.
        std::mem::forget(cookie);
        Ok(VoidCookie::new(self, seq))
    }

    fn discard_reply(&self, sequence: SequenceNumber, kind: RequestKind, mode: DiscardMode) {
        self.inner.discard_reply(sequence, kind, mode)
    }

    fn prefetch_extension_information(&self, name: &'static str) -> Result<(), ConnectionError> {
        self.inner.prefetch_extension_information(name)
    }

    fn extension_information(
        &self,
        name: &'static str,
    ) -> Result<Option<ExtensionInformation>, ConnectionError> {
        if name == self.extension {
            return Ok(None);
        }
        self.inner.extension_information(name)
    }

    fn wait_for_reply_or_raw_error(
        &self,
        sequence: SequenceNumber,
    ) -> Result<ReplyOrError<Self::Buf>, ConnectionError> {
        self.inner.wait_for_reply_or_raw_error(sequence)
    }

    fn wait_for_reply(
        &self,
        sequence: SequenceNumber,
    ) -> Result<Option<Self::Buf>, ConnectionError> {
        self.inner.wait_for_reply(sequence)
    }

    fn wait_for_reply_with_fds_raw(
        &self,
        sequence: SequenceNumber,
    ) -> Result<ReplyOrError<BufWithFds<Self::Buf>, Self::Buf>, ConnectionError> {
        self.inner.wait_for_reply_with_fds_raw(sequence)
    }

    fn check_for_raw_error(
        &self,
        sequence: SequenceNumber,
    ) -> Result<Option<Self::Buf>, ConnectionError> {
        self.inner.check_for_raw_error(sequence)
    }

    fn prefetch_maximum_request_bytes(&self) {
        self.inner.prefetch_maximum_request_bytes()
    }

    fn maximum_request_bytes(&self) -> usize {
        self.inner.maximum_request_bytes()
    }

    fn parse_error(&self, error: &[u8]) -> Result<X11Error, ParseError> {
        self.inner.parse_error(error)
    }

    fn parse_event(&self, event: &[u8]) -> Result<Event, ParseError> {
        self.inner.parse_event(event)
    }
}

impl<C: Connection> Connection for Hiding<C> {
    fn wait_for_raw_event_with_sequence(
        &self,
    ) -> Result<x11rb_protocol::RawEventAndSeqNumber<Self::Buf>, ConnectionError> {
        self.inner.wait_for_raw_event_with_sequence()
    }

    fn poll_for_raw_event_with_sequence(
        &self,
    ) -> Result<Option<x11rb_protocol::RawEventAndSeqNumber<Self::Buf>>, ConnectionError> {
        self.inner.poll_for_raw_event_with_sequence()
    }

    fn flush(&self) -> Result<(), ConnectionError> {
        self.inner.flush()
    }

    fn setup(&self) -> &Setup {
        self.inner.setup()
    }

    fn generate_id(&self) -> Result<u32, ReplyOrIdError> {
        self.inner.generate_id()
    }
}
