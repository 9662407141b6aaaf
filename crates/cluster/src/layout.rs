//! Where everything lives under the configurable root, and the `zk://` URL that names it.
//!
//! ```text
//! ROOT                                  {"schema":1,"layout":"midonet-bgp"}
//! ROOT/ports/PORT                       PortDoc: [[port]] keys + candidate hosts   (operator, SDN)
//! ROOT/announcements/PORT               AnnouncementDoc: extra networks             (SDN controller)
//! ROOT/hosts/HOST                       HostDoc, ephemeral: liveness and state      (each host)
//! ROOT/election/PORT/n_0000000042       ephemeral sequential, data = host id        (candidates)
//! ROOT/status/PORT                      StatusDoc: leader, state, error, detail     (leader / first host)
//! ROOT/routes/PORT/meta                 RoutesMeta, ephemeral: version, chunk list  (leader)
//! ROOT/routes/PORT/gG-I                 RouteChunk, ephemeral: routes of chunk I    (leader)
//! ROOT/runs/PORT                        RunDoc: last run, running or stopped cleanly (leader)
//! ```

use crate::error::ClusterError;

/// A parsed `zk://H:P[,H:P…]/ROOT` store URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreUrl {
    /// `H:P,H:P` as ZooKeeper clients take it.
    pub servers: String,
    /// The root znode, e.g. `/midonet-bgp`.
    pub root: String,
}

impl StoreUrl {
    /// Parses `zk://H:P[,H:P…]/ROOT`. Every server needs a host and a port; the root is an
    /// absolute znode path of valid names (see [`check_root`]).
    pub fn parse(url: &str) -> Result<StoreUrl, ClusterError> {
        let bad = |reason: &str| ClusterError::Url {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let rest = url
            .strip_prefix("zk://")
            .ok_or_else(|| bad("must start with zk://"))?;
        let slash = rest
            .find('/')
            .ok_or_else(|| bad("no root path (zk://H:P/ROOT)"))?;
        let (servers, root) = rest.split_at(slash);
        if servers.is_empty() {
            return Err(bad("no server"));
        }
        for s in servers.split(',') {
            let (host, port) = s
                .rsplit_once(':')
                .ok_or_else(|| bad("every server needs HOST:PORT"))?;
            if host.is_empty()
                || !host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'))
            {
                return Err(bad(
                    "a server host is empty or has characters a host name cannot have",
                ));
            }
            match port.parse::<u16>() {
                Ok(p) if p > 0 => {}
                _ => return Err(bad("a server port is not 1-65535")),
            }
        }
        check_root(root).map_err(|e| bad(&e.to_string()))?;
        Ok(StoreUrl {
            servers: servers.to_string(),
            root: root.to_string(),
        })
    }
}

/// Checks a root znode path: `/` followed by one or more `/`-separated names made of
/// `[A-Za-z0-9_.-]` (not `.` or `..`, not `zookeeper`), no trailing slash, at most 200 bytes.
pub fn check_root(root: &str) -> Result<(), ClusterError> {
    let bad = |reason| ClusterError::Name {
        kind: "root",
        name: root.to_string(),
        reason,
    };
    if root.len() > 200 {
        return Err(bad("longer than 200 bytes"));
    }
    let Some(rest) = root.strip_prefix('/') else {
        return Err(bad("must start with '/'"));
    };
    if rest.is_empty() {
        return Err(bad("must name a znode below '/'"));
    }
    for part in rest.split('/') {
        if part.is_empty() || part == "." || part == ".." {
            return Err(bad("empty, '.' or '..' component"));
        }
        if !part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err(bad(
                "components may only use letters, digits, '_', '.', '-'",
            ));
        }
    }
    if rest.split('/').next() == Some("zookeeper") {
        return Err(bad("/zookeeper is ZooKeeper's own subtree"));
    }
    Ok(())
}

/// Checks a port name: 1–32 of `[A-Za-z0-9_-]` (the `[[port]]` `name` rule).
pub fn check_port_name(name: &str) -> Result<(), ClusterError> {
    check_name("port name", name, 32, "1-32 of [A-Za-z0-9_-]")
}

/// Checks a host id: 1–64 of `[A-Za-z0-9_-]`.
pub fn check_host_id(name: &str) -> Result<(), ClusterError> {
    check_name("host id", name, 64, "1-64 of [A-Za-z0-9_-]")
}

fn check_name(
    kind: &'static str,
    name: &str,
    max: usize,
    rule: &'static str,
) -> Result<(), ClusterError> {
    let ok = !name.is_empty()
        && name.len() <= max
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ClusterError::Name {
            kind,
            name: name.to_string(),
            reason: rule,
        })
    }
}

/// The znode paths under one root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    root: String,
}

impl Layout {
    /// The layout under `root` (checked with [`check_root`]).
    pub fn new(root: &str) -> Result<Layout, ClusterError> {
        check_root(root)?;
        Ok(Layout {
            root: root.to_string(),
        })
    }

