//! Whole-file validation: every problem is collected with its key path.
//!
//! Every value that reaches a Vty command is built with the `vty` crate's constructor for it
//! (the ranges and characters bgpd accepts live there, once); a refused value is reported once,
//! under its own key, and nothing derived from it is checked again.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};

use super::raw::{RawConfig, RawController, RawDefaults, RawMultihop, RawPeer, RawPort};
use super::*;

/// Longest port name.
const MAX_PORT_NAME: usize = 32;
/// Longest namespace name we create.
const MAX_NAMESPACE: usize = 64;
/// Longest path given to bgpd.
const MAX_PATH: usize = 200;

/// Problems (`.0`) and warnings (`.1`) found so far.
#[derive(Default)]
struct Errors(Vec<ConfigError>, Vec<ConfigWarning>);

impl Errors {
    fn push(&mut self, path: impl Into<String>, reason: impl Into<String>) {
        self.0.push(ConfigError {
            path: path.into(),
            reason: reason.into(),
        });
    }

    fn warn(&mut self, path: impl Into<String>, reason: impl Into<String>) {
        self.1.push(ConfigWarning {
            path: path.into(),
            reason: reason.into(),
        });
    }
}

pub(super) fn validate(raw: RawConfig) -> Result<Config, ConfigErrors> {
    let mut errs = Errors::default();
    let controller = controller(&raw.controller, &mut errs);
    let defaults = defaults(&raw.defaults, &mut errs);
    let sink = super::sink::sink(
        "sink",
        &raw.sink,
        &super::SinkConfig::default(),
        &mut errs.0,
    );
    let mut ports = Vec::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut ifnames: HashMap<String, usize> = HashMap::new();
    for (i, p) in raw.port.iter().enumerate() {
        let path = format!("port[{i}]");
        if let Some(port) = port(&path, p, &controller, &defaults, &sink, &mut errs) {
            if let Some(j) = names.insert(port.name.clone(), i) {
                errs.push(
                    format!("{path}.name"),
                    format!("{:?} is already the name of port[{j}]", port.name),
                );
            }
            if let Some(j) = ifnames.insert(port.ifname.clone(), i) {
                errs.push(
                    format!("{path}.name"),
                    format!(
                        "gives the same namespace and link name {:?} as port[{j}] (only the first \
                         letters and digits of a name are used); pick names that differ earlier",
                        port.ifname
                    ),
                );
            }
            ports.push(port);
        }
    }
    let slots = crate::plan::vty_slots(controller.vty_range);
    if (ports.len() as u64) > slots {
        errs.push(
            "controller.vty_range",
            format!(
                "{} has room for {slots} ports (one /30 each), {} configured",
                controller.vty_range,
                ports.len()
            ),
        );
    }
    if errs.0.is_empty() {
        Ok(Config {
            controller,
            ports,
            sink,
            warnings: errs.1,
        })
    } else {
        Err(ConfigErrors::Invalid(errs.0))
    }
}

fn is_link_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'
}

