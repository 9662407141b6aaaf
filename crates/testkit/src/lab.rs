//! The project's network lab for privileged tests: uniquely named namespaces, veth links and real
//! FRR bgpd processes, removed on drop.
//!
//! The lab itself is the [`lab`] crate (built on `netns`, shared with `midonet-bgp demo`); this
//! module gives its objects unique names and `io::Result` signatures for tests. [`ip`] and
//! [`TestNs::ip`] run iproute2 for tests that check the kernel's state, or set up something the
//! lab has no helper for, with an implementation independent of the project's netlink code.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

pub use lab::{wait_until, LabNs};

use crate::unique_name;

fn io_err(e: lab::LabError) -> io::Error {
    io::Error::other(e)
}

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

/// A namespace for the kernel route sink's tests and harness (a route table's home, no bgpd):
/// named `prefix` + a unique suffix, with one veth pair per `(name, address)` of `uplinks` —
/// `name` and its other end `name`p, both up, `address` (if any) on `name`. The peers a sink
/// installs routes through are reached `onlink` on these uplinks; nothing answers on the
/// other ends.
pub fn uplink_ns(prefix: &str, uplinks: &[(&str, Option<&str>)]) -> io::Result<TestNs> {
    let ns = TestNs::new(prefix)?;
    for (name, address) in uplinks {
        let peer = format!("{name}p");
        ns.ip(&["link", "add", name, "type", "veth", "peer", "name", &peer])?;
        ns.ip(&["link", "set", name, "up"])?;
        ns.ip(&["link", "set", &peer, "up"])?;
        if let Some(cidr) = address {
            ns.add_addr(name, cidr)?;
        }
    }
    Ok(ns)
}

/// A uniquely named network namespace with `lo` up. On drop every process inside is killed and the
/// namespace is deleted.
#[derive(Debug)]
pub struct TestNs {
    ns: LabNs,
}

impl TestNs {
    /// Creates a namespace named `prefix` + a unique suffix (see [`unique_name`]).
    pub fn new(prefix: &str) -> io::Result<TestNs> {
        let ns = LabNs::create(&unique_name(prefix)).map_err(io_err)?;
        Ok(TestNs { ns })
    }

    /// The lab namespace.
    pub fn lab(&self) -> &LabNs {
        &self.ns
    }

    /// The namespace's name (as `ip netns list` shows it).
    pub fn name(&self) -> &str {
        self.ns.name()
    }

    /// The namespace's bind-mount path, `/run/netns/NAME`.
    pub fn path(&self) -> PathBuf {
        self.ns.path().to_path_buf()
    }

    /// Runs `ip -n NAME ARGS` and returns its standard output.
    pub fn ip(&self, args: &[&str]) -> io::Result<String> {
        let mut full = vec!["-n", self.name()];
        full.extend_from_slice(args);
        ip(&full)
    }

    /// Runs a program inside the namespace and returns its output, whatever its exit status.
    /// `args[0]` is the program.
    pub fn exec(&self, args: &[&str]) -> io::Result<Output> {
        let Some((program, rest)) = args.split_first() else {
            return Err(io::Error::other("exec: no program"));
        };
        self.ns
            .command(program)
            .map_err(io_err)?
            .args(rest)
            .output()
    }

