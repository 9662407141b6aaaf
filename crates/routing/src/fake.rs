//! In-memory [`Effects`] for tests and examples: records every side effect and Vty command, lets
//! the caller inject zebra and bgpd events, and fails steps on request.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;

use crate::config::ControllerConfig;
use crate::effects::{
    BgpdControl, ContainerFacts, EffectError, Effects, PortPlan, Step, VtySession, ZebraControl,
};
use crate::types::{PeerStatus, RouteChange, RouteStats, ZebraEvent};
use bgpd::{BgpdEvent, ExitInfo};

#[derive(Debug, Default)]
struct State {
    log: Vec<String>,
    applied: BTreeMap<String, Vec<Vec<vty::Command>>>,
    zebra_tx: BTreeMap<String, mpsc::Sender<ZebraEvent>>,
    zebra_stats: BTreeMap<String, Arc<Mutex<FakeZebraTable>>>,
    bgpd_tx: BTreeMap<String, mpsc::Sender<BgpdEvent>>,
    bgpd_pids: BTreeMap<String, Arc<AtomicU32>>,
    containers: BTreeSet<String>,
    flows: BTreeMap<String, Vec<IpAddr>>,
    fail: BTreeMap<String, u32>,
    reject: Option<String>,
    peers: Vec<PeerStatus>,
    next_pid: u32,
    /// Files the real effects would create, by path (zebra socket, pid file, bgpd config).
    files: BTreeSet<std::path::PathBuf>,
    /// How often a peer status was read.
    peer_reads: u64,
}

/// Fake side effects (see the module documentation). Clones share state. Flows are computed
/// with [`datapath::bgp_flows`] and installed in a [`datapath::MemoryDatapath`], so tests can
/// check which packets are steered to bgpd.
#[derive(Debug, Clone, Default)]
pub struct FakeEffects {
    state: Arc<Mutex<State>>,
    datapath: Arc<datapath::MemoryDatapath>,
}

fn step_key(step: Step) -> String {
    step.to_string()
}

impl FakeEffects {
    /// Fresh fake.
    pub fn new() -> FakeEffects {
        FakeEffects::default()
    }

    fn st(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, s: String) {
        self.st().log.push(s);
    }

    fn maybe_fail(&self, step: Step, port: &str) -> Result<(), EffectError> {
        let mut st = self.st();
        let key = step_key(step);
        if let Some(n) = st.fail.get_mut(&key) {
            if *n > 0 {
                *n -= 1;
                st.log.push(format!("{key} {port} FAILED"));
                return Err(EffectError::new(
                    step,
                    port,
                    format!("injected {key} failure"),
                ));
            }
        }
        Ok(())
    }

    /// Every side effect so far, e.g. `"container p1"`, `"flows p1 [192.0.2.2]"`.
    pub fn log(&self) -> Vec<String> {
        self.st().log.clone()
    }

    /// Every successfully applied batch of typed commands of `port`, oldest first.
    pub fn applied(&self, port: &str) -> Vec<Vec<vty::Command>> {
        self.st().applied.get(port).cloned().unwrap_or_default()
    }

    /// The same batches as the command lines the Vty session renders (node navigation
    /// included, without `configure terminal` / `end`).
    pub fn applied_lines(&self, port: &str) -> Vec<Vec<String>> {
        self.applied(port)
            .iter()
            .map(|b| vty::render_lines(b))
            .collect()
    }

    /// Makes the next `n` calls of `step` fail.
    pub fn fail_next(&self, step: Step, n: u32) {
        self.st().fail.insert(step_key(step), n);
    }

    /// Makes bgpd reject any command containing `needle` (`None`: accept all).
    pub fn reject_commands_containing(&self, needle: Option<&str>) {
        self.st().reject = needle.map(str::to_string);
    }

    /// Peer states the fake Vty reports.
    pub fn set_peers(&self, peers: Vec<PeerStatus>) {
        self.st().peers = peers;
    }

    /// Containers currently built.
    pub fn containers(&self) -> BTreeSet<String> {
        self.st().containers.clone()
    }

    /// Files that exist as the real effects would have left them (zebra sockets, pid files,
    /// bgpd configs), keyed by path exactly as the real ones are.
    pub fn files(&self) -> BTreeSet<std::path::PathBuf> {
        self.st().files.clone()
    }

