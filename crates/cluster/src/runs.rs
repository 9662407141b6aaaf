//! Run records: `ROOT/runs/PORT`, the persistent trace of who last ran a port and whether that
//! run stopped cleanly — what tells a takeover from a first start.
//!
//! A standby elected after its leader died cannot learn anything from the leader's ephemeral
//! znodes (election node, published routes): they vanish with its session, before the standby is
//! elected. The run record is persistent, so it outlives the host:
//!
//! * the elected host reads it **before** it hands the port to its embedder, decides from it
//!   whether the port's first bgpd restarts an earlier one ([`PreviousRun::is_restart`]), and
//!   writes its own record, `running: true`, in the same step (a transaction guarded by the
//!   port document's version, so a record is never written for a port removed meanwhile). The
//!   record is in place before any bgpd of the new run exists, so a crash at any later moment
//!   leaves `running: true` behind;
//! * a host that stops the port cleanly — the port removed, this host no longer a candidate
//!   (handing over), a clean shutdown — marks it `running: false` (compare-and-set on the
//!   version it wrote);
//! * a host that dies, crashes or is fenced cannot write: its record keeps `running: true`, and
//!   the next run (on another host, or on this one after the fence) starts as a restart — its
//!   bgpd sets graceful restart's F bit so the providers keep the routes they hold for us.
//!
//! The verdict ([`PreviousRun`]) is sans-I/O; the member does the reads and writes.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use tracing::{debug, info, warn};

use crate::doc::{decode, encode, now_ms, SCHEMA};
use crate::error::{ClusterError, DocError};
use crate::layout::check_host_id;
use crate::session::{Node, Zk};

/// `ROOT/runs/PORT`: the last run of a port (persistent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunDoc {
    /// Always [`SCHEMA`].
    pub schema: u32,
    /// The host that runs (or ran) the port.
    pub host: String,
    /// Its controller's process id.
    pub pid: u32,
    /// When that host claimed the port (ms since the epoch).
    pub since_ms: u64,
    /// True from the claim until the host stopped the port cleanly.
    pub running: bool,
    /// When the record was last written (ms since the epoch).
    pub updated_ms: u64,
}

impl RunDoc {
    /// A record of a run of `host` (process `pid`) claimed now.
    pub fn running(host: &str, pid: u32) -> RunDoc {
        let now = now_ms();
        RunDoc {
            schema: SCHEMA,
            host: host.to_string(),
            pid,
            since_ms: now,
            running: true,
            updated_ms: now,
        }
    }

    /// The same run, stopped cleanly now.
    pub fn stopped(&self) -> RunDoc {
        RunDoc {
            running: false,
            updated_ms: now_ms(),
            ..self.clone()
        }
    }

    /// Checks the layout's rules (a valid host id).
    pub fn check(&self) -> Result<(), DocError> {
        check_host_id(&self.host).map_err(|e| DocError::Rule(format!("host: {e}")))
    }
}

/// What a port's run record says about its previous run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviousRun {
    /// No record: the port never ran (or was removed and added again).
    Never,
    /// The last run stopped cleanly.
    Stopped(RunDoc),
    /// The last run never stopped cleanly: its host died, its controller crashed, or it was
    /// fenced. Its bgpd's peers may still hold our routes as a restarting speaker's.
    Unclean(RunDoc),
    /// The record cannot be read (the problem); treated as [`PreviousRun::Unclean`]: an
    /// unneeded F bit costs a best-path deferral, a missing one the providers' routes.
    Unreadable(String),
}

impl PreviousRun {
    /// The verdict on a stored value (`None`: no record).
    pub fn read(stored: Option<&[u8]>) -> PreviousRun {
        let Some(bytes) = stored else {
            return PreviousRun::Never;
        };
        match decode::<RunDoc>(bytes).and_then(|d| d.check().map(|()| d)) {
            Ok(d) if d.running => PreviousRun::Unclean(d),
            Ok(d) => PreviousRun::Stopped(d),
            Err(e) => PreviousRun::Unreadable(e.to_string()),
        }
    }