fn controller(raw: &RawController, errs: &mut Errors) -> ControllerConfig {
    let prefix = raw.prefix.clone().unwrap_or_else(|| "mnb".into());
    if prefix.is_empty()
        || prefix.len() > 7
        || !prefix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        errs.push(
            "controller.prefix",
            format!("{prefix:?} must be 1–7 lowercase ASCII letters or digits"),
        );
    }
    let default_range = Ipv4Network::new(Ipv4Addr::new(169, 254, 0, 0), 17)
        .unwrap_or_else(|_| Ipv4Network::from(Ipv4Addr::UNSPECIFIED));
    let vty_range = match &raw.vty_range {
        None => default_range,
        Some(s) => match Ipv4Network::from_str(s) {
            Ok(n) if n.prefix() > 30 => {
                errs.push(
                    "controller.vty_range",
                    format!("{s} is smaller than one /30"),
                );
                default_range
            }
            Ok(n) if n.ip() != n.network() => {
                errs.push(
                    "controller.vty_range",
                    format!(
                        "{s} has host bits set; did you mean {}/{}?",
                        n.network(),
                        n.prefix()
                    ),
                );
                default_range
            }
            Ok(n) => {
                if let Err(why) = super::vty_range::check_vty_range_form(n) {
                    errs.push("controller.vty_range", why);
                }
                n
            }
            Err(e) => {
                errs.push(
                    "controller.vty_range",
                    format!("{s:?} is not an IPv4 prefix: {e}"),
                );
                default_range
            }
        },
    };
    let vty_port = raw.vty_port.unwrap_or(2605);
    if vty_port == 0 {
        errs.push("controller.vty_port", "must not be 0");
    }
    // Never echo a secret in an error; absent = generated per port at start.
    let mut secret = |key: &str, raw: Option<&str>| {
        super::secrets::secret(raw).unwrap_or_else(|why| {
            errs.push(key, why);
            None
        })
    };
    let vty_password = secret("controller.vty_password", raw.vty_password.as_deref());
    let enable_password = secret("controller.enable_password", raw.enable_password.as_deref());
    let run_dir = PathBuf::from(raw.run_dir.as_deref().unwrap_or("/run/midonet-bgp"));
    check_path("controller.run_dir", &run_dir, errs);
    let control_socket = raw
        .control_socket
        .as_ref()
        .map(PathBuf::from)
        .unwrap_or_else(|| run_dir.join("control.sock"));
    check_path("controller.control_socket", &control_socket, errs);
    let control_group = raw.control_group.clone();
    if let Some(g) = &control_group {
        // What useradd/groupadd accept: a name that does not start with '-', or a number.
        let name_ok = !g.starts_with('-')
            && g.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if g.is_empty() || g.len() > 32 || !name_ok {
            errs.push(
                "controller.control_group",
                "must be a group name (1–32 letters, digits, '_', '-' or '.', not starting with '-') or a number",
            );
        }
    }
    let metrics = raw.metrics.as_deref().and_then(|m| match m.parse::<SocketAddr>() {
        Ok(a) if a.port() != 0 => Some(a),
        _ => {
            errs.push(
                "controller.metrics",
                "must be an IP address and a port 1–65535, e.g. \"127.0.0.1:9179\" or \"[::1]:9179\"",
            );
            None
        }
    });
    let host_namespace = raw.host_namespace.clone();
    if let Some(ns) = &host_namespace {
        if ns.is_empty() || ns.len() > MAX_NAMESPACE || !ns.chars().all(is_link_name_char) {
            errs.push(
                "controller.host_namespace",
                "must be 1–64 letters, digits, '-', '_' or '.'",
            );
        }
    }
    let bgpd_path = PathBuf::from(raw.bgpd_path.as_deref().unwrap_or("/usr/lib/frr/bgpd"));
    check_path("controller.bgpd_path", &bgpd_path, errs);
    let status_interval = raw.status_interval.unwrap_or(5);
    if !(1..=3600).contains(&status_interval) {
        errs.push("controller.status_interval", "must be 1–3600 seconds");
    }
    let initial = raw.restart_backoff_initial_ms.unwrap_or(500);
    let max = raw.restart_backoff_max_ms.unwrap_or(30_000);
    if !(10..=600_000).contains(&initial) {
        errs.push(
            "controller.restart_backoff_initial_ms",
            "must be 10–600000 milliseconds",
        );
    }
    if !(10..=3_600_000).contains(&max) || max < initial {
        errs.push(
            "controller.restart_backoff_max_ms",
            "must be 10–3600000 milliseconds and at least restart_backoff_initial_ms",
        );
    }
    ControllerConfig {
        prefix,
        vty_range,
        vty_port,
        vty_password,
        enable_password,
        run_dir,
        control_socket,
        control_group,
        metrics,
        host_namespace,
        bgpd_path,
        status_interval: Duration::from_secs(status_interval),
        restart_backoff_initial: Duration::from_millis(initial),
        restart_backoff_max: Duration::from_millis(max),
    }
}

