//! Helpers for the tests that drive a real bgpd.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use testkit::lab::{BgpdOptions, TestBgpd, TestNs};
use vty::{Vty, VtyOptions};

/// Vty password used in every test config.
pub const PASSWORD: &str = "zebra";

/// A bgpd in its own namespace with a Vty on 127.0.0.1:2605 and the BGP listener off.
pub struct Lab {
    /// The bgpd (killed first on drop).
    pub bgpd: TestBgpd,
    /// Its namespace.
    pub ns: TestNs,
}

/// Starts a bgpd with `hostname` and the vty password; `extra` is appended to the config.
pub fn start_bgpd(bgpd: &Path, hostname: &str, extra: &str) -> Lab {
    let ns = TestNs::new("vty").expect("namespace");
    let config = format!("hostname {hostname}\npassword {PASSWORD}\n{extra}\n");
    let opts = BgpdOptions {
        extra_args: vec!["-p".into(), "0".into()],
        ..Default::default()
    };
    let bgpd = TestBgpd::start(bgpd, &ns, &config, &opts).expect("bgpd");
    Lab { bgpd, ns }
}

/// Options with the test password and a generous timeout for a loaded machine.
pub fn options() -> VtyOptions {
    VtyOptions {
        password: Some(PASSWORD.into()),
        enable_password: None,
        timeout: Duration::from_secs(20),
    }
}

/// A tokio TCP stream to `addr` inside `ns` (retried while bgpd starts listening).
pub async fn stream_in(ns: &TestNs, addr: SocketAddr) -> tokio::net::TcpStream {
    for _ in 0..100 {
        if let Ok(s) = ns.connect_tcp(addr, Duration::from_secs(5)) {
            s.set_nonblocking(true).unwrap();
            return tokio::net::TcpStream::from_std(s).unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("cannot connect to {addr} in {}", ns.name());
}

/// Logs in to the lab's bgpd Vty.
pub async fn login(lab: &Lab, opts: &VtyOptions) -> Result<Vty, vty::VtyError> {
    let s = stream_in(&lab.ns, "127.0.0.1:2605".parse().unwrap()).await;
    Vty::login(s, opts).await
}
