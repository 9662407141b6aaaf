//! A container shaped like a BGP port's (a datapath veth, a management veth on a host-side
//! bridge, a default route through it): build, check from both sides, traffic, idempotency,
//! changes, conflicts, IPv6 without DAD, cleanup after a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener};

use common::{
    add_foreign_link, assert_gone, connect_from, host_side, ip, link_names, ping_from, port,
};
use ipnetwork::IpNetwork;
use netns::{Action, Container, ContainerGuard, MacAddr, NetnsError, Rtnl};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_check_traffic_and_teardown() {
    let Some(()) = testkit::require_root("build_check_traffic_and_teardown") else {
        return;
    };
    let host = host_side();
    let port = port(&host, 5);
    let spec = port.spec();
    let c = ContainerGuard::new(Container::apply(&spec).await.unwrap());
    let n = port.names();
    assert_eq!(c.netns().name(), n.namespace);
    assert_eq!(c.veths().len(), 2);
    assert_eq!(c.veths()[0].host, n.datapath_host);
    assert_eq!(c.veths()[0].bridge_index, None);
    assert_eq!(
        c.veth(&n.mgmt_host).map(|v| v.inside.name.as_str()),
        Some(n.mgmt_inside.as_str())
    );
    assert_eq!(port.mgmt_host_addr().to_string(), "169.254.0.21/30");
    assert_eq!(port.mgmt_socket().to_string(), "169.254.0.22:2605");
    assert!(c
        .actions()
        .contains(&Action::CreatedNamespace(n.namespace.clone())));

    // Inside the namespace, through our own netlink connection.
    let inner = Rtnl::open(Some(c.netns())).await.unwrap();
    let dp = inner
        .link(&n.datapath_inside)
        .await
        .unwrap()
        .expect("datapath veth inside");
    assert_eq!(dp.index, c.veths()[0].inside.index);
    assert_eq!(dp.kind.as_deref(), Some("veth"));
    assert_eq!(dp.mac, Some(port.mac));
    assert_eq!(c.veths()[0].inside.mac, port.mac);
    assert_eq!(dp.mtu, 1500);
    assert!(dp.up);
    let mut addrs: Vec<IpNetwork> = inner
        .addresses(Some(dp.index))
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.network)
        .filter(|a| !matches!(a, IpNetwork::V6(n) if n.ip().segments()[0] == 0xfe80))
        .collect();
    addrs.sort();
    let mut want = port.addresses.clone();
    want.sort();
    assert_eq!(addrs, want);
    assert_eq!(c.veths()[0].inside.addresses, port.addresses);
    assert!(inner.link("lo").await.unwrap().unwrap().up);
    let vm = inner.link(&n.mgmt_inside).await.unwrap().unwrap();
    assert!(vm.up);
    let vm_addrs: Vec<IpNetwork> = inner
        .addresses(Some(vm.index))
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.network)
        .collect();
    assert!(
        vm_addrs.contains(&"169.254.0.22/30".parse().unwrap()),
        "{vm_addrs:?}"
    );
    let routes = inner.routes().await.unwrap();
    assert!(
        routes.iter().any(|r| r.destination.prefix() == 0
            && r.gateway == Some("169.254.0.21".parse().unwrap())
            && r.oif == Some(vm.index)),
        "{routes:?}"
    );
    // The same seen by iproute2.
    let (_, out) = ip(&["-n", &n.namespace, "-4", "route", "show", "default"]);
    assert!(
        out.contains("via 169.254.0.21") && out.contains(&n.mgmt_inside),
        "{out}"
    );
    let (_, out) = ip(&["-n", &n.namespace, "link", "show", &n.datapath_inside]);
    assert!(
        out.contains("02:00:5e:10:00:06") && out.contains("UP"),
        "{out}"
    );

    // Host side: bridge with .1, vty veth enslaved, datapath veth up.
    let hostnl = Rtnl::open(Some(&host)).await.unwrap();
    let br = hostnl.link(&n.bridge).await.unwrap().unwrap();
    assert_eq!(br.kind.as_deref(), Some("bridge"));
    assert_eq!(Some(br.index), c.veths()[1].bridge_index);
    assert!(br.up);
    let br_addrs: Vec<IpNetwork> = hostnl
        .addresses(Some(br.index))
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.network)
        .collect();
    assert!(
        br_addrs.contains(&"169.254.0.21/30".parse().unwrap()),
        "{br_addrs:?}"
    );
    let v = hostnl.link(&n.mgmt_host).await.unwrap().unwrap();
    assert_eq!(v.master, Some(br.index));
    assert!(v.up);
    let dph = hostnl.link(&n.datapath_host).await.unwrap().unwrap();
    assert_eq!(dph.index, c.veths()[0].host_index);
    assert_eq!(dph.peer_index, Some(dp.index));
    assert!(dph.up);
    let (_, out) = ip(&["-n", host.name(), "link", "show", "master", &n.bridge]);
    assert!(out.contains(&n.mgmt_host), "{out}");
    let mut host_links = link_names(host.name());
    host_links.sort();
    let mut want_links = vec![
        "lo".to_string(),
        n.datapath_host.clone(),
        n.mgmt_host.clone(),
        n.bridge.clone(),
    ];
    want_links.sort();
    assert_eq!(host_links, want_links);

    // Traffic across the management link: ping both ways, TCP from the host side to the
    // namespace's address.
    ping_from(host.name(), "169.254.0.22");
    ping_from(&n.namespace, "169.254.0.21");
    let vty = port.mgmt_socket();
    let listener = c
        .netns()
        .run(move || TcpListener::bind(vty))
        .unwrap()
        .unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, peer) = listener.accept().unwrap();
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).unwrap();
        s.write_all(b"pong!").unwrap();
        (peer, buf)
    });
    let mut client = connect_from(&host, vty);
    client.write_all(b"ping!").unwrap();
    let mut reply = [0u8; 5];
    client.read_exact(&mut reply).unwrap();
    let (peer, got) = server.join().unwrap();
    assert_eq!(&got, b"ping!");
    assert_eq!(&reply, b"pong!");
    assert_eq!(
        peer.ip(),
        IpAddr::from([169, 254, 0, 21]),
        "the host reaches the namespace from the bridge address"
    );

    c.teardown().await.unwrap();
    assert_gone(host.name(), &n);
}

