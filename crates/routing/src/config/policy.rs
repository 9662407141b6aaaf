//! A peer's routing policy: `[port.peer.import]`, `[port.peer.export]` and
//! `[port.peer.maximum_prefix]` (documented in `docs/config.md`), validated whole with the
//! `vty` crate's typed values, so whatever is accepted renders.
//!
//! Safe by default (RFC 8212): without `export.transit = true` a peer is sent only what this
//! port originates itself (its `networks`), never a route learned from another peer.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};
use vty::config::{
    Action, Afi, AsPathList, AsPathRegex, Community, LargeCommunity, MaxPrefixAction,
    MaximumPrefix, PolicyName, Prefix, PrefixEntry, PrefixList,
};

use super::ConfigError;

/// `[port.peer.maximum_prefix]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMaximumPrefix {
    pub limit: Option<i64>,
    pub warning_threshold: Option<i64>,
    pub action: Option<String>,
    pub restart_minutes: Option<i64>,
}

/// One `prefixes = [{ … }]` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPrefixEntry {
    pub action: Option<String>,
    pub prefix: Option<String>,
    pub ge: Option<i64>,
    pub le: Option<i64>,
}

/// `[port.peer.import]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawImport {
    #[serde(default)]
    pub prefixes: Vec<RawPrefixEntry>,
    pub default: Option<String>,
    pub local_preference: Option<i64>,
    #[serde(default)]
    pub communities: Vec<String>,
    #[serde(default)]
    pub large_communities: Vec<String>,
    #[serde(default)]
    pub replace_communities: bool,
    #[serde(default)]
    pub reject_as: Vec<String>,
}

/// `[port.peer.export]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawExport {
    #[serde(default)]
    pub transit: bool,
    #[serde(default)]
    pub prefixes: Vec<RawPrefixEntry>,
    pub default: Option<String>,
    pub med: Option<i64>,
    #[serde(default)]
    pub communities: Vec<String>,
    #[serde(default)]
    pub large_communities: Vec<String>,
    pub prepend: Option<i64>,
}

/// What a peer's routes get on import.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ImportPolicy {
    /// Prefix filter (`None`: every prefix is accepted).
    #[serde(skip)]
    pub filter: Option<PrefixList>,
    /// `set local-preference`.
    pub local_preference: Option<u32>,
    /// Standard communities set on every accepted route.
    #[serde(skip)]
    pub communities: Vec<Community>,
    /// Large communities set on every accepted route.
    #[serde(skip)]
    pub large_communities: Vec<LargeCommunity>,
    /// Replace the route's communities instead of adding to them.
    pub replace_communities: bool,
    /// Drop the routes whose AS path holds an AS number of these classes (`reject_as`),
    /// other than the peer's own AS.
    pub reject_as: BTreeSet<AsClass>,
}

impl ImportPolicy {
    /// Whether anything is configured (no route-map is rendered otherwise).
    pub fn is_empty(&self) -> bool {
        *self == ImportPolicy::default()
    }

    /// Whether a route from a peer in AS `peer_as` with AS path `path` (every AS number of
    /// it, sets and confederation segments included) is dropped by `reject_as`. Pure: the
    /// rendered [`ImportPolicy::rejected_paths`] list matches exactly these paths.
    pub fn rejects_path(&self, peer_as: u32, path: &[u32]) -> bool {
        path.iter()
            .any(|&a| a != peer_as && self.reject_as.iter().any(|c| c.contains(a)))
    }

    /// The AS-path list bgpd drops the routes of a peer in AS `peer_as` with (one entry per
    /// class), or `None` without `reject_as`. The peer's own AS is left out of every class:
    /// peering with an AS of private use is common (RFC 7938 data-centre fabrics, lab and
    /// enterprise providers), and its routes all carry that AS.
    pub fn rejected_paths(&self, peer_as: u32) -> Option<AsPathList> {
        let regexes = self.reject_as.iter().filter_map(|c| {
            let ranges: Vec<RangeInclusive<u32>> = c
                .ranges()
                .iter()
                .flat_map(|r| without(r, peer_as))
                .collect();
            AsPathRegex::containing(&ranges)
        });
        AsPathList::new(regexes)
    }
}

/// `r` without `asn`: zero, one or two ranges.
fn without(r: &RangeInclusive<u32>, asn: u32) -> Vec<RangeInclusive<u32>> {
    if !r.contains(&asn) {
        return vec![r.clone()];
    }
    let mut out = Vec::with_capacity(2);
    if let Some(below) = asn.checked_sub(1).filter(|b| *b >= *r.start()) {
        out.push(*r.start()..=below);
    }
    if let Some(above) = asn.checked_add(1).filter(|a| *a <= *r.end()) {
        out.push(above..=*r.end());
    }
    out
}

