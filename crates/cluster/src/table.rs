//! The publisher's side of chunked route publication, sans I/O: one port's learned routes
//! partitioned by a hash of the prefix into a power-of-two number of chunks, each chunk encoded
//! well below ZooKeeper's 1 MB znode limit. A change dirties only its prefix's chunk, so an
//! update rewrites one small znode, not the table; a table that outgrows its chunks is
//! re-partitioned into a new generation (more chunks), written before the meta document points
//! at it.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use ipnetwork::IpNetwork;

use crate::chunk::encode_chunk;
use crate::doc::{encode, PublishedPath, RoutesMeta, SCHEMA};

/// Default upper bound of one chunk's encoded size (ZooKeeper refuses values over ~1 MB).
pub const DEFAULT_MAX_CHUNK_BYTES: usize = 256 * 1024;
/// The first estimate of a route's encoded size, before a publication measured it.
const INITIAL_BYTES_PER_ROUTE: usize = 20;
/// Largest number of chunks of one port (2^16 × 256 KiB = 16 GiB: never reached in practice).
const MAX_CHUNKS: usize = 1 << 16;

/// One change of a port's learned routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableChange {
    /// `prefix` is reachable through exactly these paths (an empty list withdraws it).
    Replace(IpNetwork, Vec<PublishedPath>),
    /// `prefix` is gone.
    Withdraw(IpNetwork),
    /// Every route is gone (the port stopped).
    Clear,
}

/// The chunk a prefix belongs to among `count` (a power of two) chunks: a mix of the address
/// bytes and the length, stable across versions and hosts.
pub fn chunk_of(prefix: &IpNetwork, count: usize) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    };
    match prefix {
        IpNetwork::V4(n) => n.ip().octets().into_iter().for_each(&mut feed),
        IpNetwork::V6(n) => n.ip().octets().into_iter().for_each(&mut feed),
    }
    feed(prefix.prefix());
    // splitmix64 finaliser: FNV's low bits alone are weak.
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h as usize) & (count - 1)
}

/// When to publish next (sans I/O; the member feeds it the clock). Changes are gathered for
/// `interval` after the first one, and a publication that took D is followed by a rest of
/// [`REST_FACTOR`] × D while changes keep coming: while a full table streams in (every batch
/// dirties nearly every chunk, since prefixes are spread by hash), the publisher spends about a
/// ninth of the time writing (its CPU is what the bgpd feeding it needs), each publication
/// carries everything that arrived meanwhile, and the table is written a number of times that
/// grows with the logarithm of its size instead of once per batch. When the changes stop (none
/// for two intervals, or for D if that is longer: bgpd delivers a full table in bursts with
/// short gaps, which must not end the rest) the burst is over and the rest ends at once, so the
/// last state of a burst is published promptly.
#[derive(Debug, Clone)]
pub struct FlushPacer {
    interval: Duration,
    rest_until: Option<Instant>,
    last_took: Duration,
}

/// A publication that took D is followed by up to `REST_FACTOR` × D without one. D is the
/// publisher's own time; each publication also costs ZooKeeper and every watcher about as much
/// again, on the same cores as the bgpd streaming the table: at 3 a million-route table reached
/// a watcher in another process in 25.0 s, at 8 in 18.8–20.8 s (`benches/cluster.sh`,
/// docs/benchmarks.md).
pub const REST_FACTOR: u32 = 8;

impl FlushPacer {
    /// A pacer gathering changes for `interval`.
    pub fn new(interval: Duration) -> FlushPacer {
        FlushPacer {
            interval,
            rest_until: None,
            last_took: Duration::ZERO,
        }
    }

    /// When to publish changes of which the first arrived at `first_change` and the latest at
    /// `last_change`.
    pub fn due(&self, first_change: Instant, last_change: Instant) -> Instant {
        let gathered = first_change + self.interval;
        match self.rest_until {
            Some(rest) if rest > gathered => {
                let quiet = last_change + (self.interval * 2).max(self.last_took);
                rest.min(quiet.max(gathered))
            }
            _ => gathered,
        }
    }

