//! FRR `zapi_route` / `zapi_nexthop` and Quagga's old-style route messages.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnetwork::IpNetwork;
use smallvec::SmallVec;

/// Number of nexthops a route holds inline, without a heap allocation.
pub const INLINE_NEXTHOPS: usize = 8;
/// Number of MPLS labels a nexthop holds inline (more spill to the heap; FRR allows 16).
pub const INLINE_LABELS: usize = 2;
/// FRR's `MPLS_MAX_LABELS`: the most labels one nexthop may carry.
pub const MPLS_MAX_LABELS: usize = 16;
/// FRR's `NEXTHOP_MAX_BACKUPS`: the most backup indexes one nexthop may carry.
pub const NEXTHOP_MAX_BACKUPS: usize = 8;
/// FRR's `ZAPI_MESSAGE_OPAQUE_LENGTH`: the largest opaque blob of a route.
pub const ZAPI_OPAQUE_MAX: usize = 1024;

/// A route's nexthops: up to [`INLINE_NEXTHOPS`] without allocating.
pub type Nexthops = SmallVec<[ZapiNexthop; INLINE_NEXTHOPS]>;
/// A nexthop's MPLS label stack, in the order of the wire.
pub type Labels = SmallVec<[u32; INLINE_LABELS]>;
/// A nexthop's backup indexes (at most [`NEXTHOP_MAX_BACKUPS`]).
pub type BackupIndexes = SmallVec<[u8; NEXTHOP_MAX_BACKUPS]>;
/// Quagga old-style nexthop entries.
pub type OldNexthops = SmallVec<[OldNexthop; INLINE_NEXTHOPS]>;

/// Zebra route types (lib/route_types.txt) this crate names; others are carried as numbers.
pub mod route_type {
    /// ZEBRA_ROUTE_SYSTEM.
    pub const SYSTEM: u8 = 0;
    /// ZEBRA_ROUTE_KERNEL.
    pub const KERNEL: u8 = 1;
    /// ZEBRA_ROUTE_CONNECT.
    pub const CONNECT: u8 = 2;
    /// ZEBRA_ROUTE_STATIC.
    pub const STATIC: u8 = 3;
    /// ZEBRA_ROUTE_BGP in FRR (Quagga numbers BGP 9 as well).
    pub const BGP: u8 = 9;
}

/// `zapi_route.flags` bits (FRR, `ZEBRA_FLAG_*`).
pub mod route_flags {
    /// ZEBRA_FLAG_ALLOW_RECURSION.
    pub const ALLOW_RECURSION: u32 = 0x01;
    /// ZEBRA_FLAG_SELFROUTE.
    pub const SELFROUTE: u32 = 0x02;
    /// ZEBRA_FLAG_IBGP.
    pub const IBGP: u32 = 0x04;
    /// ZEBRA_FLAG_SELECTED.
    pub const SELECTED: u32 = 0x08;
    /// ZEBRA_FLAG_FIB_OVERRIDE.
    pub const FIB_OVERRIDE: u32 = 0x10;
    /// ZEBRA_FLAG_EVPN_ROUTE.
    pub const EVPN_ROUTE: u32 = 0x20;
    /// ZEBRA_FLAG_RR_USE_DISTANCE.
    pub const RR_USE_DISTANCE: u32 = 0x40;
}

/// `zapi_route.message` bits (FRR, `ZAPI_MESSAGE_*`). The codec derives them from which
/// optional fields of [`ZapiRoute`] are present.
pub mod route_message {
    /// ZAPI_MESSAGE_NEXTHOP.
    pub const NEXTHOP: u32 = 0x01;
    /// ZAPI_MESSAGE_DISTANCE.
    pub const DISTANCE: u32 = 0x02;
    /// ZAPI_MESSAGE_METRIC.
    pub const METRIC: u32 = 0x04;
    /// ZAPI_MESSAGE_TAG.
    pub const TAG: u32 = 0x08;
    /// ZAPI_MESSAGE_MTU.
    pub const MTU: u32 = 0x10;
    /// ZAPI_MESSAGE_SRCPFX.
    pub const SRCPFX: u32 = 0x20;
    /// ZAPI_MESSAGE_BACKUP_NEXTHOPS.
    pub const BACKUP_NEXTHOPS: u32 = 0x40;
    /// ZAPI_MESSAGE_NHG.
    pub const NHG: u32 = 0x80;
    /// ZAPI_MESSAGE_TABLEID.
    pub const TABLEID: u32 = 0x100;
    /// ZAPI_MESSAGE_SRTE.
    pub const SRTE: u32 = 0x200;
    /// ZAPI_MESSAGE_OPAQUE.
    pub const OPAQUE: u32 = 0x400;
    /// Every bit that selects a body field.
    pub const FIELD_BITS: u32 = NEXTHOP
        | DISTANCE
        | METRIC
        | TAG
        | MTU
        | SRCPFX
        | BACKUP_NEXTHOPS
        | NHG
        | TABLEID
        | SRTE
        | OPAQUE;
}

