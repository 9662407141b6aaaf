//! Netlink (rtnetlink) operations inside one network namespace.
//!
//! [`Rtnl::open`] starts a dedicated OS thread that enters the namespace (when one is given),
//! opens its own rtnetlink socket there — a netlink socket keeps the namespace it was created
//! in — and drives the connection on a current-thread tokio runtime of its own. The returned
//! handle is cheap to clone and usable from any async context (any runtime, or
//! `futures::executor::block_on`); no caller thread ever changes namespace. The thread ends when
//! the last clone of the handle is dropped.

use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;

use futures::TryStreamExt;
use ipnetwork::IpNetwork;
use nix::sched::{setns, CloneFlags};
use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage,
};
use rtnetlink::packet_route::link::{
    InfoData, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use rtnetlink::packet_route::route::{RouteAddress, RouteAttribute, RouteHeader, RouteMessage};
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::{LinkBridge, LinkMessageBuilder, LinkUnspec, LinkVeth, RouteMessageBuilder};

use crate::error::{NetlinkFailure, NetnsError, Result};
use crate::ns::NetNs;
use crate::types::{validate_ifname, Address, Link, MacAddr, Route, VethEnd};

/// Stops the connection thread when the last handle clone goes away.
#[derive(Debug)]
struct StopOnDrop(#[allow(dead_code)] tokio::sync::oneshot::Sender<()>);

/// A netlink connection bound to one namespace (see the module documentation).
#[derive(Clone)]
pub struct Rtnl {
    handle: rtnetlink::Handle,
    label: Arc<str>,
    _stop: Arc<StopOnDrop>,
}

impl std::fmt::Debug for Rtnl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rtnl")
            .field("namespace", &self.label)
            .finish()
    }
}

fn failure(e: rtnetlink::Error) -> NetlinkFailure {
    match e {
        rtnetlink::Error::NetlinkError(msg) => {
            let errno = msg.code.map(|c| c.get().abs());
            let detail = match errno {
                Some(n) => std::io::Error::from_raw_os_error(n).to_string(),
                None => "kernel answered with an unexpected acknowledgement".to_string(),
            };
            NetlinkFailure { errno, detail }
        }
        other => NetlinkFailure {
            errno: None,
            detail: other.to_string(),
        },
    }
}

