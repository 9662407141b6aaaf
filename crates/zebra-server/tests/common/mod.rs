//! Shared fixtures for the interop tests: reading a namespace's interfaces the way the
//! controller would announce them, waiting for events.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::net::IpAddr;
use std::time::{Duration, Instant};

use ipnetwork::IpNetwork;
use testkit::lab::TestNs;
use zebra_server::{iff, Interface, RouteEvent, ServerEvent};

/// The interfaces of `ns` as `ip -j addr show` reports them (real ifindex, MAC, MTU, flags and
/// addresses with their prefix lengths, link-local included).
pub fn interfaces_in(ns: &TestNs) -> Vec<Interface> {
    let out = ns.exec_ok(&["ip", "-j", "addr", "show"]).unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut ifs = Vec::new();
    for l in v.as_array().unwrap() {
        let flags_txt: Vec<&str> = l["flags"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f.as_str())
            .collect();
        let mut flags = 0;
        for (name, bit) in [
            ("UP", iff::UP),
            ("BROADCAST", iff::BROADCAST),
            ("LOOPBACK", iff::LOOPBACK),
            ("MULTICAST", iff::MULTICAST),
            ("LOWER_UP", iff::LOWER_UP | iff::RUNNING),
        ] {
            if flags_txt.contains(&name) {
                flags |= bit;
            }
        }
        let mut mac = [0u8; 6];
        if let Some(a) = l["address"].as_str() {
            for (i, part) in a.split(':').take(6).enumerate() {
                mac[i] = u8::from_str_radix(part, 16).unwrap_or(0);
            }
        }
        let addresses = l["addr_info"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| {
                        let ip: IpAddr = x["local"].as_str().unwrap().parse().unwrap();
                        IpNetwork::new(ip, x["prefixlen"].as_u64().unwrap() as u8).unwrap()
                    })
                    .collect()
            })
            .unwrap_or_default();
        ifs.push(Interface {
            name: l["ifname"].as_str().unwrap().to_string(),
            ifindex: l["ifindex"].as_u64().unwrap() as u32,
            mac,
            mtu: l["mtu"].as_u64().unwrap() as u32,
            flags,
            addresses,
        });
    }
    ifs
}

/// Waits until `ifname` in `ns` has a usable (not tentative) IPv6 link-local address; returns it.
pub fn wait_link_local(ns: &TestNs, ifname: &str) -> IpAddr {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = ns
            .exec_ok(&["ip", "-j", "-6", "addr", "show", "dev", ifname])
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        for l in v.as_array().unwrap() {
            for a in l["addr_info"].as_array().unwrap() {
                let local = a["local"].as_str().unwrap();
                if local.starts_with("fe80") && a.get("tentative").is_none() {
                    return local.parse().unwrap();
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "no link-local address on {ifname}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every event received so far, and a way to wait for more.
pub struct Events {
    rx: zebra_server::EventReceiver,
    /// Everything received, in order.
    pub seen: Vec<ServerEvent>,
}

impl Events {
    /// Wraps a receiver.
    pub fn new(rx: zebra_server::EventReceiver) -> Events {
        Events {
            rx,
            seen: Vec::new(),
        }
    }

    /// Receives until `pred` holds for the newly received event (checked on every event) or
    /// `timeout` passes; returns whether it held.
    pub async fn wait_for(
        &mut self,
        timeout: Duration,
        mut pred: impl FnMut(&ServerEvent) -> bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(ev)) => {
                    let hit = pred(&ev);
                    self.seen.push(ev);
                    if hit {
                        return true;
                    }
                }
                _ => return false,
            }
        }
    }

    /// Receives until the route table implied by the events satisfies `pred` or `timeout`
    /// passes; returns whether it did.
    pub async fn wait_table(
        &mut self,
        timeout: Duration,
        mut pred: impl FnMut(
            &std::collections::BTreeMap<IpNetwork, Vec<zebra_server::RoutePath>>,
        ) -> bool,
    ) -> bool {
        if pred(&self.table()) {
            return true;
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(ev)) => {
                    let route = matches!(ev, ServerEvent::Route(_));
                    self.seen.push(ev);
                    if route && pred(&self.table()) {
                        return true;
                    }
                }
                _ => return false,
            }
        }
    }

    /// Receives whatever arrives within `d`.
    pub async fn drain_for(&mut self, d: Duration) {
        let deadline = tokio::time::Instant::now() + d;
        while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            self.seen.push(ev);
        }
    }

    /// The current route table implied by the events seen so far.
    pub fn table(&self) -> std::collections::BTreeMap<IpNetwork, Vec<zebra_server::RoutePath>> {
        let mut t = std::collections::BTreeMap::new();
        for e in &self.seen {
            match e {
                ServerEvent::Route(RouteEvent::Replace { prefix, paths }) => {
                    t.insert(*prefix, paths.clone());
                }
                ServerEvent::Route(RouteEvent::Withdraw { prefix }) => {
                    t.remove(prefix);
                }
                _ => {}
            }
        }
        t
    }

    /// Route events seen so far.
    pub fn routes(&self) -> Vec<RouteEvent> {
        self.seen
            .iter()
            .filter_map(|e| match e {
                ServerEvent::Route(r) => Some(r.clone()),
                _ => None,
            })
            .collect()
    }
}

/// Parses a prefix.
pub fn net(s: &str) -> IpNetwork {
    s.parse().unwrap()
}
