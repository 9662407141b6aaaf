//! Tests against a real FRR bgpd (root + FRR; they run in CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use vty::{BatchOptions, Command, Mode, Redacted, Vty, VtyError};

/// bgpd (hostname `hostname`, `extra` lines of configuration) in a namespace of its own and a
/// logged-in Vty session to it; `None` (the test skipped) without root or FRR.
async fn session(test: &str, hostname: &str, extra: &str) -> Option<(common::Lab, Vty)> {
    let bgpd = testkit::require_bgpd(test)?;
    let lab = common::start_bgpd(&bgpd, hostname, extra);
    let vty = common::login(&lab, &common::options()).await.unwrap();
    Some((lab, vty))
}

/// Sends `cmds` one at a time; bgpd must accept each.
async fn exec_all(vty: &mut Vty, cmds: &[&str]) {
    for &cmd in cmds {
        vty.exec(cmd)
            .await
            .unwrap_or_else(|e| panic!("{cmd}: {e:?}"));
    }
}

/// Sends `cmd`, which bgpd must reject; returns the rejection's message.
async fn rejected(vty: &mut Vty, cmd: &str) -> Redacted {
    match vty.exec(cmd).await {
        Err(VtyError::Rejected { command, message }) => {
            assert_eq!(command, cmd);
            message
        }
        other => panic!("{cmd}: bgpd said {other:?}"),
    }
}

/// Applies `cmds` with `Vty::configure`; bgpd must accept every line (`what` names the case).
async fn configure_ok(vty: &mut Vty, cmds: &[Command], opts: &BatchOptions, what: &str) {
    vty.configure(cmds, opts)
        .await
        .unwrap()
        .into_result()
        .unwrap_or_else(|e| panic!("{what}: {e:?}"));
}

#[tokio::test]
async fn login_enable_and_show() {
    let Some((_lab, mut vty)) = session("login_enable_and_show", "r1", "").await else {
        return;
    };
    assert_eq!(vty.hostname(), "r1");
    assert_eq!(vty.mode(), &Mode::Enable);
    let out = vty.exec("show version").await.unwrap();
    assert!(out.contains("FRRouting"), "{out}");
    vty.exec("configure terminal").await.unwrap();
    assert_eq!(vty.mode(), &Mode::Config("config".into()));
    vty.exec("router bgp 65001").await.unwrap();
    assert_eq!(vty.mode(), &Mode::Config("config-router".into()));
    vty.exec("address-family ipv6 unicast").await.unwrap();
    assert_eq!(vty.mode(), &Mode::Config("config-router-af".into()));
    vty.exec("end").await.unwrap();
    assert_eq!(vty.mode(), &Mode::Enable);
    // Renaming the host changes the prompt; the session follows it.
    vty.exec("configure terminal").await.unwrap();
    vty.exec("hostname r1.renamed_x-1").await.unwrap();
    assert_eq!(vty.hostname(), "r1.renamed_x-1");
    vty.exec("end").await.unwrap();
    let rc = vty.running_config().await.unwrap();
    assert!(rc.contains("hostname r1.renamed_x-1\n"), "{rc}");
    vty.close().await.unwrap();
}

#[tokio::test]
async fn rejected_commands_are_typed_errors() {
    let Some((_lab, mut vty)) = session(
        "rejected_commands_are_typed_errors",
        "r2",
        "router bgp 65000\n",
    )
    .await
    else {
        return;
    };
    let cases: [(&str, &str); 3] = [
        ("show bgp nonsense-word", "% "),
        ("configure terminal", ""),
        ("router bgp 65009", "BGP is already running; AS is 65000"),
    ];
    for (cmd, expect) in cases {
        if expect.is_empty() {
            vty.exec(cmd).await.unwrap();
            continue;
        }
        let message = rejected(&mut vty, cmd).await;
        assert!(message.contains(expect), "{cmd}: {message}");
    }
    vty.exec("router bgp 65000").await.unwrap();
    for (cmd, expect) in [
        (
            "neighbor 192.0.2.9 timers 5 15",
            "Specify remote-as or peer-group commands first",
        ),
        ("neighbor", "Command incomplete"),
        ("neighbor 192.0.2.9 timers 70000 9", "Unknown command"),
        ("n", "Command incomplete"),
    ] {
        let message = rejected(&mut vty, cmd).await;
        assert!(message.starts_with("% "), "{message}");
        assert!(message.contains(expect), "{cmd}: {message}");
    }
    // The session is still usable after rejections.
    assert_eq!(vty.mode(), &Mode::Config("config-router".into()));
    vty.exec("neighbor 192.0.2.9 remote-as 65009")
        .await
        .unwrap();
    let rc = vty.exec("do show running-config").await.unwrap();
    assert!(rc.contains(" neighbor 192.0.2.9 remote-as 65009"), "{rc}");
    vty.close().await.unwrap();
}

