//! `import.reject_as` as each bgpd flavour takes it: the bootstrap with both classes, then the
//! minimal diffs to one class, to none and back, sent as typed commands through the Vty to a
//! real FRR 8.4, FRR 10.3 (chroot of `scripts/frr10-chroot.sh`) and Quagga 1.2.4 (built by
//! `scripts/quagga-build.sh`) bgpd; bgpd refuses none of them and its running configuration
//! holds exactly the AS-path list entries and the `deny 5` entry expected at each step. Needs
//! root (skipped elsewhere, never under CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use routing::bgpconf::BgpdSettings;
use routing::config::Config;
use testkit::lab::{BgpdOptions, TestBgpd, TestNs};
use vty::{BatchOptions, Flavour, Vty, VtyOptions};

const PASSWORD: &str = "zebra";
const NAME: &str = "mnb-p1-192.0.2.2-in";

/// The port's bgpd settings with `reject_as = [classes]` on its IPv4 peer (AS 65002).
fn settings(run_dir: &std::path::Path, classes: &str) -> BgpdSettings {
    let text = format!(
        "[controller]\nrun_dir = \"{}\"\n[[port]]\nname = \"p1\"\nuplink = \"eth1\"\n\
         address = \"192.0.2.1/24\"\naddress6 = \"2001:db8::1/64\"\nlocal_as = 65001\n\
         networks = [\"203.0.113.0/24\"]\n[[port.peer]]\naddress = \"192.0.2.2\"\n\
         remote_as = 65002\n[port.peer.import]\nlocal_preference = 120\nreject_as = [{classes}]\n\
         [[port.peer]]\naddress = \"2001:db8::3\"\nremote_as = 65003\n",
        run_dir.display()
    );
    BgpdSettings::from(&Config::parse(&text).unwrap().ports[0])
}

/// How many entries of the peer's AS-path list the running configuration holds, and whether
/// its import route-map has the `deny 5` entry matching it.
fn rejection_in(rc: &str, fl: &Flavour) -> (usize, bool) {
    let list = if *fl == Flavour::QUAGGA {
        format!("ip as-path access-list {NAME} permit _(")
    } else {
        format!("bgp as-path access-list {NAME} seq ")
    };
    let entries = rc.lines().filter(|l| l.starts_with(&list)).count();
    let deny = format!("route-map {NAME} deny 5\n match as-path {NAME}\n");
    (entries, rc.contains(&deny))
}

async fn login(ns: &TestNs) -> Vty {
    let addr: SocketAddr = "127.0.0.1:2605".parse().unwrap();
    let opts = VtyOptions {
        password: Some(PASSWORD.into()),
        enable_password: None,
        timeout: Duration::from_secs(20),
    };
    for _ in 0..100 {
        if let Ok(s) = ns.connect_tcp(addr, Duration::from_secs(5)) {
            s.set_nonblocking(true).unwrap();
            let s = tokio::net::TcpStream::from_std(s).unwrap();
            return Vty::login(s, &opts).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no Vty in {}", ns.name());
}

/// Sends `cmds` (none refused) and returns the running configuration.
async fn send(vty: &mut Vty, cmds: Vec<vty::Command>) -> String {
    assert!(!cmds.is_empty());
    let opts = BatchOptions::default();
    vty.configure(&cmds, &opts)
        .await
        .unwrap()
        .into_result()
        .unwrap();
    vty.running_config().await.unwrap()
}

/// Runs the steps against the bgpd of flavour `fl` listening in `ns`.
async fn steps(ns: &TestNs, fl: Flavour, run_dir: &std::path::Path) {
    let both = settings(run_dir, "\"private\", \"reserved\"");
    let private = settings(run_dir, "\"private\"");
    let none = settings(run_dir, "");
    let mut vty = login(ns).await;
    let rc = send(&mut vty, both.bootstrap_for(&fl)).await;
    assert_eq!(rejection_in(&rc, &fl), (2, true), "{fl}:\n{rc}");
    assert!(
        rc.contains(&format!("neighbor 192.0.2.2 route-map {NAME} in")),
        "{fl}:\n{rc}"
    );
    let rc = send(&mut vty, both.diff_for(&private, &fl)).await;
    assert_eq!(rejection_in(&rc, &fl), (1, true), "{fl}:\n{rc}");
    // Without classes the import route-map stays (local-preference) without its deny entry.
    let rc = send(&mut vty, private.diff_for(&none, &fl)).await;
    assert_eq!(rejection_in(&rc, &fl), (0, false), "{fl}:\n{rc}");
    assert!(
        rc.contains(&format!("route-map {NAME} permit 10")),
        "{fl}:\n{rc}"
    );
    let rc = send(&mut vty, none.diff_for(&both, &fl)).await;
    assert_eq!(rejection_in(&rc, &fl), (2, true), "{fl}:\n{rc}");
    vty.close().await.unwrap();
}

fn bgpd_config() -> String {
    format!("hostname rejectas\npassword {PASSWORD}\n")
}

#[tokio::test]
async fn frr84_takes_reject_as_and_its_diffs() {
    let Some(bgpd) = testkit::require_bgpd("frr84_takes_reject_as_and_its_diffs") else {
        return;
    };
    let ns = TestNs::new("rjas").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let _b = TestBgpd::start(&bgpd, &ns, &bgpd_config(), &BgpdOptions::default()).unwrap();
    steps(&ns, Flavour::FRR, dir.path()).await;
}

#[tokio::test]
async fn frr10_takes_reject_as_and_its_diffs() {
    let Some(root) = testkit::require_frr10("frr10_takes_reject_as_and_its_diffs") else {
        return;
    };
    let ns = TestNs::new("rjas").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bgpd = std::path::Path::new(testkit::FRR10_BGPD);
    let opts = BgpdOptions::default();
    let _b = TestBgpd::start_in_chroot(&root, bgpd, &ns, &bgpd_config(), &opts).unwrap();
    steps(&ns, Flavour::FRR, dir.path()).await;
}

#[tokio::test]
async fn quagga_takes_reject_as_and_its_diffs() {
    let Some(bgpd) = testkit::require_quagga("quagga_takes_reject_as_and_its_diffs") else {
        return;
    };
    let ns = TestNs::new("rjas").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = testkit::quagga::QuaggaOptions {
        password: PASSWORD.into(),
        ..Default::default()
    };
    let _q = testkit::quagga::TestQuagga::start(&bgpd, &ns, &bgpd_config(), &opts).unwrap();
    steps(&ns, Flavour::QUAGGA, dir.path()).await;
}
