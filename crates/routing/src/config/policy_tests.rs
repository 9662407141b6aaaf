#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::super::{Config, ConfigError};
use vty::config::{Action, MaxPrefixAction, Prefix};

const PORT: &str = r#"
[controller]
run_dir = "/tmp/mbgp-test"
[[port]]
name = "p1"
uplink = "eth1"
address = "192.0.2.1/24"
address6 = "2001:db8::1/64"
local_as = 65001
networks = ["203.0.113.0/24", "2001:db8:100::/48"]
[[port.peer]]
address = "192.0.2.2"
remote_as = 65002
"#;

fn problems(extra: &str) -> Vec<ConfigError> {
    Config::parse(&format!("{PORT}{extra}"))
        .unwrap_err()
        .problems()
}

fn paths(extra: &str) -> Vec<String> {
    problems(extra).into_iter().map(|p| p.path).collect()
}

#[test]
fn defaults_export_only_own_routes_and_import_everything() {
    let c = Config::parse(PORT).unwrap();
    let p = &c.ports[0].peers[0].policy;
    assert!(!p.export.transit);
    assert!(p.export.filter.is_none() && p.import.is_empty());
    assert_eq!(p.maximum_prefix, None);
    assert_eq!(p.names.export.as_str(), "mnb-p1-192.0.2.2-out");
    assert_eq!(p.names.import.as_str(), "mnb-p1-192.0.2.2-in");
    assert_eq!(p.names.own_routes.as_str(), "mnb-p1-own");
}

#[test]
fn a_full_policy_is_accepted() {
    let c = Config::parse(&format!(
        "{PORT}[port.peer.import]\nprefixes = [{{ action = \"deny\", prefix = \"0.0.0.0/0\" }}, \
         {{ action = \"permit\", prefix = \"198.51.100.0/24\", ge = 24, le = 32 }}]\n\
         default = \"permit\"\nlocal_preference = 50\ncommunities = [\"65001:1\", \"no-export\"]\n\
         large_communities = [\"65001:1:2\"]\nreplace_communities = true\n\
         [port.peer.export]\ntransit = true\nmed = 10\nprepend = 3\n\
         prefixes = [{{ action = \"permit\", prefix = \"203.0.113.0/24\" }}]\n\
         [port.peer.maximum_prefix]\nlimit = 1000\nwarning_threshold = 80\naction = \"teardown\"\n\
         restart_minutes = 30\n"
    ))
    .unwrap();
    let p = &c.ports[0].peers[0].policy;
    let f = p.import.filter.as_ref().unwrap();
    assert_eq!(f.entries().len(), 2);
    assert_eq!(f.default_action(), Action::Permit);
    assert_eq!(p.import.local_preference, Some(50));
    assert!(p.import.replace_communities);
    assert_eq!(p.export.med, Some(10));
    assert_eq!(p.export.prepend, Some(3));
    let m = p.maximum_prefix.unwrap();
    assert_eq!((m.limit(), m.threshold()), (1000, Some(80)));
    assert_eq!(m.action(), MaxPrefixAction::TearDown(Some(30)));
    // The pure question an announcement asks: only 203.0.113.0/24 may be sent.
    let pre = |s: &str| s.parse::<Prefix>().unwrap();
    assert!(p.export.allows_local(pre("203.0.113.0/24")));
    assert!(!p.export.allows_local(pre("203.0.113.0/25")));
    assert!(!p.export.allows_local(pre("198.51.100.0/24")));
    let peer: std::net::IpAddr = "192.0.2.2".parse().unwrap();
    assert_eq!(c.ports[0].exported_to(pre("203.0.113.0/24")), [peer]);
    assert!(c.ports[0].exported_to(pre("198.51.100.0/24")).is_empty());
    // No IPv6 peer: an IPv6 announcement would reach nobody.
    assert!(c.ports[0].exported_to(pre("2001:db8:100::/48")).is_empty());
    // The import filter in bgpd's order: the default route is denied, more specifics of
    // 198.51.100.0/24 up to /32 permitted, the rest by the default.
    assert!(!f.permits(pre("0.0.0.0/0")));
    assert!(f.permits(pre("198.51.100.128/25")));
    assert!(f.permits(pre("192.0.2.0/24")));
}

