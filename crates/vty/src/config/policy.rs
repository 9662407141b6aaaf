//! Routing policy in bgpd's configuration: prefix-lists, route-maps and the per-neighbor
//! `route-map … in|out` and `maximum-prefix` settings, with their rendering and minimal diffs.
//!
//! Rules are FRR 8.4's (lib/filter_cli.c, bgpd/bgp_routemap.c, bgpd/bgp_vty.c), checked against
//! a running bgpd: a prefix-list entry needs `mask length <= ge <= le <= family bits`; an entry
//! with the same prefix, `ge` and `le` as another one of the same list is silently ignored by
//! bgpd (so it is refused here); a sequence number re-entered with another content replaces
//! the entry in place; `route-map NAME ACTION SEQ` changes the action of an existing entry in
//! place; `set …` replaces the previous value of the same kind. bgpd re-applies a changed
//! prefix-list or route-map itself (after its `route-map delay-timer`) with a soft refresh:
//! outbound by re-announcing, inbound with a route refresh request; no session is reset.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use super::aspath::AsPathList;
use super::values::{Asn, ConfigError, Prefix};
use super::{Afi, Command, Node};

/// A prefix-list or route-map name: 1..=63 ASCII letters, digits, `-`, `_` or `.`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PolicyName(String);

impl PolicyName {
    /// Longest name (the project's bound; bgpd has none).
    pub const MAX_LEN: usize = 63;

