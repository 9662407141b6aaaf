use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn lines(cmds: &[Command]) -> Vec<String> {
    cmds.iter().map(|c| c.line().to_owned()).collect()
}

fn sample() -> BgpConfig {
    let mut c = BgpConfig::new(Asn::new(65000).unwrap());
    c.router_id = Some("192.0.2.1".parse().unwrap());
    let mut n = Neighbor::new(ip("192.0.2.2"), Asn::new(65001).unwrap());
    n.timers = Some(Timers::new(10, 30).unwrap());
    n.connect_retry = Some(ConnectRetry::new(5).unwrap());
    n.password = Some(Password::new("s3cret").unwrap());
    n.description = Some(Description::new("uplink one").unwrap());
    c.add_neighbor(n);
    c.add_neighbor(Neighbor::new(ip("2001:db8::2"), Asn::new(65002).unwrap()));
    c.add_network("198.51.100.0/24".parse().unwrap());
    c.add_network("2001:db8:1::/48".parse().unwrap());
    c.ipv6.activate.insert(ip("2001:db8::2"));
    c.ipv4.maximum_paths = Some(MaximumPaths::new(4).unwrap());
    c
}

#[test]
fn full_render_with_navigation() {
    let c = sample();
    c.validate().unwrap();
    let l = render_lines(&c.commands());
    assert_eq!(
        l,
        [
            "router bgp 65000",
            "bgp router-id 192.0.2.1",
            "no bgp ebgp-requires-policy",
            "neighbor 192.0.2.2 remote-as 65001",
            "neighbor 192.0.2.2 description uplink one",
            "neighbor 192.0.2.2 password s3cret",
            "neighbor 192.0.2.2 timers 10 30",
            "neighbor 192.0.2.2 timers connect 5",
            "neighbor 2001:db8::2 remote-as 65002",
            "address-family ipv4 unicast",
            "network 198.51.100.0/24",
            "maximum-paths 4",
            "exit-address-family",
            "address-family ipv6 unicast",
            "network 2001:db8:1::/48",
            "neighbor 2001:db8::2 activate",
            "exit-address-family",
            "exit",
        ]
    );
}

#[test]
fn empty_instance_still_created() {
    let c = BgpConfig::new(Asn::new(64512).unwrap());
    assert_eq!(
        render_lines(&c.commands()),
        ["router bgp 64512", "no bgp ebgp-requires-policy", "exit"]
    );
}

#[test]
fn identical_configs_give_no_commands() {
    assert!(diff(&sample(), &sample()).is_empty());
}

#[test]
fn timer_change_is_one_command_and_keeps_the_neighbor() {
    let old = sample();
    let mut new = sample();
    new.neighbors.get_mut(&ip("192.0.2.2")).unwrap().timers = Some(Timers::new(3, 9).unwrap());
    let d = diff(&old, &new);
    assert_eq!(lines(&d), ["neighbor 192.0.2.2 timers 3 9"]);
    assert_eq!(
        render_lines(&d),
        ["router bgp 65000", "neighbor 192.0.2.2 timers 3 9", "exit"]
    );
}

#[test]
fn password_change_and_reverts_use_no_forms() {
    let old = sample();
    let mut new = sample();
    {
        let n = new.neighbors.get_mut(&ip("192.0.2.2")).unwrap();
        n.password = Some(Password::new("other").unwrap());
        n.connect_retry = None;
        n.description = None;
    }
    assert_eq!(
        lines(&diff(&old, &new)),
        [
            "no neighbor 192.0.2.2 description",
            "neighbor 192.0.2.2 password other",
            "no neighbor 192.0.2.2 timers connect",
        ]
    );
    let mut new2 = sample();
    {
        let n = new2.neighbors.get_mut(&ip("192.0.2.2")).unwrap();
        n.password = None;
        n.timers = None;
        n.shutdown = true;
        n.ebgp_multihop = Some(Multihop::new(2).unwrap());
        n.advertisement_interval = Some(AdvertisementInterval::new(0).unwrap());
    }
    let d = lines(&diff(&old, &new2));
    assert_eq!(
        d,
        [
            "no neighbor 192.0.2.2 password",
            "no neighbor 192.0.2.2 timers",
            "neighbor 192.0.2.2 ebgp-multihop 2",
            "neighbor 192.0.2.2 advertisement-interval 0",
            "neighbor 192.0.2.2 shutdown",
        ]
    );
    assert!(d.iter().all(|l| l != "no neighbor 192.0.2.2"));
    assert_eq!(
        lines(&diff(&new2, &old)).last().map(String::as_str),
        Some("no neighbor 192.0.2.2 shutdown")
    );
}

