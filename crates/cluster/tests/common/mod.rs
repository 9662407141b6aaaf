//! Shared helpers of the ZooKeeper tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use cluster::{Assignment, Member, MemberConfig, PortDoc, Store, StoreUrl, Validator};
use serde_json::{json, Map, Value};
use tokio::sync::watch;

/// A unique root per test.
pub fn url(ensemble: &testkit::zookeeper::Ensemble) -> StoreUrl {
    StoreUrl {
        servers: ensemble.connect_string(),
        root: format!("/{}", testkit::unique_name("t")),
    }
}

/// The start-up every ZooKeeper test shares: `servers` ZooKeeper servers started for `test`
/// (`None`, after saying why, when ZooKeeper is not installed: the test returns), a unique root,
/// a store session with `session` as its timeout, and `ports` put as valid port documents
/// (`local_as` 65001) with their candidate hosts. Keep the ensemble alive for the whole test.
pub async fn zookeeper_store(
    test: &str,
    servers: usize,
    session: Duration,
    ports: &[(&str, &[&str])],
) -> Option<(testkit::zookeeper::Ensemble, StoreUrl, Store)> {
    let zk = testkit::zookeeper::Ensemble::start_or_skip(test, servers)?;
    let url = url(&zk);
    let store = Store::connect(&url, session).await.unwrap();
    for (port, candidates) in ports {
        store
            .put_port(port, &port_doc(candidates, 65001))
            .await
            .unwrap();
    }
    Some((zk, url, store))
}

/// A stand-in for routing's validator: the `[[port]]` keys, `local_as` required, descriptions
/// without control characters.
pub fn validator() -> Validator {
    Arc::new(|_port: &str, c: &Map<String, Value>| {
        let mut problems = Vec::new();
        for k in c.keys() {
            if !matches!(
                k.as_str(),
                "name" | "uplink" | "address" | "local_as" | "networks" | "peer"
            ) {
                problems.push(format!("unknown key {k:?}"));
            }
        }
        match c.get("local_as").and_then(Value::as_u64) {
            Some(1..=4294967295) => {}
            _ => problems.push("local_as: required, 1-4294967295".into()),
        }
        if let Some(Value::Array(peers)) = c.get("peer") {
            for (i, p) in peers.iter().enumerate() {
                if let Some(d) = p.get("description").and_then(Value::as_str) {
                    if d.chars().any(|c| c.is_control()) {
                        problems.push(format!("peer[{i}].description: control character"));
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    })
}

/// A valid port document.
pub fn port_doc(candidates: &[&str], local_as: u32) -> PortDoc {
    let config = json!({
        "uplink": "eth1",
        "address": "192.0.2.1/24",
        "local_as": local_as,
        "peer": [{"address": "192.0.2.2", "remote_as": 65002}],
    });
    let Value::Object(config) = config else {
        unreachable!()
    };
    PortDoc::new(candidates.iter().map(|s| s.to_string()).collect(), config)
}

/// Member configuration with a short session timeout.
pub fn member_config(url: &StoreUrl, host: &str, session: Duration) -> MemberConfig {
    let mut c = MemberConfig::new(url.clone(), host);
    c.session_timeout = session;
    c.flush_interval = Duration::from_millis(20);
    c
}

/// Starts a member `host` with the test validator.
pub async fn start(url: &StoreUrl, host: &str, session: Duration) -> Member {
    Member::start(member_config(url, host, session), validator())
        .await
        .expect("member starts")
}

/// Waits until `cond` holds on the assignment, or panics with `what`.
pub async fn wait_assignment(
    rx: &mut watch::Receiver<Assignment>,
    timeout: Duration,
    what: &str,
    cond: impl Fn(&Assignment) -> bool,
) -> Assignment {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        {
            let a = rx.borrow_and_update();
            if cond(&a) {
                return a.clone();
            }
        }
        match tokio::time::timeout_at(deadline, rx.changed()).await {
            Ok(Ok(())) => {}
            _ => panic!("timed out waiting for: {what}; last: {:?}", *rx.borrow()),
        }
    }
}

/// Polls an async condition every 50 ms.
pub async fn eventually<F, Fut>(timeout: Duration, what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < timeout {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out after {timeout:?} waiting for: {what}");
}
