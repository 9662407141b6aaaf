//! Decode arbitrary bytes as a datagram from the kernel to the FIB writer (acks, route and
//! nexthop dumps, link announcements), and hand the link announcements to the writer's link
//! states. Must never panic.
#![no_main]

use fib::watch::{LinkEvent, LinkReaction, LinkStates};
use fib::wire::{decode, Reply};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(replies) = decode(data) else { return };
    let events: Vec<LinkEvent> = replies
        .iter()
        .filter_map(|r| match r {
            Reply::Link { index, flags, .. } => Some(LinkEvent::changed(*index, *flags)),
            Reply::LinkGone { index } => Some(LinkEvent::Gone { index: *index }),
            _ => None,
        })
        .collect();
    let mut states = LinkStates::new();
    states.update(&events, |i| i % 2 == 0);
    // One link announced again in the same state asks nothing.
    if let [LinkEvent::Changed { .. }] = events.as_slice() {
        assert_eq!(states.update(&events, |i| i % 2 == 0), LinkReaction::default());
    }
});
