//! Test topology: peer namespace — veth — "uplink" in a host-side test namespace — flows — veth —
//! bgpd namespace, plus socket helpers that run inside a namespace.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use testkit::lab::{veth_between, TestNs};

/// Uplink name in the host namespace.
pub const UPLINK: &str = "uplink";
/// Host side of bgpd's datapath veth.
pub const BGP_PORT: &str = "bgp";
/// The port address (inside the bgpd namespace).
pub const LOCAL4: &str = "192.0.2.1";
/// The peer.
pub const PEER4: &str = "192.0.2.2";
/// An address in the peer namespace that is not a configured peer.
pub const STRANGER4: &str = "192.0.2.3";
/// IPv6 port address.
pub const LOCAL6: &str = "2001:db8::1";
/// IPv6 peer.
pub const PEER6: &str = "2001:db8::2";
/// IPv6 non-peer.
pub const STRANGER6: &str = "2001:db8::3";

/// The three namespaces (dropped in reverse order of creation: bgpd, peer, host).
pub struct Topology {
    pub bgpd: TestNs,
    pub peer: TestNs,
    pub host: TestNs,
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

impl Topology {
    pub fn new() -> Topology {
        let host = TestNs::new("dph").unwrap();
        let peer = TestNs::new("dpp").unwrap();
        let bgpd = TestNs::new("dpb").unwrap();
        veth_between(&host, UPLINK, &peer, "eth0").unwrap();
        veth_between(&host, BGP_PORT, &bgpd, "eth0").unwrap();
        for (ns, addrs) in [
            (&peer, [PEER4, STRANGER4, PEER6, STRANGER6].as_slice()),
            (&bgpd, [LOCAL4, LOCAL6].as_slice()),
        ] {
            for a in addrs {
                let plen = if a.contains(':') { 64 } else { 24 };
                ns.add_addr("eth0", &format!("{a}/{plen}")).unwrap();
            }
        }
        Topology { bgpd, peer, host }
    }

    /// `tc` output in the host namespace.
    pub fn tc(&self, args: &[&str]) -> String {
        let mut full = vec!["tc"];
        full.extend_from_slice(args);
        self.host.exec_ok(&full).unwrap()
    }

    /// The ingress filters on a host-side link, as `tc` shows them.
    pub fn ingress_filters(&self, dev: &str) -> String {
        self.tc(&["filter", "show", "dev", dev, "ingress"])
    }

    /// Whether the host-side link has an ingress qdisc.
    pub fn has_ingress_qdisc(&self, dev: &str) -> bool {
        self.tc(&["qdisc", "show", "dev", dev]).contains("ingress")
    }

    /// Forgets neighbour entries so each check resolves addresses through the flows again.
    pub fn flush_neighbours(&self) {
        for ns in [&self.peer, &self.bgpd] {
            ns.ip(&["neigh", "flush", "dev", "eth0"]).unwrap();
        }
    }
}

/// Runs `f` on a thread inside the namespace at `path`.
pub fn in_ns<T: Send + 'static>(path: PathBuf, f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap();
        // SAFETY: setns on a valid namespace fd; it changes only this thread.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(
            rc,
            0,
            "setns {}: {}",
            path.display(),
            io::Error::last_os_error()
        );
        f()
    })
    .join()
    .unwrap()
}

/// Creates a socket of `ty` in the namespace at `path` (a listener, or any socket to use later).
pub fn tcp_listener(ns: &Path, addr: SocketAddr) -> TcpListener {
    in_ns(ns.to_path_buf(), move || TcpListener::bind(addr).unwrap())
}

pub fn udp_socket(ns: &Path, addr: SocketAddr) -> UdpSocket {
    in_ns(ns.to_path_buf(), move || UdpSocket::bind(addr).unwrap())
}

