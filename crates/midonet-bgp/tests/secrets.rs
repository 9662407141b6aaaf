//! Issue #14 with the `midonet-bgp` binary and a real bgpd: secrets never leave (debug logs,
//! `status`, `status --json`, `last_error` and the reload reply of a run whose peers have
//! passwords and where a password command fails), and `vty_range` overlapping an address of
//! the host side is refused by `check-config` and `run`, naming the address and interface.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../routing/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use common::*;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_midonet-bgp"));
    c.env_remove("RUST_LOG");
    c
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A running controller (debug logs to a file), killed on drop.
struct Controller(Option<Child>);

impl Controller {
    fn start(config: &Path, log: &Path) -> Controller {
        let out = std::fs::File::create(log).unwrap();
        let child = bin()
            .args(["--log", "debug", "run", "--config"])
            .arg(config)
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .unwrap();
        Controller(Some(child))
    }

    /// SIGTERM, then waits (up to 60 s) for a clean exit.
    fn stop(&mut self) -> bool {
        let Some(mut c) = self.0.take() else {
            return false;
        };
        // SAFETY: signalling our own child by its pid.
        unsafe {
            libc::kill(c.id() as i32, libc::SIGTERM);
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(st)) = c.try_wait() {
                return st.success();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = c.kill();
        let _ = c.wait();
        false
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

const VTY_PASSWORD: &str = "Vty-Secret-Kq83hZ";
const ENABLE_PASSWORD: &str = "Enable-Secret-Pw51xT";
const PEER_A1: &str = "peerA-md5-Jx7q";
const PEER_A2: &str = "peerA-md5-changed-Rb2m";
const PEER_B1: &str = "peerB-md5-Ue4w";
const PEER_B2: &str = "peerB-md5-changed-Lc9v";

fn run_config(lab: &Lab, socket: &Path, a: &str, b: &str) -> String {
    format!(
        r#"{controller}control_socket = "{socket}"
vty_password = "{VTY_PASSWORD}"
enable_password = "{ENABLE_PASSWORD}"

[[port]]
name = "p1"
uplink = "up1"
address = "192.0.2.1/24"
local_as = 65001
[[port.peer]]
address = "192.0.2.2"
remote_as = 65002
password = "{a}"
[[port.peer]]
address = "192.0.2.3"
remote_as = 65003
password = "{b}"
"#,
        controller = lab
            .controller()
            // The actor's poll would resend the whole configuration a second after the failure
            // (clearing `last_error`): keep the failure visible until the test has read it.
            .replace("status_interval = 1\n", "status_interval = 3600\n"),
        socket = socket.display(),
    )
}

fn status(socket: &Path, json: bool) -> Output {
    let mut c = bin();
    c.arg("status");
    if json {
        c.arg("--json");
    }
    c.arg("--socket").arg(socket).output().unwrap()
}

/// Polls `status --json` until `pred` holds on the first port; every output read is kept in
/// `seen`.
async fn wait_status(
    socket: &Path,
    seen: &mut String,
    what: &str,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let o = status(socket, true);
        let t = text(&o);
        seen.push_str(&t);
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&o.stdout) {
            // `{"bgpd": {...}, "ports": [...]}`: the first port.
            let port = &v["ports"][0];
            if pred(port) {
                return port.clone();
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}; last status: {t}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_never_reach_logs_status_or_errors() {
    if testkit::require_bgpd("passwords_never_reach_logs_status_or_errors").is_none() {
        return;
    }
    let lab = Lab::new();
    let _prov = lab.provider_ns("up1", &["192.0.2.2/24", "192.0.2.3/24"]);
    let files = tempfile::tempdir().unwrap();
    let cfg = files.path().join("c.toml");
    let socket = files.path().join("control.sock");
    let log = files.path().join("controller.log");
    std::fs::write(&cfg, run_config(&lab, &socket, PEER_A1, PEER_B1)).unwrap();
    let mut ctl = Controller::start(&cfg, &log);
    let mut seen = String::new();
    wait_status(&socket, &mut seen, "configuration applied", |p| {
        p["config_applied"] == true
    })
    .await;

    // Out of band (with the configured Vty secrets, from the bridge's address as the controller
    // does), bgpd loses neighbor 192.0.2.3: the controller's next password change for it is a
    // command bgpd refuses, an error path that carries the password in the command line.
    let plan = routing::PortPlan::new(
        &config(&run_config(&lab, &socket, PEER_A1, PEER_B1)).controller,
        &config(&run_config(&lab, &socket, PEER_A1, PEER_B1)).ports[0],
        0,
    );
    let stream = tokio::task::block_in_place(|| {
        testkit::lab::connect_tcp_in(lab.host.name(), plan.vty_addr(), Duration::from_secs(10))
    })
    .unwrap();
    stream.set_nonblocking(true).unwrap();
    let stream = tokio::net::TcpStream::from_std(stream).unwrap();
    let opts = vty::VtyOptions {
        password: Some(VTY_PASSWORD.into()),
        enable_password: Some(ENABLE_PASSWORD.into()),
        timeout: Duration::from_secs(10),
    };
    let mut v = vty::Vty::login(stream, &opts).await.unwrap();
    v.batch(
        &[
            "configure terminal",
            "router bgp 65001",
            "no neighbor 192.0.2.3",
            "end",
        ],
        &vty::BatchOptions::default(),
    )
    .await
    .unwrap()
    .into_result()
    .unwrap();
    let _ = v.close().await;

    // New passwords for both peers; the one for 192.0.2.3 fails.
    std::fs::write(&cfg, run_config(&lab, &socket, PEER_A2, PEER_B2)).unwrap();
    let reload = bin()
        .args(["reload", "--socket"])
        .arg(&socket)
        .output()
        .unwrap();
    seen.push_str(&text(&reload));
    assert!(reload.status.success(), "{}", text(&reload));
    let port = wait_status(&socket, &mut seen, "the password command's failure", |p| {
        p["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("neighbor 192.0.2.3 password"))
    })
    .await;
    let last_error = port["last_error"].as_str().unwrap().to_string();
    // The failed command is reported, with its argument redacted.
    assert!(
        last_error.contains("neighbor 192.0.2.3 password <redacted>"),
        "{last_error}"
    );
    seen.push_str(&text(&status(&socket, false)));

    // A reload moving the Vty range onto an address of the host side is refused (naming it),
    // and the running state stays.
    lab.host.add_addr("lo", "10.99.0.1/24").unwrap();
    let moved = run_config(&lab, &socket, PEER_A2, PEER_B2).replace(
        "vty_password =",
        "vty_range = \"10.99.0.0/16\"\nvty_password =",
    );
    std::fs::write(&cfg, moved).unwrap();
    let reload = bin()
        .args(["reload", "--socket"])
        .arg(&socket)
        .output()
        .unwrap();
    let t = text(&reload);
    seen.push_str(&t);
    assert!(!reload.status.success(), "{t}");
    assert!(
        t.contains(
            "controller.vty_range: 10.99.0.0/16 overlaps address 10.99.0.1/24 on interface \"lo\""
        ),
        "{t}"
    );
    let after = status(&socket, true);
    let v: serde_json::Value = serde_json::from_slice(&after.stdout).unwrap();
    assert_eq!(
        v["ports"][0]["bgpd_pid"], port["bgpd_pid"],
        "the port was not rebuilt"
    );

    assert!(ctl.stop(), "the controller did not stop cleanly");
    let logged = std::fs::read_to_string(&log).unwrap();
    // The error path reached the log (so the grep below looks at it), redacted.
    assert!(
        logged.contains("configuration failed") && logged.contains("password <redacted>"),
        "{logged}"
    );
    // bgpd's own log files, if it wrote any, are output of this run too.
    let mut bgpd_logs = String::new();
    for e in std::fs::read_dir(lab.run_path()).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "log") {
            bgpd_logs.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
        }
    }
    for (what, text) in [
        ("controller log", &logged),
        ("status, status --json and reload output", &seen),
        ("last_error", &last_error),
        ("bgpd log files", &bgpd_logs),
    ] {
        for secret in [
            VTY_PASSWORD,
            ENABLE_PASSWORD,
            PEER_A1,
            PEER_A2,
            PEER_B1,
            PEER_B2,
        ] {
            assert!(
                !text.contains(secret),
                "{what} contains {secret:?}:\n{text}"
            );
        }
    }
    assert!(leftovers(&lab).is_empty(), "{:?}", leftovers(&lab));
}

/// A config whose Vty range is the default one, with the host side in `host_ns`.
fn overlap_config(host_ns: &str, run: &Path, range: Option<&str>) -> String {
    format!(
        "[controller]\nprefix = \"{}\"\nrun_dir = \"{}\"\nhost_namespace = \"{host_ns}\"\n{}\
         [[port]]\nname = \"p1\"\nuplink = \"up1\"\naddress = \"192.0.2.1/24\"\nlocal_as = 65001\n\
         [[port.peer]]\naddress = \"192.0.2.2\"\nremote_as = 65002\n",
        unique_prefix(),
        run.display(),
        range
            .map(|r| format!("vty_range = \"{r}\"\n"))
            .unwrap_or_default()
    )
}

#[test]
fn a_vty_range_overlapping_a_host_address_is_refused_with_address_and_interface() {
    if testkit::require_root("a_vty_range_overlapping_a_host_address_is_refused").is_none() {
        return;
    }
    let ns = testkit::lab::TestNs::new("eovl").unwrap();
    ns.ip(&["link", "add", "hostlink0", "type", "bridge"])
        .unwrap();
    ns.add_addr("hostlink0", "169.254.9.1/24").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run: PathBuf = dir.path().join("run");
    let f = dir.path().join("c.toml");

    std::fs::write(&f, overlap_config(ns.name(), &run, None)).unwrap();
    let o = bin().arg("check-config").arg(&f).output().unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains(
            "controller.vty_range: 169.254.0.0/17 overlaps address 169.254.9.1/24 on interface \"hostlink0\""
        ),
        "{t}"
    );
    let o = bin()
        .args(["check-config", "--json"])
        .arg(&f)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["errors"][0]["key"], "controller.vty_range");
    // `run` refuses to start on it too, before building anything.
    let o = bin().arg("run").arg("--config").arg(&f).output().unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("overlaps address 169.254.9.1/24"), "{t}");
    assert!(!run.join("control.sock").exists());
    // So does cluster mode, whose host-local settings carry the Vty range.
    let local = dir.path().join("local.toml");
    let full = overlap_config(ns.name(), &run, None);
    std::fs::write(&local, &full[..full.find("[[port]]").unwrap()]).unwrap();
    let o = bin()
        .args([
            "run",
            "--store",
            "zk://127.0.0.1:1/mnb",
            "--host-id",
            "gw1",
            "--config",
        ])
        .arg(&local)
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("controller.vty_range: 169.254.0.0/17 overlaps address 169.254.9.1/24"),
        "{t}"
    );

    // A private range next to it is fine.
    std::fs::write(&f, overlap_config(ns.name(), &run, Some("198.18.0.0/24"))).unwrap();
    let o = bin().arg("check-config").arg(&f).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
}