    /// How many times a port's peer status was read (any port).
    pub fn peer_reads(&self) -> u64 {
        self.st().peer_reads
    }

    /// The in-memory datapath holding every port's flows (group = the port's namespace name).
    pub fn datapath(&self) -> &datapath::MemoryDatapath {
        &self.datapath
    }

    /// Peers the flows of `port` currently allow, if installed.
    pub fn flows(&self, port: &str) -> Option<Vec<IpAddr>> {
        self.st().flows.get(port).cloned()
    }

    /// Sends a zebra event to `port`'s actor, counting it as the zebra server would (a route
    /// change it would drop as a repeat is still sent); false if it has no zebra server.
    pub async fn zebra(&self, port: &str, ev: ZebraEvent) -> bool {
        let (tx, table) = {
            let st = self.st();
            (
                st.zebra_tx.get(port).cloned(),
                st.zebra_stats.get(port).cloned(),
            )
        };
        if let Some(table) = table {
            let mut t = table.lock().unwrap_or_else(|p| p.into_inner());
            t.count(&ev);
        }
        match tx {
            Some(tx) => tx.send(ev).await.is_ok(),
            None => false,
        }
    }

    /// Simulates a bgpd crash and automatic restart (Exited, Restarting, Ready with a new pid).
    pub async fn crash_bgpd(&self, port: &str) -> bool {
        let (tx, pid) = {
            let mut st = self.st();
            st.next_pid += 1;
            let pid = 1000 + st.next_pid;
            if let Some(p) = st.bgpd_pids.get(port) {
                p.store(pid, Ordering::SeqCst);
            }
            (st.bgpd_tx.get(port).cloned(), pid)
        };
        let Some(tx) = tx else { return false };
        let evs = [
            BgpdEvent::Exited {
                status: ExitInfo::Signal {
                    signal: 9,
                    core_dumped: false,
                },
            },
            BgpdEvent::Restarting {
                attempt: 1,
                delay: std::time::Duration::from_millis(10),
            },
            BgpdEvent::Ready { pid },
        ];
        for ev in evs {
            if tx.send(ev).await.is_err() {
                return false;
            }
        }
        true
    }

    /// Sends a bgpd supervisor event to `port`'s actor.
    pub async fn bgpd(&self, port: &str, ev: BgpdEvent) -> bool {
        let tx = self.st().bgpd_tx.get(port).cloned();
        match tx {
            Some(tx) => tx.send(ev).await.is_ok(),
            None => false,
        }
    }
}

/// The fake bgpd handle.
#[derive(Debug)]
pub struct FakeBgpd {
    pid: Arc<AtomicU32>,
    restarts: Arc<AtomicU32>,
}

impl BgpdControl for FakeBgpd {
    fn pid(&self) -> Option<u32> {
        Some(self.pid.load(Ordering::SeqCst))
    }
    fn restarts(&self) -> u32 {
        self.restarts.load(Ordering::SeqCst)
    }
}

/// The fake Vty session.
#[derive(Debug)]
pub struct FakeVty {
    fx: FakeEffects,
    port: String,
}

impl VtySession for FakeVty {
    async fn apply(&mut self, commands: &[vty::Command]) -> Result<(), EffectError> {
        let mut st = self.fx.st();
        if let Some(needle) = &st.reject {
            if let Some(bad) = commands.iter().find(|c| c.line().contains(needle.as_str())) {
                let bad = bad.line();
                return Err(EffectError::new(
                    Step::Vty,
                    &self.port,
                    format!("bgpd rejected {bad:?}"),
                )
                .rejected());
            }
        }
        st.applied
            .entry(self.port.clone())
            .or_default()
            .push(commands.to_vec());
        Ok(())
    }

    async fn read_peers(&mut self) -> Result<Vec<PeerStatus>, EffectError> {
        let mut st = self.fx.st();
        st.peer_reads += 1;
        Ok(st.peers.clone())
    }

    async fn close(self) {}
}

/// The fake zebra server's table: the prefixes it holds and its counters.
#[derive(Debug, Default)]
struct FakeZebraTable {
    prefixes: BTreeSet<ipnetwork::IpNetwork>,
    stats: RouteStats,
    /// What a real server would have received: one message per event fed to it.
    messages: zebra_server::MessageStats,
}

