//! Property tests of the configuration path: every configuration `check-config` accepts renders
//! to Vty commands bgpd takes as written — the bootstrap, and the diff from any other accepted
//! configuration — and everything else is refused with a key path.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;

use proptest::prelude::*;
use routing::bgpconf::BgpdSettings;
use routing::config::{Config, PortConfig};

/// What bgpd stores for a free-text argument: its words joined by single spaces (the Vty
/// tokenizer splits on whitespace).
fn as_bgpd_stores(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Checks that `port` renders: the typed configuration is consistent, every rendered line is one
/// valid Vty line, and each text value appears in its command exactly as bgpd will store it.
fn assert_renders(port: &PortConfig) -> Result<(), TestCaseError> {
    let settings = BgpdSettings::from(port);
    prop_assert!(settings.config().validate().is_ok());
    let lines = vty::render_lines(&settings.bootstrap());
    for l in &lines {
        prop_assert!(vty::validate_line(l).is_ok(), "{l:?}");
    }
    for p in &port.peers {
        if let Some(d) = &p.description {
            prop_assert_eq!(as_bgpd_stores(d.as_str()), d.as_str());
            let want = format!("neighbor {} description {}", p.address, d.as_str());
            prop_assert!(lines.contains(&want), "{want:?} missing");
        }
        if let Some(pw) = &p.password {
            prop_assert_eq!(as_bgpd_stores(pw.as_str()), pw.as_str());
            prop_assert!(!pw.as_str().contains(' '));
        }
        let t = p.timers;
        let timers = format!(
            "neighbor {} timers {} {}",
            p.address,
            t.keepalive(),
            t.hold()
        );
        prop_assert_eq!(
            lines.contains(&timers),
            t != vty::config::Timers::BGPD_DEFAULT,
            "{}",
            timers
        );
        // Every peer has its export route-map; routes learned from other peers only with
        // `transit`.
        let out = format!(
            "neighbor {} route-map {} out",
            p.address, p.policy.names.export
        );
        prop_assert!(lines.contains(&out), "{out:?} missing");
        let own = format!("match as-path {}", p.policy.names.own_routes);
        if !p.policy.export.transit {
            prop_assert!(lines.contains(&own), "{own:?} missing");
        }
        // `reject_as`: a deny entry first in the import route-map, matching the peer's list.
        let names = &p.policy.names;
        let reject = format!("route-map {} deny 5", names.import);
        prop_assert_eq!(
            lines.contains(&reject),
            !p.policy.import.reject_as.is_empty(),
            "{}",
            reject
        );
        if !p.policy.import.reject_as.is_empty() {
            let list = format!("bgp as-path access-list {} permit ", names.import);
            let n = lines.iter().filter(|l| l.starts_with(&list)).count();
            prop_assert_eq!(n, p.policy.import.reject_as.len());
            let m = format!("match as-path {}", names.import);
            prop_assert!(lines.contains(&m), "{:?} missing", m);
        }
        let passive = format!("neighbor {} passive", p.address);
        prop_assert_eq!(lines.contains(&passive), p.passive, "{}", passive);
        let max = format!("neighbor {} maximum-prefix ", p.address);
        prop_assert_eq!(
            lines.iter().any(|l| l.starts_with(&max)),
            p.policy.maximum_prefix.is_some()
        );
    }
    Ok(())
}

/// One peer's keys, as values of any shape (valid or not).
#[derive(Debug, Clone)]
struct RawPeer {
    v6: bool,
    host: u8,
    remote_as: i64,
    keepalive: Option<i64>,
    hold_time: Option<i64>,
    connect_retry: Option<i64>,
    password: Option<String>,
    description: Option<String>,
    multihop: Option<i64>,
    shutdown: bool,
    passive: bool,
    policy: RawPolicy,
}

/// One prefix-filter entry: permit?, (third octet or IPv6 group, length offset), ge, le.
type RawEntry = (bool, (u8, u8), Option<i64>, Option<i64>);

/// A peer's `import`, `export` and `maximum_prefix` tables, as values of any shape.
#[derive(Debug, Clone, Default)]
struct RawPolicy {
    transit: bool,
    export: Vec<RawEntry>,
    import: Vec<RawEntry>,
    default_permit: Option<String>,
    med: Option<i64>,
    local_preference: Option<i64>,
    communities: Vec<String>,
    large_communities: Vec<String>,
    prepend: Option<i64>,
    max: Option<(i64, Option<i64>, String, Option<i64>)>,
    reject_as: Vec<String>,
}

#[derive(Debug, Clone)]
struct RawPort {
    local_as: i64,
    maximum_paths: Option<i64>,
    keepalive: Option<i64>,
    hold_time: Option<i64>,
    networks: Vec<(bool, u8, u8)>,
    log_file: Option<String>,
    debug: bool,
    peers: Vec<RawPeer>,
}

fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn text_of(p: &RawPort) -> String {
    let mut t = String::from(
        "[controller]\nrun_dir = \"/run/prop\"\n[[port]]\nname = \"p1\"\nuplink = \"eth1\"\n\
         address = \"192.0.2.1/24\"\naddress6 = \"2001:db8::1/64\"\n",
    );
    let _ = writeln!(t, "local_as = {}", p.local_as);
    if let Some(v) = p.maximum_paths {
        let _ = writeln!(t, "maximum_paths = {v}");
    }
    if let Some(v) = p.keepalive {
        let _ = writeln!(t, "keepalive = {v}");
    }
    if let Some(v) = p.hold_time {
        let _ = writeln!(t, "hold_time = {v}");
    }
    if let Some(v) = &p.log_file {
        let _ = writeln!(t, "log_file = {}", toml_string(v));
    }
    let _ = writeln!(t, "debug = {}", p.debug);
    let nets: Vec<String> = p
        .networks
        .iter()
        .map(|(v6, a, len)| {
            if *v6 {
                format!("\"2001:db8:{a:x}::/{}\"", 48 + len % 81)
            } else {
                format!("\"198.51.{a}.0/{}\"", 24 + len % 9)
            }
        })
        .collect();
    let _ = writeln!(t, "networks = [{}]", nets.join(", "));
    for peer in &p.peers {
        t.push_str("[[port.peer]]\n");
        if peer.v6 {
            let _ = writeln!(t, "address = \"2001:db8::{:x}\"", u16::from(peer.host) + 2);
        } else {
            let _ = writeln!(
                t,
                "address = \"192.0.2.{}\"",
                u16::from(peer.host % 250) + 2
            );
        }
        let _ = writeln!(t, "remote_as = {}", peer.remote_as);
        for (k, v) in [
            ("keepalive", peer.keepalive),
            ("hold_time", peer.hold_time),
            ("connect_retry", peer.connect_retry),
            ("multihop", peer.multihop),
        ] {
            if let Some(v) = v {
                let _ = writeln!(t, "{k} = {v}");
            }
        }
        if let Some(s) = &peer.password {
            let _ = writeln!(t, "password = {}", toml_string(s));
        }
        if let Some(s) = &peer.description {
            let _ = writeln!(t, "description = {}", toml_string(s));
        }
        let _ = writeln!(t, "shutdown = {}", peer.shutdown);
        let _ = writeln!(t, "passive = {}", peer.passive);
        policy_text(&mut t, peer.v6, &peer.policy);
    }
    t
}

fn entries_text(v6: bool, entries: &[RawEntry]) -> String {
    let e: Vec<String> = entries
        .iter()
        .map(|(permit, (a, len), ge, le)| {
            let prefix = if v6 {
                format!("2001:db8:{a:x}::/{}", 48 + len % 17)
            } else {
                format!("10.{a}.0.0/{}", 16 + len % 9)
            };
            let mut s = format!(
                "{{ action = \"{}\", prefix = \"{prefix}\"",
                if *permit { "permit" } else { "deny" }
            );
            if let Some(g) = ge {
                let _ = write!(s, ", ge = {g}");
            }
            if let Some(l) = le {
                let _ = write!(s, ", le = {l}");
            }
            s.push_str(" }");
            s
        })
        .collect();
    format!("prefixes = [{}]\n", e.join(", "))
}

fn list_text(key: &str, v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|s| toml_string(s)).collect();
    format!("{key} = [{}]\n", items.join(", "))
}

