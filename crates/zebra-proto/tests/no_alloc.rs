//! Proves that decoding FRR 8.4 ROUTE_ADD (IPv4 and IPv6, up to 8 nexthops, up to 2 labels
//! each) and NEXTHOP_UPDATE does not touch the heap, with a counting global allocator.
//!
//! Only allocations made by the test's own thread while counting is on are counted, so other
//! test threads cannot disturb the figures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::Ipv6Addr;

use bytes::BytesMut;
use zebra_proto::*;

struct Counting;

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only bumps a thread-local counter besides.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ON.with(|o| o.get()) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if ON.with(|o| o.get()) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap allocations made by `f` on this thread.
fn allocations<T>(f: impl FnOnce() -> T) -> (usize, T) {
    COUNT.with(|c| c.set(0));
    ON.with(|o| o.set(true));
    let out = f();
    ON.with(|o| o.set(false));
    (COUNT.with(|c| c.get()), out)
}

fn route_frame_for(profile: Profile, prefix: &str, n: u16, labels: usize, v6: bool) -> Vec<u8> {
    let mut route = ZapiRoute::new(9, prefix.parse().unwrap());
    route.nexthops = Some(nexthops((1..=n).map(|i| {
        let target = if v6 {
            NexthopTarget::Ipv6Ifindex {
                gate: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, i),
                ifindex: u32::from(i),
            }
        } else {
            NexthopTarget::Ipv4 {
                gate: std::net::Ipv4Addr::new(192, 0, 2, i as u8),
                ifindex: 0,
            }
        };
        let mut nh = ZapiNexthop::new(target);
        if labels > 0 {
            nh.labels = Some((0..labels as u32).map(|l| 16 + l).collect());
        }
        nh.weight = Some(u64::from(i));
        nh
    })));
    route.distance = Some(20);
    route.metric = Some(0);
    let mut buf = BytesMut::new();
    encode(profile, 0, &Message::RouteAdd(route), &mut buf).unwrap();
    buf.to_vec()
}

fn route_frame(prefix: &str, n: u16, labels: usize, v6: bool) -> Vec<u8> {
    route_frame_for(Profile::Frr84, prefix, n, labels, v6)
}

#[test]
fn route_add_decode_does_not_allocate_in_any_frr_profile() {
    for profile in Profile::ALL.into_iter().filter(|p| p.is_frr()) {
        for (prefix, n, labels, v6) in [
            ("198.51.100.0/24", 8, 2, false),
            ("2001:db8:100::/48", 8, 2, true),
        ] {
            let frame = route_frame_for(profile, prefix, n, labels, v6);
            let (allocs, res) = allocations(|| decode(profile, &frame));
            let (_, msg) = res.unwrap();
            assert_eq!(allocs, 0, "{profile}: decoding {msg:?} allocated");
            let mut into = Message::InterfaceAddRequest;
            decode_into(profile, &frame, &mut into).unwrap();
            let (allocs, res) = allocations(|| decode_into(profile, &frame, &mut into));
            assert!(res.is_ok());
            assert_eq!(allocs, 0, "{profile}: decode_into allocated");
        }
    }
}

#[test]
fn route_add_decode_does_not_allocate_up_to_eight_nexthops() {
    let cases = [
        route_frame("198.51.100.0/24", 1, 0, false),
        route_frame("198.51.100.0/24", 8, 2, false),
        route_frame("2001:db8:100::/48", 1, 0, true),
        route_frame("2001:db8:100::/48", 4, 1, true),
        route_frame("2001:db8:100::/48", 8, 2, true),
    ];
    for frame in &cases {
        let (n, res) = allocations(|| decode(Profile::Frr84, frame));
        let (_, msg) = res.unwrap();
        assert_eq!(n, 0, "decoding {msg:?} allocated {n} time(s)");
        let (n, _) = allocations(|| drop(msg));
        assert_eq!(n, 0);
    }
    // ROUTE_DELETE too.
    let mut buf = BytesMut::new();
    encode(
        Profile::Frr84,
        0,
        &Message::RouteDelete(ZapiRoute::new(9, "198.51.100.0/24".parse().unwrap())),
        &mut buf,
    )
    .unwrap();
    let (n, res) = allocations(|| decode(Profile::Frr84, &buf));
    assert!(res.is_ok());
    assert_eq!(n, 0);
}

#[test]
fn nine_nexthops_spill_to_the_heap_once() {
    // The bound is real: the ninth nexthop moves the list to the heap (one allocation).
    let frame = route_frame("2001:db8:100::/48", 9, 0, true);
    let (n, res) = allocations(|| decode(Profile::Frr84, &frame));
    assert!(res.is_ok());
    assert_eq!(n, 1);
}

#[test]
fn nexthop_update_decode_does_not_allocate() {
    let update = NexthopUpdate {
        safi: 1,
        prefix: "192.0.2.2/32".parse().unwrap(),
        resolved: Some("192.0.2.0/24".parse().unwrap()),
        srte_color: None,
        route_type: 2,
        instance: 0,
        distance: 0,
        metric: 0,
        nexthops: nexthops([ZapiNexthop::new(NexthopTarget::Ifindex(2))]),
    };
    let mut buf = BytesMut::new();
    encode(Profile::Frr84, 0, &Message::NexthopUpdate(update), &mut buf).unwrap();
    let (n, res) = allocations(|| decode(Profile::Frr84, &buf));
    assert!(res.is_ok());
    assert_eq!(n, 0);
}

#[test]
fn counting_allocator_counts() {
    // Guard against a test that passes because nothing is counted.
    let (n, v) = allocations(|| vec![1u8; 64]);
    assert_eq!(v.len(), 64);
    assert_eq!(n, 1);
}

#[test]
fn decode_into_reuses_the_route_without_allocating() {
    let frames = [
        route_frame("198.51.100.0/24", 8, 2, false),
        route_frame("2001:db8:100::/48", 4, 1, true),
        route_frame("203.0.113.0/24", 1, 0, false),
    ];
    let mut msg = Message::InterfaceAddRequest;
    // The first decode sets the variant up; later ones rebuild the route in place.
    decode_into(Profile::Frr84, &frames[0], &mut msg).unwrap();
    for frame in frames.iter().cycle().take(9) {
        let (n, res) = allocations(|| decode_into(Profile::Frr84, frame, &mut msg));
        let header = res.unwrap();
        assert_eq!(n, 0);
        // Same result as the by-value decode.
        let (h2, expected) = decode(Profile::Frr84, frame).unwrap();
        assert_eq!(header, h2);
        assert_eq!(msg, expected);
    }
    // Another command replaces the message.
    let mut buf = BytesMut::new();
    encode(Profile::Frr84, 0, &Message::InterfaceAddRequest, &mut buf).unwrap();
    decode_into(Profile::Frr84, &buf, &mut msg).unwrap();
    assert_eq!(msg, Message::InterfaceAddRequest);
    // Errors are reported the same way.
    let short = &frames[0][..frames[0].len() - 1];
    assert!(decode_into(Profile::Frr84, short, &mut msg).is_err());
}