#[tokio::test]
async fn applying_the_same_spec_twice_changes_nothing() {
    let Some(()) = testkit::require_root("applying_the_same_spec_twice_changes_nothing") else {
        return;
    };
    let host = host_side();
    let port = port(&host, 1);
    let spec = port.spec();
    let first = ContainerGuard::new(Container::apply(&spec).await.unwrap());
    assert!(!first.actions().is_empty());
    let second = Container::apply(&spec).await.unwrap();
    assert_eq!(
        second.actions(),
        &[] as &[Action],
        "second apply must be a no-op"
    );
    assert_eq!(second.veths(), first.veths());
    assert_eq!(second.netns().id().unwrap(), first.netns().id().unwrap());
    let n = port.names();
    first.teardown().await.unwrap();
    assert_gone(host.name(), &n);
}

#[tokio::test]
async fn a_changed_spec_fixes_only_the_difference() {
    let Some(()) = testkit::require_root("a_changed_spec_fixes_only_the_difference") else {
        return;
    };
    let host = host_side();
    let mut port = port(&host, 2);
    let first = ContainerGuard::new(Container::apply(&port.spec()).await.unwrap());
    let n = port.names();

    port.mac = MacAddr([0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee]);
    port.addresses = vec![
        "198.51.100.7/25".parse().unwrap(),
        "2001:db8:1::1/64".parse().unwrap(),
    ];
    let second = Container::apply(&port.spec()).await.unwrap();
    let mut actions: Vec<String> = second.actions().iter().map(|a| a.to_string()).collect();
    actions.sort();
    let mut want = vec![
        format!("set mac of {} to 02:aa:bb:cc:dd:ee", n.datapath_inside),
        format!("removed 192.0.2.1/24 from {}", n.datapath_inside),
        format!("added 198.51.100.7/25 to {}", n.datapath_inside),
    ];
    want.sort();
    assert_eq!(actions, want);
    assert_eq!(
        second.veths()[0].inside.index,
        first.veths()[0].inside.index,
        "the veth is kept"
    );
    assert_eq!(second.veths()[1], first.veths()[1]);

    let (_, out) = ip(&[
        "-n",
        &n.namespace,
        "addr",
        "show",
        "dev",
        &n.datapath_inside,
    ]);
    assert!(
        out.contains("02:aa:bb:cc:dd:ee") && out.contains("198.51.100.7/25"),
        "{out}"
    );
    assert!(!out.contains("192.0.2.1"), "{out}");
    assert!(out.contains("2001:db8:1::1/64"), "{out}");

    // A new index moves the management /30: bridge and namespace addresses and the default
    // route follow.
    port.index = 9;
    port.mtu = 1400;
    let spec = port.spec();
    let third = Container::apply(&spec).await.unwrap();
    assert!(third.actions().contains(&Action::SetDefaultRoute {
        gateway: "169.254.0.37".parse().unwrap()
    }));
    assert!(third.actions().contains(&Action::SetMtu {
        link: n.datapath_inside.clone(),
        mtu: 1400
    }));
    let (_, out) = ip(&["-n", &n.namespace, "-4", "route", "show", "default"]);
    assert!(out.contains("via 169.254.0.37"), "{out}");
    let (_, out) = ip(&["-n", host.name(), "-4", "addr", "show", "dev", &n.bridge]);
    assert!(
        out.contains("169.254.0.37/30") && !out.contains("169.254.0.9/30"),
        "{out}"
    );
    assert_eq!(
        third.spec().veths[1].addresses,
        vec!["169.254.0.38/30".parse::<IpNetwork>().unwrap()]
    );
    assert_eq!(
        port.mgmt_socket(),
        "169.254.0.38:2605".parse::<SocketAddr>().unwrap()
    );
    ping_from(host.name(), "169.254.0.38");
    assert_eq!(
        Container::apply(&spec).await.unwrap().actions(),
        &[] as &[Action]
    );

    first.teardown().await.unwrap();
    assert_gone(host.name(), &n);
}

