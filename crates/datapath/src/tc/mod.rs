//! The Linux tc backend: ingress qdisc, u32 classifier, mirred egress redirect (or gact drop),
//! programmed over rtnetlink, optionally in another network namespace.
//!
//! Every flow is one u32 filter at its own priority in the range
//! [`FLOW_PRIO_MIN`]..=[`FLOW_PRIO_MAX`] on the ingress hook of the flow's in-port. Its action
//! carries a 16-byte cookie: a magic, a hash of the group name and a hash of the flow (including
//! the interface indexes it was encoded for). The kernel state is the source of truth: `install`
//! dumps the filters, keeps the group's filters whose flow hash is still wanted (their priority
//! and handles do not change), adds the missing ones at free priorities and deletes the rest.
//! When this crate has to create the ingress qdisc it also adds a marker filter
//! ([`MARKER_PRIO`], class id [`MARKER_CLASSID`], no action); the qdisc is deleted again only when the marker
//! is the last filter on it. A pre-existing qdisc and foreign filters are never touched.

mod encode;
mod netlink;
mod ns;

use std::collections::{BTreeMap, BTreeSet};

use tokio::sync::Mutex;
use tracing::debug;

pub use encode::{
    child_htid, decode_match, encode_match, U32Match, COOKIE_MAGIC, ETH_P_ALL, FLOW_PRIO_MAX,
    FLOW_PRIO_MIN, MARKER_CLASSID, MARKER_PRIO, MARKER_PROTOCOL,
};
use netlink::{FilterAction, FilterNode, Netlink, EEXIST};

use crate::flow::{Action, Flow, FlowMatch};
use crate::{check_flows, Datapath, DatapathError, DatapathFuture, FlowStats, InstallReport};

/// How often a flow is retried at the next free priority when its table id or priority turns out
/// to be taken (by a foreign filter or a concurrent writer).
const ADD_ATTEMPTS: usize = 64;
/// How often deleting a hash table is retried while the kernel still holds a link reference
/// (5 ms, 10 ms, ... between attempts: about 3 s in total).
const TABLE_BUSY_RETRIES: usize = 35;

/// Why adding a flow at one priority failed.
#[derive(Debug)]
enum AddError {
    /// The priority (or its table id) belongs to someone else: try another.
    Taken,
    /// The kernel refused the filter.
    Failed(rtnetlink::Error),
}

#[derive(Debug, Clone)]
struct Installed {
    flow: Flow,
    tag: [u8; 6],
}

/// One of our flow filters found in the kernel.
#[derive(Debug, Clone)]
struct Found {
    ifindex: u32,
    prio: u16,
    protocol: u16,
    group: [u8; 6],
    tag: [u8; 6],
    /// False for a half-added transport flow (action node without its link).
    complete: bool,
    packets: u64,
    bytes: u64,
    /// Key nodes that link to another table (deleted first).
    links: Vec<u32>,
    /// Our explicit hash tables at this priority (deleted after the links).
    tables: Vec<u32>,
    /// The flow's match and action read back from the keys, when they are ones we write.
    decoded: Option<(FlowMatch, FilterAction)>,
}

/// What a scan of the kernel found.
#[derive(Debug, Default)]
struct Scan {
    /// Links with an ingress qdisc.
    ingress: BTreeSet<u32>,
    /// Priorities in use per link (any owner).
    used: BTreeMap<u32, BTreeSet<u16>>,
    /// Links holding our marker.
    marked: BTreeSet<u32>,
    /// Our flow filters.
    flows: Vec<Found>,
}

/// The tc [`Datapath`]. Operations are serialised; the kernel is the source of truth for what is
/// installed, this handle only remembers the [`Flow`] values (for `list` and `counters`).
#[derive(Debug)]
pub struct TcDatapath {
    nl: Netlink,
    namespace: String,
    connection: tokio::task::JoinHandle<()>,
    state: Mutex<BTreeMap<String, Vec<Installed>>>,
}