/// A class of AS numbers that `import.reject_as` drops routes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AsClass {
    /// Private use (RFC 6996): 64512–65534 and 4200000000–4294967294.
    Private,
    /// Reserved, never a real network's AS: 0 (RFC 7607), 23456 (AS_TRANS, RFC 6793),
    /// 64496–64511 and 65536–65551 (documentation, RFC 5398), 65535 and 4294967295 (last
    /// numbers, RFC 7300), 65552–131071 (reserved by IANA).
    Reserved,
}

impl AsClass {
    /// Every class, in the order of the documentation.
    pub const ALL: [AsClass; 2] = [AsClass::Private, AsClass::Reserved];

    /// The class's AS numbers.
    pub fn ranges(self) -> &'static [RangeInclusive<u32>] {
        match self {
            AsClass::Private => &[64512..=65534, 4_200_000_000..=4_294_967_294],
            AsClass::Reserved => &[
                0..=0,
                23456..=23456,
                64496..=64511,
                65535..=65535,
                65536..=65551,
                65552..=131_071,
                4_294_967_295..=4_294_967_295,
            ],
        }
    }

    /// Whether `asn` is of this class.
    pub fn contains(self, asn: u32) -> bool {
        self.ranges().iter().any(|r| r.contains(&asn))
    }

    /// The word in the configuration file.
    pub fn keyword(self) -> &'static str {
        match self {
            AsClass::Private => "private",
            AsClass::Reserved => "reserved",
        }
    }
}

/// What a peer is sent.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ExportPolicy {
    /// Also send routes learned from other peers (the port becomes a transit); off by default.
    pub transit: bool,
    /// Prefix filter (`None`: every prefix allowed by `transit`).
    #[serde(skip)]
    pub filter: Option<PrefixList>,
    /// `set metric` (MED).
    pub med: Option<u32>,
    /// Standard communities added to every route sent.
    #[serde(skip)]
    pub communities: Vec<Community>,
    /// Large communities added to every route sent.
    #[serde(skip)]
    pub large_communities: Vec<LargeCommunity>,
    /// How many times the local AS is prepended.
    pub prepend: Option<u8>,
}

impl ExportPolicy {
    /// Whether a route this port originates itself (a `networks` entry or an announcement)
    /// may be sent to the peer: the prefix filter decides (`transit` only concerns routes
    /// learned from other peers). Pure, for callers that ask before announcing.
    pub fn allows_local(&self, prefix: Prefix) -> bool {
        match &self.filter {
            None => true,
            Some(f) => f.permits(prefix),
        }
    }
}

impl super::PortConfig {
    /// The peers a route this port originates for `prefix` (a `networks` entry or an
    /// announcement) would be sent to: the peers of its family whose export filter permits
    /// it. Pure: an announcement API asks it before announcing (empty: announcing is useless).
    pub fn exported_to(&self, prefix: Prefix) -> Vec<IpAddr> {
        self.peers
            .iter()
            .filter(|p| p.address.is_ipv4() == prefix.addr().is_ipv4())
            .filter(|p| p.policy.export.allows_local(prefix))
            .map(|p| p.address)
            .collect()
    }
}

/// Names of a peer's prefix-lists and route-maps in bgpd, derived by
/// [`crate::plan::policy_names`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyNames {
    /// The import route-map and prefix-list.
    #[serde(serialize_with = "name_str")]
    pub import: PolicyName,
    /// The export route-map and prefix-list.
    #[serde(serialize_with = "name_str")]
    pub export: PolicyName,
    /// The port's AS-path list matching only routes it originates (shared by its peers).
    #[serde(serialize_with = "name_str")]
    pub own_routes: PolicyName,
}

fn name_str<S: serde::Serializer>(n: &PolicyName, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(n.as_str())
}

/// A peer's whole policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerPolicy {
    /// `[port.peer.import]`.
    pub import: ImportPolicy,
    /// `[port.peer.export]`.
    pub export: ExportPolicy,
    /// `[port.peer.maximum_prefix]`.
    #[serde(skip)]
    pub maximum_prefix: Option<MaximumPrefix>,
    /// Names in bgpd.
    pub names: PolicyNames,
}

/// Problems go here with their key paths.
type Errs = Vec<ConfigError>;

fn push(errs: &mut Errs, path: String, reason: impl Into<String>) {
    errs.push(ConfigError {
        path,
        reason: reason.into(),
    });
}

fn bounded(errs: &mut Errs, path: String, v: i64, min: i64, max: i64) -> Option<i64> {
    if v < min || v > max {
        push(errs, path, format!("{v} is outside {min}–{max}"));
        return None;
    }
    Some(v)
}

