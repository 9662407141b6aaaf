#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

fn net(s: &str) -> IpNetwork {
    s.parse().unwrap()
}

fn path(gw: &str) -> RoutePath {
    RoutePath {
        gateway: Some(gw.parse().unwrap()),
        ifindex: Some(2),
        distance: 20,
        metric: 0,
        weight: 1,
    }
}

fn replace(prefix: &str, paths: &[RoutePath]) -> RouteChange {
    RouteChange::Replace {
        prefix: net(prefix),
        paths: paths.to_vec(),
    }
}

fn withdraw(prefix: &str) -> RouteChange {
    RouteChange::Withdraw {
        prefix: net(prefix),
    }
}

fn prefixes(page: &RoutePage) -> Vec<String> {
    page.routes
        .iter()
        .map(|r| format!("{}:{}", r.port, r.prefix))
        .collect()
}

#[test]
fn a_batch_applies_in_order_and_the_last_change_wins() {
    let t = TableSink::new();
    let a = path("192.0.2.2");
    let b = path("192.0.2.3");
    t.apply(
        "p1",
        &[
            replace("198.51.100.0/24", &[a]),
            replace("198.51.100.0/24", &[b, a]),
            replace("203.0.113.0/24", &[a]),
            withdraw("203.0.113.0/24"),
            withdraw("192.0.2.0/24"),
            replace("2001:db8:1::/48", &[a]),
        ],
    );
    let routes = t.routes("p1");
    assert_eq!(routes.len(), 2);
    // Path sets are kept in a canonical order.
    assert_eq!(routes[&net("198.51.100.0/24")], vec![a, b]);
    assert_eq!(t.port_len("p1"), 2);
    // Host bits are ignored, as the zebra server does.
    t.apply("p1", &[withdraw("198.51.100.7/24")]);
    assert_eq!(t.port_len("p1"), 1);
    t.apply("p1", &[replace("2001:db8:1::/48", &[])]);
    assert!(t.is_empty(), "an empty path set withdraws");
}

#[test]
fn path_sets_are_shared_and_freed() {
    let t = TableSink::new();
    let a = path("192.0.2.2");
    let changes: Vec<RouteChange> = (0..1000u32)
        .map(|i| RouteChange::Replace {
            prefix: IpNetwork::new(Ipv4Addr::from(0x0a00_0000 + (i << 8)).into(), 24).unwrap(),
            paths: vec![a],
        })
        .collect();
    t.apply("p1", &changes);
    {
        let ports = t.lock();
        let sets = &ports["p1"].sets;
        assert_eq!(sets.index.len(), 1, "one path set for a thousand routes");
    }
    t.apply("p1", &[replace("10.0.0.0/24", &[path("192.0.2.3")])]);
    assert_eq!(
        t.installed("p1").unwrap(),
        Installed {
            routes: 1000,
            by_gateway: vec![
                ("192.0.2.2".parse().unwrap(), 999),
                ("192.0.2.3".parse().unwrap(), 1),
            ],
        }
    );
    t.apply("p1", &[withdraw("10.0.0.0/24")]);
    {
        let ports = t.lock();
        let sets = &ports["p1"].sets;
        assert_eq!(sets.index.len(), 1, "the unused set is gone");
        assert_eq!(sets.free.len(), 1, "and its slot is reused");
    }
    t.withdraw_all("p1");
    assert!(t.is_empty());
    assert_eq!(t.installed("p1"), Some(Installed::default()));
}

