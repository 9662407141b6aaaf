//! A typed builder for embedders: [`Config::builder`] instead of writing TOML text.
//!
//! The builder only records the keys it is given, exactly as the file would hold them, and
//! [`ConfigBuilder::build`] hands them to the same reader and validator as [`Config::parse`]:
//! there is no second validator, every default is the file's, and every problem comes back as
//! a [`ConfigErrors`] naming its key path (`port[0].peer[0].keepalive`).
//!
//! See [`Config::builder`] for an example.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;

use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};
use toml::{Table, Value};

use super::{raw::RawConfig, validate, Config, ConfigError, ConfigErrors, MacAddr};

/// Builds a [`Config`] key by key (see [`Config::builder`] for an example).
#[derive(Debug, Clone, Default)]
pub struct ConfigBuilder {
    controller: Table,
    defaults: Table,
    ports: Vec<PortBuilder>,
    /// Values the file format cannot hold (a path that is not UTF-8), by key path.
    problems: Vec<ConfigError>,
}

/// One `[[port]]` for [`ConfigBuilder::port`].
#[derive(Debug, Clone)]
pub struct PortBuilder {
    keys: Table,
    peers: Vec<PeerBuilder>,
    problems: Vec<(String, String)>,
}

/// One `[[port.peer]]` for [`PortBuilder::peer`].
#[derive(Debug, Clone)]
pub struct PeerBuilder {
    keys: Table,
}

fn int(v: impl Into<i64>) -> Value {
    Value::Integer(v.into())
}

/// A count of seconds or milliseconds as a TOML integer (beyond `i64::MAX` it is refused by
/// validation like any too large value).
fn uint(v: u128) -> Value {
    Value::Integer(i64::try_from(v).unwrap_or(i64::MAX))
}

fn text(v: impl ToString) -> Value {
    Value::String(v.to_string())
}

/// A path as the file would hold it, or why it cannot be written there.
fn path_value(p: &Path) -> Result<Value, String> {
    p.to_str()
        .map(text)
        .ok_or_else(|| format!("{} is not valid UTF-8", p.display()))
}

impl Config {
    /// A builder for embedders; [`ConfigBuilder::build`] validates exactly like
    /// [`Config::parse`].
    ///
    /// ```
    /// use routing::config::{Config, PeerBuilder, PortBuilder};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let config = Config::builder()
    ///     .prefix("mnb")
    ///     .run_dir("/run/midonet-bgp")
    ///     .port(
    ///         PortBuilder::new("uplink1", "eth1")
    ///             .address("192.0.2.1/24".parse()?)
    ///             .local_as(65001)
    ///             .network("203.0.113.0/24".parse()?)
    ///             .peer(PeerBuilder::new("192.0.2.2".parse()?, 65002).timers(10, 30)),
    ///     )
    ///     .build()?;
    /// assert_eq!(config.ports[0].peers[0].timers.hold(), 30);
    ///
    /// // The file's rules, with the file's key paths.
    /// let bad = Config::builder()
    ///     .port(PortBuilder::new("uplink1", "eth1").address("192.0.2.1/24".parse()?).local_as(0))
    ///     .build()
    ///     .unwrap_err();
    /// assert!(bad.problems().iter().any(|p| p.path == "port[0].local_as"), "{bad}");
    /// # Ok(()) }
    /// ```
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }
}

impl ConfigBuilder {
    fn set(mut self, key: &str, v: Value) -> Self {
        self.controller.insert(key.into(), v);
        self
    }

    fn set_path(mut self, key: &str, p: &Path) -> Self {
        match path_value(p) {
            Ok(v) => self.set(key, v),
            Err(reason) => {
                self.problems.push(ConfigError {
                    path: format!("controller.{key}"),
                    reason,
                });
                self
            }
        }
    }

    /// `controller.prefix`: name prefix of namespaces and links.
    pub fn prefix(self, prefix: &str) -> Self {
        self.set("prefix", text(prefix))
    }

    /// `controller.vty_range`: the range cut into one /30 per port for the Vty links.
    pub fn vty_range(self, range: Ipv4Network) -> Self {
        self.set("vty_range", text(range))
    }

    /// `controller.vty_port`: bgpd's Vty TCP port.
    pub fn vty_port(self, port: u16) -> Self {
        self.set("vty_port", int(port))
    }

    /// `controller.vty_password`.
    pub fn vty_password(self, password: &str) -> Self {
        self.set("vty_password", text(password))
    }

    /// `controller.run_dir`: sockets, pid files, bgpd configs and logs.
    pub fn run_dir(self, dir: impl AsRef<Path>) -> Self {
        self.set_path("run_dir", dir.as_ref())
    }

    /// `controller.control_socket`.
    pub fn control_socket(self, path: impl AsRef<Path>) -> Self {
        self.set_path("control_socket", path.as_ref())
    }