fn action(errs: &mut Errs, path: String, s: Option<&str>, default: Action) -> Action {
    match s {
        None => default,
        Some(s) => s.parse().unwrap_or_else(|e: vty::ConfigError| {
            push(errs, path, e.to_string());
            default
        }),
    }
}

/// Validates a peer's policy. `peer` is the peer's address (its family is the filters'),
/// `names` the derived names (already checked by the caller), `path` the peer's key path.
pub(crate) fn peer_policy(
    path: &str,
    peer: IpAddr,
    import: Option<&RawImport>,
    export: Option<&RawExport>,
    max: Option<&RawMaximumPrefix>,
    names: PolicyNames,
    errs: &mut Errs,
) -> Option<PeerPolicy> {
    let before = errs.len();
    let afi = if peer.is_ipv4() { Afi::Ipv4 } else { Afi::Ipv6 };
    let blank_i = RawImport::default();
    let blank_e = RawExport::default();
    let (ri, re) = (import.unwrap_or(&blank_i), export.unwrap_or(&blank_e));
    let ipath = format!("{path}.import");
    let epath = format!("{path}.export");
    let import = ImportPolicy {
        filter: filter(&ipath, afi, &ri.prefixes, ri.default.as_deref(), errs),
        local_preference: ri.local_preference.and_then(|v| {
            bounded(
                errs,
                format!("{ipath}.local_preference"),
                v,
                0,
                u32::MAX.into(),
            )
            .and_then(|v| u32::try_from(v).ok())
        }),
        communities: communities(&ipath, &ri.communities, errs),
        large_communities: large(&ipath, &ri.large_communities, errs),
        replace_communities: ri.replace_communities,
        reject_as: reject_as(&format!("{ipath}.reject_as"), &ri.reject_as, errs),
    };
    if import.replace_communities && ri.communities.is_empty() && ri.large_communities.is_empty() {
        push(
            errs,
            format!("{ipath}.replace_communities"),
            "needs `communities` or `large_communities` to replace with",
        );
    }
    let export = ExportPolicy {
        transit: re.transit,
        filter: filter(&epath, afi, &re.prefixes, re.default.as_deref(), errs),
        med: re.med.and_then(|v| {
            bounded(errs, format!("{epath}.med"), v, 0, u32::MAX.into())
                .and_then(|v| u32::try_from(v).ok())
        }),
        communities: communities(&epath, &re.communities, errs),
        large_communities: large(&epath, &re.large_communities, errs),
        prepend: re.prepend.and_then(|v| {
            let max = vty::config::RouteMapEntry::MAX_PREPEND.into();
            bounded(errs, format!("{epath}.prepend"), v, 1, max).and_then(|v| u8::try_from(v).ok())
        }),
    };
    let maximum_prefix =
        max.and_then(|m| maximum_prefix(&format!("{path}.maximum_prefix"), m, errs));
    if errs.len() != before {
        return None;
    }
    Some(PeerPolicy {
        import,
        export,
        maximum_prefix,
        names,
    })
}

fn filter(
    path: &str,
    afi: Afi,
    raw: &[RawPrefixEntry],
    default: Option<&str>,
    errs: &mut Errs,
) -> Option<PrefixList> {
    let default = action(errs, format!("{path}.default"), default, Action::Deny);
    if raw.is_empty() {
        return None;
    }
    let before = errs.len();
    let mut entries = Vec::with_capacity(raw.len());
    for (k, r) in raw.iter().enumerate() {
        let p = format!("{path}.prefixes[{k}]");
        let act = match r.action.as_deref() {
            None => {
                push(
                    errs,
                    format!("{p}.action"),
                    "is required (\"permit\" or \"deny\")",
                );
                continue;
            }
            Some(a) => action(errs, format!("{p}.action"), Some(a), Action::Deny),
        };
        let prefix = match r.prefix.as_deref().map(str::parse::<Prefix>) {
            None => {
                push(errs, format!("{p}.prefix"), "is required");
                continue;
            }
            Some(Err(e)) => {
                push(errs, format!("{p}.prefix"), e.to_string());
                continue;
            }
            Some(Ok(x)) => x,
        };
        if prefix.addr().is_ipv4() != (afi == Afi::Ipv4) {
            push(
                errs,
                format!("{p}.prefix"),
                format!(
                    "{prefix} is not an {} prefix, the family of this peer",
                    afi.keyword()
                ),
            );
            continue;
        }
        let bits: i64 = if afi == Afi::Ipv4 { 32 } else { 128 };
        let len = |key: &str, v: Option<i64>, errs: &mut Errs| -> Result<Option<u8>, ()> {
            match v {
                None => Ok(None),
                Some(v) => bounded(errs, format!("{p}.{key}"), v, 0, bits)
                    .and_then(|v| u8::try_from(v).ok())
                    .map(Some)
                    .ok_or(()),
            }
        };
        let (Ok(ge), Ok(le)) = (len("ge", r.ge, errs), len("le", r.le, errs)) else {
            continue;
        };
        match PrefixEntry::new(act, prefix, ge, le) {
            Ok(e) => entries.push(e),
            Err(_) => {
                let key = if ge.is_some_and(|g| g < prefix.prefix_len()) {
                    "ge"
                } else {
                    "le"
                };
                push(
                    errs,
                    format!("{p}.{key}"),
                    format!(
                        "{prefix}: lengths must satisfy prefix length ({}) <= ge <= le <= {bits}",
                        prefix.prefix_len()
                    ),
                );
            }
        }
    }
    if errs.len() != before {
        return None;
    }
    match PrefixList::new(afi, entries, default) {
        Ok(l) => Some(l),
        Err(vty::ConfigError::DuplicateEntry { index, first }) => {
            push(
                errs,
                format!("{path}.prefixes[{index}]"),
                format!("matches the same prefix and lengths as prefixes[{first}] (bgpd would ignore it)"),
            );
            None
        }
        Err(e) => {
            push(errs, format!("{path}.prefixes"), e.to_string());
            None
        }
    }
}

