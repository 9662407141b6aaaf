//! A small lab for privileged tests: namespaces, veth links and real FRR bgpd processes, built with
//! the `ip` command and removed on drop.
//!
//! This module is for tests only. It shells out to iproute2 so that tests of the project's own
//! netlink code are checked against an independent implementation.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::unique_name;

fn run(cmd: &mut Command) -> io::Result<Output> {
    let out = cmd.output()?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(io::Error::other(format!(
            "{:?} failed ({}): {}",
            cmd,
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Runs `ip ARGS` in the current namespace and returns its standard output.
pub fn ip(args: &[&str]) -> io::Result<String> {
    let out = run(Command::new("ip").args(args))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A uniquely named network namespace with `lo` up. On drop every process inside is killed and the
/// namespace is deleted.
#[derive(Debug)]
pub struct TestNs {
    name: String,
}

impl TestNs {
    /// Creates a namespace named `prefix` + a unique suffix (see [`unique_name`]).
    pub fn new(prefix: &str) -> io::Result<TestNs> {
        let name = unique_name(prefix);
        ip(&["netns", "add", &name])?;
        let ns = TestNs { name };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The namespace's name (as `ip netns list` shows it).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace's bind-mount path, `/run/netns/NAME`.
    pub fn path(&self) -> PathBuf {
        Path::new("/run/netns").join(&self.name)
    }

    /// Runs `ip -n NAME ARGS` and returns its standard output.
    pub fn ip(&self, args: &[&str]) -> io::Result<String> {
        let mut full = vec!["-n", self.name.as_str()];
        full.extend_from_slice(args);
        ip(&full)
    }

    /// Runs a program inside the namespace (`ip netns exec NAME ARGS`) and returns its output,
    /// whatever its exit status.
    pub fn exec(&self, args: &[&str]) -> io::Result<Output> {
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args)
            .output()
    }

    /// Runs a program inside the namespace and fails unless it exits successfully.
    pub fn exec_ok(&self, args: &[&str]) -> io::Result<String> {
        let out = run(Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Adds an address (`192.0.2.1/24`, `2001:db8::1/64`) to a link; IPv6 addresses skip duplicate
    /// address detection so they are usable at once.
    pub fn add_addr(&self, ifname: &str, cidr: &str) -> io::Result<()> {
        if cidr.contains(':') {
            self.ip(&["addr", "add", cidr, "dev", ifname, "nodad"])?;
        } else {
            self.ip(&["addr", "add", cidr, "dev", ifname])?;
        }
        Ok(())
    }

    /// The interface index of `ifname` inside the namespace.
    pub fn ifindex(&self, ifname: &str) -> io::Result<u32> {
        let p = Path::new("/sys/class/net").join(ifname).join("ifindex");
        let out = self.exec_ok(&["cat", &p.to_string_lossy()])?;
        out.trim()
            .parse()
            .map_err(|e| io::Error::other(format!("ifindex of {ifname}: {e}")))
    }

    /// Pids of the processes running inside the namespace.
    pub fn pids(&self) -> Vec<u32> {
        ip(&["netns", "pids", &self.name])
            .map(|s| {
                s.split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Opens a TCP connection from inside the namespace (see [`connect_tcp_in`]).
    pub fn connect_tcp(&self, addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        connect_tcp_in(&self.path(), addr, timeout)
    }
}

impl Drop for TestNs {
    fn drop(&mut self) {
        for pid in self.pids() {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
        }
        let _ = ip(&["netns", "del", &self.name]);
    }
}

/// Creates a veth pair with end `a_if` in namespace `a` and end `b_if` in namespace `b`, both up.
pub fn veth_between(a: &TestNs, a_if: &str, b: &TestNs, b_if: &str) -> io::Result<()> {
    a.ip(&[
        "link",
        "add",
        a_if,
        "type",
        "veth",
        "peer",
        "name",
        b_if,
        "netns",
        b.name(),
    ])?;
    a.ip(&["link", "set", a_if, "up"])?;
    b.ip(&["link", "set", b_if, "up"])?;
    Ok(())
}

/// Opens a TCP connection to `addr` from inside the namespace mounted at `netns_path`.
///
/// The socket is created on a short-lived thread that first enters the namespace; the returned
/// stream keeps that namespace for its whole life and may be used from any thread (for tokio:
/// `set_nonblocking(true)` then `tokio::net::TcpStream::from_std`).
pub fn connect_tcp_in(
    netns_path: &Path,
    addr: SocketAddr,
    timeout: Duration,
) -> io::Result<TcpStream> {
    let file = std::fs::File::open(netns_path)?;
    std::thread::spawn(move || {
        // SAFETY: setns on a valid namespace fd; it only changes this (short-lived) thread.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(io::Error::last_os_error());
        }
        TcpStream::connect_timeout(&addr, timeout)
    })
    .join()
    .map_err(|_| io::Error::other("connect thread panicked"))?
}

/// Polls `cond` every 50 ms until it holds or `timeout` passes; returns whether it held.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Checks `cond` every 50 ms for `window` and returns false as soon as it does not hold: for
/// "nothing happens" assertions, instead of one look after a fixed sleep (which misses
/// something that happens and goes away again). The caller says in a comment why a violation
/// would show within `window`.
pub fn holds_for(window: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + window;
    loop {
        if !cond() {
            return false;
        }
        if Instant::now() >= deadline {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// How a [`TestBgpd`] is started.
#[derive(Debug, Clone)]
pub struct BgpdOptions {
    /// Zebra socket to connect to; `None` runs bgpd without zebra (`-Z -z /nonexistent`).
    pub zebra_socket: Option<PathBuf>,
    /// Vty listen address inside the namespace.
    pub vty_addr: String,
    /// Vty TCP port inside the namespace.
    pub vty_port: u16,
    /// Extra command-line arguments.
    pub extra_args: Vec<String>,
}

impl Default for BgpdOptions {
    fn default() -> Self {
        BgpdOptions {
            zebra_socket: None,
            vty_addr: "127.0.0.1".into(),
            vty_port: 2605,
            extra_args: Vec::new(),
        }
    }
}

/// A real FRR bgpd running inside a [`TestNs`]; killed (SIGKILL) and its files removed on drop.
///
/// Its directory holds `bgpd.conf`, `bgpd.pid`, `bgpd.log` (stdout and stderr) and the vtysh
/// socket, so [`TestBgpd::vtysh`] can query it independently of the project's Vty client.
#[derive(Debug)]
pub struct TestBgpd {
    child: Option<Child>,
    dir: PathBuf,
    ns_name: String,
}

impl TestBgpd {
    /// Writes `config` to the bgpd's directory and starts `bgpd` in `ns`.
    ///
    /// The config should set `hostname` and, for Vty logins over TCP, `password`.
    pub fn start(
        bgpd: &Path,
        ns: &TestNs,
        config: &str,
        opts: &BgpdOptions,
    ) -> io::Result<TestBgpd> {
        let dir = std::env::temp_dir().join(format!("testbgpd-{}", unique_name("b")));
        std::fs::create_dir_all(&dir)?;
        let conf = dir.join("bgpd.conf");
        std::fs::write(&conf, config)?;
        let log = std::fs::File::create(dir.join("bgpd.log"))?;
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns.name()])
            .arg(bgpd)
            .arg("-S")
            .arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(dir.join("bgpd.pid"))
            .arg("-A")
            .arg(&opts.vty_addr)
            .arg("-P")
            .arg(opts.vty_port.to_string())
            .arg("--vty_socket")
            .arg(&dir);
        match &opts.zebra_socket {
            Some(sock) => cmd.arg("-z").arg(sock),
            None => cmd.args(["-Z", "-z", "/nonexistent"]),
        };
        cmd.args(&opts.extra_args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = cmd.spawn()?;
        let me = TestBgpd {
            child: Some(child),
            dir,
            ns_name: ns.name().to_string(),
        };
        let sock = me.dir.join("bgpd.vty");
        if !wait_until(Duration::from_secs(20), || sock.exists()) {
            return Err(io::Error::other(format!(
                "bgpd did not create {} within 20 s; log:\n{}",
                sock.display(),
                me.log()
            )));
        }
        Ok(me)
    }

    /// The bgpd's pid (`ip netns exec` execs bgpd in place, so it is the child's pid).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// The directory with the config, pid file, log and vtysh socket.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The namespace it runs in.
    pub fn ns_name(&self) -> &str {
        &self.ns_name
    }

    /// bgpd's stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("bgpd.log")).unwrap_or_default()
    }

    /// Runs the commands through `vtysh` (each as one `-c`) and returns the output.
    /// Configuration commands need `"configure terminal"` first, as typed at a terminal.
    pub fn vtysh(&self, cmds: &[&str]) -> io::Result<String> {
        let mut cmd = Command::new("vtysh");
        cmd.arg("--vty_socket").arg(&self.dir).args(["-d", "bgpd"]);
        for c in cmds {
            cmd.arg("-c").arg(c);
        }
        let out = cmd.output()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(text)
        } else {
            Err(io::Error::other(format!(
                "vtysh {cmds:?} failed ({}): {text}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )))
        }
    }

    /// Runs one `show ... json` command through vtysh and parses the output as JSON text.
    pub fn vtysh_json(&self, cmd: &str) -> io::Result<String> {
        self.vtysh(&[cmd])
    }

    /// Polls `vtysh cmd` until `pred(output)` holds or `timeout` passes; returns the last output
    /// on success.
    pub fn wait_for(
        &self,
        cmd: &str,
        timeout: Duration,
        mut pred: impl FnMut(&str) -> bool,
    ) -> Option<String> {
        let mut last = None;
        let ok = wait_until(timeout, || match self.vtysh(&[cmd]) {
            Ok(out) => {
                let hit = pred(&out);
                last = Some(out);
                hit
            }
            Err(_) => false,
        });
        if ok {
            last
        } else {
            None
        }
    }

    /// Kills bgpd with SIGKILL and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for TestBgpd {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
