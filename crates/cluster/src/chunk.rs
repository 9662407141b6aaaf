//! The route chunk codec (`ROOT/routes/PORT/gG-I`).
//!
//! Schema 2, written by this version, lists each distinct set of paths once and the prefixes
//! reached through it after it:
//!
//! ```text
//! {"schema":2,"version":17,"groups":[{"paths":[{"gw":"192.0.2.2","d":20}],"prefixes":["198.51.100.0/24","203.0.113.0/24"]}]}
//! ```
//!
//! A full table learned from a few peers has a few path sets, so a route costs its prefix
//! string (about 14 bytes for an IPv4 /24) instead of the prefix plus its paths (47 bytes with
//! one path, 71 with two, in schema 1). Groups are sorted by their paths, prefixes within a
//! group in address order, so one table state always encodes to the same bytes.
//!
//! Schema 1 chunks (`{"schema":1,"version":…,"routes":[["198.51.100.0/24",[{…}]],…]}`, written
//! by earlier versions) are still read. Both decode to a [`RouteChunk`].

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use ipnetwork::IpNetwork;
use serde::Deserialize;
use serde_json::Value;

use crate::doc::{PublishedPath, RouteChunk};
use crate::error::DocError;

/// The chunk schema this version writes (it reads 1 and 2).
pub const CHUNK_SCHEMA: u32 = 2;

/// Encodes routes as a schema 2 chunk at table version `version` (any order in; sorted out).
pub(crate) fn encode_chunk<'a>(
    version: u64,
    routes: impl IntoIterator<Item = (&'a IpNetwork, &'a Vec<PublishedPath>)>,
) -> Vec<u8> {
    // Group by path set; a hint to the last group used skips the hash in the common case of
    // one or few path sets.
    let mut groups: Vec<(&'a [PublishedPath], Vec<&'a IpNetwork>)> = Vec::new();
    let mut index: HashMap<&'a [PublishedPath], usize> = HashMap::new();
    let mut last = usize::MAX;
    let mut count = 0usize;
    for (prefix, paths) in routes {
        count += 1;
        let paths = paths.as_slice();
        let g = match groups.get(last) {
            Some((p, _)) if *p == paths => last,
            _ => *index.entry(paths).or_insert_with(|| {
                groups.push((paths, Vec::new()));
                groups.len() - 1
            }),
        };
        if let Some((_, v)) = groups.get_mut(g) {
            v.push(prefix);
        }
        last = g;
    }
    groups.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut out = Vec::with_capacity(64 + count * 16);
    out.extend_from_slice(b"{\"schema\":2,\"version\":");
    push_u64(&mut out, version);
    out.extend_from_slice(b",\"groups\":[");
    for (i, (paths, mut prefixes)) in groups.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"paths\":");
        if serde_json::to_writer(&mut out, paths).is_err() {
            // Plain structs cannot fail to serialize; an empty value would be refused by every
            // reader rather than panic here.
            return Vec::new();
        }
        out.extend_from_slice(b",\"prefixes\":[");
        prefixes.sort_unstable();
        for (j, p) in prefixes.into_iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            out.push(b'"');
            push_prefix(&mut out, p);
            out.push(b'"');
        }
        out.extend_from_slice(b"]}");
    }
    out.extend_from_slice(b"]}");
    out
}

fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut n = 0;
    loop {
        if let Some(d) = digits.get_mut(n) {
            *d = b'0' + (v % 10) as u8;
        }
        n += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend(digits.iter().take(n).rev());
}

fn push_u8(out: &mut Vec<u8>, v: u8) {
    if v >= 100 {
        out.push(b'0' + v / 100);
    }
    if v >= 10 {
        out.push(b'0' + v / 10 % 10);
    }
    out.push(b'0' + v % 10);
}

/// Writes `a.b.c.d/len` (IPv4, by hand: the bulk of a full table) or the standard IPv6 text.
fn push_prefix(out: &mut Vec<u8>, p: &IpNetwork) {
    match p {
        IpNetwork::V4(n) => {
            let [a, b, c, d] = n.ip().octets();
            push_u8(out, a);
            out.push(b'.');
            push_u8(out, b);
            out.push(b'.');
            push_u8(out, c);
            out.push(b'.');
            push_u8(out, d);
        }
        IpNetwork::V6(n) => {
            let mut s = String::with_capacity(40);
            // Writing to a String cannot fail.
            let _ = write!(s, "{}", n.ip());
            out.extend_from_slice(s.as_bytes());
        }
    }
    out.push(b'/');
    push_u8(out, p.prefix());
}

