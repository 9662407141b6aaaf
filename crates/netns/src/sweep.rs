//! Removing what a crashed run left behind.

use crate::error::{NetnsError, Result};
use crate::ns::{kill_processes_in_async, list, NetNs};
use crate::rtnl::Rtnl;
use crate::spec::validate_prefix;

/// What [`sweep`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Namespaces deleted.
    pub namespaces: Vec<String>,
    /// Host-side links (veths and bridges) deleted.
    pub links: Vec<String>,
    /// Processes killed because they were still inside a swept namespace.
    pub killed_pids: Vec<u32>,
}

impl SweepReport {
    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty() && self.links.is_empty() && self.killed_pids.is_empty()
    }
}

/// Finds every namespace named `<prefix>-…` and every veth or bridge named `<prefix>-…` in the
/// host-side namespace `host_ns` (`None`: the current one) and removes them, killing the
/// processes still inside the namespaces first. Links of other kinds with our prefix are not
/// ours and are left alone; so is `host_ns` itself if its name matches.
///
/// Meant for start-up, before this process builds containers with the same prefix: it removes
/// live containers too.
pub async fn sweep(prefix: &str, host_ns: Option<&NetNs>) -> Result<SweepReport> {
    validate_prefix(prefix)?;
    let pattern = format!("{prefix}-");
    let mut report = SweepReport::default();

    let namespaces: Vec<String> = list()?
        .into_iter()
        .filter(|n| n.starts_with(&pattern) && host_ns.is_none_or(|h| h.name() != n))
        .collect();
    for name in &namespaces {
        match NetNs::open(name) {
            Ok(ns) => report
                .killed_pids
                .extend(kill_processes_in_async(&ns).await?),
            // A stale file (crash between create and mount) or a vanished namespace: just
            // remove the name below.
            Err(NetnsError::NotANamespace { .. }) | Err(NetnsError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }

    let host = Rtnl::open(host_ns).await?;
    let mut doomed = Vec::new();
    for link in host.links().await? {
        let ours = matches!(link.kind.as_deref(), Some("veth") | Some("bridge"));
        if ours && link.name.starts_with(&pattern) {
            doomed.push(link);
        }
    }
    let indexes: Vec<u32> = doomed.iter().map(|l| l.index).collect();
    host.delete_links(&indexes).await?;
    // Report what is really gone (a link may have vanished meanwhile on its own).
    for link in doomed {
        if host.link_by_index(link.index).await?.is_none() {
            report.links.push(link.name);
        }
    }

    for name in namespaces {
        crate::ns::delete(&name)?;
        report.namespaces.push(name);
    }
    Ok(report)
}
