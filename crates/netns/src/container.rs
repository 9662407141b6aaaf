//! Building, fixing and removing the container of one BGP port.
//!
//! [`Container::apply`] makes the wiring match a [`ContainerSpec`]: it creates what is missing,
//! fixes what differs (MAC, MTU, addresses, link state, enslavement, default route) and leaves
//! everything else alone, so applying the same spec twice changes nothing. An object that carries
//! one of our names but is not what we would have built (a dummy link, a veth whose peer is
//! elsewhere, a bridge-less port…) stops the apply with [`NetnsError::Conflict`] naming it.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use ipnetwork::{IpNetwork, Ipv4Network};

use crate::error::{NetnsError, Result};
use crate::ns::{kill_processes_in_async, NetNs};
use crate::rtnl::Rtnl;
use crate::spec::{ContainerNames, ContainerSpec, VtyAddressing};
use crate::types::{Link, MacAddr, VethEnd};

/// One change [`Container::apply`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// The namespace was created.
    CreatedNamespace(String),
    /// A veth pair was created.
    CreatedVeth {
        /// Host-side end.
        host: String,
        /// End inside the namespace.
        inside: String,
    },
    /// The Vty bridge was created.
    CreatedBridge(String),
    /// A link's MAC was changed.
    SetMac {
        /// The link.
        link: String,
        /// Its new MAC.
        mac: MacAddr,
    },
    /// A link's MTU was changed.
    SetMtu {
        /// The link.
        link: String,
        /// Its new MTU.
        mtu: u32,
    },
    /// An address was added.
    AddedAddress {
        /// The link.
        link: String,
        /// The address.
        address: IpNetwork,
    },
    /// An address that is not in the spec was removed.
    RemovedAddress {
        /// The link.
        link: String,
        /// The address.
        address: IpNetwork,
    },
    /// A link was set up.
    SetUp(String),
    /// A link was enslaved to the bridge.
    Enslaved {
        /// The port.
        link: String,
        /// The bridge.
        bridge: String,
    },
    /// The namespace's default route was set.
    SetDefaultRoute {
        /// Its gateway (the bridge's address).
        gateway: Ipv4Addr,
    },
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::CreatedNamespace(n) => write!(f, "created namespace {n}"),
            Action::CreatedVeth { host, inside } => write!(f, "created veth {host} / {inside}"),
            Action::CreatedBridge(b) => write!(f, "created bridge {b}"),
            Action::SetMac { link, mac } => write!(f, "set mac of {link} to {mac}"),
            Action::SetMtu { link, mtu } => write!(f, "set mtu of {link} to {mtu}"),
            Action::AddedAddress { link, address } => write!(f, "added {address} to {link}"),
            Action::RemovedAddress { link, address } => write!(f, "removed {address} from {link}"),
            Action::SetUp(l) => write!(f, "set {l} up"),
            Action::Enslaved { link, bridge } => write!(f, "enslaved {link} to {bridge}"),
            Action::SetDefaultRoute { gateway } => write!(f, "set default route via {gateway}"),
        }
    }
}

/// The datapath veth end inside the namespace, as the zebra server advertises it to bgpd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsideInterface {
    /// Interface name (`<base>_m`).
    pub name: String,
    /// Interface index inside the namespace.
    pub index: u32,
    /// MAC (the router port's).
    pub mac: MacAddr,
    /// MTU.
    pub mtu: u32,
    /// Addresses with their prefix lengths.
    pub addresses: Vec<IpNetwork>,
}

/// The built container of one BGP port. Dropping it leaves the wiring in place; call
/// [`Container::teardown`], or wrap it in a [`ContainerGuard`] to remove it on drop.
#[derive(Debug)]
pub struct Container {
    spec: ContainerSpec,
    names: ContainerNames,
    vty: VtyAddressing,
    ns: NetNs,
    host_ns: Option<NetNs>,
    datapath_host_index: u32,
    datapath_inside: InsideInterface,
    vty_host_index: u32,
    vty_inside_index: u32,
    bridge_index: u32,
    actions: Vec<Action>,
}