#[tokio::test]
async fn foreign_objects_with_our_names_are_conflicts() {
    let Some(()) = testkit::require_root("foreign_objects_with_our_names_are_conflicts") else {
        return;
    };
    let host = host_side();

    // A foreign link where our datapath veth should be.
    let p = port(&host, 3);
    let (s, n) = (p.spec(), p.names());
    let kind = add_foreign_link(host.name(), &n.datapath_host);
    let err = Container::apply(&s).await.unwrap_err();
    match &err {
        NetnsError::Conflict { object, found } => {
            assert!(
                object.contains(&n.datapath_host) && object.contains(host.name()),
                "{err}"
            );
            assert!(
                found.contains(kind) && found.contains("not our veth"),
                "{err}"
            );
        }
        other => panic!("expected a conflict, got {other}"),
    }
    s.remove().await.unwrap();
    // remove() leaves the foreign link alone.
    assert!(link_names(host.name()).contains(&n.datapath_host));
    assert!(!netns::list().unwrap().contains(&n.namespace));
    ip(&["-n", host.name(), "link", "del", &n.datapath_host]);

    // A veth with our name whose peer is elsewhere (here: in the host side itself).
    let p = port(&host, 4);
    let (s, n) = (p.spec(), p.names());
    let (ok, out) = ip(&[
        "-n",
        host.name(),
        "link",
        "add",
        &n.mgmt_host,
        "type",
        "veth",
        "peer",
        "name",
        "other0",
    ]);
    assert!(ok, "{out}");
    let err = Container::apply(&s).await.unwrap_err();
    assert!(
        matches!(&err, NetnsError::Conflict { object, found } if object.contains(&n.mgmt_host) && found.contains("peer")),
        "{err}"
    );
    s.remove().await.unwrap();
    ip(&["-n", host.name(), "link", "del", "other0"]);

    // A bridge name taken by a foreign link.
    let p = port(&host, 6);
    let (s, n) = (p.spec(), p.names());
    add_foreign_link(host.name(), &n.bridge);
    let err = Container::apply(&s).await.unwrap_err();
    assert!(
        matches!(&err, NetnsError::Conflict { object, found } if object.contains(&n.bridge) && found.contains("not our bridge")),
        "{err}"
    );
    s.remove().await.unwrap();
    ip(&["-n", host.name(), "link", "del", &n.bridge]);
    assert_eq!(link_names(host.name()), vec!["lo".to_string()]);
    assert!(!netns::list().unwrap().contains(&n.namespace));

    // A missing host-side namespace is named.
    let mut s = port(&host, 7).spec();
    s.host_netns = Some(testkit::unique_name("mnbx"));
    assert!(matches!(
        Container::apply(&s).await,
        Err(NetnsError::NotFound { .. })
    ));
}