    /// A publication ran from `started` to `ended`.
    pub fn published(&mut self, started: Instant, ended: Instant) {
        let took = ended.saturating_duration_since(started);
        self.last_took = took;
        self.rest_until = Some(ended + took.saturating_mul(REST_FACTOR));
    }
}

/// One chunk write of a [`Flush`].
#[derive(Debug, Clone)]
pub struct ChunkWrite {
    /// Chunk index.
    pub index: usize,
    /// Encoded [`crate::doc::RouteChunk`].
    pub data: Vec<u8>,
    /// The chunk was never written in this generation and session (create it rather than
    /// overwrite it: a new generation's chunks are sent once, not tried as an update first).
    pub fresh: bool,
}

/// What to write to publish the table's current state: the dirty chunks, then the meta
/// document, then the deletion of a replaced generation's chunks.
#[derive(Debug, Clone)]
pub struct Flush {
    /// Generation of the chunks written.
    pub generation: u64,
    /// Table version published.
    pub version: u64,
    /// Chunks to write (create or overwrite).
    pub chunks: Vec<ChunkWrite>,
    /// Encoded [`RoutesMeta`], written after every chunk.
    pub meta: Vec<u8>,
    /// Chunks of older generations to delete after the meta: (generation, chunk count).
    pub delete: Vec<(u64, usize)>,
}

/// One port's routes, chunked, with what is not yet written.
#[derive(Debug)]
pub struct ChunkedTable {
    host: String,
    max_chunk_bytes: usize,
    chunks: Vec<HashMap<IpNetwork, Vec<PublishedPath>>>,
    chunk_versions: Vec<u64>,
    /// Chunks written in this generation and session (their znodes exist).
    written: Vec<bool>,
    dirty: BTreeSet<usize>,
    generation: u64,
    version: u64,
    routes: usize,
    meta_dirty: bool,
    /// Generations whose chunks may exist in the store and must be deleted once the meta no
    /// longer points at them.
    stale: Vec<(u64, usize)>,
    bytes_per_route: usize,
}

impl ChunkedTable {
    /// An empty table published by `host`, chunks at most `max_chunk_bytes` (at least 4 KiB).
    pub fn new(host: &str, max_chunk_bytes: usize) -> ChunkedTable {
        ChunkedTable {
            host: host.to_string(),
            max_chunk_bytes: max_chunk_bytes.max(4096),
            chunks: vec![HashMap::new()],
            chunk_versions: vec![0],
            written: vec![false],
            dirty: BTreeSet::from([0]),
            generation: 1,
            version: 0,
            routes: 0,
            meta_dirty: true,
            stale: Vec::new(),
            // A schema 2 chunk's IPv4 route is about 14-17 bytes (IPv6 more): a first estimate
            // well above it would partition a large table into 4 × too many chunks, and the next
            // publication would re-partition (rewrite) it all; one below is corrected by the
            // plan's doubling.
            bytes_per_route: INITIAL_BYTES_PER_ROUTE,
        }
    }

    /// Number of prefixes.
    pub fn len(&self) -> usize {
        self.routes
    }

    /// True when no prefix is known.
    pub fn is_empty(&self) -> bool {
        self.routes == 0
    }

    /// Number of chunks.
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// True when something is not yet written.
    pub fn is_dirty(&self) -> bool {
        self.meta_dirty || !self.dirty.is_empty() || !self.stale.is_empty()
    }