fn kind_of(link: &Link) -> &str {
    link.kind.as_deref().unwrap_or("kind-less")
}

fn conflict(object: String, found: String) -> NetnsError {
    NetnsError::Conflict { object, found }
}

fn is_ipv6_link_local(a: &IpNetwork) -> bool {
    matches!(a, IpNetwork::V6(n) if (n.ip().segments()[0] & 0xffc0) == 0xfe80)
}

struct Apply<'a> {
    host: Rtnl,
    inner: Rtnl,
    ns: &'a NetNs,
    actions: Vec<Action>,
}

impl Apply<'_> {
    fn host_obj(&self, name: &str) -> String {
        format!("link {name} in {}", self.host.namespace())
    }

    fn inner_obj(&self, name: &str) -> String {
        format!("link {name} in {}", self.ns.name())
    }

    /// Makes sure the veth pair `host_name` / `inside_name` (inside our namespace) exists and is
    /// ours; returns both indexes.
    async fn veth(
        &mut self,
        host_name: &str,
        inside_name: &str,
        inside_mac: Option<MacAddr>,
        mtu: Option<u32>,
    ) -> Result<(u32, u32)> {
        let h = self.host.link(host_name).await?;
        let i = self.inner.link(inside_name).await?;
        match (h, i) {
            (None, None) => {
                let host_end = VethEnd {
                    name: host_name.to_string(),
                    mac: None,
                    mtu,
                };
                let inside_end = VethEnd {
                    name: inside_name.to_string(),
                    mac: inside_mac,
                    mtu,
                };
                let hi = self
                    .host
                    .add_veth(&host_end, &inside_end, Some(self.ns))
                    .await?;
                self.actions.push(Action::CreatedVeth {
                    host: host_name.to_string(),
                    inside: inside_name.to_string(),
                });
                let ii = match self.inner.link(inside_name).await? {
                    Some(l) => l.index,
                    None => {
                        return Err(conflict(
                            self.inner_obj(inside_name),
                            "absent right after creating its veth pair".into(),
                        ))
                    }
                };
                Ok((hi, ii))
            }
            (Some(h), None) => {
                if h.kind.as_deref() != Some("veth") {
                    return Err(conflict(
                        self.host_obj(host_name),
                        format!("a {} link, not our veth", kind_of(&h)),
                    ));
                }
                Err(conflict(
                    self.host_obj(host_name),
                    format!(
                        "a veth whose peer (#{:?}) is not {inside_name} in namespace {}",
                        h.peer_index,
                        self.ns.name()
                    ),
                ))
            }
            (None, Some(i)) => Err(conflict(
                self.inner_obj(inside_name),
                format!(
                    "a {} link without the host-side peer {host_name}",
                    kind_of(&i)
                ),
            )),
            (Some(h), Some(i)) => {
                if h.kind.as_deref() != Some("veth") {
                    return Err(conflict(
                        self.host_obj(host_name),
                        format!("a {} link, not our veth", kind_of(&h)),
                    ));
                }
                if i.kind.as_deref() != Some("veth") {
                    return Err(conflict(
                        self.inner_obj(inside_name),
                        format!("a {} link, not our veth", kind_of(&i)),
                    ));
                }
                let nsid = self.host.netns_id(self.ns).await?;
                let paired = h.peer_index == Some(i.index)
                    && i.peer_index == Some(h.index)
                    && nsid.is_some()
                    && h.peer_netns_id == nsid;
                if !paired {
                    return Err(conflict(
                        self.host_obj(host_name),
                        format!(
                            "a veth whose peer is elsewhere (peer #{:?} in namespace id {:?}, expected {inside_name} #{} in {} id {:?})",
                            h.peer_index,
                            h.peer_netns_id,
                            i.index,
                            self.ns.name(),
                            nsid
                        ),
                    ));
                }
                if let Some(mtu) = mtu {
                    if h.mtu != mtu {
                        self.host.set_mtu(h.index, mtu).await?;
                        self.actions.push(Action::SetMtu {
                            link: host_name.to_string(),
                            mtu,
                        });
                    }
                    if i.mtu != mtu {
                        self.inner.set_mtu(i.index, mtu).await?;
                        self.actions.push(Action::SetMtu {
                            link: inside_name.to_string(),
                            mtu,
                        });
                    }
                }
                if let Some(mac) = inside_mac {
                    if i.mac != Some(mac) {
                        self.inner.set_mac(i.index, mac).await?;
                        self.actions.push(Action::SetMac {
                            link: inside_name.to_string(),
                            mac,
                        });
                    }
                }
                Ok((h.index, i.index))
            }
        }
    }

    async fn bridge(&mut self, name: &str) -> Result<u32> {
        match self.host.link(name).await? {
            None => {
                let idx = self.host.add_bridge(name).await?;
                self.actions.push(Action::CreatedBridge(name.to_string()));
                Ok(idx)
            }
            Some(l) if l.kind.as_deref() == Some("bridge") => Ok(l.index),
            Some(l) => Err(conflict(
                self.host_obj(name),
                format!("a {} link, not our bridge", kind_of(&l)),
            )),
        }
    }

    /// Makes the managed addresses of a link exactly `desired`. `manage` selects which existing
    /// addresses are ours to remove.
    async fn addresses(
        &mut self,
        inside: bool,
        name: &str,
        index: u32,
        desired: &[IpNetwork],
        manage: impl Fn(&IpNetwork) -> bool,
    ) -> Result<()> {
        let rtnl = if inside { &self.inner } else { &self.host };
        let current: Vec<IpNetwork> = rtnl
            .addresses(Some(index))
            .await?
            .into_iter()
            .map(|a| a.network)
            .filter(|a| manage(a))
            .collect();
        for extra in current.iter().filter(|a| !desired.contains(a)) {
            rtnl.delete_address(index, *extra).await?;
            self.actions.push(Action::RemovedAddress {
                link: name.to_string(),
                address: *extra,
            });
        }
        for missing in desired.iter().filter(|a| !current.contains(a)) {
            rtnl.add_address(index, *missing, true).await?;
            self.actions.push(Action::AddedAddress {
                link: name.to_string(),
                address: *missing,
            });
        }
        Ok(())
    }

    async fn up(&mut self, inside: bool, name: &str) -> Result<()> {
        let rtnl = if inside { &self.inner } else { &self.host };
        match rtnl.link(name).await? {
            Some(l) if l.up => Ok(()),
            Some(l) => {
                rtnl.set_up(l.index, true).await?;
                self.actions.push(Action::SetUp(name.to_string()));
                Ok(())
            }
            None => Err(conflict(
                if inside {
                    self.inner_obj(name)
                } else {
                    self.host_obj(name)
                },
                "vanished while being set up".into(),
            )),
        }
    }
}