    /// Validates a name.
    pub fn new(name: &str) -> Result<PolicyName, ConfigError> {
        if name.is_empty() || name.len() > Self::MAX_LEN {
            return Err(ConfigError::BadLength {
                field: "policy name",
                len: name.len(),
                min: 1,
                max: Self::MAX_LEN,
            });
        }
        for (offset, ch) in name.char_indices() {
            if !(ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.')) {
                return Err(ConfigError::BadCharacter {
                    field: "policy name",
                    ch,
                    offset,
                });
            }
        }
        Ok(PolicyName(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PolicyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `permit` or `deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// `permit`.
    Permit,
    /// `deny`.
    Deny,
}

impl Action {
    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            Action::Permit => "permit",
            Action::Deny => "deny",
        }
    }
}

impl FromStr for Action {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Action, ConfigError> {
        match s {
            "permit" => Ok(Action::Permit),
            "deny" => Ok(Action::Deny),
            _ => Err(ConfigError::BadWord {
                field: "action",
                text: s.to_owned(),
                expected: "permit or deny",
            }),
        }
    }
}

/// One prefix-list entry: a prefix, optionally with a range of lengths (`ge`, `le`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrefixEntry {
    action: Action,
    prefix: Prefix,
    ge: Option<u8>,
    le: Option<u8>,
}

impl PrefixEntry {
    /// Validates an entry: `prefix length <= ge <= le <= 32 (IPv4) or 128 (IPv6)`, bgpd's rule.
    pub fn new(
        action: Action,
        prefix: Prefix,
        ge: Option<u8>,
        le: Option<u8>,
    ) -> Result<PrefixEntry, ConfigError> {
        let bits: u8 = if prefix.addr().is_ipv4() { 32 } else { 128 };
        let len = prefix.prefix_len();
        let range = |field: &'static str, v: u8, min: u8| ConfigError::OutOfRange {
            field,
            value: v.into(),
            min: min.into(),
            max: bits.into(),
        };
        if let Some(g) = ge {
            if g < len || g > bits {
                return Err(range("ge", g, len));
            }
        }
        if let Some(l) = le {
            let min = ge.unwrap_or(len);
            if l < min || l > bits {
                return Err(range("le", l, min));
            }
        }
        Ok(PrefixEntry {
            action,
            prefix,
            ge,
            le,
        })
    }

    /// Permit or deny.
    pub fn action(&self) -> Action {
        self.action
    }

    /// The prefix.
    pub fn prefix(&self) -> Prefix {
        self.prefix
    }

    /// Smallest matching length, if given.
    pub fn ge(&self) -> Option<u8> {
        self.ge
    }

    /// Largest matching length, if given.
    pub fn le(&self) -> Option<u8> {
        self.le
    }

    /// Whether two entries match the same routes (bgpd keeps only the first of them).
    pub fn same_match(&self, other: &PrefixEntry) -> bool {
        self.prefix == other.prefix && self.ge == other.ge && self.le == other.le
    }

    /// Whether the entry matches `p` (see [`PrefixList::permits`]).
    pub fn matches(&self, p: Prefix) -> bool {
        let (bits, len) = match self.prefix.addr() {
            IpAddr::V4(_) => (32u8, self.prefix.prefix_len()),
            IpAddr::V6(_) => (128u8, self.prefix.prefix_len()),
        };
        let covered = match (self.prefix.addr(), p.addr()) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                p.prefix_len() >= len
                    && (len == 0 || (u32::from(a) ^ u32::from(b)) >> (32 - u32::from(len)) == 0)
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                p.prefix_len() >= len
                    && (len == 0 || (u128::from(a) ^ u128::from(b)) >> (128 - u32::from(len)) == 0)
            }
            _ => false,
        };
        let (lo, hi) = match (self.ge, self.le) {
            (None, None) => (len, len),
            (Some(g), None) => (g, bits),
            (None, Some(l)) => (len, l),
            (Some(g), Some(l)) => (g, l),
        };
        covered && (lo..=hi).contains(&p.prefix_len())
    }

    fn words(&self) -> String {
        let mut s = format!("{} {}", self.action.keyword(), self.prefix);
        if let Some(g) = self.ge {
            s.push_str(&format!(" ge {g}"));
        }
        if let Some(l) = self.le {
            s.push_str(&format!(" le {l}"));
        }
        s
    }
}

/// An ordered prefix-list of one family with a default action for what no entry matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixList {
    afi: Afi,
    entries: Vec<PrefixEntry>,
    default: Action,
}

impl PrefixList {
    /// Sequence number of the default entry (`permit|deny any`), after every other entry.
    pub const DEFAULT_SEQ: u32 = u32::MAX;
    /// Most entries in one list (sequence numbers 5, 10, … stay below [`Self::DEFAULT_SEQ`]).
    pub const MAX_ENTRIES: usize = 10_000;

    /// Validates a list: every prefix of family `afi`, no two entries matching the same routes.
    pub fn new(
        afi: Afi,
        entries: Vec<PrefixEntry>,
        default: Action,
    ) -> Result<PrefixList, ConfigError> {
        if entries.len() > Self::MAX_ENTRIES {
            return Err(ConfigError::OutOfRange {
                field: "prefix-list entries",
                value: entries.len() as u64,
                min: 0,
                max: Self::MAX_ENTRIES as u64,
            });
        }
        for (i, e) in entries.iter().enumerate() {
            if e.prefix.addr().is_ipv4() != (afi == Afi::Ipv4) {
                return Err(ConfigError::WrongFamily {
                    prefix: e.prefix,
                    family: afi.keyword(),
                });
            }
            if let Some(j) = entries[..i].iter().position(|o| o.same_match(e)) {
                return Err(ConfigError::DuplicateEntry { index: i, first: j });
            }
        }
        Ok(PrefixList {
            afi,
            entries,
            default,
        })
    }

    /// The family.
    pub fn afi(&self) -> Afi {
        self.afi
    }

    /// The entries, in order.
    pub fn entries(&self) -> &[PrefixEntry] {
        &self.entries
    }

    /// What happens to a prefix no entry matches.
    pub fn default_action(&self) -> Action {
        self.default
    }

    /// Whether the list permits `prefix`, as bgpd evaluates it: the first entry whose prefix
    /// covers it with a matching length decides (without `ge`/`le` only the exact length
    /// matches; `ge` alone means up to the family's bits, `le` alone from the entry's length),
    /// the default action otherwise.
    pub fn permits(&self, prefix: Prefix) -> bool {
        let hit = self.entries.iter().find(|e| e.matches(prefix));
        hit.map_or(self.default, |e| e.action) == Action::Permit
    }

    /// Entry lines by sequence number (5, 10, …, then the default at `default_seq`: the
    /// flavour's [`crate::Flavour::prefix_list_default_seq`], [`Self::DEFAULT_SEQ`] for FRR).
    fn by_seq(&self, default_seq: u32) -> BTreeMap<u32, String> {
        let mut m: BTreeMap<u32, String> = self
            .entries
            .iter()
            .zip((1u32..).map(|i| i * 5))
            .map(|(e, seq)| (seq, e.words()))
            .collect();
        m.insert(default_seq, format!("{} any", self.default.keyword()));
        m
    }

    fn keyword(afi: Afi) -> &'static str {
        match afi {
            Afi::Ipv4 => "ip",
            Afi::Ipv6 => "ipv6",
        }
    }
}

/// A BGP community (RFC 1997): `AA:NN` or a well-known name as bgpd spells it. In JSON (the
/// control protocol) it is the same text.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub enum Community {
    /// `AA:NN`, two 16-bit numbers.
    Value(u16, u16),
    /// `internet` (0:0).
    Internet,
    /// `no-export`.
    NoExport,
    /// `no-advertise`.
    NoAdvertise,
    /// `local-AS`.
    LocalAs,
    /// `no-peer` (RFC 3765).
    NoPeer,
    /// `blackhole` (RFC 7999).
    Blackhole,
    /// `graceful-shutdown` (RFC 8326).
    GracefulShutdown,
}

impl FromStr for Community {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Community, ConfigError> {
        let bad = || ConfigError::BadWord {
            field: "community",
            text: s.to_owned(),
            expected: "AA:NN (0-65535 each), internet, no-export, no-advertise, local-AS, \
                       no-peer, blackhole or graceful-shutdown",
        };
        Ok(match s {
            "internet" => Community::Internet,
            "no-export" => Community::NoExport,
            "no-advertise" => Community::NoAdvertise,
            "local-AS" => Community::LocalAs,
            "no-peer" => Community::NoPeer,
            "blackhole" => Community::Blackhole,
            "graceful-shutdown" => Community::GracefulShutdown,
            _ => {
                let (a, n) = s.split_once(':').ok_or_else(bad)?;
                Community::Value(number(a).ok_or_else(bad)?, number(n).ok_or_else(bad)?)
            }
        })
    }
}

/// A decimal number without sign or leading `+`.
fn number<T: FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Community::Value(a, n) => write!(f, "{a}:{n}"),
            Community::Internet => f.write_str("internet"),
            Community::NoExport => f.write_str("no-export"),
            Community::NoAdvertise => f.write_str("no-advertise"),
            Community::LocalAs => f.write_str("local-AS"),
            Community::NoPeer => f.write_str("no-peer"),
            Community::Blackhole => f.write_str("blackhole"),
            Community::GracefulShutdown => f.write_str("graceful-shutdown"),
        }
    }
}

impl TryFrom<String> for Community {
    type Error = ConfigError;

    fn try_from(s: String) -> Result<Community, ConfigError> {
        s.parse()
    }
}

impl From<Community> for String {
    fn from(c: Community) -> String {
        c.to_string()
    }
}

/// A large community (RFC 8092): `GA:LD1:LD2`, three 32-bit numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LargeCommunity(pub u32, pub u32, pub u32);

impl FromStr for LargeCommunity {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<LargeCommunity, ConfigError> {
        let bad = || ConfigError::BadWord {
            field: "large community",
            text: s.to_owned(),
            expected: "GA:LD1:LD2 (0-4294967295 each)",
        };
        let mut it = s.split(':');
        let mut next = || it.next().and_then(number::<u32>).ok_or_else(bad);
        let c = LargeCommunity(next()?, next()?, next()?);
        if s.split(':').count() != 3 {
            return Err(bad());
        }
        Ok(c)
    }
}

impl fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.0, self.1, self.2)
    }
}

/// Communities a route-map entry sets: added to the route's own (`additive`) or replacing them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SetCommunities<T> {
    /// The communities (at least one, in order, no repeats).
    pub values: Vec<T>,
    /// `additive`: keep the route's communities.
    pub additive: bool,
}

/// One route-map entry (`route-map NAME ACTION SEQ`) with what it matches and sets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouteMapEntry {
    /// `deny` instead of `permit`.
    pub deny: bool,
    /// `match as-path NAME`, NAME one of [`Policies::own_routes`]: only routes with an empty
    /// AS path, i.e. originated in this AS (`network` lines, redistribution). (`match peer
    /// local` would not do: in an outbound route-map bgpd matches it against the peer the
    /// route is sent to.)
    pub match_own: Option<PolicyName>,
    /// `match as-path NAME`, NAME one of [`Policies::as_path_lists`] (an entry has one `match
    /// as-path`: not together with `match_own`).
    pub match_as_path: Option<PolicyName>,
    /// `match ip|ipv6 address prefix-list NAME`.
    pub match_prefix_list: Option<(Afi, PolicyName)>,
    /// `set local-preference N`.
    pub local_preference: Option<u32>,
    /// `set metric N` (MED).
    pub metric: Option<u32>,
    /// `set community … [additive]`.
    pub communities: Option<SetCommunities<Community>>,
    /// `set large-community … [additive]`.
    pub large_communities: Option<SetCommunities<LargeCommunity>>,
    /// `set as-path prepend AS AS …`: the AS and how many times.
    pub prepend: Option<(Asn, u8)>,
}

impl RouteMapEntry {
    /// Most times an AS may be prepended (the project's bound; more only harms).
    pub const MAX_PREPEND: u8 = 10;

    fn action(&self) -> Action {
        if self.deny {
            Action::Deny
        } else {
            Action::Permit
        }
    }

    /// [`Self::lines`] for bgpd flavour `fl`: communities it does not know are left out
    /// ([`crate::Flavour::unsupported`] names them), and the `set community` line with them
    /// when none is left.
    fn lines_for(&self, fl: &crate::flavour::Flavour) -> BTreeMap<&'static str, String> {
        if self
            .communities
            .as_ref()
            .is_none_or(|c| c.values.iter().all(|v| fl.has_community(*v)))
        {
            return self.lines();
        }
        let mut e = self.clone();
        e.communities = e.communities.and_then(|mut c| {
            c.values.retain(|v| fl.has_community(*v));
            (!c.values.is_empty()).then_some(c)
        });
        e.lines()
    }

    /// The `match`/`set` lines, each with a key naming its kind (for in-place diffs).
    fn lines(&self) -> BTreeMap<&'static str, String> {
        let mut m = BTreeMap::new();
        if let Some(n) = self.match_own.as_ref().or(self.match_as_path.as_ref()) {
            m.insert("match as-path", format!("match as-path {n}"));
        }
        if let Some((afi, name)) = &self.match_prefix_list {
            let key = match afi {
                Afi::Ipv4 => "match ip address prefix-list",
                Afi::Ipv6 => "match ipv6 address prefix-list",
            };
            m.insert(key, format!("{key} {name}"));
        }
        if let Some(v) = self.local_preference {
            m.insert("set local-preference", format!("set local-preference {v}"));
        }
        if let Some(v) = self.metric {
            m.insert("set metric", format!("set metric {v}"));
        }
        if let Some(c) = &self.communities {
            m.insert("set community", set_line("set community", c));
        }
        if let Some(c) = &self.large_communities {
            m.insert("set large-community", set_line("set large-community", c));
        }
        if let Some((asn, n)) = self.prepend {
            let list = vec![asn.to_string(); n.into()].join(" ");
            m.insert("set as-path prepend", format!("set as-path prepend {list}"));
        }
        m
    }

    /// Checks the values bgpd would refuse.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some((_, n)) = self.prepend {
            if n == 0 || n > Self::MAX_PREPEND {
                return Err(ConfigError::OutOfRange {
                    field: "as-path prepend",
                    value: n.into(),
                    min: 1,
                    max: Self::MAX_PREPEND.into(),
                });
            }
        }
        let empty = |field: &'static str| ConfigError::BadLength {
            field,
            len: 0,
            min: 1,
            max: usize::MAX,
        };
        if self
            .communities
            .as_ref()
            .is_some_and(|c| c.values.is_empty())
        {
            return Err(empty("communities"));
        }
        if self
            .large_communities
            .as_ref()
            .is_some_and(|c| c.values.is_empty())
        {
            return Err(empty("large communities"));
        }
        Ok(())
    }
}

