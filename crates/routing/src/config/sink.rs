//! `[sink]` and `[port.sink]`: where learned routes go.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// Largest reconciliation grace accepted, seconds.
pub const MAX_RECONCILE_SECS: u64 = 3600;
/// Default reconciliation grace, seconds: how long routes found in the FIB at start stay
/// without being re-learned.
pub const DEFAULT_RECONCILE_SECS: u64 = 120;
/// Default route metric of the kernel sink.
pub const DEFAULT_SINK_METRIC: u32 = 20;
/// `RT_TABLE_LOCAL`: the kernel's own table, never ours.
const TABLE_LOCAL: u32 = 255;

/// What receives a port's learned routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SinkKind {
    /// Kept in the controller only (`routes`, `status`, the route stream).
    None,
    /// Also installed into a Linux routing table.
    Kernel,
}

/// A validated `[sink]` / `[port.sink]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SinkConfig {
    /// What receives the routes.
    pub kind: SinkKind,
    /// Routing table id (1–4294967295 except 255, `local`; 254 is `main`).
    pub table: u32,
    /// Namespace of the table; `None` is the controller's host namespace
    /// (`controller.host_namespace`, else the process's own).
    pub namespace: Option<String>,
    /// Metric of our routes.
    pub metric: u32,
    /// How long routes found in the table at start (left by an earlier run) are kept without
    /// being re-learned before they are removed.
    pub reconcile: Duration,
    /// Write single-path routes with kernel nexthop objects shared by every route through the
    /// same next hop (`nhid` in `ip route`; see `fib::objects`); `false`: each route carries its
    /// own next hop. The table's first port decides for its writer.
    pub nexthop_objects: bool,
}

impl Default for SinkConfig {
    fn default() -> SinkConfig {
        SinkConfig {
            kind: SinkKind::None,
            table: 254,
            namespace: None,
            metric: DEFAULT_SINK_METRIC,
            reconcile: Duration::from_secs(DEFAULT_RECONCILE_SECS),
            nexthop_objects: true,
        }
    }
}

impl SinkConfig {
    /// Whether routes go to a kernel table.
    pub fn is_kernel(&self) -> bool {
        self.kind == SinkKind::Kernel
    }

    /// The namespace of the table, with `host_namespace` (from `[controller]`) as the default.
    pub fn effective_namespace<'a>(&'a self, host_namespace: Option<&'a str>) -> Option<&'a str> {
        self.namespace.as_deref().or(host_namespace)
    }

    /// Checks what the file alone cannot tell: the namespace exists. `key` is the key path for
    /// the error.
    pub fn check_environment(
        &self,
        key: &str,
        host_namespace: Option<&str>,
    ) -> Result<(), ConfigError> {
        if !self.is_kernel() {
            return Ok(());
        }
        if let Some(ns) = self.effective_namespace(host_namespace) {
            let path = std::path::Path::new(netns::NETNS_RUN_DIR).join(ns);
            if !path.exists() {
                return Err(ConfigError {
                    path: format!("{key}.namespace"),
                    reason: format!("namespace {ns:?} does not exist ({})", path.display()),
                });
            }
        }
        Ok(())
    }
}

/// `[sink]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSink {
    pub kind: Option<String>,
    pub table: Option<i64>,
    pub namespace: Option<String>,
    pub metric: Option<i64>,
    pub reconcile_secs: Option<i64>,
    pub nexthop_objects: Option<bool>,
}

