//! Kernel nexthop objects (`RTM_NEWNEXTHOP`, Linux 5.3+) shared by our routes, without sockets.
//!
//! A full table is a million routes over a handful of next-hop sets. Written inline, every
//! route makes the kernel build (and look up, and free) its own next-hop info; written with
//! `RTA_NH_ID`, a route only points at an object the kernel built once for its set: about a
//! quarter less kernel time per route created (docs/benchmarks.md). The writer keeps one object
//! per set in use and deletes it when the last route of ours using it is gone.
//!
//! [`Objects`] is the bookkeeping: which set has which object id, how many installed routes of
//! ours point at it (*refs*), how many planned operations will (*in flight*), which objects
//! must be created before the next batch of routes and which can be deleted after it. Only a
//! set the kernel can hold as a single object is given one ([`Objects::supports`]): one next
//! hop with a gateway of the route's family and an interface. Everything else — multipath sets,
//! device-only hops, gateways the kernel resolves itself, cross-family gateways — is written
//! inline as before, as is a set whose object the kernel refused.
//!
//! Ids: a nexthop id is unique in its namespace, where other writers (FRR's zebra, another
//! table's writer) allocate ids too. Each writer counts up from a base derived from its table
//! and metric in `0x4000_0000..0x8000_0000`, above the ranges FRR's zebra uses, and creates
//! objects exclusively: an id someone else holds is skipped ([`Objects::reallocate`]).
//!
//! After a restart the routes of ours found in the kernel may point at objects of the earlier
//! run: the first id found for a set is adopted as that set's object ([`Objects::adopt`]), so a
//! re-learned route is kept as it is.

use std::collections::HashMap;
use std::net::IpAddr;

use foldhash::quality::RandomState;
use ipnetwork::IpNetwork;

use crate::types::NextHops;

/// Start of the id range writers allocate from.
const ID_FLOOR: u32 = 0x4000_0000;
/// Number of ranges (one per table and metric, modulo collisions, which only cost a skip).
const RANGES: u32 = 0x400;
/// Ids per range.
const RANGE_LEN: u32 = 0x10_0000;

/// One object: its id and who uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Object {
    id: u32,
    /// Installed routes of ours pointing at it.
    refs: u32,
    /// Planned operations that will point at it once the kernel acknowledges them.
    in_flight: u32,
    /// Known to exist in the kernel (created by us and acknowledged, or found).
    exists: bool,
}

/// The nexthop objects of one writer (see the module documentation).
#[derive(Debug)]
pub struct Objects {
    enabled: bool,
    base: u32,
    next: u32,
    by_set: HashMap<NextHops, Object, RandomState>,
    /// Sets whose object the kernel refused, with its errno: written inline from then on.
    refused: HashMap<NextHops, i32, RandomState>,
    /// Ids to create before the routes that use them are sent.
    to_create: Vec<(u32, NextHops)>,
}

impl Default for Objects {
    fn default() -> Objects {
        Objects::disabled()
    }
}

impl Objects {
    /// A registry that never gives a set an object (every route is written inline).
    pub fn disabled() -> Objects {
        Objects {
            enabled: false,
            base: ID_FLOOR,
            next: 0,
            by_set: HashMap::default(),
            refused: HashMap::default(),
            to_create: Vec::new(),
        }
    }

    /// A registry for the writer of `table` and `metric`: ids count up from the base of its
    /// range.
    pub fn new(table: u32, metric: u32) -> Objects {
        let mix = table.wrapping_mul(0x9E37_79B9) ^ metric.wrapping_mul(0x85EB_CA6B);
        let range = (mix ^ (mix >> 16)) % RANGES;
        Objects {
            enabled: true,
            base: ID_FLOOR + range * RANGE_LEN,
            ..Objects::disabled()
        }
    }

    /// Whether sets are given objects at all.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whether the kernel can hold `hops`, for a route of `prefix`'s family, as one object:
    /// a single next hop with a gateway of the same family and an outgoing interface.
    pub fn supports(prefix: &IpNetwork, hops: &NextHops) -> bool {
        match &hops[..] {
            [hop] => {
                let same_family = matches!(
                    (prefix, hop.gateway),
                    (IpNetwork::V4(_), Some(IpAddr::V4(_)))
                        | (IpNetwork::V6(_), Some(IpAddr::V6(_)))
                );
                same_family && hop.ifindex.is_some_and(|i| i != 0)
            }
            _ => false,
        }
    }