/// `zapi_nexthop.flags` bits (FRR, `ZAPI_NEXTHOP_FLAG_*`).
pub mod nexthop_flags {
    /// ZAPI_NEXTHOP_FLAG_ONLINK: a pure flag, kept in [`ZapiNexthop::flags`](super::ZapiNexthop::flags).
    pub const ONLINK: u8 = 0x01;
    /// ZAPI_NEXTHOP_FLAG_LABEL: labels follow.
    pub const LABEL: u8 = 0x02;
    /// ZAPI_NEXTHOP_FLAG_WEIGHT: a weight follows.
    pub const WEIGHT: u8 = 0x04;
    /// ZAPI_NEXTHOP_FLAG_HAS_BACKUP: backup indexes follow.
    pub const HAS_BACKUP: u8 = 0x08;
    /// ZAPI_NEXTHOP_FLAG_SEG6: an SRv6 segment follows.
    pub const SEG6: u8 = 0x10;
    /// ZAPI_NEXTHOP_FLAG_SEG6LOCAL: an SRv6 local SID behaviour follows.
    pub const SEG6LOCAL: u8 = 0x20;
    /// ZAPI_NEXTHOP_FLAG_EVPN: a router MAC follows.
    pub const EVPN: u8 = 0x40;
    /// Every bit that selects a body field.
    pub const FIELD_BITS: u8 = LABEL | WEIGHT | HAS_BACKUP | SEG6 | SEG6LOCAL | EVPN;
}

/// Blackhole kinds (`enum blackhole_type`).
pub mod blackhole {
    /// BLACKHOLE_UNSPEC.
    pub const UNSPEC: u8 = 0;
    /// BLACKHOLE_NULL.
    pub const NULL: u8 = 1;
    /// BLACKHOLE_REJECT.
    pub const REJECT: u8 = 2;
    /// BLACKHOLE_ADMINPROHIB.
    pub const ADMINPROHIB: u8 = 3;
}

/// Where a FRR nexthop points (`zapi_nexthop.type` with its address/ifindex payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum NexthopTarget {
    /// NEXTHOP_TYPE_IFINDEX (1): a directly connected interface.
    Ifindex(u32),
    /// NEXTHOP_TYPE_IPV4 (2): a gateway (the ifindex is usually 0).
    Ipv4 {
        /// Gateway.
        gate: Ipv4Addr,
        /// Interface index (0 if unknown).
        ifindex: u32,
    },
    /// NEXTHOP_TYPE_IPV4_IFINDEX (3): a gateway on a given interface.
    Ipv4Ifindex {
        /// Gateway.
        gate: Ipv4Addr,
        /// Interface index.
        ifindex: u32,
    },
    /// NEXTHOP_TYPE_IPV6 (4).
    Ipv6 {
        /// Gateway.
        gate: Ipv6Addr,
        /// Interface index (0 if unknown).
        ifindex: u32,
    },
    /// NEXTHOP_TYPE_IPV6_IFINDEX (5).
    Ipv6Ifindex {
        /// Gateway.
        gate: Ipv6Addr,
        /// Interface index.
        ifindex: u32,
    },
    /// NEXTHOP_TYPE_BLACKHOLE (6) with its `blackhole_type` (see [`blackhole`]).
    Blackhole(u8),
}

impl NexthopTarget {
    /// The gateway address, if any.
    pub fn gateway(&self) -> Option<IpAddr> {
        match *self {
            NexthopTarget::Ipv4 { gate, .. } | NexthopTarget::Ipv4Ifindex { gate, .. } => {
                Some(IpAddr::V4(gate))
            }
            NexthopTarget::Ipv6 { gate, .. } | NexthopTarget::Ipv6Ifindex { gate, .. } => {
                Some(IpAddr::V6(gate))
            }
            NexthopTarget::Ifindex(_) | NexthopTarget::Blackhole(_) => None,
        }
    }