/// Checks that `p` is an absolute UTF-8 path that can be sent to the Vty; returns whether it is.
fn check_path(key: &str, p: &std::path::Path, errs: &mut Errors) -> bool {
    match p.to_str() {
        None => errs.push(key, "must be valid UTF-8"),
        Some(s) => {
            if !p.is_absolute() {
                errs.push(key, format!("{s:?} must be an absolute path"));
            } else if let Err(e) = VtyText::word(s, MAX_PATH) {
                errs.push(key, format!("{s:?} {e}"));
            } else {
                return true;
            }
        }
    }
    false
}

/// The timers in force at one level (`defaults`, a port, a peer), inherited by the next.
#[derive(Clone, Copy)]
struct TimerValues {
    keepalive: u16,
    hold_time: u16,
    connect_retry: ConnectRetry,
}

impl TimerValues {
    /// bgpd's own defaults.
    fn bgpd() -> TimerValues {
        TimerValues {
            keepalive: Timers::BGPD_DEFAULT.keepalive(),
            hold_time: Timers::BGPD_DEFAULT.hold(),
            connect_retry: ConnectRetry::BGPD_DEFAULT,
        }
    }

    /// The pair as the `vty` value (the hold time was checked by the same constructor when set).
    fn timers(&self) -> Timers {
        Timers::new(self.keepalive, self.hold_time).unwrap_or(Timers::BGPD_DEFAULT)
    }
}

fn defaults(raw: &RawDefaults, errs: &mut Errors) -> TimerValues {
    timers(
        "defaults",
        raw.keepalive,
        raw.hold_time,
        raw.connect_retry,
        &TimerValues::bgpd(),
        errs,
    )
}

/// A number of seconds as bgpd's commands take it (16 bits); the `vty` constructors check the
/// field's own range.
fn seconds(key: &str, v: Option<i64>, errs: &mut Errors) -> Option<u16> {
    let v = v?;
    match u16::try_from(v) {
        Ok(s) => Some(s),
        Err(_) => {
            errs.push(key, format!("{v} is outside 0–65535 seconds"));
            None
        }
    }
}

/// The timers set at `path` over those inherited from `base`. Each wrong value gives one error
/// under its own key and the inherited value is kept, so nothing else is reported because of
/// it. A keepalive bgpd will lower (above a third of the hold time) is a warning.
fn timers(
    path: &str,
    keepalive: Option<i64>,
    hold_time: Option<i64>,
    connect_retry: Option<i64>,
    base: &TimerValues,
    errs: &mut Errors,
) -> TimerValues {
    let before = errs.0.len();
    let ka_key = format!("{path}.keepalive");
    let hold_key = format!("{path}.hold_time");
    let ka = seconds(&ka_key, keepalive, errs);
    let hold = seconds(&hold_key, hold_time, errs);
    let mut out = *base;
    if let Some(ka) = ka {
        out.keepalive = ka;
    }
    if let Some(hold) = hold {
        match Timers::new(out.keepalive, hold) {
            Ok(_) => out.hold_time = hold,
            Err(e) => errs.push(&hold_key, e.to_string()),
        }
    }
    let cr_key = format!("{path}.connect_retry");
    if let Some(cr) = seconds(&cr_key, connect_retry, errs) {
        match ConnectRetry::new(cr) {
            Ok(c) => out.connect_retry = c,
            Err(e) => errs.push(&cr_key, e.to_string()),
        }
    }
    let set_here = ka.is_some() || hold.is_some();
    let t = out.timers();
    if set_here && errs.0.len() == before && t.keepalive_is_lowered() {
        let key = if ka.is_some() { ka_key } else { hold_key };
        let reason = if t.hold() == 0 {
            format!(
                "keepalive {} s with hold time 0: bgpd sends no keepalives at all",
                t.keepalive()
            )
        } else {
            format!(
                "keepalive {} s is more than a third of the hold time {} s; bgpd will send \
                 keepalives every {} s",
                t.keepalive(),
                t.hold(),
                t.effective_keepalive()
            )
        };
        errs.warn(key, reason);
    }
    out
}