    /// `controller.control_group`: group (name or number) allowed to read status.
    pub fn control_group(self, group: &str) -> Self {
        self.set("control_group", text(group))
    }

    /// `controller.host_namespace`: the namespace playing the host side.
    pub fn host_namespace(self, namespace: &str) -> Self {
        self.set("host_namespace", text(namespace))
    }

    /// `controller.bgpd_path`.
    pub fn bgpd_path(self, path: impl AsRef<Path>) -> Self {
        self.set_path("bgpd_path", path.as_ref())
    }

    /// `controller.status_interval`, whole seconds (a fraction is refused like in the file,
    /// which holds seconds).
    pub fn status_interval(mut self, every: Duration) -> Self {
        if every.subsec_nanos() != 0 {
            self.problems.push(ConfigError {
                path: "controller.status_interval".into(),
                reason: format!("{every:?} is not a whole number of seconds"),
            });
            return self;
        }
        self.set("status_interval", uint(every.as_secs().into()))
    }

    /// `controller.restart_backoff_initial_ms` and `restart_backoff_max_ms` (milliseconds).
    pub fn restart_backoff(self, initial: Duration, max: Duration) -> Self {
        self.set("restart_backoff_initial_ms", uint(initial.as_millis()))
            .set("restart_backoff_max_ms", uint(max.as_millis()))
    }

    /// `[defaults]` timers of every peer: keepalive and hold time, seconds.
    pub fn default_timers(mut self, keepalive: u16, hold_time: u16) -> Self {
        self.defaults.insert("keepalive".into(), int(keepalive));
        self.defaults.insert("hold_time".into(), int(hold_time));
        self
    }

    /// `[defaults].connect_retry`, seconds.
    pub fn default_connect_retry(mut self, secs: u16) -> Self {
        self.defaults.insert("connect_retry".into(), int(secs));
        self
    }

    /// Adds a `[[port]]` (ports keep the order they are added in).
    pub fn port(mut self, port: PortBuilder) -> Self {
        self.ports.push(port);
        self
    }

    /// Validates everything given, exactly as [`Config::parse`] validates a file.
    pub fn build(self) -> Result<Config, ConfigErrors> {
        let mut problems = self.problems;
        let mut root = Table::new();
        root.insert("controller".into(), Value::Table(self.controller));
        root.insert("defaults".into(), Value::Table(self.defaults));
        let mut ports = Vec::new();
        for (i, p) in self.ports.into_iter().enumerate() {
            for (key, reason) in p.problems {
                problems.push(ConfigError {
                    path: format!("port[{i}].{key}"),
                    reason,
                });
            }
            let mut t = p.keys;
            let peers = p.peers.into_iter().map(|x| Value::Table(x.keys)).collect();
            t.insert("peer".into(), Value::Array(peers));
            ports.push(Value::Table(t));
        }
        root.insert("port".into(), Value::Array(ports));
        if !problems.is_empty() {
            return Err(ConfigErrors::Invalid(problems));
        }
        let raw: RawConfig = Value::Table(root)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigErrors::Syntax {
                message: e.to_string().trim_end().to_string(),
            })?;
        validate::validate(raw)
    }
}

impl PortBuilder {
    /// A port named `name` whose peers are reached through the host interface `uplink`.
    pub fn new(name: &str, uplink: &str) -> PortBuilder {
        let mut keys = Table::new();
        keys.insert("name".into(), text(name));
        keys.insert("uplink".into(), text(uplink));
        PortBuilder {
            keys,
            peers: Vec::new(),
            problems: Vec::new(),
        }
    }

    fn set(mut self, key: &str, v: Value) -> Self {
        self.keys.insert(key.into(), v);
        self
    }

    /// `address`: the router port's IPv4 address with its prefix length.
    pub fn address(self, address: Ipv4Network) -> Self {
        self.set("address", text(address))
    }

    /// `address6`: the router port's IPv6 address with its prefix length.
    pub fn address6(self, address: Ipv6Network) -> Self {
        self.set("address6", text(address))
    }

    /// `mac`: the router port's MAC address.
    pub fn mac(self, mac: MacAddr) -> Self {
        self.set("mac", text(mac))
    }

    /// `mtu` of the link bgpd sees.
    pub fn mtu(self, mtu: u32) -> Self {
        self.set("mtu", int(mtu))
    }

    /// `local_as`.
    pub fn local_as(self, asn: u32) -> Self {
        self.set("local_as", int(asn))
    }

    /// `router_id`.
    pub fn router_id(self, id: Ipv4Addr) -> Self {
        self.set("router_id", text(id))
    }

