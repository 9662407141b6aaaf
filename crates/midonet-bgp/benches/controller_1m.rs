//! The whole controller holding a full table: `midonet-bgp run` (the release binary) with one
//! port whose peer, BIRD 2 in a namespace of the lab, originates 1,048,576 IPv4 /24s (static
//! blackhole routes exported over eBGP; they live only in the two BGP daemons and the
//! controller, never in a kernel table). The port's FRR bgpd installs them through the
//! controller's zebra server into its route table.
//!
//! Prints: the time from start until the controller holds every route, the controller's peak
//! and current RSS (`VmHWM`/`VmRSS` of the `midonet-bgp run` process only; bgpd and BIRD are
//! other processes, their figures are printed for reference), then `status` reply size and
//! latency over the control socket with every route held (connect, request, whole reply; 50
//! requests), and the time to list every route page by page (`routes`, 10,000 per page).
//!
//! Needs root, FRR's bgpd and BIRD 2 (`bird`). `ROUTES=<n>` changes the number of routes
//! (at most 1,048,576).
//!
//! `cargo bench -p midonet-bgp --bench controller_1m`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, dead_code)]

#[path = "../../routing/tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Lab;
use testkit::lab::TestNs;

const ALL: u32 = 1 << 20;

/// The peak and current resident set of a process, in KiB.
fn rss_kib(pid: u32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// BIRD in the provider namespace; killed on drop.
struct Bird {
    pid_file: PathBuf,
}

impl Bird {
    fn start(ns: &TestNs, dir: &Path, routes: u32) -> Bird {
        let conf = dir.join("bird.conf");
        let mut f = std::io::BufWriter::new(std::fs::File::create(&conf).unwrap());
        writeln!(
            f,
            "log \"{}\" {{ warning, error }};",
            dir.join("bird.log").display()
        )
        .unwrap();
        writeln!(f, "router id 192.0.2.2;\nprotocol device {{ }}").unwrap();
        writeln!(f, "protocol static full {{\n  ipv4;").unwrap();
        for i in 0..routes {
            let a = (16 << 24) + (i << 8);
            writeln!(
                f,
                "  route {}.{}.{}.0/24 blackhole;",
                a >> 24,
                (a >> 16) & 0xff,
                (a >> 8) & 0xff
            )
            .unwrap();
        }
        writeln!(f, "}}").unwrap();
        writeln!(
            f,
            "protocol bgp controller {{\n  local 192.0.2.2 as 65002;\n  neighbor 192.0.2.1 as 65001;\n  ipv4 {{ import none; export all; }};\n}}"
        )
        .unwrap();
        f.flush().unwrap();
        drop(f);
        let pid_file = dir.join("bird.pid");
        let sock = dir.join("bird.ctl");
        let out = ns
            .exec(&[
                "bird",
                "-c",
                &conf.display().to_string(),
                "-s",
                &sock.display().to_string(),
                "-P",
                &pid_file.display().to_string(),
            ])
            .unwrap();
        assert!(
            out.status.success(),
            "bird: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Bird { pid_file }
    }

    fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(&self.pid_file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }
}

impl Drop for Bird {
    fn drop(&mut self) {
        if let Some(pid) = self.pid() {
            // SAFETY: kill(2) with a pid read from BIRD's own pid file; no memory is involved.
            unsafe {
                libc::kill(pid as i32, libc::SIGKILL);
            }
        }
    }
}

/// `midonet-bgp run`; SIGTERM then SIGKILL on drop.
struct Controller(Child);

impl Drop for Controller {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGTERM);
        }
        for _ in 0..600 {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One request on the control socket: (reply bytes, time from connect to the whole reply).
fn ask(socket: &Path, request: &str) -> (String, Duration) {
    let start = Instant::now();
    let mut s = UnixStream::connect(socket).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    s.write_all(b"\n").unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).unwrap();
    (line, start.elapsed())
}

fn main() {
    let routes: u32 = std::env::var("ROUTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ALL)
        .min(ALL);
    let Some(_) = testkit::require_root("controller_1m") else {
        return;
    };
    if testkit::require_bgpd("controller_1m").is_none() {
        return;
    }
    if Command::new("bird").arg("--version").output().is_err() {
        assert!(!testkit::in_ci(), "controller_1m needs BIRD 2 (`bird`)");
        eprintln!("controller_1m skipped: BIRD 2 (`bird`) not installed");
        return;
    }
    println!(
        "machine: {} cores, load {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let lab = Lab::new();
    let ns = lab.provider_ns("up1", &["192.0.2.2/24"]);
    let dir = lab.run_path();
    let t = Instant::now();
    let bird = Bird::start(&ns, &dir, routes);
    println!(
        "BIRD 2 started with {routes} static /24s in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let run = dir.join("run");
    let socket = run.join("control.sock");
    let file = dir.join("midonet-bgp.toml");
    std::fs::write(
        &file,
        format!(
            "{}\n[[port]]\nname = \"p1\"\nuplink = \"up1\"\naddress = \"192.0.2.1/24\"\nlocal_as = 65001\n[[port.peer]]\naddress = \"192.0.2.2\"\nremote_as = 65002\nkeepalive = 10\nhold_time = 90\nconnect_retry = 2\n",
            lab.controller().replace(
                &format!("run_dir = \"{}\"", dir.display()),
                &format!("run_dir = \"{}\"", run.display())
            )
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.join("controller.log")).unwrap();
    let start = Instant::now();
    let ctl = Controller(
        Command::new(env!("CARGO_BIN_EXE_midonet-bgp"))
            .args(["--log", "warn", "run", "--config"])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let pid = ctl.0.id();
    let mut last = serde_json::Value::Null;
    let (held, bgpd_pid) = loop {
        assert!(
            start.elapsed() < Duration::from_secs(900),
            "no full table after 900 s; last status {last}\n{}",
            std::fs::read_to_string(dir.join("controller.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(500));
        if !socket.exists() {
            continue;
        }
        let (reply, _) = ask(&socket, r#"{"request":"status"}"#);
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&reply) else {
            continue;
        };
        last = v["ports"][0]["routes"].clone();
        if last["accepted"].as_u64() == Some(u64::from(routes))
            && last["installed"].as_u64() == Some(u64::from(routes))
        {
            break (start.elapsed(), v["ports"][0]["bgpd_pid"].as_u64());
        }
    };
    let (hwm, rss) = rss_kib(pid);
    println!(
        "controller holds {routes} routes {:.1} s after start: peak RSS {}, RSS {} (counters {last})",
        held.as_secs_f64(),
        mib(hwm),
        mib(rss)
    );
    if let Some(b) = bgpd_pid {
        let (h, _) = rss_kib(b as u32);
        println!("  (the port's bgpd, another process: peak RSS {})", mib(h));
    }
    if let Some(b) = bird.pid() {
        let (h, _) = rss_kib(b);
        println!("  (BIRD, another process: peak RSS {})", mib(h));
    }
    // `status` with every route held.
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..50 {
        let (reply, took) = ask(&socket, r#"{"request":"status"}"#);
        size = size.max(reply.len());
        times.push(took);
    }
    times.sort();
    println!(
        "status with {routes} routes held: reply {size} bytes; latency min {:.2} ms, median {:.2} ms, max {:.2} ms (50 requests)",
        times[0].as_secs_f64() * 1e3,
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3
    );
    // Every route, page by page.
    let t = Instant::now();
    let mut listed = 0u64;
    let mut pages = 0u32;
    let mut biggest = 0;
    let mut after = serde_json::Value::Null;
    loop {
        let req = serde_json::json!({"request": "routes", "limit": 10_000, "after": after});
        let (reply, _) = ask(&socket, &req.to_string());
        biggest = biggest.max(reply.len());
        let v: serde_json::Value = serde_json::from_str(&reply).unwrap();
        listed += v["page"]["routes"].as_array().map_or(0, |r| r.len() as u64);
        pages += 1;
        after = v["page"]["next"].clone();
        if after.is_null() {
            break;
        }
    }
    let (hwm2, rss2) = rss_kib(pid);
    println!(
        "routes: {listed} listed in {pages} pages in {:.2} s (largest reply {biggest} bytes); controller peak RSS after listing {}, RSS {}",
        t.elapsed().as_secs_f64(),
        mib(hwm2),
        mib(rss2)
    );
    assert_eq!(listed, u64::from(routes));
    let t = Instant::now();
    drop(ctl);
    println!(
        "controller stopped (SIGTERM, everything torn down) in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    drop(bird);
}