    /// The interface index, if any and non-zero.
    pub fn ifindex(&self) -> Option<u32> {
        match *self {
            NexthopTarget::Ifindex(i)
            | NexthopTarget::Ipv4 { ifindex: i, .. }
            | NexthopTarget::Ipv4Ifindex { ifindex: i, .. }
            | NexthopTarget::Ipv6 { ifindex: i, .. }
            | NexthopTarget::Ipv6Ifindex { ifindex: i, .. } => (i != 0).then_some(i),
            NexthopTarget::Blackhole(_) => None,
        }
    }

    /// FRR's `enum nexthop_types_t` number.
    pub const fn type_number(&self) -> u8 {
        match self {
            NexthopTarget::Ifindex(_) => 1,
            NexthopTarget::Ipv4 { .. } => 2,
            NexthopTarget::Ipv4Ifindex { .. } => 3,
            NexthopTarget::Ipv6 { .. } => 4,
            NexthopTarget::Ipv6Ifindex { .. } => 5,
            NexthopTarget::Blackhole(_) => 6,
        }
    }
}

/// SRv6 local SID behaviour of a nexthop (`seg6local_action` + `struct seg6local_context`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Seg6Local {
    /// `seg6local_action` (big-endian on the wire).
    pub action: u32,
    /// `ctx.nh4`.
    pub nh4: Ipv4Addr,
    /// `ctx.nh6`.
    pub nh6: Ipv6Addr,
    /// `ctx.table`: the context struct is copied raw, so this is in the daemon's host order.
    pub table: u32,
    /// `ctx.flv.flv_ops` (FRR 10, host order; see
    /// [`Profile::seg6local_context`](crate::Profile::seg6local_context)).
    pub flv_ops: u32,
    /// `ctx.flv.lcblock_len` (FRR 10).
    pub lcblock_len: u8,
    /// `ctx.flv.lcnode_func_len` (FRR 10).
    pub lcnode_func_len: u8,
    /// `ctx.block_len`, `node_len`, `function_len`, `argument_len` (FRR 10.2 and later).
    pub sid_structure: [u8; 4],
}

/// Rarely used parts of a nexthop (EVPN, backup paths, SRv6), kept out of line so that the
/// common nexthop stays small: a route's eight inline nexthops are moved with it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct NexthopExtras {
    /// EVPN router MAC (flag EVPN).
    pub rmac: Option<[u8; 6]>,
    /// Backup nexthop indexes (flag HAS_BACKUP).
    pub backup_indexes: Option<BackupIndexes>,
    /// SRv6 local SID behaviour (flag SEG6LOCAL).
    pub seg6local: Option<Seg6Local>,
    /// SRv6 headend segments (flag SEG6): exactly one in FRR 8.4, up to 16 in FRR 10.
    pub seg6_segs: Option<Vec<Ipv6Addr>>,
}

impl NexthopExtras {
    /// True when no part is present (such extras encode exactly like `None`).
    pub fn is_empty(&self) -> bool {
        self.rmac.is_none()
            && self.backup_indexes.is_none()
            && self.seg6local.is_none()
            && self.seg6_segs.is_none()
    }
}

/// One FRR `zapi_nexthop`. Optional parts are `Some` exactly when their flag is on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ZapiNexthop {
    /// VRF of the nexthop.
    pub vrf_id: u32,
    /// Type and payload.
    pub target: NexthopTarget,
    /// Flag bits without a body field (ONLINK and any bit this crate does not know); the codec
    /// ignores the field-selecting bits ([`nexthop_flags::FIELD_BITS`]) here and derives them.
    #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::arb::nexthop_pure_flags))]
    pub flags: u8,
    /// MPLS labels (flag LABEL), **in the daemon's host byte order** on the wire.
    pub labels: Option<Labels>,
    /// Label type (FRR 10, on the wire only with `labels`; must be 0 otherwise).
    pub label_type: u8,
    /// Weight (flag WEIGHT): 32 bits in FRR 8.4 and 10.0, 64 bits from FRR 10.1 on.
    pub weight: Option<u64>,
    /// SR-TE colour: present on every nexthop exactly when the route has ZAPI_MESSAGE_SRTE.
    pub srte_color: Option<u32>,
    /// EVPN/backup/SRv6 parts (boxed, decoded only when one of their flags is set). A box with
    /// nothing in it encodes like `None`.
    pub extras: Option<Box<NexthopExtras>>,
}