impl Drop for TcDatapath {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

fn nl_err(
    op: &'static str,
    port: impl Into<String>,
) -> impl FnOnce(rtnetlink::Error) -> DatapathError {
    let port = port.into();
    move |e| DatapathError::Netlink {
        op,
        port,
        source: netlink::failure(e),
    }
}

impl TcDatapath {
    /// Opens a netlink connection in the named network namespace (as `ip netns` names it, see
    /// [`netns::NetNs::open`]), or in the current one for `None`. The socket is created on a
    /// short-lived dedicated thread that enters the namespace, so the caller's threads never
    /// change namespace. Must be called inside a tokio runtime (the connection runs as a task).
    pub fn new(host_netns: Option<&str>) -> Result<TcDatapath, DatapathError> {
        let (connection, handle) = ns::connect(host_netns)?;
        Ok(TcDatapath {
            nl: Netlink::new(handle),
            namespace: host_netns.unwrap_or("current").to_string(),
            connection,
            state: Mutex::new(BTreeMap::new()),
        })
    }

    /// The namespace this handle programs (`current` for the caller's own).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    async fn ifindex(&self, name: &str) -> Result<u32, DatapathError> {
        self.nl
            .link_index(name)
            .await
            .map_err(nl_err("get link", name))?
            .ok_or_else(|| DatapathError::NoSuchPort {
                name: name.to_string(),
            })
    }

    async fn scan(&self) -> Result<Scan, DatapathError> {
        self.scan_links(None).await
    }

    /// Scans the links with an ingress qdisc, or only those of `only`.
    async fn scan_links(&self, only: Option<&BTreeSet<u32>>) -> Result<Scan, DatapathError> {
        let mut scan = Scan::default();
        for ifindex in self
            .nl
            .ingress_links()
            .await
            .map_err(nl_err("dump qdiscs", "all links"))?
        {
            if only.is_some_and(|o| !o.contains(&ifindex)) {
                continue;
            }
            scan.ingress.insert(ifindex);
            let nodes = self
                .nl
                .dump_filters(ifindex)
                .await
                .map_err(nl_err("dump filters", format!("#{ifindex}")))?;
            let mut by_prio: BTreeMap<u16, Vec<FilterNode>> = BTreeMap::new();
            for n in nodes {
                by_prio.entry(n.prio).or_default().push(n);
            }
            scan.used.insert(ifindex, by_prio.keys().copied().collect());
            for (prio, nodes) in by_prio {
                if prio == MARKER_PRIO && nodes.iter().any(|n| n.classid == Some(MARKER_CLASSID)) {
                    scan.marked.insert(ifindex);
                    continue;
                }
                if !(FLOW_PRIO_MIN..=FLOW_PRIO_MAX).contains(&prio) {
                    continue;
                }
                let Some((group, tag)) = nodes
                    .iter()
                    .find_map(|n| n.cookie.as_deref().and_then(encode::parse_cookie))
                else {
                    continue;
                };
                let protocol = nodes.first().map(|n| n.protocol).unwrap_or(0);
                let own_table = child_htid(prio);
                // A transport flow whose action node sits in our table but has no link to it was
                // cut short (e.g. a crash between the two requests): it matches nothing.
                let in_table = nodes
                    .iter()
                    .any(|n| n.cookie.is_some() && n.handle & 0xFFF0_0000 == own_table);
                let linked = nodes.iter().any(|n| n.link == Some(own_table));
                let key_node = |in_own: bool| {
                    nodes.iter().find(|n| {
                        n.divisor.is_none()
                            && n.handle & 0xFFF != 0
                            && (n.handle & 0xFFF0_0000 == own_table) == in_own
                    })
                };
                let l4_keys = if linked {
                    key_node(true).map(|n| n.keys.clone())
                } else {
                    None
                };
                let action = nodes
                    .iter()
                    .find(|n| n.cookie.is_some())
                    .and_then(|n| n.action);
                let decoded = key_node(false)
                    .and_then(|root| decode_match(protocol, &root.keys, l4_keys.as_deref()))
                    .zip(action);
                scan.flows.push(Found {
                    decoded,
                    ifindex,
                    prio,
                    protocol,
                    group,
                    tag,
                    complete: !in_table || linked,
                    packets: nodes.iter().map(|n| n.packets).sum(),
                    bytes: nodes.iter().map(|n| n.bytes).sum(),
                    links: nodes
                        .iter()
                        .filter(|n| n.link.is_some())
                        .map(|n| n.handle)
                        .collect(),
                    tables: nodes
                        .iter()
                        .filter(|n| n.divisor.is_some() && n.handle == own_table)
                        .map(|n| n.handle)
                        .collect(),
                });
            }
        }
        Ok(scan)
    }