impl Container {
    /// Builds the container described by `spec`, or fixes an existing one to match it.
    ///
    /// Returns once the wiring is usable: links up, addresses assigned (IPv6 ones without
    /// duplicate address detection, so they can be bound at once), default route set.
    ///
    /// Must run inside a tokio runtime with its time driver enabled (it polls for the IPv6
    /// addresses to settle). On error, what was already built stays in place: apply again once
    /// the cause is fixed, or call [`ContainerSpec::remove`].
    pub async fn apply(spec: &ContainerSpec) -> Result<Container> {
        spec.validate()?;
        let names = spec.names()?;
        let vty = VtyAddressing::of(spec)?;
        let host_ns = match &spec.host_netns {
            Some(n) => Some(NetNs::open(n)?),
            None => None,
        };
        let mut created_ns = false;
        let ns = match NetNs::open(&names.namespace) {
            Ok(ns) => ns,
            Err(NetnsError::NotFound { .. }) => {
                created_ns = true;
                NetNs::create_async(&names.namespace).await?
            }
            Err(e) => return Err(e),
        };
        let mut a = Apply {
            host: Rtnl::open(host_ns.as_ref()).await?,
            inner: Rtnl::open(Some(&ns)).await?,
            ns: &ns,
            actions: Vec::new(),
        };
        if created_ns {
            a.actions
                .push(Action::CreatedNamespace(names.namespace.clone()));
        }

        let (dp_host, dp_inside) = a
            .veth(
                &names.datapath_host,
                &names.datapath_inside,
                Some(spec.mac),
                Some(spec.mtu),
            )
            .await?;
        let (vty_host, vty_inside) = a
            .veth(&names.vty_host, &names.vty_inside, None, None)
            .await?;
        let bridge = a.bridge(&names.bridge).await?;
        match a.host.link_by_index(vty_host).await? {
            Some(l) if l.master == Some(bridge) => {}
            Some(_) => {
                a.host.set_master(vty_host, Some(bridge)).await?;
                a.actions.push(Action::Enslaved {
                    link: names.vty_host.clone(),
                    bridge: names.bridge.clone(),
                });
            }
            None => {
                return Err(conflict(
                    a.host_obj(&names.vty_host),
                    "vanished while being enslaved".into(),
                ))
            }
        }

        let desired = spec.addresses.clone();
        a.addresses(true, &names.datapath_inside, dp_inside, &desired, |x| {
            !is_ipv6_link_local(x) || desired.contains(x)
        })
        .await?;
        let v4 = |x: &IpNetwork| x.is_ipv4();
        a.addresses(false, &names.bridge, bridge, &[IpNetwork::V4(vty.host)], v4)
            .await?;
        a.addresses(
            true,
            &names.vty_inside,
            vty_inside,
            &[IpNetwork::V4(vty.namespace)],
            v4,
        )
        .await?;

        a.up(true, "lo").await?;
        a.up(true, &names.datapath_inside).await?;
        a.up(false, &names.datapath_host).await?;
        a.up(true, &names.vty_inside).await?;
        a.up(false, &names.vty_host).await?;
        a.up(false, &names.bridge).await?;

        let gateway = vty.host.ip();
        let default =
            Ipv4Network::new(Ipv4Addr::UNSPECIFIED, 0).map_err(|e| NetnsError::InvalidSpec {
                field: "route",
                reason: e.to_string(),
            })?;
        let routes = a.inner.routes().await?;
        let has_default = routes.iter().any(|r| {
            r.destination == IpNetwork::V4(default)
                && r.gateway == Some(IpAddr::V4(gateway))
                && r.oif == Some(vty_inside)
        });
        if !has_default {
            a.inner
                .add_route(
                    IpNetwork::V4(default),
                    Some(IpAddr::V4(gateway)),
                    Some(vty_inside),
                    true,
                )
                .await?;
            a.actions.push(Action::SetDefaultRoute { gateway });
        }

        wait_usable(&a.inner, dp_inside, &names.datapath_inside).await?;

        let actions = std::mem::take(&mut a.actions);
        drop(a);
        Ok(Container {
            spec: spec.clone(),
            names: names.clone(),
            vty,
            ns,
            host_ns,
            datapath_host_index: dp_host,
            datapath_inside: InsideInterface {
                name: names.datapath_inside.clone(),
                index: dp_inside,
                mac: spec.mac,
                mtu: spec.mtu,
                addresses: spec.addresses.clone(),
            },
            vty_host_index: vty_host,
            vty_inside_index: vty_inside,
            bridge_index: bridge,
            actions,
        })
    }

