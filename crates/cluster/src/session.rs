//! A thin wrapper over the ZooKeeper client: every call returns a [`ClusterError`] naming the
//! operation and the znode, and no client type leaves the crate.

use std::time::Duration;

use zookeeper_client as zk;

use crate::error::{ClusterError, StoreError};
use crate::layout::{Layout, StoreUrl};

/// Data and version of a znode.
pub(crate) struct Node {
    pub data: Vec<u8>,
    pub version: i32,
    pub ephemeral_owner: i64,
}

/// Session state, as the crate uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Connected,
    Disconnected,
    /// Expired, closed or refused: the session is over; a new one is needed.
    Ended,
}

fn state_of(s: zk::SessionState) -> State {
    match s {
        zk::SessionState::SyncConnected | zk::SessionState::ConnectedReadOnly => State::Connected,
        zk::SessionState::Disconnected => State::Disconnected,
        _ => State::Ended,
    }
}

/// Follows the session's state.
pub(crate) struct StateWatch(zk::StateWatcher);

impl StateWatch {
    /// Waits for the next state change.
    pub async fn changed(&mut self) -> State {
        state_of(self.0.changed().await)
    }
}

/// A persistent recursive watch on a subtree.
pub(crate) struct TreeWatch(zk::PersistentWatcher);

impl TreeWatch {
    /// Waits for the next event; returns the path of the changed znode (empty for a session
    /// event) and whether the session ended.
    pub async fn changed(&mut self) -> (String, bool) {
        let e = self.0.changed().await;
        let ended = e.event_type == zk::EventType::Session && e.session_state.is_terminated();
        (e.path, ended)
    }
}

/// One ZooKeeper session and the layout it works in.
#[derive(Clone, Debug)]
pub(crate) struct Zk {
    client: zk::Client,
    pub layout: Layout,
}

fn acl() -> zk::CreateOptions<'static> {
    zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all())
}

impl Zk {
    /// Opens a session (waits up to about the session timeout for a server).
    pub async fn connect(url: &StoreUrl, session_timeout: Duration) -> Result<Zk, ClusterError> {
        let layout = Layout::new(&url.root)?;
        let client = zk::Client::connector()
            .with_session_timeout(session_timeout)
            .with_connection_timeout(session_timeout / 5)
            .connect(&url.servers)
            .await
            .map_err(|e| ClusterError::Connect {
                servers: url.servers.clone(),
                source: StoreError(e),
            })?;
        Ok(Zk { client, layout })
    }

    /// The session id.
    pub fn session_id(&self) -> i64 {
        self.client.session_id().0
    }

    /// The negotiated session timeout.
    pub fn session_timeout(&self) -> Duration {
        self.client.session_timeout()
    }

    /// The current state.
    pub fn state(&self) -> State {
        state_of(self.client.state())
    }

    /// A watcher of the session state.
    pub fn state_watch(&self) -> StateWatch {
        StateWatch(self.client.state_watcher())
    }

    /// Creates the root and every parent of the layout (idempotent).
    pub async fn ensure_layout(&self) -> Result<(), ClusterError> {
        let root = self.layout.root().to_string();
        self.client
            .mkdir(&root, &acl())
            .await
            .map_err(|e| ClusterError::store("mkdir", &root, e))?;
        for p in self.layout.parents() {
            self.mkdir(&p).await?;
        }
        Ok(())
    }

    /// Creates a persistent znode if missing.
    pub async fn mkdir(&self, path: &str) -> Result<(), ClusterError> {
        match self.client.create(path, b"", &acl()).await {
            Ok(_) | Err(zk::Error::NodeExists) => Ok(()),
            Err(e) => Err(ClusterError::store("create", path, e)),
        }
    }

    /// Data, version and ephemeral owner of a znode, `None` if it does not exist.
    pub async fn get(&self, path: &str) -> Result<Option<Node>, ClusterError> {
        match self.client.get_data(path).await {
            Ok((data, stat)) => Ok(Some(Node {
                data,
                version: stat.version,
                ephemeral_owner: stat.ephemeral_owner,
            })),
            Err(zk::Error::NoNode) => Ok(None),
            Err(e) => Err(ClusterError::store("get", path, e)),
        }
    }

