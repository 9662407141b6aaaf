//! One-shot reads and writes of the store, for operators (`midonet-bgp cluster …`) and SDN
//! controllers: ports, announcements, hosts, status and a snapshot of published routes.

use std::collections::BTreeMap;
use std::time::Duration;

use ipnetwork::IpNetwork;

use crate::doc::{
    decode, decode_chunk, encode, AnnouncementDoc, HostDoc, PortDoc, RouteChunk, RouteTable,
    RoutesMeta, StatusDoc,
};
use crate::error::{ClusterError, DocError};
use crate::layout::{check_port_name, parse_chunk_name, StoreUrl};
use crate::runs::PreviousRun;
use crate::session::Zk;

/// A port as stored: its document (or why it cannot be read) and its znode version.
#[derive(Debug)]
pub struct PortEntry {
    /// The port name.
    pub name: String,
    /// The document, or the problem with the stored value.
    pub doc: Result<PortDoc, DocError>,
    /// The znode's version (grows with every write).
    pub version: i32,
}

/// A session for one-shot operations on the store.
#[derive(Debug, Clone)]
pub struct Store {
    zk: Zk,
}

impl Store {
    /// Connects to `url` (waits up to about `session_timeout` for a server) and creates the
    /// layout's parents if they are missing.
    pub async fn connect(url: &StoreUrl, session_timeout: Duration) -> Result<Store, ClusterError> {
        let zk = Zk::connect(url, session_timeout).await?;
        zk.ensure_layout().await?;
        Ok(Store { zk })
    }

    /// Writes a port's document (created or replaced) after checking the layout's rules. The
    /// configuration itself is validated by the hosts (and should be by the caller, with the
    /// same validator) — a host records a refused value as the port's error.
    pub async fn put_port(&self, name: &str, doc: &PortDoc) -> Result<(), ClusterError> {
        let path = self.zk.layout.port(name);
        doc.check(name).map_err(|source| ClusterError::Document {
            path: path.clone(),
            source,
        })?;
        self.zk.mkdir(&self.zk.layout.election(name)).await?;
        self.zk.mkdir(&self.zk.layout.port_routes(name)).await?;
        self.zk.put(&path, &encode(doc), false).await
    }

    /// Writes raw bytes as a port's value (tests and repair tools: the hosts must refuse and
    /// record whatever is wrong with it).
    pub async fn put_port_raw(&self, name: &str, bytes: &[u8]) -> Result<(), ClusterError> {
        check_port_name(name)?;
        self.zk.mkdir(&self.zk.layout.election(name)).await?;
        self.zk.mkdir(&self.zk.layout.port_routes(name)).await?;
        self.zk.put(&self.zk.layout.port(name), bytes, false).await
    }

    /// Removes a port: its document, announcements, status and run record (hosts stop it).
    /// Returns whether it existed.
    ///
    /// The document goes first: hosts write a run record only in a transaction that checks the
    /// port document's version, so once it is gone no record can be written again, and the
    /// record deleted after it stays deleted (a host stopping the port marks it stopped with a
    /// compare-and-set, which finds it gone). A `put-port` of the same name later is a first
    /// start.
    pub async fn remove_port(&self, name: &str) -> Result<bool, ClusterError> {
        check_port_name(name)?;
        let l = &self.zk.layout;
        let existed = self.zk.delete(&l.port(name), None).await?;
        self.zk.delete(&l.announcement(name), None).await?;
        self.zk.delete(&l.status(name), None).await?;
        self.zk.delete(&l.run(name), None).await?;
        Ok(existed)
    }

    /// One port's run record: what it says about the port's last run (see [`crate::runs`]).
    pub async fn run(&self, port: &str) -> Result<PreviousRun, ClusterError> {
        check_port_name(port)?;
        let node = self.zk.get(&self.zk.layout.run(port)).await?;
        Ok(PreviousRun::read(node.as_ref().map(|n| n.data.as_slice())))
    }

    /// Writes raw bytes as a port's run record (tests and repair tools: hosts must refuse and
    /// record whatever is wrong with it).
    pub async fn put_run_raw(&self, port: &str, bytes: &[u8]) -> Result<(), ClusterError> {
        check_port_name(port)?;
        self.zk.put(&self.zk.layout.run(port), bytes, false).await
    }

    /// Every port, sorted by name.
    pub async fn ports(&self) -> Result<Vec<PortEntry>, ClusterError> {
        let names = self.zk.children(&self.zk.layout.ports()).await?;
        let paths: Vec<String> = names.iter().map(|n| self.zk.layout.port(n)).collect();
        let mut out = Vec::new();
        for (name, r) in names.into_iter().zip(self.zk.get_many(&paths).await) {
            if let Some(node) = r? {
                let doc = decode::<PortDoc>(&node.data).and_then(|d| d.check(&name).map(|()| d));
                out.push(PortEntry {
                    name,
                    doc,
                    version: node.version,
                });
            }
        }
        Ok(out)
    }

    /// Every live host's document (a host whose znode cannot be read is reported as an error
    /// entry).
    pub async fn hosts(&self) -> Result<Vec<(String, Result<HostDoc, DocError>)>, ClusterError> {
        let names = self.zk.children(&self.zk.layout.hosts()).await?;
        let paths: Vec<String> = names.iter().map(|n| self.zk.layout.host(n)).collect();
        let mut out = Vec::new();
        for (name, r) in names.into_iter().zip(self.zk.get_many(&paths).await) {
            if let Some(node) = r? {
                out.push((name, decode(&node.data)));
            }
        }
        Ok(out)
    }

