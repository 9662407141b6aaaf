//! Tests against a scripted FRR-like Vty server over `tokio::io::duplex`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use vty::{BatchOptions, BatchPolicy, LineOutcome, Mode, Vty, VtyError, VtyOptions};

const GREETING: &[u8] = b"\r\nHello, this is FRRouting (version 8.4.4).\r\nCopyright 1996-2005 Kunihiro Ishiguro, et al.\r\n\r\n\r\nUser Access Verification\r\n\r\n\xff\xfb\x01\xff\xfb\x03\xff\xfe\x22\xff\xfd\x1fPassword: ";

/// How the fake server behaves.
#[derive(Clone)]
struct Script {
    hostname: String,
    password: String,
    /// Split the greeting into two writes at this offset (with a pause between).
    greeting_split: Option<usize>,
    /// Write every reply one byte at a time.
    bytewise: bool,
    /// Size of the output of `show big`.
    big: usize,
}

impl Script {
    fn new(hostname: &str) -> Self {
        Script {
            hostname: hostname.into(),
            password: "zebra".into(),
            greeting_split: None,
            bytewise: false,
            big: 0,
        }
    }
}

async fn put(s: &mut DuplexStream, bytes: &[u8], bytewise: bool) -> std::io::Result<()> {
    if bytewise {
        for b in bytes {
            s.write_all(std::slice::from_ref(b)).await?;
            tokio::task::yield_now().await;
        }
        Ok(())
    } else {
        s.write_all(bytes).await
    }
}

async fn read_line(s: &mut DuplexStream, pending: &mut Vec<u8>) -> Option<String> {
    loop {
        if let Some(p) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=p).collect();
            return Some(String::from_utf8_lossy(&line[..line.len() - 1]).into_owned());
        }
        let mut buf = [0u8; 4096];
        let n = s.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        pending.extend_from_slice(&buf[..n]);
    }
}