    /// Makes sure the link has an ingress qdisc; creates it (with the marker) if needed.
    async fn ensure_ingress(
        &self,
        scan: &mut Scan,
        ifindex: u32,
        port: &str,
    ) -> Result<(), DatapathError> {
        if scan.ingress.contains(&ifindex) {
            return Ok(());
        }
        let created = self
            .nl
            .add_ingress_qdisc(ifindex)
            .await
            .map_err(nl_err("add ingress qdisc", port))?;
        scan.ingress.insert(ifindex);
        if created {
            let m = netlink::marker_message(ifindex, MARKER_PRIO, MARKER_PROTOCOL, MARKER_CLASSID);
            if let Err(e) = self.nl.add_filter(m).await {
                // Without the marker we would never remove the qdisc: undo it now.
                let _ = self.nl.del_ingress_qdisc(ifindex).await;
                scan.ingress.remove(&ifindex);
                return Err(nl_err("add marker filter", port)(e));
            }
            scan.marked.insert(ifindex);
            scan.used.entry(ifindex).or_default().insert(MARKER_PRIO);
        }
        Ok(())
    }

    /// Adds one flow's filter at `prio`. The first request creates the flow's one-bucket table
    /// (id derived from the priority): table ids are unique on the link, so this claims the
    /// priority even against another writer (`EEXIST`: taken, try the next one). IPv4 transport
    /// matches then get the terminal node in that table and the linking root node last, so the
    /// flow becomes active at once; other flows get their terminal node in the root table.
    async fn add_at(
        &self,
        ifindex: u32,
        prio: u16,
        enc: &U32Match,
        act: FilterAction,
        cookie: Vec<u8>,
    ) -> Result<(), AddError> {
        let htid = child_htid(prio);
        // If this fails nothing was created (the kernel drops a priority it created for a
        // failed request).
        if let Err(e) = self
            .nl
            .add_filter(netlink::table_message(ifindex, prio, enc.protocol, htid))
            .await
        {
            // EEXIST: the table id is taken. EINVAL: the priority exists with another protocol
            // (a concurrent writer got there first) — or the request is bad, which a dump tells.
            let taken = match netlink::errno(&e) {
                Some(EEXIST) => true,
                Some(libc::EINVAL) => self
                    .nl
                    .dump_filters(ifindex)
                    .await
                    .map(|nodes| nodes.iter().any(|n| n.prio == prio))
                    .unwrap_or(false),
                _ => false,
            };
            return Err(if taken {
                AddError::Taken
            } else {
                AddError::Failed(e)
            });
        }
        let r = match &enc.l4_keys {
            None => {
                let m = netlink::terminal_message(
                    ifindex,
                    prio,
                    enc.protocol,
                    None,
                    enc.keys.clone(),
                    act,
                    cookie,
                );
                self.nl.add_filter(m).await
            }
            Some(l4) => {
                let m = netlink::terminal_message(
                    ifindex,
                    prio,
                    enc.protocol,
                    Some(htid),
                    l4.clone(),
                    act,
                    cookie,
                );
                let mut r = self.nl.add_filter(m).await;
                if r.is_ok() {
                    let m = netlink::ipv4_link_message(
                        ifindex,
                        prio,
                        enc.protocol,
                        enc.keys.clone(),
                        htid,
                    );
                    r = self.nl.add_filter(m).await;
                }
                r
            }
        };
        if r.is_err() {
            // The table and the priority are ours: remove them with whatever they hold.
            let _ = self.del_table(ifindex, prio, enc.protocol, htid).await;
            let _ = self.nl.del_filter(ifindex, prio, enc.protocol, 0).await;
        }
        r.map_err(AddError::Failed)
    }