    /// Removes everything of this container: kills the processes left inside the namespace,
    /// deletes the host-side veths (their peers go with them) and the bridge, then the namespace.
    pub async fn teardown(self) -> Result<()> {
        remove_wiring(&self.names, self.host_ns.as_ref()).await
    }

    /// The spec this container was last applied from.
    pub fn spec(&self) -> &ContainerSpec {
        &self.spec
    }

    /// All derived names.
    pub fn names(&self) -> &ContainerNames {
        &self.names
    }

    /// What the apply that returned this container changed (empty when nothing differed).
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    /// The container's namespace.
    pub fn netns(&self) -> &NetNs {
        &self.ns
    }

    /// The host-side namespace (`None`: the process's own).
    pub fn host_netns(&self) -> Option<&NetNs> {
        self.host_ns.as_ref()
    }

    /// Name of the host-side datapath veth (where the datapath steers BGP traffic).
    pub fn datapath_host_name(&self) -> &str {
        &self.names.datapath_host
    }

    /// Index of the host-side datapath veth in the host-side namespace.
    pub fn datapath_host_index(&self) -> u32 {
        self.datapath_host_index
    }

    /// The datapath veth inside the namespace (name, index, MAC, MTU, addresses).
    pub fn datapath_inside(&self) -> &InsideInterface {
        &self.datapath_inside
    }