impl FakeZebraTable {
    fn count(&mut self, ev: &ZebraEvent) {
        // The message a real bgpd would have sent for this event (a session ending is the
        // connection closing, no message).
        let command = match ev {
            ZebraEvent::SessionUp => Some("HELLO"),
            ZebraEvent::Route(RouteChange::Replace { .. }) => Some("ROUTE_ADD"),
            ZebraEvent::Route(RouteChange::Withdraw { .. }) => Some("ROUTE_DELETE"),
            _ => None,
        };
        if let Some(c) = command {
            *self.messages.by_command.entry(c).or_insert(0) += 1;
        }
        match ev {
            ZebraEvent::Route(RouteChange::Replace { prefix, .. }) => {
                self.stats.received += 1;
                self.prefixes.insert(*prefix);
            }
            ZebraEvent::Route(RouteChange::Withdraw { prefix }) => {
                self.stats.deletes += 1;
                self.prefixes.remove(prefix);
            }
            ZebraEvent::SessionDown => self.prefixes.clear(),
            _ => {}
        }
        self.stats.held = self.prefixes.len() as u64;
    }
}

/// The fake's zebra server handle.
#[derive(Debug)]
pub struct FakeZebra {
    port: String,
    table: Arc<Mutex<FakeZebraTable>>,
}

impl ZebraControl for FakeZebra {
    fn route_stats(&self) -> RouteStats {
        let t = self.table.lock().unwrap_or_else(|p| p.into_inner());
        t.stats.clone()
    }
}

impl Effects for FakeEffects {
    type Container = String;
    type Zebra = FakeZebra;
    type ZebraEvents = mpsc::Receiver<ZebraEvent>;
    type Bgpd = FakeBgpd;
    type Vty = FakeVty;

    async fn sweep(
        &self,
        controller: &ControllerConfig,
        _ports: &[String],
    ) -> Result<Vec<String>, EffectError> {
        self.maybe_fail(Step::Sweep, "*")?;
        let prefix = format!("{}-", controller.prefix);
        let mut st = self.st();
        let gone: Vec<String> = st
            .containers
            .iter()
            .filter(|c| c.starts_with(&prefix))
            .cloned()
            .collect();
        for g in &gone {
            st.containers.remove(g);
        }
        st.log.push(format!("sweep {gone:?}"));
        Ok(gone)
    }

    async fn create_container(
        &self,
        plan: &PortPlan,
    ) -> Result<(String, ContainerFacts), EffectError> {
        self.maybe_fail(Step::Container, &plan.port.name)?;
        self.record(format!("container {}", plan.port.name));
        self.st().containers.insert(plan.namespace.clone());
        Ok((
            plan.namespace.clone(),
            ContainerFacts {
                namespace: plan.namespace.clone(),
                datapath_host: plan.links.datapath_host.clone(),
                datapath_inside: plan.links.datapath_inside.clone(),
                datapath_inside_ifindex: 2,
                mac: Some(plan.mac()),
                mtu: plan.port.mtu,
                addresses: plan.port.addresses(),
                vty_addr: plan.vty_addr(),
            },
        ))
    }

    async fn destroy_container(
        &self,
        plan: &PortPlan,
        _container: Option<String>,
    ) -> Result<(), EffectError> {
        self.record(format!("destroy {}", plan.port.name));
        let mut st = self.st();
        st.containers.remove(&plan.namespace);
        // Like the real effects: the plan's files go with the container.
        for f in [&plan.zebra_socket, &plan.pid_file, &plan.bgpd_config] {
            st.files.remove(f);
        }
        Ok(())
    }

    async fn start_zebra(
        &self,
        plan: &PortPlan,
        _facts: &ContainerFacts,
    ) -> Result<(FakeZebra, mpsc::Receiver<ZebraEvent>), EffectError> {
        self.maybe_fail(Step::Zebra, &plan.port.name)?;
        self.record(format!("zebra {}", plan.port.name));
        self.st().files.insert(plan.zebra_socket.clone());
        let (tx, rx) = mpsc::channel(1024);
        let table = Arc::new(Mutex::new(FakeZebraTable {
            stats: RouteStats {
                limit: plan.port.max_routes as u64,
                ..RouteStats::default()
            },
            ..FakeZebraTable::default()
        }));
        let mut st = self.st();
        st.zebra_tx.insert(plan.port.name.clone(), tx);
        st.zebra_stats.insert(plan.port.name.clone(), table.clone());
        Ok((
            FakeZebra {
                port: plan.port.name.clone(),
                table,
            },
            rx,
        ))
    }

