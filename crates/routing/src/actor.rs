//! One actor per BGP port: it owns the port's container, zebra server, flows, bgpd and Vty
//! session, follows configuration changes, keeps bgpd configured across restarts and forwards
//! learned routes to the [`RouteSink`] a batch at a time. It keeps no route itself: the zebra
//! server keeps a fingerprint per prefix, the sink keeps the routes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ipnetwork::IpNetwork;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep_until, Instant};
use tracing::{debug, info, warn};

use bgpd::BgpdEvent;

use crate::announce::{AnnounceError, Announcement};
use crate::bgpconf::BgpdSettings;
use crate::effects::{
    BgpdControl, ContainerFacts, Effects, PortPlan, VtySession, ZebraControl, ZebraFeed,
};
use crate::metrics::PortCounters;
use crate::sink::RouteSink;
use crate::types::{
    PeerStatus, PortPhase, PortStatus, RouteChange, RouteCounts, RouteStats, ZebraEvent,
};

/// Requests to a port actor.
pub(crate) enum PortCommand {
    /// Follow a new plan (same port name).
    Update(Box<PortPlan>),
    /// Report status.
    Status(oneshot::Sender<PortStatus>),
    /// Tear everything down and end.
    Shutdown(oneshot::Sender<()>),
    /// Announce a prefix at run time (see [`crate::announce`]).
    Announce(Announcement, oneshot::Sender<Result<(), AnnounceError>>),
    /// Withdraw a runtime announcement; answers what was announced.
    Withdraw(
        IpNetwork,
        oneshot::Sender<Result<Announcement, AnnounceError>>,
    ),
}

/// The built parts of a port.
struct Built<E: Effects> {
    container: Option<E::Container>,
    facts: ContainerFacts,
    zebra: Option<E::Zebra>,
    bgpd: Option<E::Bgpd>,
}

/// The port actor's state.
pub(crate) struct PortActor<E: Effects> {
    env: Arc<E>,
    sink: Arc<dyn RouteSink>,
    plan: PortPlan,
    /// Runtime announcements, kept across bgpd restarts, reloads and rebuilds.
    announced: BTreeMap<IpNetwork, Announcement>,
    desired: BgpdSettings,
    /// Whether bgpd's next start is a restart (forwarding state survives from an earlier bgpd of
    /// this port): only then is `preserve-fw-state` configured (see
    /// [`BgpdSettings::first_start`]).
    restarting: bool,
    /// Whether a bgpd of this port was ready before (a later `Ready` is a restart).
    bgpd_was_ready: bool,
    built: Option<Built<E>>,
    zebra_rx: Option<E::ZebraEvents>,
    /// The zebra events being handled (kept for its capacity).
    zebra_batch: Vec<ZebraEvent>,
    /// Route changes collected from `zebra_batch` for one sink call.
    changes: Vec<RouteChange>,
    /// Whether the sink may hold routes of this port (a withdrawal of all is owed when it goes).
    sink_has_routes: bool,
    /// The counters of the last zebra server, kept when it stops.
    last_stats: RouteStats,
    bgpd_rx: Option<mpsc::Receiver<BgpdEvent>>,
    vty: Option<E::Vty>,
    /// What the running bgpd has; `None` after a (re)start until the bootstrap succeeds.
    applied: Option<BgpdSettings>,
    /// Pid of the bgpd that reported Ready (so its Vty can be reached).
    ready_pid: Option<u32>,
    peers: Vec<PeerStatus>,
    phase: PortPhase,
    last_error: Option<String>,
    zebra_connected: bool,
    port_restarts: u32,
    bgpd_restarts_before: u32,
    retry_at: Option<Instant>,
    backoff: Duration,
    counters: PortCounters,
}

