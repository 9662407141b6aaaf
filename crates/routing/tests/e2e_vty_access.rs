//! Issue #14, "Vty secrets", with a real bgpd built by the controller: from the host side, the
//! old documented default password is refused; `enable` is refused without the (generated)
//! enable password; and a connection from a host address other than the bridge's is refused
//! by bgpd's `access-class`, even with both right passwords.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use routing::{PortPlan, TableSink};
use vty::{Vty, VtyError, VtyOptions};

/// A TCP connection to `addr` from the namespace `ns`, from the source address `source` when
/// given (an address the namespace has), else from the one the kernel picks.
async fn connect_from(
    ns: &str,
    source: Option<Ipv4Addr>,
    addr: SocketAddr,
) -> tokio::net::TcpStream {
    let ns = netns::NetNs::open(ns).unwrap();
    // The socket is created on a thread inside the namespace and keeps it for its life.
    let socket = ns
        .run(move || -> std::io::Result<tokio::net::TcpSocket> {
            let s = tokio::net::TcpSocket::new_v4()?;
            if let Some(a) = source {
                s.bind(SocketAddr::new(a.into(), 0))?;
            }
            Ok(s)
        })
        .unwrap()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), socket.connect(addr))
        .await
        .expect("connect timed out")
        .unwrap()
}

fn opts(password: &str, enable: Option<&str>) -> VtyOptions {
    VtyOptions {
        password: Some(password.to_string()),
        enable_password: enable.map(str::to_string),
        timeout: Duration::from_secs(10),
    }
}

/// The value of the line `key VALUE` in bgpd's start-up file.
fn secret_in(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no {key:?} line in bgpd's start-up file"))
        .trim()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vty_refuses_the_old_default_enable_without_password_and_other_sources() {
    if testkit::require_bgpd("the_vty_refuses_the_old_default").is_none() {
        return;
    }
    let lab = Lab::new();
    let _prov = lab.provider_ns("up1", &["192.0.2.2/24"]);
    // No vty_password / enable_password: both are generated per port at start.
    let cfg = config(&format!(
        "{}[[port]]\nname = \"p1\"\nuplink = \"up1\"\naddress = \"192.0.2.1/24\"\nlocal_as = 65001\n\
         [[port.peer]]\naddress = \"192.0.2.2\"\nremote_as = 65002\n",
        lab.controller()
    ));
    let mut h = handler(Arc::new(TableSink::new()));
    h.apply(&cfg).await;
    // The controller itself logs in with the generated secrets and applies the configuration.
    wait_port(&h, "p1", 60, "configuration applied", |s| s.config_applied).await;
    let plan = PortPlan::new(&cfg.controller, &cfg.ports[0], 0);
    let vty_addr = plan.vty_addr();
    let host = lab.host.name().to_string();

    // bgpd's start-up file is the only place the generated secrets are written: root only.
    let meta = std::fs::metadata(&plan.bgpd_config).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&plan.bgpd_config).unwrap();
    let password = secret_in(&text, "password");
    let enable = secret_in(&text, "enable password");
    assert_eq!(password.len(), 32);
    assert_eq!(enable.len(), 32);
    assert_ne!(password, enable);

    // 1. The old default password, from the host side (the bridge's address): refused.
    let s = connect_from(&host, None, vty_addr).await;
    let e = Vty::login(s, &opts("midonet-bgp", None)).await.unwrap_err();
    assert!(matches!(e, VtyError::WrongPassword), "{e}");

    // 2. The right password but no enable password: bgpd asks for one instead of granting
    //    `enable`; a wrong one is refused.
    let s = connect_from(&host, None, vty_addr).await;
    let e = Vty::login(s, &opts(&password, None)).await.unwrap_err();
    assert!(matches!(e, VtyError::EnablePasswordRequired), "{e}");
    let s = connect_from(&host, None, vty_addr).await;
    let e = Vty::login(s, &opts(&password, Some("midonet-bgp")))
        .await
        .unwrap_err();
    assert!(matches!(e, VtyError::WrongEnablePassword), "{e}");
    // Both right, from the bridge's address: a privileged session (the control case for 3).
    let s = connect_from(&host, None, vty_addr).await;
    let mut v = Vty::login(s, &opts(&password, Some(&enable)))
        .await
        .unwrap();
    assert!(v.exec("show bgp summary").await.is_ok());
    let _ = v.close().await;

    // 3. Another address of the host side (one this test adds to its host namespace): bgpd's
    //    access-class closes the connection before any prompt, right passwords or not.
    let other = Ipv4Addr::new(198, 18, 0, 1);
    lab.host.add_addr("lo", "198.18.0.1/32").unwrap();
    let s = connect_from(&host, Some(other), vty_addr).await;
    let e = Vty::login(s, &opts(&password, Some(&enable)))
        .await
        .unwrap_err();
    assert!(matches!(e, VtyError::ConnectionClosed { .. }), "{e}");

    h.shutdown().await;
    assert!(leftovers(&lab).is_empty(), "{:?}", leftovers(&lab));
}
