//! Rendering a configuration to commands, and the minimal command list between two.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::announce::{self, NetworkRouteMaps};
use super::{AddressFamily, Afi, BgpConfig, Command, Neighbor, Node};
use crate::flavour::Flavour;

fn push(out: &mut Vec<Command>, node: &Node, line: String) {
    out.push(Command::new(node.clone(), line));
}

/// The commands that turn `old` into `new`, and nothing else.
///
/// - Settings of a neighbor (timers, password, description, …) are changed in place with the
///   setting's own command or its `no` form (`no neighbor X timers`, `no neighbor X password`);
///   the neighbor itself is never removed for that, so its session survives (bgpd itself resets
///   the session for changes that need it, such as a new password or remote AS).
/// - A removed neighbor is `no neighbor X` (bgpd also drops it from every address family).
/// - A changed AS is `no router bgp OLD` followed by the whole new configuration: bgpd cannot
///   rename a BGP instance, so every session restarts.
/// - Global settings outside `router bgp` (`log file`, `debug bgp …`) are changed individually.
/// - Network route-maps are defined before the `router bgp` section and removed after it; a
///   network whose route-map changed is sent again (see [`announce`]).
///
/// The commands are FRR's; [`diff_for`] renders them for another bgpd flavour.
pub fn diff(old: &BgpConfig, new: &BgpConfig) -> Vec<Command> {
    diff_for(old, new, &Flavour::FRR)
}

/// [`diff`] for a bgpd of flavour `fl`: settings it cannot take ([`Flavour::unsupported`]) are
/// left out, and commands are spelled its way.
pub fn diff_for(old: &BgpConfig, new: &BgpConfig, fl: &Flavour) -> Vec<Command> {
    let mut out = Vec::new();
    diff_globals(old, new, &mut out, fl);
    super::policy::diff_before(&old.policies, &new.policies, &mut out, fl);
    if old.asn != new.asn {
        push(
            &mut out,
            &Node::Config,
            format!("no router bgp {}", old.asn),
        );
        announce::remove(&old.network_route_maps, &NetworkRouteMaps::new(), &mut out);
        announce::define(&NetworkRouteMaps::new(), &new.network_route_maps, &mut out);
        router_full(new, &mut out, fl);
        super::policy::diff_after(&old.policies, &new.policies, &mut out, fl);
        return out;
    }
    announce::define(&old.network_route_maps, &new.network_route_maps, &mut out);
    let r = Node::Router(new.asn);
    if old.router_id != new.router_id {
        match new.router_id {
            Some(id) => push(&mut out, &r, format!("bgp router-id {id}")),
            None => push(&mut out, &r, "no bgp router-id".into()),
        }
    }
    if old.ebgp_requires_policy != new.ebgp_requires_policy && fl.has_ebgp_requires_policy() {
        push(
            &mut out,
            &r,
            flag(new.ebgp_requires_policy, "bgp ebgp-requires-policy"),
        );
    }
    if old.default_ipv4_unicast != new.default_ipv4_unicast {
        push(
            &mut out,
            &r,
            flag(new.default_ipv4_unicast, "bgp default ipv4-unicast"),
        );
    }
    if old.network_import_check != new.network_import_check {
        push(
            &mut out,
            &r,
            flag(new.network_import_check, "bgp network import-check"),
        );
    }
    super::gr::router_diff(&r, old.graceful_restart, new.graceful_restart, &mut out, fl);
    for addr in old.neighbors.keys() {
        if !new.neighbors.contains_key(addr) {
            push(&mut out, &r, format!("no neighbor {addr}"));
        }
    }
    for (addr, n) in &new.neighbors {
        match old.neighbors.get(addr) {
            None => neighbor_full(&r, n, &mut out, fl),
            Some(o) => neighbor_diff(&r, o, n, &mut out, fl),
        }
    }
    for afi in [Afi::Ipv4, Afi::Ipv6] {
        let removed: BTreeSet<IpAddr> = old
            .neighbors
            .keys()
            .filter(|a| !new.neighbors.contains_key(a))
            .copied()
            .collect();
        family_diff(
            new.asn,
            afi,
            (old.family(afi), &old.network_route_maps),
            (new.family(afi), &new.network_route_maps),
            &removed,
            &mut out,
            fl,
        );
    }
    announce::remove(&old.network_route_maps, &new.network_route_maps, &mut out);
    super::policy::diff_after(&old.policies, &new.policies, &mut out, fl);
    super::refresh::soft_refreshes(old, new, &mut out, fl);
    out
}

fn flag(on: bool, cmd: &str) -> String {
    if on {
        cmd.to_owned()
    } else {
        format!("no {cmd}")
    }
}

fn diff_globals(old: &BgpConfig, new: &BgpConfig, out: &mut Vec<Command>, fl: &Flavour) {
    if old.log_file != new.log_file {
        match &new.log_file {
            Some(f) => push(out, &Node::Config, format!("log file {}", f.as_str())),
            None => push(out, &Node::Config, "no log file".into()),
        }
    }
    for k in old
        .debug
        .difference(&new.debug)
        .filter_map(|d| fl.debug_keyword(*d))
    {
        push(out, &Node::Config, format!("no debug bgp {k}"));
    }
    for k in new
        .debug
        .difference(&old.debug)
        .filter_map(|d| fl.debug_keyword(*d))
    {
        push(out, &Node::Config, format!("debug bgp {k}"));
    }
}

/// The commands that build `cfg` from nothing.
pub(super) fn full(cfg: &BgpConfig, fl: &Flavour) -> Vec<Command> {
    let mut empty = BgpConfig::new(cfg.asn);
    empty.ebgp_requires_policy = true;
    empty.network_import_check = true;
    let mut out = Vec::new();
    diff_globals(&empty, cfg, &mut out, fl);
    super::policy::diff_before(&empty.policies, &cfg.policies, &mut out, fl);
    announce::define(&NetworkRouteMaps::new(), &cfg.network_route_maps, &mut out);
    router_full(cfg, &mut out, fl);
    out
}