/// Parses `ADDRESS/LENGTH` strictly: a full IPv4 or IPv6 address, a decimal length within the
/// family's bits.
fn parse_prefix(s: &str) -> Result<IpNetwork, &'static str> {
    let (addr, len) = s.split_once('/').ok_or("is not ADDRESS/LENGTH")?;
    if len.is_empty() || len.len() > 3 || !len.bytes().all(|b| b.is_ascii_digit()) {
        return Err("has no decimal prefix length");
    }
    let len: u8 = len.parse().map_err(|_| "has a prefix length over 255")?;
    let ip: IpAddr = if addr.contains(':') {
        IpAddr::V6(addr.parse().map_err(|_| "has an invalid IPv6 address")?)
    } else {
        IpAddr::V4(
            addr.parse::<Ipv4Addr>()
                .map_err(|_| "has an invalid IPv4 address")?,
        )
    };
    IpNetwork::new(ip, len).map_err(|_| "has a prefix length beyond the address's bits")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireChunk<'a> {
    schema: u32,
    version: u64,
    #[serde(borrow)]
    groups: Vec<WireGroup<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireGroup<'a> {
    paths: Vec<PublishedPath>,
    #[serde(borrow)]
    prefixes: Vec<Cow<'a, str>>,
}

fn field(field: String, reason: String) -> DocError {
    DocError::Field { field, reason }
}

impl WireChunk<'_> {
    /// The chunk's routes; every prefix valid and listed once, every group with a path.
    fn into_chunk(self) -> Result<RouteChunk, DocError> {
        let total = self.groups.iter().map(|g| g.prefixes.len()).sum();
        let mut routes = Vec::with_capacity(total);
        let mut seen: HashSet<IpNetwork> = HashSet::with_capacity(total);
        for (g, group) in self.groups.into_iter().enumerate() {
            if group.paths.is_empty() {
                return Err(field(
                    format!("groups[{g}].paths"),
                    "is empty (a route needs at least one path)".into(),
                ));
            }
            for (j, s) in group.prefixes.iter().enumerate() {
                let at = || format!("groups[{g}].prefixes[{j}]");
                let p = parse_prefix(s).map_err(|why| field(at(), format!("{s:?} {why}")))?;
                if !seen.insert(p) {
                    return Err(field(at(), format!("{p} is listed twice")));
                }
                routes.push((p, group.paths.clone()));
            }
        }
        Ok(RouteChunk {
            schema: self.schema,
            version: self.version,
            routes,
        })
    }
}

