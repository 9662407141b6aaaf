//! A minimal zebra for tests: answers what FRR 8.4 and 10.x bgpd and Quagga 1.x bgpd need
//! (capabilities, interfaces, router id, connected nexthop tracking in FRR's or Quagga's
//! layout, the label manager's synchronous connect) and records every frame, both directions.
//!
//! The answering logic is sans-I/O ([`Responder::answer`]); [`CaptureServer`] runs it on a Unix
//! socket with one thread per connection.

#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::BytesMut;
use ipnetwork::IpNetwork;
use zebra_proto::{
    decode, encode, frame_length, Capabilities, InterfaceAddress, InterfaceInfo,
    LabelManagerConnectReply, Message, NexthopTarget, NexthopUpdate, OldNexthop, OldNexthopUpdate,
    Profile, RouterIdUpdate, ZapiNexthop,
};

/// One interface the responder announces, with its addresses.
#[derive(Debug, Clone)]
pub struct Iface {
    pub info: InterfaceInfo,
    pub addrs: Vec<IpNetwork>,
}

/// IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST.
pub const ETHER_FLAGS: u64 = 0x1 | 0x2 | 0x40 | 0x1000;
/// IFF_UP | IFF_LOOPBACK | IFF_RUNNING.
pub const LOOPBACK_FLAGS: u64 = 0x1 | 0x8 | 0x40;

/// An interface description as real zebra would send it on Linux.
pub fn iface(
    name: &str,
    ifindex: u32,
    flags: u64,
    mtu: u32,
    ll_type: u32,
    mac: &[u8],
    addrs: &[&str],
) -> Iface {
    Iface {
        info: InterfaceInfo {
            name: name.into(),
            ifindex,
            status: 0x04, // ZEBRA_INTERFACE_ACTIVE
            flags,
            ptm_enable: 0,
            ptm_status: 2, // ZEBRA_PTM_STATUS_UNKNOWN
            metric: 0,
            speed: 0,
            txqlen: 0,
            mtu,
            mtu6: mtu,
            bandwidth: 0,
            link_ifindex: 0,
            ll_type,
            hw_addr: mac.to_vec(),
            link_params: None,
        },
        addrs: addrs.iter().filter_map(|a| a.parse().ok()).collect(),
    }
}

/// What to answer.
#[derive(Debug, Clone)]
pub struct Responder {
    /// The profile the client speaks (the header cannot tell FRR 8.4 from 10.x).
    pub profile: Profile,
    pub interfaces: Vec<Iface>,
    pub router_id: Ipv4Addr,
}

impl Responder {
    /// The connected route containing `addr`, with its interface.
    fn connected(&self, addr: IpAddr) -> Option<(IpNetwork, u32)> {
        self.interfaces.iter().find_map(|i| {
            i.addrs.iter().find(|n| n.contains(addr)).map(|n| {
                let net = IpNetwork::new(n.network(), n.prefix()).unwrap_or(*n);
                (net, i.info.ifindex)
            })
        })
    }

