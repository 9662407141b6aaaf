//! ZooKeeper servers for tests: Debian's `zookeeper` package run by the test itself (never the
//! system service) on 127.0.0.1, free ports, a temporary data directory, killed on drop.
//!
//! ```no_run
//! # fn t() {
//! let Some(mut zk) = testkit::zookeeper::Ensemble::start_or_skip("my_test", 3) else { return };
//! let connect = zk.connect_string(); // "127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3"
//! zk.stop(0); // one server down
//! zk.restart(0).expect("restart");
//! # let _ = connect;
//! # }
//! ```

use std::fs;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The jar of Debian's `zookeeper`/`libzookeeper-java` packages (its manifest names every
/// dependency jar).
pub const ZOOKEEPER_JAR: &str = "/usr/share/java/zookeeper.jar";
/// Debian's Java runtime launcher.
pub const JAVA: &str = "/usr/bin/java";

/// True when ZooKeeper and a Java runtime are installed.
pub fn available() -> bool {
    Path::new(ZOOKEEPER_JAR).is_file() && Path::new(JAVA).is_file()
}

/// A ZooKeeper ensemble of 1 or more servers on 127.0.0.1 (standalone when 1).
#[derive(Debug)]
pub struct Ensemble {
    dir: tempfile_dir::Dir,
    servers: Vec<Server>,
}

#[derive(Debug)]
struct Server {
    client_port: u16,
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl Ensemble {
    /// Starts `n` servers and waits until a quorum serves requests. Returns `None` after printing
    /// why when ZooKeeper is not installed (panics under CI, where nothing may be skipped).
    pub fn start_or_skip(test: &str, n: usize) -> Option<Ensemble> {
        if !available() {
            crate::skip(
                test,
                "needs ZooKeeper and a JRE (apt-get install zookeeper)",
            );
            return None;
        }
        match Ensemble::start(n) {
            Ok(e) => Some(e),
            Err(e) => panic!("{test}: cannot start ZooKeeper: {e}"),
        }
    }

    /// Starts `n` servers (1 = standalone) and waits until they serve.
    pub fn start(n: usize) -> io::Result<Ensemble> {
        let dir = tempfile_dir::Dir::new("zk")?;
        let mut ports = Vec::new();
        for _ in 0..n * 3 {
            ports.push(free_port()?);
        }
        let mut servers = Vec::new();
        for i in 0..n {
            let data = dir.path().join(format!("data{i}"));
            fs::create_dir_all(&data)?;
            let mut cfg = format!(
                "tickTime=500\ninitLimit=20\nsyncLimit=10\ndataDir={}\nclientPort={}\n\
                 clientPortAddress=127.0.0.1\nadmin.enableServer=false\nmaxSessionTimeout=60000\n\
                 minSessionTimeout=1000\n4lw.commands.whitelist=ruok,srvr,mntr\n\
                 forceSync=no\nsnapCount=1000000\n",
                data.display(),
                ports[i * 3]
            );
            if n > 1 {
                for (j, chunk) in ports.chunks(3).enumerate() {
                    cfg.push_str(&format!(
                        "server.{}=127.0.0.1:{}:{}\n",
                        j + 1,
                        chunk[1],
                        chunk[2]
                    ));
                }
                fs::write(data.join("myid"), format!("{}\n", i + 1))?;
            }
            let config = dir.path().join(format!("zoo{i}.cfg"));
            fs::write(&config, cfg)?;
            servers.push(Server {
                client_port: ports[i * 3],
                config,
                log: dir.path().join(format!("server{i}.log")),
                child: None,
            });
        }
        let mut e = Ensemble { dir, servers };
        for i in 0..n {
            e.spawn(i)?;
        }
        e.wait_serving(Duration::from_secs(60))?;
        Ok(e)
    }

    fn spawn(&mut self, i: usize) -> io::Result<()> {
        let s = &mut self.servers[i];
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&s.log)?;
        let child = Command::new(JAVA)
            .args([
                "-Xmx768m",
                "-XX:+UseSerialGC",
                "-Dzookeeper.jmx.log4j.disable=true",
                "-Djute.maxbuffer=4194304",
                "-cp",
                ZOOKEEPER_JAR,
                "org.apache.zookeeper.server.quorum.QuorumPeerMain",
            ])
            .arg(&s.config)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        s.child = Some(child);
        Ok(())
    }