fn asn(key: &str, v: Option<i64>, errs: &mut Errors) -> Option<Asn> {
    let Some(v) = v else {
        errs.push(key, "is required");
        return None;
    };
    match u32::try_from(v).ok().map(Asn::new) {
        Some(Ok(a)) => Some(a),
        _ => {
            errs.push(key, format!("{v} is not an AS number (1–4294967295)"));
            None
        }
    }
}

/// Builds a `vty` value, reporting its constructor's refusal under `key`.
fn typed<T>(
    key: &str,
    given: &str,
    r: Result<T, vty::ConfigError>,
    errs: &mut Errors,
) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            errs.push(key, format!("{given:?}: {e}"));
            None
        }
    }
}

/// Checks a prefix this controller may originate (a `networks` entry or a runtime
/// announcement): a network address (no host bits), unicast, renderable as a `network` line.
pub(crate) fn network(n: IpNetwork) -> Result<Prefix, String> {
    if n.ip() != n.network() {
        return Err(format!(
            "{n} has host bits set; did you mean {}/{}?",
            n.network(),
            n.prefix()
        ));
    }
    if n.ip().is_multicast() || n.ip().is_loopback() {
        return Err(format!("{n} is not a unicast prefix"));
    }
    Prefix::new(n.ip(), n.prefix()).map_err(|e| format!("\"{n}\": {e}"))
}

