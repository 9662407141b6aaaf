//! A real Quagga 1.2.4 bgpd inside a [`TestNs`], built from the project's pinned tarball by
//! `scripts/quagga-build.sh` (cached per machine).
//!
//! Quagga differs from FRR where tests notice: it has no `--vty_socket` and no vtysh here (the
//! build leaves vtysh out), so [`TestQuagga::vty`] logs in over the TCP Vty with the config's
//! `password`, through the project's Vty client; and it has no `-Z`, so a bgpd without zebra is
//! pointed at a socket that does not exist (it retries it harmlessly). Like [`crate::lab::TestBgpd`] it is killed (SIGKILL) and
//! its files are removed on drop.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::lab::{wait_until, TestNs};
use crate::{require_root, skip, unique_name};

/// Where `scripts/quagga-build.sh` installs Quagga 1.2.4 (overridden by
/// `MIDONET_BGP_QUAGGA_PREFIX`); the suffix is the start of the pinned tarball's SHA-256 and the
/// script's build-recipe revision.
pub const QUAGGA_PREFIX_DEFAULT: &str = "/var/cache/midonet-bgp/quagga-1.2.4-936e8cafd426f301-r2";

/// The stamp file the build script writes last (it holds bgpd's `--version` line).
const QUAGGA_STAMP: &str = ".midonet-bgp-quagga-ready";

/// The Quagga bgpd of a finished build (stamp file and binary present), if any.
pub fn find_quagga() -> Option<PathBuf> {
    let prefix = std::env::var_os("MIDONET_BGP_QUAGGA_PREFIX")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(QUAGGA_PREFIX_DEFAULT));
    let bgpd = prefix.join("sbin/bgpd");
    (prefix.join(QUAGGA_STAMP).is_file() && bgpd.is_file()).then_some(bgpd)
}

/// Returns the path of Quagga's bgpd when the test can run it (root, built by
/// `scripts/quagga-build.sh`); otherwise prints why the test is skipped (or panics under CI) and
/// returns `None`.
pub fn require_quagga(test: &str) -> Option<PathBuf> {
    require_root(test)?;
    match find_quagga() {
        Some(p) => Some(p),
        None => {
            skip(
                test,
                "needs Quagga 1.2.4 (run scripts/quagga-build.sh as root)",
            );
            None
        }
    }
}

/// How a [`TestQuagga`] is started.
#[derive(Debug, Clone)]
pub struct QuaggaOptions {
    /// Zebra socket to connect to; `None` points bgpd at a socket that does not exist.
    pub zebra_socket: Option<PathBuf>,
    /// Vty listen address inside the namespace.
    pub vty_addr: SocketAddr,
    /// The config's Vty `password` (for [`TestQuagga::vty`]).
    pub password: String,
}

impl Default for QuaggaOptions {
    fn default() -> Self {
        QuaggaOptions {
            zebra_socket: None,
            vty_addr: SocketAddr::from(([127, 0, 0, 1], 2605)),
            password: "zebra".into(),
        }
    }
}

/// A Quagga bgpd running in a namespace.
#[derive(Debug)]
pub struct TestQuagga {
    child: Option<Child>,
    dir: PathBuf,
    ns_name: String,
    opts: QuaggaOptions,
}

impl TestQuagga {
    /// Writes `config` (it should set `hostname` and `password` = `opts.password`) and starts
    /// `bgpd` in `ns`; returns once its Vty answers with a login prompt.
    pub fn start(
        bgpd: &Path,
        ns: &TestNs,
        config: &str,
        opts: &QuaggaOptions,
    ) -> io::Result<TestQuagga> {
        let dir = std::env::temp_dir().join(format!("testquagga-{}", unique_name("q")));
        std::fs::create_dir_all(&dir)?;
        let conf = dir.join("bgpd.conf");
        std::fs::write(&conf, config)?;
        let out = std::fs::File::create(dir.join("bgpd.out"))?;
        let zebra = opts
            .zebra_socket
            .clone()
            .unwrap_or_else(|| dir.join("no-zebra.api"));
        let child = ns
            .lab()
            .command(bgpd)
            .map_err(io::Error::other)?
            .arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(dir.join("bgpd.pid"))
            .arg("-z")
            .arg(&zebra)
            .arg("-A")
            .arg(opts.vty_addr.ip().to_string())
            .arg("-P")
            .arg(opts.vty_addr.port().to_string())
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()?;
        let mut me = TestQuagga {
            child: Some(child),
            dir,
            ns_name: ns.name().to_string(),
            opts: opts.clone(),
        };
        let mut exited = None;
        let up = wait_until(Duration::from_secs(20), || {
            if let Some(Ok(Some(status))) = me.child.as_mut().map(|c| c.try_wait()) {
                exited = Some(status);
                return true;
            }
            me.vty(&["show version"]).is_ok()
        });
        match exited {
            Some(status) => Err(io::Error::other(format!(
                "quagga bgpd exited with {status}; output:\n{}",
                me.log()
            ))),
            None if !up => Err(io::Error::other(format!(
                "quagga bgpd's Vty did not answer within 20 s; output:\n{}",
                me.log()
            ))),
            None => Ok(me),
        }
    }

    /// The bgpd's pid.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// The directory with the config, pid file and output.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// bgpd's stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("bgpd.out")).unwrap_or_default()
    }

    /// Logs in over the TCP Vty with the project's Vty client (`vty::Vty`: login, enable,
    /// `terminal length 0`) and runs `cmds` in order; returns what they printed, one after
    /// the other (echo and prompts removed; error lines are output too, not failures).
    /// Configuration commands need `"configure terminal"` first, as typed at a terminal.
    ///
    /// The client is async: it runs on a current-thread runtime of its own, on a scoped thread
    /// (so this may be called from anywhere, a tokio worker included).
    pub fn vty(&self, cmds: &[&str]) -> io::Result<String> {
        let stream =
            crate::lab::connect_tcp_in(&self.ns_name, self.opts.vty_addr, Duration::from_secs(2))?;
        stream.set_nonblocking(true)?;
        let mut opts = vty::VtyOptions::default();
        opts.password = Some(self.opts.password.clone());
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    rt.block_on(async {
                        let stream = tokio::net::TcpStream::from_std(stream)?;
                        let mut v = vty::Vty::login(stream, &opts)
                            .await
                            .map_err(io::Error::other)?;
                        let mut out = String::new();
                        for cmd in cmds {
                            out.push_str(&v.exec_raw(cmd).await.map_err(io::Error::other)?);
                        }
                        let _ = v.close().await;
                        Ok(out)
                    })
                })
                .join()
                .map_err(|_| io::Error::other("the Vty thread panicked"))?
        })
    }

    /// Polls `vty cmd` until `pred(output)` holds or `timeout` passes; returns the last output
    /// on success.
    pub fn wait_for(
        &self,
        cmd: &str,
        timeout: Duration,
        mut pred: impl FnMut(&str) -> bool,
    ) -> Option<String> {
        let mut last = None;
        let ok = wait_until(timeout, || match self.vty(&[cmd]) {
            Ok(out) => {
                let hit = pred(&out);
                last = Some(out);
                hit
            }
            Err(_) => false,
        });
        if ok {
            last
        } else {
            None
        }
    }

    /// Kills bgpd with SIGKILL and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for TestQuagga {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