fn link_from_message(msg: &LinkMessage) -> Link {
    let mut link = Link {
        index: msg.header.index,
        name: String::new(),
        kind: None,
        mac: None,
        mtu: 0,
        up: msg.header.flags.contains(LinkFlags::Up),
        lower_up: msg.header.flags.contains(LinkFlags::LowerUp),
        master: None,
        peer_index: None,
        peer_netns_id: None,
    };
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::IfName(n) => link.name = n.clone(),
            LinkAttribute::Address(a) => {
                if let Ok(octets) = <[u8; 6]>::try_from(a.as_slice()) {
                    link.mac = Some(MacAddr(octets));
                }
            }
            LinkAttribute::Mtu(m) => link.mtu = *m,
            LinkAttribute::Controller(m) => link.master = Some(*m),
            LinkAttribute::Link(p) => link.peer_index = Some(*p),
            LinkAttribute::LinkNetNsId(id) => link.peer_netns_id = Some(*id),
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    if let LinkInfo::Kind(k) = info {
                        link.kind = Some(k.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    link
}

fn address_from_message(msg: &AddressMessage) -> Option<Address> {
    let mut local = None;
    let mut address = None;
    let mut flags = AddressFlags::from_bits_truncate(u32::from(msg.header.flags.bits()));
    for attr in &msg.attributes {
        match attr {
            AddressAttribute::Local(a) => local = Some(*a),
            AddressAttribute::Address(a) => address = Some(*a),
            AddressAttribute::Flags(f) => flags = *f,
            _ => {}
        }
    }
    // For point-to-point links IFA_ADDRESS is the peer; IFA_LOCAL is always ours when present.
    let ip = local.or(address)?;
    let network = IpNetwork::new(ip, msg.header.prefix_len).ok()?;
    Some(Address {
        index: msg.header.index,
        network,
        tentative: flags.contains(AddressFlags::Tentative),
        dad_failed: flags.contains(AddressFlags::Dadfailed),
    })
}

fn route_address(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

fn route_from_message(msg: &RouteMessage) -> Option<Route> {
    let mut table = u32::from(msg.header.table);
    let mut dest = None;
    let mut gateway = None;
    let mut oif = None;
    for attr in &msg.attributes {
        match attr {
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Destination(a) => dest = route_address(a),
            RouteAttribute::Gateway(a) => gateway = route_address(a),
            RouteAttribute::Oif(i) => oif = Some(*i),
            _ => {}
        }
    }
    if table != u32::from(RouteHeader::RT_TABLE_MAIN) {
        return None;
    }
    let dest = match (dest, msg.header.address_family) {
        (Some(d), _) => d,
        (None, AddressFamily::Inet) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        (None, AddressFamily::Inet6) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        (None, _) => return None,
    };
    let destination = IpNetwork::new(dest, msg.header.destination_prefix_length).ok()?;
    Some(Route {
        destination,
        gateway,
        oif,
    })
}

impl Rtnl {
    /// Opens a netlink connection in `ns` (`None`: the namespace of the calling thread).
    ///
    /// The connection runs on its own thread (entered into `ns`); this awaits that thread's
    /// readiness without blocking the caller's executor thread.
    pub async fn open(ns: Option<&NetNs>) -> Result<Rtnl> {
        let label: Arc<str> = match ns {
            Some(ns) => Arc::from(ns.name()),
            None => Arc::from("(current namespace)"),
        };
        let file = ns.map(|n| n.try_clone()).transpose()?;
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Result<rtnetlink::Handle>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread_label = label.clone();
        std::thread::Builder::new()
            .name("netns-rtnl".to_string())
            .spawn(move || {
                let setup = || -> Result<_> {
                    if let Some(ns) = &file {
                        setns(ns.as_fd(), CloneFlags::CLONE_NEWNET)
                            .map_err(|e| NetnsError::errno("setns into", &thread_label, e))?;
                    }
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| {
                            NetnsError::os("start netlink runtime for", &thread_label, e)
                        })?;
                    let conn = {
                        let _enter = rt.enter();
                        rtnetlink::new_connection()
                    };
                    let (conn, handle, _unsolicited) = conn
                        .map_err(|e| NetnsError::os("open netlink socket in", &thread_label, e))?;
                    Ok((rt, conn, handle))
                };
                let (rt, conn, handle) = match setup() {
                    Ok(parts) => parts,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                drop(file);
                if ready_tx.send(Ok(handle)).is_err() {
                    return;
                }
                rt.block_on(async move {
                    tokio::select! {
                        _ = conn => {}
                        _ = stop_rx => {}
                    }
                });
            })
            .map_err(|e| NetnsError::os("spawn netlink thread for", &label, e))?;
        let handle = ready_rx.await.map_err(|_| NetnsError::Thread {
            object: label.to_string(),
            reason: "netlink thread died",
        })??;
        Ok(Rtnl {
            handle,
            label,
            _stop: Arc::new(StopOnDrop(stop_tx)),
        })
    }

    /// The namespace this connection works in (its name, or "(current namespace)").
    pub fn namespace(&self) -> &str {
        &self.label
    }

    fn object(&self, what: impl std::fmt::Display) -> String {
        format!("{what} in {}", self.label)
    }

    fn nl_err(
        &self,
        op: &'static str,
        what: impl std::fmt::Display,
    ) -> impl FnOnce(rtnetlink::Error) -> NetnsError {
        let object = self.object(what);
        move |e| NetnsError::Netlink {
            op,
            object,
            source: failure(e),
        }
    }

    /// Every link of the namespace.
    pub async fn links(&self) -> Result<Vec<Link>> {
        let msgs: Vec<LinkMessage> = self
            .handle
            .link()
            .get()
            .execute()
            .try_collect()
            .await
            .map_err(self.nl_err("dump", "links"))?;
        Ok(msgs.iter().map(link_from_message).collect())
    }

    /// The link named `name`, if present.
    pub async fn link(&self, name: &str) -> Result<Option<Link>> {
        validate_ifname(name)?;
        let r: std::result::Result<Vec<LinkMessage>, _> = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute()
            .try_collect()
            .await;
        self.found_link(r, || format!("link {name}"))
    }

    /// The link with index `index`, if present.
    pub async fn link_by_index(&self, index: u32) -> Result<Option<Link>> {
        let r: std::result::Result<Vec<LinkMessage>, _> = self
            .handle
            .link()
            .get()
            .match_index(index)
            .execute()
            .try_collect()
            .await;
        self.found_link(r, || format!("link #{index}"))
    }

    /// The first link of a `get link` answer; "no such device" is `None`, any other failure an
    /// error naming `what`.
    fn found_link(
        &self,
        reply: std::result::Result<Vec<LinkMessage>, rtnetlink::Error>,
        what: impl FnOnce() -> String,
    ) -> Result<Option<Link>> {
        match reply {
            Ok(msgs) => Ok(msgs.first().map(link_from_message)),
            Err(e) => {
                let f = failure(e);
                if f.is_absent() {
                    Ok(None)
                } else {
                    Err(NetnsError::Netlink {
                        op: "get link",
                        object: self.object(what()),
                        source: f,
                    })
                }
            }
        }
    }

    async fn index_of(&self, name: &str) -> Result<u32> {
        match self.link(name).await? {
            Some(l) => Ok(l.index),
            None => Err(NetnsError::Netlink {
                op: "find link",
                object: self.object(format!("link {name}")),
                source: NetlinkFailure {
                    errno: Some(libc::ENODEV),
                    detail: "no such device".to_string(),
                },
            }),
        }
    }

    /// Creates a veth pair: `local` here, `peer` directly inside `peer_ns` (`None`: here too),
    /// each end with its name, MAC and MTU. Returns the index of the local end.
    pub async fn add_veth(
        &self,
        local: &VethEnd,
        peer: &VethEnd,
        peer_ns: Option<&NetNs>,
    ) -> Result<u32> {
        validate_ifname(&local.name)?;
        validate_ifname(&peer.name)?;
        let mut peer_msg = LinkMessageBuilder::<LinkUnspec>::new().name(peer.name.clone());
        if let Some(ns) = peer_ns {
            peer_msg = peer_msg.setns_by_fd(ns.as_fd().as_raw_fd());
        }
        if let Some(mac) = peer.mac {
            peer_msg = peer_msg.address(mac.0.to_vec());
        }
        if let Some(mtu) = peer.mtu {
            peer_msg = peer_msg.mtu(mtu);
        }
        let mut msg = LinkVeth::new(&local.name, &peer.name)
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer_msg.build())));
        if let Some(mac) = local.mac {
            msg = msg.address(mac.0.to_vec());
        }
        if let Some(mtu) = local.mtu {
            msg = msg.mtu(mtu);
        }
        let what = format!("veth {} (peer {})", local.name, peer.name);
        self.handle
            .link()
            .add(msg.build())
            .execute()
            .await
            .map_err(self.nl_err("add", what))?;
        self.index_of(&local.name).await
    }

    /// Creates a bridge and returns its index.
    pub async fn add_bridge(&self, name: &str) -> Result<u32> {
        validate_ifname(name)?;
        self.handle
            .link()
            .add(LinkBridge::new(name).build())
            .execute()
            .await
            .map_err(self.nl_err("add", format!("bridge {name}")))?;
        self.index_of(name).await
    }

    /// Deletes the link with index `index` (a veth takes its peer with it).
    pub async fn delete_link(&self, index: u32) -> Result<()> {
        self.handle
            .link()
            .del(index)
            .execute()
            .await
            .map_err(self.nl_err("delete", format!("link #{index}")))
    }

    /// Deletes the link named `name`; `Ok(false)` when it was absent.
    pub async fn delete_link_by_name(&self, name: &str) -> Result<bool> {
        let Some(link) = self.link(name).await? else {
            return Ok(false);
        };
        match self.handle.link().del(link.index).execute().await {
            Ok(()) => Ok(true),
            Err(e) => {
                let f = failure(e);
                if f.is_absent() {
                    Ok(false)
                } else {
                    Err(NetnsError::Netlink {
                        op: "delete",
                        object: self.object(format!("link {name}")),
                        source: f,
                    })
                }
            }
        }
    }

    /// Puts a link into device group `group` (`ip link set DEV group N`).
    pub async fn set_group(&self, index: u32, group: u32) -> Result<()> {
        let msg = LinkUnspec::new_with_index(index).link_group(group).build();
        self.set("set group", index, msg).await
    }

    /// Deletes every link of device group `group` in one request (`ip link delete group N`):
    /// the kernel unregisters them as one batch, paying its synchronisation cost once instead of
    /// once per link. Group 0 (the default group of every link) is refused.
    pub async fn delete_group(&self, group: u32) -> Result<()> {
        if group == 0 {
            return Err(NetnsError::InvalidSpec {
                field: "group",
                reason: "group 0 holds every link".to_string(),
            });
        }
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::Group(group));
        self.handle
            .link()
            .del_with_message(msg)
            .execute()
            .await
            .map_err(self.nl_err("delete", format!("link group {group}")))
    }

    /// Deletes the links with the given indexes as one kernel batch: moves them into a
    /// private device group, then deletes that group. Links already gone are skipped.
    pub async fn delete_links(&self, indexes: &[u32]) -> Result<()> {
        let Some(first) = indexes.first() else {
            return Ok(());
        };
        // Unique among the live links of this namespace: derived from one of their indexes.
        let group = 0x8000_0000 | (first & 0x7fff_ffff);
        let mut grouped = 0;
        for &index in indexes {
            match self.set_group(index, group).await {
                Ok(()) => grouped += 1,
                Err(NetnsError::Netlink { source, .. }) if source.is_absent() => {}
                Err(e) => return Err(e),
            }
        }
        if grouped == 0 {
            return Ok(());
        }
        match self.delete_group(group).await {
            Err(NetnsError::Netlink { source, .. }) if source.is_absent() => Ok(()),
            other => other,
        }
    }

    async fn set(&self, op: &'static str, index: u32, msg: LinkMessage) -> Result<()> {
        self.handle
            .link()
            .set(msg)
            .execute()
            .await
            .map_err(self.nl_err(op, format!("link #{index}")))
    }

    /// Sets a link administratively up or down.
    pub async fn set_up(&self, index: u32, up: bool) -> Result<()> {
        let b = LinkUnspec::new_with_index(index);
        let msg = if up { b.up() } else { b.down() };
        self.set(if up { "set up" } else { "set down" }, index, msg.build())
            .await
    }

    /// Sets a link's MAC address.
    pub async fn set_mac(&self, index: u32, mac: MacAddr) -> Result<()> {
        let msg = LinkUnspec::new_with_index(index)
            .address(mac.0.to_vec())
            .build();
        self.set("set mac", index, msg).await
    }

    /// Sets a link's MTU.
    pub async fn set_mtu(&self, index: u32, mtu: u32) -> Result<()> {
        let msg = LinkUnspec::new_with_index(index).mtu(mtu).build();
        self.set("set mtu", index, msg).await
    }

    /// Enslaves a link to a bridge (`Some(bridge index)`) or frees it (`None`).
    pub async fn set_master(&self, index: u32, master: Option<u32>) -> Result<()> {
        let b = LinkUnspec::new_with_index(index);
        let msg = match master {
            Some(m) => b.controller(m),
            None => b.nocontroller(),
        };
        self.set("set master", index, msg.build()).await
    }

    /// Addresses of the namespace, or of one link.
    pub async fn addresses(&self, index: Option<u32>) -> Result<Vec<Address>> {
        let mut req = self.handle.address().get();
        if let Some(i) = index {
            req = req.set_link_index_filter(i);
        }
        let msgs: Vec<AddressMessage> = req
            .execute()
            .try_collect()
            .await
            .map_err(self.nl_err("dump", "addresses"))?;
        Ok(msgs
            .iter()
            .filter_map(address_from_message)
            .filter(|a| index.is_none_or(|i| a.index == i))
            .collect())
    }

    /// Adds an address to a link. `nodad`: skip IPv6 duplicate address detection, so the address
    /// is usable at once (ignored for IPv4).
    pub async fn add_address(&self, index: u32, network: IpNetwork, nodad: bool) -> Result<()> {
        let mut req = self
            .handle
            .address()
            .add(index, network.ip(), network.prefix());
        if nodad && network.is_ipv6() {
            let m = req.message_mut();
            m.header.flags |= AddressHeaderFlags::Nodad;
            m.attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        req.execute()
            .await
            .map_err(self.nl_err("add address", format!("{network} on link #{index}")))
    }

    /// Removes an address from a link.
    pub async fn delete_address(&self, index: u32, network: IpNetwork) -> Result<()> {
        let msg = match network {
            IpNetwork::V4(n) => rtnetlink::AddressMessageBuilder::<std::net::Ipv4Addr>::new()
                .index(index)
                .address(n.ip(), n.prefix())
                .build(),
            IpNetwork::V6(n) => rtnetlink::AddressMessageBuilder::<std::net::Ipv6Addr>::new()
                .index(index)
                .address(n.ip(), n.prefix())
                .build(),
        };
        self.handle
            .address()
            .del(msg)
            .execute()
            .await
            .map_err(self.nl_err("delete address", format!("{network} on link #{index}")))
    }

    /// Routes of the main table (both families).
    pub async fn routes(&self) -> Result<Vec<Route>> {
        let mut out = Vec::new();
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            let mut msg = RouteMessage::default();
            msg.header.address_family = family;
            let msgs: Vec<RouteMessage> = self
                .handle
                .route()
                .get(msg)
                .execute()
                .try_collect()
                .await
                .map_err(self.nl_err("dump", "routes"))?;
            out.extend(msgs.iter().filter_map(route_from_message));
        }
        Ok(out)
    }

    fn route_message(
        &self,
        destination: IpNetwork,
        gateway: Option<IpAddr>,
        oif: Option<u32>,
    ) -> Result<RouteMessage> {
        let invalid = |e: &dyn std::fmt::Display| NetnsError::InvalidSpec {
            field: "route",
            reason: format!("{destination} via {gateway:?}: {e}"),
        };
        let mut b = RouteMessageBuilder::<IpAddr>::new()
            .destination_prefix(destination.network(), destination.prefix())
            .map_err(|e| invalid(&e))?;
        if let Some(gw) = gateway {
            b = b.gateway(gw).map_err(|e| invalid(&e))?;
        }
        if let Some(i) = oif {
            b = b.output_interface(i);
        }
        Ok(b.build())
    }

    /// Adds (or, with `replace`, replaces) a main-table route.
    pub async fn add_route(
        &self,
        destination: IpNetwork,
        gateway: Option<IpAddr>,
        oif: Option<u32>,
        replace: bool,
    ) -> Result<()> {
        let msg = self.route_message(destination, gateway, oif)?;
        let req = self.handle.route().add(msg);
        let req = if replace { req.replace() } else { req };
        req.execute()
            .await
            .map_err(self.nl_err("add route", format!("route {destination}")))
    }

    /// Deletes a main-table route.
    pub async fn delete_route(
        &self,
        destination: IpNetwork,
        gateway: Option<IpAddr>,
        oif: Option<u32>,
    ) -> Result<()> {
        let msg = self.route_message(destination, gateway, oif)?;
        self.handle
            .route()
            .del(msg)
            .execute()
            .await
            .map_err(self.nl_err("delete route", format!("route {destination}")))
    }

    /// The id this namespace uses for `ns` (what [`Link::peer_netns_id`] reports for veths whose
    /// peer is there), or `None` when none is assigned.
    pub async fn netns_id(&self, ns: &NetNs) -> Result<Option<i32>> {
        self.handle
            .link()
            .get_netns_id(ns.name())
            .execute()
            .await
            .map_err(self.nl_err("get nsid", format!("namespace {}", ns.name())))
    }
}