    /// Whether `id` is in this writer's range (ids it creates objects with).
    pub fn in_range(&self, id: u32) -> bool {
        self.enabled && (self.base..self.base + RANGE_LEN).contains(&id)
    }

    /// The id the next new object gets (unless it is taken).
    pub fn peek_next(&self) -> u32 {
        self.base + self.next % RANGE_LEN
    }

    fn allocate(&mut self) -> u32 {
        let id = self.base + self.next % RANGE_LEN;
        self.next = self.next.wrapping_add(1);
        id
    }

    /// The object a route of `prefix` through `hops` is written with, if any: the set's
    /// object, allocated (and queued for creation) if it has none yet. The operation counts as
    /// in flight until [`Objects::settle`].
    pub fn assign(&mut self, prefix: &IpNetwork, hops: &NextHops) -> Option<u32> {
        if !self.enabled || !Objects::supports(prefix, hops) || self.refused.contains_key(hops) {
            return None;
        }
        if let Some(o) = self.by_set.get_mut(hops) {
            o.in_flight += 1;
            return Some(o.id);
        }
        let id = self.allocate();
        self.by_set.insert(
            hops.clone(),
            Object {
                id,
                refs: 0,
                in_flight: 1,
                exists: false,
            },
        );
        self.to_create.push((id, hops.clone()));
        Some(id)
    }

    /// The objects to create before the next batch is sent (drained).
    pub fn take_creates(&mut self) -> Vec<(u32, NextHops)> {
        std::mem::take(&mut self.to_create)
    }

    /// The kernel created object `id` of `hops`.
    pub fn created(&mut self, hops: &NextHops) {
        if let Some(o) = self.by_set.get_mut(hops) {
            o.exists = true;
        }
    }

    /// The id of `hops`' object was taken by someone else: a new id, queued for creation.
    /// Returns it (`None` if the set has no object).
    pub fn reallocate(&mut self, hops: &NextHops) -> Option<u32> {
        let id = self.allocate();
        let o = self.by_set.get_mut(hops)?;
        o.id = id;
        self.to_create.push((id, hops.clone()));
        Some(id)
    }

    /// The kernel refused the object of `hops` (`errno`): the set is written inline from now
    /// on (the routes then get the kernel's own answer for the next hop).
    pub fn refuse(&mut self, hops: &NextHops, errno: i32) {
        self.by_set.remove(hops);
        self.refused.insert(hops.clone(), errno);
    }

    /// The kernel no longer holds `hops`' object (it removes an object, with the routes using
    /// it, when its device goes down or away): forgotten, so the set's next route creates a new
    /// one.
    pub fn vanished(&mut self, hops: &NextHops) {
        self.by_set.remove(hops);
    }

    /// Forgets every object created or found earlier for which `exists(id)` is false (the
    /// kernel removed it, with its routes, when its device went down): the set's next route
    /// makes a new one. Returns how many were forgotten.
    pub fn forget_missing(&mut self, exists: impl Fn(u32) -> bool) -> usize {
        let before = self.by_set.len();
        self.by_set.retain(|_, o| !o.exists || exists(o.id));
        before - self.by_set.len()
    }

    /// Lets every refused set try an object again (the sink's periodic retry: an uplink that
    /// came up may make a refused gateway acceptable).
    pub fn retry_refused(&mut self) {
        self.refused.clear();
    }

    /// Sets whose objects the kernel refused, with its errno.
    pub fn refused(&self) -> impl Iterator<Item = (&NextHops, i32)> {
        self.refused.iter().map(|(h, e)| (h, *e))
    }

    /// An operation that was given `hops`' object by [`Objects::assign`] got its answer:
    /// `installed` when the kernel installed the route (it now points at the object).
    pub fn settle(&mut self, hops: &NextHops, installed: bool) {
        if let Some(o) = self.by_set.get_mut(hops) {
            o.in_flight = o.in_flight.saturating_sub(1);
            if installed {
                o.refs += 1;
            }
        }
    }

    /// An installed route pointing at `hops`' object was deleted or now points elsewhere.
    pub fn release(&mut self, hops: &NextHops) {
        if let Some(o) = self.by_set.get_mut(hops) {
            o.refs = o.refs.saturating_sub(1);
        }
    }