    /// `127.0.0.1:P1,127.0.0.1:P2,...` (every server, running or not).
    pub fn connect_string(&self) -> String {
        self.servers
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.client_port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Number of servers.
    pub fn len(&self) -> usize {
        self.servers.len()
    }

    /// Always false (an ensemble has at least one server); for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    /// Process id of server `i`, while it runs (for benchmarks reading its CPU time).
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.servers.get(i)?.child.as_ref().map(Child::id)
    }

    /// Kills server `i` (SIGKILL) and waits for it.
    pub fn stop(&mut self, i: usize) {
        if let Some(mut c) = self.servers[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Freezes server `i` (SIGSTOP): its connections stay open but nothing answers, as in a
    /// network partition. [`Ensemble::resume`] continues it at once.
    pub fn pause(&mut self, i: usize) {
        self.signal(i, libc::SIGSTOP);
    }

    /// Continues a server frozen by [`Ensemble::pause`] (SIGCONT).
    pub fn resume(&mut self, i: usize) {
        self.signal(i, libc::SIGCONT);
    }

    fn signal(&mut self, i: usize, sig: libc::c_int) {
        if let Some(c) = &self.servers[i].child {
            if let Ok(pid) = libc::pid_t::try_from(c.id()) {
                // SAFETY: kill(2) with the pid of a child we spawned and have not reaped.
                unsafe {
                    libc::kill(pid, sig);
                }
            }
        }
    }

    /// Kills every server.
    pub fn stop_all(&mut self) {
        for i in 0..self.servers.len() {
            self.stop(i);
        }
    }

    /// Starts server `i` again (same data) without waiting.
    pub fn restart(&mut self, i: usize) -> io::Result<()> {
        self.stop(i);
        self.spawn(i)
    }

    /// Starts every stopped server and waits until a quorum serves.
    pub fn restart_all(&mut self, timeout: Duration) -> io::Result<()> {
        for i in 0..self.servers.len() {
            if self.servers[i].child.is_none() {
                self.spawn(i)?;
            }
        }
        self.wait_serving(timeout)
    }

    /// Waits until every running server answers `srvr` as a member of a serving quorum.
    pub fn wait_serving(&self, timeout: Duration) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let serving = self
                .servers
                .iter()
                .filter(|s| s.child.is_some())
                .all(|s| four_letter(s.client_port, "srvr").is_ok_and(|r| r.contains("Mode:")));
            if serving {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "ZooKeeper not serving; logs in {}",
                        self.dir.path().display()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Bytes of ZooKeeper's data directories (snapshots and transaction logs) of server `i`.
    pub fn data_bytes(&self, i: usize) -> u64 {
        dir_bytes(&self.dir.path().join(format!("data{i}")))
    }

    /// `mntr` output of server `i` (approximate data size, znode count, ...).
    pub fn mntr(&self, i: usize) -> io::Result<String> {
        four_letter(self.servers[i].client_port, "mntr")
    }

    /// The log of server `i` (for failure messages).
    pub fn log(&self, i: usize) -> String {
        fs::read_to_string(&self.servers[i].log).unwrap_or_default()
    }
}

impl Drop for Ensemble {
    fn drop(&mut self) {
        self.stop_all();
    }
}

fn dir_bytes(p: &Path) -> u64 {
    let Ok(rd) = fs::read_dir(p) else { return 0 };
    rd.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn free_port() -> io::Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// Sends a ZooKeeper four-letter command to 127.0.0.1:`port` and returns the answer.
pub fn four_letter(port: u16, cmd: &str) -> io::Result<String> {
    let mut s = TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(500),
    )?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    s.write_all(cmd.as_bytes())?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

mod tempfile_dir {
    //! A directory under the system temp dir, removed on drop (testkit has no tempfile dependency).
    use std::io;
    use std::path::{Path, PathBuf};

    #[derive(Debug)]
    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new(prefix: &str) -> io::Result<Dir> {
            let p = std::env::temp_dir().join(crate::unique_name(prefix));
            std::fs::create_dir_all(&p)?;
            Ok(Dir(p))
        }
        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