fn reject_as(path: &str, raw: &[String], errs: &mut Errs) -> BTreeSet<AsClass> {
    let mut out = BTreeSet::new();
    for (k, s) in raw.iter().enumerate() {
        let p = format!("{path}[{k}]");
        match AsClass::ALL.iter().find(|c| c.keyword() == s) {
            Some(c) if !out.insert(*c) => push(errs, p, format!("{s:?} is listed twice")),
            Some(_) => {}
            None if s == "own" => push(
                errs,
                p,
                "routes whose AS path holds local_as are always dropped (bgpd's loop \
                 detection, RFC 4271 9.1.2): leave \"own\" out",
            ),
            None => push(errs, p, format!("{s:?} is not \"private\" or \"reserved\"")),
        }
    }
    out
}

fn communities(path: &str, raw: &[String], errs: &mut Errs) -> Vec<Community> {
    parse_list(&format!("{path}.communities"), raw, errs)
}

fn large(path: &str, raw: &[String], errs: &mut Errs) -> Vec<LargeCommunity> {
    parse_list(&format!("{path}.large_communities"), raw, errs)
}

fn parse_list<T>(path: &str, raw: &[String], errs: &mut Errs) -> Vec<T>
where
    T: std::str::FromStr<Err = vty::ConfigError> + PartialEq,
{
    let mut out: Vec<T> = Vec::new();
    for (k, s) in raw.iter().enumerate() {
        match s.parse::<T>() {
            Ok(c) if out.contains(&c) => push(
                errs,
                format!("{path}[{k}]"),
                format!("{s:?} is listed twice"),
            ),
            Ok(c) => out.push(c),
            Err(e) => push(errs, format!("{path}[{k}]"), e.to_string()),
        }
    }
    out
}

fn maximum_prefix(path: &str, raw: &RawMaximumPrefix, errs: &mut Errs) -> Option<MaximumPrefix> {
    let before = errs.len();
    let limit = match raw.limit {
        None => {
            push(errs, format!("{path}.limit"), "is required");
            None
        }
        Some(v) => bounded(errs, format!("{path}.limit"), v, 1, u32::MAX.into())
            .and_then(|v| u32::try_from(v).ok()),
    };
    let threshold = raw.warning_threshold.and_then(|v| {
        bounded(errs, format!("{path}.warning_threshold"), v, 1, 100)
            .and_then(|v| u8::try_from(v).ok())
    });
    let restart = raw.restart_minutes.and_then(|v| {
        bounded(errs, format!("{path}.restart_minutes"), v, 1, 65535)
            .and_then(|v| u16::try_from(v).ok())
    });
    let act = match raw.action.as_deref() {
        None | Some("teardown") => MaxPrefixAction::TearDown(restart),
        Some("warn") => {
            if raw.restart_minutes.is_some() {
                push(
                    errs,
                    format!("{path}.restart_minutes"),
                    "only applies to action = \"teardown\"",
                );
            }
            MaxPrefixAction::Warn
        }
        Some(other) => {
            push(
                errs,
                format!("{path}.action"),
                format!("{other:?} is not \"warn\" or \"teardown\""),
            );
            MaxPrefixAction::Warn
        }
    };
    if errs.len() != before {
        return None;
    }
    match MaximumPrefix::new(limit?, threshold, act) {
        Ok(m) => Some(m),
        Err(e) => {
            push(errs, path.to_owned(), e.to_string());
            None
        }
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