fn port(
    path: &str,
    raw: &RawPort,
    controller: &ControllerConfig,
    defaults: &TimerValues,
    base_sink: &super::SinkConfig,
    errs: &mut Errors,
) -> Option<PortConfig> {
    let before = errs.0.len();
    let sink = match &raw.sink {
        Some(s) => super::sink::sink(&format!("{path}.sink"), s, base_sink, &mut errs.0),
        None => base_sink.clone(),
    };
    let mut name_valid = false;
    let name = match &raw.name {
        None => {
            errs.push(format!("{path}.name"), "is required");
            String::new()
        }
        Some(n) => {
            name_valid = true;
            if n.is_empty()
                || n.len() > MAX_PORT_NAME
                || !n
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                errs.push(
                    format!("{path}.name"),
                    format!("{n:?} must be 1–{MAX_PORT_NAME} letters, digits, '-' or '_'"),
                );
                name_valid = false;
            }
            n.clone()
        }
    };
    let uplink = match &raw.uplink {
        None => {
            errs.push(format!("{path}.uplink"), "is required");
            String::new()
        }
        Some(u) => {
            if u.is_empty() || u.len() > 15 || !u.chars().all(is_link_name_char) {
                errs.push(
                    format!("{path}.uplink"),
                    format!("{u:?} is not an interface name (1–15 letters, digits, '-', '_', '.')"),
                );
            }
            u.clone()
        }
    };
    let ifname = base_name(&controller.prefix, &name);
    if !name.is_empty() && !name.chars().any(|c| c.is_ascii_alphanumeric()) {
        errs.push(
            format!("{path}.name"),
            format!("{name:?} needs at least one ASCII letter or digit to name its namespace"),
        );
    }
    let address = raw.address.as_ref().and_then(|s| {
        let key = format!("{path}.address");
        match Ipv4Network::from_str(s) {
            Ok(n) if n.prefix() == 32 || n.prefix() == 31 || n.ip() != n.network() => Some(n),
            Ok(n) => {
                errs.push(
                    key,
                    format!("{n} is the network address, not a host address"),
                );
                None
            }
            Err(_) => {
                errs.push(
                    key,
                    format!("{s:?} is not an IPv4 address with prefix length (e.g. 192.0.2.1/24)"),
                );
                None
            }
        }
    });
    let address6 = raw.address6.as_ref().and_then(|s| {
        match Ipv6Network::from_str(s) {
            Ok(n) if !n.ip().is_multicast() && !n.ip().is_unspecified() => Some(n),
            _ => {
                errs.push(
                    format!("{path}.address6"),
                    format!("{s:?} is not a unicast IPv6 address with prefix length (e.g. 2001:db8::1/64)"),
                );
                None
            }
        }
    });
    if raw.address.is_none() && raw.address6.is_none() {
        errs.push(
            format!("{path}.address"),
            "a port needs `address` or `address6` (or both)",
        );
    }
    let mac = raw.mac.as_ref().and_then(|s| match s.parse::<MacAddr>() {
        Ok(m) if m.is_unicast() => Some(m),
        Ok(m) => {
            errs.push(
                format!("{path}.mac"),
                format!("{m} is a multicast or all-zero address"),
            );
            None
        }
        Err(_) => {
            errs.push(
                format!("{path}.mac"),
                format!("{s:?} is not six hex bytes separated by ':' or '-'"),
            );
            None
        }
    });
    let max_routes = match raw.max_routes {
        None => DEFAULT_MAX_ROUTES,
        Some(n) => match usize::try_from(n) {
            Ok(n) if (1..=MAX_MAX_ROUTES).contains(&n) => n,
            _ => {
                errs.push(
                    format!("{path}.max_routes"),
                    format!("{n} is outside 1–{MAX_MAX_ROUTES}"),
                );
                DEFAULT_MAX_ROUTES
            }
        },
    };
    let mtu = raw.mtu.unwrap_or(1500);
    if !(576..=65535).contains(&mtu) {
        errs.push(format!("{path}.mtu"), format!("{mtu} is outside 576–65535"));
    }
    let local_as = asn(&format!("{path}.local_as"), raw.local_as, errs);
    let router_id = match (&raw.router_id, address) {
        (Some(s), _) => match Ipv4Addr::from_str(s) {
            Ok(a) if !a.is_unspecified() && !a.is_multicast() && !a.is_broadcast() => Some(a),
            _ => {
                errs.push(
                    format!("{path}.router_id"),
                    format!("{s:?} is not a usable IPv4 address"),
                );
                None
            }
        },
        (None, Some(a)) => Some(a.ip()),
        (None, None) => {
            if raw.address6.is_some() {
                errs.push(
                    format!("{path}.router_id"),
                    "is required when the port has no IPv4 address",
                );
            }
            None
        }
    };
    let mut networks = BTreeSet::new();
    for (j, s) in raw.networks.iter().enumerate() {
        let key = format!("{path}.networks[{j}]");
        match IpNetwork::from_str(s) {
            Ok(n) => match network(n) {
                Ok(p) => {
                    if !networks.insert(p) {
                        errs.push(key, format!("{s} is listed twice"));
                    }
                }
                Err(reason) => errs.push(key, reason),
            },
            Err(_) => errs.push(
                key,
                format!("{s:?} is not an IP prefix (e.g. 203.0.113.0/24)"),
            ),
        }
    }
    let maximum_paths = {
        let key = format!("{path}.maximum_paths");
        let v = raw
            .maximum_paths
            .unwrap_or(i64::from(DEFAULT_MAXIMUM_PATHS));
        let r = u16::try_from(v)
            .ok()
            .map(MaximumPaths::new)
            .unwrap_or_else(|| MaximumPaths::new(0));
        typed(&key, &v.to_string(), r, errs)
    };
    let port_timers = timers(
        path,
        raw.keepalive,
        raw.hold_time,
        raw.connect_retry,
        defaults,
        errs,
    );
    let (log_file, check_log_file) = match &raw.log_file {
        Some(s) => (PathBuf::from(s), true),
        // Derived from the name: an invalid name is reported once, under `name`.
        None => (
            controller.run_dir.join(format!("bgpd-{name}.log")),
            name_valid,
        ),
    };
    let log_key = format!("{path}.log_file");
    let log_file = match (check_log_file, log_file.to_str()) {
        (false, _) => None,
        (true, None) => {
            errs.push(&log_key, "must be valid UTF-8");
            None
        }
        (true, Some(s)) => typed(&log_key, s, LogFile::new(s), errs),
    };
    let graceful_restart = port_graceful_restart(path, raw, errs);
    let mut peers = Vec::new();
    let mut seen: HashMap<IpAddr, usize> = HashMap::new();
    if raw.peer.is_empty() {
        errs.push(format!("{path}.peer"), "a port needs at least one peer");
    }
    for (j, rp) in raw.peer.iter().enumerate() {
        let ppath = format!("{path}.peer[{j}]");
        if let Some(p) = peer(&ppath, rp, address, address6, &port_timers, &ifname, errs) {
            if let Some(k) = seen.insert(p.address, j) {
                errs.push(
                    format!("{ppath}.address"),
                    format!("{} is already peer[{k}]", p.address),
                );
            }
            peers.push(p);
        }
    }
    if errs.0.len() != before {
        return None;
    }
    Some(PortConfig {
        name,
        uplink,
        ifname,
        address,
        address6,
        mac,
        mtu,
        local_as: local_as?,
        router_id: router_id?,
        networks,
        maximum_paths: maximum_paths?,
        max_routes,
        log_file: log_file?,
        debug: raw.debug,
        graceful_restart: graceful_restart?,
        peers,
        sink,
    })
}

