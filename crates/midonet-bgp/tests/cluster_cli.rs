//! `midonet-bgp cluster …` against a real ZooKeeper server (started by the test): put-port
//! validates like check-config and writes nothing when a port is wrong; status, hosts, routes,
//! announce/withdraw and remove-port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_midonet-bgp"))
}

fn run(store: &str, args: &[&str]) -> (i32, String, String) {
    let o: Output = bin()
        .args(["cluster", "--store", store, "--session-timeout-ms", "4000"])
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

const GOOD: &str = r#"
[[port]]
name = "p1"
candidates = ["gw1", "gw2"]
uplink = "eth1"
address = "192.0.2.1/24"
local_as = 65001
networks = ["203.0.113.0/24"]
[[port.peer]]
address = "192.0.2.2"
remote_as = 65002
description = "provider A"
"#;

#[test]
fn cluster_commands_against_a_real_store() {
    let Some(zk) = testkit::zookeeper::Ensemble::start_or_skip("cluster_cli", 1) else {
        return;
    };
    let store = format!(
        "zk://{}/{}",
        zk.connect_string(),
        testkit::unique_name("cli")
    );
    let dir = tempfile::tempdir().unwrap();

    // Refused input: every problem with its key path, exit 2, nothing written.
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        GOOD.replace("provider A", "x\\n no router bgp 65001")
            .replace("local_as = 65001", "local_as = 0")
            + "\n[[port]]\nname = \"p2\"\nuplink = \"eth2\"\naddress = \"192.0.2.1/24\"\nlocal_as = 1\n[[port.peer]]\naddress = \"192.0.2.2\"\nremote_as = 2\n",
    )
    .unwrap();
    let (code, _, err) = run(&store, &["put-port", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("local_as"), "{err}");
    assert!(err.contains("peer[0].description"), "{err}");
    assert!(err.contains("port[1].candidates: required"), "{err}");
    let (code, out, err) = run(&store, &["status", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap(),
        serde_json::json!([])
    );

    // A good file.
    let good = dir.path().join("good.toml");
    std::fs::write(&good, GOOD).unwrap();
    let (code, out, err) = run(&store, &["put-port", good.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("p1: stored (candidates: gw1, gw2)"), "{out}");
    let (code, out, _) = run(&store, &["status", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["port"], "p1");
    assert_eq!(v[0]["candidates"], serde_json::json!(["gw1", "gw2"]));
    assert_eq!(v[0]["leader"], serde_json::Value::Null);

    // Announcements: compare-and-set list, refused prefixes.
    let (code, out, err) = run(
        &store,
        &["announce", "p1", "198.51.100.0/24", "2001:db8::/32"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("announcing 198.51.100.0/24, 2001:db8::/32"),
        "{out}"
    );
    let (code, out, _) = run(&store, &["withdraw", "p1", "198.51.100.0/24"]);
    assert_eq!(code, 0);
    assert!(out.contains("announcing 2001:db8::/32"), "{out}");
    let (code, _, err) = run(&store, &["announce", "p1", "198.51.100.7/24"]);
    assert_eq!(code, 1);
    assert!(err.contains("host bits"), "{err}");
    let (code, _, err) = run(&store, &["announce", "p1", "not-a-prefix"]);
    assert_eq!(code, 2, "{err}");

    // Nothing runs: no hosts, no routes.
    let (code, out, _) = run(&store, &["hosts"]);
    assert_eq!((code, out.as_str()), (0, ""));
    let (code, out, _) = run(&store, &["routes", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), "[]");
    // `--counts` only goes with `--watch`.
    let (code, _, err) = run(&store, &["routes", "--counts"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--watch"), "{err}");

    // remove-port.
    let (code, out, _) = run(&store, &["remove-port", "p1"]);
    assert_eq!(code, 0);
    assert!(out.contains("p1: removed"));
    let (code, _, err) = run(&store, &["remove-port", "p1"]);
    assert_eq!(code, 1);
    assert!(err.contains("no such port"), "{err}");

    // Bad store URLs.
    for url in ["zk://127.0.0.1:1", "http://x:1/r", "zk://h:1/a//b"] {
        let (code, _, err) = run(url, &["hosts"]);
        assert_eq!(code, 2, "{url}: {err}");
        assert!(err.contains("invalid store URL"), "{err}");
    }
    // `run --store` refuses a local file with ports in it.
    let o = bin()
        .args(["run", "--store", &store, "--host-id", "gw1", "--config"])
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("ports come from the store"));
}