    /// Whether the next run's first bgpd restarts an earlier one (graceful restart's F bit).
    pub fn is_restart(&self) -> bool {
        matches!(self, PreviousRun::Unclean(_) | PreviousRun::Unreadable(_))
    }

    /// The problem to record in the port's status, if the record was refused.
    pub fn problem(&self) -> Option<String> {
        match self {
            PreviousRun::Unreadable(e) => Some(format!(
                "run record refused ({e}); the port's first bgpd starts as a restart"
            )),
            _ => None,
        }
    }
}

/// A port this host claimed in its run record.
#[derive(Debug, Clone)]
struct Claim {
    /// The record as we wrote it.
    doc: RunDoc,
    /// Its znode version after our write.
    version: i32,
    /// The verdict on the previous run.
    previous: PreviousRun,
}

/// A member's run records: which ports it claimed, at which versions.
#[derive(Debug)]
pub(crate) struct Runs {
    host: String,
    claims: HashMap<String, Claim>,
}

impl Runs {
    pub fn new(host: &str) -> Runs {
        Runs {
            host: host.to_string(),
            claims: HashMap::new(),
        }
    }

    /// Whether `port`'s first bgpd restarts an earlier one (`None`: not claimed).
    pub fn restart(&self, port: &str) -> Option<bool> {
        self.claims.get(port).map(|c| c.previous.is_restart())
    }

    /// The refused record's problem for `port`'s status.
    pub fn problem(&self, port: &str) -> Option<String> {
        self.claims.get(port).and_then(|c| c.previous.problem())
    }

    /// Forgets every claim without writing (after fencing: every port was stopped without a
    /// clean release, so the records rightly stay `running`, and a port led again is judged
    /// afresh — as a restart).
    pub fn forget(&mut self) {
        self.claims.clear();
    }