/// `graceful_restart` (default on), `restart_time`, `stalepath_time` of a port. `Some(None)`:
/// GR off; `None`: an error was reported.
fn port_graceful_restart(
    path: &str,
    raw: &RawPort,
    errs: &mut Errors,
) -> Option<Option<GracefulRestart>> {
    let secs = |key: &str, v: Option<i64>, default: u16, min: i64, errs: &mut Errors| {
        let v = v.unwrap_or(i64::from(default));
        match u16::try_from(v) {
            Ok(s) if (min..=4095).contains(&v) => Some(s),
            _ => {
                errs.push(
                    format!("{path}.{key}"),
                    format!("{v} is outside {min}–4095 seconds"),
                );
                None
            }
        }
    };
    let restart = secs(
        "restart_time",
        raw.restart_time,
        vty::config::gr::DEFAULT_RESTART_TIME,
        0,
        errs,
    );
    let stalepath = secs(
        "stalepath_time",
        raw.stalepath_time,
        vty::config::gr::DEFAULT_STALEPATH_TIME,
        1,
        errs,
    );
    if !raw.graceful_restart.unwrap_or(true) {
        for (key, set) in [
            ("restart_time", raw.restart_time.is_some()),
            ("stalepath_time", raw.stalepath_time.is_some()),
        ] {
            if set {
                errs.warn(
                    format!("{path}.{key}"),
                    "has no effect with graceful_restart = false",
                );
            }
        }
        return Some(None);
    }
    let (restart, stalepath) = (restart?, stalepath?);
    // The forwarding state is preserved (the datapath keeps forwarding while bgpd restarts),
    // so helpers keep our routes; zebra's stale time is bgpd's default.
    let gr = GracefulRestart::new(
        restart,
        stalepath,
        vty::config::gr::DEFAULT_RIB_STALE_TIME,
        true,
    );
    typed(
        &format!("{path}.restart_time"),
        &restart.to_string(),
        gr,
        errs,
    )
    .map(Some)
}