    /// Deletes one of our hash tables. The kernel drops a link's reference to the table only after
    /// an RCU grace period, so right after deleting the link the table may still be busy.
    async fn del_table(
        &self,
        ifindex: u32,
        prio: u16,
        protocol: u16,
        htid: u32,
    ) -> Result<(), rtnetlink::Error> {
        let mut attempt = 0;
        loop {
            match self.nl.del_filter(ifindex, prio, protocol, htid).await {
                Err(e)
                    if netlink::errno(&e) == Some(libc::EBUSY) && attempt < TABLE_BUSY_RETRIES =>
                {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(5 * attempt as u64)).await;
                }
                r => return r,
            }
        }
    }

    /// Removes the filters of several flows in three passes: every linking node first (the flows
    /// stop matching at once), then our tables (whose link references the kernel drops after an
    /// RCU grace period, which the passes let overlap), then the priorities.
    async fn delete_found(&self, found: &[Found]) -> Result<(), DatapathError> {
        let err = |f: &Found| nl_err("delete filter", format!("#{}", f.ifindex));
        for f in found {
            for &h in &f.links {
                self.nl
                    .del_filter(f.ifindex, f.prio, f.protocol, h)
                    .await
                    .map_err(err(f))?;
            }
        }
        for f in found {
            for &t in &f.tables {
                self.del_table(f.ifindex, f.prio, f.protocol, t)
                    .await
                    .map_err(err(f))?;
            }
        }
        for f in found {
            self.nl
                .del_filter(f.ifindex, f.prio, f.protocol, 0)
                .await
                .map_err(err(f))?;
        }
        Ok(())
    }

    async fn add_flow(
        &self,
        scan: &mut Scan,
        flow: &Flow,
        ifindex: u32,
        target: Option<u32>,
        cookie: Vec<u8>,
    ) -> Result<(), DatapathError> {
        self.ensure_ingress(scan, ifindex, &flow.in_port).await?;
        let enc = encode_match(flow);
        let act = match target {
            Some(t) => FilterAction::Redirect(t),
            None => FilterAction::Drop,
        };
        for _ in 0..ADD_ATTEMPTS {
            let used = scan.used.entry(ifindex).or_default();
            let Some(prio) = (FLOW_PRIO_MIN..=FLOW_PRIO_MAX).find(|p| !used.contains(p)) else {
                return Err(DatapathError::PrioritiesExhausted {
                    port: flow.in_port.clone(),
                });
            };
            used.insert(prio);
            match self.add_at(ifindex, prio, &enc, act, cookie.clone()).await {
                Ok(()) => {
                    debug!(port = %flow.in_port, prio, %flow, "added tc flow");
                    return Ok(());
                }
                // The priority or table id is taken (a foreign filter or a concurrent writer): try
                // the next free priority.
                Err(AddError::Taken) => continue,
                Err(AddError::Failed(e))
                    if matches!(act, FilterAction::Drop)
                        && netlink::errno(&e) == Some(netlink::ENOENT) =>
                {
                    return Err(DatapathError::Unsupported {
                        port: flow.in_port.clone(),
                        what: "the drop action (this kernel has no act_gact)",
                    });
                }
                Err(AddError::Failed(e)) => {
                    return Err(nl_err("add filter", flow.in_port.clone())(e))
                }
            }
        }
        Err(DatapathError::PrioritiesExhausted {
            port: flow.in_port.clone(),
        })
    }

    /// Deletes the ingress qdisc of links where we created it and nothing but our marker is left.
    async fn release_qdiscs(&self, links: &BTreeSet<u32>) -> Result<(), DatapathError> {
        for &ifindex in links {
            let nodes = self
                .nl
                .dump_filters(ifindex)
                .await
                .map_err(nl_err("dump filters", format!("#{ifindex}")))?;
            let marker = nodes
                .iter()
                .any(|n| n.prio == MARKER_PRIO && n.classid == Some(MARKER_CLASSID));
            let others = nodes.iter().any(|n| n.prio != MARKER_PRIO);
            if marker && !others {
                self.nl
                    .del_ingress_qdisc(ifindex)
                    .await
                    .map_err(nl_err("delete ingress qdisc", format!("#{ifindex}")))?;
                debug!(ifindex, "deleted the ingress qdisc we created");
            }
        }
        Ok(())
    }

    async fn install_locked(
        &self,
        state: &mut BTreeMap<String, Vec<Installed>>,
        group: &str,
        flows: &[Flow],
    ) -> Result<InstallReport, DatapathError> {
        let flows = check_flows(flows)?;
        let gtag = encode::group_tag(group);
        // Resolve ports.
        let mut index: BTreeMap<String, u32> = BTreeMap::new();
        for f in &flows {
            let mut names = vec![f.in_port.as_str()];
            if let Action::Redirect { to } = &f.action {
                names.push(to);
            }
            for n in names {
                if !index.contains_key(n) {
                    let i = self.ifindex(n).await?;
                    index.insert(n.to_string(), i);
                }
            }
        }
        let mut wanted = Vec::with_capacity(flows.len());
        for f in flows {
            let ifindex = index.get(&f.in_port).copied().unwrap_or(0);
            let target = match &f.action {
                Action::Redirect { to } => Some(index.get(to).copied().unwrap_or(0)),
                _ => None,
            };
            let tag = encode::flow_tag(&f, ifindex, target);
            wanted.push((f, ifindex, target, tag));
        }

        let mut scan = self.scan().await?;
        let mut existing: Vec<Found> = scan
            .flows
            .iter()
            .filter(|f| f.group == gtag)
            .cloned()
            .collect();
        let mut report = InstallReport::default();
        let mut installed = Vec::with_capacity(wanted.len());
        let mut to_add = Vec::new();
        for (flow, ifindex, target, tag) in wanted {
            if let Some(pos) = existing
                .iter()
                .position(|e| e.complete && e.ifindex == ifindex && e.tag == tag)
            {
                existing.swap_remove(pos);
                report.unchanged += 1;
            } else {
                to_add.push((flow.clone(), ifindex, target, tag));
            }
            installed.push(Installed { flow, tag });
        }
        let mut touched = BTreeSet::new();
        let mut added: Vec<(u32, [u8; 6])> = Vec::new();
        for (flow, ifindex, target, tag) in &to_add {
            let cookie = encode::cookie(gtag, *tag);
            if let Err(e) = self
                .add_flow(&mut scan, flow, *ifindex, *target, cookie)
                .await
            {
                // All or nothing: take back what this call added, and any qdisc we created.
                self.rollback(gtag, &added, *ifindex).await;
                return Err(e);
            }
            added.push((*ifindex, *tag));
            report.added += 1;
        }
        self.delete_found(&existing).await?;
        touched.extend(existing.iter().map(|f| f.ifindex));
        report.removed = existing.len();
        self.release_qdiscs(&touched).await?;
        if installed.is_empty() {
            state.remove(group);
        } else {
            state.insert(group.to_string(), installed);
        }
        Ok(report)
    }

    /// Deletes the filters this install added (found by cookie) and releases our qdiscs on the
    /// links involved. Best effort: the original error is what the caller reports.
    async fn rollback(&self, gtag: [u8; 6], added: &[(u32, [u8; 6])], failed_link: u32) {
        let mut links: BTreeSet<u32> = added.iter().map(|(i, _)| *i).collect();
        links.insert(failed_link);
        if let Ok(scan) = self.scan().await {
            let ours: Vec<Found> = scan
                .flows
                .into_iter()
                .filter(|f| f.group == gtag && added.contains(&(f.ifindex, f.tag)))
                .collect();
            let _ = self.delete_found(&ours).await;
        }
        let _ = self.release_qdiscs(&links).await;
    }

    /// The group's flows as the kernel holds them (for groups this handle did not install, e.g.
    /// after a restart), with their counters.
    async fn recover(&self, scan: &Scan, gtag: [u8; 6]) -> Result<Vec<FlowStats>, DatapathError> {
        let mut names: BTreeMap<u32, Option<String>> = BTreeMap::new();
        let mut out = Vec::new();
        for f in scan.flows.iter().filter(|f| f.group == gtag && f.complete) {
            let Some((matches, action)) = &f.decoded else {
                continue;
            };
            let mut ifindexes = vec![f.ifindex];
            if let FilterAction::Redirect(t) = action {
                ifindexes.push(*t);
            }
            for i in ifindexes {
                if let std::collections::btree_map::Entry::Vacant(e) = names.entry(i) {
                    let name = self
                        .nl
                        .link_name(i)
                        .await
                        .map_err(nl_err("get link", format!("#{i}")))?;
                    e.insert(name);
                }
            }
            let name = |i: &u32| names.get(i).cloned().flatten();
            let Some(in_port) = name(&f.ifindex) else {
                continue;
            };
            let action = match action {
                FilterAction::Redirect(t) => match name(t) {
                    Some(to) => Action::Redirect { to },
                    None => continue,
                },
                FilterAction::Drop => Action::Drop,
            };
            out.push(FlowStats {
                flow: Flow {
                    in_port,
                    matches: matches.clone(),
                    action,
                },
                packets: f.packets,
                bytes: f.bytes,
            });
        }
        Ok(out)
    }

    async fn counters_locked(
        &self,
        state: &BTreeMap<String, Vec<Installed>>,
        group: &str,
    ) -> Result<Vec<FlowStats>, DatapathError> {
        let gtag = encode::group_tag(group);
        let Some(known) = state.get(group) else {
            let scan = self.scan().await?;
            return self.recover(&scan, gtag).await;
        };
        // Only the group's in-ports hold its filters: dump those, not every link (a status
        // request reads the counters of each port).
        let names: BTreeSet<&str> = known.iter().map(|i| i.flow.in_port.as_str()).collect();
        let mut links = BTreeSet::new();
        for name in names {
            if let Some(i) = self
                .nl
                .link_index(name)
                .await
                .map_err(nl_err("get link", name))?
            {
                links.insert(i);
            }
        }
        let scan = self.scan_links(Some(&links)).await?;
        Ok(known
            .iter()
            .map(|i| {
                let (packets, bytes) = scan
                    .flows
                    .iter()
                    .filter(|f| f.group == gtag && f.tag == i.tag)
                    .fold((0u64, 0u64), |(p, b), f| {
                        (p.saturating_add(f.packets), b.saturating_add(f.bytes))
                    });
                FlowStats {
                    flow: i.flow.clone(),
                    packets,
                    bytes,
                }
            })
            .collect())
    }
}

