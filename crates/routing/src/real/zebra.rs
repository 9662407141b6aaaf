//! The port's zebra server: tells bgpd about the datapath interface (real MAC, MTU and prefix
//! lengths — MidoNet hard-coded /4 and MTU 1300) and hands what bgpd installs to the port actor
//! a batch at a time, as [`ZebraEvent`]s wrapping the server's own route events.

use ipnetwork::IpNetwork;
use tracing::debug;

use crate::effects::{ContainerFacts, EffectError, PortPlan, Step, ZebraControl, ZebraFeed};
use crate::types::{RouteStats, ZebraEvent};

/// A running zebra server.
#[derive(Debug)]
pub struct RealZebra {
    server: zebra_server::ZebraServer,
}

impl RealZebra {
    /// The messages the server received, by command, and its decode errors.
    pub fn message_stats(&self) -> zebra_server::MessageStats {
        self.server.message_stats()
    }

    /// Stops the server (its socket file is removed).
    pub async fn stop(self) {
        self.server.shutdown().await;
    }
}

impl ZebraControl for RealZebra {
    fn route_stats(&self) -> RouteStats {
        self.server.route_stats()
    }
}

/// The server's event stream, read by the port actor itself (no relay task, no second channel).
#[derive(Debug)]
pub struct RealZebraEvents {
    rx: zebra_server::EventReceiver,
    scratch: Vec<zebra_server::ServerEvent>,
}

impl ZebraFeed for RealZebraEvents {
    async fn recv_batch(&mut self, out: &mut Vec<ZebraEvent>) -> usize {
        loop {
            // Cancel-safe: the receiver's recv_batch is, and nothing below awaits.
            if self.rx.recv_batch(&mut self.scratch).await == 0 {
                return 0;
            }
            let before = out.len();
            out.extend(self.scratch.drain(..).filter_map(map_event));
            if out.len() > before {
                return out.len() - before;
            }
        }
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

fn map_event(ev: zebra_server::ServerEvent) -> Option<ZebraEvent> {
    use zebra_server::ServerEvent;
    Some(match ev {
        ServerEvent::Route(route) => ZebraEvent::Route(route),
        ServerEvent::ClientHello { .. } => ZebraEvent::SessionUp,
        ServerEvent::AllClientsGone => ZebraEvent::SessionDown,
        ServerEvent::ClientGone { client, reason } => {
            debug!(%client, %reason, "zebra client gone");
            return None;
        }
        _ => return None,
    })
}

/// Starts the zebra server of `plan` on its socket, with the port's route cap.
pub async fn start(
    plan: &PortPlan,
    facts: &ContainerFacts,
    profile: zebra_server::Profile,
) -> Result<(RealZebra, RealZebraEvents), EffectError> {
    let name = &plan.port.name;
    let mut cfg = zebra_server::ServerConfig::new(plan.zebra_socket.clone());
    // The header cannot tell FRR 8.4 from 10.x: serve the version bgpd_path has.
    cfg.profile = Some(profile);
    cfg.interfaces = interfaces(facts);
    cfg.router_id = Some(plan.port.router_id);
    cfg.max_routes = plan.port.max_routes;
    // bgpd writes a route stream with far fewer system calls once its socket fills.
    cfg.read_coalesce = zebra_server::BGPD_READ_COALESCE;
    let (server, rx) = zebra_server::ZebraServer::start(cfg)
        .await
        .map_err(|e| EffectError::new(Step::Zebra, name, e))?;
    Ok((
        RealZebra { server },
        RealZebraEvents {
            rx,
            scratch: Vec::new(),
        },
    ))
}
