//! [`Fib`]: the planner driven over a netlink socket.

use ipnetwork::IpNetwork;

use crate::error::{FibError, Result};
use crate::plan::{FlushReport, Op, Planner};
use crate::socket::NlSocket;
use crate::types::{FibConfig, FibRoute, NextHop, NextHops, TableSpec};
use crate::wire::{self, Marking, Reply};

/// Largest datagram of requests sent at once (well under the send buffer).
const MAX_BATCH_BYTES: usize = 256 << 10;
/// Dumps interrupted by concurrent changes are retried this many times.
const DUMP_ATTEMPTS: usize = 5;

/// A kernel FIB writer for one routing table in one namespace.
///
/// Changes are queued with [`Fib::replace`] / [`Fib::withdraw`] and written by [`Fib::flush`],
/// many routes per `sendmsg`. Every call blocks on the kernel: drive a `Fib` from a dedicated
/// thread (or `spawn_blocking`), not from an async worker.
#[derive(Debug)]
pub struct Fib {
    sock: NlSocket,
    mark: Marking,
    batch: usize,
    planner: Planner,
    buf: Vec<u8>,
}

impl Fib {
    /// Opens a writer: the namespace's netlink socket, and the table id (a VRF device's table is
    /// looked up). Nothing is read or written yet; see [`Fib::begin_reconcile`].
    pub fn open(config: &FibConfig) -> Result<Fib> {
        let mut sock = NlSocket::open(config.namespace.as_deref())?;
        let table = match &config.table {
            TableSpec::Id(0) => return Err(FibError::BadTable),
            TableSpec::Id(id) => *id,
            TableSpec::Vrf(device) => match link(&mut sock, device)? {
                Some((_, Some(table))) => table,
                _ => {
                    return Err(FibError::NotVrf {
                        device: device.clone(),
                        namespace: sock.namespace().to_string(),
                    })
                }
            },
        };
        Ok(Fib {
            sock,
            mark: Marking {
                table,
                protocol: config.protocol,
                metric: config.metric,
            },
            batch: config.batch_routes.max(1),
            planner: Planner::new(),
            buf: Vec::with_capacity(MAX_BATCH_BYTES + 4096),
        })
    }

    /// The table id routes go to.
    pub fn table(&self) -> u32 {
        self.mark.table
    }

    /// The namespace, for messages.
    pub fn namespace(&self) -> &str {
        self.sock.namespace()
    }

    /// The index of interface `name` in the writer's namespace, if it exists.
    pub fn ifindex(&mut self, name: &str) -> Result<Option<u32>> {
        Ok(link(&mut self.sock, name)?.map(|(index, _)| index))
    }

    /// Queues: `prefix` through exactly `hops` (an empty set withdraws it).
    pub fn replace(&mut self, prefix: IpNetwork, hops: Vec<NextHop>) {
        self.planner.replace(prefix, hops);
    }

    /// Queues: no route of ours for `prefix`.
    pub fn withdraw(&mut self, prefix: IpNetwork) {
        self.planner.withdraw(prefix);
    }

    /// Queues the deletion of every route of ours.
    pub fn withdraw_all(&mut self) {
        self.planner.withdraw_all();
    }

    /// Number of prefixes with a queued change.
    pub fn pending(&self) -> usize {
        self.planner.pending()
    }