fn peer(
    path: &str,
    raw: &RawPeer,
    address: Option<Ipv4Network>,
    address6: Option<Ipv6Network>,
    port_timers: &TimerValues,
    ifname: &str,
    errs: &mut Errors,
) -> Option<PeerConfig> {
    let before = errs.0.len();
    let multihop = match raw.multihop {
        None | Some(RawMultihop::Flag(false)) => None,
        Some(RawMultihop::Flag(true)) => Multihop::new(255).ok(),
        Some(RawMultihop::Ttl(t)) => match u8::try_from(t).ok().map(Multihop::new) {
            Some(Ok(m)) => Some(m),
            _ => {
                errs.push(
                    format!("{path}.multihop"),
                    format!("TTL {t} is outside 1–255 (or use true/false)"),
                );
                None
            }
        },
    };
    let addr = match &raw.address {
        None => {
            errs.push(format!("{path}.address"), "is required");
            None
        }
        Some(s) => match IpAddr::from_str(s) {
            Err(_) => {
                errs.push(
                    format!("{path}.address"),
                    format!("{s:?} is not an IP address"),
                );
                None
            }
            Ok(a) if a.is_unspecified() || a.is_multicast() || a.is_loopback() => {
                errs.push(
                    format!("{path}.address"),
                    format!("{a} is not a unicast address"),
                );
                None
            }
            Ok(a) => Some(a),
        },
    };
    if let Some(a) = addr {
        let subnet: Option<IpNetwork> = match a {
            IpAddr::V4(_) => address.map(IpNetwork::V4),
            IpAddr::V6(_) => address6.map(IpNetwork::V6),
        };
        let family = if a.is_ipv4() { "address" } else { "address6" };
        match subnet {
            None => errs.push(
                format!("{path}.address"),
                format!("{a}: the port has no `{family}` of this family"),
            ),
            Some(net) if net.ip() == a => errs.push(
                format!("{path}.address"),
                format!("{a} is the port's own address"),
            ),
            Some(net) if !net.contains(a) && multihop.is_none() => errs.push(
                format!("{path}.address"),
                format!("{a} is outside the port's subnet {net}; set `multihop` for a peer that is not directly connected"),
            ),
            _ => {}
        }
    }
    let remote_as = asn(&format!("{path}.remote_as"), raw.remote_as, errs);
    let t = timers(
        path,
        raw.keepalive,
        raw.hold_time,
        raw.connect_retry,
        port_timers,
        errs,
    );
    let password = raw.password.as_ref().and_then(|s| {
        // Never echo a password in an error.
        match Password::new(s) {
            Ok(p) => Some(p),
            Err(e) => {
                errs.push(format!("{path}.password"), e.to_string());
                None
            }
        }
    });
    let description = raw
        .description
        .as_ref()
        .and_then(|s| typed(&format!("{path}.description"), s, Description::new(s), errs));
    let graceful_restart = match raw.graceful_restart.as_deref() {
        None => None,
        Some("restart") => Some(PeerGrMode::Restart),
        Some("helper") => Some(PeerGrMode::Helper),
        Some("disable") => Some(PeerGrMode::Disable),
        Some(other) => {
            errs.push(
                format!("{path}.graceful_restart"),
                format!("{other:?} is not \"restart\", \"helper\" or \"disable\""),
            );
            None
        }
    };
    let policy = addr.and_then(|a| {
        let names = match crate::plan::policy_names(ifname, a) {
            Ok(n) => n,
            Err(e) => {
                errs.push(
                    format!("{path}.address"),
                    format!("the policy names derived from it cannot be rendered: {e}"),
                );
                return None;
            }
        };
        super::policy::peer_policy(
            path,
            a,
            raw.import.as_ref(),
            raw.export.as_ref(),
            raw.maximum_prefix.as_ref(),
            names,
            &mut errs.0,
        )
    });
    if errs.0.len() != before {
        return None;
    }
    Some(PeerConfig {
        address: addr?,
        policy: policy?,
        remote_as: remote_as?,
        timers: t.timers(),
        connect_retry: t.connect_retry,
        password,
        multihop,
        description,
        shutdown: raw.shutdown,
        passive: raw.passive,
        graceful_restart,
    })
}