#[tokio::test]
async fn wrong_password_is_reported() {
    let Some(bgpd) = testkit::require_bgpd("wrong_password_is_reported") else {
        return;
    };
    let lab = common::start_bgpd(&bgpd, "r3", "");
    let mut opts = common::options();
    opts.password = Some("not-it".into());
    assert!(matches!(
        common::login(&lab, &opts).await,
        Err(VtyError::WrongPassword)
    ));
    opts.password = None;
    assert!(matches!(
        common::login(&lab, &opts).await,
        Err(VtyError::PasswordRequired)
    ));
}

#[tokio::test]
async fn enable_password_is_used() {
    let Some(bgpd) = testkit::require_bgpd("enable_password_is_used") else {
        return;
    };
    let lab = common::start_bgpd(&bgpd, "r4", "enable password s3cret\n");
    let mut opts = common::options();
    assert!(matches!(
        common::login(&lab, &opts).await,
        Err(VtyError::EnablePasswordRequired)
    ));
    opts.enable_password = Some("wrong".into());
    assert!(matches!(
        common::login(&lab, &opts).await,
        Err(VtyError::WrongEnablePassword)
    ));
    opts.enable_password = Some("s3cret".into());
    let mut vty = common::login(&lab, &opts).await.unwrap();
    assert_eq!(vty.mode(), &Mode::Enable);
    vty.exec("show running-config").await.unwrap();
    vty.close().await.unwrap();
}