#[test]
fn pages_walk_every_route_once_in_order() {
    let t = TableSink::new();
    let a = path("192.0.2.2");
    t.apply(
        "b",
        &[
            replace("2001:db8::/32", &[a]),
            replace("198.51.100.0/24", &[a]),
            replace("198.51.100.0/25", &[a]),
            replace("10.0.0.0/8", &[a]),
        ],
    );
    t.apply("a", &[replace("203.0.113.0/24", &[a])]);
    let mut all = Vec::new();
    let mut query = RouteQuery {
        limit: 2,
        ..RouteQuery::default()
    };
    loop {
        let page = t.page(&query);
        assert!(page.routes.len() <= 2);
        all.extend(prefixes(&page));
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    assert_eq!(
        all,
        [
            "a:203.0.113.0/24",
            "b:10.0.0.0/8",
            "b:198.51.100.0/24",
            "b:198.51.100.0/25",
            "b:2001:db8::/32",
        ]
    );
    // A page that ends exactly at the last route says so.
    let page = t.page(&RouteQuery {
        limit: 5,
        ..RouteQuery::default()
    });
    assert_eq!(page.routes.len(), 5);
    assert_eq!(page.next, None);
    // Limits are clamped: 0 means one route.
    assert_eq!(t.page(&RouteQuery::default()).routes.len(), 1);
}

#[test]
fn pages_filter_by_port_and_prefix() {
    let t = TableSink::new();
    let a = path("192.0.2.2");
    for port in ["a", "b"] {
        t.apply(
            port,
            &[
                replace("198.51.0.0/16", &[a]),
                replace("198.51.100.0/22", &[a]),
                replace("198.51.100.0/24", &[a]),
                replace("198.51.100.128/25", &[a]),
                replace("198.51.101.0/24", &[a]),
                replace("198.51.104.0/24", &[a]),
                replace("2001:db8:1::/48", &[a]),
                replace("2001:db8:1:8000::/49", &[a]),
                replace("2001:db8:2::/48", &[a]),
            ],
        );
    }
    let list = |port: Option<&str>, within: Option<&str>| {
        let mut out = Vec::new();
        let mut query = RouteQuery {
            port: port.map(str::to_string),
            within: within.map(net),
            after: None,
            limit: 1,
        };
        loop {
            let page = t.page(&query);
            out.extend(prefixes(&page));
            match page.next {
                Some(n) => query.after = Some(n),
                None => return out,
            }
        }
    };
    assert_eq!(
        list(Some("b"), Some("198.51.100.0/24")),
        ["b:198.51.100.0/24", "b:198.51.100.128/25"]
    );
    assert_eq!(
        list(None, Some("198.51.100.0/23")),
        [
            "a:198.51.100.0/24",
            "a:198.51.100.128/25",
            "a:198.51.101.0/24",
            "b:198.51.100.0/24",
            "b:198.51.100.128/25",
            "b:198.51.101.0/24",
        ]
    );
    assert_eq!(
        list(Some("a"), Some("2001:db8:1::/48")),
        ["a:2001:db8:1::/48", "a:2001:db8:1:8000::/49"]
    );
    assert_eq!(list(Some("a"), None).len(), 9);
    assert_eq!(list(None, Some("0.0.0.0/0")).len(), 12);
    assert_eq!(list(None, Some("::/0")).len(), 6);
    assert!(list(Some("c"), None).is_empty());
    assert!(list(None, Some("192.0.2.0/24")).is_empty());
}

#[test]
fn a_cursor_from_an_older_table_still_makes_progress() {
    let t = TableSink::new();
    let a = path("192.0.2.2");
    t.apply(
        "a",
        &[
            replace("198.51.100.0/24", &[a]),
            replace("2001:db8::/32", &[a]),
        ],
    );
    t.apply("c", &[replace("203.0.113.0/24", &[a])]);
    // The cursor's route and port are gone: the listing goes on after where they were.
    let page = t.page(&RouteQuery {
        after: Some(RouteCursor {
            port: "b".into(),
            prefix: net("10.0.0.0/8"),
        }),
        limit: 10,
        ..RouteQuery::default()
    });
    assert_eq!(prefixes(&page), ["c:203.0.113.0/24"]);
    let page = t.page(&RouteQuery {
        after: Some(RouteCursor {
            port: "a".into(),
            prefix: net("198.51.100.128/25"),
        }),
        limit: 10,
        ..RouteQuery::default()
    });
    assert_eq!(prefixes(&page), ["a:2001:db8::/32", "c:203.0.113.0/24"]);
}
