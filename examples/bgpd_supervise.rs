//! Supervise one FRR bgpd in a network namespace, re-applying a (tiny) configuration on every
//! `Ready`, until Ctrl-C. Run as root:
//!
//! ```text
//! cargo run -p midonet-bgp-examples --example bgpd_supervise -- mnb-demo /tmp/mnb-demo
//! # in another shell: kill -9 $(cat /tmp/mnb-demo/run/bgpd.pid)   → Exited, Restarting, Ready
//! ```
//!
//! The namespace is created if missing (and deleted at the end if it was created here).

use std::time::Duration;

use bgpd::{BgpdEvent, BgpdSpec, ConfigFile, Supervisor};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let mut args = std::env::args().skip(1);
    let ns_name = args.next().unwrap_or_else(|| "mnb-demo".into());
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| format!("/tmp/{ns_name}")));

    let created = !netns::list()?.contains(&ns_name);
    let ns = netns::NetNs::open_or_create(&ns_name)?;

    // The almost-empty config shared by every bgpd of the host; per-port configuration goes
    // over the Vty.
    let config = ConfigFile::Managed {
        path: dir.join("etc/bgpd.conf"),
        hostname: "mnb-demo".into(),
        log_file: None,
    };
    let mut spec = BgpdSpec::new(&ns_name, dir.join("run"), config, "demo-vty-password");
    spec.extra_args = vec!["-p".into(), "0".into()]; // no BGP listener in this demo
    let vty_options = spec.vty_options();
    let vty_addr = spec.vty_addr;

    let (supervisor, mut events) = Supervisor::start(spec)?;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            event = events.recv() => match event {
                Some(BgpdEvent::Ready { pid }) => {
                    println!("bgpd {pid} ready (restarts so far: {}); applying configuration", supervisor.restarts());
                    match apply_config(&ns, vty_addr, &vty_options).await {
                        Ok(running) => print!("{running}"),
                        // The next Ready (after a restart) tries again.
                        Err(e) => eprintln!("configuring bgpd {pid} failed: {e}"),
                    }
                }
                Some(BgpdEvent::GaveUp { reason }) => {
                    eprintln!("giving up: {reason}");
                    for line in &reason.log_tail {
                        eprintln!("  | {line}");
                    }
                    break;
                }
                Some(other) => println!("{other:?}"),
                None => break,
            },
        }
    }
    supervisor.stop().await?;
    if created {
        ns.delete()?;
    }
    Ok(())
}

/// Logs in to the Vty (from inside the namespace: it listens on 127.0.0.1 there), applies a
/// small configuration, and returns the running configuration.
async fn apply_config(
    ns: &netns::NetNs,
    vty_addr: std::net::SocketAddr,
    options: &vty::VtyOptions,
) -> Result<String, Box<dyn std::error::Error>> {
    let stream = ns.run(move || {
        let s = std::net::TcpStream::connect_timeout(&vty_addr, Duration::from_secs(5))?;
        s.set_nonblocking(true)?;
        Ok::<_, std::io::Error>(s)
    })??;
    let mut vty = vty::Vty::login(tokio::net::TcpStream::from_std(stream)?, options).await?;
    for cmd in [
        "configure terminal",
        "router bgp 64512",
        "bgp router-id 192.0.2.1",
        "end",
    ] {
        vty.exec(cmd).await?;
    }
    let running = vty.exec("show running-config").await?;
    vty.close().await?;
    Ok(running)
}
