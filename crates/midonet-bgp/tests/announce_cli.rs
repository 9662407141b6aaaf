//! `midonet-bgp announce` / `withdraw` against the running binary with a real FRR peer: the
//! announcement reaches the peer with its MED and communities and is listed by `status`;
//! invalid ones fail with the controller's reason and change nothing; `withdraw` removes it.
//! Needs root and FRR (skipped elsewhere, never under CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../routing/tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use common::*;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_midonet-bgp"))
}

/// A running controller, killed on drop.
struct Controller(Child);

impl Drop for Controller {
    fn drop(&mut self) {
        // SIGTERM first: the controller removes its namespaces and bgpds on the way out.
        // SAFETY: kill(2) on the pid of the child this test spawned; no memory involved.
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGTERM);
        }
        for _ in 0..100 {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn ask(socket: &Path, args: &[&str]) -> Output {
    bin()
        .args(args)
        .arg("--socket")
        .arg(socket)
        .output()
        .unwrap()
}

fn status_json(socket: &Path) -> Option<serde_json::Value> {
    let o = ask(socket, &["status", "--json"]);
    if !o.status.success() {
        return None;
    }
    serde_json::from_slice(&o.stdout).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announce_and_withdraw_through_the_control_socket() {
    let Some(bgpd) = testkit::require_bgpd("announce_and_withdraw_through_the_control_socket")
    else {
        return;
    };
    let lab = Lab::new();
    let ns = lab.provider_ns("up1", &["192.0.2.2/24"]);
    let conf = provider_config(65002, "192.0.2.2", &[("192.0.2.1", 65001)], &[]);
    let provider = Provider::start(&bgpd, ns, "prov", &conf).await;
    let run = lab.run_path().join("run");
    let socket = run.join("control.sock");
    let file = lab.run_path().join("midonet-bgp.toml");
    std::fs::write(
        &file,
        format!(
            r#"{controller}
control_socket = "{socket}"

[[port]]
name = "p1"
uplink = "up1"
address = "192.0.2.1/24"
local_as = 65001
networks = ["203.0.113.0/24"]
[[port.peer]]
address = "192.0.2.2"
remote_as = 65002
keepalive = 5
hold_time = 15
connect_retry = 5
[port.peer.export]
prefixes = [
  {{ action = "permit", prefix = "198.0.0.0/8", le = 24 }},
  {{ action = "permit", prefix = "203.0.113.0/24" }},
]
"#,
            controller = lab.controller(),
            socket = socket.display()
        ),
    )
    .unwrap();
    let log = std::fs::File::create(lab.run_path().join("controller.log")).unwrap();
    let _ctl = Controller(
        bin()
            .args(["run", "--config"])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let learned = || provider.learned_from("192.0.2.1");
    assert!(
        wait_blocking(90, || learned().contains("203.0.113.0/24")).await,
        "the controller did not come up: {:?}",
        std::fs::read_to_string(lab.run_path().join("controller.log"))
    );

    let o = ask(
        &socket,
        &[
            "announce",
            "p1",
            "198.51.100.0/24",
            "--community",
            "65001:100,65001:200",
            "--med",
            "70",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "announced 198.51.100.0/24 from p1\n"
    );
    let at_peer = || {
        let text = provider
            .bgpd
            .vtysh(&["show bgp ipv4 unicast 198.51.100.0/24 json"])
            .unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        v["paths"][0].clone()
    };
    assert!(
        wait_blocking(60, || {
            let p = at_peer();
            p["metric"] == 70 && p["community"]["string"] == "65001:100 65001:200"
        })
        .await,
        "{}",
        at_peer()
    );
    let v = status_json(&socket).unwrap();
    assert_eq!(
        v["ports"][0]["announced"],
        serde_json::json!([{"prefix": "198.51.100.0/24", "communities": ["65001:100", "65001:200"], "med": 70}])
    );
    let text = String::from_utf8_lossy(&ask(&socket, &["status"]).stdout).into_owned();
    assert!(
        text.contains("announced 198.51.100.0/24 community 65001:100 65001:200 med 70"),
        "{text}"
    );

    // Refused by the controller (exit 1, its reason) or by the command line (exit 2).
    for (args, code, why) in [
        (
            vec!["announce", "p1", "198.51.100.0/24"],
            1,
            "already announces",
        ),
        (vec!["announce", "p9", "198.18.0.0/15"], 1, "no port named"),
        (
            vec!["announce", "p1", "2001:db8:9::/48"],
            1,
            "no IPv6 address or peer",
        ),
        (vec!["announce", "p1", "198.18.0.1/15"], 1, "host bits set"),
        (
            vec!["announce", "p1", "198.51.100.128/25"],
            1,
            "export policy forbids",
        ),
        (
            vec!["announce", "p1", "198.18.0.0/15", "--community", "70000:1"],
            2,
            "community",
        ),
        (vec!["announce", "p1", "300.0.0.0/8"], 2, "invalid value"),
        (
            vec!["withdraw", "p1", "203.0.113.0/24"],
            1,
            "configured networks",
        ),
    ] {
        let o = ask(&socket, &args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains(why), "{args:?}: {err}");
    }
    assert_eq!(
        status_json(&socket).unwrap()["ports"][0]["announced"],
        v["ports"][0]["announced"]
    );
    let want: std::collections::BTreeSet<String> = ["203.0.113.0/24", "198.51.100.0/24"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(learned(), want);

    let o = ask(&socket, &["withdraw", "p1", "198.51.100.0/24"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        wait_blocking(60, || !learned().contains("198.51.100.0/24")).await,
        "{:?}",
        learned()
    );
    assert!(learned().contains("203.0.113.0/24"));
    assert_eq!(
        status_json(&socket).unwrap()["ports"][0]["announced"],
        serde_json::json!([])
    );
}