    /// The root znode.
    pub fn root(&self) -> &str {
        &self.root
    }
    /// Parent of the port documents.
    pub fn ports(&self) -> String {
        format!("{}/ports", self.root)
    }
    /// One port's document.
    pub fn port(&self, port: &str) -> String {
        format!("{}/ports/{port}", self.root)
    }
    /// Parent of the announcement documents.
    pub fn announcements(&self) -> String {
        format!("{}/announcements", self.root)
    }
    /// One port's announcements.
    pub fn announcement(&self, port: &str) -> String {
        format!("{}/announcements/{port}", self.root)
    }
    /// Parent of the host liveness znodes.
    pub fn hosts(&self) -> String {
        format!("{}/hosts", self.root)
    }
    /// One host's liveness znode.
    pub fn host(&self, host: &str) -> String {
        format!("{}/hosts/{host}", self.root)
    }
    /// Parent of every port's election.
    pub fn elections(&self) -> String {
        format!("{}/election", self.root)
    }
    /// One port's election (parent of the ephemeral sequential candidates).
    pub fn election(&self, port: &str) -> String {
        format!("{}/election/{port}", self.root)
    }
    /// Prefix of a candidate's sequential znode.
    pub fn election_prefix(&self, port: &str) -> String {
        format!("{}/election/{port}/n_", self.root)
    }
    /// Parent of the status documents.
    pub fn statuses(&self) -> String {
        format!("{}/status", self.root)
    }
    /// One port's status.
    pub fn status(&self, port: &str) -> String {
        format!("{}/status/{port}", self.root)
    }
    /// Parent of every port's published routes.
    pub fn routes(&self) -> String {
        format!("{}/routes", self.root)
    }
    /// One port's published routes (parent of `meta` and the chunks).
    pub fn port_routes(&self, port: &str) -> String {
        format!("{}/routes/{port}", self.root)
    }
    /// One port's route metadata (the commit point of a publication).
    pub fn routes_meta(&self, port: &str) -> String {
        format!("{}/routes/{port}/meta", self.root)
    }
    /// Parent of the run records.
    pub fn runs(&self) -> String {
        format!("{}/runs", self.root)
    }
    /// One port's run record (who last ran it, and whether that run stopped cleanly).
    pub fn run(&self, port: &str) -> String {
        format!("{}/runs/{port}", self.root)
    }
    /// Name (not path) of chunk `index` of generation `generation`.
    pub fn chunk_name(generation: u64, index: usize) -> String {
        format!("g{generation}-{index}")
    }
    /// Path of chunk `index` of generation `generation` of `port`.
    pub fn chunk(&self, port: &str, generation: u64, index: usize) -> String {
        format!(
            "{}/routes/{port}/{}",
            self.root,
            Layout::chunk_name(generation, index)
        )
    }
    /// Every persistent parent znode the layout needs.
    pub fn parents(&self) -> Vec<String> {
        vec![
            self.ports(),
            self.announcements(),
            self.hosts(),
            self.elections(),
            self.statuses(),
            self.routes(),
            self.runs(),
        ]
    }
}

/// Parses a chunk name `gG-I` into (generation, index).
pub fn parse_chunk_name(name: &str) -> Option<(u64, usize)> {
    let (g, i) = name.strip_prefix('g')?.split_once('-')?;
    Some((g.parse().ok()?, i.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_bad_ones_say_why() {
        let u = StoreUrl::parse("zk://127.0.0.1:2181,zk2:2182/midonet/bgp").unwrap();
        assert_eq!(u.servers, "127.0.0.1:2181,zk2:2182");
        assert_eq!(u.root, "/midonet/bgp");
        for (bad, why) in [
            ("http://h:1/r", "zk://"),
            ("zk://h:1", "root"),
            ("zk:///r", "no server"),
            ("zk://h/r", "HOST:PORT"),
            ("zk://h:0/r", "1-65535"),
            ("zk://h:70000/r", "1-65535"),
            ("zk://h:1/", "below"),
            ("zk://h:1/a//b", "empty"),
            ("zk://h:1/a/", "empty"),
            ("zk://h:1/a b", "letters"),
            ("zk://h:1/zookeeper", "ZooKeeper's own"),
            ("zk://h;x:1/r", "host"),
        ] {
            let e = StoreUrl::parse(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn names_follow_the_port_rule() {
        assert!(check_port_name("uplink-1_a").is_ok());
        assert!(check_port_name("").is_err());
        assert!(check_port_name(&"a".repeat(33)).is_err());
        assert!(check_port_name("a/b").is_err());
        assert!(check_port_name("a.b").is_err());
        assert!(check_host_id("host-1").is_ok());
        assert!(check_host_id("host 1").is_err());
    }

    #[test]
    fn chunk_names_round_trip() {
        let l = Layout::new("/r").unwrap();
        assert_eq!(l.chunk("p", 3, 17), "/r/routes/p/g3-17");
        assert_eq!(parse_chunk_name("g3-17"), Some((3, 17)));
        assert_eq!(parse_chunk_name("meta"), None);
        assert_eq!(parse_chunk_name("gx-1"), None);
    }
}
