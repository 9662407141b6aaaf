//! Fixtures shared by the container tests.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use ipnetwork::{IpNetwork, Ipv4Network};
use netns::{BridgeSpec, ContainerSpec, DefaultRoute, MacAddr, NetNsGuard, VethSpec};

/// A test namespace playing the host side, so the real host is never touched.
pub fn host_side() -> NetNsGuard {
    NetNsGuard::create(&testkit::unique_name("mnbh")).unwrap()
}

/// The names the tests give a container's objects (the caller's scheme; netns takes any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub namespace: String,
    pub datapath_host: String,
    pub datapath_inside: String,
    pub mgmt_host: String,
    pub mgmt_inside: String,
    pub bridge: String,
}

/// What the tests vary about one container: a datapath veth with the port's MAC, MTU and
/// addresses, and a management veth on a host-side bridge with a private /30 per index, the
/// namespace's default route going through it.
#[derive(Debug, Clone)]
pub struct Port {
    pub prefix: String,
    pub id: String,
    pub index: u32,
    pub mac: MacAddr,
    pub mtu: u32,
    pub addresses: Vec<IpNetwork>,
    pub host: Option<String>,
}

impl Port {
    pub fn names(&self) -> Names {
        // At most 12 bytes, so the longest suffix (`_br`, `_vm`) still fits in 15.
        let id: String = self.id.chars().take(11 - self.prefix.len()).collect();
        let base = format!("{}-{id}", self.prefix);
        Names {
            namespace: base.clone(),
            datapath_host: base.clone(),
            datapath_inside: format!("{base}_m"),
            mgmt_host: format!("{base}_v"),
            mgmt_inside: format!("{base}_vm"),
            bridge: format!("{base}_br"),
        }
    }

    fn mgmt(&self, host: u32) -> Ipv4Network {
        let base = u32::from(std::net::Ipv4Addr::new(169, 254, 0, 0)) + self.index * 4;
        Ipv4Network::new((base + host).into(), 30).unwrap()
    }

    /// The bridge's address (`.1/30` of the index's /30).
    pub fn mgmt_host_addr(&self) -> Ipv4Network {
        self.mgmt(1)
    }

    /// The namespace's management address (`.2/30`).
    pub fn mgmt_ns_addr(&self) -> Ipv4Network {
        self.mgmt(2)
    }

    /// A TCP endpoint on the namespace's management address.
    pub fn mgmt_socket(&self) -> SocketAddr {
        SocketAddr::new(self.mgmt_ns_addr().ip().into(), 2605)
    }

    pub fn spec(&self) -> ContainerSpec {
        let n = self.names();
        let mut s = ContainerSpec::new(n.namespace);
        s.host_netns = self.host.clone();
        let mut dp = VethSpec::new(n.datapath_host, n.datapath_inside);
        dp.mac = Some(self.mac);
        dp.mtu = Some(self.mtu);
        dp.addresses = self.addresses.clone();
        let mut mgmt = VethSpec::new(n.mgmt_host, n.mgmt_inside.clone());
        mgmt.addresses = vec![IpNetwork::V4(self.mgmt_ns_addr())];
        mgmt.bridge = Some(BridgeSpec {
            name: n.bridge,
            addresses: vec![IpNetwork::V4(self.mgmt_host_addr())],
        });
        s.veths = vec![dp, mgmt];
        s.default_route = Some(DefaultRoute {
            gateway: self.mgmt_host_addr().ip().into(),
            via: n.mgmt_inside,
        });
        s
    }
}

/// A unique port whose host side is `host`.
pub fn port(host: &NetNsGuard, index: u32) -> Port {
    // Counter digits first, so even a name cut short by a long prefix stays unique.
    let id: String = testkit::unique_name("")
        .chars()
        .rev()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    Port {
        prefix: "mnb".into(),
        id,
        index,
        mac: MacAddr([0x02, 0x00, 0x5e, 0x10, 0x00, (index % 250) as u8 + 1]),
        mtu: 1500,
        addresses: vec![
            "192.0.2.1/24".parse().unwrap(),
            "2001:db8:1::1/64".parse().unwrap(),
        ],
        host: Some(host.name().to_string()),
    }
}

/// The spec of [`port`].
pub fn spec(host: &NetNsGuard, index: u32) -> ContainerSpec {
    port(host, index).spec()
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
pub fn assert_gone(host: &str, names: &Names) {
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