fn policy_text(t: &mut String, v6: bool, p: &RawPolicy) {
    t.push_str("[port.peer.export]\n");
    let _ = writeln!(t, "transit = {}", p.transit);
    if !p.export.is_empty() {
        t.push_str(&entries_text(v6, &p.export));
    }
    if let Some(d) = &p.default_permit {
        let _ = writeln!(t, "default = {}", toml_string(d));
    }
    if let Some(v) = p.med {
        let _ = writeln!(t, "med = {v}");
    }
    if let Some(v) = p.prepend {
        let _ = writeln!(t, "prepend = {v}");
    }
    t.push_str(&list_text("communities", &p.communities));
    t.push_str(&list_text("large_communities", &p.large_communities));
    t.push_str("[port.peer.import]\n");
    if !p.import.is_empty() {
        t.push_str(&entries_text(v6, &p.import));
    }
    if let Some(v) = p.local_preference {
        let _ = writeln!(t, "local_preference = {v}");
    }
    t.push_str(&list_text("communities", &p.communities));
    t.push_str(&list_text("reject_as", &p.reject_as));
    if let Some((limit, threshold, action, restart)) = &p.max {
        t.push_str("[port.peer.maximum_prefix]\n");
        let _ = writeln!(t, "limit = {limit}");
        if let Some(v) = threshold {
            let _ = writeln!(t, "warning_threshold = {v}");
        }
        let _ = writeln!(t, "action = {}", toml_string(action));
        if let Some(v) = restart {
            let _ = writeln!(t, "restart_minutes = {v}");
        }
    }
}

