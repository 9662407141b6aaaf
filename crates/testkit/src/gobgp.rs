//! A real GoBGP daemon (`gobgpd`, Debian's `gobgpd` package) inside a [`TestNs`], for tests
//! that need a BGP peer that is neither FRR nor Quagga. It is controlled with the `gobgp` CLI
//! over its gRPC API on `127.0.0.1:50051` inside the namespace.
//!
//! Like [`crate::lab::TestBgpd`] it is killed (SIGKILL) and its files are removed on drop.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::lab::{wait_until, TestNs};
use crate::{require_root, skip, unique_name};

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
    child: Option<Child>,
    cli: PathBuf,
    ns_name: String,
    dir: PathBuf,
}

/// gRPC API address inside the namespace.
const API: &str = "127.0.0.1:50051";

impl TestGobgp {
    /// Writes `config` (GoBGP's TOML) and starts `gobgpd` in `ns`; waits until its API answers.
    pub fn start(gobgpd: &Path, ns: &TestNs, config: &str) -> io::Result<TestGobgp> {
        let dir = std::env::temp_dir().join(format!("testgobgp-{}", unique_name("g")));
        std::fs::create_dir_all(&dir)?;
        let conf = dir.join("gobgpd.toml");
        std::fs::write(&conf, config)?;
        let log = std::fs::File::create(dir.join("gobgpd.log"))?;
        let child = ns
            .lab()
            .command(gobgpd)
            .map_err(io::Error::other)?
            .arg("-f")
            .arg(&conf)
            .arg("-t")
            .arg("toml")
            .arg("-p")
            .arg(format!("--api-hosts={API}"))
            .arg("--pprof-disable")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let me = TestGobgp {
            child: Some(child),
            cli: gobgpd.with_file_name("gobgp"),
            ns_name: ns.name().to_string(),
            dir,
        };
        if !wait_until(Duration::from_secs(20), || me.gobgp(&["global"]).is_ok()) {
            return Err(io::Error::other(format!(
                "gobgpd did not answer within 20 s; log:\n{}",
                me.log()
            )));
        }
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
        std::fs::read_to_string(self.dir.join("gobgpd.log")).unwrap_or_default()
    }

    /// Kills gobgpd with SIGKILL and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for TestGobgp {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