    /// A route of ours found in the kernel through `hops` points at object `id`: whether it is
    /// (now) that set's object — adopted if the set had none, so the route counts as using it.
    /// A set already holding another id keeps it; the route is then treated as inline.
    pub fn adopt(&mut self, hops: &NextHops, id: u32) -> bool {
        if !self.enabled {
            return false;
        }
        let o = self.by_set.entry(hops.clone()).or_insert(Object {
            id,
            refs: 0,
            in_flight: 0,
            exists: true,
        });
        if o.id != id {
            return false;
        }
        o.exists = true;
        o.refs += 1;
        true
    }

    /// Forgets every route's reference (before a re-read of the kernel adopts them again).
    pub fn clear_refs(&mut self) {
        for o in self.by_set.values_mut() {
            o.refs = 0;
        }
    }

    /// Objects no route uses or will use: removed from the registry; their ids are returned
    /// for deletion when they exist in the kernel.
    pub fn take_unused(&mut self) -> Vec<u32> {
        let mut gone = Vec::new();
        self.by_set.retain(|_, o| {
            let used = o.refs > 0 || o.in_flight > 0;
            if !used && o.exists {
                gone.push(o.id);
            }
            used
        });
        gone
    }

    /// Number of objects held.
    pub fn len(&self) -> usize {
        self.by_set.len()
    }

    /// Whether no object is held.
    pub fn is_empty(&self) -> bool {
        self.by_set.is_empty()
    }