    /// Name of the Vty bridge on the host side.
    pub fn bridge_name(&self) -> &str {
        &self.names.bridge
    }

    /// Index of the Vty bridge in the host-side namespace.
    pub fn bridge_index(&self) -> u32 {
        self.bridge_index
    }

    /// Index of the host-side Vty veth (a bridge port).
    pub fn vty_host_index(&self) -> u32 {
        self.vty_host_index
    }

    /// Index of the Vty veth inside the namespace.
    pub fn vty_inside_index(&self) -> u32 {
        self.vty_inside_index
    }

    /// The bridge's address (`.1/30`): the host's end of the Vty link.
    pub fn vty_host_address(&self) -> Ipv4Network {
        self.vty.host
    }

    /// The namespace's Vty address (`.2/30`).
    pub fn vty_ns_address(&self) -> Ipv4Network {
        self.vty.namespace
    }

    /// Where bgpd's Vty listens: namespace address and Vty port.
    pub fn vty_socket_addr(&self) -> SocketAddr {
        self.vty.vty
    }
}

/// Waits (up to 5 s) until the datapath link's addresses are no longer tentative.
async fn wait_usable(inner: &Rtnl, index: u32, name: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let addrs = inner.addresses(Some(index)).await?;
        if let Some(a) = addrs.iter().find(|a| a.dad_failed) {
            return Err(conflict(
                format!("address {} on {name} in {}", a.network, inner.namespace()),
                "duplicate address detection failed".into(),
            ));
        }
        if !addrs
            .iter()
            .any(|a| a.tentative && !is_ipv6_link_local(&a.network))
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(conflict(
                format!("addresses of {name} in {}", inner.namespace()),
                "still tentative after 5 s".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Deletes the host-side objects of `names` (only if they are of our kinds) and the namespace,
/// after killing the processes inside it.
pub(crate) async fn remove_wiring(names: &ContainerNames, host_ns: Option<&NetNs>) -> Result<()> {
    match NetNs::open(&names.namespace) {
        Ok(ns) => {
            kill_processes_in_async(&ns).await?;
        }
        Err(NetnsError::NotFound { .. }) | Err(NetnsError::NotANamespace { .. }) => {}
        Err(e) => return Err(e),
    }
    let host = Rtnl::open(host_ns).await?;
    let mut ours = Vec::new();
    for (name, kind) in [
        (&names.datapath_host, "veth"),
        (&names.vty_host, "veth"),
        (&names.bridge, "bridge"),
    ] {
        if let Some(l) = host.link(name).await? {
            if l.kind.as_deref() == Some(kind) {
                ours.push(l.index);
            }
        }
    }
    // One batch: the veths' peers inside the namespace go with them.
    delete_links_without_waiting_for_the_kernel(host_ns, &host, ours).await?;
    crate::ns::delete(&names.namespace)
}

/// Lets other tasks run once. Unlike `tokio::task::yield_now` it works under any executor,
/// including `futures::executor::block_on` called from a tokio thread (as in
/// [`ContainerGuard`]'s drop), where tokio's deferred wake-up would never come.
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

/// Deletes `indexes` in the host-side namespace as one batch and returns as soon as they are
/// gone from the namespace (unlisted, names free).
///
/// The kernel acknowledges a link deletion only after waiting for RCU callbacks everywhere
/// (tens of milliseconds on a loaded machine), long after the links have disappeared. The
/// request therefore runs on a helper thread with its own netlink socket, while this task
/// watches the links vanish through `host`; a kernel error still reaches the caller if it comes
/// first.
async fn delete_links_without_waiting_for_the_kernel(
    host_ns: Option<&NetNs>,
    host: &Rtnl,
    indexes: Vec<u32>,
) -> Result<()> {
    if indexes.is_empty() {
        return Ok(());
    }
    let deleter = Rtnl::open(host_ns).await?;
    let (tx, mut rx) = tokio::sync::oneshot::channel();
    let doomed = indexes.clone();
    std::thread::Builder::new()
        .name("netns-unlink".to_string())
        .spawn(move || {
            let _ = tx.send(futures::executor::block_on(deleter.delete_links(&doomed)));
        })
        .map_err(|e| NetnsError::os("spawn link deletion thread for", host.namespace(), e))?;
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match rx.try_recv() {
            Ok(result) => return result,
            Err(tokio::sync::oneshot::error::TryRecvError::Closed) => {
                return Err(NetnsError::Thread {
                    object: host.namespace().to_string(),
                    reason: "link deletion thread died",
                })
            }
            Err(tokio::sync::oneshot::error::TryRecvError::Empty) => {}
        }
        let mut present = false;
        for &index in &indexes {
            if host.link_by_index(index).await?.is_some() {
                present = true;
                break;
            }
        }
        if !present {
            return Ok(());
        }
        if Instant::now() > deadline {
            // Something holds the deletion up: wait for the kernel's answer.
            return rx.await.map_err(|_| NetnsError::Thread {
                object: host.namespace().to_string(),
                reason: "link deletion thread died",
            })?;
        }
        yield_once().await;
    }
}

impl ContainerSpec {
    /// Removes the container this spec describes, whether or not this process built it (the
    /// host-side objects only when they are of our kinds). Nothing present is not an error.
    pub async fn remove(&self) -> Result<()> {
        let names = self.names()?;
        let host_ns = match &self.host_netns {
            Some(n) => match NetNs::open(n) {
                Ok(ns) => Some(ns),
                // No host namespace: nothing of ours can be on the host side.
                Err(NetnsError::NotFound { .. }) => return crate::ns::delete(&names.namespace),
                Err(e) => return Err(e),
            },
            None => None,
        };
        remove_wiring(&names, host_ns.as_ref()).await
    }
}

/// Owns a [`Container`] and tears it down when dropped (also during a panic), so failing tests
/// and aborted callers leave nothing behind.
#[derive(Debug)]
pub struct ContainerGuard {
    container: Container,
    armed: bool,
}

impl ContainerGuard {
    /// Guards `container`.
    pub fn new(container: Container) -> ContainerGuard {
        ContainerGuard {
            container,
            armed: true,
        }
    }

    /// Tears the container down now, reporting errors.
    pub async fn teardown(mut self) -> Result<()> {
        self.armed = false;
        remove_wiring(&self.container.names, self.container.host_ns.as_ref()).await
    }
}

impl std::ops::Deref for ContainerGuard {
    type Target = Container;
    fn deref(&self) -> &Container {
        &self.container
    }
}

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        // The netlink connections run on their own threads, so blocking here cannot deadlock
        // even on an async runtime's thread.
        let r = futures::executor::block_on(remove_wiring(
            &self.container.names,
            self.container.host_ns.as_ref(),
        ));
        if let Err(e) = r {
            tracing::warn!(container = %self.container.names.namespace, error = %e, "tearing down container");
        }
    }
}
