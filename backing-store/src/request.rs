//! The requests sent every frame, written without allocating. x11rb's request
//! functions serialize each request into a new `Vec` (and `SetClipRectangles` grows
//! one as it adds each rect): about 9 allocations in a frame of 16 rects. These write
//! the same bytes into a stack array or a buffer the store reuses; the tests check them
//! against x11rb's own serialization.

use std::io::IoSlice;

use x11rb::connection::{DiscardMode, RequestConnection, RequestKind, SequenceNumber};
use x11rb::errors::ConnectionError;
use x11rb::protocol::shm::{self, PutImageRequest};
use x11rb::protocol::xproto::{
    self, ClipOrdering, GetInputFocusReply, Rectangle, GET_INPUT_FOCUS_REQUEST,
    SET_CLIP_RECTANGLES_REQUEST,
};
use x11rb::x11_utils::Serialize;

/// What becomes of the errors of the requests a store sends every frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Errors {
    /// Events of the connection (x11rb's default), for whoever reads it.
    AsEvents,
    /// Dropped by the connection: nobody reads it through x11rb, whose libxcb
    /// connection would otherwise keep every request's number until someone polls
    /// (a store on a toolkit's connection).
    Dropped,
}

/// `ShmPutImage`, MIT-SHM being extension `major`; returns its sequence number.
pub(crate) fn shm_put_image<C: RequestConnection + ?Sized>(
    conn: &C,
    major: u8,
    request: &PutImageRequest,
    errors: Errors,
) -> Result<SequenceNumber, ConnectionError> {
    let bytes = shm_put_image_bytes(major, request);
    send(conn, &[IoSlice::new(&bytes)], errors)
}