fn router_full(cfg: &BgpConfig, out: &mut Vec<Command>, fl: &Flavour) {
    let r = Node::Router(cfg.asn);
    // Creates the instance even when nothing else is configured in it.
    out.push(Command::entering(
        Node::Config,
        format!("router bgp {}", cfg.asn),
        r.clone(),
    ));
    if let Some(id) = cfg.router_id {
        push(out, &r, format!("bgp router-id {id}"));
    }
    if !cfg.ebgp_requires_policy && fl.has_ebgp_requires_policy() {
        push(out, &r, "no bgp ebgp-requires-policy".into());
    }
    if !cfg.default_ipv4_unicast {
        push(out, &r, "no bgp default ipv4-unicast".into());
    }
    if !cfg.network_import_check {
        push(out, &r, "no bgp network import-check".into());
    }
    // Before the neighbors, so that they are created with the router-wide GR mode.
    super::gr::router_diff(&r, None, cfg.graceful_restart, out, fl);
    for n in cfg.neighbors.values() {
        neighbor_full(&r, n, out, fl);
    }
    for afi in [Afi::Ipv4, Afi::Ipv6] {
        family_diff(
            cfg.asn,
            afi,
            (&AddressFamily::default(), &NetworkRouteMaps::new()),
            (cfg.family(afi), &cfg.network_route_maps),
            &BTreeSet::new(),
            out,
            fl,
        );
    }
}

fn neighbor_full(r: &Node, n: &Neighbor, out: &mut Vec<Command>, fl: &Flavour) {
    let blank = Neighbor::new(n.address, n.remote_as);
    push(
        out,
        r,
        format!("neighbor {} remote-as {}", n.address, n.remote_as),
    );
    neighbor_diff(r, &blank, n, out, fl);
}

fn neighbor_diff(r: &Node, o: &Neighbor, n: &Neighbor, out: &mut Vec<Command>, fl: &Flavour) {
    let a = n.address;
    if o.remote_as != n.remote_as {
        push(out, r, format!("neighbor {a} remote-as {}", n.remote_as));
    }
    if o.description != n.description {
        match &n.description {
            Some(d) => push(out, r, format!("neighbor {a} description {}", d.as_str())),
            None => push(out, r, format!("no neighbor {a} description")),
        }
    }
    if o.password != n.password {
        match &n.password {
            Some(p) => push(out, r, format!("neighbor {a} password {}", p.as_str())),
            None => push(out, r, format!("no neighbor {a} password")),
        }
    }
    if o.timers != n.timers {
        match n.timers {
            Some(t) => push(
                out,
                r,
                format!("neighbor {a} timers {} {}", t.keepalive(), t.hold()),
            ),
            None => push(out, r, format!("no neighbor {a} timers")),
        }
    }
    if o.connect_retry != n.connect_retry {
        match n.connect_retry {
            Some(c) => push(out, r, format!("neighbor {a} timers connect {}", c.get())),
            None => push(out, r, format!("no neighbor {a} timers connect")),
        }
    }
    if o.ebgp_multihop != n.ebgp_multihop {
        match n.ebgp_multihop {
            Some(m) => push(out, r, format!("neighbor {a} ebgp-multihop {}", m.get())),
            None => push(out, r, format!("no neighbor {a} ebgp-multihop")),
        }
    }
    if o.advertisement_interval != n.advertisement_interval {
        match n.advertisement_interval {
            Some(i) => push(
                out,
                r,
                format!("neighbor {a} advertisement-interval {}", i.get()),
            ),
            None => push(out, r, format!("no neighbor {a} advertisement-interval")),
        }
    }
    if o.passive != n.passive {
        push(out, r, flag(n.passive, &format!("neighbor {a} passive")));
    }
    if fl.has_per_neighbor_gr() {
        super::gr::neighbor_diff(r, a, o.graceful_restart, n.graceful_restart, out);
    }
    if o.shutdown != n.shutdown {
        push(out, r, flag(n.shutdown, &format!("neighbor {a} shutdown")));
    }
}

fn family_diff(
    asn: super::Asn,
    afi: Afi,
    (o, o_maps): (&AddressFamily, &NetworkRouteMaps),
    (n, n_maps): (&AddressFamily, &NetworkRouteMaps),
    removed_neighbors: &BTreeSet<IpAddr>,
    out: &mut Vec<Command>,
    fl: &Flavour,
) {
    let node = Node::AddressFamily(asn, afi);
    for p in o.networks.difference(&n.networks) {
        push(out, &node, format!("no network {p}"));
    }
    for p in &n.networks {
        if !o.networks.contains(p) {
            push(out, &node, announce::network_line(p, n_maps));
        } else if announce::changed(p, o_maps, n_maps) {
            push(out, &node, format!("no network {p}"));
            push(out, &node, announce::network_line(p, n_maps));
        }
    }
    for a in o.activate.difference(&n.activate) {
        if !removed_neighbors.contains(a) {
            push(out, &node, format!("no neighbor {a} activate"));
        }
    }
    for a in n.activate.difference(&o.activate) {
        push(out, &node, format!("neighbor {a} activate"));
    }
    if o.maximum_paths != n.maximum_paths && fl.has_family_maximum_paths() {
        match n.maximum_paths {
            Some(m) => push(out, &node, format!("maximum-paths {}", m.get())),
            None => push(out, &node, "no maximum-paths".into()),
        }
    }
    super::policy::neighbors_diff(&node, &o.policy, &n.policy, removed_neighbors, out);
}