fn set_line<T: fmt::Display>(cmd: &str, c: &SetCommunities<T>) -> String {
    let mut s = cmd.to_owned();
    for v in &c.values {
        s.push(' ');
        s.push_str(&v.to_string());
    }
    if c.additive {
        s.push_str(" additive");
    }
    s
}

/// A route-map: entries by sequence number. A route no entry permits is denied.
pub type RouteMap = BTreeMap<u16, RouteMapEntry>;

/// `neighbor X maximum-prefix N [THRESHOLD] [warning-only | restart MINUTES]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MaximumPrefix {
    limit: u32,
    threshold: Option<u8>,
    action: MaxPrefixAction,
}

/// What bgpd does when a peer sends more prefixes than its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MaxPrefixAction {
    /// `warning-only`: log, keep the session.
    Warn,
    /// Tear the session down; bring it back after `Some(minutes)`, or only when cleared.
    TearDown(Option<u16>),
}

impl MaximumPrefix {
    /// Validates: limit 1..=4294967295, threshold 1..=100 percent, restart 1..=65535 minutes.
    pub fn new(
        limit: u32,
        threshold: Option<u8>,
        action: MaxPrefixAction,
    ) -> Result<MaximumPrefix, ConfigError> {
        if limit == 0 {
            return Err(ConfigError::OutOfRange {
                field: "maximum-prefix",
                value: 0,
                min: 1,
                max: u32::MAX.into(),
            });
        }
        if let Some(t) = threshold {
            if !(1..=100).contains(&t) {
                return Err(ConfigError::OutOfRange {
                    field: "maximum-prefix threshold",
                    value: t.into(),
                    min: 1,
                    max: 100,
                });
            }
        }
        if action == MaxPrefixAction::TearDown(Some(0)) {
            return Err(ConfigError::OutOfRange {
                field: "maximum-prefix restart",
                value: 0,
                min: 1,
                max: 65535,
            });
        }
        Ok(MaximumPrefix {
            limit,
            threshold,
            action,
        })
    }