/// Validates `raw` at key path `key`, with `base` (the `[sink]` section, for a port's) giving
/// the values not set.
pub(crate) fn sink(
    key: &str,
    raw: &RawSink,
    base: &SinkConfig,
    errors: &mut Vec<ConfigError>,
) -> SinkConfig {
    let mut out = base.clone();
    let mut err = |field: &str, reason: String| {
        errors.push(ConfigError {
            path: format!("{key}.{field}"),
            reason,
        })
    };
    match raw.kind.as_deref() {
        None => {}
        Some("kernel") => out.kind = SinkKind::Kernel,
        Some("none") => out.kind = SinkKind::None,
        Some(other) => err("kind", format!("{other:?} is not \"kernel\" or \"none\"")),
    }
    if let Some(t) = raw.table {
        match u32::try_from(t) {
            Ok(0) | Err(_) => err(
                "table",
                format!("{t} is not a routing table id (1–4294967295)"),
            ),
            Ok(TABLE_LOCAL) => err(
                "table",
                "255 is the kernel's local table; pick another".to_string(),
            ),
            Ok(t) => out.table = t,
        }
    }
    if let Some(ns) = &raw.namespace {
        match netns::validate_ns_name(ns) {
            Ok(()) => out.namespace = Some(ns.clone()),
            Err(e) => err("namespace", e.to_string()),
        }
    }
    if let Some(m) = raw.metric {
        match u32::try_from(m) {
            Ok(m) => out.metric = m,
            Err(_) => err("metric", format!("{m} is not 0–4294967295")),
        }
    }
    if let Some(s) = raw.reconcile_secs {
        match u64::try_from(s) {
            Ok(s) if s <= MAX_RECONCILE_SECS => out.reconcile = Duration::from_secs(s),
            _ => err(
                "reconcile_secs",
                format!("{s} is not 0–{MAX_RECONCILE_SECS} seconds"),
            ),
        }
    }
    if let Some(b) = raw.nexthop_objects {
        out.nexthop_objects = b;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (SinkConfig, Vec<ConfigError>) {
        let raw: RawSink = toml::from_str(text).unwrap();
        let mut errors = Vec::new();
        let s = sink("sink", &raw, &SinkConfig::default(), &mut errors);
        (s, errors)
    }

    #[test]
    fn defaults_and_values() {
        let (s, e) = parse("");
        assert!(e.is_empty());
        assert_eq!(s, SinkConfig::default());
        assert!(!s.is_kernel());
        let (s, e) = parse(
            "kind = \"kernel\"\ntable = 100\nnamespace = \"mnb-fib\"\nmetric = 7\nreconcile_secs = 5",
        );
        assert!(e.is_empty(), "{e:?}");
        assert!(s.is_kernel());
        assert_eq!(s.table, 100);
        assert_eq!(s.namespace.as_deref(), Some("mnb-fib"));
        assert_eq!(s.metric, 7);
        assert_eq!(s.reconcile, Duration::from_secs(5));
        assert!(s.nexthop_objects);
        assert_eq!(s.effective_namespace(Some("host")), Some("mnb-fib"));
        let (s, e) = parse("kind = \"kernel\"\nnexthop_objects = false");
        assert!(e.is_empty(), "{e:?}");
        assert!(!s.nexthop_objects);
    }

    #[test]
    fn every_bad_value_is_named() {
        let (_, e) = parse(
            "kind = \"fib\"\ntable = 0\nnamespace = \"a/b\"\nmetric = -1\nreconcile_secs = 99999",
        );
        let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "sink.kind",
                "sink.table",
                "sink.namespace",
                "sink.metric",
                "sink.reconcile_secs"
            ]
        );
        let (_, e) = parse("table = 255");
        assert!(e[0].reason.contains("local"));
        let (_, e) = parse("table = 4294967296");
        assert_eq!(e[0].path, "sink.table");
        let (s, e) = parse("table = 4294967295");
        assert!(e.is_empty());
        assert_eq!(s.table, u32::MAX);
    }

    #[test]
    fn a_missing_namespace_is_found_by_the_environment_check() {
        let (s, _) = parse("kind = \"kernel\"\nnamespace = \"mnb-surely-absent-ns\"");
        let e = s.check_environment("sink", None).unwrap_err();
        assert_eq!(e.path, "sink.namespace");
        let none = SinkConfig::default();
        assert!(none.check_environment("sink", Some("absent")).is_ok());
        // The host namespace default applies when the sink names none.
        let (k, _) = parse("kind = \"kernel\"");
        assert!(k.check_environment("sink", None).is_ok());
        assert!(k
            .check_environment("sink", Some("mnb-surely-absent-ns"))
            .is_err());
    }
}
