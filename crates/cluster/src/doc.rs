//! The JSON documents stored in the znodes. Every document carries `"schema": 1`; a reader
//! refuses other schemas, unknown keys and wrong types with a [`DocError`] (recorded, never a
//! panic), so the layout can evolve behind a schema bump.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnetwork::IpNetwork;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::DocError;
use crate::layout::{check_host_id, check_port_name};

/// The schema every document of this version writes and reads.
pub const SCHEMA: u32 = 1;

/// Decodes a document: JSON object, `schema` == [`SCHEMA`], then the typed fields (unknown keys
/// refused).
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DocError> {
    let value: Value = serde_json::from_slice(bytes)?;
    let Value::Object(obj) = &value else {
        return Err(DocError::NotObject);
    };
    match obj.get("schema") {
        None => return Err(DocError::NoSchema),
        Some(Value::Number(n)) if n.as_u64() == Some(u64::from(SCHEMA)) => {}
        Some(other) => {
            return Err(DocError::Schema {
                found: other.to_string(),
                supported: SCHEMA,
            })
        }
    }
    Ok(serde_json::from_value(value)?)
}

/// Encodes a document (compact JSON).
pub fn encode<T: Serialize>(doc: &T) -> Vec<u8> {
    // Serializing these plain structs (string keys, no non-string map keys) cannot fail; an
    // empty value would be refused by every reader rather than panic here.
    serde_json::to_vec(doc).unwrap_or_default()
}

/// `ROOT/ports/PORT`: one port's configuration and the hosts that may run it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortDoc {
    /// Always [`SCHEMA`].
    pub schema: u32,
    /// Host ids that may run the port, in no particular order (the election decides).
    pub candidates: Vec<String>,
    /// The port's configuration: the keys of a `[[port]]` table (peers under `peer`), validated
    /// by the embedder's validator (the crate does not interpret it). `name`, when present, must
    /// equal the znode's name.
    pub config: Map<String, Value>,
}

impl PortDoc {
    /// A document for `candidates` and `config`.
    pub fn new(candidates: Vec<String>, config: Map<String, Value>) -> PortDoc {
        PortDoc {
            schema: SCHEMA,
            candidates,
            config,
        }
    }

    /// Checks the layout's own rules: valid, distinct candidate ids (at least one), and a
    /// `name` equal to the port's.
    pub fn check(&self, port: &str) -> Result<(), DocError> {
        check_port_name(port).map_err(|e| DocError::Rule(e.to_string()))?;
        if self.candidates.is_empty() {
            return Err(DocError::Rule("no candidate host".into()));
        }
        for (i, c) in self.candidates.iter().enumerate() {
            check_host_id(c).map_err(|e| DocError::Rule(format!("candidates[{i}]: {e}")))?;
            if self.candidates[..i].contains(c) {
                return Err(DocError::Rule(format!(
                    "candidates[{i}]: {c:?} listed twice"
                )));
            }
        }
        match self.config.get("name") {
            None => Ok(()),
            Some(Value::String(n)) if n == port => Ok(()),
            Some(other) => Err(DocError::Rule(format!(
                "config.name {other} differs from the port's znode name {port:?}"
            ))),
        }
    }
}

/// `ROOT/announcements/PORT`: networks an SDN controller wants the port to announce in addition
/// to the configured ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnnouncementDoc {
    /// Always [`SCHEMA`].
    pub schema: u32,
    /// The networks (no duplicates).
    pub networks: Vec<IpNetwork>,
}

impl AnnouncementDoc {
    /// A document announcing `networks`.
    pub fn new(networks: Vec<IpNetwork>) -> AnnouncementDoc {
        AnnouncementDoc {
            schema: SCHEMA,
            networks,
        }
    }

    /// Refuses prefixes with host bits and duplicates (what bgpd's `network` would refuse or
    /// merge).
    pub fn check(&self) -> Result<(), DocError> {
        for (i, n) in self.networks.iter().enumerate() {
            if n.network() != n.ip() {
                return Err(DocError::Rule(format!(
                    "networks[{i}]: {n} has host bits set (network is {}/{})",
                    n.network(),
                    n.prefix()
                )));
            }
            if self.networks[..i].contains(n) {
                return Err(DocError::Rule(format!("networks[{i}]: {n} listed twice")));
            }
        }
        Ok(())
    }
}

/// What a host is doing, as published in its liveness znode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostState {
    /// Connected, running the ports it leads.
    Running,
    /// Stopping everything (shutdown).
    Leaving,
}

/// `ROOT/hosts/HOST` (ephemeral): the host is alive while its session is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostDoc {
    /// Always [`SCHEMA`].
    pub schema: u32,
    /// The host id (the znode's name).
    pub host: String,
    /// Process id of the controller.
    pub pid: u32,
    /// Its state.
    pub state: HostState,
    /// Ports it is the elected leader of and runs.
    pub active: Vec<String>,
    /// Milliseconds since the Unix epoch of this update.
    pub updated_ms: u64,
}

/// `ROOT/status/PORT`: the port's leader, its state and its last error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusDoc {
    /// Always [`SCHEMA`].
    pub schema: u32,
    /// The host that wrote it (the leader, or the first live host for a port without one).
    pub host: String,
    /// `active`, `no_leader`, or `invalid` (nothing valid to run yet).
    pub state: String,
    /// The last error about the port's stored values, if any (the running port is unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Version of `ROOT/ports/PORT` the running configuration comes from, if running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_version: Option<i32>,
    /// What the embedder reports about the running port (phase, peers, ...).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub detail: Value,
    /// Milliseconds since the Unix epoch of this update.
    pub updated_ms: u64,
}