impl ZapiNexthop {
    /// A plain nexthop in VRF 0 with no optional parts.
    pub fn new(target: NexthopTarget) -> Self {
        ZapiNexthop {
            vrf_id: 0,
            target,
            flags: 0,
            labels: None,
            label_type: 0,
            weight: None,
            srte_color: None,
            extras: None,
        }
    }

    /// The flags byte as it goes on the wire.
    pub fn wire_flags(&self) -> u8 {
        let mut f = self.flags & !nexthop_flags::FIELD_BITS;
        if self.labels.is_some() {
            f |= nexthop_flags::LABEL;
        }
        if self.weight.is_some() {
            f |= nexthop_flags::WEIGHT;
        }
        if let Some(x) = &self.extras {
            if x.rmac.is_some() {
                f |= nexthop_flags::EVPN;
            }
            if x.backup_indexes.is_some() {
                f |= nexthop_flags::HAS_BACKUP;
            }
            if x.seg6local.is_some() {
                f |= nexthop_flags::SEG6LOCAL;
            }
            if x.seg6_segs.is_some() {
                f |= nexthop_flags::SEG6;
            }
        }
        f
    }
}

/// FRR's `zapi_route` body of ROUTE_ADD / ROUTE_DELETE / REDISTRIBUTE_ROUTE_ADD / _DEL.
///
/// Optional parts are `Some` exactly when their `ZAPI_MESSAGE_*` bit is on the wire, so
/// decoding then encoding gives back the same bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ZapiRoute {
    /// Route type (see [`route_type`]), e.g. 9 for BGP.
    pub route_type: u8,
    /// Protocol instance.
    pub instance: u16,
    /// `ZEBRA_FLAG_*` bits (see [`route_flags`]).
    pub flags: u32,
    /// Message bits that select no field (unknown to this crate); field bits here are ignored
    /// by the encoder, which derives them from the optional fields.
    #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::arb::route_extra_bits))]
    pub extra_message_bits: u32,
    /// SAFI (1 unicast, 2 multicast, …).
    pub safi: u8,
    /// Destination prefix. Only the first `ceil(plen/8)` address bytes travel.
    #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::arb::wire_prefix))]
    pub prefix: IpNetwork,
    /// IPv6 source prefix (ZAPI_MESSAGE_SRCPFX): (plen, address with only `ceil(plen/8)` bytes).
    #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::arb::src_prefix))]
    pub src_prefix: Option<(u8, Ipv6Addr)>,
    /// Nexthop group id (ZAPI_MESSAGE_NHG).
    pub nhg_id: Option<u32>,
    /// Nexthops (ZAPI_MESSAGE_NEXTHOP); `None` when the bit is clear (ROUTE_DELETE from bgpd).
    pub nexthops: Option<Nexthops>,
    /// Backup nexthops (ZAPI_MESSAGE_BACKUP_NEXTHOPS).
    pub backup_nexthops: Option<Vec<ZapiNexthop>>,
    /// Administrative distance (ZAPI_MESSAGE_DISTANCE).
    pub distance: Option<u8>,
    /// Metric (ZAPI_MESSAGE_METRIC).
    pub metric: Option<u32>,
    /// Tag (ZAPI_MESSAGE_TAG).
    pub tag: Option<u32>,
    /// MTU (ZAPI_MESSAGE_MTU).
    pub mtu: Option<u32>,
    /// Table id (ZAPI_MESSAGE_TABLEID).
    pub table_id: Option<u32>,
    /// Whether ZAPI_MESSAGE_SRTE is set (then every nexthop carries `srte_color`).
    pub srte: bool,
    /// Opaque data (ZAPI_MESSAGE_OPAQUE), at most [`ZAPI_OPAQUE_MAX`] bytes.
    pub opaque: Option<Vec<u8>>,
}

impl ZapiRoute {
    /// A route with the given type and prefix, SAFI unicast and nothing else.
    pub fn new(route_type: u8, prefix: IpNetwork) -> Self {
        ZapiRoute {
            route_type,
            instance: 0,
            flags: 0,
            extra_message_bits: 0,
            safi: 1,
            prefix,
            src_prefix: None,
            nhg_id: None,
            nexthops: None,
            backup_nexthops: None,
            distance: None,
            metric: None,
            tag: None,
            mtu: None,
            table_id: None,
            srte: false,
            opaque: None,
        }
    }

    /// Clear every field in place, as [`ZapiRoute::new`] with route type 0 and prefix 0.0.0.0/0
    /// would.
    pub fn reset(&mut self) {
        self.reset_keeping_nexthops();
        self.nexthops = None;
    }