#[test]
fn passive_renders_the_same_for_every_flavour_and_toggles_with_one_command() {
    let old = sample();
    let mut new = sample();
    new.neighbors.get_mut(&ip("2001:db8::2")).unwrap().passive = true;
    for fl in [
        crate::flavour::Flavour::FRR,
        crate::flavour::Flavour::QUAGGA,
    ] {
        let full = render_lines(&new.commands_for(&fl));
        let at = full
            .iter()
            .position(|l| l == "neighbor 2001:db8::2 remote-as 65002")
            .unwrap();
        // Right after the neighbor is created, before any address family.
        assert_eq!(
            full[at + 1],
            "neighbor 2001:db8::2 passive",
            "{}",
            fl.name()
        );
        assert_eq!(full.iter().filter(|l| l.contains("passive")).count(), 1);
        // On and off on a running bgpd: the one command and its `no` form, the neighbor kept.
        assert_eq!(
            render_lines(&diff_for(&old, &new, &fl)),
            ["router bgp 65000", "neighbor 2001:db8::2 passive", "exit"]
        );
        assert_eq!(
            render_lines(&diff_for(&new, &old, &fl)),
            [
                "router bgp 65000",
                "no neighbor 2001:db8::2 passive",
                "exit"
            ]
        );
    }
    // Not rendered when off (bgpd's default).
    assert!(!render_lines(&old.commands())
        .iter()
        .any(|l| l.contains("passive")));
}

#[test]
fn peer_and_network_changes() {
    let old = sample();
    let mut new = sample();
    new.neighbors.remove(&ip("2001:db8::2"));
    new.ipv6.activate.clear();
    new.add_neighbor(Neighbor::new(
        ip("203.0.113.9"),
        Asn::new(4_200_000_000).unwrap(),
    ));
    new.ipv4.activate.insert(ip("203.0.113.9"));
    new.ipv4.networks.clear();
    new.add_network("203.0.113.0/24".parse().unwrap());
    new.ipv4.maximum_paths = None;
    new.router_id = None;
    new.network_import_check = false;
    new.default_ipv4_unicast = false;
    new.log_file = Some(LogFile::new("/var/log/frr/bgpd.log").unwrap());
    new.debug.insert(DebugFlag::Updates);
    new.validate().unwrap();
    let d = diff(&old, &new);
    assert_eq!(
        render_lines(&d),
        [
            "log file /var/log/frr/bgpd.log",
            "debug bgp updates",
            "router bgp 65000",
            "no bgp router-id",
            "no bgp default ipv4-unicast",
            "no bgp network import-check",
            "no neighbor 2001:db8::2",
            "neighbor 203.0.113.9 remote-as 4200000000",
            "address-family ipv4 unicast",
            "no network 198.51.100.0/24",
            "network 203.0.113.0/24",
            "neighbor 203.0.113.9 activate",
            "no maximum-paths",
            "exit-address-family",
            "exit",
        ]
    );
    // Reverse direction restores everything.
    let back = render_lines(&diff(&new, &old));
    assert!(back.contains(&"no log file".to_string()));
    assert!(back.contains(&"no debug bgp updates".to_string()));
    assert!(back.contains(&"no neighbor 203.0.113.9".to_string()));
    assert!(!back.contains(&"no neighbor 203.0.113.9 activate".to_string()));
    assert!(back.contains(&"bgp network import-check".to_string()));
    assert!(back.contains(&"bgp default ipv4-unicast".to_string()));
}

#[test]
fn as_change_recreates_the_instance() {
    let old = sample();
    let mut new = sample();
    new.asn = Asn::new(65100).unwrap();
    let l = render_lines(&diff(&old, &new));
    assert_eq!(
        &l[..3],
        [
            "no router bgp 65000",
            "router bgp 65100",
            "bgp router-id 192.0.2.1"
        ]
    );
    assert_eq!(l.iter().filter(|x| x.starts_with("router bgp")).count(), 1);
    assert_eq!(l.last().map(String::as_str), Some("exit"));
}

#[test]
fn cross_field_validation() {
    let mut c = sample();
    c.ipv4.networks.insert("2001:db8:2::/48".parse().unwrap());
    assert!(matches!(c.validate(), Err(ConfigError::WrongFamily { .. })));
    let mut c = sample();
    c.ipv4.activate.insert(ip("192.0.2.77"));
    assert!(matches!(c.validate(), Err(ConfigError::Neighbor { .. })));
}

#[test]
fn every_rendered_line_is_a_valid_single_line() {
    let mut c = sample();
    c.debug.extend([
        DebugFlag::NeighborEvents,
        DebugFlag::Keepalives,
        DebugFlag::Zebra,
        DebugFlag::Nht,
    ]);
    c.log_file = Some(LogFile::new("/tmp/x.log").unwrap());
    for l in render_lines(&c.commands()) {
        crate::validate_line(&l).unwrap();
    }
}

#[test]
fn commands_send_the_password_but_show_it_only_redacted() {
    let cmds = sample().commands();
    let pw = cmds
        .iter()
        .find(|c| c.line().contains(" password "))
        .unwrap();
    // What goes to bgpd is the real line …
    assert_eq!(pw.line(), "neighbor 192.0.2.2 password s3cret");
    // … every rendering for people is redacted.
    assert_eq!(pw.to_string(), "neighbor 192.0.2.2 password <redacted>");
    let shown = format!("{pw:?} {cmds:?} {:#?}", cmds);
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("neighbor 192.0.2.2 password <redacted>"));
    assert!(shown.contains("neighbor 192.0.2.2 remote-as 65001"));
}