    /// The object id of `hops`, if it has one.
    pub fn id_of(&self, hops: &NextHops) -> Option<u32> {
        self.by_set.get(hops).map(|o| o.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{next_hops, NextHop};

    fn p(s: &str) -> IpNetwork {
        s.parse().unwrap()
    }

    fn one(gw: &str, ifindex: u32) -> NextHops {
        next_hops(vec![NextHop::onlink(gw.parse().unwrap(), ifindex)])
    }

    #[test]
    fn only_single_same_family_hops_with_an_interface_are_objects() {
        let v4 = p("203.0.113.0/24");
        let v6 = p("2001:db8:1::/48");
        assert!(Objects::supports(&v4, &one("192.0.2.1", 3)));
        assert!(Objects::supports(&v6, &one("2001:db8::1", 3)));
        // Cross-family gateway, no interface, device only, multipath: inline.
        assert!(!Objects::supports(&v4, &one("2001:db8::1", 3)));
        assert!(!Objects::supports(&v6, &one("192.0.2.1", 3)));
        let via = next_hops(vec![NextHop::via("192.0.2.1".parse().unwrap())]);
        assert!(!Objects::supports(&v4, &via));
        let dev = next_hops(vec![NextHop {
            gateway: None,
            ifindex: Some(3),
            onlink: false,
        }]);
        assert!(!Objects::supports(&v4, &dev));
        let two = next_hops(vec![
            NextHop::onlink("192.0.2.1".parse().unwrap(), 3),
            NextHop::onlink("192.0.2.2".parse().unwrap(), 3),
        ]);
        assert!(!Objects::supports(&v4, &two));
    }

    #[test]
    fn a_set_gets_one_object_created_once_and_deleted_when_unused() {
        let mut o = Objects::new(200, 20);
        let a = one("192.0.2.1", 3);
        let id = o.assign(&p("203.0.113.0/24"), &a).unwrap();
        assert!((ID_FLOOR..0x8000_0000).contains(&id));
        assert_eq!(o.assign(&p("198.51.100.0/24"), &a), Some(id));
        assert_eq!(o.take_creates(), vec![(id, a.clone())]);
        assert!(o.take_creates().is_empty());
        o.created(&a);
        // In flight: not deleted yet.
        assert!(o.take_unused().is_empty());
        o.settle(&a, true);
        o.settle(&a, false); // the second route was refused
        assert!(o.take_unused().is_empty());
        o.release(&a);
        assert_eq!(o.take_unused(), vec![id]);
        assert!(o.is_empty());
    }

    #[test]
    fn an_object_never_created_is_not_deleted() {
        let mut o = Objects::new(200, 20);
        let a = one("192.0.2.1", 3);
        let id = o.assign(&p("203.0.113.0/24"), &a).unwrap();
        let created = o.take_creates();
        assert_eq!(created[0].0, id);
        o.settle(&a, false);
        assert!(o.take_unused().is_empty());
        assert!(o.is_empty());
    }

    #[test]
    fn a_taken_id_is_skipped_and_a_refused_set_goes_inline() {
        let mut o = Objects::new(200, 20);
        let a = one("192.0.2.1", 3);
        let first = o.assign(&p("203.0.113.0/24"), &a).unwrap();
        o.take_creates();
        let second = o.reallocate(&a).unwrap();
        assert_ne!(first, second);
        assert_eq!(o.take_creates(), vec![(second, a.clone())]);
        assert_eq!(o.id_of(&a), Some(second));
        o.refuse(&a, libc::ENETUNREACH);
        assert_eq!(o.assign(&p("203.0.113.0/24"), &a), None);
        assert_eq!(o.refused().count(), 1);
        // Retried later: the set gets a new object.
        o.retry_refused();
        let third = o.assign(&p("203.0.113.0/24"), &a).unwrap();
        assert_eq!(o.take_creates(), vec![(third, a.clone())]);
        // The kernel dropped it (its device went away): the next route makes another.
        o.vanished(&a);
        let fourth = o.assign(&p("203.0.113.0/24"), &a).unwrap();
        assert_ne!(third, fourth);
        assert_eq!(o.take_creates(), vec![(fourth, a.clone())]);
    }

    #[test]
    fn found_objects_are_adopted_once_per_set() {
        let mut o = Objects::new(200, 20);
        let a = one("192.0.2.1", 3);
        assert!(o.adopt(&a, 0x4123_0001));
        assert!(o.adopt(&a, 0x4123_0001));
        // A second id for the same set: that route is inline for us.
        assert!(!o.adopt(&a, 0x4123_0002));
        assert_eq!(o.assign(&p("203.0.113.0/24"), &a), Some(0x4123_0001));
        assert!(o.take_creates().is_empty());
        o.settle(&a, true);
        for _ in 0..3 {
            o.release(&a);
        }
        assert_eq!(o.take_unused(), vec![0x4123_0001]);
    }

    #[test]
    fn objects_the_kernel_dropped_are_forgotten_and_made_again() {
        let mut o = Objects::new(200, 20);
        let a = one("192.0.2.1", 3);
        let b = one("192.0.2.9", 4);
        let ida = o.assign(&p("203.0.113.0/24"), &a).unwrap();
        let idb = o.assign(&p("198.51.100.0/24"), &b).unwrap();
        o.take_creates();
        o.created(&a);
        o.created(&b);
        o.settle(&a, true);
        o.settle(&b, true);
        // Only b's object is still in the kernel.
        assert_eq!(o.forget_missing(|id| id == idb), 1);
        assert_eq!(o.id_of(&a), None);
        assert_eq!(o.id_of(&b), Some(idb));
        let again = o.assign(&p("203.0.113.0/24"), &a).unwrap();
        assert_ne!(again, ida);
        assert_eq!(o.take_creates(), vec![(again, a.clone())]);
        // An object not created yet is not forgotten.
        assert_eq!(o.forget_missing(|_| false), 1);
        assert_eq!(o.id_of(&a), Some(again));
    }

    #[test]
    fn a_disabled_registry_gives_nothing() {
        let mut o = Objects::disabled();
        let a = one("192.0.2.1", 3);
        assert!(!o.enabled());
        assert_eq!(o.assign(&p("203.0.113.0/24"), &a), None);
        assert!(!o.adopt(&a, 5));
        assert!(o.take_creates().is_empty());
    }

    #[test]
    fn a_writer_knows_its_range() {
        let o = Objects::new(200, 20);
        let first = o.peek_next();
        assert!(o.in_range(first));
        assert!(o.in_range(first + RANGE_LEN - 1));
        assert!(!o.in_range(first + RANGE_LEN));
        assert!(!o.in_range(first - 1));
        assert!(!Objects::disabled().in_range(first));
    }

    #[test]
    fn writers_of_other_tables_count_from_other_bases() {
        let a = Objects::new(200, 20).base;
        let b = Objects::new(201, 20).base;
        let c = Objects::new(200, 30).base;
        assert_ne!(a, b);
        assert_ne!(a, c);
        for base in [a, b, c] {
            assert!(base >= ID_FLOOR && base + RANGE_LEN <= 0x8000_0000);
        }
    }
}