    /// Like [`ZapiRoute::reset`], but an existing nexthop list is only emptied, not dropped, so
    /// the decoder can refill its inline storage without moving a new list into place. The
    /// caller must set `nexthops` to `None` when the decoded route has none.
    pub(crate) fn reset_keeping_nexthops(&mut self) {
        self.route_type = 0;
        self.instance = 0;
        self.flags = 0;
        self.extra_message_bits = 0;
        self.safi = 1;
        self.prefix = IpNetwork::V4(ipnetwork::Ipv4Network::from(Ipv4Addr::UNSPECIFIED));
        self.src_prefix = None;
        self.nhg_id = None;
        if let Some(n) = self.nexthops.as_mut() {
            n.clear();
        }
        self.backup_nexthops = None;
        self.distance = None;
        self.metric = None;
        self.tag = None;
        self.mtu = None;
        self.table_id = None;
        self.srte = false;
        self.opaque = None;
    }

    /// The `message` word as it goes on the wire.
    pub fn wire_message(&self) -> u32 {
        use route_message as m;
        let mut bits = self.extra_message_bits & !m::FIELD_BITS;
        let mut set = |on: bool, bit: u32| {
            if on {
                bits |= bit;
            }
        };
        set(self.nexthops.is_some(), m::NEXTHOP);
        set(self.distance.is_some(), m::DISTANCE);
        set(self.metric.is_some(), m::METRIC);
        set(self.tag.is_some(), m::TAG);
        set(self.mtu.is_some(), m::MTU);
        set(self.src_prefix.is_some(), m::SRCPFX);
        set(self.backup_nexthops.is_some(), m::BACKUP_NEXTHOPS);
        set(self.nhg_id.is_some(), m::NHG);
        set(self.table_id.is_some(), m::TABLEID);
        set(self.srte, m::SRTE);
        set(self.opaque.is_some(), m::OPAQUE);
        bits
    }

    /// The nexthops as a slice (empty when absent).
    pub fn nexthop_slice(&self) -> &[ZapiNexthop] {
        self.nexthops.as_deref().unwrap_or(&[])
    }
}

/// Quagga old-style route message bits (`ZAPI_MESSAGE_*` in Quagga's lib/zclient.h).
pub mod old_message {
    /// ZAPI_MESSAGE_NEXTHOP.
    pub const NEXTHOP: u8 = 0x01;
    /// ZAPI_MESSAGE_IFINDEX (informational; entries carry their own type).
    pub const IFINDEX: u8 = 0x02;
    /// ZAPI_MESSAGE_DISTANCE.
    pub const DISTANCE: u8 = 0x04;
    /// ZAPI_MESSAGE_METRIC.
    pub const METRIC: u8 = 0x08;
    /// ZAPI_MESSAGE_MTU (Quagga 1.x).
    pub const MTU: u8 = 0x10;
    /// ZAPI_MESSAGE_TAG (Quagga 1.x).
    pub const TAG: u8 = 0x20;
    /// Every bit that selects a body field.
    pub const FIELD_BITS: u8 = NEXTHOP | DISTANCE | METRIC | MTU | TAG;
}

/// One Quagga nexthop entry (`ZEBRA_NEXTHOP_*` type byte + value) as it appears in old-style
/// route messages, IPV4_NEXTHOP_LOOKUP replies and v3 NEXTHOP_UPDATE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum OldNexthop {
    /// ZEBRA_NEXTHOP_IFINDEX (1).
    Ifindex(u32),
    /// ZEBRA_NEXTHOP_IPV4 (3).
    Ipv4(Ipv4Addr),
    /// ZEBRA_NEXTHOP_IPV4_IFINDEX (4).
    Ipv4Ifindex(Ipv4Addr, u32),
    /// ZEBRA_NEXTHOP_IPV6 (6).
    Ipv6(Ipv6Addr),
    /// ZEBRA_NEXTHOP_IPV6_IFINDEX (7).
    Ipv6Ifindex(Ipv6Addr, u32),
    /// ZEBRA_NEXTHOP_BLACKHOLE (9), no value.
    Blackhole,
}

impl OldNexthop {
    /// Quagga's `ZEBRA_NEXTHOP_*` number.
    pub const fn type_number(&self) -> u8 {
        match self {
            OldNexthop::Ifindex(_) => 1,
            OldNexthop::Ipv4(_) => 3,
            OldNexthop::Ipv4Ifindex(..) => 4,
            OldNexthop::Ipv6(_) => 6,
            OldNexthop::Ipv6Ifindex(..) => 7,
            OldNexthop::Blackhole => 9,
        }
    }
}