#[tokio::test]
async fn ipv6_address_is_usable_at_once() {
    let Some(()) = testkit::require_root("ipv6_address_is_usable_at_once") else {
        return;
    };
    let host = host_side();
    let mut port = port(&host, 8);
    port.addresses = vec![
        "2001:db8:8::1/64".parse().unwrap(),
        "203.0.113.1/24".parse().unwrap(),
    ];
    let c = ContainerGuard::new(Container::apply(&port.spec()).await.unwrap());
    // Bind right away, no waiting: DAD must not hold the address back.
    let bound = c
        .netns()
        .run(|| {
            let v6 = TcpListener::bind("[2001:db8:8::1]:0").map(|l| l.local_addr().ok());
            let v4 = TcpListener::bind("203.0.113.1:0").map(|l| l.local_addr().ok());
            (v6, v4)
        })
        .unwrap();
    assert!(bound.0.is_ok(), "bind IPv6: {:?}", bound.0);
    assert!(bound.1.is_ok(), "bind IPv4: {:?}", bound.1);
    let inner = Rtnl::open(Some(c.netns())).await.unwrap();
    let addrs = inner
        .addresses(Some(c.veths()[0].inside.index))
        .await
        .unwrap();
    let a = addrs
        .iter()
        .find(|a| a.network == "2001:db8:8::1/64".parse::<IpNetwork>().unwrap())
        .unwrap();
    assert!(!a.tentative && !a.dad_failed, "{a:?}");
    let n = port.names();
    c.teardown().await.unwrap();
    assert_gone(host.name(), &n);
}

#[test]
fn a_panicking_body_still_cleans_up() {
    let Some(()) = testkit::require_root("a_panicking_body_still_cleans_up") else {
        return;
    };
    let host = host_side();
    let port = port(&host, 10);
    let (spec, names) = (port.spec(), port.names());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let host_name = host.name().to_string();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async {
            let c = ContainerGuard::new(Container::apply(&spec).await.unwrap());
            assert_eq!(link_names(&host_name).len(), 4);
            // A process inside, as bgpd would be.
            let child = std::process::Command::new("ip")
                .args(["netns", "exec", c.netns().name(), "sleep", "300"])
                .spawn()
                .unwrap();
            std::mem::forget(child);
            panic!("test body fails with the container up");
        })
    }));
    assert!(r.is_err());
    assert_gone(host.name(), &names);
}