    /// Adds one of `networks` (the prefixes advertised to every peer).
    pub fn network(mut self, prefix: IpNetwork) -> Self {
        let entry = self
            .keys
            .entry("networks")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(a) = entry {
            a.push(text(prefix));
        }
        self
    }

    /// `maximum_paths` (ECMP width).
    pub fn maximum_paths(self, n: u16) -> Self {
        self.set("maximum_paths", int(n))
    }

    /// Port-wide peer timers: keepalive and hold time, seconds.
    pub fn timers(self, keepalive: u16, hold_time: u16) -> Self {
        self.set("keepalive", int(keepalive))
            .set("hold_time", int(hold_time))
    }

    /// Port-wide `connect_retry`, seconds.
    pub fn connect_retry(self, secs: u16) -> Self {
        self.set("connect_retry", int(secs))
    }

    /// `log_file` of the port's bgpd.
    pub fn log_file(mut self, path: impl AsRef<Path>) -> Self {
        match path_value(path.as_ref()) {
            Ok(v) => self.set("log_file", v),
            Err(reason) => {
                self.problems.push(("log_file".into(), reason));
                self
            }
        }
    }

    /// `debug`: bgpd's `debug bgp` logging.
    pub fn debug(self, on: bool) -> Self {
        self.set("debug", Value::Boolean(on))
    }

    /// `graceful_restart` on or off.
    pub fn graceful_restart(self, on: bool) -> Self {
        self.set("graceful_restart", Value::Boolean(on))
    }

    /// `restart_time` and `stalepath_time` of graceful restart, seconds.
    pub fn graceful_restart_times(self, restart: u16, stalepath: u16) -> Self {
        self.set("restart_time", int(restart))
            .set("stalepath_time", int(stalepath))
    }

    /// Adds a `[[port.peer]]`.
    pub fn peer(mut self, peer: PeerBuilder) -> Self {
        self.peers.push(peer);
        self
    }
}

impl PeerBuilder {
    /// A peer at `address` in AS `remote_as`.
    pub fn new(address: IpAddr, remote_as: u32) -> PeerBuilder {
        let mut keys = Table::new();
        keys.insert("address".into(), text(address));
        keys.insert("remote_as".into(), int(remote_as));
        PeerBuilder { keys }
    }

    fn set(mut self, key: &str, v: Value) -> Self {
        self.keys.insert(key.into(), v);
        self
    }

    /// Keepalive and hold time, seconds.
    pub fn timers(self, keepalive: u16, hold_time: u16) -> Self {
        self.set("keepalive", int(keepalive))
            .set("hold_time", int(hold_time))
    }

    /// `connect_retry`, seconds.
    pub fn connect_retry(self, secs: u16) -> Self {
        self.set("connect_retry", int(secs))
    }

    /// `password` (TCP MD5).
    pub fn password(self, password: &str) -> Self {
        self.set("password", text(password))
    }

    /// `multihop = TTL` (an eBGP peer not on the port's subnet).
    pub fn multihop(self, ttl: u8) -> Self {
        self.set("multihop", int(ttl))
    }

    /// `description`.
    pub fn description(self, description: &str) -> Self {
        self.set("description", text(description))
    }

    /// `shutdown`: configured but administratively down.
    pub fn shutdown(self, down: bool) -> Self {
        self.set("shutdown", Value::Boolean(down))
    }

    /// `passive`: wait for the peer to open the TCP connection, never open it.
    pub fn passive(self, passive: bool) -> Self {
        self.set("passive", Value::Boolean(passive))
    }

    /// `graceful_restart` mode of this peer (`"restart"`, `"helper"` or `"disable"`, as in the
    /// file).
    pub fn graceful_restart(self, mode: &str) -> Self {
        self.set("graceful_restart", text(mode))
    }

