//! Building, fixing and removing a container (a namespace and its veths, bridges and route).
//!
//! [`Container::apply`] makes the wiring match a [`ContainerSpec`]: it creates what is missing,
//! fixes what differs (MAC, MTU, addresses, link state, enslavement, default route) and leaves
//! everything else alone, so applying the same spec twice changes nothing. An object that carries
//! one of our names but is not what we would have built (a dummy link, a veth whose peer is
//! elsewhere, a bridge-less port…) stops the apply with [`NetnsError::Conflict`] naming it.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};

use crate::error::{NetnsError, Result};
use crate::ns::{kill_processes_in_async, NetNs};
use crate::rtnl::Rtnl;
use crate::spec::ContainerSpec;
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
    /// A bridge was created.
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
        /// Its gateway.
        gateway: IpAddr,
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

/// A veth end inside the namespace, as built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsideInterface {
    /// Interface name.
    pub name: String,
    /// Interface index inside the namespace.
    pub index: u32,
    /// Its MAC (the spec's, or the kernel's choice).
    pub mac: MacAddr,
    /// Its MTU.
    pub mtu: u32,
    /// The spec's addresses with their prefix lengths.
    pub addresses: Vec<IpNetwork>,
}

/// One veth pair as built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltVeth {
    /// Name of the host-side end.
    pub host: String,
    /// Index of the host-side end in the host-side namespace.
    pub host_index: u32,
    /// The end inside the namespace.
    pub inside: InsideInterface,
    /// Index of the host-side bridge the host end is enslaved to, if any.
    pub bridge_index: Option<u32>,
}

/// A built container. Dropping it leaves the wiring in place; call [`Container::teardown`], or
/// wrap it in a [`ContainerGuard`] to remove it on drop.
#[derive(Debug)]
pub struct Container {
    spec: ContainerSpec,
    ns: NetNs,
    host_ns: Option<NetNs>,
    veths: Vec<BuiltVeth>,
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

