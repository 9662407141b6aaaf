//! Fixtures shared by the container tests.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use netns::{ContainerSpec, MacAddr, NetNsGuard};

/// A test namespace playing the host side, so the real host is never touched.
pub fn host_side() -> NetNsGuard {
    NetNsGuard::create(&testkit::unique_name("mnbh")).unwrap()
}

/// A spec for a unique port whose host side is `host`.
pub fn spec(host: &NetNsGuard, index: u32) -> ContainerSpec {
    // Counter digits first, so even a name cut short by a long prefix stays unique.
    let id: String = testkit::unique_name("").chars().rev().collect();
    let mut s = ContainerSpec::new(
        id,
        index,
        MacAddr([0x02, 0x00, 0x5e, 0x10, 0x00, (index % 250) as u8 + 1]),
        vec![
            "192.0.2.1/24".parse().unwrap(),
            "2001:db8:1::1/64".parse().unwrap(),
        ],
    );
    s.host_netns = Some(host.name().to_string());
    s
}

/// Runs `ip` with `args`; returns (success, stdout+stderr).
pub fn ip(args: &[&str]) -> (bool, String) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Pings `addr` from namespace `ns` until it answers (or 15 s pass).
pub fn ping_from(ns: &str, addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (ok, out) = ip(&[
            "netns", "exec", ns, "ping", "-n", "-c", "1", "-W", "1", addr,
        ]);
        if ok {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "ping {addr} from {ns} never answered: {out}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Connects from namespace `ns` to `addr` until it succeeds (or 15 s pass).
pub fn connect_from(ns: &netns::NetNs, addr: SocketAddr) -> TcpStream {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match ns
            .run(move || TcpStream::connect_timeout(&addr, Duration::from_secs(1)))
            .unwrap()
        {
            Ok(s) => return s,
            Err(e) => assert!(
                Instant::now() < deadline,
                "connect {addr} from {}: {e}",
                ns.name()
            ),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Names of the links in namespace `ns` (via iproute2).
pub fn link_names(ns: &str) -> Vec<String> {
    // stdout only: iproute2 may warn on stderr about peers in namespaces it cannot name.
    let out = Command::new("ip")
        .args(["-n", ns, "-o", "link", "show"])
        .output()
        .expect("run ip");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n).to_string())
        .collect()
}

/// Asserts that nothing of `names` is left: no namespace, only `lo` on the host side.
pub fn assert_gone(host: &str, names: &netns::ContainerNames) {
    assert!(
        !netns::list().unwrap().contains(&names.namespace),
        "namespace {} left",
        names.namespace
    );
    assert_eq!(
        link_names(host),
        vec!["lo".to_string()],
        "links left in {host}"
    );
}

/// Adds a link of a kind that is not ours (a tap; a vxlan where the kernel has no tun) named
/// `name` in namespace `ns`; returns the kind the kernel reports. Neither kind makes the kernel
/// create default devices in the host namespace when its module loads (dummy and ifb would).
pub fn add_foreign_link(ns: &str, name: &str) -> &'static str {
    let (ok, out) = ip(&["-n", ns, "tuntap", "add", "mode", "tap", "name", name]);
    if ok {
        return "tun";
    }
    let (ok2, out2) = ip(&[
        "-n", ns, "link", "add", name, "type", "vxlan", "id", "42", "dstport", "4789",
    ]);
    assert!(ok2, "cannot add a foreign link {name} in {ns}: {out}{out2}");
    "vxlan"
}
