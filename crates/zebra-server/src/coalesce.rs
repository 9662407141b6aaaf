//! Read coalescing for route streams (see [`ServerConfig::read_coalesce`]), sans-I/O: when a
//! connection's reader pauses, and when a pause ends. The server's reader asks these after
//! each read and at each look at the socket during a pause.
//!
//! Why: bgpd's zclient (FRR's and Quagga's alike) writes each message with its own `write`
//! while its socket has room, and once a write finds the socket full it appends everything to
//! its own buffer and sends that with a few large `writev`s until the buffer drains. A server
//! that reads each message as it arrives keeps bgpd in the first mode: one system call and
//! one wake-up of the server per route, on the core bgpd needs for BGP itself. Letting the
//! socket fill during a stream moves bgpd to the second.
//!
//! [`ServerConfig::read_coalesce`]: crate::ServerConfig::read_coalesce

use std::time::Duration;

use crate::core::Request;

/// Route messages one read must find before a pause: fewer are changes, not a stream, and are
/// read as soon as they arrive.
pub const COALESCE_MIN_ROUTES: usize = 8;

/// The window the controller uses for bgpd ([`ServerConfig::read_coalesce`]).
///
/// [`ServerConfig::read_coalesce`]: crate::ServerConfig::read_coalesce
pub const BGPD_READ_COALESCE: Duration = Duration::from_millis(30);

/// How often a pause looks at the socket's queue.
pub(crate) const COALESCE_STEP: Duration = Duration::from_millis(1);

/// Growth of the queue between two looks that ends a pause: one full flush of bgpd's write
/// buffer (a `writev` of 16 chunks of 4 KiB). A client writing this much within a look has
/// already switched to large writes (or writes in bulk): what is queued is a large batch, and
/// waiting longer would only hold its next flush back. bgpd writing a route at a time adds
/// about a ninth of this a millisecond on the project's machine (some 150,000 ROUTE_ADDs of
/// 48 bytes a second).
pub(crate) const COALESCE_FAST_GROWTH: usize = 64 * 1024;

/// Whether a read that had room for `room` bytes, returned `read` bytes and decoded `batch`
/// starts a pause: it emptied the socket (a read that filled its room leaves more waiting,
/// read at once) and found a route stream (at least [`COALESCE_MIN_ROUTES`] route messages).
pub(crate) fn starts_pause(read: usize, room: usize, batch: &[Request]) -> bool {
    read < room
        && batch
            .iter()
            .filter(|r| matches!(r, Request::RouteAdd { .. } | Request::RouteDelete { .. }))
            .take(COALESCE_MIN_ROUTES)
            .count()
            >= COALESCE_MIN_ROUTES
}

/// One pause, fed what each look finds queued on the socket (`FIONREAD`; `None` when the
/// kernel did not say). The caller also ends it when the window is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pause {
    queued: Option<usize>,
}

impl Pause {
    /// A pause that starts with `queued` bytes waiting.
    pub(crate) fn new(queued: Option<usize>) -> Pause {
        Pause { queued }
    }

    /// Whether to keep waiting after a look that found `now` bytes queued: only while the
    /// client keeps writing at a stream's pace. No growth means it stopped (the burst is over:
    /// read it now) or its socket is full (bgpd has switched to its own buffer; a blocking
    /// client is waiting on us); fast growth means a large batch is already there.
    pub(crate) fn keep_waiting(&mut self, now: Option<usize>) -> bool {
        let Some(now) = now else {
            return false;
        };
        let grew = now.saturating_sub(self.queued.unwrap_or(0));
        self.queued = Some(now);
        grew > 0 && grew < COALESCE_FAST_GROWTH
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(i: u8) -> Request {
        Request::RouteAdd {
            prefix: format!("198.51.100.{i}/32").parse().unwrap(),
            paths: Vec::new(),
        }
    }

    #[test]
    fn only_a_read_that_emptied_the_socket_of_a_route_stream_pauses() {
        let stream: Vec<Request> = (0..8).map(add).collect();
        assert!(starts_pause(400, 1024, &stream));
        // The read filled its room: more is waiting, read it at once.
        assert!(!starts_pause(1024, 1024, &stream));
        // Seven routes are changes, not a stream.
        assert!(!starts_pause(350, 1024, &stream[..7]));
        // Other messages do not count.
        let mut mixed: Vec<Request> = (0..7).map(add).collect();
        mixed.extend((0..8).map(|_| Request::InterfaceRequest));
        assert!(!starts_pause(500, 1024, &mixed));
        let deletes: Vec<Request> = (0..8)
            .map(|i| Request::RouteDelete {
                prefix: format!("198.51.100.{i}/32").parse().unwrap(),
            })
            .collect();
        assert!(starts_pause(300, 1024, &deletes));
    }

    #[test]
    fn a_pause_lasts_while_the_client_writes_at_a_streams_pace() {
        let mut p = Pause::new(Some(0));
        assert!(p.keep_waiting(Some(4_800)));
        assert!(p.keep_waiting(Some(9_600)));
        assert!(p.keep_waiting(Some(9_600 + COALESCE_FAST_GROWTH - 1)));
        // Nothing new since the last look: stopped, or the socket is full.
        assert!(!p.keep_waiting(Some(9_600 + COALESCE_FAST_GROWTH - 1)));
    }

    #[test]
    fn a_pause_ends_on_no_growth_fast_growth_or_no_answer() {
        assert!(!Pause::new(Some(0)).keep_waiting(Some(0)));
        assert!(!Pause::new(Some(100)).keep_waiting(Some(50)));
        assert!(!Pause::new(Some(0)).keep_waiting(Some(COALESCE_FAST_GROWTH)));
        assert!(!Pause::new(Some(0)).keep_waiting(None));
        // A pause that started without an answer counts from nothing queued.
        assert!(Pause::new(None).keep_waiting(Some(48)));
    }
}