    /// Children names (sorted); empty if the znode does not exist.
    pub async fn children(&self, path: &str) -> Result<Vec<String>, ClusterError> {
        match self.client.list_children(path).await {
            Ok(mut v) => {
                v.sort();
                Ok(v)
            }
            Err(zk::Error::NoNode) => Ok(Vec::new()),
            Err(e) => Err(ClusterError::store("list", path, e)),
        }
    }

    /// Creates a znode; `Ok(false)` if it exists already.
    pub async fn create(
        &self,
        path: &str,
        data: &[u8],
        ephemeral: bool,
    ) -> Result<bool, ClusterError> {
        let mode = if ephemeral {
            zk::CreateMode::Ephemeral
        } else {
            zk::CreateMode::Persistent
        };
        match self
            .client
            .create(path, data, &mode.with_acls(zk::Acls::anyone_all()))
            .await
        {
            Ok(_) => Ok(true),
            Err(zk::Error::NodeExists) => Ok(false),
            Err(e) => Err(ClusterError::store("create", path, e)),
        }
    }

    /// Creates an ephemeral sequential znode `prefix<seq>`; returns its name (last component).
    pub async fn create_sequential(
        &self,
        prefix: &str,
        data: &[u8],
    ) -> Result<String, ClusterError> {
        let opts = zk::CreateMode::EphemeralSequential.with_acls(zk::Acls::anyone_all());
        let (_, seq) = self
            .client
            .create(prefix, data, &opts)
            .await
            .map_err(|e| ClusterError::store("create", prefix, e))?;
        let base = prefix.rsplit('/').next().unwrap_or(prefix);
        Ok(format!("{base}{seq}"))
    }

    /// Sets a znode's data (`version`: compare-and-set); `Ok(None)` if it does not exist,
    /// `Err(Contended)` on a version mismatch.
    pub async fn set(
        &self,
        path: &str,
        data: &[u8],
        version: Option<i32>,
    ) -> Result<Option<i32>, ClusterError> {
        match self.client.set_data(path, data, version).await {
            Ok(stat) => Ok(Some(stat.version)),
            Err(zk::Error::NoNode) => Ok(None),
            Err(zk::Error::BadVersion) => Err(ClusterError::Contended(path.to_string())),
            Err(e) => Err(ClusterError::store("set", path, e)),
        }
    }

    /// Sets or creates a znode.
    pub async fn put(&self, path: &str, data: &[u8], ephemeral: bool) -> Result<(), ClusterError> {
        for _ in 0..3 {
            if self.set(path, data, None).await?.is_some()
                || self.create(path, data, ephemeral).await?
            {
                return Ok(());
            }
        }
        Err(ClusterError::Contended(path.to_string()))
    }

    /// Deletes a znode (`version`: compare-and-delete); `Ok(false)` if it did not exist.
    pub async fn delete(&self, path: &str, version: Option<i32>) -> Result<bool, ClusterError> {
        match self.client.delete(path, version).await {
            Ok(()) => Ok(true),
            Err(zk::Error::NoNode) => Ok(false),
            Err(zk::Error::BadVersion) => Err(ClusterError::Contended(path.to_string())),
            Err(e) => Err(ClusterError::store("delete", path, e)),
        }
    }

    /// Starts many reads at once (pipelined on the session) and waits for all of them.
    pub async fn get_many(&self, paths: &[String]) -> Vec<Result<Option<Node>, ClusterError>> {
        let mut out = Vec::with_capacity(paths.len());
        for f in self.get_started(paths) {
            out.push(f.await);
        }
        out
    }

