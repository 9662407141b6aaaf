//! The lab the kernel tests share: a namespace with veth uplinks, and `ip` helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::process::Command;

use fib::{Fib, FibConfig, TableSpec};
use ipnetwork::IpNetwork;
use netns::NetNsGuard;
use serde_json::Value;

/// A namespace with veth uplinks `up0` and `up1` (`up0` (192.0.2.10/24, 2001:db8::10/64), removed on drop.
pub struct Lab {
    ns: NetNsGuard,
    pub name: String,
}

pub fn ip(ns: &str, args: &str) -> std::process::Output {
    let out = Command::new("ip")
        .arg("-n")
        .arg(ns)
        .args(args.split_whitespace())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ip -n {ns} {args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl Lab {
    pub fn new() -> Lab {
        let name = testkit::unique_name("fib");
        let ns = NetNsGuard::create(&name).unwrap();
        ip(&name, "link add name up0 type veth peer name up0p");
        ip(&name, "link add name up1 type veth peer name up1p");
        ip(&name, "link set up0p up");
        ip(&name, "link set up1p up");
        ip(&name, "addr add 192.0.2.10/24 dev up0");
        ip(&name, "addr add 2001:db8::10/64 dev up0 nodad");
        ip(&name, "link set up0 up");
        ip(&name, "link set up1 up");
        Lab { ns, name }
    }

    pub fn fib(&self, table: u32) -> Fib {
        Fib::open(&FibConfig {
            table: TableSpec::Id(table),
            namespace: Some(self.name.clone()),
            ..FibConfig::default()
        })
        .unwrap()
    }

    /// `ip -j route show table T [proto bgp]` for both families.
    pub fn routes(&self, table: &str, proto: Option<&str>) -> Vec<Value> {
        let mut all = Vec::new();
        for fam in ["-4", "-6"] {
            let mut args = format!("{fam} -j route show table {table}");
            if let Some(p) = proto {
                args.push_str(&format!(" proto {p}"));
            }
            let out = Command::new("ip")
                .arg("-n")
                .arg(&self.name)
                .args(args.split_whitespace())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            if !out.status.success() && stderr.contains("FIB table does not exist") {
                continue; // IPv6 tables exist only once they hold a route
            }
            assert!(out.status.success(), "ip {args}: {stderr}");
            let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Array(vec![]));
            if let Value::Array(a) = v {
                all.extend(a);
            }
        }
        all
    }

    pub fn route(&self, table: &str, dst: &str) -> Option<Value> {
        self.routes(table, Some("bgp"))
            .into_iter()
            .find(|r| r["dst"] == dst)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // NetNsGuard deletes the namespace (and with it every link and route).
        let _ = &self.ns;
    }
}

pub fn p(s: &str) -> IpNetwork {
    s.parse().unwrap()
}

pub fn a(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub fn gateways(route: &Value) -> Vec<String> {
    match route.get("nexthops") {
        Some(Value::Array(hops)) => {
            let mut g: Vec<String> = hops
                .iter()
                .map(|h| h["gateway"].as_str().unwrap_or("").to_string())
                .collect();
            g.sort();
            g
        }
        _ => vec![route["gateway"].as_str().unwrap_or("").to_string()],
    }
}

/// Our nexthop objects in the lab: `ip -j nexthop show protocol 186` (bgp).
pub fn objects(lab: &Lab) -> Vec<Value> {
    let out = ip(&lab.name, "-j nexthop show protocol 186");
    match serde_json::from_slice(&out.stdout).unwrap_or(Value::Array(vec![])) {
        Value::Array(a) => a,
        _ => Vec::new(),
    }
}