impl Datapath for TcDatapath {
    fn install<'a>(
        &'a self,
        group: &'a str,
        flows: &'a [Flow],
    ) -> DatapathFuture<'a, InstallReport> {
        Box::pin(async move {
            let mut state = self.state.lock().await;
            self.install_locked(&mut state, group, flows).await
        })
    }

    fn remove<'a>(&'a self, group: &'a str) -> DatapathFuture<'a, ()> {
        Box::pin(async move {
            let mut state = self.state.lock().await;
            self.install_locked(&mut state, group, &[])
                .await
                .map(|_| ())
        })
    }

    fn list<'a>(&'a self, group: &'a str) -> DatapathFuture<'a, Vec<Flow>> {
        Box::pin(async move {
            let state = self.state.lock().await;
            match state.get(group) {
                Some(v) => Ok(v.iter().map(|i| i.flow.clone()).collect()),
                None => {
                    let scan = self.scan().await?;
                    let gtag = encode::group_tag(group);
                    Ok(self
                        .recover(&scan, gtag)
                        .await?
                        .into_iter()
                        .map(|s| s.flow)
                        .collect())
                }
            }
        })
    }

    fn counters<'a>(&'a self, group: &'a str) -> DatapathFuture<'a, Vec<FlowStats>> {
        Box::pin(async move {
            let state = self.state.lock().await;
            self.counters_locked(&state, group).await
        })
    }
}