    /// The prefix limit.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Warning threshold in percent of the limit, if given (bgpd's default is 75).
    pub fn threshold(&self) -> Option<u8> {
        self.threshold
    }

    /// What happens above the limit.
    pub fn action(&self) -> MaxPrefixAction {
        self.action
    }

    fn words(&self) -> String {
        let mut s = self.limit.to_string();
        if let Some(t) = self.threshold {
            s.push_str(&format!(" {t}"));
        }
        match self.action {
            MaxPrefixAction::Warn => s.push_str(" warning-only"),
            MaxPrefixAction::TearDown(Some(m)) => s.push_str(&format!(" restart {m}")),
            MaxPrefixAction::TearDown(None) => {}
        }
        s
    }
}

/// A neighbor's policy in one address family.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NeighborPolicy {
    /// `neighbor X route-map NAME in`.
    pub route_map_in: Option<PolicyName>,
    /// `neighbor X route-map NAME out`.
    pub route_map_out: Option<PolicyName>,
    /// `neighbor X maximum-prefix …`.
    pub maximum_prefix: Option<MaximumPrefix>,
}

/// Every prefix-list and route-map of one bgpd.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policies {
    /// Prefix-lists by family and name.
    pub prefix_lists: BTreeMap<(Afi, PolicyName), PrefixList>,
    /// Route-maps by name.
    pub route_maps: BTreeMap<PolicyName, RouteMap>,
    /// AS-path access-lists that permit only the empty AS path
    /// (`bgp as-path access-list NAME seq 5 permit ^$`).
    pub own_routes: BTreeSet<PolicyName>,
    /// Other AS-path access-lists (of `permit` entries), by name.
    pub as_path_lists: BTreeMap<PolicyName, AsPathList>,
}