/// A small FRR-like vty: password, enable, config nodes, a few commands.
async fn fake_bgpd(mut s: DuplexStream, sc: Script) -> std::io::Result<()> {
    match sc.greeting_split {
        Some(at) => {
            s.write_all(&GREETING[..at]).await?;
            tokio::time::sleep(Duration::from_millis(2)).await;
            s.write_all(&GREETING[at..]).await?;
        }
        None => put(&mut s, GREETING, sc.bytewise).await?,
    }
    let mut pending = Vec::new();
    let mut tries = 0;
    loop {
        let Some(pw) = read_line(&mut s, &mut pending).await else {
            return Ok(());
        };
        if pw == sc.password {
            break;
        }
        tries += 1;
        if tries == 3 {
            s.write_all(b"\r\n% Bad passwords, too many failures!\r\n")
                .await?;
            return Ok(());
        }
        put(&mut s, b"\r\nPassword: ", sc.bytewise).await?;
    }
    let mut mode = ">".to_string();
    let mut host = sc.hostname.clone();
    put(
        &mut s,
        format!("\r\n{}{} ", sc.hostname, mode).as_bytes(),
        sc.bytewise,
    )
    .await?;
    loop {
        let Some(line) = read_line(&mut s, &mut pending).await else {
            return Ok(());
        };
        let mut out = format!("{line}\r\n");
        match line.as_str() {
            "enable" => mode = "#".into(),
            "terminal length 0" | "" => {}
            "configure terminal" => mode = "(config)#".into(),
            "router bgp 65000" => mode = "(config-router)#".into(),
            "address-family ipv4 unicast" => mode = "(config-router-af)#".into(),
            "end" => mode = "#".into(),
            "exit" if mode == "#" => {
                s.write_all(out.as_bytes()).await?;
                return Ok(());
            }
            l if l.starts_with("hostname ") => host = l["hostname ".len()..].to_owned(),
            "drop" => {
                s.write_all(b"drop\r\npartial output").await?;
                return Ok(());
            }
            "hang" => {
                s.write_all(b"hang\r\n").await?;
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            "show tricky" => {
                // Output lines that look like prompts of this and of other hosts.
                out.push_str(&format!(
                    "{h}# \r\n{h}> x\r\nother# \r\n{h}(config)#\r\n",
                    h = sc.hostname
                ));
            }
            "show big" => {
                let mut n = 0;
                let mut i = 0;
                while n < sc.big {
                    let l = format!(
                        "line {i} {h}# padding padding padding padding\r\n",
                        h = sc.hostname
                    );
                    n += l.len();
                    i += 1;
                    out.push_str(&l);
                }
            }
            l if l.starts_with("network ") => {
                if l.ends_with("/33") {
                    out.push_str(&format!("% [BGP] Unknown command: {l}\r\n"));
                }
            }
            l => out.push_str(&format!("% Unknown command: {l}\r\n")),
        }
        out.push_str(&format!("{host}{mode} "));
        put(&mut s, out.as_bytes(), sc.bytewise).await?;
    }
}

fn opts() -> VtyOptions {
    VtyOptions {
        password: Some("zebra".into()),
        enable_password: None,
        timeout: Duration::from_secs(10),
    }
}

fn spawn(sc: Script, buf: usize) -> DuplexStream {
    let (client, server) = tokio::io::duplex(buf);
    tokio::spawn(async move {
        let _ = fake_bgpd(server, sc).await;
    });
    client
}

#[tokio::test]
async fn greeting_split_at_every_position() {
    for at in 0..=GREETING.len() {
        let mut sc = Script::new("r1");
        sc.greeting_split = Some(at);
        let vty = Vty::login(spawn(sc, 4096), &opts())
            .await
            .unwrap_or_else(|e| panic!("split {at}: {e}"));
        assert_eq!(vty.hostname(), "r1");
        assert_eq!(vty.mode(), &Mode::Enable);
        vty.close().await.unwrap();
    }
}

#[tokio::test]
async fn everything_delivered_one_byte_per_read() {
    let mut sc = Script::new("edge-1.example");
    sc.bytewise = true;
    // A 1-byte duplex buffer: every read returns one byte, so every telnet sequence and every
    // prompt is split at every position.
    let mut vty = Vty::login(spawn(sc, 1), &opts()).await.unwrap();
    assert_eq!(vty.hostname(), "edge-1.example");
    vty.exec("configure terminal").await.unwrap();
    assert_eq!(vty.mode(), &Mode::Config("config".into()));
    vty.exec("router bgp 65000").await.unwrap();
    vty.exec("address-family ipv4 unicast").await.unwrap();
    assert_eq!(vty.mode(), &Mode::Config("config-router-af".into()));
    match vty.exec("network 192.0.2.0/33").await {
        Err(VtyError::Rejected { command, message }) => {
            assert_eq!(command, "network 192.0.2.0/33");
            assert_eq!(message, "% [BGP] Unknown command: network 192.0.2.0/33");
        }
        other => panic!("{other:?}"),
    }
    vty.exec("end").await.unwrap();
    vty.close().await.unwrap();
}

#[tokio::test]
async fn unusual_hostnames() {
    for host in ["x", "r(1)", "a#b", "host>1", "R_2-b.c", "x# y"] {
        let host = host.replace(' ', "");
        let mut vty = Vty::login(spawn(Script::new(&host), 64), &opts())
            .await
            .unwrap();
        assert_eq!(vty.hostname(), host);
        let out = vty.exec("show tricky").await.unwrap();
        assert_eq!(
            out,
            format!("{h}# \n{h}> x\nother# \n{h}(config)#\n", h = host),
            "{host}"
        );
        vty.exec("configure terminal").await.unwrap();
        assert_eq!(vty.mode(), &Mode::Config("config".into()), "{host}");
        vty.close().await.unwrap();
    }
}

#[tokio::test]
async fn very_long_output() {
    let mut sc = Script::new("r1");
    sc.big = 8 * 1024 * 1024;
    let mut vty = Vty::login(spawn(sc, 16 * 1024), &opts()).await.unwrap();
    let out = vty.exec("show big").await.unwrap();
    let lines: Vec<&str> = out.lines().collect();
    // The server sent 8 MiB with "\r\n" line ends; the client returns "\n" line ends.
    assert!(
        out.len() + lines.len() >= 8 * 1024 * 1024,
        "{} bytes, {} lines",
        out.len(),
        lines.len()
    );
    assert_eq!(lines[0], "line 0 r1# padding padding padding padding");
    let last = lines.last().unwrap();
    assert!(
        last.starts_with(&format!("line {} ", lines.len() - 1)),
        "{last}"
    );
    // The session is still in step.
    vty.exec("terminal length 0").await.unwrap();
    // And an output limit is enforced.
    vty.set_max_output(1024 * 1024);
    assert!(matches!(
        vty.exec("show big").await,
        Err(VtyError::OutputTooLarge { .. })
    ));
    assert!(matches!(
        vty.exec("terminal length 0").await,
        Err(VtyError::SessionBroken { .. })
    ));
}

#[tokio::test]
async fn connection_dropped_mid_command() {
    let mut vty = Vty::login(spawn(Script::new("r1"), 4096), &opts())
        .await
        .unwrap();
    match vty.exec("drop").await {
        Err(VtyError::ConnectionClosed { during, last_text }) => {
            assert_eq!(during, "drop");
            assert!(last_text.contains("partial output"), "{last_text}");
        }
        other => panic!("{other:?}"),
    }
    assert!(vty.is_broken());
    assert!(matches!(
        vty.exec("show version").await,
        Err(VtyError::SessionBroken { .. })
    ));
}

#[tokio::test]
async fn silent_server_times_out() {
    let mut o = opts();
    o.timeout = Duration::from_millis(300);
    let mut vty = Vty::login(spawn(Script::new("r1"), 4096), &o)
        .await
        .unwrap();
    match vty.exec("hang").await {
        Err(VtyError::Timeout { during, .. }) => assert_eq!(during, "hang"),
        other => panic!("{other:?}"),
    }
    assert!(vty.is_broken());
}

#[tokio::test]
async fn wrong_password() {
    let mut o = opts();
    o.password = Some("nope".into());
    assert!(matches!(
        Vty::login(spawn(Script::new("r1"), 4096), &o).await,
        Err(VtyError::WrongPassword)
    ));
    o.password = None;
    assert!(matches!(
        Vty::login(spawn(Script::new("r1"), 4096), &o).await,
        Err(VtyError::PasswordRequired)
    ));
}

#[tokio::test]
async fn login_over_a_stream_that_closes_at_once() {
    let (client, server) = tokio::io::duplex(64);
    drop(server);
    assert!(matches!(
        Vty::login(client, &opts()).await,
        Err(VtyError::ConnectionClosed { .. })
    ));
}

#[tokio::test]
async fn batch_reports_first_rejection_and_the_rest() {
    for (bytewise, buf) in [(false, 65536), (true, 7)] {
        let mut sc = Script::new("r1");
        sc.bytewise = bytewise;
        let mut vty = Vty::login(spawn(sc, buf), &opts()).await.unwrap();
        vty.exec("configure terminal").await.unwrap();
        vty.exec("router bgp 65000").await.unwrap();
        vty.exec("address-family ipv4 unicast").await.unwrap();
        let mut lines: Vec<String> = (0..50)
            .map(|i| format!("network 198.51.{i}.0/24"))
            .collect();
        lines[20] = "network 198.51.20.0/33".into();
        lines[30] = "network 198.51.30.0/33".into();
        // Continue: everything sent, both rejections reported.
        let cont = BatchOptions {
            policy: BatchPolicy::Continue,
            window: 16,
        };
        let r = vty.batch(&lines, &cont).await.unwrap();
        assert_eq!((r.applied(), r.rejected(), r.not_sent()), (48, 2, 0));
        let first = r.first_rejection().unwrap();
        assert_eq!(
            (first.index, first.line.as_str()),
            (20, "network 198.51.20.0/33")
        );
        assert_eq!(
            first.message,
            "% [BGP] Unknown command: network 198.51.20.0/33"
        );
        // Stop with a window of 16: lines 16..32 form the failing window; 32.. are not sent.
        let stop = BatchOptions {
            policy: BatchPolicy::StopAtFirstError,
            window: 16,
        };
        let r = vty.batch(&lines, &stop).await.unwrap();
        assert_eq!((r.applied(), r.rejected(), r.not_sent()), (30, 2, 18));
        assert_eq!(r.lines[32].outcome, LineOutcome::NotSent);
        match r.into_result() {
            Err(VtyError::BatchRejected {
                index,
                command,
                executed_after,
                rejected_after,
                not_sent,
                total,
                ..
            }) => {
                assert_eq!(
                    (index, total, executed_after, rejected_after, not_sent),
                    (20, 50, 11, 1, 18)
                );
                assert_eq!(command, "network 198.51.20.0/33");
            }
            other => panic!("{other:?}"),
        }
        // Window 1: strict stop.
        let strict = BatchOptions {
            policy: BatchPolicy::StopAtFirstError,
            window: 1,
        };
        let r = vty.batch(&lines, &strict).await.unwrap();
        assert_eq!((r.applied(), r.rejected(), r.not_sent()), (20, 1, 29));
        assert_eq!(r.final_mode, Mode::Config("config-router-af".into()));
        // Invalid lines are refused before anything is sent.
        let bad = vec![
            "network 198.51.0.0/24".to_string(),
            "network 1.0.0.0/8\nno router bgp".into(),
        ];
        assert!(matches!(
            vty.batch(&bad, &cont).await,
            Err(VtyError::InvalidBatchLine { index: 1, .. })
        ));
        vty.exec("end").await.unwrap();
        vty.close().await.unwrap();
    }
}

#[tokio::test]
async fn injection_in_exec_is_refused_before_sending() {
    let mut vty = Vty::login(spawn(Script::new("r1"), 4096), &opts())
        .await
        .unwrap();
    for bad in [
        "show\nwrite",
        "show ?",
        "x\r",
        "\u{1b}[A",
        "",
        "   ",
        "caf\u{e9}",
    ] {
        assert!(
            matches!(vty.exec(bad).await, Err(VtyError::InvalidLine { .. })),
            "{bad:?}"
        );
    }
    // Still in step: nothing was sent.
    vty.exec("terminal length 0").await.unwrap();
    vty.close().await.unwrap();
}

#[tokio::test]
async fn hostname_change_is_followed() {
    let mut vty = Vty::login(spawn(Script::new("old"), 4096), &opts())
        .await
        .unwrap();
    vty.exec("configure terminal").await.unwrap();
    vty.exec("hostname new-name").await.unwrap();
    assert_eq!(vty.hostname(), "new-name");
    assert_eq!(vty.mode(), &Mode::Config("config".into()));
    let lines = ["hostname third", "router bgp 65000", "hostname fourth"];
    let r = vty.batch(&lines, &BatchOptions::default()).await.unwrap();
    assert!(r.is_success(), "{r:?}");
    assert_eq!(vty.hostname(), "fourth");
    vty.exec("end").await.unwrap();
    vty.close().await.unwrap();
}

#[tokio::test]
async fn connection_dropped_mid_batch() {
    let mut vty = Vty::login(spawn(Script::new("r1"), 4096), &opts())
        .await
        .unwrap();
    let lines = [
        "configure terminal",
        "router bgp 65000",
        "drop",
        "network 192.0.2.0/24",
    ];
    match vty.batch(&lines, &BatchOptions::default()).await {
        Err(VtyError::ConnectionClosed { during, .. }) => assert_eq!(during, "drop"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        vty.exec("end").await,
        Err(VtyError::SessionBroken { .. })
    ));
}

#[tokio::test]
async fn refused_connection_is_a_connect_error() {
    // A port that was just free: nothing listens on it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    match Vty::connect(addr, &opts()).await {
        Err(VtyError::Connect { addr: a, .. }) => assert_eq!(a, addr),
        other => panic!("{other:?}"),
    }
}

#[test]
fn session_can_move_between_tasks() {
    fn assert_send<T: Send>() {}
    assert_send::<Vty>();
    assert_send::<VtyError>();
}

#[tokio::test]
async fn batch_reports_hold_only_redacted_lines() {
    let mut vty = Vty::login(spawn(Script::new("r1"), 65536), &opts())
        .await
        .unwrap();
    vty.exec("configure terminal").await.unwrap();
    vty.exec("router bgp 65000").await.unwrap();
    let lines = [
        "neighbor 192.0.2.1 password hunter22",
        "network 198.51.20.0/33",
        "neighbor 192.0.2.2 pass hunter33",
    ];
    let cont = BatchOptions {
        policy: BatchPolicy::Continue,
        window: 16,
    };
    let r = vty.batch(&lines, &cont).await.unwrap();
    assert_eq!(r.lines.len(), 3);
    assert_eq!(r.lines[0].line, "neighbor 192.0.2.1 password <redacted>");
    assert_eq!(r.lines[2].line, "neighbor 192.0.2.2 pass <redacted>");
    let shown = format!("{r:?}");
    assert!(!shown.contains("hunter"), "{shown}");
    assert!(r.first_rejection().is_some(), "{shown}");
}
