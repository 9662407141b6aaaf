//! Lab namespaces and the links between them.

use std::ffi::OsStr;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ipnetwork::IpNetwork;
use netns::{Address, Link, NetNs, NetNsGuard, NetnsError, Rtnl, VethEnd};

use crate::LabError;

/// A named network namespace with `lo` up and a netlink connection inside it. On drop every
/// process inside is killed and the namespace is deleted.
#[derive(Debug)]
pub struct LabNs {
    // Declared first so the netlink socket goes before the namespace is deleted.
    rtnl: RtnlDebug,
    ns: NetNsGuard,
}

/// `Rtnl` has no `Debug`; this shows its namespace.
struct RtnlDebug(Rtnl);

impl std::fmt::Debug for RtnlDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rtnl({})", self.0.namespace())
    }
}

impl LabNs {
    /// Creates the namespace `name` (an error if it exists) with `lo` up.
    pub fn create(name: &str) -> Result<LabNs, LabError> {
        let ns = NetNsGuard::create(name).map_err(LabError::netns(format!("create {name}")))?;
        // Sync API: wait for the netlink thread here (as `Rtnl::open` did before it became async).
        let rtnl = futures::executor::block_on(Rtnl::open(Some(&ns)))
            .map_err(LabError::netns(format!("netlink in {name}")))?;
        Ok(LabNs {
            rtnl: RtnlDebug(rtnl),
            ns,
        })
    }

    /// Creates the namespace `name`, first removing a leftover of the same name (its processes
    /// are killed). For labs with fixed names, such as the demo's.
    pub fn replace(name: &str) -> Result<LabNs, LabError> {
        remove_namespace(name)?;
        LabNs::create(name)
    }

    /// The namespace's name (as `ip netns list` shows it).
    pub fn name(&self) -> &str {
        self.ns.name()
    }

    /// The namespace file, `/run/netns/NAME`.
    pub fn path(&self) -> &Path {
        self.ns.path()
    }

    /// The namespace handle.
    pub fn netns(&self) -> &NetNs {
        &self.ns
    }