/// A resolved (gateway, ifindex) path of an old-style route, after pairing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OldPath {
    /// Gateway, if any.
    pub gateway: Option<IpAddr>,
    /// Interface index, if any.
    pub ifindex: Option<u32>,
    /// True for a blackhole entry.
    pub blackhole: bool,
}

/// Quagga's IPV4/IPV6_ROUTE_ADD/DELETE body (old style, both v2 and v3).
///
/// The nexthop entries are kept in wire order; for IPv6 Quagga bgpd sends all gateways first,
/// then all ifindexes, which [`OldRoute::paths`] pairs by position as Quagga's zebra does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct OldRoute {
    /// Route type (9 = BGP).
    pub route_type: u8,
    /// Quagga `ZEBRA_FLAG_*` bits.
    pub flags: u8,
    /// Message bits without a field (e.g. ZAPI_MESSAGE_IFINDEX); field bits here are ignored by
    /// the encoder, which derives them from the optional fields.
    #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::arb::old_extra_bits))]
    pub extra_message_bits: u8,
    /// SAFI.
    pub safi: u16,
    /// Destination; the family follows the command (IPV4_* or IPV6_*).
    #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::arb::wire_prefix))]
    pub prefix: IpNetwork,
    /// Nexthop entries (ZAPI_MESSAGE_NEXTHOP), in wire order.
    pub nexthops: Option<OldNexthops>,
    /// Distance (ZAPI_MESSAGE_DISTANCE).
    pub distance: Option<u8>,
    /// Metric (ZAPI_MESSAGE_METRIC).
    pub metric: Option<u32>,
    /// MTU (ZAPI_MESSAGE_MTU, Quagga v3 only), sent before the tag.
    pub mtu: Option<u32>,
    /// Tag (ZAPI_MESSAGE_TAG, Quagga v3 only), sent after the MTU.
    pub tag: Option<u32>,
}

impl OldRoute {
    /// The `message` byte as it goes on the wire.
    pub fn wire_message(&self) -> u8 {
        use old_message as m;
        let mut bits = self.extra_message_bits & !m::FIELD_BITS;
        if self.nexthops.is_some() {
            bits |= m::NEXTHOP;
        }
        if self.distance.is_some() {
            bits |= m::DISTANCE;
        }
        if self.metric.is_some() {
            bits |= m::METRIC;
        }
        if self.mtu.is_some() {
            bits |= m::MTU;
        }
        if self.tag.is_some() {
            bits |= m::TAG;
        }
        bits
    }

    /// The forwarding paths, pairing gateways and ifindexes by position the way Quagga's zebra
    /// does (`zread_ipv6_add`): the i-th gateway goes with the i-th ifindex entry; extra
    /// ifindexes become interface-only paths. Entries that already carry both are kept whole.
    pub fn paths(&self) -> Vec<OldPath> {
        let entries = self.nexthops.as_deref().unwrap_or(&[]);
        let mut gates: Vec<IpAddr> = Vec::new();
        let mut ifindexes: Vec<u32> = Vec::new();
        let mut out = Vec::new();
        for e in entries {
            match *e {
                OldNexthop::Ipv4(a) => gates.push(IpAddr::V4(a)),
                OldNexthop::Ipv6(a) => gates.push(IpAddr::V6(a)),
                OldNexthop::Ifindex(i) => ifindexes.push(i),
                OldNexthop::Ipv4Ifindex(a, i) => out.push(OldPath {
                    gateway: Some(IpAddr::V4(a)),
                    ifindex: Some(i),
                    blackhole: false,
                }),
                OldNexthop::Ipv6Ifindex(a, i) => out.push(OldPath {
                    gateway: Some(IpAddr::V6(a)),
                    ifindex: Some(i),
                    blackhole: false,
                }),
                OldNexthop::Blackhole => out.push(OldPath {
                    gateway: None,
                    ifindex: None,
                    blackhole: true,
                }),
            }
        }
        let n = gates.len().max(ifindexes.len());
        for i in 0..n {
            let gateway = gates.get(i).copied().filter(|g| !g.is_unspecified());
            let ifindex = ifindexes.get(i).copied().filter(|&x| x != 0);
            if gateway.is_some() || ifindex.is_some() {
                out.push(OldPath {
                    gateway,
                    ifindex,
                    blackhole: false,
                });
            }
        }
        out
    }
}