#[tokio::test]
async fn login_refused_without_vty_password() {
    let Some(bgpd) = testkit::require_bgpd("login_refused_without_vty_password") else {
        return;
    };
    let ns = testkit::lab::TestNs::new("vty").unwrap();
    let opts = testkit::lab::BgpdOptions {
        extra_args: vec!["-p".into(), "0".into()],
        ..Default::default()
    };
    let _bgpd = testkit::lab::TestBgpd::start(&bgpd, &ns, "hostname nopw\n", &opts).unwrap();
    let s = common::stream_in(&ns, "127.0.0.1:2605".parse().unwrap()).await;
    match vty::Vty::login(s, &common::options()).await {
        Err(VtyError::LoginRefused { message }) => {
            assert!(
                message.contains("Vty password") && message.contains("not set"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn pipelined_batch_against_bgpd() {
    let Some((lab, mut vty)) = session("pipelined_batch_against_bgpd", "r5", "").await else {
        return;
    };
    let mut lines: Vec<String> = vec![
        "configure terminal".into(),
        "router bgp 65000".into(),
        "address-family ipv4 unicast".into(),
    ];
    lines.extend((0..2000).map(|i| format!("network 10.{}.{}.0/24", i / 256, i % 256)));
    lines[1500] = "network 10.5.0.0/33".into();
    lines.push("end".into());
    let opts = vty::BatchOptions {
        policy: vty::BatchPolicy::Continue,
        window: 512,
    };
    let report = vty.batch(&lines, &opts).await.unwrap();
    assert_eq!(
        (report.applied(), report.rejected(), report.not_sent()),
        (lines.len() - 1, 1, 0)
    );
    let r = report.first_rejection().unwrap();
    assert_eq!(r.index, 1500);
    assert!(
        r.message.contains("Unknown command: network 10.5.0.0/33"),
        "{}",
        r.message
    );
    assert_eq!(report.final_mode, Mode::Enable);
    let rc = vty.exec("show running-config").await.unwrap();
    assert!(rc.contains("  network 10.0.0.0/24\n"), "{rc}");
    assert!(rc.contains("  network 10.7.207.0/24\n"), "{rc}");
    assert_eq!(rc.matches("  network 10.").count(), 1999);
    // Independent check through vtysh.
    let v = lab.bgpd.vtysh(&["show running-config"]).unwrap();
    assert_eq!(v.matches("  network 10.").count(), 1999);
    vty.close().await.unwrap();
}

#[tokio::test]
async fn typed_config_as_change_and_reverts_on_bgpd() {
    use vty::config::{Asn, ConnectRetry, DebugFlag, Description, LogFile, Password, Timers};
    let Some((lab, mut vty)) =
        session("typed_config_as_change_and_reverts_on_bgpd", "r6", "").await
    else {
        return;
    };
    let peer: std::net::IpAddr = "198.51.100.7".parse().unwrap();
    let mut cfg = vty::BgpConfig::new(Asn::new(65000).unwrap());
    cfg.router_id = Some("192.0.2.1".parse().unwrap());
    let mut n = vty::Neighbor::new(peer, Asn::new(65007).unwrap());
    n.timers = Some(Timers::new(5, 15).unwrap());
    n.connect_retry = Some(ConnectRetry::new(7).unwrap());
    n.password = Some(Password::new("pw-1").unwrap());
    n.description = Some(Description::new("seven").unwrap());
    cfg.add_neighbor(n);
    cfg.add_network("203.0.113.0/24".parse().unwrap());
    let log = lab.bgpd.dir().join("typed.log");
    cfg.log_file = Some(LogFile::new(log.to_str().unwrap()).unwrap());
    cfg.debug.insert(DebugFlag::NeighborEvents);
    let opts = vty::BatchOptions::default();
    configure_ok(&mut vty, &cfg.commands(), &opts, "the typed configuration").await;
    let rc = vty.running_config().await.unwrap();
    for l in [
        "router bgp 65000",
        " neighbor 198.51.100.7 password pw-1",
        " neighbor 198.51.100.7 timers 5 15",
        " neighbor 198.51.100.7 timers connect 7",
        "  network 203.0.113.0/24",
        "debug bgp neighbor-events",
    ] {
        assert!(rc.lines().any(|x| x == l), "{l:?} missing:\n{rc}");
    }

    // Reverting settings uses the `no` forms and keeps the neighbor.
    let mut reverted = cfg.clone();
    {
        let n = reverted.neighbors.get_mut(&peer).unwrap();
        n.password = None;
        n.timers = None;
        n.connect_retry = None;
    }
    reverted.debug.clear();
    reverted.log_file = None;
    let d = vty::diff(&cfg, &reverted);
    assert_eq!(d.len(), 5, "{d:?}");
    configure_ok(&mut vty, &d, &opts, "its reversion").await;
    let rc = vty.running_config().await.unwrap();
    assert!(
        rc.contains(" neighbor 198.51.100.7 remote-as 65007\n"),
        "{rc}"
    );
    assert!(
        !rc.contains("password pw-1")
            && !rc.contains("timers 5 15")
            && !rc.contains("timers connect"),
        "{rc}"
    );
    assert!(
        !rc.contains("debug bgp neighbor-events") && !rc.contains("typed.log"),
        "{rc}"
    );

    // An AS change recreates the instance.
    let mut moved = reverted.clone();
    moved.asn = Asn::new(4_200_000_001).unwrap();
    let d = vty::diff(&reverted, &moved);
    assert_eq!(d[0].line(), "no router bgp 65000");
    configure_ok(&mut vty, &d, &opts, "the AS change").await;
    let rc = vty.running_config().await.unwrap();
    assert!(
        rc.contains("router bgp 4200000001\n") && !rc.contains("router bgp 65000"),
        "{rc}"
    );
    assert!(
        rc.contains(" neighbor 198.51.100.7 description seven\n"),
        "{rc}"
    );
    assert!(rc.contains("  network 203.0.113.0/24\n"), "{rc}");

    // bgpd rejecting a typed command (an activation of an unknown neighbor; `validate` would
    // have caught it) is reported precisely, and the session is back in enable mode.
    let mut broken = moved.clone();
    broken.ipv4.activate.insert("192.0.2.99".parse().unwrap());
    broken.add_network("198.51.100.0/24".parse().unwrap());
    assert!(broken.validate().is_err());
    let d = vty::diff(&moved, &broken);
    let report = vty.configure(&d, &opts).await.unwrap();
    let r = report.first_rejection().unwrap();
    assert_eq!(r.line, "neighbor 192.0.2.99 activate");
    assert!(
        r.message
            .contains("Specify remote-as or peer-group commands first"),
        "{}",
        r.message
    );
    assert_eq!(report.rejected(), 1);
    match report.into_result() {
        Err(vty::VtyError::BatchRejected {
            command, not_sent, ..
        }) => {
            assert_eq!(command, "neighbor 192.0.2.99 activate");
            assert_eq!(not_sent, 0);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(vty.mode(), &Mode::Enable);
    assert!(vty
        .running_config()
        .await
        .unwrap()
        .contains("  network 198.51.100.0/24\n"));
    vty.close().await.unwrap();
}

/// The timer ranges of RFC 4271 (hold time 0 or 3–65535) and FRR (keepalive 0–65535, connect
/// retry 1–65535) are what the typed values accept, and bgpd takes every one of them — FRR's
/// datacenter 3/9, a keepalive above a third of the hold time (even above the hold time; bgpd
/// then uses a third of the hold time, [`Timers::effective_keepalive`]), and the extremes — as
/// typed commands from `Vty::configure`.
#[tokio::test]
async fn timer_ranges_match_what_bgpd_accepts() {
    use vty::config::{Asn, ConnectRetry, Timers};
    let Some((_lab, mut vty)) = session("timer_ranges_match_what_bgpd_accepts", "r7", "").await
    else {
        return;
    };
    let opts = vty::BatchOptions::default();
    let cases: [((u16, u16), u16); 7] = [
        ((3, 9), 2),
        ((3, 9), 1),
        ((0, 0), 65535),
        ((60, 9), 5),
        ((10, 3), 120),
        ((30, 0), 9),
        ((65535, 65535), 1),
    ];
    let mut old = vty::BgpConfig::new(Asn::new(65000).unwrap());
    for (i, ((ka, hold), cr)) in cases.into_iter().enumerate() {
        let peer: std::net::IpAddr = format!("198.51.100.{}", i + 1).parse().unwrap();
        let mut new = old.clone();
        let mut n = vty::Neighbor::new(peer, Asn::new(65001).unwrap());
        n.timers = Some(Timers::new(ka, hold).unwrap());
        n.connect_retry = Some(ConnectRetry::new(cr).unwrap());
        new.add_neighbor(n);
        let cmds = if i == 0 {
            new.commands()
        } else {
            vty::diff(&old, &new)
        };
        configure_ok(
            &mut vty,
            &cmds,
            &opts,
            &format!("timers {ka} {hold} / connect {cr}"),
        )
        .await;
        let rc = vty.running_config().await.unwrap();
        let t = Timers::new(ka, hold).unwrap();
        for l in [
            format!(" neighbor {peer} timers {} {hold}", t.effective_keepalive()),
            format!(" neighbor {peer} timers connect {cr}"),
        ] {
            // bgpd leaves out the values that equal its defaults (connect 120).
            if cr == 120 && l.contains("connect") {
                continue;
            }
            assert!(rc.lines().any(|x| x == l), "{l:?} missing:\n{rc}");
        }
        old = new;
    }
    // The router-level form takes the same ranges.
    exec_all(
        &mut vty,
        &[
            "configure terminal",
            "router bgp 65000",
            "timers bgp 3 9",
            "end",
        ],
    )
    .await;
    // `maximum-paths` takes what the typed value takes (Debian's FRR is built for 256 paths).
    let mut paths = old.clone();
    paths.ipv4.maximum_paths = Some(vty::config::MaximumPaths::new(256).unwrap());
    configure_ok(
        &mut vty,
        &vty::diff(&old, &paths),
        &opts,
        "maximum-paths 256",
    )
    .await;
    assert!(vty::config::MaximumPaths::new(257).is_err());
    exec_all(
        &mut vty,
        &[
            "configure terminal",
            "router bgp 65000",
            "address-family ipv4 unicast",
        ],
    )
    .await;
    rejected(&mut vty, "maximum-paths 257").await;
    vty.exec("end").await.unwrap();
    // 256 is also bgpd's default there, so it is not shown; a smaller width is.
    let rc = vty.running_config().await.unwrap();
    assert!(!rc.contains("maximum-paths"), "{rc}");
    let mut narrower = paths.clone();
    narrower.ipv4.maximum_paths = Some(vty::config::MaximumPaths::new(64).unwrap());
    configure_ok(
        &mut vty,
        &vty::diff(&paths, &narrower),
        &opts,
        "maximum-paths 64",
    )
    .await;
    let rc = vty.running_config().await.unwrap();
    assert!(rc.contains("  maximum-paths 64\n"), "{rc}");
    // What bgpd refuses, the typed values refuse too: a hold time of 1 or 2 seconds, a connect
    // retry of 0.
    exec_all(&mut vty, &["configure terminal", "router bgp 65000"]).await;
    for (cmd, typed_ok) in [
        (
            "neighbor 198.51.100.1 timers 3 2",
            Timers::new(3, 2).is_ok(),
        ),
        (
            "neighbor 198.51.100.1 timers 0 1",
            Timers::new(0, 1).is_ok(),
        ),
        (
            "neighbor 198.51.100.1 timers connect 0",
            ConnectRetry::new(0).is_ok(),
        ),
    ] {
        rejected(&mut vty, cmd).await;
        assert!(
            !typed_ok,
            "{cmd}: the typed value accepts what bgpd refuses"
        );
    }
    vty.exec("end").await.unwrap();
    vty.close().await.unwrap();
}
