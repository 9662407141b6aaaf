//! Following the links our routes leave through.
//!
//! The kernel removes routes behind a writer's back when their device changes: a link set down
//! (or deleted) takes every route through it with it, IPv4 and IPv6, inline or not; a link that
//! loses its carrier takes the nexthop objects through it, and with them every route pointing
//! at one (inline routes stay, marked `linkdown`). It announces only the link change — not the
//! routes nor the objects it removed. A writer that did not listen would go on believing those
//! routes installed, and the table would stay without them after the link came back, until
//! bgpd happened to send each one again.
//!
//! [`LinkWatch`] is a socket that hears the namespace's link announcements (`RTNLGRP_LINK`).
//! [`LinkStates`] (no sockets) turns a batch of them into what the writer must do: *restore*
//! when a link our routes use stopped being usable (re-read the table and queue again what the
//! kernel dropped, see [`crate::Fib::restore`]; the kernel announces the change before it
//! removes the routes, so not at once, see [`crate::LinkOutcome::restore_due`]) and *retry*
//! when a link became usable (the
//! routes the kernel refused meanwhile are sent again). Announcements lost to an overrun of the
//! socket ask for both.

use std::collections::HashMap;
use std::time::Duration;

use crate::error::{FibError, Result};
use crate::socket::NlSocket;
use crate::wire::Reply;

/// `RTNLGRP_LINK` (`linux/rtnetlink.h`).
const RTNLGRP_LINK: u32 = 1;
/// `IFF_UP`.
const IFF_UP: u32 = 0x1;
/// `IFF_RUNNING`.
const IFF_RUNNING: u32 = 0x40;
/// `IFF_LOWER_UP`.
const IFF_LOWER_UP: u32 = 0x1_0000;

/// One link announcement, reduced to what the writer needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkEvent {
    /// Link `index` changed (or was announced); `usable`: administratively up with a carrier.
    Changed {
        /// The link's index.
        index: u32,
        /// Up (`IFF_UP`) and with a carrier (`IFF_LOWER_UP` or `IFF_RUNNING`).
        usable: bool,
    },
    /// Link `index` was deleted.
    Gone {
        /// The link's index.
        index: u32,
    },
    /// Announcements were lost (the socket's buffer overran): any link may have changed.
    Overrun,
}

impl LinkEvent {
    /// The event a link announcement with `IFF_*` `flags` stands for.
    pub fn changed(index: u32, flags: u32) -> LinkEvent {
        LinkEvent::Changed {
            index,
            usable: flags & IFF_UP != 0 && flags & (IFF_LOWER_UP | IFF_RUNNING) != 0,
        }
    }
}

/// What a batch of link events asks of the writer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkReaction {
    /// A link our routes use is no longer usable: the kernel may have dropped routes of ours.
    pub restore: bool,
    /// A link became usable: routes the kernel refused may be accepted now.
    pub retry: bool,
}

/// The last known usability of each link announced (see the module documentation).
#[derive(Debug, Default)]
pub struct LinkStates {
    usable: HashMap<u32, bool>,
}

impl LinkStates {
    /// No link known yet.
    pub fn new() -> LinkStates {
        LinkStates::default()
    }

    /// Takes in `events`; `used(index)` tells whether routes of ours may leave through link
    /// `index`. A link announced again in the same state (another attribute changed) asks
    /// nothing; one announced for the first time is taken as a change.
    pub fn update(&mut self, events: &[LinkEvent], used: impl Fn(u32) -> bool) -> LinkReaction {
        let mut r = LinkReaction::default();
        for event in events {
            match *event {
                LinkEvent::Changed { index, usable } => {
                    if self.usable.insert(index, usable) == Some(usable) {
                        continue;
                    }
                    if usable {
                        r.retry = true;
                    } else if used(index) {
                        r.restore = true;
                    }
                }
                LinkEvent::Gone { index } => {
                    self.usable.remove(&index);
                    if used(index) {
                        r.restore = true;
                    }
                }
                LinkEvent::Overrun => {
                    self.usable.clear();
                    r.restore = true;
                    r.retry = true;
                }
            }
        }
        r
    }
}