    /// Applies one change; returns whether the table changed.
    pub fn apply(&mut self, change: TableChange) -> bool {
        match change {
            TableChange::Replace(prefix, paths) if paths.is_empty() => {
                self.apply(TableChange::Withdraw(prefix))
            }
            TableChange::Replace(prefix, mut paths) => {
                paths.sort();
                paths.dedup();
                let i = chunk_of(&prefix, self.chunks.len());
                match self.chunks[i].insert(prefix, paths.clone()) {
                    Some(old) if old == paths => false,
                    old => {
                        if old.is_none() {
                            self.routes += 1;
                        }
                        self.dirty.insert(i);
                        true
                    }
                }
            }
            TableChange::Withdraw(prefix) => {
                let i = chunk_of(&prefix, self.chunks.len());
                if self.chunks[i].remove(&prefix).is_some() {
                    self.routes -= 1;
                    self.dirty.insert(i);
                    true
                } else {
                    false
                }
            }
            TableChange::Clear => {
                if self.routes == 0 {
                    return false;
                }
                let n = self.chunks.len();
                self.chunks = vec![HashMap::new(); n];
                self.routes = 0;
                self.dirty.extend(0..n);
                true
            }
        }
    }

    /// The store lost what was written (a new session: ephemeral znodes are gone): everything
    /// is written again on the next flush.
    pub fn forget_written(&mut self) {
        self.dirty.extend(0..self.chunks.len());
        self.written.fill(false);
        self.meta_dirty = true;
        self.stale.clear();
    }

    fn wanted_chunks(&self) -> usize {
        let bytes = self.routes.saturating_mul(self.bytes_per_route);
        let per_chunk = (self.max_chunk_bytes / 2).max(1);
        bytes
            .div_ceil(per_chunk)
            .next_power_of_two()
            .clamp(1, MAX_CHUNKS)
    }

    fn repartition(&mut self, count: usize) {
        let old = std::mem::take(&mut self.chunks);
        self.stale.push((self.generation, old.len()));
        self.generation += 1;
        self.chunks = vec![HashMap::new(); count];
        for (prefix, paths) in old.into_iter().flatten() {
            let i = chunk_of(&prefix, count);
            self.chunks[i].insert(prefix, paths);
        }
        self.chunk_versions = vec![0; count];
        self.written = vec![false; count];
        self.dirty = (0..count).collect();
        self.meta_dirty = true;
    }

    fn encode_chunk(&self, i: usize, version: u64) -> Vec<u8> {
        // Borrowed, not copied: a full table's chunks are encoded in one plan.
        match self.chunks.get(i) {
            Some(c) => encode_chunk(version, c),
            None => Vec::new(),
        }
    }

    /// Plans the writes that publish the current state, or `None` when everything is written.
    /// The table counts the plan as written; call [`ChunkedTable::failed`] with it if writing
    /// it fails.
    pub fn plan(&mut self) -> Option<Flush> {
        if !self.is_dirty() {
            return None;
        }
        let n = self.chunks.len();
        let wanted = self.wanted_chunks();
        if wanted > n || (n > 1 && wanted * 4 <= n) {
            self.repartition(wanted);
        }
        let version = self.version + 1;
        let mut writes: Vec<ChunkWrite> = Vec::new();
        loop {
            writes.clear();
            let mut too_big = false;
            for &i in &self.dirty {
                let data = self.encode_chunk(i, version);
                too_big |= data.len() > self.max_chunk_bytes;
                writes.push(ChunkWrite {
                    index: i,
                    data,
                    fresh: !self.written[i],
                });
            }
            if !too_big || self.chunks.len() >= MAX_CHUNKS {
                break;
            }
            // Skewed or larger routes than estimated: double the chunks and encode again.
            let sizes: usize = writes.iter().map(|w| w.data.len()).sum();
            let routes: usize = writes.iter().map(|w| self.chunks[w.index].len()).sum();
            self.bytes_per_route = (sizes / routes.max(1)).max(self.bytes_per_route);
            let count = (self.chunks.len() * 2).min(MAX_CHUNKS);
            self.repartition(count);
        }
        let (bytes, routes) = writes.iter().fold((0usize, 0usize), |(b, r), w| {
            (b + w.data.len(), r + self.chunks[w.index].len())
        });
        if let Some(per_route) = bytes.checked_div(routes) {
            self.bytes_per_route = per_route.max(16);
        }
        for w in &writes {
            self.chunk_versions[w.index] = version;
            self.written[w.index] = true;
        }
        self.version = version;
        self.dirty.clear();
        self.meta_dirty = false;
        let meta = encode(&RoutesMeta {
            schema: SCHEMA,
            host: self.host.clone(),
            version,
            generation: self.generation,
            chunks: self.chunk_versions.clone(),
            routes: self.routes as u64,
        });
        Some(Flush {
            generation: self.generation,
            version,
            chunks: writes,
            meta,
            delete: std::mem::take(&mut self.stale),
        })
    }

