//! The port's zebra server: tells bgpd about the datapath interface (real MAC, MTU and prefix
//! lengths — MidoNet hard-coded /4 and MTU 1300) and turns what bgpd installs into
//! [`ZebraEvent`]s.

use ipnetwork::IpNetwork;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::effects::{ContainerFacts, EffectError, PortPlan, Step};
use crate::types::{RoutePath, ZebraEvent};

/// A running zebra server and the task translating its events.
#[derive(Debug)]
pub struct RealZebra {
    server: zebra_server::ZebraServer,
    forward: tokio::task::JoinHandle<()>,
}

impl RealZebra {
    /// The messages the server received, by command, and its decode errors.
    pub fn message_stats(&self) -> zebra_server::MessageStats {
        self.server.message_stats()
    }

    /// Stops the server (its socket file is removed).
    pub async fn stop(self) {
        self.forward.abort();
        self.server.shutdown().await;
    }
}

/// The interfaces bgpd is told about: `lo` and the datapath link with its real addresses.
pub fn interfaces(facts: &ContainerFacts) -> Vec<zebra_server::Interface> {
    let mac = facts.mac.map(|m| m.0).unwrap_or([0; 6]);
    let lo_addrs: Vec<IpNetwork> = IpNetwork::new(std::net::Ipv4Addr::LOCALHOST.into(), 8)
        .into_iter()
        .collect();
    let lo = zebra_server::Interface::loopback(1, lo_addrs);
    let dp = zebra_server::Interface::ethernet(
        &facts.datapath_inside,
        facts.datapath_inside_ifindex,
        mac,
        facts.mtu,
        facts.addresses.clone(),
    );
    vec![lo, dp]
}

fn map_path(p: &zebra_server::RoutePath) -> RoutePath {
    RoutePath {
        gateway: p.gateway,
        ifindex: p.ifindex,
        distance: p.distance,
        metric: p.metric,
    }
}

fn map_event(ev: zebra_server::ServerEvent) -> Option<ZebraEvent> {
    use zebra_server::{RouteEvent, ServerEvent};
    Some(match ev {
        ServerEvent::Route(RouteEvent::Replace { prefix, paths }) => ZebraEvent::Replace {
            prefix,
            paths: paths.iter().map(map_path).collect(),
        },
        ServerEvent::Route(RouteEvent::Withdraw { prefix }) => ZebraEvent::Withdraw { prefix },
        ServerEvent::ClientHello { .. } => ZebraEvent::SessionUp,
        ServerEvent::AllClientsGone => ZebraEvent::SessionDown,
        ServerEvent::ClientGone { client, reason } => {
            debug!(%client, %reason, "zebra client gone");
            return None;
        }
        _ => return None,
    })
}

/// Starts the zebra server of `plan` on its socket.
pub async fn start(
    plan: &PortPlan,
    facts: &ContainerFacts,
    profile: zebra_server::Profile,
) -> Result<(RealZebra, mpsc::Receiver<ZebraEvent>), EffectError> {
    let name = &plan.port.name;
    let mut cfg = zebra_server::ServerConfig::new(plan.zebra_socket.clone());
    // The header cannot tell FRR 8.4 from 10.x: serve the version bgpd_path has.
    cfg.profile = Some(profile);
    cfg.interfaces = interfaces(facts);
    cfg.router_id = Some(plan.port.router_id);
    // No cap on learned routes (MidoNet kept 200 per port).
    cfg.max_routes = usize::MAX;
    let (server, mut rx) = zebra_server::ZebraServer::start(cfg)
        .await
        .map_err(|e| EffectError::new(Step::Zebra, name, e))?;
    let (tx, out) = mpsc::channel(4096);
    let port = name.clone();
    let forward = tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            if let Some(ev) = map_event(ev) {
                if tx.send(ev).await.is_err() {
                    return;
                }
            }
        }
        warn!(%port, "zebra server event stream ended");
    });
    Ok((RealZebra { server, forward }, out))
}