#[test]
fn every_bad_value_is_reported_under_its_key() {
    let got = paths(
        "[port.peer.import]\nprefixes = [{ action = \"allow\", prefix = \"198.51.100.0/24\" }, \
         { action = \"permit\", prefix = \"198.51.100.1/24\" }, \
         { action = \"permit\", prefix = \"198.51.100.0/24\", le = 16 }, \
         { action = \"permit\", prefix = \"198.51.100.0/24\", ge = 28, le = 26 }, \
         { action = \"permit\", prefix = \"2001:db8::/32\" }, \
         { prefix = \"198.51.100.0/24\" }]\n\
         default = \"maybe\"\nlocal_preference = -1\ncommunities = [\"65536:1\", \"100\"]\n\
         large_communities = [\"1:2\"]\n\
         [port.peer.export]\nprepend = 11\nmed = 4294967296\ncommunities = [\"1:1\", \"1:1\"]\n\
         [port.peer.maximum_prefix]\nlimit = 0\nwarning_threshold = 101\naction = \"drop\"\n\
         restart_minutes = 0\n",
    );
    let want = [
        "port[0].peer[0].import.default",
        "port[0].peer[0].import.prefixes[0].action",
        "port[0].peer[0].import.prefixes[1].prefix",
        "port[0].peer[0].import.prefixes[2].le",
        "port[0].peer[0].import.prefixes[3].le",
        "port[0].peer[0].import.prefixes[4].prefix",
        "port[0].peer[0].import.prefixes[5].action",
        "port[0].peer[0].import.local_preference",
        "port[0].peer[0].import.communities[0]",
        "port[0].peer[0].import.communities[1]",
        "port[0].peer[0].import.large_communities[0]",
        "port[0].peer[0].export.med",
        "port[0].peer[0].export.communities[1]",
        "port[0].peer[0].export.prepend",
        "port[0].peer[0].maximum_prefix.limit",
        "port[0].peer[0].maximum_prefix.warning_threshold",
        "port[0].peer[0].maximum_prefix.restart_minutes",
        "port[0].peer[0].maximum_prefix.action",
    ];
    assert_eq!(got, want);
}

#[test]
fn duplicates_and_contradictions_are_refused() {
    let e = problems(
        "[port.peer.export]\nprefixes = [{ action = \"permit\", prefix = \"203.0.113.0/24\" }, \
         { action = \"deny\", prefix = \"203.0.113.0/24\" }]\n",
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].path, "port[0].peer[0].export.prefixes[1]");
    assert!(e[0].reason.contains("prefixes[0]"), "{e:?}");
    let e =
        problems("[port.peer.maximum_prefix]\nlimit = 5\naction = \"warn\"\nrestart_minutes = 1\n");
    assert_eq!(e[0].path, "port[0].peer[0].maximum_prefix.restart_minutes");
    let e = problems("[port.peer.import]\nreplace_communities = true\n");
    assert_eq!(e[0].path, "port[0].peer[0].import.replace_communities");
    let e = problems("[port.peer.maximum_prefix]\nwarning_threshold = 5\n");
    assert_eq!(e[0].path, "port[0].peer[0].maximum_prefix.limit");
    // Unknown keys are syntax errors.
    assert!(Config::parse(&format!("{PORT}[port.peer.export]\ntransitt = true\n")).is_err());
}

#[test]
fn reject_as_takes_classes_once_each_and_explains_own() {
    use super::AsClass;
    let c = Config::parse(&format!(
        "{PORT}[port.peer.import]\nreject_as = [\"reserved\", \"private\"]\n"
    ))
    .unwrap();
    let i = &c.ports[0].peers[0].policy.import;
    assert!(!i.is_empty());
    assert_eq!(
        i.reject_as.iter().copied().collect::<Vec<_>>(),
        [AsClass::Private, AsClass::Reserved]
    );
    // Off by default (the issue's "if asked"; RFC 7938 fabrics use private ASes throughout).
    let c = Config::parse(PORT).unwrap();
    assert!(c.ports[0].peers[0].policy.import.reject_as.is_empty());

    let e = problems(
        "[port.peer.import]\nreject_as = [\"private\", \"bogus\", \"own\", \"private\"]\n",
    );
    let got: Vec<(&str, &str)> = e
        .iter()
        .map(|p| (p.path.as_str(), p.reason.as_str()))
        .collect();
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0].0, "port[0].peer[0].import.reject_as[1]");
    assert!(
        got[0].1.contains("is not \"private\" or \"reserved\""),
        "{got:?}"
    );
    assert_eq!(got[1].0, "port[0].peer[0].import.reject_as[2]");
    assert!(got[1].1.contains("loop detection"), "{got:?}");
    assert_eq!(got[2].0, "port[0].peer[0].import.reject_as[3]");
    assert!(got[2].1.contains("listed twice"), "{got:?}");
    // A wrong type is a syntax error, not silently ignored.
    assert!(Config::parse(&format!(
        "{PORT}[port.peer.import]\nreject_as = \"private\"\n"
    ))
    .is_err());
}