/// Connects from the namespace at `ns`, from source address `src` (any port), with optional IPv4
/// options on the socket, within `timeout`.
pub fn tcp_connect(
    ns: &Path,
    src: Option<IpAddr>,
    dst: SocketAddr,
    ip_options: Option<Vec<u8>>,
    timeout: Duration,
) -> io::Result<TcpStream> {
    in_ns(ns.to_path_buf(), move || {
        connect_raw(src, dst, ip_options.as_deref(), timeout)
    })
}

fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_in fits in sockaddr_storage.
            unsafe { std::ptr::write((&mut ss as *mut libc::sockaddr_storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: 0,
            };
            // SAFETY: sockaddr_in6 fits in sockaddr_storage.
            unsafe { std::ptr::write((&mut ss as *mut libc::sockaddr_storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn connect_raw(
    src: Option<IpAddr>,
    dst: SocketAddr,
    ip_options: Option<&[u8]>,
    timeout: Duration,
) -> io::Result<TcpStream> {
    let family = if dst.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain socket call.
    let fd = unsafe { libc::socket(family, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    check(fd)?;
    // SAFETY: fd is a fresh socket we own.
    let stream = unsafe { TcpStream::from_raw_fd(fd) };
    if let Some(opts) = ip_options {
        // SAFETY: opts points to opts.len() readable bytes.
        check(unsafe {
            libc::setsockopt(
                fd,
                libc::IPPROTO_IP,
                libc::IP_OPTIONS,
                opts.as_ptr().cast(),
                opts.len() as libc::socklen_t,
            )
        })?;
    }
    let tv = libc::timeval {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_usec: timeout.subsec_micros() as _,
    };
    // SAFETY: tv is a valid timeval.
    check(unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_SNDTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    })?;
    if let Some(src) = src {
        let (ss, len) = sockaddr(SocketAddr::new(src, 0));
        // SAFETY: ss/len describe a valid socket address.
        check(unsafe { libc::bind(fd, (&ss as *const libc::sockaddr_storage).cast(), len) })?;
    }
    let (ss, len) = sockaddr(dst);
    // SAFETY: ss/len describe a valid socket address.
    check(unsafe { libc::connect(fd, (&ss as *const libc::sockaddr_storage).cast(), len) })?;
    Ok(stream)
}

/// True when a connection from `client_ns` (source `src`) to `dst` reaches a listener in
/// `server_ns` and carries one message each way.
pub fn tcp_reaches(
    client_ns: &Path,
    src: Option<IpAddr>,
    server_ns: &Path,
    dst: SocketAddr,
    ip_options: Option<Vec<u8>>,
) -> bool {
    let listener = tcp_listener(server_ns, dst);
    listener.set_nonblocking(true).unwrap();
    let server = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(6);
        while Instant::now() < deadline {
            match listener.accept() {
                Ok((mut s, _)) => {
                    s.set_nonblocking(false).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                    let mut buf = [0u8; 5];
                    if s.read_exact(&mut buf).is_ok() && &buf == b"hello" {
                        return s.write_all(b"world").is_ok();
                    }
                    return false;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        false
    });
    let client_ok = match tcp_connect(client_ns, src, dst, ip_options, Duration::from_secs(4)) {
        Ok(mut s) => {
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut buf = [0u8; 5];
            s.write_all(b"hello").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"world"
        }
        Err(_) => false,
    };
    let server_ok = server.join().unwrap();
    client_ok && server_ok
}

/// True when a UDP datagram from `client_ns` to `dst` arrives in `server_ns`.
pub fn udp_reaches(client_ns: &Path, src: IpAddr, server_ns: &Path, dst: SocketAddr) -> bool {
    let rx = udp_socket(server_ns, dst);
    rx.set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let tx = udp_socket(client_ns, SocketAddr::new(src, 0));
    for _ in 0..3 {
        let _ = tx.send_to(b"ping", dst);
    }
    let mut buf = [0u8; 16];
    rx.recv_from(&mut buf).is_ok()
}