    async fn stop_zebra(&self, zebra: FakeZebra) {
        self.record(format!("stop zebra {}", zebra.port));
        let mut st = self.st();
        st.zebra_tx.remove(&zebra.port);
        st.zebra_stats.remove(&zebra.port);
    }

    fn zebra_messages(&self, zebra: &FakeZebra) -> zebra_server::MessageStats {
        let t = zebra.table.lock().unwrap_or_else(|p| p.into_inner());
        t.messages.clone()
    }

    async fn install_flows(
        &self,
        plan: &PortPlan,
        facts: &ContainerFacts,
    ) -> Result<(), EffectError> {
        self.maybe_fail(Step::Flows, &plan.port.name)?;
        let peers = plan.port.peer_addresses();
        let local: Vec<IpAddr> = plan.port.addresses().iter().map(|a| a.ip()).collect();
        let flows = datapath::bgp_flows(&plan.port.uplink, &facts.datapath_host, &local, &peers);
        self.datapath
            .install_sync(&plan.namespace, &flows)
            .map_err(|e| EffectError::new(Step::Flows, &plan.port.name, e))?;
        self.record(format!("flows {} {:?}", plan.port.name, peers));
        self.st().flows.insert(plan.port.name.clone(), peers);
        Ok(())
    }

    async fn remove_flows(&self, plan: &PortPlan) -> Result<(), EffectError> {
        self.record(format!("remove flows {}", plan.port.name));
        self.st().flows.remove(&plan.port.name);
        self.datapath
            .install_sync(&plan.namespace, &[])
            .map_err(|e| EffectError::new(Step::Flows, &plan.port.name, e))?;
        Ok(())
    }

    async fn flow_counters(
        &self,
        plan: &PortPlan,
    ) -> Result<Vec<datapath::FlowStats>, EffectError> {
        use datapath::Datapath;
        self.datapath
            .counters(&plan.namespace)
            .await
            .map_err(|e| EffectError::new(Step::Flows, &plan.port.name, e))
    }

    async fn start_bgpd(
        &self,
        plan: &PortPlan,
        _facts: &ContainerFacts,
    ) -> Result<(FakeBgpd, mpsc::Receiver<BgpdEvent>), EffectError> {
        self.maybe_fail(Step::Bgpd, &plan.port.name)?;
        let (tx, rx) = mpsc::channel(64);
        let pid = {
            let mut st = self.st();
            st.next_pid += 1;
            1000 + st.next_pid
        };
        self.record(format!("bgpd {} pid {pid}", plan.port.name));
        let pid_cell = Arc::new(AtomicU32::new(pid));
        {
            let mut st = self.st();
            st.bgpd_tx.insert(plan.port.name.clone(), tx.clone());
            st.bgpd_pids
                .insert(plan.port.name.clone(), pid_cell.clone());
            st.files.insert(plan.pid_file.clone());
            st.files.insert(plan.bgpd_config.clone());
        }
        let _ = tx.send(BgpdEvent::Starting).await;
        let _ = tx.send(BgpdEvent::Ready { pid }).await;
        Ok((
            FakeBgpd {
                pid: pid_cell,
                restarts: Arc::new(AtomicU32::new(0)),
            },
            rx,
        ))
    }

    async fn stop_bgpd(&self, bgpd: FakeBgpd) {
        self.record(format!("stop bgpd pid {}", bgpd.pid.load(Ordering::SeqCst)));
    }

    async fn connect_vty(
        &self,
        plan: &PortPlan,
        _facts: &ContainerFacts,
    ) -> Result<FakeVty, EffectError> {
        self.maybe_fail(Step::Vty, &plan.port.name)?;
        self.record(format!("vty {}", plan.port.name));
        Ok(FakeVty {
            fx: self.clone(),
            port: plan.port.name.clone(),
        })
    }
}
