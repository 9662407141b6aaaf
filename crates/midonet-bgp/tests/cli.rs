//! The command line: configuration checks and input errors (no privileges needed).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

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
run_dir = "/tmp/mbgp-cli-test"
[[port]]
name = "uplink1"
uplink = "eth1"
address = "192.0.2.1/24"
local_as = 65001
networks = ["203.0.113.0/24"]
[[port.peer]]
address = "192.0.2.2"
remote_as = 65002
"#;

#[test]
fn check_config_accepts_a_good_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("good.toml");
    std::fs::write(&f, GOOD).unwrap();
    let o = bin().arg("check-config").arg(&f).output().unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(out.contains("OK (1 port(s), 1 peer(s))"), "{out}");
    // The default bgpd_path is Debian's FRR bgpd: its version and profile are named.
    if testkit::find_bgpd().is_some() || testkit::in_ci() {
        assert!(out.contains("bgpd: /usr/lib/frr/bgpd is FRR "), "{out}");
        assert!(out.contains("(zebra profile FRR "), "{out}");
    }
}

#[test]
fn check_config_names_what_a_quagga_port_cannot_do() {
    let dir = tempfile::tempdir().unwrap();
    // Quagga 1.2.4's `bgpd --version` first line; the real build too when it is there.
    let fake = dir.path().join("bgpd");
    std::fs::write(&fake, "#!/bin/sh\necho 'bgpd version 1.2.4'\n").unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut binaries = vec![fake];
    binaries.extend(testkit::find_quagga());
    for binary in binaries {
        let f = dir.path().join("q.toml");
        // Graceful restart is on by default, with preserve-fw-state, which Quagga lacks.
        let conf = GOOD.replace(
            "[controller]\n",
            &format!("[controller]\nbgpd_path = \"{}\"\n", binary.display()),
        );
        std::fs::write(&f, conf).unwrap();
        let o = bin().arg("check-config").arg(&f).output().unwrap();
        let (out, err) = text(&o);
        assert!(o.status.success(), "{out}{err}");
        assert!(out.contains("is Quagga 1.2.4 (zebra profile "), "{out}");
        assert!(
            err.contains(
                "warning: port uplink1: Quagga bgpd (Quagga 1.2.4) cannot do \
                 graceful_restart preserve-fw-state"
            ),
            "{err}"
        );
        // What `routing/tests/e2e_quagga_gr.rs` proves with the real daemons.
        assert!(err.contains("a bgpd restart is not hitless"), "{err}");
        let o = bin()
            .args(["check-config", "--json"])
            .arg(&f)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["bgpd"]["flavour"], "Quagga");
        assert!(v["warnings"][0]
            .as_str()
            .unwrap()
            .contains("preserve-fw-state"));
        // Without graceful restart nothing is left out.
        let conf = std::fs::read_to_string(&f).unwrap().replace(
            "local_as = 65001\n",
            "local_as = 65001\ngraceful_restart = false\n",
        );
        std::fs::write(&f, conf).unwrap();
        let o = bin().arg("check-config").arg(&f).output().unwrap();
        let (out, err) = text(&o);
        assert!(o.status.success(), "{out}{err}");
        assert!(!err.contains("cannot do"), "{err}");
        // Communities Quagga refuses (`% Malformed communities attribute`) are named.
        let conf = format!(
            "{}[port.peer.export]\ncommunities = [\"65001:7\", \"blackhole\"]\n",
            std::fs::read_to_string(&f).unwrap()
        );
        std::fs::write(&f, conf).unwrap();
        let o = bin().arg("check-config").arg(&f).output().unwrap();
        let (out, err) = text(&o);
        assert!(o.status.success(), "{out}{err}");
        assert!(
            err.contains("cannot do communities no-peer, blackhole, graceful-shutdown"),
            "{err}"
        );
    }
}

#[test]
fn check_config_refuses_an_unsupported_or_unknown_bgpd() {
    let dir = tempfile::tempdir().unwrap();
    // A "bgpd" reporting FRR 9.1 (renumbered commands, no profile) and one printing nothing.
    let fake = dir.path().join("bgpd-9.1");
    std::fs::write(&fake, "#!/bin/sh\necho 'bgpd version 9.1'\n").unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    for (binary, expected) in [
        (
            fake.display().to_string(),
            "bgpd FRR 9.1 is not supported (supported: FRR 8.2",
        ),
        ("/bin/true".to_string(), "no \"bgpd version X.Y\" line"),
    ] {
        let f = dir.path().join("c.toml");
        let conf = GOOD.replace(
            "[controller]\n",
            &format!("[controller]\nbgpd_path = \"{binary}\"\n"),
        );
        std::fs::write(&f, conf).unwrap();
        let o = bin().arg("check-config").arg(&f).output().unwrap();
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{out}{err}");
        assert!(err.contains("controller.bgpd_path: "), "{err}");
        assert!(err.contains(expected), "{err}");
    }
}

