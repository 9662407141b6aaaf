#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

const GOOD: &str = r#"
[controller]
run_dir = "/tmp/mbgp-test"

[[port]]
name = "uplink1"
uplink = "eth1"
address = "192.0.2.1/24"
address6 = "2001:db8::1/64"
mac = "02:00:00:00:00:01"
local_as = 65001
networks = ["203.0.113.0/24", "2001:db8:100::/48"]
[[port.peer]]
address = "192.0.2.2"
remote_as = 65002
keepalive = 10
hold_time = 30
password = "s3cret"
description = "provider A"
[[port.peer]]
address = "2001:db8::2"
remote_as = 65002
"#;

fn timers(p: &PeerConfig) -> (u16, u16, u16) {
    (p.timers.keepalive(), p.timers.hold(), p.connect_retry.get())
}

fn problems(text: &str) -> Vec<ConfigError> {
    Config::parse(text).unwrap_err().problems()
}

fn has(errs: &[ConfigError], path: &str, needle: &str) -> bool {
    errs.iter()
        .any(|e| e.path == path && e.reason.contains(needle))
}

#[test]
fn good_config_parses_with_defaults() {
    let c = Config::parse(GOOD).unwrap();
    assert_eq!(c.controller.run_dir, PathBuf::from("/tmp/mbgp-test"));
    assert_eq!(
        c.controller.control_socket,
        PathBuf::from("/tmp/mbgp-test/control.sock")
    );
    assert_eq!(c.controller.vty_port, 2605);
    let p = &c.ports[0];
    assert_eq!(p.ifname, "mnb-uplink1");
    assert_eq!(p.router_id, Ipv4Addr::new(192, 0, 2, 1));
    assert_eq!(p.mac.unwrap().to_string(), "02:00:00:00:00:01");
    assert_eq!(p.networks.len(), 2);
    assert_eq!(p.maximum_paths.get(), DEFAULT_MAXIMUM_PATHS);
    assert_eq!(p.log_file.as_str(), "/tmp/mbgp-test/bgpd-uplink1.log");
    let a = &p.peers[0];
    assert_eq!(timers(a), (10, 30, 120));
    assert_eq!(a.password.as_ref().unwrap().as_str(), "s3cret");
    assert_eq!(a.description.as_ref().unwrap().as_str(), "provider A");
    let b = &p.peers[1];
    assert_eq!(timers(b), (60, 180, 120));
    assert!(b.address.is_ipv6());
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn defaults_section_and_port_timers_cascade() {
    let text = GOOD.replace(
        "[controller]",
        "[defaults]\nkeepalive = 20\nhold_time = 0\nconnect_retry = 7\n[controller]",
    );
    let c = Config::parse(&text).unwrap();
    let b = &c.ports[0].peers[1];
    assert_eq!(timers(b), (20, 0, 7));
}

#[test]
fn timers_take_the_ranges_of_rfc_4271_and_bgpd() {
    // FRR's datacenter profile (issue #13): keepalive 3, hold 9, connect retry 2.
    let dc = GOOD
        .replace("keepalive = 10", "keepalive = 3")
        .replace("hold_time = 30", "hold_time = 9\nconnect_retry = 2");
    let c = Config::parse(&dc).unwrap();
    assert_eq!(timers(&c.ports[0].peers[0]), (3, 9, 2));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    for (ka, hold, cr) in [(0, 0, 1), (0, 3, 65535), (1, 3, 1), (21845, 65535, 65535)] {
        let text = GOOD
            .replace("keepalive = 10", &format!("keepalive = {ka}"))
            .replace(
                "hold_time = 30",
                &format!("hold_time = {hold}\nconnect_retry = {cr}"),
            );
        let c = Config::parse(&text).unwrap_or_else(|e| panic!("{ka}/{hold}/{cr}: {e}"));
        assert_eq!(timers(&c.ports[0].peers[0]), (ka, hold, cr));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }
}

#[test]
fn one_wrong_timer_gives_one_error_under_its_own_key() {
    for (set, key, needle) in [
        ("keepalive = 70000", "keepalive", "70000 is outside 0–65535"),
        ("keepalive = -1", "keepalive", "-1 is outside 0–65535"),
        ("hold_time = 2", "hold_time", "hold time 2 s must be 0"),
        ("hold_time = 1", "hold_time", "hold time 1 s must be 0"),
        ("hold_time = 65536", "hold_time", "65536 is outside 0–65535"),
        ("connect_retry = 0", "connect_retry", "outside 1..=65535"),
        ("connect_retry = 99999", "connect_retry", "outside 0–65535"),
    ] {
        let (field, _) = set.split_once(" = ").unwrap();
        let text = GOOD
            .replace("keepalive = 10\n", "")
            .replace("hold_time = 30\n", "")
            .replacen(
                "remote_as = 65002\n",
                &format!("remote_as = 65002\n{set}\n"),
                1,
            );
        assert!(text.contains(set), "{text}");
        assert_eq!(field, key);
        let e = problems(&text);
        assert_eq!(e.len(), 1, "{set}: {e:#?}");
        assert!(
            has(&e, &format!("port[0].peer[0].{key}"), needle),
            "{set}: {e:#?}"
        );
    }
    // A wrong keepalive next to a short hold time: still only the keepalive's error.
    let text = GOOD
        .replace("keepalive = 10", "keepalive = 70000")
        .replace("hold_time = 30", "hold_time = 9");
    let e = problems(&text);
    assert_eq!(e.len(), 1, "{e:#?}");
    // In `[defaults]` and on a port, the key path says where.
    let text = GOOD.replace("[controller]", "[defaults]\nhold_time = 2\n[controller]");
    let e = problems(&text);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(has(&e, "defaults.hold_time", "must be 0"), "{e:#?}");
    let text = GOOD.replace("local_as = 65001", "local_as = 65001\nconnect_retry = 0");
    let e = problems(&text);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(has(&e, "port[0].connect_retry", "outside"), "{e:#?}");
}

#[test]
fn a_keepalive_bgpd_will_lower_is_a_warning_not_an_error() {
    // bgpd accepts `timers 60 9` and sends keepalives every 3 s (a third of the hold time).
    let text = GOOD
        .replace("keepalive = 10\n", "")
        .replace("hold_time = 30", "hold_time = 9");
    let c = Config::parse(&text).unwrap();
    assert_eq!(timers(&c.ports[0].peers[0]), (60, 9, 120));
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    let w = &c.warnings[0];
    assert_eq!(w.path, "port[0].peer[0].hold_time");
    assert!(w.reason.contains("every 3 s"), "{w}");
    let text = GOOD.replace("keepalive = 10", "keepalive = 11");
    let c = Config::parse(&text).unwrap();
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert_eq!(c.warnings[0].path, "port[0].peer[0].keepalive");
    // Set once in `[defaults]`, warned once there, not again for every peer inheriting it.
    let text = GOOD
        .replace("keepalive = 10\n", "")
        .replace("hold_time = 30\n", "")
        .replace(
            "[controller]",
            "[defaults]\nkeepalive = 30\nhold_time = 0\n[controller]",
        );
    let c = Config::parse(&text).unwrap();
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert_eq!(c.warnings[0].path, "defaults.keepalive");
    assert!(
        c.warnings[0].reason.contains("no keepalives"),
        "{}",
        c.warnings[0]
    );
}

#[test]
fn a_description_with_two_inner_spaces_is_a_check_config_error() {
    // It used to pass validation and then fail rendering, leaving bgpd unconfigured.
    let text = GOOD.replace("provider A", "provider  A");
    let e = problems(&text);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(
        has(&e, "port[0].peer[0].description", "repeated spaces"),
        "{e:#?}"
    );
    for bad in [" lead", "trail "] {
        let e = problems(&GOOD.replace("provider A", bad));
        assert!(has(&e, "port[0].peer[0].description", "spaces"), "{e:#?}");
    }
}

#[test]
fn injection_attempts_are_rejected_in_every_vty_string() {
    for (field, bad) in [
        ("password", "a\\nrouter bgp 1"),
        ("password", "two words"),
        ("password", "what?"),
        ("description", "x\\n no router bgp 65001"),
        ("description", "help?"),
        ("description", "bell\\u0007"),
        ("description", "tab\\tcomplete"),
    ] {
        let text = GOOD.replace(
            "password = \"s3cret\"\ndescription = \"provider A\"",
            &format!("{field} = \"{bad}\""),
        );
        let e = problems(&text);
        assert!(
            e.iter()
                .any(|e| e.path == format!("port[0].peer[0].{field}")),
            "{field}={bad}: {e:?}"
        );
    }
    let long = "x".repeat(81);
    let text = GOOD.replace("provider A", &long);
    assert!(has(
        &problems(&text),
        "port[0].peer[0].description",
        "length 81 is outside 1..=80"
    ));
    // A password is never echoed in an error.
    let text = GOOD.replace("s3cret", "s3cret two");
    let e = problems(&text);
    assert!(has(&e, "port[0].peer[0].password", "' '"), "{e:?}");
    assert!(!format!("{e:?}").contains("s3cret"), "{e:?}");
    let text = GOOD.replace("run_dir = \"/tmp/mbgp-test\"", "run_dir = \"/tmp/a\\nb\"");
    assert!(has(&problems(&text), "controller.run_dir", "forbidden"));
}

#[test]
fn peer_outside_subnet_needs_multihop() {
    let text = GOOD.replace("address = \"192.0.2.2\"", "address = \"198.51.100.9\"");
    let e = problems(&text);
    assert!(
        has(
            &e,
            "port[0].peer[0].address",
            "outside the port's subnet 192.0.2.1/24"
        ),
        "{e:?}"
    );
    let ok = text.replace("keepalive = 10", "keepalive = 10\nmultihop = true");
    let c = Config::parse(&ok).unwrap();
    assert_eq!(c.ports[0].peers[0].multihop.map(Multihop::get), Some(255));
    let ttl = text.replace("keepalive = 10", "keepalive = 10\nmultihop = 3");
    assert_eq!(
        Config::parse(&ttl).unwrap().ports[0].peers[0]
            .multihop
            .map(Multihop::get),
        Some(3)
    );
    let bad = text.replace("keepalive = 10", "keepalive = 10\nmultihop = 300");
    assert!(has(
        &problems(&bad),
        "port[0].peer[0].multihop",
        "outside 1–255"
    ));
}

#[test]
fn ipv6_peer_needs_ipv6_port_address() {
    let text = GOOD.replace("address6 = \"2001:db8::1/64\"\n", "");
    let e = problems(&text);
    assert!(has(&e, "port[0].peer[1].address", "no `address6`"), "{e:?}");
}

#[test]
fn all_problems_are_reported_at_once() {
    let text = r#"
[[port]]
name = "bad name"
uplink = "eth1/2"
address = "192.0.2.0/24"
local_as = 0
networks = ["203.0.113.1/24", "nonsense"]
mac = "01:00:00:00:00:01"
maximum_paths = 0
[[port.peer]]
address = "192.0.2.2"
[[port.peer]]
address = "192.0.2.2"
remote_as = 1
"#;
    let e = problems(text);
    for (path, needle) in [
        ("port[0].name", "letters"),
        ("port[0].uplink", "interface name"),
        ("port[0].address", "network address"),
        ("port[0].local_as", "not an AS"),
        ("port[0].networks[0]", "host bits"),
        ("port[0].networks[1]", "not an IP prefix"),
        ("port[0].mac", "multicast"),
        ("port[0].maximum_paths", "outside"),
        ("port[0].peer[0].remote_as", "required"),
    ] {
        assert!(has(&e, path, needle), "{path}: {e:#?}");
    }
}

#[test]
fn duplicates_are_rejected() {
    let text = format!("{GOOD}\n{}", &GOOD[GOOD.find("[[port]]").unwrap()..]);
    let e = problems(&text);
    assert!(
        has(&e, "port[1].name", "already the name of port[0]"),
        "{e:?}"
    );
    assert!(
        has(&e, "port[1].name", "same namespace and link name"),
        "{e:?}"
    );
    let dup_peer = format!("{GOOD}[[port.peer]]\naddress = \"192.0.2.2\"\nremote_as = 3\n");
    assert!(has(
        &problems(&dup_peer),
        "port[0].peer[2].address",
        "already peer[0]"
    ));
}

#[test]
fn unknown_keys_and_wrong_types_are_syntax_errors() {
    let e = Config::parse(&GOOD.replace("keepalive = 10", "keepalive_typo = 10")).unwrap_err();
    assert!(matches!(e, ConfigErrors::Syntax { .. }), "{e}");
    assert!(e.to_string().contains("keepalive_typo"), "{e}");
    let e = Config::parse(&GOOD.replace("keepalive = 10", "keepalive = \"ten\"")).unwrap_err();
    assert!(matches!(e, ConfigErrors::Syntax { .. }), "{e}");
}

#[test]
fn long_port_names_are_cut_and_collisions_rejected() {
    let text = GOOD.replace("name = \"uplink1\"", "name = \"a-very-long-port-name\"");
    assert_eq!(
        Config::parse(&text).unwrap().ports[0].ifname,
        "mnb-averylon"
    );
    let two = format!(
        "{text}\n{}",
        text[text.find("[[port]]").unwrap()..]
            .replace("a-very-long-port-name", "a-very-long-port-2")
    );
    assert!(has(
        &problems(&two),
        "port[1].name",
        "same namespace and link name \"mnb-averylon\""
    ));
    let bad = GOOD.replace("name = \"uplink1\"", "name = \"--\"");
    assert!(has(
        &problems(&bad),
        "port[0].name",
        "at least one ASCII letter"
    ));
    let prefix = GOOD.replace("[controller]", "[controller]\nprefix = \"Bad-Prefix\"");
    assert!(has(&problems(&prefix), "controller.prefix", "lowercase"));
}

#[test]
fn vty_range_must_fit_every_port() {
    let text = GOOD.replace(
        "[controller]",
        "[controller]\nvty_range = \"169.254.7.0/31\"",
    );
    assert!(has(
        &problems(&text),
        "controller.vty_range",
        "smaller than one /30"
    ));
    let text = GOOD.replace(
        "[controller]",
        "[controller]\nvty_range = \"169.254.7.0/30\"",
    );
    assert!(Config::parse(&text).is_ok());
    let two = format!(
        "{text}\n{}",
        GOOD[GOOD.find("[[port]]").unwrap()..].replace("uplink1", "uplink2")
    );
    assert!(has(
        &problems(&two),
        "controller.vty_range",
        "room for 1 ports"
    ));
}

#[test]
fn router_id_required_for_ipv6_only_port() {
    let text = GOOD
        .replace("address = \"192.0.2.1/24\"\n", "")
        .replace("address = \"192.0.2.2\"", "address = \"2001:db8::3\"");
    assert!(has(&problems(&text), "port[0].router_id", "required"));
    let ok = text.replace(
        "local_as = 65001",
        "local_as = 65001\nrouter_id = \"192.0.2.1\"",
    );
    Config::parse(&ok).unwrap();
}

#[test]
fn an_invalid_port_name_is_reported_once_not_again_through_the_derived_log_file() {
    let text = GOOD.replace("name = \"uplink1\"", "name = \"up\\nlink\"");
    let errs = problems(&text);
    assert!(has(&errs, "port[0].name", "letters, digits"), "{errs:?}");
    assert!(
        !errs.iter().any(|e| e.path == "port[0].log_file"),
        "derived log file reported too: {errs:?}"
    );
    // An explicit bad log file is still reported, once.
    let text = GOOD.replace(
        "local_as = 65001",
        "local_as = 65001\nlog_file = \"/tmp/a\\nb.log\"",
    );
    let errs = problems(&text);
    let n = errs.iter().filter(|e| e.path == "port[0].log_file").count();
    assert_eq!(n, 1, "{errs:?}");
}

#[test]
fn control_group_is_a_group_name_or_number() {
    assert_eq!(Config::parse(GOOD).unwrap().controller.control_group, None);
    for ok in ["adm", "bgp-readers", "_ops", "1001"] {
        let text = GOOD.replace(
            "[controller]",
            &format!("[controller]\ncontrol_group = \"{ok}\""),
        );
        let c = Config::parse(&text).unwrap();
        assert_eq!(c.controller.control_group.as_deref(), Some(ok));
    }
    for bad in ["", "-rf", "a b", "x/y", &"g".repeat(33)] {
        let text = GOOD.replace(
            "[controller]",
            &format!("[controller]\ncontrol_group = \"{bad}\""),
        );
        assert!(
            has(&problems(&text), "controller.control_group", "group name"),
            "{bad}"
        );
    }
}

#[test]
fn metrics_address_is_optional_and_checked() {
    assert_eq!(Config::parse(GOOD).unwrap().controller.metrics, None);
    for (ok, want) in [
        ("127.0.0.1:9179", "127.0.0.1:9179"),
        ("[::1]:9179", "[::1]:9179"),
        ("0.0.0.0:9100", "0.0.0.0:9100"),
    ] {
        let c = Config::parse(
            &GOOD.replace("[controller]", &format!("[controller]\nmetrics = \"{ok}\"")),
        )
        .unwrap();
        assert_eq!(c.controller.metrics, Some(want.parse().unwrap()), "{ok}");
    }
    for bad in [
        "localhost:9179",
        "127.0.0.1",
        "127.0.0.1:0",
        "127.0.0.1:70000",
        "",
    ] {
        let text = GOOD.replace(
            "[controller]",
            &format!("[controller]\nmetrics = \"{bad}\""),
        );
        assert!(
            has(
                &problems(&text),
                "controller.metrics",
                "IP address and a port"
            ),
            "{bad}"
        );
    }
}

#[test]
fn passive_is_off_by_default_on_when_set_and_a_bool_only() {
    let c = Config::parse(GOOD).unwrap();
    assert!(c.ports[0].peers.iter().all(|p| !p.passive));
    let on = GOOD.replace("remote_as = 65002\n", "remote_as = 65002\npassive = true\n");
    let c = Config::parse(&on).unwrap();
    assert!(c.ports[0].peers.iter().all(|p| p.passive));
    let off = GOOD.replace("keepalive = 10", "keepalive = 10\npassive = false");
    assert!(!Config::parse(&off).unwrap().ports[0].peers[0].passive);
    for bad in ["\"yes\"", "1"] {
        let e = Config::parse(&GOOD.replace(
            "keepalive = 10",
            &format!("passive = {bad}\nkeepalive = 10"),
        ))
        .unwrap_err();
        assert!(matches!(e, ConfigErrors::Syntax { .. }), "{e}");
        assert!(e.to_string().contains("passive"), "{e}");
    }
}

/// The file's `passive` reaches bgpd as `neighbor A passive` (bootstrap, every flavour), and
/// turning it on or off on a running port is that one command or its `no` form.
#[test]
fn passive_renders_and_toggles_with_one_command() {
    use crate::bgpconf::BgpdSettings;
    let settings = |text: &str| BgpdSettings::from(&Config::parse(text).unwrap().ports[0]);
    let off = settings(GOOD);
    let on = settings(&GOOD.replace(
        "address = \"2001:db8::2\"\nremote_as = 65002\n",
        "address = \"2001:db8::2\"\nremote_as = 65002\npassive = true\n",
    ));
    for fl in [vty::Flavour::FRR, vty::Flavour::QUAGGA] {
        let boot = vty::render_lines(&on.bootstrap_for(&fl));
        let passive: Vec<&String> = boot.iter().filter(|l| l.contains("passive")).collect();
        assert_eq!(passive, ["neighbor 2001:db8::2 passive"], "{}", fl.name());
        assert!(!vty::render_lines(&off.bootstrap_for(&fl))
            .iter()
            .any(|l| l.contains("passive")));
        // Nothing a flavour leaves out (Quagga's list, e.g. graceful restart's
        // preserve-fw-state, is the same with and without it).
        assert_eq!(on.unsupported(&fl), off.unsupported(&fl), "{}", fl.name());
        assert_eq!(
            vty::render_lines(&off.diff_for(&on, &fl)),
            ["router bgp 65001", "neighbor 2001:db8::2 passive", "exit"]
        );
        assert_eq!(
            vty::render_lines(&on.diff_for(&off, &fl)),
            [
                "router bgp 65001",
                "no neighbor 2001:db8::2 passive",
                "exit"
            ]
        );
    }
    assert!(!off.needs_restart(&on));
}
