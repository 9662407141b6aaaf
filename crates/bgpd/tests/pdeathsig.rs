//! bgpd must not outlive its supervisor's process, even when that process is SIGKILLed and no
//! destructor runs (PR_SET_PDEATHSIG), and the next run must clean up after it (adoption).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::BufRead;
use std::time::{Duration, Instant};

use bgpd::Supervisor;
use common::*;

const HELPER_ENV: &str = "BGPD_PDEATHSIG_HELPER";

/// Not a test by itself: the body of the helper process started by
/// `bgpd_dies_with_a_killed_supervisor_process` (run with `--ignored --exact`).
#[tokio::test]
#[ignore = "helper process of bgpd_dies_with_a_killed_supervisor_process"]
async fn helper_supervisor_process() {
    let Ok(arg) = std::env::var(HELPER_ENV) else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
    let (ns, dir, binary) = {
        let mut it = arg.split('|');
        (
            it.next().unwrap().to_string(),
            it.next().unwrap().to_string(),
            it.next().unwrap().to_string(),
        )
    };
    let config = bgpd::ConfigFile::Managed {
        path: format!("{dir}/etc/bgpd.conf").into(),
        hostname: "helper".into(),
        log_file: None,
    };
    let mut spec = bgpd::BgpdSpec::new(ns, format!("{dir}/run"), config, PASSWORD);
    spec.binary = Some(binary.into());
    spec.extra_args = vec!["-p".into(), "0".into()];
    let (sup, mut rx) = Supervisor::start(spec).unwrap();
    let pid = wait_ready(&mut rx, Duration::from_secs(30)).await;
    println!("READY {pid}");
    // Wait to be killed.
    tokio::time::sleep(Duration::from_secs(120)).await;
    drop(sup);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bgpd_dies_with_a_killed_supervisor_process() {
    let Some(bgpd) = testkit::require_bgpd("bgpd_dies_with_a_killed_supervisor_process") else {
        return;
    };
    let lab = Lab::new(bgpd);
    let arg = format!(
        "{}|{}|{}",
        lab.name(),
        lab.dir.path().display(),
        lab.bgpd.display()
    );
    let mut helper = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "helper_supervisor_process",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(HELPER_ENV, arg)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = helper.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // The harness may print "test NAME ... " on the same line first.
            if let Some(pid) = line
                .split_once("READY ")
                .and_then(|(_, p)| p.trim().parse::<u32>().ok())
            {
                let _ = tx.send(pid);
                break;
            }
        }
    });
    let pid = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(pid) => pid,
        Err(e) => {
            let _ = helper.kill();
            let _ = helper.wait();
            panic!("helper never reported Ready: {e}");
        }
    };
    assert!(alive(pid));
    assert_eq!(lab.pids_in_ns(), vec![pid]);
    // The supervisor's process dies without running any destructor.
    helper.kill().unwrap();
    helper.wait().unwrap();
    let t0 = Instant::now();
    eventually(
        Duration::from_secs(5),
        "bgpd to die with its supervisor",
        || !alive(pid),
    )
    .await;
    eprintln!("bgpd died {:?} after its supervisor process", t0.elapsed());
    assert!(lab.pids_in_ns().is_empty());
    // Its pid file is left behind (nobody could remove it); the next supervisor deals with it.
    assert!(lab.pid_file().exists());
    let mut spec = lab.spec();
    spec.config = bgpd::ConfigFile::Managed {
        path: lab.dir.path().join("etc/bgpd.conf"),
        hostname: "helper".into(),
        log_file: None,
    };
    let (sup, mut events) = Supervisor::start(spec).unwrap();
    let new_pid = wait_ready(&mut events, Duration::from_secs(30)).await;
    assert_ne!(new_pid, pid);
    sup.stop().await.unwrap();
    assert!(!lab.pid_file().exists());
    assert_no_zombies().await;
}
