//! A blocking rtnetlink socket living in one namespace.
//!
//! The socket is created by a short-lived thread that entered the namespace
//! ([`netns::NetNs::run`]); a netlink socket keeps the namespace it was created in, so it is then
//! used from any thread and no caller thread ever changes namespace. Calls block (with a receive
//! timeout): use it from a dedicated thread or `spawn_blocking`, never on an async worker.

use std::os::fd::AsRawFd;
use std::time::Duration;

use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use crate::error::{FibError, Result};
use crate::wire::{self, Reply};

/// Receive buffer size asked for (acks and dumps of whole tables).
const RCVBUF: usize = 8 << 20;
/// Receive buffer size asked for by a socket that only hears announcements (link changes).
const WATCH_RCVBUF: usize = 1 << 20;
/// Send buffer size asked for (one batch is sent in one `sendmsg`).
const SNDBUF: usize = 4 << 20;
/// Largest datagram the kernel sends us (dump parts are at most a few pages).
const RECV_CHUNK: usize = 256 << 10;
/// How long to wait for the kernel's answer before giving up.
const RECV_TIMEOUT: Duration = Duration::from_secs(10);

/// The socket (see the module documentation).
pub(crate) struct NlSocket {
    sock: Socket,
    namespace: String,
    rbuf: Vec<u8>,
    seq: u32,
}

impl std::fmt::Debug for NlSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NlSocket")
            .field("namespace", &self.namespace)
            .finish()
    }
}

fn set_int_opt(fd: i32, opt: libc::c_int, value: usize) -> std::io::Result<()> {
    let v = libc::c_int::try_from(value).unwrap_or(libc::c_int::MAX);
    // SAFETY: `fd` is an open socket owned by the caller for the duration of the call, and the
    // option value points to a live c_int whose size is passed along.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            std::ptr::from_ref(&v).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn set_timeout(fd: i32, timeout: Duration) -> std::io::Result<()> {
    let tv = libc::timeval {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_usec: libc::suseconds_t::from(timeout.subsec_micros() as i32),
    };
    // SAFETY: `fd` is an open socket; `tv` is a live timeval whose size is passed along.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            std::ptr::from_ref(&tv).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

impl NlSocket {
    /// Opens a socket in the named namespace (`None`: the process's own).
    pub(crate) fn open(namespace: Option<&str>) -> Result<NlSocket> {
        NlSocket::open_with(namespace, &[], RCVBUF, RECV_TIMEOUT)
    }

    /// Opens a socket in the named namespace that receives the kernel's announcements to the
    /// multicast `groups` (`RTNLGRP_*`), each receive waiting at most `timeout`.
    pub(crate) fn open_groups(
        namespace: Option<&str>,
        groups: &[u32],
        timeout: Duration,
    ) -> Result<NlSocket> {
        NlSocket::open_with(namespace, groups, WATCH_RCVBUF, timeout)
    }

    fn open_with(
        namespace: Option<&str>,
        groups: &[u32],
        rcvbuf: usize,
        timeout: Duration,
    ) -> Result<NlSocket> {
        let label = namespace.unwrap_or("the host namespace").to_string();
        let io = |op: &'static str| {
            let namespace = label.clone();
            move |source| FibError::Io {
                op,
                namespace,
                source,
            }
        };
        let sock = match namespace {
            None => Socket::new(NETLINK_ROUTE).map_err(io("socket"))?,
            Some(name) => {
                let ns_err = |source| FibError::Namespace {
                    name: name.to_string(),
                    source,
                };
                let ns = netns::NetNs::open(name).map_err(ns_err)?;
                ns.run(|| Socket::new(NETLINK_ROUTE))
                    .map_err(ns_err)?
                    .map_err(io("socket"))?
            }
        };
        let mut sock = sock;
        sock.bind_auto().map_err(io("bind"))?;
        for group in groups {
            sock.add_membership(*group)
                .map_err(io("NETLINK_ADD_MEMBERSHIP"))?;
        }
        sock.connect(&SocketAddr::new(0, 0))
            .map_err(io("connect"))?;
        // Error answers carry only the request's header, not the whole request.
        sock.set_cap_ack(true).map_err(io("NETLINK_CAP_ACK"))?;
        let fd = sock.as_raw_fd();
        // Root may exceed the system limits; otherwise take what the limits allow.
        if set_int_opt(fd, libc::SO_RCVBUFFORCE, rcvbuf).is_err() {
            set_int_opt(fd, libc::SO_RCVBUF, rcvbuf).map_err(io("SO_RCVBUF"))?;
        }
        if set_int_opt(fd, libc::SO_SNDBUFFORCE, SNDBUF).is_err() {
            set_int_opt(fd, libc::SO_SNDBUF, SNDBUF).map_err(io("SO_SNDBUF"))?;
        }
        set_timeout(fd, timeout).map_err(io("SO_RCVTIMEO"))?;
        Ok(NlSocket {
            sock,
            namespace: label,
            rbuf: Vec::with_capacity(RECV_CHUNK),
            seq: 1,
        })
    }

    /// The namespace, for messages.
    pub(crate) fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Reserves `n` sequence numbers; returns the first.
    pub(crate) fn next_seqs(&mut self, n: u32) -> u32 {
        let first = self.seq;
        self.seq = self.seq.wrapping_add(n);
        if self.seq == 0 {
            self.seq = 1;
        }
        first
    }

    pub(crate) fn io_err(&self, op: &'static str, source: std::io::Error) -> FibError {
        FibError::Io {
            op,
            namespace: self.namespace.clone(),
            source,
        }
    }

    /// Sends `buf` (one or more requests) in one datagram.
    pub(crate) fn send(&self, buf: &[u8]) -> Result<()> {
        let sent = self.sock.send(buf, 0).map_err(|e| self.io_err("send", e))?;
        if sent != buf.len() {
            return Err(self.io_err(
                "send",
                std::io::Error::other(format!("sent {sent} of {} bytes", buf.len())),
            ));
        }
        Ok(())
    }

    /// Receives one datagram and decodes it.
    pub(crate) fn recv(&mut self) -> Result<Vec<Reply>> {
        self.rbuf.clear();
        let n = loop {
            match self.sock.recv(&mut self.rbuf, 0) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_err("receive", e)),
            }
        };
        if n > self.rbuf.len() {
            return Err(self.io_err(
                "receive",
                std::io::Error::other(format!("datagram of {n} bytes truncated")),
            ));
        }
        wire::decode(&self.rbuf).map_err(|source| FibError::Decode {
            namespace: self.namespace.clone(),
            source,
        })
    }
}
