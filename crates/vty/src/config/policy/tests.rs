#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;
use crate::config::{diff, render_lines, BgpConfig, Neighbor};

fn name(s: &str) -> PolicyName {
    PolicyName::new(s).unwrap()
}

fn entry(action: Action, p: &str, ge: Option<u8>, le: Option<u8>) -> PrefixEntry {
    PrefixEntry::new(action, p.parse().unwrap(), ge, le).unwrap()
}

fn peer() -> IpAddr {
    "192.0.2.2".parse().unwrap()
}

/// A configuration with one IPv4 neighbor, an export filter and an import route-map.
fn sample() -> BgpConfig {
    let asn = Asn::new(65001).unwrap();
    let mut c = BgpConfig::new(asn);
    c.add_neighbor(Neighbor::new(peer(), Asn::new(65002).unwrap()));
    let pl = PrefixList::new(
        Afi::Ipv4,
        vec![
            entry(Action::Permit, "203.0.113.0/24", None, None),
            entry(Action::Deny, "198.51.100.0/24", Some(25), Some(32)),
        ],
        Action::Deny,
    )
    .unwrap();
    c.policies
        .prefix_lists
        .insert((Afi::Ipv4, name("p1-out")), pl);
    let out = RouteMapEntry {
        match_own: Some(name("own")),
        match_prefix_list: Some((Afi::Ipv4, name("p1-out"))),
        metric: Some(50),
        prepend: Some((asn, 2)),
        communities: Some(SetCommunities {
            values: vec![Community::Value(65001, 7), Community::NoExport],
            additive: true,
        }),
        ..RouteMapEntry::default()
    };
    c.policies.own_routes.insert(name("own"));
    c.policies
        .route_maps
        .insert(name("p1-out"), [(10, out)].into_iter().collect());
    let inn = RouteMapEntry {
        local_preference: Some(200),
        large_communities: Some(SetCommunities {
            values: vec![LargeCommunity(65001, 1, 2)],
            additive: false,
        }),
        ..RouteMapEntry::default()
    };
    c.policies
        .route_maps
        .insert(name("p1-in"), [(10, inn)].into_iter().collect());
    c.ipv4.policy.insert(
        peer(),
        NeighborPolicy {
            route_map_in: Some(name("p1-in")),
            route_map_out: Some(name("p1-out")),
            maximum_prefix: Some(
                MaximumPrefix::new(1000, Some(80), MaxPrefixAction::TearDown(Some(5))).unwrap(),
            ),
        },
    );
    c
}

#[test]
fn full_render_creates_policies_before_the_neighbors_use_them() {
    let c = sample();
    c.validate().unwrap();
    let l = render_lines(&c.commands());
    for line in &l {
        crate::validate_line(line).unwrap();
    }
    let pos = |want: &str| {
        l.iter()
            .position(|x| x == want)
            .unwrap_or_else(|| panic!("{want} missing from {l:#?}"))
    };
    let own = pos("bgp as-path access-list own seq 5 permit ^$");
    let seq5 = pos("ip prefix-list p1-out seq 5 permit 203.0.113.0/24");
    assert!(own < seq5);
    pos("ip prefix-list p1-out seq 10 deny 198.51.100.0/24 ge 25 le 32");
    pos("ip prefix-list p1-out seq 4294967295 deny any");
    let rm = pos("route-map p1-out permit 10");
    assert_eq!(l[rm + 1..rm + 7].len(), 6);
    for line in [
        "match as-path own",
        "match ip address prefix-list p1-out",
        "set metric 50",
        "set as-path prepend 65001 65001",
        "set community 65001:7 no-export additive",
        "set local-preference 200",
        "set large-community 65001:1:2",
    ] {
        pos(line);
    }
    let use_in = pos("neighbor 192.0.2.2 route-map p1-in in");
    let use_out = pos("neighbor 192.0.2.2 route-map p1-out out");
    pos("neighbor 192.0.2.2 maximum-prefix 1000 80 restart 5");
    let router = pos("router bgp 65001");
    assert!(seq5 < rm && rm < router && router < use_in && use_in < use_out);
    // Every route-map block is left before `router bgp`.
    assert_eq!(l[router - 1], "exit");
}

