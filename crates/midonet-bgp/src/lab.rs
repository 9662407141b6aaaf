//! The demo lab's scaffolding (namespaces, the uplink veth, the upstream FRR bgpd), built with
//! iproute2 and removed on drop — also after a panic or an early error.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A lab step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabError {
    /// A command could not run or failed.
    #[error("`{command}` failed: {message}")]
    Command {
        /// The command line.
        command: String,
        /// Its error output or the spawn error.
        message: String,
    },
    /// A file could not be written.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The upstream bgpd did not come up.
    #[error("upstream bgpd did not start: {0}")]
    Upstream(String),
}

/// Runs a command and returns its standard output, or an error with its standard error.
pub fn sh(program: &str, args: &[&str]) -> Result<String, LabError> {
    let line = format!("{program} {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| LabError::Command {
            command: line.clone(),
            message: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(LabError::Command {
            command: line,
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Kills every process in namespace `name` and deletes it; nothing if it does not exist.
pub fn remove_namespace(name: &str) {
    if !Path::new("/run/netns").join(name).exists() {
        return;
    }
    if let Ok(pids) = sh("ip", &["netns", "pids", name]) {
        for pid in pids
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
        {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
    let _ = sh("ip", &["netns", "del", name]);
}

/// A namespace created for the lab, deleted on drop.
#[derive(Debug)]
pub struct LabNs {
    name: String,
}

impl LabNs {
    /// Creates `name` (removing a leftover of the same name first) with `lo` up.
    pub fn create(name: &str) -> Result<LabNs, LabError> {
        remove_namespace(name);
        sh("ip", &["netns", "add", name])?;
        let ns = LabNs {
            name: name.to_string(),
        };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip -n NAME ARGS`.
    pub fn ip(&self, args: &[&str]) -> Result<String, LabError> {
        let mut full = vec!["-n", self.name.as_str()];
        full.extend_from_slice(args);
        sh("ip", &full)
    }
}

impl Drop for LabNs {
    fn drop(&mut self) {
        remove_namespace(&self.name);
    }
}

/// A plain FRR bgpd (no zebra) running in a lab namespace, killed on drop.
#[derive(Debug)]
pub struct Upstream {
    child: Option<Child>,
    dir: PathBuf,
}

impl Upstream {
    /// Writes `config` into `dir` and starts `bgpd` in `ns` with its Vty on 127.0.0.1:2605 and
    /// its vtysh socket in `dir`.
    /// With `zebra`, bgpd connects to that zebra socket (so it knows its interfaces); without, it
    /// runs zebra-less (`-Z`).
    pub fn start(
        bgpd: &Path,
        ns: &LabNs,
        dir: &Path,
        config: &str,
        zebra: Option<&Path>,
    ) -> Result<Upstream, LabError> {
        let file_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| LabError::File { path, source }
        };
        std::fs::create_dir_all(dir).map_err(file_err(dir))?;
        let conf = dir.join("bgpd.conf");
        std::fs::write(&conf, config).map_err(file_err(&conf))?;
        let log_path = dir.join("bgpd.out");
        let log = std::fs::File::create(&log_path).map_err(file_err(&log_path))?;
        let log2 = log.try_clone().map_err(file_err(&log_path))?;
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns.name()])
            .arg(bgpd)
            .arg("-S")
            .arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(dir.join("bgpd.pid"));
        match zebra {
            Some(z) => cmd.arg("-z").arg(z),
            None => cmd.args(["-Z", "-z", "/nonexistent"]),
        };
        let child = cmd
            .args(["-A", "127.0.0.1", "-P", "2605"])
            .arg("--vty_socket")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| LabError::Upstream(e.to_string()))?;
        let mut up = Upstream {
            child: Some(child),
            dir: dir.to_path_buf(),
        };
        let sock = dir.join("bgpd.vty");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !sock.exists() {
            if let Some(c) = up.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    let out = std::fs::read_to_string(&log_path).unwrap_or_default();
                    return Err(LabError::Upstream(format!("exited with {status}: {out}")));
                }
            }
            if Instant::now() > deadline {
                return Err(LabError::Upstream("no vtysh socket after 20 s".into()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(up)
    }

    /// Runs one vtysh command against the upstream bgpd.
    pub fn vtysh(&self, cmd: &str) -> Result<String, LabError> {
        let dir = self.dir.to_string_lossy().into_owned();
        sh("vtysh", &["--vty_socket", &dir, "-d", "bgpd", "-c", cmd])
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The interface `ifname` of namespace `ns` as a zebra server describes it (index, MAC, MTU, every
/// address including the IPv6 link-local one), read with `ip -j`.
pub fn zebra_interface(ns: &LabNs, ifname: &str) -> Result<zebra_server::Interface, LabError> {
    let text = ns.ip(&["-j", "addr", "show", "dev", ifname])?;
    let bad = |m: &str| LabError::Command {
        command: format!("ip -n {} -j addr show dev {ifname}", ns.name()),
        message: m.to_string(),
    };
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?;
    let link = v.get(0).ok_or_else(|| bad("no such interface"))?;
    let ifindex = link
        .get("ifindex")
        .and_then(|x| x.as_u64())
        .and_then(|x| u32::try_from(x).ok())
        .ok_or_else(|| bad("no ifindex"))?;
    let mtu = link
        .get("mtu")
        .and_then(|x| x.as_u64())
        .and_then(|x| u32::try_from(x).ok())
        .unwrap_or(1500);
    let mut mac = [0u8; 6];
    if let Some(m) = link.get("address").and_then(|x| x.as_str()) {
        for (slot, part) in mac.iter_mut().zip(m.split(':')) {
            *slot = u8::from_str_radix(part, 16).unwrap_or(0);
        }
    }
    let mut addresses = Vec::new();
    for a in link
        .get("addr_info")
        .and_then(|x| x.as_array())
        .into_iter()
        .flatten()
    {
        let ip = a
            .get("local")
            .and_then(|x| x.as_str())
            .and_then(|x| x.parse().ok());
        let len = a
            .get("prefixlen")
            .and_then(|x| x.as_u64())
            .and_then(|x| u8::try_from(x).ok());
        if let (Some(ip), Some(len)) = (ip, len) {
            if let Ok(n) = ipnetwork::IpNetwork::new(ip, len) {
                addresses.push(n);
            }
        }
    }
    Ok(zebra_server::Interface::ethernet(
        ifname, ifindex, mac, mtu, addresses,
    ))
}

/// Polls `ns` until `ifname` has an IPv6 link-local address (up to 5 s).
pub fn wait_link_local(ns: &LabNs, ifname: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(out) = ns.ip(&["-6", "addr", "show", "dev", ifname, "scope", "link"]) {
            if out.contains("fe80") && !out.contains("tentative") {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// An exclusive lock on a file (flock), released when dropped or when the process dies.
#[derive(Debug)]
pub struct DemoLock {
    _file: std::fs::File,
}

impl DemoLock {
    /// Takes the lock, or fails at once if another process holds it.
    pub fn acquire(path: &Path) -> Result<DemoLock, LabError> {
        use std::os::fd::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|source| LabError::File {
                path: path.to_path_buf(),
                source,
            })?;
        // SAFETY: flock on a file descriptor we own.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            return Err(LabError::Command {
                command: format!("lock {}", path.display()),
                message: "another demo is running".into(),
            });
        }
        Ok(DemoLock { _file: file })
    }
}
