//! Acceptance of the kernel route sink with real FRR peers: learned routes appear in the kernel
//! table with the right gateways and multipath sets, change and disappear with the peers'
//! announcements; routes of other protocols in the same table are never touched; `kill -9` of
//! the controller leaves the routes in place and the restarted controller keeps exactly the
//! re-learned set; a clean stop removes ours only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../routing/tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;

/// The controller process, killed on drop.
struct Controller(Option<Child>);

impl Controller {
    fn start(config: &Path, log: &Path) -> Controller {
        let out = std::fs::File::create(log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_midonet-bgp"))
            .args(["run", "--config"])
            .arg(config)
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .unwrap();
        Controller(Some(child))
    }

    fn signal(&mut self, sig: i32) {
        if let Some(c) = &self.0 {
            // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
            unsafe {
                libc::kill(c.id() as i32, sig);
            }
        }
    }

    fn wait(&mut self, secs: u64) -> Option<i32> {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        while std::time::Instant::now() < deadline {
            if let Some(c) = self.0.as_mut() {
                if let Ok(Some(st)) = c.try_wait() {
                    self.0 = None;
                    return st.code().or(Some(-1));
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `ip route show table 150 [proto P]` in the host namespace, one line per route.
fn table(lab: &Lab, proto: Option<&str>) -> String {
    let mut args = vec!["-n", lab.host.name(), "route", "show", "table", "150"];
    if let Some(p) = proto {
        args.extend(["proto", p]);
    }
    let o = Command::new("ip").args(&args).output().unwrap();
    // Multipath routes span several lines: join them to one per route.
    String::from_utf8_lossy(&o.stdout)
        .replace("\n\tnexthop", " nexthop")
        .replace("\n\t", " ")
}

fn route<'a>(shown: &'a str, prefix: &str) -> Option<&'a str> {
    shown.lines().find(|l| l.starts_with(&format!("{prefix} ")))
}

fn config(lab: &Lab) -> String {
    format!(
        r#"{controller}
[sink]
kind = "kernel"
table = 150
reconcile_secs = 40

[[port]]
name = "p1"
uplink = "up1"
address = "192.0.2.1/24"
local_as = 65001
[[port.peer]]
address = "192.0.2.2"
remote_as = 65002
keepalive = 5
hold_time = 15
connect_retry = 5

[[port]]
name = "p2"
uplink = "up2"
address = "198.51.100.1/24"
local_as = 65001
[[port.peer]]
address = "198.51.100.2"
remote_as = 65003
keepalive = 5
hold_time = 15
connect_retry = 5
"#,
        controller = lab.controller()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learned_routes_go_to_the_kernel_table_and_survive_kill_9() {
    let Some(bgpd) = testkit::require_bgpd("learned_routes_go_to_the_kernel_table") else {
        return;
    };
    let lab = Lab::new();
    let a = Provider::start(
        &bgpd,
        lab.provider_ns("up1", &["192.0.2.2/24"]),
        "prov",
        &provider_config(
            65002,
            "192.0.2.2",
            &[("192.0.2.1", 65001)],
            &["203.0.113.0/24".into(), "198.18.0.0/24".into()],
        ),
    )
    .await;
    let b = Provider::start(
        &bgpd,
        lab.provider_ns("up2", &["198.51.100.2/24"]),
        "prov",
        &provider_config(
            65003,
            "198.51.100.2",
            &[("198.51.100.1", 65001)],
            &["203.0.113.0/24".into()],
        ),
    )
    .await;
    // Routes of other protocols in our table: one on a prefix we will learn (another metric),
    // one on a prefix of its own.
    let host = lab.host.name().to_string();
    for r in [
        "198.18.0.0/24 via 192.0.2.9 dev up1 onlink table 150 proto static metric 100",
        "198.18.9.0/24 via 192.0.2.9 dev up1 onlink table 150 proto static metric 20",
    ] {
        let mut args = vec!["-n", host.as_str(), "route", "add"];
        args.extend(r.split_whitespace());
        assert!(Command::new("ip").args(&args).status().unwrap().success());
    }
    let statics = table(&lab, Some("static"));
    let file = lab.run_path().join("midonet-bgp.toml");
    std::fs::write(&file, config(&lab)).unwrap();
    let mut ctl = Controller::start(&file, &lab.run_path().join("c1.log"));
    let log1 = lab.run_path().join("c1.log");
    let log = move || std::fs::read_to_string(&log1).unwrap_or_default();

    // Both ports learn 203.0.113.0/24 (equal distance): one multipath route over both uplinks.
    assert!(
        wait_blocking(120, || {
            let t = table(&lab, Some("bgp"));
            route(&t, "203.0.113.0/24").is_some_and(|r| {
                r.contains("nexthop via 192.0.2.2 dev up1 weight 1 onlink")
                    && r.contains("nexthop via 198.51.100.2 dev up2 weight 1 onlink")
            }) && route(&t, "198.18.0.0/24")
                .is_some_and(|r| r.contains("via 192.0.2.2 dev up1") && r.contains("onlink"))
        })
        .await,
        "routes did not reach table 150:\n{}\n{}",
        table(&lab, None),
        log()
    );
    // A route stream client: the current table, then every change.
    let socket = lab.run_path().join("control.sock");
    // `status` reports the table with what the kernel acknowledged: two prefixes of ours.
    let status = || {
        let o = Command::new(env!("CARGO_BIN_EXE_midonet-bgp"))
            .args(["status", "--json", "--socket"])
            .arg(&socket)
            .output()
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap_or_default()
    };
    assert!(
        wait_blocking(30, || {
            let s = status();
            s["fib"][0]["key"]["table"] == 150
                && s["fib"][0]["installed"] == 2
                && s["fib"][0]["refused"] == 0
        })
        .await,
        "status: {}",
        status()
    );
    let mut watcher = Command::new(env!("CARGO_BIN_EXE_midonet-bgp"))
        .args(["routes", "--watch", "--json", "--socket"])
        .arg(&socket)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<serde_json::Value>::new()));
    let reader = {
        let seen = seen.clone();
        let out = watcher.stdout.take().unwrap();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for l in std::io::BufReader::new(out).lines() {
                let Ok(l) = l else { break };
                seen.lock().unwrap().push(serde_json::from_str(&l).unwrap());
            }
        })
    };
    assert!(
        wait_blocking(30, || seen
            .lock()
            .unwrap()
            .iter()
            .any(|v| v["op"] == "synced"))
        .await,
        "no synced line from the watcher"
    );
    {
        let s = seen.lock().unwrap();
        let current: Vec<String> = s
            .iter()
            .take_while(|v| v["op"] != "synced")
            .map(|v| {
                format!(
                    "{} {}",
                    v["port"].as_str().unwrap(),
                    v["prefix"].as_str().unwrap()
                )
            })
            .collect();
        for want in ["p1 203.0.113.0/24", "p1 198.18.0.0/24", "p2 203.0.113.0/24"] {
            assert!(
                current.iter().any(|c| c == want),
                "{want} not in {current:?}"
            );
        }
    }
    // Changes follow the peers: A withdraws the shared prefix and announces a new one.
    a.configure(&[
        "router bgp 65002",
        "address-family ipv4 unicast",
        "no network 203.0.113.0/24",
        "network 198.18.1.0/24",
    ]);
    assert!(
        wait_blocking(60, || {
            let t = table(&lab, Some("bgp"));
            route(&t, "203.0.113.0/24")
                .is_some_and(|r| r.contains("via 198.51.100.2 dev up2") && !r.contains("192.0.2.2"))
                && route(&t, "198.18.1.0/24").is_some()
        })
        .await,
        "changes did not reach table 150:\n{}",
        table(&lab, None)
    );
    assert_eq!(table(&lab, Some("static")), statics);
    // The watcher saw both changes of p1, in the order bgpd made them, after the snapshot.
    assert!(
        wait_blocking(30, || {
            let s = seen.lock().unwrap();
            let changes: Vec<String> = s
                .iter()
                .skip_while(|v| v["op"] != "synced")
                .skip(1)
                .filter(|v| v["port"] == "p1")
                .map(|v| {
                    format!(
                        "{} {}",
                        v["op"].as_str().unwrap(),
                        v["prefix"].as_str().unwrap()
                    )
                })
                .collect();
            changes.contains(&"withdraw 203.0.113.0/24".to_string())
                && changes.contains(&"replace 198.18.1.0/24".to_string())
        })
        .await,
        "watcher missed changes: {:?}",
        seen.lock().unwrap()
    );
    {
        let s = seen.lock().unwrap();
        let r = s
            .iter()
            .find(|v| v["op"] == "replace" && v["prefix"] == "198.18.1.0/24")
            .unwrap();
        assert_eq!(r["paths"][0]["gateway"], "192.0.2.2");
    }

    // kill -9: every route stays.
    ctl.signal(libc::SIGKILL);
    assert!(ctl.wait(10).is_some());
    // The watcher ends with its controller.
    let _ = watcher.wait();
    reader.join().unwrap();
    let before = table(&lab, Some("bgp"));
    assert_eq!(before.lines().count(), 3, "{before}");
    // While the controller is down, A withdraws 198.18.1.0/24.
    a.configure(&[
        "router bgp 65002",
        "address-family ipv4 unicast",
        "no network 198.18.1.0/24",
    ]);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        table(&lab, Some("bgp")),
        before,
        "routes changed with no controller"
    );

    let mut ctl = Controller::start(&file, &lab.run_path().join("c2.log"));
    // Re-learned routes never leave the table; the one not re-learned goes when the grace ends.
    let mut gaps = Vec::new();
    let swept = wait_blocking(120, || {
        let t = table(&lab, Some("bgp"));
        for p in ["203.0.113.0/24", "198.18.0.0/24"] {
            if route(&t, p).is_none() {
                gaps.push(format!("{p} missing:\n{t}"));
            }
        }
        route(&t, "198.18.1.0/24").is_none()
    })
    .await;
    assert!(swept, "stale route never swept:\n{}", table(&lab, None));
    assert!(
        gaps.is_empty(),
        "re-learned routes left the table: {gaps:?}"
    );
    let after = table(&lab, Some("bgp"));
    assert_eq!(after.lines().count(), 2, "{after}");
    assert!(route(&after, "203.0.113.0/24").is_some_and(|r| r.contains("198.51.100.2")));
    assert_eq!(table(&lab, Some("static")), statics);

    // A clean stop removes ours, and only ours.
    ctl.signal(libc::SIGTERM);
    assert_eq!(ctl.wait(60), Some(0));
    assert_eq!(table(&lab, Some("bgp")), "");
    assert_eq!(table(&lab, Some("static")), statics);
    drop(b);
}