#[test]
fn no_change_no_commands_and_changes_are_in_place() {
    let a = sample();
    assert!(diff(&a, &a.clone()).is_empty());

    let mut b = sample();
    // The second entry changes, a third one is added; the first and the default stay.
    let pl = PrefixList::new(
        Afi::Ipv4,
        vec![
            entry(Action::Permit, "203.0.113.0/24", None, None),
            entry(Action::Permit, "198.51.100.0/24", Some(25), Some(32)),
            entry(Action::Deny, "192.0.2.0/24", None, Some(32)),
        ],
        Action::Deny,
    )
    .unwrap();
    b.policies
        .prefix_lists
        .insert((Afi::Ipv4, name("p1-out")), pl);
    if let Some(e) = b
        .policies
        .route_maps
        .get_mut(&name("p1-out"))
        .and_then(|m| m.get_mut(&10))
    {
        e.metric = Some(70);
        e.prepend = None;
    }
    let l = render_lines(&diff(&a, &b));
    assert_eq!(
        l,
        [
            "no ip prefix-list p1-out seq 10",
            "ip prefix-list p1-out seq 10 permit 198.51.100.0/24 ge 25 le 32",
            "ip prefix-list p1-out seq 15 deny 192.0.2.0/24 le 32",
            "route-map p1-out permit 10",
            "no set as-path prepend",
            "set metric 70",
            "exit",
        ]
    );
    // Nothing touches the neighbor: bgpd re-applies the changed policy with a soft refresh.
    assert!(!l.iter().any(|x| x.contains("neighbor")), "{l:#?}");
}

#[test]
fn removing_a_policy_unhooks_it_before_deleting_it() {
    let a = sample();
    let mut b = sample();
    b.ipv4.policy.clear();
    b.policies = Policies::default();
    let l = render_lines(&diff(&a, &b));
    assert_eq!(
        l,
        [
            "router bgp 65001",
            "address-family ipv4 unicast",
            "no neighbor 192.0.2.2 route-map p1-in in",
            "no neighbor 192.0.2.2 route-map p1-out out",
            "no neighbor 192.0.2.2 maximum-prefix",
            "exit-address-family",
            "exit",
            "no route-map p1-in",
            "no route-map p1-out",
            "no bgp as-path access-list own",
            "no ip prefix-list p1-out",
        ]
    );
    // And back.
    let back = render_lines(&diff(&b, &a));
    assert!(back.iter().any(|x| x == "route-map p1-in permit 10"));
    assert!(back
        .iter()
        .any(|x| x == "neighbor 192.0.2.2 route-map p1-in in"));
}

#[test]
fn an_action_change_recreates_the_entry_and_an_empty_entry_is_still_created() {
    let a = sample();
    let mut b = sample();
    b.policies.route_maps.insert(
        name("p1-in"),
        [(10, RouteMapEntry::default())].into_iter().collect(),
    );
    let l = render_lines(&diff(&a, &b));
    assert_eq!(
        l,
        [
            "route-map p1-in permit 10",
            "no set large-community",
            "no set local-preference",
            "exit",
        ]
    );
    let mut c = sample();
    let deny = RouteMapEntry {
        deny: true,
        ..RouteMapEntry::default()
    };
    c.policies
        .route_maps
        .insert(name("p1-in"), [(10, deny)].into_iter().collect());
    let l = render_lines(&diff(&a, &c));
    assert_eq!(
        l,
        [
            "no route-map p1-in permit 10",
            "route-map p1-in deny 10",
            "exit"
        ]
    );
}

#[test]
fn maximum_prefix_forms() {
    let w = MaximumPrefix::new(10, None, MaxPrefixAction::Warn).unwrap();
    assert_eq!(w.words(), "10 warning-only");
    let t = MaximumPrefix::new(4_294_967_295, Some(100), MaxPrefixAction::TearDown(None)).unwrap();
    assert_eq!(t.words(), "4294967295 100");
    assert!(MaximumPrefix::new(0, None, MaxPrefixAction::Warn).is_err());
    assert!(MaximumPrefix::new(1, Some(0), MaxPrefixAction::Warn).is_err());
    assert!(MaximumPrefix::new(1, Some(101), MaxPrefixAction::Warn).is_err());
    assert!(MaximumPrefix::new(1, None, MaxPrefixAction::TearDown(Some(0))).is_err());
}