#[test]
fn check_config_lists_every_problem_with_its_key_path() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.toml");
    let bad = GOOD
        .replace(
            "remote_as = 65002",
            "remote_as = 65002\nkeepalive = 70000\ndescription = \"x\\n router bgp 1\"",
        )
        .replace("\"203.0.113.0/24\"", "\"203.0.113.7/24\"");
    let bad = format!(
        "{bad}[[port.peer]]\naddress = \"198.51.100.1\"\nremote_as = 65003\npassword = \"a b\"\n"
    );
    std::fs::write(&f, bad).unwrap();
    let o = bin().arg("check-config").arg(&f).output().unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for needle in [
        "port[0].peer[0].keepalive: 70000 is outside 0–65535",
        "port[0].peer[0].description",
        "character '\\n' at offset 1 is not allowed",
        "port[0].networks[0]: 203.0.113.7/24 has host bits set",
        "port[0].peer[1].address: 198.51.100.1 is outside the port's subnet",
        "port[0].peer[1].password",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_command_lines_fail_cleanly() {
    for args in [
        vec!["frobnicate"],
        vec!["run"],
        vec!["demo", "--duration", "0"],
        vec!["demo", "--duration", "soon"],
        vec!["status", "--socket", "/a", "--config", "/b"],
    ] {
        let o = bin().args(&args).output().unwrap();
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("error"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    let o = bin()
        .args(["check-config", "/nonexistent/x.toml"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("cannot read"), "{}", text(&o).1);
    let o = bin()
        .args(["run", "--config", "/nonexistent/x.toml"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn status_without_a_running_controller_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("none.sock");
    for cmd in ["status", "routes"] {
        let o = bin()
            .args([cmd, "--json", "--socket"])
            .arg(&sock)
            .output()
            .unwrap();
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains("none.sock"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn status_reads_the_socket_from_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.toml");
    let sock = dir.path().join("ctl.sock");
    std::fs::write(
        &f,
        GOOD.replace(
            "run_dir = \"/tmp/mbgp-cli-test\"",
            &format!(
                "run_dir = \"/tmp/mbgp-cli-test\"\ncontrol_socket = \"{}\"",
                sock.display()
            ),
        ),
    )
    .unwrap();
    let o = bin().args(["status", "--config"]).arg(&f).output().unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(err.contains("ctl.sock"), "{err}");
}

#[test]
fn check_config_takes_rfc_timers_warns_about_a_lowered_keepalive_and_refuses_what_cannot_render() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("timers.toml");
    // FRR's datacenter timers (issue #13).
    let dc = GOOD.replace(
        "remote_as = 65002",
        "remote_as = 65002\nkeepalive = 3\nhold_time = 9\nconnect_retry = 2",
    );
    std::fs::write(&f, dc).unwrap();
    let o = bin().arg("check-config").arg(&f).output().unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(!err.contains("warning"), "{err}");
    // bgpd accepts a keepalive above a third of the hold time and lowers it: a warning.
    let lowered = GOOD.replace("remote_as = 65002", "remote_as = 65002\nhold_time = 9");
    std::fs::write(&f, lowered).unwrap();
    let o = bin().arg("check-config").arg(&f).output().unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(
        err.contains("warning: port[0].peer[0].hold_time: keepalive 60 s is more than a third"),
        "{err}"
    );
    // Two inner spaces: bgpd would store another description, so it is an error here.
    let spaced = GOOD.replace(
        "remote_as = 65002",
        "remote_as = 65002\ndescription = \"provider  A\"",
    );
    std::fs::write(&f, spaced).unwrap();
    let o = bin().arg("check-config").arg(&f).output().unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("port[0].peer[0].description: \"provider  A\": description: leading, trailing or repeated spaces"),
        "{err}"
    );
}

#[test]
fn check_config_validates_the_route_sink() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("sink.toml");
    // Out-of-range values are named by key path.
    let bad = format!(
        "[sink]\nkind = \"fib\"\ntable = 0\n{GOOD}[port.sink]\ntable = 255\nnamespace = \"a/b\"\n"
    );
    std::fs::write(&f, bad).unwrap();
    let o = bin().arg("check-config").arg(&f).output().unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for needle in [
        "sink.kind: \"fib\" is not \"kernel\" or \"none\"",
        "sink.table: 0 is not a routing table id",
        "port[0].sink.table: 255 is the kernel's local table",
        "port[0].sink.namespace",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    // A namespace that does not exist is found by check-config.
    let absent = format!("[sink]\nkind = \"kernel\"\nnamespace = \"mnb-absent-sink-ns\"\n{GOOD}");
    std::fs::write(&f, absent).unwrap();
    let o = bin().arg("check-config").arg(&f).output().unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("sink.namespace: namespace \"mnb-absent-sink-ns\" does not exist"),
        "{err}"
    );
    // A good kernel sink passes.
    let good = format!("[sink]\nkind = \"kernel\"\ntable = 100\n{GOOD}");
    std::fs::write(&f, good).unwrap();
    let o = bin().arg("check-config").arg(&f).output().unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
}

#[test]
fn output_to_a_closed_pipe_ends_quietly() {
    use std::os::fd::{FromRawFd, OwnedFd};
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("good.toml");
    std::fs::write(&f, GOOD).unwrap();
    // A pipe whose reading end is closed before the command writes (`… | head -0`).
    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills the two-element array it is given.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors were just created by pipe(2) and are owned here only.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    let o = bin()
        .arg("check-config")
        .arg(&f)
        .stdout(std::process::Stdio::from(write))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
