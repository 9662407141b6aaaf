//! A plain FRR bgpd running inside a lab namespace.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{wait_until, LabError, LabNs};

/// How a [`Bgpd`] is started.
#[derive(Debug, Clone)]
pub struct BgpdOptions {
    /// Zebra socket to connect to; `None` runs bgpd without zebra (`-Z -z /nonexistent`). A
    /// zebra-less bgpd knows no interfaces: it drops IPv6 updates with a link-local next hop.
    pub zebra_socket: Option<PathBuf>,
    /// Vty listen address inside the namespace.
    pub vty_addr: String,
    /// Vty TCP port inside the namespace.
    pub vty_port: u16,
    /// Extra command-line arguments.
    pub extra_args: Vec<String>,
    /// How long to wait for bgpd's vtysh socket.
    pub start_timeout: Duration,
}

impl Default for BgpdOptions {
    fn default() -> Self {
        BgpdOptions {
            zebra_socket: None,
            vty_addr: "127.0.0.1".into(),
            vty_port: 2605,
            extra_args: Vec::new(),
            start_timeout: Duration::from_secs(20),
        }
    }
}

/// A real FRR bgpd running inside a [`LabNs`]; killed (SIGKILL) and its directory removed on
/// drop.
///
/// Its directory holds `bgpd.conf`, `bgpd.pid`, `bgpd.out` (stdout and stderr) and the vtysh
/// socket, so [`Bgpd::vtysh`] can query it independently of the project's Vty client.
#[derive(Debug)]
pub struct Bgpd {
    child: Option<Child>,
    dir: PathBuf,
    ns_name: String,
}

impl Bgpd {
    /// Writes `config` to `dir/bgpd.conf` (creating `dir`) and starts `bgpd` in `ns`; returns
    /// once bgpd's vtysh socket exists.
    ///
    /// The config should set `hostname` and, for Vty logins over TCP, `password`.
    pub fn start(
        bgpd: &Path,
        ns: &LabNs,
        dir: &Path,
        config: &str,
        opts: &BgpdOptions,
    ) -> Result<Bgpd, LabError> {
        let file_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| LabError::File { path, source }
        };
        std::fs::create_dir_all(dir).map_err(file_err(dir))?;
        let conf = dir.join("bgpd.conf");
        std::fs::write(&conf, config).map_err(file_err(&conf))?;
        let out_path = dir.join("bgpd.out");
        let out = std::fs::File::create(&out_path).map_err(file_err(&out_path))?;
        let err = out.try_clone().map_err(file_err(&out_path))?;
        let mut cmd = ns.command(bgpd)?;
        cmd.arg("-S")
            .arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(dir.join("bgpd.pid"))
            .arg("-A")
            .arg(&opts.vty_addr)
            .arg("-P")
            .arg(opts.vty_port.to_string())
            .arg("--vty_socket")
            .arg(dir);
        match &opts.zebra_socket {
            Some(sock) => cmd.arg("-z").arg(sock),
            None => cmd.args(["-Z", "-z", "/nonexistent"]),
        };
        cmd.args(&opts.extra_args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let child = cmd.spawn().map_err(|e| LabError::BgpdStart {
            namespace: ns.name().to_string(),
            reason: format!("cannot run {}: {e}", bgpd.display()),
        })?;
        let mut me = Bgpd {
            child: Some(child),
            dir: dir.to_path_buf(),
            ns_name: ns.name().to_string(),
        };
        let sock = dir.join("bgpd.vty");
        let mut exited = None;
        let up = wait_until(opts.start_timeout, || {
            if let Some(Ok(Some(status))) = me.child.as_mut().map(|c| c.try_wait()) {
                exited = Some(status);
                return true;
            }
            sock.exists()
        });
        let reason = match exited {
            Some(status) => format!("exited with {status}; output:\n{}", me.log()),
            None if !up => format!(
                "no vtysh socket {} after {:?}; output:\n{}",
                sock.display(),
                opts.start_timeout,
                me.log()
            ),
            None => return Ok(me),
        };
        me.kill();
        Err(LabError::BgpdStart {
            namespace: me.ns_name.clone(),
            reason,
        })
    }

    /// The bgpd's pid (the child itself: it enters the namespace before exec).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// The directory with the config, pid file, output and vtysh socket.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The namespace it runs in.
    pub fn ns_name(&self) -> &str {
        &self.ns_name
    }

    /// bgpd's stdout and stderr so far (empty if unreadable).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("bgpd.out")).unwrap_or_default()
    }

    /// Runs the commands through `vtysh` (each as one `-c`) and returns the output.
    /// Configuration commands need `"configure terminal"` first, as typed at a terminal.
    pub fn vtysh(&self, cmds: &[&str]) -> Result<String, LabError> {
        let mut cmd = Command::new("vtysh");
        cmd.arg("--vty_socket").arg(&self.dir).args(["-d", "bgpd"]);
        for c in cmds {
            cmd.arg("-c").arg(c);
        }
        let line = format!("vtysh {cmds:?}");
        let out = cmd.output().map_err(|e| LabError::Command {
            command: line.clone(),
            message: e.to_string(),
        })?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(text)
        } else {
            Err(LabError::Command {
                command: line,
                message: format!(
                    "{}: {text}{}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                ),
            })
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

impl Drop for Bgpd {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