#[test]
fn prefix_entries_follow_bgpd_rules() {
    let p = |s: &str| s.parse::<Prefix>().unwrap();
    // mask length <= ge <= le <= family bits (FRR 8.4 accepts `le 8` on a /8).
    assert!(PrefixEntry::new(Action::Permit, p("10.0.0.0/8"), None, Some(8)).is_ok());
    assert!(PrefixEntry::new(Action::Permit, p("10.0.0.0/8"), Some(8), None).is_ok());
    assert!(PrefixEntry::new(Action::Permit, p("10.0.0.0/8"), Some(16), Some(16)).is_ok());
    assert!(PrefixEntry::new(Action::Permit, p("10.0.0.0/8"), None, Some(7)).is_err());
    assert!(PrefixEntry::new(Action::Permit, p("10.0.0.0/8"), Some(7), None).is_err());
    assert!(PrefixEntry::new(Action::Permit, p("10.0.0.0/8"), Some(20), Some(16)).is_err());
    assert!(PrefixEntry::new(Action::Permit, p("10.0.0.0/8"), None, Some(33)).is_err());
    assert!(PrefixEntry::new(Action::Permit, p("2001:db8::/32"), None, Some(128)).is_ok());
    assert!(PrefixEntry::new(Action::Permit, p("2001:db8::/32"), Some(129), None).is_err());
    // Same prefix and lengths twice: bgpd would ignore the second, so it is refused.
    let dup = PrefixList::new(
        Afi::Ipv4,
        vec![
            entry(Action::Permit, "10.0.0.0/8", None, Some(24)),
            entry(Action::Deny, "10.0.0.0/8", None, Some(24)),
        ],
        Action::Deny,
    );
    assert_eq!(dup, Err(ConfigError::DuplicateEntry { index: 1, first: 0 }));
    // Another family than the list's.
    assert!(PrefixList::new(
        Afi::Ipv6,
        vec![entry(Action::Permit, "10.0.0.0/8", None, None)],
        Action::Deny
    )
    .is_err());
}

