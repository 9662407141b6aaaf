//! The host's addresses, read with `netns`'s rtnetlink helpers, for the `vty_range` overlap check
//! (`check-config`, the controller's start and every reload). The check itself is
//! [`routing::config::check_vty_range_overlap`], a pure function of what is read here.

use routing::config::{check_vty_range_overlap, ConfigError, ControllerConfig, HostAddress};

/// Why the host's addresses could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HostAddrError {
    /// The configured host namespace could not be opened.
    #[error("cannot open the host namespace {name:?}: {source}")]
    Namespace {
        /// The namespace.
        name: String,
        /// Cause.
        source: netns::NetnsError,
    },
    /// The netlink dump failed.
    #[error("cannot read the host's addresses: {0}")]
    Netlink(netns::NetnsError),
}

/// Every address of the host side (`namespace`, or the caller's namespace), with the name of its
/// interface.
pub async fn host_addresses(namespace: Option<&str>) -> Result<Vec<HostAddress>, HostAddrError> {
    let ns = match namespace {
        None => None,
        Some(name) => {
            Some(
                netns::NetNs::open(name).map_err(|source| HostAddrError::Namespace {
                    name: name.to_string(),
                    source,
                })?,
            )
        }
    };
    let rtnl = netns::Rtnl::open(ns.as_ref())
        .await
        .map_err(HostAddrError::Netlink)?;
    let links = rtnl.links().await.map_err(HostAddrError::Netlink)?;
    let addrs = rtnl.addresses(None).await.map_err(HostAddrError::Netlink)?;
    Ok(addrs
        .into_iter()
        .map(|a| HostAddress {
            interface: links
                .iter()
                .find(|l| l.index == a.index)
                .map_or_else(|| format!("index {}", a.index), |l| l.name.clone()),
            network: a.network,
        })
        .collect())
}

/// The `vty_range` problems of `controller` on this host: overlaps with host addresses (named
/// with address and interface), or why the addresses could not be read (the range is not
/// accepted unchecked).
pub async fn vty_range_problems(controller: &ControllerConfig) -> Vec<ConfigError> {
    match host_addresses(controller.host_namespace.as_deref()).await {
        Ok(host) => check_vty_range_overlap(controller, &host),
        Err(e) => {
            let path = match &e {
                HostAddrError::Namespace { .. } => "controller.host_namespace",
                HostAddrError::Netlink(_) => "controller.vty_range",
            };
            vec![ConfigError {
                path: path.to_string(),
                reason: format!("{e} (needed to check vty_range for overlaps)"),
            }]
        }
    }
}