#[test]
fn as_classes_are_the_rfc_ranges() {
    use super::AsClass;
    let private = AsClass::Private;
    for a in [64512, 65000, 65534, 4_200_000_000, 4_294_967_294] {
        assert!(private.contains(a), "{a}");
    }
    for a in [64511, 65535, 4_199_999_999, 4_294_967_295, 3356] {
        assert!(!private.contains(a), "{a}");
    }
    let reserved = AsClass::Reserved;
    for a in [
        0,
        23456,
        64496,
        64511,
        65535,
        65536,
        65551,
        65552,
        131_071,
        4_294_967_295,
    ] {
        assert!(reserved.contains(a), "{a}");
    }
    for a in [1, 23455, 23457, 64495, 64512, 131_072, 4_294_967_294] {
        assert!(!reserved.contains(a), "{a}");
    }
    // The classes do not overlap.
    for r in AsClass::Reserved.ranges() {
        assert!(!private.contains(*r.start()) && !private.contains(*r.end()));
    }
}

mod rejected_paths {
    use super::super::{AsClass, ImportPolicy};
    use proptest::prelude::*;

    /// An AS-path expression as bgpd compiles it (`_` is `(^|[,{}() ]|$)`, bgp_regex.c).
    fn compiled(r: &vty::config::AsPathRegex) -> regex::Regex {
        regex::Regex::new(&r.as_str().replace('_', "(^|[,{}() ]|$)")).unwrap()
    }

    fn policy(classes: &[AsClass]) -> ImportPolicy {
        ImportPolicy {
            reject_as: classes.iter().copied().collect(),
            ..ImportPolicy::default()
        }
    }

    /// AS numbers near the edges of every class, and anything else.
    fn any_as() -> BoxedStrategy<u32> {
        let mut edges: Vec<u32> = Vec::new();
        for c in AsClass::ALL {
            for r in c.ranges() {
                for e in [*r.start(), *r.end()] {
                    edges.extend([e.saturating_sub(1), e, e.saturating_add(1)]);
                }
            }
        }
        prop_oneof![prop::sample::select(edges), any::<u32>(), 1u32..400_000].boxed()
    }

    #[test]
    fn nothing_to_reject_renders_no_list() {
        assert!(policy(&[]).rejected_paths(65002).is_none());
        let l = policy(&AsClass::ALL).rejected_paths(65002).unwrap();
        assert_eq!(l.regexes().count(), 2);
    }

    proptest! {
        /// The rendered list (one expression per class, as bgpd matches it against the path
        /// text) drops exactly the paths `rejects_path` names: an AS of a class anywhere, in an
        /// AS_SET too, except the peer's own AS.
        #[test]
        fn the_rendered_list_matches_exactly_the_rejected_paths(
            private in any::<bool>(),
            reserved in any::<bool>(),
            peer_as in any_as(),
            path in prop::collection::vec(any_as(), 0..6),
            set in prop::collection::vec(any_as(), 0..3),
        ) {
            let classes: Vec<AsClass> = [(private, AsClass::Private), (reserved, AsClass::Reserved)]
                .iter().filter(|(on, _)| *on).map(|(_, c)| *c).collect();
            let p = policy(&classes);
            // The peer's AS first (as bgpd receives it from an eBGP peer), then the rest.
            let mut ases = vec![peer_as];
            ases.extend(&path);
            let mut text = ases.iter().map(u32::to_string).collect::<Vec<_>>().join(" ");
            if !set.is_empty() {
                let s = set.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
                text.push_str(&format!(" {{{s}}}"));
                ases.extend(&set);
            }
            let want = p.rejects_path(peer_as, &ases);
            match p.rejected_paths(peer_as) {
                None => prop_assert!(!want && classes.is_empty()),
                Some(list) => {
                    let got = list.regexes().any(|r| compiled(r).is_match(&text));
                    prop_assert_eq!(got, want, "{} from AS {}", text, peer_as);
                }
            }
        }
    }
}
