//! A real BIRD 2 daemon inside a [`TestNs`], for tests that need a BGP peer other than FRR
//! (for instance a graceful-restart helper with a different implementation).
//!
//! Like [`crate::lab::TestBgpd`] it is killed (SIGKILL) and its files are removed on drop.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::lab::{wait_until, TestNs};
use crate::{require_root, skip, unique_name};

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
    child: Option<Child>,
    dir: PathBuf,
}

impl TestBird {
    /// Writes `config` and starts `bird -f` in `ns`; waits until its control socket answers.
    pub fn start(bird: &Path, ns: &TestNs, config: &str) -> io::Result<TestBird> {
        let dir = std::env::temp_dir().join(format!("testbird-{}", unique_name("b")));
        std::fs::create_dir_all(&dir)?;
        let conf = dir.join("bird.conf");
        std::fs::write(&conf, config)?;
        let log = std::fs::File::create(dir.join("bird.log"))?;
        let child = ns
            .lab()
            .command(bird)
            .map_err(io::Error::other)?
            .arg("-f")
            .arg("-c")
            .arg(&conf)
            .arg("-s")
            .arg(dir.join("bird.ctl"))
            .arg("-P")
            .arg(dir.join("bird.pid"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let me = TestBird {
            child: Some(child),
            dir,
        };
        if !wait_until(Duration::from_secs(20), || {
            me.birdc("show status")
                .is_ok_and(|o| o.contains("Daemon is up"))
        }) {
            return Err(io::Error::other(format!(
                "bird did not answer within 20 s; log:\n{}",
                me.log()
            )));
        }
        Ok(me)
    }

    /// Runs one `birdc` command and returns its output.
    pub fn birdc(&self, cmd: &str) -> io::Result<String> {
        let out = Command::new("birdc")
            .arg("-s")
            .arg(self.dir.join("bird.ctl"))
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
        std::fs::read_to_string(self.dir.join("bird.log")).unwrap_or_default()
    }

    /// Kills BIRD with SIGKILL and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for TestBird {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