    /// Writing `flush` failed: its chunks, the meta and its deletions are due again.
    pub fn failed(&mut self, flush: Flush) {
        if flush.generation == self.generation {
            for w in &flush.chunks {
                self.dirty.insert(w.index);
                // Unknown whether it was created: a create that finds it falls back to a set.
                self.written[w.index] &= !w.fresh;
            }
        }
        self.meta_dirty = true;
        self.stale.extend(flush.delete);
    }

    /// The routes of the table (sorted), for tests and status.
    pub fn routes(&self) -> Vec<(IpNetwork, Vec<PublishedPath>)> {
        let mut v: Vec<_> = self
            .chunks
            .iter()
            .flatten()
            .map(|(p, x)| (*p, x.clone()))
            .collect();
        v.sort_unstable_by_key(|r| r.0);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::{decode, decode_chunk};

    fn path(gw: &str) -> PublishedPath {
        PublishedPath {
            gateway: Some(gw.parse().unwrap()),
            distance: 20,
            metric: 0,
            weight: None,
        }
    }

    fn prefix(i: u32) -> IpNetwork {
        let a = 0xC612_0000u32 + (i << 8); // 198.18.0.0/15 and up, /24s
        IpNetwork::new(std::net::Ipv4Addr::from(a).into(), 24).unwrap()
    }

    #[test]
    fn chunk_of_is_stable_and_spreads() {
        let mut counts = [0usize; 8];
        for i in 0..8000 {
            counts[chunk_of(&prefix(i), 8)] += 1;
        }
        for c in counts {
            assert!((800..1200).contains(&c), "{counts:?}");
        }
        assert_eq!(chunk_of(&prefix(5), 8), chunk_of(&prefix(5), 8));
    }

    #[test]
    fn a_change_rewrites_only_its_chunk() {
        let mut t = ChunkedTable::new("h1", 8192);
        for i in 0..2000 {
            t.apply(TableChange::Replace(prefix(i), vec![path("192.0.2.2")]));
        }
        let f = t.plan().unwrap();
        let n = t.chunk_count();
        assert!(n >= 16, "{n} chunks");
        assert_eq!(f.chunks.len(), n);
        for w in &f.chunks {
            assert!(
                w.data.len() <= 8192,
                "chunk {} is {} bytes",
                w.index,
                w.data.len()
            );
        }
        assert!(t.plan().is_none());
        // One replace, one withdraw, one no-op.
        assert!(t.apply(TableChange::Replace(prefix(3), vec![path("192.0.2.3")])));
        assert!(t.apply(TableChange::Withdraw(prefix(4))));
        assert!(!t.apply(TableChange::Replace(prefix(5), vec![path("192.0.2.2")])));
        let f2 = t.plan().unwrap();
        assert!(
            f.chunks.iter().all(|w| w.fresh),
            "a new generation is created"
        );
        assert!(
            f2.chunks.iter().all(|w| !w.fresh),
            "written chunks are updated"
        );
        let expect: BTreeSet<usize> = [chunk_of(&prefix(3), n), chunk_of(&prefix(4), n)].into();
        let got: BTreeSet<usize> = f2.chunks.iter().map(|w| w.index).collect();
        assert_eq!(got, expect);
        assert_eq!(f2.version, f.version + 1);
        let meta: RoutesMeta = decode(&f2.meta).unwrap();
        assert_eq!(meta.routes, 1999);
        assert_eq!(meta.chunks.len(), n);
        for i in 0..n {
            let want = if expect.contains(&i) {
                f2.version
            } else {
                f.version
            };
            assert_eq!(meta.chunks[i], want);
        }
    }

    #[test]
    fn growth_makes_a_new_generation_and_deletes_the_old_one() {
        let mut t = ChunkedTable::new("h1", 4096);
        t.apply(TableChange::Replace(prefix(1), vec![path("192.0.2.2")]));
        let f1 = t.plan().unwrap();
        assert_eq!(f1.chunks.len(), 1);
        for i in 0..3000 {
            t.apply(TableChange::Replace(prefix(i), vec![path("192.0.2.2")]));
        }
        let f2 = t.plan().unwrap();
        assert!(f2.generation > f1.generation);
        assert!(f2.delete.contains(&(f1.generation, 1)), "{:?}", f2.delete);
        let mut seen = 0;
        for w in &f2.chunks {
            assert!(w.data.len() <= 4096);
            let c = decode_chunk(&w.data).unwrap();
            seen += c.routes.len();
            for (p, _) in &c.routes {
                assert_eq!(chunk_of(p, t.chunk_count()), w.index);
            }
        }
        assert_eq!(seen, 3000);
        // Shrinking back after a clear.
        assert!(t.apply(TableChange::Clear));
        let f3 = t.plan().unwrap();
        assert_eq!(t.chunk_count(), 1);
        assert_eq!(f3.delete, vec![(f2.generation, f2.chunks.len())]);
        assert!(t.is_empty());
    }

    #[test]
    fn the_pacer_gathers_rests_while_changes_come_and_ends_a_burst_promptly() {
        let ms = Duration::from_millis;
        let t0 = Instant::now();
        let mut p = FlushPacer::new(ms(50));
        // Nothing written yet: gather for the interval.
        assert_eq!(p.due(t0, t0), t0 + ms(50));
        // A 2 s publication: while changes keep coming, the next one waits REST_FACTOR × 2 s
        // after it ended, even for older changes.
        p.published(t0 + ms(50), t0 + ms(2050));
        let rest_end = t0 + ms(2050) + ms(2000) * REST_FACTOR;
        assert_eq!(p.due(t0 + ms(100), rest_end - ms(100)), rest_end);
        // The burst ended at 3 s (nothing for as long as the publication took since, 2 s, which
        // is longer than two intervals): published at 5 s.
        assert_eq!(p.due(t0 + ms(2100), t0 + ms(3000)), t0 + ms(5000));
        // After a short publication, two intervals of quiet end the burst ...
        let mut q = FlushPacer::new(ms(50));
        q.published(t0, t0 + ms(60));
        assert_eq!(q.due(t0 + ms(70), t0 + ms(80)), t0 + ms(180));
        // ... after a long one, as long as it took.
        q.published(t0, t0 + ms(1000));
        assert_eq!(q.due(t0 + ms(1100), t0 + ms(1100)), t0 + ms(2100));
        assert_eq!(q.due(t0 + ms(2900), t0 + ms(2900)), t0 + ms(3900));
        // A quick publication's rest (REST_FACTOR × 5 ms) is over once changes are gathered.
        q.published(t0, t0 + ms(5));
        assert_eq!(q.due(t0 + ms(30), t0 + ms(30)), t0 + ms(80));
        // Changes arriving after the rest are gathered for the interval only.
        assert_eq!(
            p.due(rest_end + ms(100), rest_end + ms(100)),
            rest_end + ms(150)
        );
        // A quick publication rests little.
        let later = rest_end + ms(1000);
        p.published(later, later + ms(5));
        assert_eq!(p.due(later + ms(5), later + ms(5)), later + ms(55));
    }

    #[test]
    fn a_streamed_table_is_written_a_few_times_not_once_per_batch() {
        // 20,000 routes arriving in batches of 100 every 5 ms (1 s), in simulated time; a
        // publication costs 50 µs per route of the table (a slow, loaded publisher: the whole
        // table takes as long as the stream).
        let ms = Duration::from_millis;
        let t0 = Instant::now();
        let mut t = ChunkedTable::new("h1", 16 * 1024);
        let mut p = FlushPacer::new(ms(50));
        let mut now = t0;
        let mut first_change: Option<Instant> = None;
        let mut last_change = t0;
        let mut busy_until = t0;
        let (mut publications, mut written_routes) = (0usize, 0usize);
        let mut writing = Duration::ZERO;
        let (mut last_cost, mut cost_before_last) = (Duration::ZERO, Duration::ZERO);
        let mut next = 0u32;
        while next < 20_000 || t.is_dirty() {
            if next < 20_000 {
                for i in next..next + 100 {
                    t.apply(TableChange::Replace(prefix(i), vec![path("192.0.2.2")]));
                }
                next += 100;
                first_change.get_or_insert(now);
                last_change = now;
            }
            if let Some(f) = first_change {
                if now >= busy_until && now >= p.due(f, last_change) {
                    let flush = t.plan().unwrap();
                    let cost = Duration::from_micros(50 * t.len() as u64);
                    written_routes += flush.chunks.len() * t.len() / t.chunk_count();
                    publications += 1;
                    writing += cost;
                    (cost_before_last, last_cost) = (last_cost, cost);
                    p.published(now, now + cost);
                    busy_until = now + cost;
                    first_change = None;
                }
            }
            now += ms(5);
        }
        let stream_end = t0 + ms(995);
        assert_eq!(t.len(), 20_000);
        assert_eq!(t.routes().len(), 20_000);
        // Batch by batch it would be 200 publications and about 2M routes written; every
        // batch dirties nearly every chunk, so each publication writes the whole table.
        assert!(publications <= 6, "{publications} publications");
        assert!(
            written_routes <= 2 * 20_000,
            "{written_routes} routes written"
        );
        // Besides the final write of the whole table (1 s), writing took a share of the
        // stream's second set by the rests (REST_FACTOR times the writes), plus at most one
        // publication of the table as it stood (the one a rest follows: 0.55 s here, for
        // 11,000 routes).
        assert!(
            writing <= ms(1000) / (1 + REST_FACTOR) + ms(600) + ms(1000),
            "{writing:?} writing"
        );
        // The last publication started once the stream had been quiet for as long as the
        // publication before it took (no rest to sit out): the whole table is published that
        // plus one write (1 s here) after its last batch.
        let last_start = busy_until - last_cost;
        assert!(
            last_start <= stream_end + cost_before_last.max(ms(100)) + ms(5),
            "last publication started {:?} after the stream ended",
            last_start - stream_end
        );
    }

    #[test]
    fn a_full_table_is_partitioned_right_the_first_time() {
        // The first publication's chunk count must already fit the measured size: a first
        // estimate 4 × too high (as 64 bytes a route was, once chunks became compact) made the
        // next small update re-partition and rewrite the whole table.
        let mut t = ChunkedTable::new("h1", DEFAULT_MAX_CHUNK_BYTES);
        for i in 0..100_000 {
            t.apply(TableChange::Replace(prefix(i), vec![path("192.0.2.2")]));
        }
        let f1 = t.plan().unwrap();
        assert!(t.apply(TableChange::Replace(prefix(7), vec![path("192.0.2.3")])));
        let f2 = t.plan().unwrap();
        assert_eq!(f2.generation, f1.generation, "re-partitioned");
        assert_eq!(f2.chunks.len(), 1);
        assert!(f2.delete.is_empty());
    }

    #[test]
    fn a_failed_flush_is_planned_again() {
        let mut t = ChunkedTable::new("h1", 8192);
        t.apply(TableChange::Replace(prefix(1), vec![path("192.0.2.2")]));
        let f = t.plan().unwrap();
        t.failed(f);
        let f = t.plan().unwrap();
        assert_eq!(f.chunks.len(), 1);
        assert!(f.chunks[0].fresh, "a failed creation is a creation again");
        t.forget_written();
        assert!(t.is_dirty());
        let f = t.plan().unwrap();
        assert_eq!(f.chunks.len(), t.chunk_count());
        assert!(
            f.chunks.iter().all(|w| w.fresh),
            "a new session creates everything"
        );
    }
}