    /// Sends a read of every path at once (pipelined on the session: the requests are on their
    /// way when this returns) and gives one future per path, in order, for its answer — so the
    /// caller can work on the first answers while the rest arrive.
    pub fn get_started<'a>(
        &'a self,
        paths: &'a [String],
    ) -> Vec<impl std::future::Future<Output = Result<Option<Node>, ClusterError>> + Send + 'a>
    {
        paths
            .iter()
            .map(|p| {
                let f = self.client.get_data(p);
                async move {
                    match f.await {
                        Ok((data, stat)) => Ok(Some(Node {
                            data,
                            version: stat.version,
                            ephemeral_owner: stat.ephemeral_owner,
                        })),
                        Err(zk::Error::NoNode) => Ok(None),
                        Err(e) => Err(ClusterError::store("get", p, e)),
                    }
                }
            })
            .collect()
    }

    /// Writes many ephemeral znodes at once, pipelined: `(path, data, fresh)` — a fresh one is
    /// created (set if it exists after all), any other set (created if it is missing), so each
    /// value normally crosses the wire once.
    pub async fn put_many_ephemeral(
        &self,
        writes: &[(String, &[u8], bool)],
    ) -> Result<(), ClusterError> {
        let opts = zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all());
        let (fresh, known): (Vec<_>, Vec<_>) = writes.iter().partition(|w| w.2);
        let creates: Vec<_> = fresh
            .iter()
            .map(|(p, d, _)| (p, *d, self.client.create(p, d, &opts)))
            .collect();
        let sets: Vec<_> = known
            .iter()
            .map(|(p, d, _)| (p, *d, self.client.set_data(p, d, None)))
            .collect();
        let (mut existing, mut missing) = (Vec::new(), Vec::new());
        for (p, d, f) in creates {
            match f.await {
                Ok(_) => {}
                Err(zk::Error::NodeExists) => existing.push((p, d)),
                Err(e) => return Err(ClusterError::store("create", p, e)),
            }
        }
        for (p, d, f) in sets {
            match f.await {
                Ok(_) => {}
                Err(zk::Error::NoNode) => missing.push((p, d)),
                Err(e) => return Err(ClusterError::store("set", p, e)),
            }
        }
        for (p, d) in existing {
            self.put(p, d, true).await?;
        }
        let futs: Vec<_> = missing
            .iter()
            .map(|(p, d)| (*p, *d, self.client.create(p, d, &opts)))
            .collect();
        for (p, d, f) in futs {
            match f.await {
                Ok(_) => {}
                Err(zk::Error::NodeExists) => {
                    self.set(p, d, None).await?;
                }
                Err(e) => return Err(ClusterError::store("create", p, e)),
            }
        }
        Ok(())
    }

    /// Deletes many znodes at once (missing ones ignored), pipelined.
    pub async fn delete_many(&self, paths: &[String]) -> Result<(), ClusterError> {
        let futs: Vec<_> = paths
            .iter()
            .map(|p| (p, self.client.delete(p, None)))
            .collect();
        for (p, f) in futs {
            match f.await {
                Ok(()) | Err(zk::Error::NoNode) | Err(zk::Error::NotEmpty) => {}
                Err(e) => return Err(ClusterError::store("delete", p, e)),
            }
        }
        Ok(())
    }

    /// Writes `path` (created when `version` is `None`, else set with compare-and-set on
    /// `version`) in one transaction with a check that `guard` is still at its version.
    /// `Ok(Some(v))`: written, now at version `v`; `Ok(None)`: a condition failed (the guard
    /// changed or is gone, `path` exists although created, changed or is gone although set),
    /// nothing written.
    pub async fn write_guarded(
        &self,
        guard: (&str, i32),
        path: &str,
        data: &[u8],
        version: Option<i32>,
    ) -> Result<Option<i32>, ClusterError> {
        let mut multi = self.client.new_multi_writer();
        let built = multi
            .add_check_version(guard.0, guard.1)
            .and_then(|()| match version {
                None => multi.add_create(path, data, &acl()),
                Some(v) => multi.add_set_data(path, data, Some(v)),
            });
        built.map_err(|e| ClusterError::store("multi", path, e))?;
        match multi.commit().await {
            Ok(results) => Ok(results.iter().find_map(|r| match r {
                zk::MultiWriteResult::SetData { stat } => Some(stat.version),
                zk::MultiWriteResult::Create { .. } => Some(0),
                _ => None,
            })),
            Err(zk::MultiWriteError::OperationFailed {
                source: zk::Error::NoNode | zk::Error::NodeExists | zk::Error::BadVersion,
                ..
            }) => Ok(None),
            Err(e) => Err(ClusterError::store("multi", path, e.into())),
        }
    }

    /// A persistent recursive watch on `path` and everything below it.
    pub async fn watch_tree(&self, path: &str) -> Result<TreeWatch, ClusterError> {
        self.client
            .watch(path, zk::AddWatchMode::PersistentRecursive)
            .await
            .map(TreeWatch)
            .map_err(|e| ClusterError::store("watch", path, e))
    }
}
