//! The process wrapper shared by the test daemons of peers we did not write ([`crate::bird`],
//! [`crate::gobgp`]): a private directory with the daemon's configuration and log, the daemon
//! started inside a [`TestNs`], a wait until it answers on its control channel, and, on drop,
//! the daemon killed (SIGKILL) and reaped and its directory removed.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::lab::{wait_until, TestNs};
use crate::unique_name;

/// How long [`TestDaemon::wait_ready`] waits for a daemon to answer.
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// A daemon process running in a namespace, with its own directory.
#[derive(Debug)]
pub struct TestDaemon {
    child: Option<Child>,
    kind: &'static str,
    dir: PathBuf,
}

impl TestDaemon {
    /// Creates a directory `test{kind}-…` under the temporary directory, writes `config` there
    /// as `config_file`, and starts `program` in `ns` with the arguments `args` returns for
    /// (directory, configuration path); its stdout and stderr go to `{kind}.log` there.
    pub fn spawn(
        kind: &'static str,
        program: &Path,
        ns: &TestNs,
        config_file: &str,
        config: &str,
        args: impl FnOnce(&Path, &Path) -> Vec<OsString>,
    ) -> io::Result<TestDaemon> {
        let dir = std::env::temp_dir().join(format!("test{kind}-{}", unique_name(kind)));
        std::fs::create_dir_all(&dir)?;
        // From here on the directory is removed on every exit, the early ones included.
        let mut me = TestDaemon {
            child: None,
            kind,
            dir,
        };
        let conf = me.dir.join(config_file);
        std::fs::write(&conf, config)?;
        let log = std::fs::File::create(me.log_path())?;
        let child = ns
            .lab()
            .command(program)
            .map_err(io::Error::other)?
            .args(args(&me.dir, &conf))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        me.child = Some(child);
        Ok(me)
    }

    /// Waits up to [`READY_TIMEOUT`] until `ready` holds; the error names the daemon and
    /// carries its log.
    pub fn wait_ready(&self, ready: impl FnMut() -> bool) -> io::Result<()> {
        if wait_until(READY_TIMEOUT, ready) {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "{} did not answer within {} s; log:\n{}",
                self.kind,
                READY_TIMEOUT.as_secs(),
                self.log()
            )))
        }
    }

    /// The daemon's private directory (configuration, log, sockets).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join(format!("{}.log", self.kind))
    }

    /// The daemon's stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Kills the daemon with SIGKILL and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