#[test]
fn communities_and_names() {
    for ok in [
        "0:0",
        "65535:65535",
        "internet",
        "no-export",
        "local-AS",
        "blackhole",
    ] {
        assert_eq!(ok.parse::<Community>().unwrap().to_string(), ok);
    }
    for bad in [
        "65536:1",
        "1:",
        ":1",
        "1",
        "1:2:3",
        "+1:2",
        "NO-EXPORT",
        "Internet",
        "4259905636",
        "",
    ] {
        assert!(bad.parse::<Community>().is_err(), "{bad:?}");
    }
    assert_eq!(
        "4294967295:0:1"
            .parse::<LargeCommunity>()
            .unwrap()
            .to_string(),
        "4294967295:0:1"
    );
    for bad in ["1:2", "1:2:3:4", "4294967296:0:0", "a:b:c", "1::3"] {
        assert!(bad.parse::<LargeCommunity>().is_err(), "{bad:?}");
    }
    assert!(PolicyName::new("p1-192.0.2.2_in").is_ok());
    for bad in ["", "a b", "a:b", "a\nb", "a?", &"x".repeat(64)] {
        assert!(PolicyName::new(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn validate_catches_dangling_references() {
    let mut c = sample();
    c.policies.route_maps.remove(&name("p1-in"));
    assert!(c.validate().is_err());
    let mut c = sample();
    c.policies.prefix_lists.clear();
    assert!(c.validate().is_err());
    let mut c = sample();
    c.policies.own_routes.clear();
    assert!(c.validate().is_err());
    let mut c = sample();
    if let Some(e) = c
        .policies
        .route_maps
        .get_mut(&name("p1-out"))
        .and_then(|m| m.get_mut(&10))
    {
        e.prepend = Some((Asn::new(65001).unwrap(), 11));
    }
    assert!(c.validate().is_err());
}

#[test]
fn quagga_spells_the_as_path_list_its_way() {
    // Quagga 1.2 has `ip as-path access-list NAME permit REGEX` (no `bgp` keyword, no `seq`);
    // everything else of the policy is spelled alike.
    let c = sample();
    let q = render_lines(&c.commands_for(&crate::flavour::Flavour::QUAGGA));
    assert!(
        q.iter()
            .any(|l| l == "ip as-path access-list own permit ^$"),
        "{q:#?}"
    );
    assert!(!q.iter().any(|l| l.starts_with("bgp as-path")), "{q:#?}");
    assert!(q
        .iter()
        .any(|l| l == "ip prefix-list p1-out seq 5 permit 203.0.113.0/24"));
    let mut without = c.clone();
    without.policies.own_routes.clear();
    let d = render_lines(&crate::config::diff_for(
        &c,
        &without,
        &crate::flavour::Flavour::QUAGGA,
    ));
    assert!(
        d.iter().any(|l| l == "no ip as-path access-list own"),
        "{d:#?}"
    );
}

/// `sample()` with an import entry `deny 5` dropping the paths that match list `bad` (with
/// `regexes`).
fn with_rejection(regexes: &[&str]) -> BgpConfig {
    use crate::config::{AsPathList, AsPathRegex};
    let mut c = sample();
    let list = AsPathList::new(regexes.iter().map(|r| AsPathRegex::new(r).unwrap())).unwrap();
    c.policies.as_path_lists.insert(name("bad"), list);
    let deny = RouteMapEntry {
        deny: true,
        match_as_path: Some(name("bad")),
        ..RouteMapEntry::default()
    };
    if let Some(m) = c.policies.route_maps.get_mut(&name("p1-in")) {
        m.insert(5, deny);
    }
    c
}

#[test]
fn an_as_path_rejection_is_a_deny_entry_before_the_import_entry() {
    use crate::flavour::Flavour;
    let a = sample();
    let b = with_rejection(&["_(6451[2-9])_", "_(65001)_"]);
    b.validate().unwrap();
    let frr = render_lines(&diff(&a, &b));
    assert_eq!(
        frr,
        [
            "bgp as-path access-list bad permit _(6451[2-9])_",
            "bgp as-path access-list bad permit _(65001)_",
            "route-map p1-in deny 5",
            "match as-path bad",
            "exit",
        ]
    );
    // Quagga 1.2: `ip as-path access-list`, the rest alike.
    let q = render_lines(&crate::config::diff_for(&a, &b, &Flavour::QUAGGA));
    assert_eq!(q[0], "ip as-path access-list bad permit _(6451[2-9])_");
    assert_eq!(q[1], "ip as-path access-list bad permit _(65001)_");
    // Quagga does not re-apply the changed import policy itself: the diff ends with the
    // soft clear of the neighbor.
    assert_eq!(q[2..q.len() - 1], frr[2..]);
    assert_eq!(
        q.last().map(String::as_str),
        Flavour::QUAGGA
            .soft_refresh("192.0.2.2".parse().unwrap(), crate::config::Afi::Ipv4)
            .as_deref()
    );
    // Whole bootstraps carry the list before the route-map that matches it.
    let full = render_lines(&b.commands());
    let list = full
        .iter()
        .position(|l| l.starts_with("bgp as-path access-list bad"));
    let entry = full.iter().position(|l| l == "route-map p1-in deny 5");
    assert!(list.unwrap() < entry.unwrap(), "{full:#?}");

    // One entry changed: the new one is added before the old one goes; nothing else moves.
    let c = with_rejection(&["_(6451[2-9])_", "_(65002)_"]);
    assert_eq!(
        render_lines(&diff(&b, &c)),
        [
            "bgp as-path access-list bad permit _(65002)_",
            "no bgp as-path access-list bad permit _(65001)_",
        ]
    );
    assert_eq!(
        render_lines(&crate::config::diff_for(&b, &c, &Flavour::QUAGGA)),
        [
            "ip as-path access-list bad permit _(65002)_",
            "no ip as-path access-list bad permit _(65001)_",
        ]
    );
    // Turned off: the entry goes first, then the list.
    assert_eq!(
        render_lines(&diff(&b, &a)),
        [
            "no route-map p1-in deny 5",
            "no bgp as-path access-list bad"
        ]
    );
    assert!(diff(&b, &b.clone()).is_empty());
}

#[test]
fn as_path_matches_must_name_a_configured_list_and_stay_single() {
    let mut c = with_rejection(&["_(65001)_"]);
    c.policies.as_path_lists.clear();
    assert!(c.validate().is_err());
    let mut c = with_rejection(&["_(65001)_"]);
    if let Some(e) = c
        .policies
        .route_maps
        .get_mut(&name("p1-in"))
        .and_then(|m| m.get_mut(&5))
    {
        e.match_own = Some(name("own"));
    }
    assert!(c.validate().is_err());
    let mut c = with_rejection(&["_(65001)_"]);
    c.policies.own_routes.insert(name("bad"));
    assert!(c.validate().is_err());
}