    /// Routes of ours in the kernel, as the writer knows them.
    pub fn routes(&self) -> impl Iterator<Item = FibRoute> + '_ {
        self.planner.routes()
    }

    /// Number of routes of ours in the kernel.
    pub fn len(&self) -> usize {
        self.planner.installed_len()
    }

    /// Whether the kernel holds no route of ours.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next hops installed for `prefix`.
    pub fn installed(&self, prefix: &IpNetwork) -> Option<&NextHops> {
        self.planner.installed(prefix)
    }

    /// Number of routes found at reconciliation and not re-learned yet.
    pub fn stale(&self) -> usize {
        self.planner.stale()
    }

    /// Number of wanted routes the kernel refused (not retried yet).
    pub fn refused(&self) -> usize {
        self.planner.failed().count()
    }

    /// Queues every route the kernel refused again; returns how many.
    pub fn retry_failed(&mut self) -> usize {
        self.planner.retry_failed()
    }

    /// Starts a reconciliation: reads the routes of ours the kernel holds (left by an earlier
    /// run) and keeps them, stale, until they are re-learned or [`Fib::end_reconcile`] sweeps
    /// them. Routes with our table and protocol but another metric (an earlier configuration)
    /// are deleted at once. Returns how many routes were found.
    pub fn begin_reconcile(&mut self) -> Result<usize> {
        let mut found = Vec::new();
        let mut other_metric = Vec::new();
        for route in self.dump_all()? {
            if route.0 == self.mark.metric {
                found.push(route.1);
            } else {
                other_metric.push(route);
            }
        }
        for (metric, route) in other_metric {
            let mark = Marking {
                metric,
                ..self.mark
            };
            let op = Op {
                kind: crate::plan::OpKind::Delete,
                prefix: route.prefix,
                next_hops: route.next_hops,
            };
            let results = self.exchange(std::slice::from_ref(&op), &mark)?;
            if let Some(Err(errno)) = results.first() {
                tracing::warn!(prefix = %op.prefix, metric, errno, "deleting our route of an earlier metric");
            }
        }
        let n = found.len();
        self.planner.begin_reconcile(found);
        Ok(n)
    }

    /// Ends the reconciliation: deletes every route still stale, and flushes.
    pub fn end_reconcile(&mut self) -> Result<FlushReport> {
        let swept = self.planner.end_reconcile();
        tracing::debug!(swept, namespace = self.namespace(), "reconciliation ended");
        self.flush()
    }

    /// Whether a reconciliation is under way.
    pub fn reconciling(&self) -> bool {
        self.planner.reconciling()
    }

    /// Writes every queued change, in batches; routes the kernel refuses are listed in the
    /// report (and kept out of [`Fib::routes`]). An error means the socket failed: the changes
    /// of the batch in flight are queued again after the writer re-read the table.
    pub fn flush(&mut self) -> Result<FlushReport> {
        let mut report = FlushReport::default();
        loop {
            let ops = self.planner.plan(self.batch, &mut report);
            if ops.is_empty() {
                if self.planner.pending() == 0 {
                    return Ok(report);
                }
                continue;
            }
            let mark = self.mark;
            match self.exchange(&ops, &mark) {
                Ok(results) => {
                    for (op, result) in ops.into_iter().zip(results) {
                        if let Some(f) = self.planner.complete(op, result, &mut report) {
                            report.failures.push(f);
                        }
                    }
                }
                Err(e) => {
                    // Outcome unknown: learn what the kernel holds, then try again later.
                    if let Ok(found) = self.dump_all() {
                        self.planner.resync(
                            found
                                .into_iter()
                                .filter(|(m, _)| *m == mark.metric)
                                .map(|(_, r)| r),
                        );
                    }
                    self.planner.requeue(ops);
                    return Err(e);
                }
            }
        }
    }

    /// Reads the routes of ours (table and protocol) the kernel holds now, with their metrics.
    pub fn dump(&mut self) -> Result<Vec<FibRoute>> {
        Ok(self
            .dump_all()?
            .into_iter()
            .filter(|(m, _)| *m == self.mark.metric)
            .map(|(_, r)| r)
            .collect())
    }

    fn dump_all(&mut self) -> Result<Vec<(u32, FibRoute)>> {
        let mut out = Vec::new();
        for v6 in [false, true] {
            out.extend(self.dump_family(v6)?);
        }
        Ok(out)
    }

    fn dump_family(&mut self, v6: bool) -> Result<Vec<(u32, FibRoute)>> {
        for _ in 0..DUMP_ATTEMPTS {
            let seq = self.sock.next_seqs(1);
            self.buf.clear();
            wire::encode_route_dump(&mut self.buf, v6, seq);
            self.sock.send(&self.buf)?;
            let mut out = Vec::new();
            let mut interrupted = false;
            'recv: loop {
                for reply in self.sock.recv()? {
                    match reply {
                        Reply::Route {
                            seq: s,
                            table,
                            protocol,
                            metric,
                            route,
                            interrupted: i,
                        } if s == seq => {
                            interrupted |= i;
                            if table == self.mark.table && protocol == self.mark.protocol {
                                if let Some(r) = route {
                                    out.push((metric, r));
                                }
                            }
                        }
                        Reply::Done {
                            seq: s,
                            interrupted: i,
                        } if s == seq => {
                            interrupted |= i;
                            break 'recv;
                        }
                        Reply::Ack { seq: s, errno } if s == seq && errno != 0 => {
                            return Err(FibError::Refused {
                                op: "route dump",
                                namespace: self.namespace().to_string(),
                                errno,
                            });
                        }
                        _ => {}
                    }
                }
            }
            if !interrupted {
                return Ok(out);
            }
        }
        Err(FibError::Refused {
            op: "route dump (table kept changing)",
            namespace: self.namespace().to_string(),
            errno: libc::EINTR,
        })
    }

    /// Sends `ops` in as few datagrams as fit, each asking an acknowledgement only for its last
    /// request (the kernel answers every failed request with an error and handles requests in
    /// order, so the last acknowledgement proves every silent request succeeded). Returns each
    /// op's outcome, in order.
    fn exchange(
        &mut self,
        ops: &[Op],
        mark: &Marking,
    ) -> Result<Vec<std::result::Result<(), i32>>> {
        let mut results = vec![Ok(()); ops.len()];
        let mut start = 0;
        while start < ops.len() {
            self.buf.clear();
            let first = self.sock.next_seqs(0);
            let mut end = start;
            let mut offsets = Vec::new();
            while end < ops.len() && self.buf.len() < MAX_BATCH_BYTES {
                offsets.push(self.buf.len());
                let seq = first.wrapping_add((end - start) as u32);
                wire::encode_op(&mut self.buf, &ops[end], mark, seq, false);
                end += 1;
            }
            let count = (end - start) as u32;
            self.sock.next_seqs(count);
            if let Some(last) = offsets.last() {
                wire::request_ack(&mut self.buf, *last);
            }
            self.sock.send(&self.buf)?;
            let last_seq = first.wrapping_add(count - 1);
            'recv: loop {
                for reply in self.sock.recv()? {
                    if let Reply::Ack { seq, errno } = reply {
                        let idx = seq.wrapping_sub(first);
                        if idx >= count {
                            continue; // an answer to an earlier, abandoned exchange
                        }
                        if errno != 0 {
                            results[start + idx as usize] = Err(errno);
                        }
                        if seq == last_seq {
                            break 'recv;
                        }
                    }
                }
            }
            start = end;
        }
        Ok(results)
    }
}

/// Looks up a link by name: its index and, for a VRF device, its table.
fn link(sock: &mut NlSocket, name: &str) -> Result<Option<(u32, Option<u32>)>> {
    let seq = sock.next_seqs(1);
    let mut buf = Vec::new();
    wire::encode_link_get(&mut buf, name, seq);
    sock.send(&buf)?;
    let mut found = None;
    loop {
        for reply in sock.recv()? {
            match reply {
                Reply::Link {
                    seq: s,
                    index,
                    vrf_table,
                } if s == seq => found = Some((index, vrf_table)),
                Reply::Ack { seq: s, errno } if s == seq => {
                    return match errno {
                        0 => Ok(found),
                        e if e == libc::ENODEV => Ok(None),
                        e => Err(FibError::Refused {
                            op: "link lookup",
                            namespace: sock.namespace().to_string(),
                            errno: e,
                        }),
                    };
                }
                _ => {}
            }
        }
    }
}