/// Text values of any shape: printable ASCII with runs of spaces, `?`, quotes, control
/// characters and non-ASCII, short and long.
fn any_text() -> BoxedStrategy<String> {
    prop_oneof![
        "[ -~]{0,90}",
        "[a-z]{1,6}( {1,3}[a-z]{1,6}){0,4} ?",
        "[a-zA-Z0-9 ?\t\n\u{7f}é]{1,12}",
    ]
    .boxed()
}

fn any_seconds() -> BoxedStrategy<i64> {
    prop_oneof![-2i64..=10, 60i64..=200, 65530i64..=65540, any::<i64>()].boxed()
}

/// The valid strategy when `valid`, otherwise mostly valid values with one in four of any
/// shape, so that both accepted and refused configurations come up often.
fn mix<T: std::fmt::Debug + Clone + 'static>(
    valid: bool,
    good: BoxedStrategy<T>,
    weird: BoxedStrategy<T>,
) -> BoxedStrategy<T> {
    if valid {
        good
    } else {
        prop_oneof![3 => good, 1 => weird].boxed()
    }
}

fn opt<T: std::fmt::Debug + Clone + 'static>(s: BoxedStrategy<T>) -> BoxedStrategy<Option<T>> {
    prop::option::of(s).boxed()
}

/// Prefix-filter entries. Valid: `ge`/`le` within the family's range of the entry's prefix
/// length (16–24 for IPv4, 48–64 for IPv6 in [`entries_text`]); otherwise anything.
fn raw_entries(valid: bool) -> BoxedStrategy<Vec<RawEntry>> {
    let entry = (
        any::<bool>(),
        (any::<u8>(), any::<u8>()),
        opt(mix(valid, (64i64..=128).boxed(), (-1i64..=130).boxed())),
        opt(mix(valid, (64i64..=128).boxed(), (-1i64..=130).boxed())),
    );
    prop::collection::vec(entry, 0..4).boxed()
}

fn any_community(valid: bool) -> BoxedStrategy<String> {
    mix(
        valid,
        prop_oneof![
            (any::<u16>(), any::<u16>()).prop_map(|(a, b)| format!("{a}:{b}")),
            Just("no-export".to_string()),
            Just("graceful-shutdown".to_string()),
        ]
        .boxed(),
        prop_oneof![any_text(), "[0-9]{1,6}:[0-9]{1,6}(:[0-9]{1,3})?"].boxed(),
    )
}

fn raw_policy(valid: bool) -> BoxedStrategy<RawPolicy> {
    (
        any::<bool>(),
        raw_entries(valid),
        raw_entries(valid),
        opt(mix(
            valid,
            prop_oneof![Just("permit".to_string()), Just("deny".to_string())].boxed(),
            any_text(),
        )),
        opt(mix(
            valid,
            (0i64..=4_294_967_295).boxed(),
            any::<i64>().boxed(),
        )),
        opt(mix(
            valid,
            (0i64..=4_294_967_295).boxed(),
            any::<i64>().boxed(),
        )),
        prop::collection::vec(any_community(valid), 0..3),
        prop::collection::vec(
            mix(
                valid,
                (any::<u32>(), any::<u32>(), any::<u32>())
                    .prop_map(|(a, b, c)| format!("{a}:{b}:{c}"))
                    .boxed(),
                any_text(),
            ),
            0..3,
        ),
        opt(mix(valid, (1i64..=10).boxed(), (-1i64..=12).boxed())),
        opt((
            mix(valid, (1i64..=4_294_967_295).boxed(), (-1i64..=2).boxed()),
            opt(mix(valid, (1i64..=100).boxed(), (-1i64..=101).boxed())),
            mix(
                valid,
                Just("teardown".to_string()).boxed(),
                prop_oneof![Just("warn".to_string()), any_text()].boxed(),
            ),
            opt(mix(valid, (1i64..=65535).boxed(), (-1i64..=65536).boxed())),
        )
            .boxed()),
        mix(
            valid,
            prop::sample::subsequence(vec!["private".to_string(), "reserved".to_string()], 0..=2)
                .boxed(),
            prop::collection::vec(
                prop_oneof![
                    Just("private".to_string()),
                    Just("reserved".to_string()),
                    Just("own".to_string()),
                    any_text(),
                ],
                0..3,
            )
            .boxed(),
        ),
    )
        .prop_map(
            |(
                transit,
                export,
                import,
                default_permit,
                med,
                lp,
                communities,
                large,
                prepend,
                max,
                reject_as,
            )| {
                RawPolicy {
                    transit,
                    export,
                    import,
                    default_permit,
                    med,
                    local_preference: lp,
                    communities,
                    large_communities: large,
                    prepend,
                    max,
                    reject_as,
                }
            },
        )
        .boxed()
}

