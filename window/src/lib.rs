//! xbs-window: window integration for xbs — creating windows, WM protocols, the event
//! pump, cursors and raw-window-handle.
//!
//! Not built yet (issue 4).
#![forbid(unsafe_code)]
