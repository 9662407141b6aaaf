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
