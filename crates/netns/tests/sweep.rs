//! Sweeping leftovers of a crashed run, and many containers in a row.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{add_foreign_link, host_side, link_names, port};
use netns::{Container, NetNs};

#[tokio::test]
async fn sweep_removes_what_a_crashed_run_left() {
    let Some(()) = testkit::require_root("sweep_removes_what_a_crashed_run_left") else {
        return;
    };
    let host = host_side();
    // A prefix of our own so parallel tests' containers are not swept.
    let prefix = format!("mnbs{}", &testkit::unique_name("")[5..7]);
    let mut names = Vec::new();
    for i in 0..3 {
        let mut p = port(&host, i);
        p.prefix = prefix.clone();
        Container::apply(&p.spec()).await.unwrap();
        names.push(p.names());
        // "Crash": the container is dropped without teardown.
    }
    let mut sleeper = Command::new("ip")
        .args(["netns", "exec", &names[0].namespace, "sleep", "300"])
        .spawn()
        .unwrap();
    let ns0 = NetNs::open(&names[0].namespace).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while netns::pids_in(&ns0).unwrap().is_empty() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(ns0);
    // Not ours despite the prefix: left alone.
    let foreign = format!("{prefix}-other");
    add_foreign_link(host.name(), &foreign);

    let report = netns::sweep(&prefix, Some(&host)).await.unwrap();
    let mut want_ns: Vec<String> = names.iter().map(|n| n.namespace.clone()).collect();
    want_ns.sort();
    let mut got_ns = report.namespaces.clone();
    got_ns.sort();
    assert_eq!(got_ns, want_ns);
    let mut want_links: Vec<String> = names
        .iter()
        .flat_map(|n| {
            [
                n.datapath_host.clone(),
                n.mgmt_host.clone(),
                n.bridge.clone(),
            ]
        })
        .collect();
    want_links.sort();
    let mut got_links = report.links.clone();
    got_links.sort();
    assert_eq!(got_links, want_links);
    assert_eq!(report.killed_pids, vec![sleeper.id()]);
    assert!(!sleeper.wait().unwrap().success());

    for n in &names {
        assert!(!netns::list().unwrap().contains(&n.namespace));
    }
    assert_eq!(
        link_names(host.name()),
        vec!["lo".to_string(), foreign.clone()]
    );
    assert!(
        netns::sweep(&prefix, Some(&host)).await.unwrap().is_empty(),
        "a second sweep finds nothing"
    );
    assert!(netns::sweep("Bad-", Some(&host)).await.is_err());
}

#[tokio::test]
async fn fifty_containers_built_and_torn_down_leave_nothing() {
    let Some(()) = testkit::require_root("fifty_containers_built_and_torn_down_leave_nothing")
    else {
        return;
    };
    let host = host_side();
    let mut containers = Vec::new();
    let mut names = Vec::new();
    for i in 0..50 {
        let p = port(&host, i);
        containers.push(Container::apply(&p.spec()).await.unwrap());
        names.push(p.names());
    }
    assert_eq!(link_names(host.name()).len(), 1 + 3 * 50);
    let mut mgmt: Vec<_> = containers
        .iter()
        .map(|c| c.spec().veths[1].addresses.clone())
        .collect();
    mgmt.sort();
    mgmt.dedup();
    assert_eq!(mgmt.len(), 50, "every container has its own /30");
    for c in containers {
        c.teardown().await.unwrap();
    }
    let left = netns::list().unwrap();
    for n in &names {
        assert!(!left.contains(&n.namespace), "{} left", n.namespace);
    }
    assert_eq!(link_names(host.name()), vec!["lo".to_string()]);
}