    /// A command that runs `program` inside the namespace: the child enters it between fork and
    /// exec, so neither this process nor any of its threads changes namespace.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Result<Command, LabError> {
        // The child needs a descriptor of the namespace that lives as long as the command: a
        // duplicate owned by the closure (close-on-exec, so bgpd and friends do not inherit it).
        let handle = self
            .ns
            .try_clone()
            .map_err(LabError::netns(format!("open {}", self.name())))?;
        let mut cmd = Command::new(program);
        // SAFETY: the closure runs in the forked child before exec and only calls setns(2),
        // which is async-signal-safe and allocates nothing; the descriptor is owned by the
        // closure, so it is open for as long as the command can spawn.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(handle.as_fd().as_raw_fd(), libc::CLONE_NEWNET) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        Ok(cmd)
    }

    fn block<T>(
        &self,
        what: impl std::fmt::Display,
        f: impl std::future::Future<Output = Result<T, NetnsError>>,
    ) -> Result<T, LabError> {
        futures::executor::block_on(f)
            .map_err(LabError::netns(format!("{what} in {}", self.name())))
    }

    /// The link `ifname`.
    pub fn link(&self, ifname: &str) -> Result<Link, LabError> {
        self.block(format!("look up {ifname}"), self.rtnl.0.link(ifname))?
            .ok_or_else(|| LabError::NoSuchLink {
                namespace: self.name().to_string(),
                link: ifname.to_string(),
            })
    }

    /// The interface index of `ifname`.
    pub fn ifindex(&self, ifname: &str) -> Result<u32, LabError> {
        self.link(ifname).map(|l| l.index)
    }

    /// Brings `ifname` up.
    pub fn set_up(&self, ifname: &str) -> Result<(), LabError> {
        let index = self.ifindex(ifname)?;
        self.block(format!("set {ifname} up"), self.rtnl.0.set_up(index, true))
    }

    /// Adds an address (`192.0.2.1/24`, `2001:db8::1/64`) to a link; IPv6 addresses skip
    /// duplicate address detection so they are usable at once.
    pub fn add_addr(&self, ifname: &str, cidr: &str) -> Result<(), LabError> {
        let network: IpNetwork = cidr.parse().map_err(|_| LabError::BadAddress {
            text: cidr.to_string(),
        })?;
        let index = self.ifindex(ifname)?;
        self.block(
            format!("add {network} to {ifname}"),
            self.rtnl.0.add_address(index, network, true),
        )
    }

    /// The addresses of `ifname` (IPv6 link-local ones included).
    pub fn addresses(&self, ifname: &str) -> Result<Vec<Address>, LabError> {
        let index = self.ifindex(ifname)?;
        self.block(
            format!("list addresses of {ifname}"),
            self.rtnl.0.addresses(Some(index)),
        )
    }

    /// Waits up to `timeout` until `ifname` has a usable (not tentative) IPv6 link-local address.
    pub fn wait_link_local(&self, ifname: &str, timeout: Duration) -> Result<bool, LabError> {
        let deadline = Instant::now() + timeout;
        loop {
            let ready = self.addresses(ifname)?.iter().any(|a| match a.network {
                IpNetwork::V6(n) => n.ip().is_unicast_link_local() && !a.tentative && !a.dad_failed,
                IpNetwork::V4(_) => false,
            });
            if ready {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Pids of the processes running inside the namespace.
    pub fn pids(&self) -> Result<Vec<u32>, LabError> {
        netns::pids_in(&self.ns).map_err(LabError::netns(format!(
            "list processes in {}",
            self.name()
        )))
    }

    /// Opens a TCP connection to `addr` from inside the namespace (see [`connect_tcp_in`]).
    pub fn connect_tcp(&self, addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        connect_in(&self.ns, addr, timeout)
    }
}

fn connect_in(ns: &NetNs, addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    ns.run(move || TcpStream::connect_timeout(&addr, timeout))
        .map_err(io::Error::other)?
}

/// Opens a TCP connection to `addr` from inside the named namespace.
///
/// The socket is created on a short-lived thread that enters the namespace; the stream stays in
/// that namespace for its whole life and may be used from any thread (for tokio:
/// `set_nonblocking(true)` then `tokio::net::TcpStream::from_std`).
pub fn connect_tcp_in(
    namespace: &str,
    addr: SocketAddr,
    timeout: Duration,
) -> io::Result<TcpStream> {
    let ns = NetNs::open(namespace).map_err(io::Error::other)?;
    connect_in(&ns, addr, timeout)
}

/// Kills every process in the namespace `name` and deletes it; nothing if it does not exist.
pub fn remove_namespace(name: &str) -> Result<(), LabError> {
    match NetNs::open(name) {
        Ok(ns) => {
            netns::kill_processes_in(&ns)
                .map_err(LabError::netns(format!("kill processes in {name}")))?;
            drop(ns);
            netns::delete(name).map_err(LabError::netns(format!("delete {name}")))
        }
        Err(NetnsError::NotFound { .. }) => Ok(()),
        Err(e) => Err(LabError::Netns {
            what: format!("open {name}"),
            source: e,
        }),
    }
}

/// Creates a veth pair with end `a_if` in namespace `a` and end `b_if` in namespace `b`, both up.
pub fn veth_between(a: &LabNs, a_if: &str, b: &LabNs, b_if: &str) -> Result<(), LabError> {
    let end = |name: &str| VethEnd {
        name: name.to_string(),
        ..VethEnd::default()
    };
    let index = a.block(
        format!("add veth {a_if} (peer {b_if} in {})", b.name()),
        a.rtnl.0.add_veth(&end(a_if), &end(b_if), Some(b.netns())),
    )?;
    a.block(format!("set {a_if} up"), a.rtnl.0.set_up(index, true))?;
    b.set_up(b_if)
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