/// A socket hearing the link announcements of one namespace (see the module documentation).
/// Its calls block: read it from a thread of its own.
#[derive(Debug)]
pub struct LinkWatch {
    sock: NlSocket,
}

impl LinkWatch {
    /// Subscribes to the link announcements of `namespace` (`None`: the process's own); each
    /// [`LinkWatch::read`] waits at most `timeout`.
    pub fn open(namespace: Option<&str>, timeout: Duration) -> Result<LinkWatch> {
        Ok(LinkWatch {
            sock: NlSocket::open_groups(namespace, &[RTNLGRP_LINK], timeout)?,
        })
    }

    /// The next announcements: empty when none came within the timeout, [`LinkEvent::Overrun`]
    /// when some were lost. An error means the socket failed.
    pub fn read(&mut self) -> Result<Vec<LinkEvent>> {
        match self.sock.recv() {
            Ok(replies) => Ok(replies
                .into_iter()
                .filter_map(|r| match r {
                    Reply::Link { index, flags, .. } => Some(LinkEvent::changed(index, flags)),
                    Reply::LinkGone { index } => Some(LinkEvent::Gone { index }),
                    _ => None,
                })
                .collect()),
            Err(FibError::Io { source, .. })
                if matches!(
                    source.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Ok(Vec::new())
            }
            Err(FibError::Io { source, .. }) if source.raw_os_error() == Some(libc::ENOBUFS) => {
                Ok(vec![LinkEvent::Overrun])
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(index: u32, usable: bool) -> LinkEvent {
        LinkEvent::Changed { index, usable }
    }

    #[test]
    fn flags_make_a_link_usable_only_when_up_with_a_carrier() {
        // The flags of the kernel's announcements (crates/fib/src/captures/).
        assert_eq!(LinkEvent::changed(3, 0x1003), changed(3, false)); // carrier lost
        assert_eq!(LinkEvent::changed(3, 0x11043), changed(3, true)); // carrier back
        assert_eq!(LinkEvent::changed(3, 0x1002), changed(3, false)); // set down
        assert_eq!(
            LinkEvent::changed(3, IFF_UP | IFF_RUNNING),
            changed(3, true)
        );
        assert_eq!(LinkEvent::changed(3, IFF_LOWER_UP), changed(3, false));
    }

    #[test]
    fn a_used_link_going_down_asks_a_restore_and_coming_back_a_retry() {
        let mut s = LinkStates::new();
        let used = |i| i == 3;
        assert_eq!(
            s.update(&[changed(3, false)], used),
            LinkReaction {
                restore: true,
                retry: false
            }
        );
        // Announced again in the same state: nothing.
        assert_eq!(
            s.update(&[changed(3, false)], used),
            LinkReaction::default()
        );
        assert_eq!(
            s.update(&[changed(3, true)], used),
            LinkReaction {
                restore: false,
                retry: true
            }
        );
        assert_eq!(s.update(&[changed(3, true)], used), LinkReaction::default());
        // Down and up again within one batch: both.
        assert_eq!(
            s.update(&[changed(3, false), changed(3, true)], used),
            LinkReaction {
                restore: true,
                retry: true
            }
        );
        assert_eq!(
            s.update(&[LinkEvent::Gone { index: 3 }], used),
            LinkReaction {
                restore: true,
                retry: false
            }
        );
    }

    #[test]
    fn links_no_route_uses_ask_no_restore() {
        let mut s = LinkStates::new();
        let used = |i| i == 3;
        assert_eq!(
            s.update(&[changed(7, false), LinkEvent::Gone { index: 8 }], used),
            LinkReaction::default()
        );
        // A link coming up may let refused routes in, whoever uses it.
        assert!(s.update(&[changed(7, true)], used).retry);
    }

    #[test]
    fn an_overrun_asks_both_and_forgets_every_state() {
        let mut s = LinkStates::new();
        let used = |_| true;
        s.update(&[changed(3, true)], used);
        assert_eq!(
            s.update(&[LinkEvent::Overrun], used),
            LinkReaction {
                restore: true,
                retry: true
            }
        );
        // The next announcement of link 3 counts as a change again.
        assert!(s.update(&[changed(3, true)], used).retry);
    }
}