impl Policies {
    /// Checks that every referenced prefix-list exists with the family of its key, and every
    /// route-map entry's values.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(name) = self
            .as_path_lists
            .keys()
            .find(|n| self.own_routes.contains(*n))
        {
            return Err(ConfigError::Policy {
                name: name.clone(),
                problem: "is both an own-routes and another as-path list",
            });
        }
        for ((afi, name), pl) in &self.prefix_lists {
            if pl.afi != *afi {
                return Err(ConfigError::Policy {
                    name: name.clone(),
                    problem: "stored under the other family",
                });
            }
        }
        for (name, rm) in &self.route_maps {
            for e in rm.values() {
                e.validate()?;
                if e.match_own
                    .as_ref()
                    .is_some_and(|n| !self.own_routes.contains(n))
                {
                    return Err(ConfigError::Policy {
                        name: name.clone(),
                        problem: "matches an as-path list that is not configured",
                    });
                }
                if e.match_own.is_some() && e.match_as_path.is_some() {
                    return Err(ConfigError::Policy {
                        name: name.clone(),
                        problem: "an entry has both match_own and match_as_path (one `match \
                                  as-path` each)",
                    });
                }
                if e.match_as_path
                    .as_ref()
                    .is_some_and(|n| !self.as_path_lists.contains_key(n))
                {
                    return Err(ConfigError::Policy {
                        name: name.clone(),
                        problem: "matches an as-path list that is not configured",
                    });
                }
                if let Some(key) = &e.match_prefix_list {
                    if !self.prefix_lists.contains_key(key) {
                        return Err(ConfigError::Policy {
                            name: name.clone(),
                            problem: "matches a prefix-list that is not configured",
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether a route-map of this name is configured.
    pub fn has_route_map(&self, name: &PolicyName) -> bool {
        self.route_maps.contains_key(name)
    }
}

/// New and changed prefix-lists and route-maps (before the neighbors refer to them). Changed
/// entries are removed first, so an entry never collides with one that is going away.
pub(super) fn diff_before(
    old: &Policies,
    new: &Policies,
    out: &mut Vec<Command>,
    fl: &crate::flavour::Flavour,
) {
    for name in new.own_routes.difference(&old.own_routes) {
        out.push(Command::new(
            Node::Config,
            fl.as_path_list_permit(&name.to_string(), "^$"),
        ));
    }
    // New entries before the old ones go, so a changed list is never empty (bgpd removes a
    // list with its last entry, and a route-map matching a missing list matches nothing).
    let none = AsPathList::default();
    for (name, list) in &new.as_path_lists {
        let before = old.as_path_lists.get(name).unwrap_or(&none);
        for r in list.regexes().filter(|r| !before.contains(r)) {
            out.push(Command::new(
                Node::Config,
                fl.as_path_list_add(name.as_str(), r.as_str()),
            ));
        }
        for r in before.regexes().filter(|r| !list.contains(r)) {
            out.push(Command::new(
                Node::Config,
                fl.as_path_list_remove(name.as_str(), r.as_str()),
            ));
        }
    }
    for (key, pl) in &new.prefix_lists {
        let (afi, name) = key;
        let kw = PrefixList::keyword(*afi);
        let default_seq = fl.prefix_list_default_seq();
        let before = old.prefix_lists.get(key).map(|l| l.by_seq(default_seq));
        let before = before.unwrap_or_default();
        let after = pl.by_seq(default_seq);
        for (seq, line) in &before {
            if after.get(seq) != Some(line) {
                out.push(Command::new(
                    Node::Config,
                    format!("no {kw} prefix-list {name} seq {seq}"),
                ));
            }
        }
        for (seq, line) in &after {
            if before.get(seq) != Some(line) {
                out.push(Command::new(
                    Node::Config,
                    format!("{kw} prefix-list {name} seq {seq} {line}"),
                ));
            }
        }
    }
    for (name, rm) in &new.route_maps {
        let empty = RouteMap::new();
        let before = old.route_maps.get(name).unwrap_or(&empty);
        for (seq, o) in before {
            match rm.get(seq) {
                Some(n) if n.action() == o.action() => {}
                _ => out.push(Command::new(
                    Node::Config,
                    format!("no route-map {name} {} {seq}", o.action().keyword()),
                )),
            }
        }
        for (seq, n) in rm {
            let node = Node::RouteMap(name.clone(), n.action(), *seq);
            let o_lines = match before.get(seq) {
                Some(o) if o.action() == n.action() => o.lines_for(fl),
                _ => BTreeMap::new(),
            };
            let n_lines = n.lines_for(fl);
            let fresh = before.get(seq).map(RouteMapEntry::action) != Some(n.action());
            for k in o_lines.keys() {
                if !n_lines.contains_key(k) {
                    out.push(Command::new(node.clone(), format!("no {k}")));
                }
            }
            for (k, l) in &n_lines {
                if o_lines.get(k) != Some(l) {
                    out.push(Command::new(node.clone(), l.clone()));
                }
            }
            if fresh && n_lines.is_empty() {
                // An entry that matches and sets nothing still has to exist.
                out.push(Command::entering(
                    Node::Config,
                    format!("route-map {name} {} {seq}", n.action().keyword()),
                    node,
                ));
            }
        }
    }
}

/// Prefix-lists and route-maps no longer configured (after the neighbors stopped using them).
pub(super) fn diff_after(
    old: &Policies,
    new: &Policies,
    out: &mut Vec<Command>,
    fl: &crate::flavour::Flavour,
) {
    for name in old.route_maps.keys() {
        if !new.route_maps.contains_key(name) {
            out.push(Command::new(Node::Config, format!("no route-map {name}")));
        }
    }
    for name in old.own_routes.difference(&new.own_routes) {
        out.push(Command::new(
            Node::Config,
            fl.no_as_path_list(&name.to_string()),
        ));
    }
    for name in old.as_path_lists.keys() {
        if !new.as_path_lists.contains_key(name) {
            out.push(Command::new(
                Node::Config,
                fl.no_as_path_list(name.as_str()),
            ));
        }
    }
    for (afi, name) in old.prefix_lists.keys() {
        if !new.prefix_lists.contains_key(&(*afi, name.clone())) {
            out.push(Command::new(
                Node::Config,
                format!("no {} prefix-list {name}", PrefixList::keyword(*afi)),
            ));
        }
    }
}

/// Per-neighbor policy lines of one address family (`node`), turning `old` into `new`.
/// Neighbors in `removed` are gone with all their settings already.
pub(super) fn neighbors_diff(
    node: &Node,
    old: &BTreeMap<IpAddr, NeighborPolicy>,
    new: &BTreeMap<IpAddr, NeighborPolicy>,
    removed: &BTreeSet<IpAddr>,
    out: &mut Vec<Command>,
) {
    let blank = NeighborPolicy::default();
    let addrs: BTreeSet<&IpAddr> = old.keys().chain(new.keys()).collect();
    for a in addrs {
        if removed.contains(a) {
            continue;
        }
        let o = old.get(a).unwrap_or(&blank);
        let n = new.get(a).unwrap_or(&blank);
        for (dir, ov, nv) in [
            ("in", &o.route_map_in, &n.route_map_in),
            ("out", &o.route_map_out, &n.route_map_out),
        ] {
            if ov != nv {
                let line = match (ov, nv) {
                    (_, Some(m)) => format!("neighbor {a} route-map {m} {dir}"),
                    (Some(m), None) => format!("no neighbor {a} route-map {m} {dir}"),
                    (None, None) => continue,
                };
                out.push(Command::new(node.clone(), line));
            }
        }
        if o.maximum_prefix != n.maximum_prefix {
            let line = match n.maximum_prefix {
                Some(m) => format!("neighbor {a} maximum-prefix {}", m.words()),
                None => format!("no neighbor {a} maximum-prefix"),
            };
            out.push(Command::new(node.clone(), line));
        }
    }
}

#[cfg(test)]
mod tests;
