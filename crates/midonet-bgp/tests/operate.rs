//! Operating the binary: `check-config --json`, `reload`, `--log-format json` and the systemd
//! readiness notifications of `run`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_midonet-bgp"))
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

const GOOD: &str = r#"
[controller]
run_dir = "/tmp/mbgp-ops-test"
[[port]]
name = "uplink1"
uplink = "eth1"
address = "192.0.2.1/24"
address6 = "2001:db8::1/64"
local_as = 65001
networks = ["203.0.113.0/24"]
[[port.peer]]
address = "192.0.2.2"
remote_as = 65002
[[port.peer]]
address = "2001:db8::2"
remote_as = 65002
"#;

fn json_of(out: &str) -> serde_json::Value {
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON line expected: {out}");
    serde_json::from_str(lines[0]).unwrap()
}

#[test]
fn check_config_json_reports_counts_or_every_problem_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(&good, GOOD).unwrap();
    let o = bin()
        .args(["check-config", "--json"])
        .arg(&good)
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    let v = json_of(&out);
    assert_eq!(v["ok"], true);
    assert_eq!(v["ports"], 1);
    assert_eq!(v["peers"], 2);
    assert_eq!(v["file"], good.to_str().unwrap());

    let bad = dir.path().join("bad.toml");
    let text_bad = GOOD
        .replace(
            "remote_as = 65002\n[[",
            "remote_as = 65002\nkeepalive = 70000\n[[",
        )
        .replace("local_as = 65001", "local_as = 0");
    std::fs::write(&bad, text_bad).unwrap();
    let o = bin()
        .args(["check-config", "--json"])
        .arg(&bad)
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}{err}");
    let v = json_of(&out);
    assert_eq!(v["ok"], false);
    let errors = v["errors"].as_array().unwrap();
    let keys: Vec<&str> = errors.iter().map(|e| e["key"].as_str().unwrap()).collect();
    assert!(keys.contains(&"port[0].peer[0].keepalive"), "{out}");
    assert!(keys.contains(&"port[0].local_as"), "{out}");
    assert!(errors
        .iter()
        .all(|e| !e["reason"].as_str().unwrap().is_empty()));

    let syntax = dir.path().join("syntax.toml");
    std::fs::write(&syntax, "[controller\n").unwrap();
    let o = bin()
        .args(["check-config", "--json"])
        .arg(&syntax)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let v = json_of(&text(&o).0);
    assert_eq!(v["ok"], false);
    assert_eq!(v["errors"].as_array().unwrap().len(), 1);

    let o = bin()
        .args(["check-config", "--json"])
        .arg(dir.path().join("missing.toml"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let v = json_of(&text(&o).0);
    assert!(
        v["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("cannot read"),
        "{v}"
    );
}

#[test]
fn reload_without_a_controller_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("nobody.sock");
    let o = bin()
        .arg("reload")
        .arg("--socket")
        .arg(&sock)
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(err.contains("reload failed"), "{err}");
    assert!(err.contains(sock.to_str().unwrap()), "{err}");
    let o = bin()
        .args(["reload", "--log-format", "yaml"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o).1);
}

/// A controller process, killed on drop.
struct Controller(Child);

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits for the next notification datagram (up to `secs`).
fn next_notification(sock: &UnixDatagram, secs: u64) -> String {
    sock.set_read_timeout(Some(Duration::from_secs(secs)))
        .unwrap();
    let mut buf = [0u8; 512];
    let n = sock.recv(&mut buf).expect("a notification");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn wait_exit(child: &mut Child, secs: u64) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn no_port_config(run: &Path) -> String {
    format!(
        "[controller]\nprefix = \"mnbo\"\nrun_dir = \"{}\"\n",
        run.display()
    )
}

/// `run` tells systemd it is ready once the first configuration is applied, brackets each reload
/// with RELOADING=1 / READY=1, and says STOPPING=1; `reload` reports accepted and rejected
/// files; `--log-format json` writes one JSON object per line.
#[test]
fn run_notifies_systemd_and_reload_reports_the_verdict() {
    let Some(()) = testkit::require_root("run_notifies_systemd_and_reload_reports_the_verdict")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let config = dir.path().join("c.toml");
    std::fs::write(&config, no_port_config(&run)).unwrap();
    let notify_path = dir.path().join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    let log = dir.path().join("log.jsonl");
    let mut c = Controller(
        bin()
            .args(["--log-format", "json", "run", "--config"])
            .arg(&config)
            .env("NOTIFY_SOCKET", &notify_path)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    assert_eq!(next_notification(&notify, 30), "READY=1");

    let o = bin()
        .arg("reload")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert_eq!(out.trim(), "reloaded");
    let reloading = next_notification(&notify, 30);
    assert!(
        reloading.starts_with("RELOADING=1\nMONOTONIC_USEC="),
        "{reloading}"
    );
    assert_eq!(next_notification(&notify, 30), "READY=1");

    // A rejected file: the verdict names the key, the running state stays.
    std::fs::write(
        &config,
        format!("{}status_interval = 0\n", no_port_config(&run)),
    )
    .unwrap();
    let o = bin()
        .arg("reload")
        .arg("--socket")
        .arg(run.join("control.sock"))
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(err.contains("controller.status_interval"), "{err}");
    let o = bin()
        .arg("status")
        .arg("--socket")
        .arg(run.join("control.sock"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o).1);

    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(c.0.id() as i32, libc::SIGTERM) };
    assert_eq!(next_notification(&notify, 30), "STOPPING=1");
    let status = wait_exit(&mut c.0, 30).expect("controller exits on SIGTERM");
    assert!(status.success(), "{status}");

    let logged = std::fs::read_to_string(&log).unwrap();
    let events: Vec<serde_json::Value> = logged
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    let messages: Vec<&str> = events
        .iter()
        .filter_map(|e| e["message"].as_str())
        .collect();
    for m in ["started", "configuration reloaded", "shutting down"] {
        assert!(messages.contains(&m), "{m:?} not in {messages:?}");
    }
    assert!(events
        .iter()
        .all(|e| e["level"].is_string() && e["timestamp"].is_string()));
}

/// With `--log-format json`, events about a port and a peer carry them as fields: the demo's
/// sessions reach Established and that is logged as `{"port": "edge", "peer": ..., "state":
/// "Established"}`.
#[test]
fn json_logs_carry_port_and_peer_fields() {
    let Some(_bgpd) = testkit::require_bgpd("json_logs_carry_port_and_peer_fields") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let o = bin()
        .args([
            "--log-format",
            "json",
            "--log",
            "info",
            "demo",
            "--exit-when-converged",
            "--duration",
            "120",
            "--run-dir",
        ])
        .arg(dir.path().join("demo"))
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    let events: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    for peer in ["192.0.2.2", "2001:db8::2"] {
        assert!(
            events
                .iter()
                .any(|e| e["port"] == "edge" && e["peer"] == peer && e["state"] == "Established"),
            "no Established event for {peer}:\n{err}"
        );
    }
    assert!(
        events
            .iter()
            .any(|e| e["port"] == "edge" && e["message"] == "bgpd ready; configuring"),
        "{err}"
    );
}
