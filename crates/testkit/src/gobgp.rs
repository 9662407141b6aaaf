//! A real GoBGP daemon (`gobgpd`, Debian's `gobgpd` package) inside a [`TestNs`], for tests
//! that need a BGP peer that is neither FRR nor Quagga. It is controlled with the `gobgp` CLI
//! over its gRPC API on `127.0.0.1:50051` inside the namespace.
//!
//! Like [`crate::lab::TestBgpd`] it is killed (SIGKILL) and its files are removed on drop
//! (a [`TestDaemon`]).

use std::io;
use std::path::{Path, PathBuf};

use crate::daemon::TestDaemon;
use crate::lab::TestNs;
use crate::{require_root, skip};

/// Where Debian's `gobgpd` package installs the daemon.
pub const GOBGPD_CANDIDATES: [&str; 2] = ["/usr/bin/gobgpd", "/usr/local/bin/gobgpd"];

/// Path of an installed `gobgpd`, if any (`GOBGPD` overrides); its `gobgp` CLI is expected
/// beside it.
pub fn find_gobgpd() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("GOBGPD") {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    GOBGPD_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file() && p.with_file_name("gobgp").is_file())
}

/// Returns the path of `gobgpd` when the test can run it in namespaces (root and GoBGP
/// installed); otherwise prints why the test is skipped (or panics under CI) and returns `None`.
pub fn require_gobgpd(test: &str) -> Option<PathBuf> {
    require_root(test)?;
    match find_gobgpd() {
        Some(p) => Some(p),
        None => {
            skip(test, "needs GoBGP (apt-get install gobgpd)");
            None
        }
    }
}

/// A GoBGP daemon running in a namespace.
#[derive(Debug)]
pub struct TestGobgp {
    daemon: TestDaemon,
    cli: PathBuf,
    ns_name: String,
}

/// gRPC API address inside the namespace.
const API: &str = "127.0.0.1:50051";

impl TestGobgp {
    /// Writes `config` (GoBGP's TOML) and starts `gobgpd` in `ns`; waits until its API answers.
    pub fn start(gobgpd: &Path, ns: &TestNs, config: &str) -> io::Result<TestGobgp> {
        let daemon = TestDaemon::spawn("gobgp", gobgpd, ns, "gobgpd.toml", config, |_, conf| {
            vec![
                "-f".into(),
                conf.into(),
                "-t".into(),
                "toml".into(),
                "-p".into(),
                format!("--api-hosts={API}").into(),
                "--pprof-disable".into(),
            ]
        })?;
        let me = TestGobgp {
            daemon,
            cli: gobgpd.with_file_name("gobgp"),
            ns_name: ns.name().to_string(),
        };
        me.daemon.wait_ready(|| me.gobgp(&["global"]).is_ok())?;
        Ok(me)
    }

    /// Runs `gobgp ARGS` against this daemon and returns its output.
    pub fn gobgp(&self, args: &[&str]) -> io::Result<String> {
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", &self.ns_name])
            .arg(&self.cli)
            .args(["-u", "127.0.0.1", "-p", "50051"])
            .args(args)
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(text)
        } else {
            Err(io::Error::other(format!(
                "gobgp {args:?} failed ({}): {text}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )))
        }
    }

    /// gobgpd's output so far.
    pub fn log(&self) -> String {
        self.daemon.log()
    }

    /// Kills gobgpd with SIGKILL and reaps it.
    pub fn kill(&mut self) {
        self.daemon.kill();
    }
}