/// Sends a request that has no reply, its errors as `errors` says; returns its
/// sequence number.
fn send<C: RequestConnection + ?Sized>(
    conn: &C,
    bufs: &[IoSlice<'_>],
    errors: Errors,
) -> Result<SequenceNumber, ConnectionError> {
    let cookie = conn.send_request_without_reply(bufs, Vec::new())?;
    let seq = cookie.sequence_number();
    if errors == Errors::Dropped {
        // What the cookie's drop does, but for the errors too.
        std::mem::forget(cookie);
        conn.discard_reply(seq, RequestKind::IsVoid, DiscardMode::DiscardReplyAndError);
    }
    Ok(seq)
}

fn shm_put_image_bytes(major: u8, r: &PutImageRequest) -> [u8; 40] {
    let mut b = [0; 40];
    b[0] = major;
    b[1] = shm::PUT_IMAGE_REQUEST;
    b[2..4].copy_from_slice(&10u16.to_ne_bytes());
    b[4..8].copy_from_slice(&r.drawable.to_ne_bytes());
    b[8..12].copy_from_slice(&r.gc.to_ne_bytes());
    let shorts = [
        r.total_width,
        r.total_height,
        r.src_x,
        r.src_y,
        r.src_width,
        r.src_height,
    ];
    for (i, v) in shorts.into_iter().enumerate() {
        b[12 + 2 * i..][..2].copy_from_slice(&v.to_ne_bytes());
    }
    b[24..26].copy_from_slice(&r.dst_x.to_ne_bytes());
    b[26..28].copy_from_slice(&r.dst_y.to_ne_bytes());
    b[28] = r.depth;
    b[29] = r.format;
    b[30] = r.send_event.into();
    b[32..36].copy_from_slice(&r.shmseg.to_ne_bytes());
    b[36..40].copy_from_slice(&r.offset.to_ne_bytes());
    b
}

/// `PutImage` (over the wire), its data sent straight from `request.data`; returns its
/// sequence number. Data beyond 16 bits of length goes as a BIG-REQUESTS request.
pub(crate) fn put_image<C: RequestConnection + ?Sized>(
    conn: &C,
    request: &xproto::PutImageRequest<'_>,
    errors: Errors,
) -> Result<SequenceNumber, ConnectionError> {
    let (header, padding) = put_image_bytes(request);
    send(
        conn,
        &[
            IoSlice::new(&header),
            IoSlice::new(&request.data),
            IoSlice::new(&[0; 3][..padding]),
        ],
        errors,
    )
}

/// The header of a `PutImage`, and how many zeros pad its data to 4 bytes.
fn put_image_bytes(r: &xproto::PutImageRequest<'_>) -> ([u8; 24], usize) {
    let mut b = [0; 24];
    b[0] = xproto::PUT_IMAGE_REQUEST;
    b[1] = r.format.into();
    let padding = (4 - r.data.len() % 4) % 4;
    // A length beyond 16 bits is written as 0: x11rb then sends a BIG-REQUESTS length.
    let units = u16::try_from((b.len() + r.data.len() + padding) / 4).unwrap_or(0);
    b[2..4].copy_from_slice(&units.to_ne_bytes());
    b[4..8].copy_from_slice(&r.drawable.to_ne_bytes());
    b[8..12].copy_from_slice(&r.gc.to_ne_bytes());
    b[12..14].copy_from_slice(&r.width.to_ne_bytes());
    b[14..16].copy_from_slice(&r.height.to_ne_bytes());
    b[16..18].copy_from_slice(&r.dst_x.to_ne_bytes());
    b[18..20].copy_from_slice(&r.dst_y.to_ne_bytes());
    b[20] = r.left_pad;
    b[21] = r.depth;
    (b, padding)
}

/// `CopyArea`; returns its sequence number.
pub(crate) fn copy_area<C: RequestConnection + ?Sized>(
    conn: &C,
    request: &xproto::CopyAreaRequest,
    errors: Errors,
) -> Result<SequenceNumber, ConnectionError> {
    let bytes = copy_area_bytes(request);
    send(conn, &[IoSlice::new(&bytes)], errors)
}

fn copy_area_bytes(r: &xproto::CopyAreaRequest) -> [u8; 28] {
    let mut b = [0; 28];
    b[0] = xproto::COPY_AREA_REQUEST;
    b[2..4].copy_from_slice(&7u16.to_ne_bytes());
    b[4..8].copy_from_slice(&r.src_drawable.to_ne_bytes());
    b[8..12].copy_from_slice(&r.dst_drawable.to_ne_bytes());
    b[12..16].copy_from_slice(&r.gc.to_ne_bytes());
    let shorts = [r.src_x, r.src_y, r.dst_x, r.dst_y];
    for (i, v) in shorts.into_iter().enumerate() {
        b[16 + 2 * i..][..2].copy_from_slice(&v.to_ne_bytes());
    }
    b[24..26].copy_from_slice(&r.width.to_ne_bytes());
    b[26..28].copy_from_slice(&r.height.to_ne_bytes());
    b
}

/// `SetClipRectangles` of `rects` (at most 32,762 of them, so that the length fits
/// 16 bits), written into `buf`; returns its sequence number.
pub(crate) fn set_clip_rectangles<C: RequestConnection + ?Sized>(
    conn: &C,
    buf: &mut Vec<u8>,
    ordering: ClipOrdering,
    gc: u32,
    rects: impl Iterator<Item = Rectangle>,
    errors: Errors,
) -> Result<SequenceNumber, ConnectionError> {
    set_clip_rectangles_bytes(buf, ordering, gc, rects);
    send(conn, &[IoSlice::new(buf)], errors)
}

fn set_clip_rectangles_bytes(
    buf: &mut Vec<u8>,
    ordering: ClipOrdering,
    gc: u32,
    rects: impl Iterator<Item = Rectangle>,
) {
    buf.clear();
    buf.extend_from_slice(&[SET_CLIP_RECTANGLES_REQUEST, ordering.into(), 0, 0]);
    buf.extend_from_slice(&gc.to_ne_bytes());
    // The clip origin: 0, 0.
    buf.extend_from_slice(&[0; 4]);
    for r in rects {
        r.serialize_into(buf);
    }
    let units = u16::try_from(buf.len() / 4).unwrap_or(0);
    buf[2..4].copy_from_slice(&units.to_ne_bytes());
}

/// `GetInputFocus`, whose reply the caller waits for or discards; returns its
/// sequence number.
pub(crate) fn get_input_focus<C: RequestConnection + ?Sized>(
    conn: &C,
) -> Result<SequenceNumber, ConnectionError> {
    let bytes = get_input_focus_bytes();
    let cookie =
        conn.send_request_with_reply::<GetInputFocusReply>(&[IoSlice::new(&bytes)], Vec::new())?;
    let seq = cookie.sequence_number();
    // The caller owns the reply from here on: it waits for it or discards it.
    std::mem::forget(cookie);
    Ok(seq)
}

fn get_input_focus_bytes() -> [u8; 4] {
    let len = 1u16.to_ne_bytes();
    [GET_INPUT_FOCUS_REQUEST, 0, len[0], len[1]]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use x11rb::protocol::xproto::{GetInputFocusRequest, SetClipRectanglesRequest};

    fn joined<T: AsRef<[u8]>>(parts: &[T]) -> Vec<u8> {
        parts.iter().flat_map(|p| p.as_ref().to_vec()).collect()
    }

    proptest! {
        #[test]
        fn shm_put_image_is_what_x11rb_writes(
            major in any::<u8>(),
            ids in any::<(u32, u32, u32, u32)>(),
            shorts in any::<(u16, u16, u16, u16, u16, u16)>(),
            dst in any::<(i16, i16)>(),
            bytes in any::<(u8, u8, bool)>(),
        ) {
            let r = PutImageRequest {
                drawable: ids.0,
                gc: ids.1,
                total_width: shorts.0,
                total_height: shorts.1,
                src_x: shorts.2,
                src_y: shorts.3,
                src_width: shorts.4,
                src_height: shorts.5,
                dst_x: dst.0,
                dst_y: dst.1,
                depth: bytes.0,
                format: bytes.1,
                send_event: bytes.2,
                shmseg: ids.2,
                offset: ids.3,
            };
            let ours = shm_put_image_bytes(major, &r);
            let (theirs, fds) = r.serialize(major);
            prop_assert!(fds.is_empty());
            prop_assert_eq!(ours.to_vec(), joined(&theirs));
        }

        #[test]
        fn set_clip_rectangles_is_what_x11rb_writes(
            gc in any::<u32>(),
            banded in any::<bool>(),
            rects in prop::collection::vec(any::<(i16, i16, u16, u16)>(), 0..40),
            stale in prop::collection::vec(any::<u8>(), 0..64),
        ) {
            let rects: Vec<Rectangle> = rects
                .into_iter()
                .map(|(x, y, width, height)| Rectangle { x, y, width, height })
                .collect();
            let ordering = if banded { ClipOrdering::YX_BANDED } else { ClipOrdering::UNSORTED };
            // Whatever the reused buffer held before is gone.
            let mut ours = stale;
            set_clip_rectangles_bytes(&mut ours, ordering, gc, rects.iter().copied());
            let (theirs, fds) = SetClipRectanglesRequest {
                ordering,
                gc,
                clip_x_origin: 0,
                clip_y_origin: 0,
                rectangles: rects.into(),
            }
            .serialize();
            prop_assert!(fds.is_empty());
            prop_assert_eq!(ours, joined(&theirs));
        }
    }

    proptest! {
        #[test]
        fn put_image_is_what_x11rb_writes(
            ids in any::<(u32, u32)>(),
            size in any::<(u16, u16)>(),
            dst in any::<(i16, i16)>(),
            bytes in any::<(u8, u8, bool)>(),
            data in prop::collection::vec(any::<u8>(), 0..70),
        ) {
            let r = xproto::PutImageRequest {
                format: if bytes.2 { xproto::ImageFormat::Z_PIXMAP } else { xproto::ImageFormat::XY_PIXMAP },
                drawable: ids.0,
                gc: ids.1,
                width: size.0,
                height: size.1,
                dst_x: dst.0,
                dst_y: dst.1,
                left_pad: bytes.0,
                depth: bytes.1,
                data: data.into(),
            };
            let (header, padding) = put_image_bytes(&r);
            let mut ours = header.to_vec();
            ours.extend_from_slice(&r.data);
            ours.extend_from_slice(&[0; 3][..padding]);
            let (theirs, fds) = r.serialize();
            prop_assert!(fds.is_empty());
            prop_assert_eq!(ours, joined(&theirs));
        }
    }

    proptest! {
        #[test]
        fn copy_area_is_what_x11rb_writes(
            ids in any::<(u32, u32, u32)>(),
            at in any::<(i16, i16, i16, i16)>(),
            size in any::<(u16, u16)>(),
        ) {
            let r = xproto::CopyAreaRequest {
                src_drawable: ids.0,
                dst_drawable: ids.1,
                gc: ids.2,
                src_x: at.0,
                src_y: at.1,
                dst_x: at.2,
                dst_y: at.3,
                width: size.0,
                height: size.1,
            };
            let ours = copy_area_bytes(&r);
            let (theirs, fds) = r.serialize();
            prop_assert!(fds.is_empty());
            prop_assert_eq!(ours.to_vec(), joined(&theirs));
        }
    }

    #[test]
    fn a_put_image_beyond_16_bits_leaves_its_length_to_big_requests() {
        let data = vec![0u8; 4 * 65536];
        let r = xproto::PutImageRequest {
            format: xproto::ImageFormat::Z_PIXMAP,
            drawable: 1,
            gc: 2,
            width: 256,
            height: 256,
            dst_x: 0,
            dst_y: 0,
            left_pad: 0,
            depth: 24,
            data: data.into(),
        };
        let (header, padding) = put_image_bytes(&r);
        assert_eq!((&header[2..4], padding), (&[0u8, 0][..], 0));
        assert_eq!(header.to_vec(), r.serialize().0[0].to_vec());
    }

    #[test]
    fn get_input_focus_is_what_x11rb_writes() {
        let (theirs, _) = GetInputFocusRequest.serialize();
        assert_eq!(joined(&theirs), get_input_focus_bytes());
    }
}
