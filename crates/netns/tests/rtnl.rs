//! The per-namespace netlink handle on its own: links, addresses, routes, groups.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ipnetwork::IpNetwork;
use netns::{MacAddr, NetNsGuard, NetnsError, Rtnl, VethEnd};

#[tokio::test]
async fn links_addresses_and_routes_in_a_namespace() {
    let Some(()) = testkit::require_root("links_addresses_and_routes_in_a_namespace") else {
        return;
    };
    let a = NetNsGuard::create(&testkit::unique_name("mnbt")).unwrap();
    let b = NetNsGuard::create(&testkit::unique_name("mnbt")).unwrap();
    let na = Rtnl::open(Some(&a)).await.unwrap();
    let nb = Rtnl::open(Some(&b)).await.unwrap();
    assert_eq!(na.namespace(), a.name());

    // Only lo, up (create brings it up).
    let links = na.links().await.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].name, "lo");
    assert!(links[0].up);
    assert_eq!(na.link("absent0").await.unwrap(), None);
    assert!(matches!(
        na.link("this-name-is-too-long").await,
        Err(NetnsError::InvalidName { .. })
    ));

    // A veth with its peer born in the other namespace, named and addressed there.
    let mac = MacAddr([0x02, 1, 2, 3, 4, 5]);
    let local = VethEnd {
        name: "va".into(),
        mac: None,
        mtu: Some(1400),
    };
    let peer = VethEnd {
        name: "vb".into(),
        mac: Some(mac),
        mtu: Some(1400),
    };
    let ia = na.add_veth(&local, &peer, Some(&b)).await.unwrap();
    let lb = nb.link("vb").await.unwrap().expect("peer inside b");
    assert_eq!(lb.mac, Some(mac));
    assert_eq!(lb.mtu, 1400);
    assert_eq!(lb.kind.as_deref(), Some("veth"));
    assert_eq!(lb.peer_index, Some(ia));
    let la = na.link_by_index(ia).await.unwrap().unwrap();
    assert_eq!(la.peer_index, Some(lb.index));
    assert_eq!(la.peer_netns_id, na.netns_id(&b).await.unwrap());
    assert!(
        na.link("vb").await.unwrap().is_none(),
        "the peer is not in a"
    );
    assert!(matches!(
        na.add_veth(&local, &VethEnd { name: "vc".into(), ..Default::default() }, None).await,
        Err(NetnsError::Netlink { source, .. }) if source.is_exists()
    ));

    na.set_mtu(ia, 1300).await.unwrap();
    na.set_mac(ia, MacAddr([0x02, 9, 9, 9, 9, 9]))
        .await
        .unwrap();
    na.set_up(ia, true).await.unwrap();
    nb.set_up(lb.index, true).await.unwrap();
    let la = na.link("va").await.unwrap().unwrap();
    assert_eq!(
        (la.mtu, la.mac, la.up),
        (1300, Some(MacAddr([0x02, 9, 9, 9, 9, 9])), true)
    );

    // Addresses and a route.
    let v4: IpNetwork = "198.51.100.1/24".parse().unwrap();
    let v6: IpNetwork = "2001:db8:5::1/64".parse().unwrap();
    na.add_address(ia, v4, false).await.unwrap();
    na.add_address(ia, v6, true).await.unwrap();
    let addrs: Vec<IpNetwork> = na
        .addresses(Some(ia))
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.network)
        .collect();
    assert!(addrs.contains(&v4) && addrs.contains(&v6), "{addrs:?}");
    nb.add_address(lb.index, "198.51.100.2/24".parse().unwrap(), false)
        .await
        .unwrap();
    let dest: IpNetwork = "203.0.113.0/24".parse().unwrap();
    na.add_route(dest, Some("198.51.100.2".parse().unwrap()), Some(ia), false)
        .await
        .unwrap();
    let routes = na.routes().await.unwrap();
    assert!(
        routes
            .iter()
            .any(|r| r.destination == dest && r.gateway == Some("198.51.100.2".parse().unwrap())),
        "{routes:?}"
    );
    na.delete_route(dest, Some("198.51.100.2".parse().unwrap()), Some(ia))
        .await
        .unwrap();
    assert!(!na
        .routes()
        .await
        .unwrap()
        .iter()
        .any(|r| r.destination == dest));
    na.delete_address(ia, v4).await.unwrap();
    let addrs: Vec<IpNetwork> = na
        .addresses(Some(ia))
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.network)
        .collect();
    assert!(!addrs.contains(&v4) && addrs.contains(&v6), "{addrs:?}");

    // A bridge with the veth enslaved, then both deleted in one batch.
    let br = na.add_bridge("bra").await.unwrap();
    na.set_master(ia, Some(br)).await.unwrap();
    assert_eq!(na.link("va").await.unwrap().unwrap().master, Some(br));
    na.set_master(ia, None).await.unwrap();
    assert_eq!(na.link("va").await.unwrap().unwrap().master, None);
    assert!(matches!(
        na.delete_group(0).await,
        Err(NetnsError::InvalidSpec { field: "group", .. })
    ));
    na.delete_links(&[ia, br]).await.unwrap();
    assert_eq!(na.links().await.unwrap().len(), 1, "only lo left in a");
    assert!(
        nb.link("vb").await.unwrap().is_none(),
        "the peer went with its veth"
    );
    assert!(!na.delete_link_by_name("va").await.unwrap());
    na.delete_links(&[ia]).await.unwrap(); // already gone: fine
}