/// Decodes a route chunk of schema 2 or 1 (see the module docs). The typed one-pass parser
/// handles valid chunks; anything it refuses goes through the generic document check (object,
/// `schema`, unknown keys and types), so a bad chunk gets exactly the error any other document
/// would, and a bad prefix or path group a [`DocError::Field`] naming it.
pub fn decode_chunk(bytes: &[u8]) -> Result<RouteChunk, DocError> {
    if let Ok(wire) = serde_json::from_slice::<WireChunk>(bytes) {
        if wire.schema == CHUNK_SCHEMA {
            return wire.into_chunk();
        }
    } else if let Ok(chunk) = serde_json::from_slice::<RouteChunk>(bytes) {
        if chunk.schema == 1 {
            return Ok(chunk);
        }
    }
    // Refused by both: the precise reason.
    let value: Value = serde_json::from_slice(bytes)?;
    let Value::Object(obj) = &value else {
        return Err(DocError::NotObject);
    };
    match obj.get("schema").map(Value::as_u64) {
        None => Err(DocError::NoSchema),
        Some(Some(1)) => Ok(serde_json::from_value::<RouteChunk>(value)?),
        Some(Some(2)) => {
            // Owned strings here (a `Value` is not borrowed from `bytes`).
            let text = value.to_string();
            serde_json::from_str::<WireChunk>(&text)?.into_chunk()
        }
        Some(_) => Err(DocError::Schema {
            found: obj.get("schema").map(Value::to_string).unwrap_or_default(),
            supported: CHUNK_SCHEMA,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(gw: &str, d: u8) -> PublishedPath {
        PublishedPath {
            gateway: Some(gw.parse().unwrap()),
            distance: d,
            metric: 0,
            weight: None,
        }
    }

    fn net(s: &str) -> IpNetwork {
        s.parse().unwrap()
    }

    const GOLDEN: &str = concat!(
        r#"{"schema":2,"version":7,"groups":["#,
        r#"{"paths":[{"gw":"192.0.2.2","d":20}],"prefixes":["10.0.0.0/8","198.51.100.0/24","2001:db8::/32"]},"#,
        r#"{"paths":[{"gw":"192.0.2.2","d":20},{"gw":"192.0.2.3","d":20,"m":5,"w":2}],"prefixes":["203.0.113.128/25"]}"#,
        r#"]}"#
    );

    fn golden_routes() -> Vec<(IpNetwork, Vec<PublishedPath>)> {
        let one = vec![path("192.0.2.2", 20)];
        let mut w = path("192.0.2.3", 20);
        w.metric = 5;
        w.weight = Some(2);
        let two = vec![path("192.0.2.2", 20), w];
        vec![
            (net("10.0.0.0/8"), one.clone()),
            (net("198.51.100.0/24"), one.clone()),
            (net("2001:db8::/32"), one),
            (net("203.0.113.128/25"), two),
        ]
    }

    #[test]
    fn golden_encoding_both_ways() {
        let routes = golden_routes();
        // Any input order encodes to the same bytes.
        let bytes = encode_chunk(7, routes.iter().rev().map(|(p, v)| (p, v)));
        assert_eq!(String::from_utf8(bytes.clone()).unwrap(), GOLDEN);
        let bytes2 = encode_chunk(7, routes.iter().map(|(p, v)| (p, v)));
        assert_eq!(bytes, bytes2);
        let chunk = decode_chunk(GOLDEN.as_bytes()).unwrap();
        assert_eq!(chunk.schema, 2);
        assert_eq!(chunk.version, 7);
        assert_eq!(chunk.routes, routes);
        // Smaller than schema 1 for the same routes.
        let v1 = crate::doc::encode(&RouteChunk {
            schema: 1,
            version: 7,
            routes: routes.clone(),
        });
        assert!(bytes.len() < v1.len(), "{} vs {}", bytes.len(), v1.len());
    }

    #[test]
    fn an_empty_chunk_and_edge_prefixes_round_trip() {
        let e: Vec<(IpNetwork, Vec<PublishedPath>)> = Vec::new();
        let bytes = encode_chunk(0, e.iter().map(|(p, v)| (p, v)));
        assert_eq!(bytes, br#"{"schema":2,"version":0,"groups":[]}"#);
        assert!(decode_chunk(&bytes).unwrap().routes.is_empty());
        let one = vec![path("2001:db8::1", 200)];
        let routes: Vec<_> = [
            "0.0.0.0/0",
            "255.255.255.255/32",
            "100.64.7.0/24",
            "::/0",
            "2001:db8:0:1::/64",
        ]
        .iter()
        .map(|s| (net(s), one.clone()))
        .collect();
        let bytes = encode_chunk(u64::MAX, routes.iter().map(|(p, v)| (p, v)));
        let back = decode_chunk(&bytes).unwrap();
        assert_eq!(back.version, u64::MAX);
        let mut want = routes.clone();
        want.sort();
        assert_eq!(back.routes, want);
    }

    #[test]
    fn schema_1_chunks_are_still_read() {
        let v1 = r#"{"schema":1,"version":7,"routes":[["198.51.100.0/24",[{"gw":"192.0.2.2","d":20}]]]}"#;
        let c = decode_chunk(v1.as_bytes()).unwrap();
        assert_eq!(c.schema, 1);
        assert_eq!(
            c.routes,
            vec![(net("198.51.100.0/24"), vec![path("192.0.2.2", 20)])]
        );
    }

    fn err(s: &str) -> DocError {
        decode_chunk(s.as_bytes()).unwrap_err()
    }

    #[test]
    fn bad_chunks_get_typed_errors_naming_the_field() {
        let bad_prefix = r#"{"schema":2,"version":1,"groups":[{"paths":[{"d":20}],"prefixes":["10.0.0.0/8","10.0.0/8"]}]}"#;
        match err(bad_prefix) {
            DocError::Field { field, reason } => {
                assert_eq!(field, "groups[0].prefixes[1]");
                assert!(reason.contains("\"10.0.0/8\""), "{reason}");
                assert!(reason.contains("IPv4"), "{reason}");
            }
            e => panic!("{e}"),
        }
        for (prefix, why) in [
            ("10.0.0.0", "ADDRESS/LENGTH"),
            ("10.0.0.0/", "decimal"),
            ("10.0.0.0/+8", "decimal"),
            ("10.0.0.0/33", "beyond"),
            ("10.0.0.0/300", "over 255"),
            ("2001:db8::g/32", "IPv6"),
            ("2001:db8::/129", "beyond"),
        ] {
            let doc = format!(
                r#"{{"schema":2,"version":1,"groups":[{{"paths":[{{"d":20}}],"prefixes":["{prefix}"]}}]}}"#
            );
            let e = err(&doc);
            assert!(
                matches!(&e, DocError::Field { field, reason } if field == "groups[0].prefixes[0]" && reason.contains(why)),
                "{prefix}: {e}"
            );
        }
        let twice = r#"{"schema":2,"version":1,"groups":[{"paths":[{"d":20}],"prefixes":["10.0.0.0/8"]},{"paths":[{"d":30}],"prefixes":["10.0.0.0/8"]}]}"#;
        let e = err(twice);
        assert!(
            matches!(&e, DocError::Field { field, reason } if field == "groups[1].prefixes[0]" && reason.contains("twice")),
            "{e}"
        );
        let no_paths =
            r#"{"schema":2,"version":1,"groups":[{"paths":[],"prefixes":["10.0.0.0/8"]}]}"#;
        let e = err(no_paths);
        assert!(
            matches!(&e, DocError::Field { field, .. } if field == "groups[0].paths"),
            "{e}"
        );
        // The generic checks, as for any document.
        assert!(matches!(err("[1]"), DocError::NotObject));
        assert!(matches!(err("{not json"), DocError::Json(_)));
        assert!(matches!(
            err(r#"{"version":1,"groups":[]}"#),
            DocError::NoSchema
        ));
        let e = err(r#"{"schema":3,"version":1,"groups":[]}"#);
        assert!(
            matches!(&e, DocError::Schema { found, supported: 2 } if found == "3"),
            "{e}"
        );
        assert!(matches!(
            err(r#"{"schema":"2","version":1,"groups":[]}"#),
            DocError::Schema { .. }
        ));
        let e = err(r#"{"schema":2,"version":1,"groups":[],"x":1}"#);
        assert!(e.to_string().contains("unknown field `x`"), "{e}");
        let e = err(r#"{"schema":2,"version":1,"groups":[{"paths":[{"d":20}],"prefix":[]}]}"#);
        assert!(e.to_string().contains("unknown field `prefix`"), "{e}");
        let e = err(r#"{"schema":2,"version":1,"groups":[{"paths":[{"d":"x"}],"prefixes":[]}]}"#);
        assert!(matches!(e, DocError::Json(_)), "{e}");
        // A schema 1 layout under schema 2 (or the reverse) is refused.
        let e = err(r#"{"schema":2,"version":1,"routes":[]}"#);
        assert!(e.to_string().contains("unknown field `routes`"), "{e}");
        let e = err(r#"{"schema":1,"version":1,"groups":[]}"#);
        assert!(e.to_string().contains("unknown field `groups`"), "{e}");
        // An escaped (not borrowable) prefix string is still a prefix.
        let c = decode_chunk(
            br#"{"schema":2,"version":1,"groups":[{"paths":[{"d":20}],"prefixes":["\u0031.0.0.0/8"]}]}"#,
        )
        .unwrap();
        assert_eq!(c.routes[0].0, net("1.0.0.0/8"));
    }
}