    /// Every port's status document.
    pub async fn statuses(
        &self,
    ) -> Result<Vec<(String, Result<StatusDoc, DocError>)>, ClusterError> {
        let names = self.zk.children(&self.zk.layout.statuses()).await?;
        let paths: Vec<String> = names.iter().map(|n| self.zk.layout.status(n)).collect();
        let mut out = Vec::new();
        for (name, r) in names.into_iter().zip(self.zk.get_many(&paths).await) {
            if let Some(node) = r? {
                out.push((name, decode(&node.data)));
            }
        }
        Ok(out)
    }

    /// The host ids of a port's election, in election order (the first one leads).
    pub async fn election(&self, port: &str) -> Result<Vec<String>, ClusterError> {
        check_port_name(port)?;
        let dir = self.zk.layout.election(port);
        let mut names = self.zk.children(&dir).await?;
        names.sort_by_key(|n| sequence_of(n));
        let paths: Vec<String> = names.iter().map(|n| format!("{dir}/{n}")).collect();
        let mut out = Vec::new();
        for r in self.zk.get_many(&paths).await {
            if let Some(node) = r? {
                out.push(String::from_utf8_lossy(&node.data).into_owned());
            }
        }
        Ok(out)
    }

    /// The networks announced for a port.
    pub async fn announcements(&self, port: &str) -> Result<AnnouncementDoc, ClusterError> {
        check_port_name(port)?;
        let path = self.zk.layout.announcement(port);
        match self.zk.get(&path).await? {
            None => Ok(AnnouncementDoc::new(Vec::new())),
            Some(node) => {
                decode(&node.data).map_err(|source| ClusterError::Document { path, source })
            }
        }
    }

    /// Adds (`announce`) or removes networks from a port's announcements with a
    /// compare-and-set, so concurrent controllers do not lose each other's updates. Returns the
    /// resulting list.
    pub async fn update_announcements(
        &self,
        port: &str,
        add: &[IpNetwork],
        remove: &[IpNetwork],
    ) -> Result<Vec<IpNetwork>, ClusterError> {
        check_port_name(port)?;
        let path = self.zk.layout.announcement(port);
        for _ in 0..16 {
            let (mut doc, version) = match self.zk.get(&path).await? {
                None => (AnnouncementDoc::new(Vec::new()), None),
                Some(node) => (
                    decode::<AnnouncementDoc>(&node.data).map_err(|source| {
                        ClusterError::Document {
                            path: path.clone(),
                            source,
                        }
                    })?,
                    Some(node.version),
                ),
            };
            doc.networks.retain(|n| !remove.contains(n));
            for n in add {
                if !doc.networks.contains(n) {
                    doc.networks.push(*n);
                }
            }
            doc.check().map_err(|source| ClusterError::Document {
                path: path.clone(),
                source,
            })?;
            let data = encode(&doc);
            let done = match version {
                None => self.zk.create(&path, &data, false).await?,
                Some(v) => match self.zk.set(&path, &data, Some(v)).await {
                    Ok(r) => r.is_some(),
                    Err(ClusterError::Contended(_)) => false,
                    Err(e) => return Err(e),
                },
            };
            if done {
                return Ok(doc.networks);
            }
        }
        Err(ClusterError::Contended(path))
    }

    /// One port's published routes (meta and routes), `None` when nothing is published.
    pub async fn port_routes(
        &self,
        port: &str,
    ) -> Result<Option<(RoutesMeta, RouteTable)>, ClusterError> {
        check_port_name(port)?;
        read_port_routes(&self.zk, port).await
    }

    /// A consistent-per-chunk snapshot of every port's published routes: port → (meta, routes).
    pub async fn routes(&self) -> Result<BTreeMap<String, (RoutesMeta, RouteTable)>, ClusterError> {
        let mut out = BTreeMap::new();
        for port in self.zk.children(&self.zk.layout.routes()).await? {
            if let Some(x) = read_port_routes(&self.zk, &port).await? {
                out.insert(port, x);
            }
        }
        Ok(out)
    }
}

/// Sequence number of an election znode `n_0000000042` (`u64::MAX` for a foreign name, so it
/// never wins).
pub(crate) fn sequence_of(name: &str) -> u64 {
    name.strip_prefix("n_")
        .and_then(|s| s.parse().ok())
        .unwrap_or(u64::MAX)
}

/// Reads one port's meta and chunks (retrying when a publication races the read).
pub(crate) async fn read_port_routes(
    zk: &Zk,
    port: &str,
) -> Result<Option<(RoutesMeta, RouteTable)>, ClusterError> {
    let meta_path = zk.layout.routes_meta(port);
    for _ in 0..10 {
        let Some(node) = zk.get(&meta_path).await? else {
            return Ok(None);
        };
        let meta: RoutesMeta = decode(&node.data).map_err(|source| ClusterError::Document {
            path: meta_path.clone(),
            source,
        })?;
        let paths: Vec<String> = (0..meta.chunks.len())
            .map(|i| zk.layout.chunk(port, meta.generation, i))
            .collect();
        let mut table = RouteTable::new();
        let mut complete = true;
        for (path, r) in paths.iter().zip(zk.get_many(&paths).await) {
            let Some(node) = r? else {
                complete = false;
                break;
            };
            let chunk: RouteChunk =
                decode_chunk(&node.data).map_err(|source| ClusterError::Document {
                    path: path.clone(),
                    source,
                })?;
            table.extend(chunk.routes);
        }
        if complete {
            return Ok(Some((meta, table)));
        }
    }
    Err(ClusterError::Contended(meta_path))
}

/// Chunk znode names of a port that are not of `generation` (leftovers to delete).
pub(crate) fn foreign_chunks(children: &[String], generation: u64) -> Vec<String> {
    children
        .iter()
        .filter(|c| parse_chunk_name(c).is_some_and(|(g, _)| g != generation))
        .cloned()
        .collect()
}