    /// `import.reject_as`: drop the routes whose AS path holds an AS number of these classes
    /// (other than the peer's own AS).
    pub fn reject_as(mut self, classes: &[super::AsClass]) -> Self {
        let list = classes.iter().map(|c| text(c.keyword())).collect();
        let import = self
            .keys
            .entry("import")
            .or_insert_with(|| Value::Table(Table::new()));
        if let Value::Table(t) = import {
            t.insert("reject_as".into(), Value::Array(list));
        }
        self
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const FILE: &str = r#"
[controller]
prefix = "lab"
vty_range = "169.254.0.0/24"
vty_port = 2700
run_dir = "/run/lab"
host_namespace = "hostside"
status_interval = 2
restart_backoff_initial_ms = 250
restart_backoff_max_ms = 8000
[defaults]
keepalive = 20
hold_time = 60
[[port]]
name = "p1"
uplink = "eth1"
address = "192.0.2.1/24"
address6 = "2001:db8::1/64"
mac = "02:00:5e:00:53:01"
mtu = 1400
local_as = 65001
networks = ["203.0.113.0/24", "2001:db8:100::/48"]
maximum_paths = 4
graceful_restart = false
[[port.peer]]
address = "192.0.2.2"
remote_as = 65002
timers = 0
"#;

    fn file() -> String {
        // `timers = 0` is a marker line: the builder below sets the same keys.
        FILE.replace("timers = 0\n", "keepalive = 10\nhold_time = 30\npassword = \"pw\"\ndescription = \"upstream one\"\n[[port.peer]]\naddress = \"2001:db8::2\"\nremote_as = 65003\nshutdown = true\npassive = true\n[port.peer.import]\nreject_as = [\"private\", \"reserved\"]\n")
    }

    fn built() -> ConfigBuilder {
        Config::builder()
            .prefix("lab")
            .vty_range("169.254.0.0/24".parse().unwrap())
            .vty_port(2700)
            .run_dir("/run/lab")
            .host_namespace("hostside")
            .status_interval(Duration::from_secs(2))
            .restart_backoff(Duration::from_millis(250), Duration::from_secs(8))
            .default_timers(20, 60)
            .port(
                PortBuilder::new("p1", "eth1")
                    .address("192.0.2.1/24".parse().unwrap())
                    .address6("2001:db8::1/64".parse().unwrap())
                    .mac("02:00:5e:00:53:01".parse().unwrap())
                    .mtu(1400)
                    .local_as(65001)
                    .network("203.0.113.0/24".parse().unwrap())
                    .network("2001:db8:100::/48".parse().unwrap())
                    .maximum_paths(4)
                    .graceful_restart(false)
                    .peer(
                        PeerBuilder::new("192.0.2.2".parse().unwrap(), 65002)
                            .timers(10, 30)
                            .password("pw")
                            .description("upstream one"),
                    )
                    .peer(
                        PeerBuilder::new("2001:db8::2".parse().unwrap(), 65003)
                            .shutdown(true)
                            .passive(true)
                            .reject_as(&[
                                super::super::AsClass::Private,
                                super::super::AsClass::Reserved,
                            ]),
                    ),
            )
    }

    #[test]
    fn the_builder_and_the_file_give_the_same_config() {
        assert_eq!(built().build().unwrap(), Config::parse(&file()).unwrap());
        // Defaults are the file's too.
        let minimal = Config::builder()
            .port(
                PortBuilder::new("p1", "eth1")
                    .address("192.0.2.1/24".parse().unwrap())
                    .local_as(65001)
                    .peer(PeerBuilder::new("192.0.2.2".parse().unwrap(), 65002)),
            )
            .build()
            .unwrap();
        let text = "[[port]]\nname = \"p1\"\nuplink = \"eth1\"\naddress = \"192.0.2.1/24\"\nlocal_as = 65001\n[[port.peer]]\naddress = \"192.0.2.2\"\nremote_as = 65002\n";
        assert_eq!(minimal, Config::parse(text).unwrap());
    }

    #[test]
    fn problems_come_back_with_the_files_key_paths() {
        let e = Config::builder()
            .prefix("Not-Valid")
            .port(
                PortBuilder::new("p1", "eth1")
                    .address("192.0.2.1/24".parse().unwrap())
                    .local_as(65001)
                    .network("203.0.113.1/24".parse().unwrap())
                    .peer(PeerBuilder::new("192.0.2.2".parse().unwrap(), 65002).timers(10, 2))
                    .peer(PeerBuilder::new("198.51.100.9".parse().unwrap(), 0)),
            )
            .port(PortBuilder::new("p1", "eth2"))
            .build()
            .unwrap_err();
        let paths: Vec<String> = e.problems().into_iter().map(|p| p.path).collect();
        for key in [
            "controller.prefix",
            "port[0].networks[0]",
            "port[0].peer[0].hold_time",
            "port[0].peer[1].remote_as",
            "port[1].local_as",
        ] {
            assert!(
                paths.iter().any(|p| p == key),
                "{key} missing from {paths:?}"
            );
        }
        let e = Config::builder()
            .status_interval(Duration::from_millis(1500))
            .build()
            .unwrap_err();
        assert_eq!(e.problems()[0].path, "controller.status_interval");
    }

    #[test]
    fn a_path_the_file_cannot_hold_is_an_error_not_a_changed_path() {
        use std::os::unix::ffi::OsStrExt;
        let odd = Path::new(std::ffi::OsStr::from_bytes(b"/run/\xff"));
        let e = Config::builder()
            .run_dir(odd)
            .port(PortBuilder::new("p1", "eth1").log_file(odd))
            .build()
            .unwrap_err();
        let paths: Vec<String> = e.problems().into_iter().map(|p| p.path).collect();
        assert_eq!(paths, ["controller.run_dir", "port[0].log_file"]);
    }
}