async fn recv_opt<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The bgpd settings of `plan` with `announced`, for a first start or a restart (see
/// [`BgpdSettings::first_start`]).
fn settings(
    plan: &PortPlan,
    announced: &BTreeMap<IpNetwork, Announcement>,
    restarting: bool,
) -> BgpdSettings {
    let s = BgpdSettings::new(&plan.port, announced);
    if restarting {
        s
    } else {
        s.first_start()
    }
}

/// The next batch of a feed (0: it ended); pending forever without one.
async fn recv_batch_opt<F: ZebraFeed>(feed: &mut Option<F>, out: &mut Vec<ZebraEvent>) -> usize {
    match feed {
        Some(f) => f.recv_batch(out).await,
        None => std::future::pending().await,
    }
}

impl<E: Effects> PortActor<E> {
    /// A port actor; `restarting`: the port's first bgpd already restarts one that ran before
    /// (leftovers of a crashed controller were found, or a cluster takeover).
    pub(crate) fn new(
        env: Arc<E>,
        sink: Arc<dyn RouteSink>,
        plan: PortPlan,
        restarting: bool,
    ) -> Self {
        let announced = BTreeMap::new();
        let desired = settings(&plan, &announced, restarting);
        let backoff = plan.controller.restart_backoff_initial;
        PortActor {
            env,
            sink,
            plan,
            announced,
            desired,
            restarting,
            bgpd_was_ready: false,
            built: None,
            zebra_rx: None,
            zebra_batch: Vec::new(),
            changes: Vec::new(),
            sink_has_routes: false,
            last_stats: RouteStats::default(),
            bgpd_rx: None,
            vty: None,
            applied: None,
            ready_pid: None,
            peers: Vec::new(),
            phase: PortPhase::Starting,
            last_error: None,
            zebra_connected: false,
            port_restarts: 0,
            bgpd_restarts_before: 0,
            retry_at: Some(Instant::now()),
            backoff,
            counters: PortCounters::default(),
        }
    }

    fn name(&self) -> &str {
        &self.plan.port.name
    }

    /// Runs until shut down.
    pub(crate) async fn run(mut self, mut commands: mpsc::Receiver<PortCommand>) {
        let mut tick = tokio::time::interval(self.plan.controller.status_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let retry_at = self.retry_at;
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(PortCommand::Update(plan)) => {
                        self.update(*plan).await;
                        // `status_interval` is live: the timer follows it.
                        let period = self.plan.controller.status_interval;
                        if tick.period() != period {
                            tick = tokio::time::interval_at(Instant::now() + period, period);
                            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                        }
                    }
                    Some(PortCommand::Status(reply)) => { let _ = reply.send(self.status()); }
                    Some(PortCommand::Announce(a, reply)) => { let _ = reply.send(self.announce(a).await); }
                    Some(PortCommand::Withdraw(p, reply)) => { let _ = reply.send(self.withdraw(p).await); }
                    Some(PortCommand::Shutdown(reply)) => {
                        self.teardown().await;
                        self.phase = PortPhase::Stopped;
                        let _ = reply.send(());
                        return;
                    }
                    None => {
                        self.teardown().await;
                        return;
                    }
                },
                n = recv_batch_opt(&mut self.zebra_rx, &mut self.zebra_batch) => {
                    if n > 0 {
                        self.on_zebra_batch();
                    } else {
                        // The zebra server ended on its own: its routes are void; rebuild.
                        self.zebra_rx = None;
                        self.session_down();
                        self.fail("zebra server stopped").await;
                    }
                },
                ev = recv_opt(&mut self.bgpd_rx) => match ev {
                    Some(ev) => self.on_bgpd(ev).await,
                    None => {
                        self.bgpd_rx = None;
                        self.fail("bgpd supervisor ended").await;
                    }
                },
                _ = async { match retry_at { Some(t) => sleep_until(t).await, None => std::future::pending().await } } => {
                    self.retry_at = None;
                    self.setup().await;
                },
                _ = tick.tick() => self.poll().await,
            }
        }
    }

    /// Builds everything; on failure tears the partial build down and schedules a retry.
    async fn setup(&mut self) {
        self.phase = PortPhase::Starting;
        info!(port = %self.name(), namespace = %self.plan.namespace, "building BGP port");
        match self.build().await {
            Ok(()) => {
                self.phase = PortPhase::Running;
                self.last_error = None;
            }
            Err(e) => {
                self.fail(&e.to_string()).await;
            }
        }
    }

    async fn build(&mut self) -> Result<(), crate::effects::EffectError> {
        let env = self.env.clone();
        let (container, facts) = env.create_container(&self.plan).await?;
        self.built = Some(Built {
            container: Some(container),
            facts: facts.clone(),
            zebra: None,
            bgpd: None,
        });
        let (zebra, zrx) = env.start_zebra(&self.plan, &facts).await?;
        if let Some(b) = self.built.as_mut() {
            b.zebra = Some(zebra);
        }
        self.zebra_rx = Some(zrx);
        env.install_flows(&self.plan, &facts).await?;
        let (bgpd, brx) = env.start_bgpd(&self.plan, &facts).await?;
        if let Some(b) = self.built.as_mut() {
            b.bgpd = Some(bgpd);
        }
        self.bgpd_rx = Some(brx);
        Ok(())
    }

    /// Records an error, tears down, and schedules a rebuild with backoff: the port never stops
    /// trying while it is configured.
    async fn fail(&mut self, why: &str) {
        warn!(port = %self.name(), error = %why, delay = ?self.backoff, "BGP port failed; rebuilding later");
        self.last_error = Some(why.to_string());
        self.teardown().await;
        self.phase = PortPhase::Backoff;
        self.port_restarts += 1;
        self.retry_at = Some(Instant::now() + self.backoff);
        self.backoff = (self.backoff * 2).min(self.plan.controller.restart_backoff_max);
    }

    /// Removes everything built, in reverse order, and withdraws every learned route.
    async fn teardown(&mut self) {
        if let Some(vty) = self.vty.take() {
            vty.close().await;
        }
        self.applied = None;
        self.ready_pid = None;
        self.bgpd_rx = None;
        self.zebra_rx = None;
        let env = self.env.clone();
        let built = self.built.take();
        let (container, bgpd, zebra) = match built {
            Some(b) => {
                if let Some(bg) = &b.bgpd {
                    self.bgpd_restarts_before += bg.restarts();
                }
                if let Some(z) = &b.zebra {
                    // The next build's server counts from 0: keep this one's in the totals.
                    self.counters.add_zebra(&self.env.zebra_messages(z));
                }
                (b.container, b.bgpd, b.zebra)
            }
            None => (None, None, None),
        };
        if let Some(b) = bgpd {
            env.stop_bgpd(b).await;
        }
        self.withdraw_all();
        self.zebra_connected = false;
        self.peers.clear();
        if let Err(e) = env.remove_flows(&self.plan).await {
            warn!(port = %self.name(), error = %e, "removing flows");
        }
        if let Some(z) = zebra {
            self.last_stats = z.route_stats();
            env.stop_zebra(z).await;
        }
        if let Err(e) = env.destroy_container(&self.plan, container).await {
            warn!(port = %self.name(), error = %e, "removing container");
            self.last_error = Some(e.to_string());
        }
    }

    fn withdraw_all(&mut self) {
        self.changes.clear();
        if std::mem::take(&mut self.sink_has_routes) {
            self.sink.withdraw_all(&self.plan.port.name);
        }
    }

    fn session_down(&mut self) {
        self.zebra_connected = false;
        self.bgpd_routes_gone("zebra session ended");
    }

    /// Hands the collected route changes to the sink in one call.
    fn flush_changes(&mut self) {
        if self.changes.is_empty() {
            return;
        }
        self.sink.apply(&self.plan.port.name, &self.changes);
        self.sink_has_routes = true;
        self.changes.clear();
    }

    /// Handles the batch in `zebra_batch`: route changes go to the sink together, session
    /// events in their place between them.
    fn on_zebra_batch(&mut self) {
        let mut batch = std::mem::take(&mut self.zebra_batch);
        for ev in batch.drain(..) {
            match ev {
                ZebraEvent::Route(change) => self.changes.push(change),
                ZebraEvent::SessionUp => {
                    self.flush_changes();
                    debug!(port = %self.name(), "bgpd connected to zebra");
                    self.zebra_connected = true;
                }
                ZebraEvent::SessionDown => {
                    self.flush_changes();
                    self.session_down();
                }
            }
        }
        self.flush_changes();
        self.zebra_batch = batch;
    }

    async fn on_bgpd(&mut self, ev: BgpdEvent) {
        match ev {
            BgpdEvent::Starting => {}
            BgpdEvent::Ready { pid } => {
                info!(port = %self.name(), pid, "bgpd ready; configuring");
                if std::mem::replace(&mut self.bgpd_was_ready, true) && !self.restarting {
                    // A restarted bgpd: forwarding went on meanwhile, so it sets the F bit.
                    self.restarting = true;
                    self.desired = settings(&self.plan, &self.announced, true);
                }
                if let Some(vty) = self.vty.take() {
                    vty.close().await;
                }
                self.ready_pid = Some(pid);
                self.applied = None;
                self.sync().await;
            }
            BgpdEvent::Exited { status } => {
                self.bgpd_down(format!("bgpd exited: {status}")).await;
            }
            BgpdEvent::StartFailed { cause } => {
                self.bgpd_down(format!("bgpd start failed: {cause}")).await;
            }
            BgpdEvent::Restarting { attempt, delay } => {
                info!(port = %self.name(), attempt, ?delay, "bgpd restarting");
            }
            BgpdEvent::GaveUp { reason } => {
                self.fail(&format!("bgpd supervisor gave up: {reason}"))
                    .await;
            }
            _ => {}
        }
    }

    /// bgpd is gone (or never came up): its Vty, configuration, peers and routes with it.
    async fn bgpd_down(&mut self, error: String) {
        warn!(port = %self.name(), %error, "bgpd down");
        if let Some(vty) = self.vty.take() {
            vty.close().await;
        }
        self.ready_pid = None;
        self.applied = None;
        self.peers.clear();
        self.bgpd_routes_gone("bgpd down");
        self.last_error = Some(error);
    }

    /// bgpd (or its zebra session) went away while the port stays. Without graceful restart
    /// its routes go now. With it the zebra server decides: it withdraws at once the routes of
    /// a bgpd that never declared GR, and keeps a GR bgpd's routes stale until the restarted
    /// bgpd has sent them again (no event when unchanged) or their stale time ends — so the
    /// sink sees only real changes.
    fn bgpd_routes_gone(&mut self, why: &str) {
        if self.plan.port.graceful_restart.is_some() {
            debug!(port = %self.name(), why, "graceful restart: routes kept for the zebra server to settle");
        } else {
            debug!(port = %self.name(), why, "withdrawing routes");
            self.withdraw_all();
        }
    }

    /// Brings bgpd's configuration to the desired one: the full bootstrap after a (re)start, the
    /// minimal diff otherwise.
    async fn sync(&mut self) {
        if self.ready_pid.is_none() {
            return;
        }
        let Some(facts) = self.built.as_ref().map(|b| b.facts.clone()) else {
            return;
        };
        if self.vty.is_none() {
            match self.env.connect_vty(&self.plan, &facts).await {
                Ok(v) => self.vty = Some(v),
                Err(e) => {
                    warn!(port = %self.name(), error = %e, "vty connect failed; will retry");
                    self.last_error = Some(e.to_string());
                    return;
                }
            }
        }
        let Some(flavour) = self.vty.as_ref().map(|v| v.flavour()) else {
            return;
        };
        let commands = match &self.applied {
            None => self.desired.bootstrap_for(&flavour),
            Some(a) => a.diff_for(&self.desired, &flavour),
        };
        if commands.is_empty() {
            return;
        }
        let Some(vty) = self.vty.as_mut() else { return };
        let result = vty.apply(&commands).await;
        self.counters.config_batch(commands.len(), result.is_ok());
        match result {
            Ok(()) => {
                debug!(port = %self.name(), n = commands.len(), "configuration applied");
                self.applied = Some(self.desired.clone());
                self.last_error = None;
                self.backoff = self.plan.controller.restart_backoff_initial;
            }
            Err(e) => {
                warn!(port = %self.name(), error = %e, "configuration failed");
                self.last_error = Some(e.to_string());
                // What bgpd holds is unknown now: resend everything next time.
                self.applied = None;
                if !e.rejected {
                    if let Some(v) = self.vty.take() {
                        v.close().await;
                    }
                }
            }
        }
    }

    /// Periodic work: retry an unfinished configuration and read peer status.
    async fn poll(&mut self) {
        if self.ready_pid.is_none() {
            return;
        }
        if self.applied.as_ref() != Some(&self.desired) || self.vty.is_none() {
            self.sync().await;
        }
        if let Some(vty) = self.vty.as_mut() {
            let read = vty.read_peers().await;
            self.counters.status_read(read.is_ok());
            match read {
                Ok(peers) => {
                    for p in &peers {
                        let before = self.peers.iter().find(|o| o.address == p.address);
                        if before.map(|o| &o.state) != Some(&p.state) {
                            info!(port = %self.name(), peer = %p.address, state = %p.state, "peer state");
                        }
                    }
                    self.peers = peers;
                }
                Err(e) => {
                    debug!(port = %self.name(), error = %e, "status read failed");
                    if !e.rejected {
                        if let Some(v) = self.vty.take() {
                            v.close().await;
                        }
                    }
                }
            }
        }
    }

    async fn update(&mut self, plan: PortPlan) {
        let reasons = self.plan.rebuild_reasons(&plan);
        let peers_changed = self.plan.port.peer_addresses() != plan.port.peer_addresses();
        if !reasons.is_empty() {
            info!(port = %self.name(), ?reasons, "configuration change needs a rebuild");
            // Torn down with the plan it was built with: a new prefix, run_dir or
            // host_namespace must not leave the old filters, links, namespace or files behind.
            self.teardown().await;
            self.plan = plan;
            self.desired = settings(&self.plan, &self.announced, self.restarting);
            self.port_restarts += 1;
            self.backoff = self.plan.controller.restart_backoff_initial;
            self.setup().await;
            return;
        }
        self.plan = plan;
        self.desired = settings(&self.plan, &self.announced, self.restarting);
        if peers_changed {
            if let Some(facts) = self.built.as_ref().map(|b| b.facts.clone()) {
                if let Err(e) = self.env.install_flows(&self.plan, &facts).await {
                    self.fail(&e.to_string()).await;
                    return;
                }
            }
        }
        self.sync().await;
    }

    /// Accepts a runtime announcement (checked by [`crate::announce::check`]; a refusal changes
    /// nothing) and brings bgpd to it now if it is up, else on its next `Ready`.
    async fn announce(&mut self, a: Announcement) -> Result<(), AnnounceError> {
        crate::announce::check(&self.plan.port, &self.announced, &a)?;
        info!(port = %self.name(), prefix = %a.prefix, "announcing");
        self.announced.insert(a.prefix, a);
        self.desired = settings(&self.plan, &self.announced, self.restarting);
        self.sync().await;
        Ok(())
    }

    /// Withdraws a runtime announcement (an unknown one is refused and changes nothing).
    async fn withdraw(&mut self, prefix: IpNetwork) -> Result<Announcement, AnnounceError> {
        crate::announce::check_withdraw(&self.plan.port, &self.announced, prefix)?;
        let Some(gone) = self.announced.remove(&prefix) else {
            return Err(AnnounceError::NotAnnounced {
                port: self.plan.port.name.clone(),
                prefix,
                hint: "",
            });
        };
        info!(port = %self.name(), %prefix, "withdrawing announcement");
        self.desired = settings(&self.plan, &self.announced, self.restarting);
        self.sync().await;
        Ok(gone)
    }

    fn status(&self) -> PortStatus {
        let bgpd = self.built.as_ref().and_then(|b| b.bgpd.as_ref());
        let stats = match self.built.as_ref().and_then(|b| b.zebra.as_ref()) {
            Some(z) => z.route_stats(),
            None => self.last_stats.clone(),
        };
        let installed = self.sink.installed(&self.plan.port.name);
        let mut peers = self.peers.clone();
        for p in &mut peers {
            let gw = Some(p.address);
            p.routes_installed = installed.as_ref().map(|i| {
                i.by_gateway
                    .iter()
                    .find(|(g, _)| Some(*g) == gw)
                    .map_or(0, |(_, n)| *n)
            });
            p.routes_refused = stats
                .refused_by_gateway
                .iter()
                .find(|(g, _)| *g == gw)
                .map_or(0, |(_, n)| *n);
        }
        PortStatus {
            name: self.plan.port.name.clone(),
            phase: self.phase,
            namespace: self.plan.namespace.clone(),
            bgpd_pid: bgpd.and_then(|b| b.pid()),
            bgpd_restarts: self.bgpd_restarts_before + bgpd.map(|b| b.restarts()).unwrap_or(0),
            port_restarts: self.port_restarts,
            config_applied: self.applied.as_ref() == Some(&self.desired),
            zebra_connected: self.zebra_connected,
            last_error: self.last_error.clone(),
            peers,
            announced: self.announced.values().cloned().collect(),
            routes: RouteCounts {
                received: stats.received,
                deleted: stats.deletes,
                accepted: stats.held,
                installed: installed.as_ref().map(|i| i.routes),
                refused: stats.refused,
                max_routes: self.plan.port.max_routes as u64,
            },
            counters: {
                let mut c = self.counters.clone();
                if let Some(z) = self.built.as_ref().and_then(|b| b.zebra.as_ref()) {
                    c.add_zebra(&self.env.zebra_messages(z));
                }
                c
            },
        }
    }
}