    /// The messages a zebra sends back for `msg`.
    pub fn answer(&self, msg: &Message) -> Vec<Message> {
        match msg {
            Message::Hello(h) if h.synchronous => Vec::new(),
            Message::Hello(_) => vec![Message::Capabilities(Capabilities {
                vrf_backend: 0,
                mpls: false,
                multipath: 64,
                mlag_role: 0,
                v6_with_v4_nexthop: false,
                graceful_restart: false,
            })],
            Message::LabelManagerConnect(c) => {
                vec![Message::LabelManagerConnectReply(
                    LabelManagerConnectReply {
                        proto: c.proto,
                        instance: c.instance,
                        result: 0,
                    },
                )]
            }
            Message::InterfaceAddRequest => {
                let mut out = Vec::new();
                for i in &self.interfaces {
                    let mut info = i.info.clone();
                    // Quagga's layout has no PTM fields and (v2) no link-layer type.
                    if !self.profile.is_frr() {
                        info.ptm_status = 0;
                    }
                    if !self.profile.interface_has_link_layer() {
                        info.ll_type = 0;
                    }
                    out.push(Message::InterfaceAdd(info));
                    for a in &i.addrs {
                        out.push(Message::InterfaceAddressAdd(InterfaceAddress {
                            ifindex: i.info.ifindex,
                            flags: 0,
                            prefix: *a,
                            destination: None,
                        }));
                    }
                }
                out
            }
            Message::RouterIdAdd(_) => vec![Message::RouterIdUpdate(RouterIdUpdate {
                prefix: IpNetwork::new(IpAddr::V4(self.router_id), 32)
                    .unwrap_or_else(|_| IpNetwork::from(IpAddr::V4(self.router_id))),
            })],
            Message::NexthopRegister(entries) => entries
                .iter()
                .map(|e| {
                    let hit = self.connected(e.prefix.ip()).filter(|(net, _)| {
                        // A host prefix resolves through its connected route; a network
                        // prefix (import check) only if it is exactly that route.
                        e.prefix.prefix() == if e.prefix.is_ipv4() { 32 } else { 128 }
                            || *net == e.prefix
                    });
                    match hit {
                        // Quagga's layout: no safi, no resolved prefix, old nexthop types.
                        _ if !self.profile.is_frr() => {
                            Message::OldNexthopUpdate(OldNexthopUpdate {
                                prefix: e.prefix,
                                metric: 0,
                                nexthops: zebra_proto::old_nexthops(
                                    hit.map(|(_, ifindex)| OldNexthop::Ifindex(ifindex)),
                                ),
                            })
                        }
                        Some((net, ifindex)) => Message::NexthopUpdate(NexthopUpdate {
                            safi: e.safi,
                            prefix: e.prefix,
                            resolved: Some(net),
                            srte_color: None,
                            route_type: 2,
                            instance: 0,
                            distance: 0,
                            metric: 0,
                            nexthops: zebra_proto::nexthops([ZapiNexthop::new(
                                NexthopTarget::Ifindex(ifindex),
                            )]),
                        }),
                        None => Message::NexthopUpdate(NexthopUpdate::unresolved(e.safi, e.prefix)),
                    }
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Direction of a recorded frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// From bgpd to us.
    FromClient,
    /// From us to bgpd.
    ToClient,
}

/// One recorded frame.
#[derive(Debug, Clone)]
pub struct Record {
    pub conn: usize,
    pub dir: Dir,
    pub bytes: Vec<u8>,
    /// Decode result (for frames from the client).
    pub decoded: Result<Message, String>,
}

/// A capturing zebra on a Unix socket; stops (and removes the socket) on drop.
pub struct CaptureServer {
    pub path: PathBuf,
    pub records: Arc<Mutex<Vec<Record>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl CaptureServer {
    pub fn start(path: &Path, responder: Responder) -> std::io::Result<CaptureServer> {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path)?;
        listener.set_nonblocking(true)?;
        let records = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r2, s2) = (records.clone(), stop.clone());
        let responder = Arc::new(responder);
        let thread = std::thread::spawn(move || {
            let conns = AtomicUsize::new(0);
            let mut workers = Vec::new();
            while !s2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let id = conns.fetch_add(1, Ordering::Relaxed);
                        let (r3, s3, resp) = (r2.clone(), s2.clone(), responder.clone());
                        workers.push(std::thread::spawn(move || {
                            serve(id, stream, &resp, &r3, &s3)
                        }));
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(20))
                    }
                    Err(_) => break,
                }
            }
            for w in workers {
                let _ = w.join();
            }
        });
        Ok(CaptureServer {
            path: path.to_path_buf(),
            records,
            stop,
            thread: Some(thread),
        })
    }

    pub fn snapshot(&self) -> Vec<Record> {
        self.records.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for CaptureServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

fn serve(
    id: usize,
    mut stream: UnixStream,
    resp: &Responder,
    records: &Mutex<Vec<Record>>,
    stop: &AtomicBool,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let profile = resp.profile;
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 8192];
    while !stop.load(Ordering::Relaxed) {
        match stream.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(_) => return,
        }
        loop {
            let len = match frame_length(profile, &buf) {
                Ok(Some(len)) if buf.len() >= len => len,
                Ok(_) => break,
                Err(e) => {
                    if let Ok(mut r) = records.lock() {
                        r.push(Record {
                            conn: id,
                            dir: Dir::FromClient,
                            bytes: buf.clone(),
                            decoded: Err(e.to_string()),
                        });
                    }
                    return;
                }
            };
            let frame: Vec<u8> = buf.drain(..len).collect();
            let decoded = decode(profile, &frame)
                .map(|(_, m)| m)
                .map_err(|e| e.to_string());
            let answers = decoded.as_ref().map(|m| resp.answer(m)).unwrap_or_default();
            if let Ok(mut r) = records.lock() {
                r.push(Record {
                    conn: id,
                    dir: Dir::FromClient,
                    bytes: frame,
                    decoded,
                });
            }
            for a in answers {
                let mut out = BytesMut::new();
                if encode(profile, 0, &a, &mut out).is_ok() {
                    let _ = stream.write_all(&out);
                    if let Ok(mut r) = records.lock() {
                        r.push(Record {
                            conn: id,
                            dir: Dir::ToClient,
                            bytes: out.to_vec(),
                            decoded: Ok(a),
                        });
                    }
                }
            }
        }
    }
}

/// Lowercase hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