/// One ECMP path of a published route.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishedPath {
    /// Next hop (the peer), if any.
    #[serde(default, rename = "gw", skip_serializing_if = "Option::is_none")]
    pub gateway: Option<IpAddr>,
    /// Administrative distance.
    #[serde(rename = "d")]
    pub distance: u8,
    /// Metric (MED).
    #[serde(default, rename = "m", skip_serializing_if = "is_zero")]
    pub metric: u32,
    /// ECMP weight, when bgpd gave one.
    #[serde(default, rename = "w", skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// `ROOT/routes/PORT/meta` (ephemeral): the commit point of a publication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutesMeta {
    /// Always [`SCHEMA`].
    pub schema: u32,
    /// The publishing host.
    pub host: String,
    /// Table version: grows with every publication of this host's session.
    pub version: u64,
    /// Chunk generation: chunk `i` is `gGENERATION-i`; a new generation re-partitions the table.
    pub generation: u64,
    /// Table version each chunk was last written at (one entry per chunk).
    pub chunks: Vec<u64>,
    /// Number of routes (prefixes).
    pub routes: u64,
}

/// `ROOT/routes/PORT/gG-I` (ephemeral): the routes whose prefix hashes to chunk `I`, as
/// decoded by [`decode_chunk`]. Serialized as is, this is the schema 1 chunk layout (still read);
/// this version writes schema 2 ([`crate::chunk`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteChunk {
    /// The schema the chunk was read from: 1, or [`CHUNK_SCHEMA`].
    pub schema: u32,
    /// Table version this chunk was written at.
    pub version: u64,
    /// `[prefix, [path, ...]]` pairs.
    pub routes: Vec<(IpNetwork, Vec<PublishedPath>)>,
}

pub use crate::chunk::{decode_chunk, CHUNK_SCHEMA};

/// A view of one port's published routes.
pub type RouteTable = BTreeMap<IpNetwork, Vec<PublishedPath>>;

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_docs_round_trip_and_bad_ones_are_refused() {
        let mut config = Map::new();
        config.insert("local_as".into(), Value::from(65001));
        let doc = PortDoc::new(vec!["h1".into(), "h2".into()], config);
        let back: PortDoc = decode(&encode(&doc)).unwrap();
        assert_eq!(back, doc);
        back.check("p1").unwrap();

        let e = decode::<PortDoc>(b"{not json").unwrap_err();
        assert!(matches!(e, DocError::Json(_)), "{e}");
        let e = decode::<PortDoc>(b"[1]").unwrap_err();
        assert!(matches!(e, DocError::NotObject), "{e}");
        let e = decode::<PortDoc>(br#"{"candidates":[],"config":{}}"#).unwrap_err();
        assert!(matches!(e, DocError::NoSchema), "{e}");
        let e = decode::<PortDoc>(br#"{"schema":2,"candidates":[],"config":{}}"#).unwrap_err();
        assert!(e.to_string().contains("schema 2 is not supported"), "{e}");
        let e = decode::<PortDoc>(br#"{"schema":"1","candidates":[],"config":{}}"#).unwrap_err();
        assert!(matches!(e, DocError::Schema { .. }), "{e}");
        let e =
            decode::<PortDoc>(br#"{"schema":1,"candidates":[],"config":{},"x":1}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `x`"), "{e}");
    }

    #[test]
    fn port_doc_rules() {
        let doc = |c: &[&str], name: Option<&str>| {
            let mut config = Map::new();
            if let Some(n) = name {
                config.insert("name".into(), Value::from(n));
            }
            PortDoc::new(c.iter().map(|s| s.to_string()).collect(), config)
        };
        assert!(doc(&["a"], Some("p")).check("p").is_ok());
        assert!(doc(&[], None).check("p").is_err());
        assert!(doc(&["a", "a"], None)
            .check("p")
            .unwrap_err()
            .to_string()
            .contains("twice"));
        assert!(doc(&["a b"], None).check("p").is_err());
        assert!(doc(&["a"], Some("q"))
            .check("p")
            .unwrap_err()
            .to_string()
            .contains("differs"));
    }

    #[test]
    fn announcements_refuse_host_bits_and_duplicates() {
        let n = |s: &str| s.parse::<IpNetwork>().unwrap();
        assert!(
            AnnouncementDoc::new(vec![n("203.0.113.0/24"), n("2001:db8::/32")])
                .check()
                .is_ok()
        );
        assert!(AnnouncementDoc::new(vec![n("203.0.113.1/24")])
            .check()
            .is_err());
        assert!(
            AnnouncementDoc::new(vec![n("203.0.113.0/24"), n("203.0.113.0/24")])
                .check()
                .is_err()
        );
    }

    #[test]
    fn chunks_are_compact() {
        let chunk = RouteChunk {
            schema: SCHEMA,
            version: 7,
            routes: vec![(
                "198.51.100.0/24".parse().unwrap(),
                vec![PublishedPath {
                    gateway: Some("192.0.2.2".parse().unwrap()),
                    distance: 20,
                    metric: 0,
                    weight: None,
                }],
            )],
        };
        let bytes = encode(&chunk);
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"{"schema":1,"version":7,"routes":[["198.51.100.0/24",[{"gw":"192.0.2.2","d":20}]]]}"#
        );
        assert_eq!(decode::<RouteChunk>(&bytes).unwrap(), chunk);
    }
}