fn raw_peer(valid: bool) -> BoxedStrategy<RawPeer> {
    (
        any::<bool>(),
        any::<u8>(),
        mix(
            valid,
            (1i64..=4_294_967_295).boxed(),
            prop_oneof![-1i64..=2, 4_294_967_290i64..=4_294_967_300].boxed(),
        ),
        opt(mix(valid, (0i64..=65535).boxed(), any_seconds())),
        opt(mix(
            valid,
            prop_oneof![Just(0i64), 3i64..=65535].boxed(),
            any_seconds(),
        )),
        opt(mix(valid, (1i64..=65535).boxed(), any_seconds())),
        opt(mix(valid, "[!-~&&[^?]]{1,80}".boxed(), any_text())),
        opt(mix(
            valid,
            "[!-~&&[^?]]{1,15}( [!-~&&[^?]]{1,15}){0,4}".boxed(),
            any_text(),
        )),
        opt(mix(valid, (1i64..=255).boxed(), (-1i64..=300).boxed())),
        (
            any::<bool>(),
            any::<bool>(),
            // A policy has many keys: mostly valid ones in the mixed property, so that
            // accepted configurations still come up often.
            mix(valid, raw_policy(true), raw_policy(false)),
        ),
    )
        .prop_map(
            |(v6, host, remote_as, ka, hold, cr, pw, desc, mh, (shutdown, passive, policy))| {
                RawPeer {
                    v6,
                    host,
                    remote_as,
                    keepalive: ka,
                    hold_time: hold,
                    connect_retry: cr,
                    password: pw,
                    description: desc,
                    multihop: mh,
                    shutdown,
                    passive,
                    policy,
                }
            },
        )
        .boxed()
}

fn raw_port(valid: bool) -> BoxedStrategy<RawPort> {
    (
        mix(
            valid,
            (1i64..=4_294_967_295).boxed(),
            prop_oneof![-1i64..=2, any::<i64>()].boxed(),
        ),
        opt(mix(valid, (1i64..=256).boxed(), (-1i64..=300).boxed())),
        opt(mix(valid, (0i64..=65535).boxed(), any_seconds())),
        opt(mix(
            valid,
            prop_oneof![Just(0i64), 3i64..=65535].boxed(),
            any_seconds(),
        )),
        prop::collection::vec((any::<bool>(), any::<u8>(), any::<u8>()), 0..4),
        opt(mix(valid, "/[a-zA-Z0-9._/-]{1,60}".boxed(), any_text())),
        any::<bool>(),
        prop::collection::vec(raw_peer(valid), 1..4),
    )
        .prop_map(
            |(local_as, maximum_paths, keepalive, hold_time, networks, log_file, debug, peers)| {
                RawPort {
                    local_as,
                    maximum_paths,
                    keepalive,
                    hold_time,
                    networks,
                    log_file,
                    debug,
                    peers,
                }
            },
        )
        .boxed()
}