    /// Runs a program inside the namespace and fails unless it exits successfully.
    pub fn exec_ok(&self, args: &[&str]) -> io::Result<String> {
        let out = self.exec(args)?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(io::Error::other(format!(
                "{args:?} in {} failed ({}): {}",
                self.name(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }

    /// Adds an address (`192.0.2.1/24`, `2001:db8::1/64`) to a link; IPv6 addresses skip duplicate
    /// address detection so they are usable at once.
    pub fn add_addr(&self, ifname: &str, cidr: &str) -> io::Result<()> {
        self.ns.add_addr(ifname, cidr).map_err(io_err)
    }

    /// The interface index of `ifname` inside the namespace.
    pub fn ifindex(&self, ifname: &str) -> io::Result<u32> {
        self.ns.ifindex(ifname).map_err(io_err)
    }

    /// Pids of the processes running inside the namespace (empty if they cannot be listed).
    pub fn pids(&self) -> Vec<u32> {
        self.ns.pids().unwrap_or_default()
    }

    /// Opens a TCP connection from inside the namespace (see [`connect_tcp_in`]).
    pub fn connect_tcp(&self, addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        self.ns.connect_tcp(addr, timeout)
    }
}

/// Creates a veth pair with end `a_if` in namespace `a` and end `b_if` in namespace `b`, both up.
pub fn veth_between(a: &TestNs, a_if: &str, b: &TestNs, b_if: &str) -> io::Result<()> {
    lab::veth_between(&a.ns, a_if, &b.ns, b_if).map_err(io_err)
}

/// Opens a TCP connection to `addr` from inside the named namespace.
///
/// The socket is created on a short-lived thread that first enters the namespace; the returned
/// stream keeps that namespace for its whole life and may be used from any thread (for tokio:
/// `set_nonblocking(true)` then `tokio::net::TcpStream::from_std`).
pub fn connect_tcp_in(
    namespace: &str,
    addr: SocketAddr,
    timeout: Duration,
) -> io::Result<TcpStream> {
    lab::connect_tcp_in(namespace, addr, timeout)
}

/// Checks `cond` every 50 ms for `window` and returns false as soon as it does not hold: for
/// "nothing happens" assertions, instead of one look after a fixed sleep (which misses
/// something that happens and goes away again). The caller says in a comment why a violation
/// would show within `window`.
pub fn holds_for(window: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + window;
    loop {
        if !cond() {
            return false;
        }
        if std::time::Instant::now() >= deadline {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// How a [`TestBgpd`] is started.
pub type BgpdOptions = lab::BgpdOptions;

/// A real FRR bgpd running inside a [`TestNs`]; killed (SIGKILL) and its files removed on drop.
///
/// Its directory (under the temporary directory) holds `bgpd.conf`, `bgpd.pid`, `bgpd.out`
/// (stdout and stderr) and the vtysh socket, so [`TestBgpd::vtysh`] can query it independently
/// of the project's Vty client.
///
/// [`TestBgpd::start_in_chroot`] runs a bgpd of another FRR version from a chroot (see
/// [`crate::require_frr10`]).
#[derive(Debug)]
pub struct TestBgpd {
    bgpd: lab::Bgpd,
    /// The chroot bgpd runs in, if any (its own vtysh is used).
    chroot: Option<PathBuf>,
    /// Bind mounts inside the chroot, unmounted on drop (last first).
    mounts: Vec<PathBuf>,
}

/// Bind-mounts `dir` at the same path inside `root`; returns the mount point.
fn bind_into(root: &Path, dir: &Path) -> io::Result<PathBuf> {
    let target = root.join(dir.strip_prefix("/").unwrap_or(dir));
    std::fs::create_dir_all(&target)?;
    run(Command::new("mount").arg("--bind").arg(dir).arg(&target))?;
    Ok(target)
}

fn unmount_all(mounts: &mut Vec<PathBuf>) {
    for m in mounts.drain(..).rev() {
        let _ = Command::new("umount").arg("-l").arg(&m).status();
        let _ = std::fs::remove_dir(&m);
    }
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
        let bgpd = lab::Bgpd::start(bgpd, &ns.ns, &dir, config, opts).map_err(io_err)?;
        Ok(TestBgpd {
            bgpd,
            chroot: None,
            mounts: Vec::new(),
        })
    }

    /// Like [`TestBgpd::start`], for the bgpd at `bgpd` inside the chroot `root` (e.g.
    /// [`crate::FRR10_BGPD`] in the chroot of [`crate::require_frr10`]).
    ///
    /// bgpd's directory and the zebra socket's directory are bind-mounted at the same paths
    /// inside the chroot, so every path on its command line means the same inside and outside;
    /// they are unmounted on drop. bgpd runs through a small `exec chroot ROOT BGPD "$@"` script
    /// in its directory, so its pid is the child's.
    pub fn start_in_chroot(
        root: &Path,
        bgpd: &Path,
        ns: &TestNs,
        config: &str,
        opts: &BgpdOptions,
    ) -> io::Result<TestBgpd> {
        let dir = std::env::temp_dir().join(format!("testbgpd-{}", unique_name("c")));
        std::fs::create_dir_all(&dir)?;
        let mut mounts = Vec::new();
        let res = (|| {
            mounts.push(bind_into(root, &dir)?);
            if let Some(sock_dir) = opts.zebra_socket.as_deref().and_then(Path::parent) {
                mounts.push(bind_into(root, sock_dir)?);
            }
            let wrapper = dir.join("bgpd-chroot.sh");
            let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', "'\\''"));
            std::fs::write(
                &wrapper,
                format!(
                    "#!/bin/sh\nexec chroot {} {} \"$@\"\n",
                    quote(root),
                    quote(bgpd)
                ),
            )?;
            std::fs::set_permissions(
                &wrapper,
                std::os::unix::fs::PermissionsExt::from_mode(0o755),
            )?;
            lab::Bgpd::start(&wrapper, &ns.ns, &dir, config, opts).map_err(io_err)
        })();
        match res {
            Ok(bgpd) => Ok(TestBgpd {
                bgpd,
                chroot: Some(root.to_path_buf()),
                mounts,
            }),
            Err(e) => {
                unmount_all(&mut mounts);
                let _ = std::fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }

    /// The bgpd's pid.
    pub fn pid(&self) -> Option<u32> {
        self.bgpd.pid()
    }

    /// The directory with the config, pid file, output and vtysh socket.
    pub fn dir(&self) -> &Path {
        self.bgpd.dir()
    }

    /// The namespace it runs in.
    pub fn ns_name(&self) -> &str {
        self.bgpd.ns_name()
    }

    /// bgpd's stdout and stderr so far.
    pub fn log(&self) -> String {
        self.bgpd.log()
    }

    /// Runs the commands through `vtysh` (each as one `-c`) and returns the output.
    /// Configuration commands need `"configure terminal"` first, as typed at a terminal.
    pub fn vtysh(&self, cmds: &[&str]) -> io::Result<String> {
        let Some(root) = &self.chroot else {
            return self.bgpd.vtysh(cmds).map_err(io_err);
        };
        // A chrooted bgpd is asked with its own version's vtysh.
        let mut cmd = Command::new("chroot");
        cmd.arg(root)
            .arg("vtysh")
            .arg("--vty_socket")
            .arg(self.dir())
            .args(["-d", "bgpd"]);
        for c in cmds {
            cmd.arg("-c").arg(c);
        }
        let out = run(&mut cmd)?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs one `show ... json` command through vtysh and returns its output.
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
        self.bgpd.kill();
    }
}

impl Drop for TestBgpd {
    fn drop(&mut self) {
        // bgpd first, then the mounts; the lab removes the directory afterwards.
        self.bgpd.kill();
        unmount_all(&mut self.mounts);
    }
}