    /// Makes the addresses of a link exactly `desired`, apart from an IPv6 link-local address
    /// the kernel added (kept unless `desired` lists another one).
    async fn addresses(
        &mut self,
        inside: bool,
        name: &str,
        index: u32,
        desired: &[IpNetwork],
    ) -> Result<()> {
        let rtnl = if inside { &self.inner } else { &self.host };
        let current: Vec<IpNetwork> = rtnl
            .addresses(Some(index))
            .await?
            .into_iter()
            .map(|a| a.network)
            .filter(|a| !is_ipv6_link_local(a) || desired.contains(a))
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

    /// Enslaves the host-side link `name` (#`index`) to `bridge_name` (#`bridge`).
    async fn enslave(
        &mut self,
        name: &str,
        index: u32,
        bridge_name: &str,
        bridge: u32,
    ) -> Result<()> {
        match self.host.link_by_index(index).await? {
            Some(l) if l.master == Some(bridge) => Ok(()),
            Some(_) => {
                self.host.set_master(index, Some(bridge)).await?;
                self.actions.push(Action::Enslaved {
                    link: name.to_string(),
                    bridge: bridge_name.to_string(),
                });
                Ok(())
            }
            None => Err(conflict(
                self.host_obj(name),
                "vanished while being enslaved".into(),
            )),
        }
    }

    /// Makes the namespace's default route of `gateway`'s family go via `gateway` out of `oif`.
    async fn default_route(&mut self, gateway: IpAddr, oif: Option<u32>) -> Result<()> {
        let default = match gateway {
            IpAddr::V4(_) => Ipv4Network::new(Ipv4Addr::UNSPECIFIED, 0).map(IpNetwork::V4),
            IpAddr::V6(_) => Ipv6Network::new(Ipv6Addr::UNSPECIFIED, 0).map(IpNetwork::V6),
        }
        .map_err(|e| NetnsError::InvalidSpec {
            field: "default_route",
            reason: e.to_string(),
        })?;
        let routes = self.inner.routes().await?;
        let present = routes
            .iter()
            .any(|r| r.destination == default && r.gateway == Some(gateway) && r.oif == oif);
        if !present {
            self.inner
                .add_route(default, Some(gateway), oif, true)
                .await?;
            self.actions.push(Action::SetDefaultRoute { gateway });
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
        let host_ns = match &spec.host_netns {
            Some(n) => Some(NetNs::open(n)?),
            None => None,
        };
        let mut created_ns = false;
        let ns = match NetNs::open(&spec.namespace) {
            Ok(ns) => ns,
            Err(NetnsError::NotFound { .. }) => {
                created_ns = true;
                NetNs::create_async(&spec.namespace).await?
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
                .push(Action::CreatedNamespace(spec.namespace.clone()));
        }

        let mut built = Vec::with_capacity(spec.veths.len());
        for v in &spec.veths {
            let (host_index, inside_index) = a.veth(&v.host, &v.inside, v.mac, v.mtu).await?;
            let bridge_index = match &v.bridge {
                None => None,
                Some(b) => {
                    let bridge = a.bridge(&b.name).await?;
                    a.enslave(&v.host, host_index, &b.name, bridge).await?;
                    let desired = b.addresses.clone();
                    a.addresses(false, &b.name, bridge, &desired).await?;
                    Some(bridge)
                }
            };
            a.addresses(true, &v.inside, inside_index, &v.addresses)
                .await?;
            built.push((host_index, inside_index, bridge_index));
        }

        a.up(true, "lo").await?;
        for v in &spec.veths {
            a.up(true, &v.inside).await?;
            a.up(false, &v.host).await?;
            if let Some(b) = &v.bridge {
                a.up(false, &b.name).await?;
            }
        }

        if let Some(r) = &spec.default_route {
            let oif = spec
                .veths
                .iter()
                .zip(&built)
                .find(|(v, _)| v.inside == r.via)
                .map(|(_, (_, inside, _))| *inside);
            a.default_route(r.gateway, oif).await?;
        }

        for (v, (_, inside, _)) in spec.veths.iter().zip(&built) {
            wait_usable(&a.inner, *inside, &v.inside).await?;
        }

        let mut veths = Vec::with_capacity(built.len());
        for (v, (host_index, inside_index, bridge_index)) in spec.veths.iter().zip(built) {
            let link = a.inner.link_by_index(inside_index).await?.ok_or_else(|| {
                conflict(a.inner_obj(&v.inside), "vanished while being set up".into())
            })?;
            veths.push(BuiltVeth {
                host: v.host.clone(),
                host_index,
                inside: InsideInterface {
                    name: v.inside.clone(),
                    index: inside_index,
                    mac: v.mac.or(link.mac).unwrap_or_default(),
                    mtu: link.mtu,
                    addresses: v.addresses.clone(),
                },
                bridge_index,
            });
        }
        let actions = std::mem::take(&mut a.actions);
        drop(a);
        Ok(Container {
            spec: spec.clone(),
            ns,
            host_ns,
            veths,
            actions,
        })
    }

    /// Removes everything of this container: kills the processes left inside the namespace,
    /// deletes the host-side veths (their peers go with them) and bridges, then the namespace.
    pub async fn teardown(self) -> Result<()> {
        remove_wiring(&self.spec, self.host_ns.as_ref()).await
    }

    /// The spec this container was last applied from.
    pub fn spec(&self) -> &ContainerSpec {
        &self.spec
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

    /// The veth pairs as built, in the spec's order.
    pub fn veths(&self) -> &[BuiltVeth] {
        &self.veths
    }

    /// The veth whose host end is named `host`.
    pub fn veth(&self, host: &str) -> Option<&BuiltVeth> {
        self.veths.iter().find(|v| v.host == host)
    }
}

/// Waits (up to 5 s) until a link's addresses are no longer tentative.
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

/// Deletes the host-side objects of `spec` (only if they are of the spec's kinds) and the
/// namespace, after killing the processes inside it.
pub(crate) async fn remove_wiring(spec: &ContainerSpec, host_ns: Option<&NetNs>) -> Result<()> {
    match NetNs::open(&spec.namespace) {
        Ok(ns) => {
            kill_processes_in_async(&ns).await?;
        }
        Err(NetnsError::NotFound { .. }) | Err(NetnsError::NotANamespace { .. }) => {}
        Err(e) => return Err(e),
    }
    let host = Rtnl::open(host_ns).await?;
    let mut ours = Vec::new();
    for (name, kind) in spec.host_links() {
        if let Some(l) = host.link(name).await? {
            if l.kind.as_deref() == Some(kind) && !ours.contains(&l.index) {
                ours.push(l.index);
            }
        }
    }
    // One batch: the veths' peers inside the namespace go with them.
    delete_links_without_waiting_for_the_kernel(host_ns, &host, ours).await?;
    crate::ns::delete(&spec.namespace)
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
        self.validate()?;
        let host_ns = match &self.host_netns {
            Some(n) => match NetNs::open(n) {
                Ok(ns) => Some(ns),
                // No host namespace: nothing of ours can be on the host side.
                Err(NetnsError::NotFound { .. }) => return crate::ns::delete(&self.namespace),
                Err(e) => return Err(e),
            },
            None => None,
        };
        remove_wiring(self, host_ns.as_ref()).await
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
        remove_wiring(&self.container.spec, self.container.host_ns.as_ref()).await
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
            &self.container.spec,
            self.container.host_ns.as_ref(),
        ));
        if let Err(e) = r {
            tracing::warn!(container = %self.container.spec.namespace, error = %e, "tearing down container");
        }
    }
}
