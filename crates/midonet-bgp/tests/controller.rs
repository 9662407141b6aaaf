//! The `midonet-bgp` binary end to end with real FRR: run, status/routes over the control
//! socket, reload on change and SIGHUP, a rejected file keeping the running state, `kill -9` of
//! the controller then restart (leftovers swept), SIGTERM leaving nothing; invalid input
//! rejected before anything is applied; the demo.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../routing/tests/common/mod.rs"]
mod common;
mod support;

use std::path::Path;
use std::process::Command;

use common::*;
use support::{bin, Controller};

fn status_json(socket: &Path) -> Option<serde_json::Value> {
    let o = bin()
        .args(["status", "--json", "--socket"])
        .arg(socket)
        .output()
        .ok()?;
    if !o.status.success() {
        return None;
    }
    // `{"bgpd": {...}, "ports": [...]}`: the ports.
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).ok()?;
    Some(v["ports"].clone())
}

/// `midonet-bgp routes --json` with extra arguments: one JSON object per line.
fn routes_json(socket: &Path, args: &[&str]) -> Option<Vec<serde_json::Value>> {
    let o = bin()
        .args(["routes", "--json", "--socket"])
        .arg(socket)
        .args(args)
        .output()
        .ok()?;
    if !o.status.success() {
        return None;
    }
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The port's peers are up, it counts at least one installed route, and `route` is listed.
fn port_ok(socket: &Path, v: &serde_json::Value, route: &str) -> bool {
    let p = &v[0];
    p["peers"]
        .as_array()
        .is_some_and(|ps| !ps.is_empty() && ps.iter().all(|x| x["state"] == "Established"))
        && p["routes"]["installed"].as_u64().is_some_and(|n| n >= 1)
        && routes_json(socket, &["--prefix", route])
            .is_some_and(|rs| rs.iter().any(|r| r["prefix"] == route))
}

fn config_text(lab: &Lab, run: &Path, networks: &str, keepalive: u32) -> String {
    format!(
        r#"[controller]
prefix = "{prefix}"
run_dir = "{run}"
host_namespace = "{host}"
status_interval = 1
restart_backoff_initial_ms = 200
restart_backoff_max_ms = 2000

[[port]]
name = "p1"
uplink = "up1"
address = "192.0.2.1/24"
local_as = 65001
networks = [{networks}]
[[port.peer]]
address = "192.0.2.2"
remote_as = 65002
keepalive = {keepalive}
hold_time = 30
connect_retry = 5
"#,
        prefix = lab.prefix,
        run = run.display(),
        host = lab.host.name(),
    )
}

fn bgpds_using(run: &Path) -> String {
    let o = Command::new("pgrep")
        .args(["-af", &run.display().to_string()])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.contains("bgpd"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_reload_kill_9_restart_and_clean_exit() {
    let Some(bgpd) = testkit::require_bgpd("controller_reload_kill_9_restart_and_clean_exit")
    else {
        return;
    };
    let lab = Lab::new();
    let ns = lab.provider_ns("up1", &["192.0.2.2/24"]);
    let provider = Provider::start(
        &bgpd,
        ns,
        "prov",
        &provider_config(
            65002,
            "192.0.2.2",
            &[("192.0.2.1", 65001)],
            &["198.51.100.0/24".into()],
        ),
    )
    .await;
    let run = lab.run_path().join("run");
    let socket = run.join("control.sock");
    let file = lab.run_path().join("midonet-bgp.toml");
    let log = lab.run_path().join("controller.log");
    std::fs::write(&file, config_text(&lab, &run, "\"203.0.113.0/24\"", 10)).unwrap();
    let mut ctl = Controller::start(&file, &log);
    assert!(
        wait_blocking(90, || status_json(&socket).is_some_and(|v| port_ok(
            &socket,
            &v,
            "198.51.100.0/24"
        )))
        .await,
        "controller did not converge:\n{}",
        ctl.log()
    );
    // Routes are listed one JSON object per line, page by page (a page of one here), and
    // filtered by port and prefix.
    let routes = routes_json(&socket, &["--page-size", "1"]).unwrap();
    assert_eq!(routes.len(), 1, "{routes:?}");
    assert_eq!(routes[0]["port"], "p1");
    assert_eq!(routes[0]["prefix"], "198.51.100.0/24");
    assert_eq!(routes[0]["paths"][0]["gateway"], "192.0.2.2");
    assert_eq!(routes[0]["paths"][0]["weight"], 1);
    assert!(routes_json(&socket, &["--port", "nope"])
        .unwrap()
        .is_empty());
    assert!(routes_json(&socket, &["--prefix", "10.0.0.0/8"])
        .unwrap()
        .is_empty());
    let status = status_json(&socket).unwrap();
    assert_eq!(status[0]["routes"]["accepted"], 1, "{status}");
    assert_eq!(status[0]["routes"]["refused"], 0, "{status}");
    assert_eq!(status[0]["peers"][0]["routes_installed"], 1, "{status}");
    let text = bin()
        .args(["status", "--socket"])
        .arg(&socket)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.contains("Established") && text.contains("bgpd pid"),
        "{text}"
    );
    assert!(
        wait_blocking(60, || provider
            .learned_from("192.0.2.1")
            .contains("203.0.113.0/24"))
        .await
    );

    // The file changes: reloaded without a signal.
    std::fs::write(
        &file,
        config_text(&lab, &run, "\"203.0.113.0/24\", \"198.51.100.128/25\"", 10),
    )
    .unwrap();
    assert!(
        wait_blocking(60, || provider
            .learned_from("192.0.2.1")
            .contains("198.51.100.128/25"))
        .await,
        "reload on change:\n{}",
        ctl.log()
    );
    // A bad file is rejected and the running state stays.
    std::fs::write(&file, config_text(&lab, &run, "\"203.0.113.0/24\"", 70000)).unwrap();
    assert!(
        wait_blocking(30, || ctl.log().contains("port[0].peer[0].keepalive")).await,
        "rejection not reported:\n{}",
        ctl.log()
    );
    assert!(ctl.alive());
    assert!(provider
        .learned_from("192.0.2.1")
        .contains("198.51.100.128/25"));
    assert!(status_json(&socket).is_some_and(|v| port_ok(&socket, &v, "198.51.100.0/24")));
    // SIGHUP with a good file applies it.
    std::fs::write(&file, config_text(&lab, &run, "\"203.0.113.0/24\"", 10)).unwrap();
    ctl.signal(libc::SIGHUP);
    assert!(
        wait_blocking(60, || !provider
            .learned_from("192.0.2.1")
            .contains("198.51.100.128/25"))
        .await,
        "SIGHUP reload:\n{}",
        ctl.log()
    );
    assert!(ctl.alive());

    // kill -9 of the controller, then a restart: leftovers are swept and BGP comes back.
    let before = status_json(&socket).unwrap();
    let old_pid = before[0]["bgpd_pid"].as_u64();
    let filters_before = tc_filters(&lab, "up1").matches("mirred").count();
    assert!(filters_before > 0);
    ctl.signal(libc::SIGKILL);
    assert!(
        wait_blocking(10, || !ctl.alive()).await,
        "controller survived SIGKILL"
    );
    drop(ctl);
    // Nothing was torn down: the restart has leftovers to sweep.
    assert!(
        !leftovers(&lab).is_empty(),
        "kill -9 left nothing to sweep?"
    );
    let mut ctl = Controller::start(&file, &lab.run_path().join("controller2.log"));
    assert!(
        wait_blocking(120, || status_json(&socket).is_some_and(|v| port_ok(
            &socket,
            &v,
            "198.51.100.0/24"
        )))
        .await,
        "restart after kill -9 did not converge:\n{}",
        ctl.log()
    );
    let after = status_json(&socket).unwrap();
    assert_ne!(after[0]["bgpd_pid"].as_u64(), old_pid);
    assert!(
        wait_blocking(60, || provider
            .learned_from("192.0.2.1")
            .contains("203.0.113.0/24"))
        .await
    );
    // The flows were swept and reinstalled, not duplicated.
    assert_eq!(
        tc_filters(&lab, "up1").matches("mirred").count(),
        filters_before
    );
    // Exactly one bgpd of ours runs.
    assert_eq!(
        bgpds_using(&run).lines().count(),
        1,
        "{}",
        bgpds_using(&run)
    );

    // SIGTERM: a clean exit leaving nothing behind.
    ctl.signal(libc::SIGTERM);
    assert_eq!(ctl.wait_exit(60).await, Some(0), "{}", ctl.log());
    assert!(leftovers(&lab).is_empty(), "{:?}", leftovers(&lab));
    let left: Vec<_> = std::fs::read_dir(&run)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        !left.iter().any(|n| n.to_string_lossy().ends_with(".sock")),
        "{left:?}"
    );
    assert!(bgpds_using(&run).is_empty(), "{}", bgpds_using(&run));
    let out = Command::new("find").arg(&run).output().unwrap();
    let files = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !files.contains(".sock") && !files.contains(".vty") && !files.contains(".pid"),
        "{files}"
    );
    assert!(
        !tc_filters(&lab, "up1").contains("mirred"),
        "{}",
        tc_filters(&lab, "up1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_config_is_rejected_before_anything_is_applied() {
    let Some(()) = testkit::require_root("invalid_config_is_rejected_before_anything_is_applied")
    else {
        return;
    };
    let lab = Lab::new();
    let _ns = lab.provider_ns("up1", &["192.0.2.2/24"]);
    let run = lab.run_path().join("run");
    let file = lab.run_path().join("bad.toml");
    // A valid port and a second one with an injection attempt: nothing at all may be built.
    let good = config_text(&lab, &run, "\"203.0.113.0/24\"", 10);
    let bad = format!(
        "{good}\n[[port]]\nname = \"p2\"\nuplink = \"up1\"\naddress = \"192.0.2.9/24\"\nlocal_as = 65001\n[[port.peer]]\naddress = \"192.0.2.2\"\nremote_as = 65002\npassword = \"x\\nrouter bgp 666\"\n"
    );
    std::fs::write(&file, bad).unwrap();
    let o = bin().args(["run", "--config"]).arg(&file).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("port[1].peer[0].password"), "{err}");
    assert!(leftovers(&lab).is_empty(), "{:?}", leftovers(&lab));
    assert!(!run.exists(), "run directory was created");
    assert!(tc_filters(&lab, "up1").trim().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_controller_with_the_same_prefix_is_refused() {
    let Some(()) = testkit::require_root("a_second_controller_with_the_same_prefix_is_refused")
    else {
        return;
    };
    let lab = Lab::new();
    // Two controllers with their own run directories and sockets but one prefix; no ports, so
    // only the sweep and the control socket are involved.
    let write = |n: &str| {
        let run = lab.run_path().join(n);
        let file = lab.run_path().join(format!("{n}.toml"));
        let text = format!(
            "[controller]\nprefix = \"{}\"\nrun_dir = \"{}\"\nhost_namespace = \"{}\"\n",
            lab.prefix,
            run.display(),
            lab.host.name()
        );
        std::fs::write(&file, text).unwrap();
        (file, run.join("control.sock"))
    };
    let (first_cfg, first_sock) = write("first");
    let (second_cfg, second_sock) = write("second");
    let mut first = Controller::start(&first_cfg, &lab.run_path().join("first.log"));
    assert!(
        wait_blocking(30, || status_json(&first_sock).is_some()).await,
        "first controller never answered: {}",
        first.log()
    );
    let o = tokio::task::spawn_blocking(move || {
        bin().args(["run", "--config"]).arg(&second_cfg).output()
    })
    .await
    .unwrap()
    .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!o.status.success(), "second controller ran: {err}");
    assert!(
        err.contains(&format!("already uses the name prefix `{}`", lab.prefix)),
        "{err}"
    );
    assert!(
        !second_sock.exists(),
        "the refused controller bound its socket"
    );
    // The first one is untouched and still serves.
    assert!(first.alive());
    assert!(status_json(&first_sock).is_some());
    first.signal(libc::SIGTERM);
    assert_eq!(first.wait_exit(30).await, Some(0), "{}", first.log());
    let lock =
        std::path::Path::new(midonet_bgp::lock::LOCK_DIR).join(format!("{}.lock", lab.prefix));
    assert!(!lock.exists(), "lock file left behind");
}

#[test]
fn demo_converges_and_cleans_up() {
    let Some(_bgpd) = testkit::require_bgpd("demo_converges_and_cleans_up") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let o = bin()
        .args([
            "demo",
            "--exit-when-converged",
            "--duration",
            "120",
            "--run-dir",
        ])
        .arg(dir.path().join("demo"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{out}\n{err}");
    for needle in [
        "peer 192.0.2.2 (AS 65002) is Established",
        "peer 2001:db8::2 (AS 65002) is Established",
        "learned  198.51.100.0/25 via 192.0.2.2",
        "learned  2001:db8:1000::/48",
        "[upstream] received 203.0.113.0/24 from AS 65001",
        "[upstream] received 2001:db8:100::/48 from AS 65001",
        "== converged",
        "== done",
    ] {
        assert!(out.contains(needle), "missing {needle:?}:\n{out}\n{err}");
    }
    let ns = testkit::lab::ip(&["netns", "list"]).unwrap();
    assert!(
        !ns.contains("mbgpdemo") && !ns.contains("mnbd-edge"),
        "{ns}"
    );
    assert!(!dir.path().join("demo").exists());
}
