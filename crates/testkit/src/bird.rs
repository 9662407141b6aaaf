//! A real BIRD 2 daemon inside a [`TestNs`], for tests that need a BGP peer other than FRR
//! (for instance a graceful-restart helper with a different implementation).
//!
//! Like [`crate::lab::TestBgpd`] it is killed (SIGKILL) and its files are removed on drop
//! (a [`TestDaemon`]).

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::daemon::TestDaemon;
use crate::lab::TestNs;
use crate::{require_root, skip};

/// Where Debian's `bird2` package installs the daemon.
pub const BIRD_CANDIDATES: [&str; 2] = ["/usr/sbin/bird", "/usr/local/sbin/bird"];

/// Path of an installed BIRD daemon, if any (`BIRD` overrides).
pub fn find_bird() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("BIRD") {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    BIRD_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// Returns the path of `bird` when the test can run it in namespaces (root and BIRD 2
/// installed); otherwise prints why the test is skipped (or panics under CI) and returns `None`.
pub fn require_bird(test: &str) -> Option<PathBuf> {
    require_root(test)?;
    match find_bird() {
        Some(p) => Some(p),
        None => {
            skip(test, "needs BIRD 2 (apt-get install bird2)");
            None
        }
    }
}

/// A BIRD daemon running in a namespace, controlled through `birdc` on its own socket.
#[derive(Debug)]
pub struct TestBird {
    daemon: TestDaemon,
}

impl TestBird {
    /// Writes `config` and starts `bird -f` in `ns`; waits until its control socket answers.
    pub fn start(bird: &Path, ns: &TestNs, config: &str) -> io::Result<TestBird> {
        let daemon = TestDaemon::spawn("bird", bird, ns, "bird.conf", config, |dir, conf| {
            vec![
                "-f".into(),
                "-c".into(),
                conf.into(),
                "-s".into(),
                dir.join("bird.ctl").into(),
                "-P".into(),
                dir.join("bird.pid").into(),
            ]
        })?;
        let me = TestBird { daemon };
        me.daemon.wait_ready(|| {
            me.birdc("show status")
                .is_ok_and(|o| o.contains("Daemon is up"))
        })?;
        Ok(me)
    }

    /// Runs one `birdc` command and returns its output.
    pub fn birdc(&self, cmd: &str) -> io::Result<String> {
        let out = Command::new("birdc")
            .arg("-s")
            .arg(self.daemon.dir().join("bird.ctl"))
            .args(cmd.split_whitespace())
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(text)
        } else {
            Err(io::Error::other(format!(
                "birdc {cmd:?} failed ({}): {text}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )))
        }
    }

    /// BIRD's stdout and stderr so far.
    pub fn log(&self) -> String {
        self.daemon.log()
    }

    /// Kills BIRD with SIGKILL and reaps it.
    pub fn kill(&mut self) {
        self.daemon.kill();
    }
}