    /// Forgets the claims of ports `keep` refuses.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.claims.retain(|p, _| keep(p));
    }

    /// Claims every port of `lead` (port, version of its port document): a new claim reads the
    /// record, judges the previous run and writes ours; an existing claim whose record changed
    /// or vanished (removed by hand, or `remove-port` followed by `put-port` while this host
    /// kept the lead) is written again. Every write is guarded by the port document's version.
    /// An error (or a lost race: `Contended`) leaves the ports unclaimed; the caller retries.
    pub async fn claim(&mut self, zk: &Zk, lead: &[(String, i32)]) -> Result<(), ClusterError> {
        let paths: Vec<String> = lead.iter().map(|(p, _)| zk.layout.run(p)).collect();
        let stored: Vec<Result<Option<Node>, ClusterError>> = zk.get_many(&paths).await;
        for (((port, guard), path), node) in lead.iter().zip(&paths).zip(stored) {
            let node = node?;
            let (doc, previous) = match self.claims.get(port) {
                Some(c) if node.as_ref().is_some_and(|n| n.version == c.version) => continue,
                Some(c) => {
                    warn!(%port, "cluster: our run record changed or vanished; writing it again");
                    (c.doc.clone(), c.previous.clone())
                }
                None => {
                    let previous = PreviousRun::read(node.as_ref().map(|n| n.data.as_slice()));
                    match &previous {
                        PreviousRun::Unclean(d) => info!(
                            %port, host = %d.host, pid = d.pid, since_ms = d.since_ms,
                            "cluster: the port's previous run did not stop cleanly: taking it over (its first bgpd restarts)"
                        ),
                        PreviousRun::Unreadable(e) => warn!(
                            %port, error = %e,
                            "cluster: run record refused; taking the port over as a restart"
                        ),
                        PreviousRun::Stopped(_) | PreviousRun::Never => {
                            debug!(%port, "cluster: first start of the port (no unclean run before)")
                        }
                    }
                    (RunDoc::running(&self.host, std::process::id()), previous)
                }
            };
            let version = node.as_ref().map(|n| n.version);
            let port_doc = zk.layout.port(port);
            match zk
                .write_guarded((&port_doc, *guard), path, &encode(&doc), version)
                .await?
            {
                Some(v) => {
                    self.claims.insert(
                        port.clone(),
                        Claim {
                            doc,
                            version: v,
                            previous,
                        },
                    );
                }
                None => return Err(ClusterError::Contended(path.clone())),
            }
        }
        Ok(())
    }

    /// Marks `port`'s record stopped (the port was stopped cleanly) and forgets the claim. A
    /// record that changed or vanished (the port removed) is left alone; a store error leaves it
    /// `running` (the next run starts as a restart: conservative).
    pub async fn release(&mut self, zk: &Zk, port: &str) {
        let Some(c) = self.claims.remove(port) else {
            return;
        };
        let path = zk.layout.run(port);
        match zk
            .set(&path, &encode(&c.doc.stopped()), Some(c.version))
            .await
        {
            Ok(Some(_)) => info!(%port, "cluster: run record marked stopped (clean stop)"),
            Ok(None) => debug!(%port, "cluster: run record gone (port removed)"),
            Err(ClusterError::Contended(_)) => {
                warn!(%port, "cluster: run record changed by someone else; left as it is")
            }
            Err(e) => warn!(
                %port, error = %e,
                "cluster: cannot mark the run record stopped; the next run starts as a restart"
            ),
        }
    }

    /// [`Runs::release`] of every claimed port (clean shutdown).
    pub async fn release_all(&mut self, zk: &Zk) {
        let ports: Vec<String> = self.claims.keys().cloned().collect();
        for port in ports {
            self.release(zk, &port).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_follows_the_record() {
        assert_eq!(PreviousRun::read(None), PreviousRun::Never);
        assert!(!PreviousRun::Never.is_restart());
        let run = RunDoc::running("gw1", 42);
        let v = PreviousRun::read(Some(&encode(&run)));
        assert_eq!(v, PreviousRun::Unclean(run.clone()));
        assert!(v.is_restart());
        assert_eq!(v.problem(), None);
        let stopped = run.stopped();
        assert!(!stopped.running);
        assert_eq!(stopped.since_ms, run.since_ms);
        let v = PreviousRun::read(Some(&encode(&stopped)));
        assert_eq!(v, PreviousRun::Stopped(stopped));
        assert!(!v.is_restart());
    }

    #[test]
    fn a_bad_record_is_a_recorded_problem_and_a_restart() {
        for (bad, why) in [
            (&b"{not json"[..], "JSON"),
            (b"[1]", "object"),
            (b"{\"host\":\"gw1\"}", "schema"),
            (b"{\"schema\":2,\"host\":\"gw1\"}", "schema"),
            (
                b"{\"schema\":1,\"host\":\"gw1\",\"pid\":1,\"since_ms\":1,\"running\":true,\"updated_ms\":1,\"extra\":1}",
                "unknown field",
            ),
            (
                b"{\"schema\":1,\"host\":\"gw1\",\"pid\":1,\"since_ms\":1,\"running\":\"yes\",\"updated_ms\":1}",
                "invalid type",
            ),
            (
                b"{\"schema\":1,\"host\":\"gw 1\",\"pid\":1,\"since_ms\":1,\"running\":false,\"updated_ms\":1}",
                "host",
            ),
        ] {
            let v = PreviousRun::read(Some(bad));
            assert!(v.is_restart(), "{bad:?}");
            let p = v.problem().unwrap_or_default();
            assert!(p.contains(why), "{}: {p}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn records_are_compact_versioned_json() {
        let run = RunDoc {
            schema: SCHEMA,
            host: "gw1".into(),
            pid: 7,
            since_ms: 1,
            running: true,
            updated_ms: 2,
        };
        assert_eq!(
            String::from_utf8(encode(&run)).unwrap_or_default(),
            r#"{"schema":1,"host":"gw1","pid":7,"since_ms":1,"running":true,"updated_ms":2}"#
        );
    }
}