/// Removes what a generated configuration may hold twice by chance (the same peer address or
/// network), which validation rightly refuses; the valid-domain property is about values.
fn dedup(mut p: RawPort) -> RawPort {
    let mut seen = std::collections::BTreeSet::new();
    p.peers.retain(|q| seen.insert((q.v6, q.host % 250)));
    for q in &mut p.peers {
        let v6 = q.v6;
        let pol = &mut q.policy;
        for entries in [&mut pol.export, &mut pol.import] {
            let mut keys = std::collections::BTreeSet::new();
            entries.retain(|(_, (a, len), ge, le)| {
                keys.insert((*a, *len % if v6 { 17 } else { 9 }, *ge, *le))
            });
            // Valid lengths for the family: IPv4 prefixes are /16–/24 and IPv6 /48–/64; the
            // generator's 64–128 is scaled into prefix length..=bits, ge <= le.
            for (_, (_, len), ge, le) in entries.iter_mut() {
                let (plen, bits) = if v6 {
                    (48 + i64::from(*len % 17), 128)
                } else {
                    (16 + i64::from(*len % 9), 32)
                };
                let scale = |v: i64| plen + (v.clamp(64, 128) - 64) * (bits - plen) / 64;
                if (64..=128).contains(&ge.unwrap_or(64)) && (64..=128).contains(&le.unwrap_or(64))
                {
                    *ge = ge.map(scale);
                    *le = le.map(scale);
                    if let (Some(g), Some(l)) = (*ge, *le) {
                        if g > l {
                            *ge = Some(l);
                            *le = Some(g);
                        }
                    }
                }
            }
        }
        let mut c = std::collections::BTreeSet::new();
        pol.communities.retain(|x| c.insert(x.clone()));
        let mut c = std::collections::BTreeSet::new();
        pol.large_communities.retain(|x| c.insert(x.clone()));
    }
    let mut nets = std::collections::BTreeSet::new();
    p.networks.retain(|(v6, a, len)| {
        let len = if *v6 { 48 + len % 81 } else { 24 + len % 9 };
        nets.insert((*v6, *a, len))
    });
    // Host bits: a /25 and longer of 198.51.a.0 is still a network address; an IPv6 /48 and
    // longer of 2001:db8:a:: too.
    p
}

thread_local! {
    /// (accepted, refused) configurations of the mixed property, to check both come up.
    static OUTCOMES: std::cell::RefCell<(u32, u32)> = const { std::cell::RefCell::new((0, 0)) };
}

#[test]
fn the_mixed_property_sees_both_accepted_and_refused_configurations() {
    OUTCOMES.with(|o| *o.borrow_mut() = (0, 0));
    whatever_validation_accepts_renders_and_the_rest_names_its_key();
    let (ok, refused) = OUTCOMES.with(|o| *o.borrow());
    assert!(
        ok >= 20 && refused >= 20,
        "accepted {ok}, refused {refused}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Values from the full ranges of RFC 4271 and bgpd are accepted and render, bootstrap and
    /// diff (in both directions) alike.
    #[test]
    fn every_valid_configuration_is_accepted_and_renders(
        a in raw_port(true).prop_map(dedup),
        b in raw_port(true).prop_map(dedup),
    ) {
        let ca = Config::parse(&text_of(&a));
        prop_assert!(ca.is_ok(), "{:?}\n{}", ca.err(), text_of(&a));
        let cb = Config::parse(&text_of(&b));
        prop_assert!(cb.is_ok(), "{:?}\n{}", cb.err(), text_of(&b));
        let (ca, cb) = (ca.unwrap(), cb.unwrap());
        assert_renders(&ca.ports[0])?;
        assert_renders(&cb.ports[0])?;
        let (sa, sb) = (BgpdSettings::from(&ca.ports[0]), BgpdSettings::from(&cb.ports[0]));
        for d in [sa.diff(&sb), sb.diff(&sa)] {
            for l in vty::render_lines(&d) {
                prop_assert!(vty::validate_line(&l).is_ok(), "{l:?}");
            }
        }
        prop_assert!(sa.diff(&sa).is_empty());
    }

    /// Whatever validation accepts, out of values of any shape, renders; whatever it refuses
    /// is refused with a key path into the file.
    #[test]
    fn whatever_validation_accepts_renders_and_the_rest_names_its_key(
        a in raw_port(false).prop_map(dedup),
        b in raw_port(true).prop_map(dedup),
    ) {
        let parsed = Config::parse(&text_of(&a));
        OUTCOMES.with(|o| {
            let mut o = o.borrow_mut();
            if parsed.is_ok() { o.0 += 1 } else { o.1 += 1 }
        });
        match parsed {
            Ok(ca) => {
                assert_renders(&ca.ports[0])?;
                let cb = Config::parse(&text_of(&b)).unwrap();
                let (sa, sb) = (BgpdSettings::from(&ca.ports[0]), BgpdSettings::from(&cb.ports[0]));
                for d in [sa.diff(&sb), sb.diff(&sa)] {
                    for l in vty::render_lines(&d) {
                        prop_assert!(vty::validate_line(&l).is_ok(), "{l:?}");
                    }
                }
            }
            Err(e) => {
                for problem in e.problems() {
                    prop_assert!(problem.path.starts_with("port[0]"), "{problem}");
                }
            }
        }
    }
}
