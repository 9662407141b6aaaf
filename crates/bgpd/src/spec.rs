//! What to run: [`BgpdSpec`] and its parts, and the command line built from them.

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::backoff::BackoffPolicy;
use crate::error::BgpdError;
use crate::secret::Secret;

/// Where the bgpd binary is looked for when [`BgpdSpec::binary`] is `None`, in order.
pub const BINARY_CANDIDATES: [&str; 3] = [
    "/usr/lib/frr/bgpd",
    "/usr/sbin/bgpd",
    "/usr/local/sbin/bgpd",
];

/// The default Vty TCP port of bgpd.
pub const DEFAULT_VTY_PORT: u16 = 2605;

/// The configuration file bgpd reads at start (`-f`).
///
/// It is meant to be almost empty and shared by every bgpd of the host: the per-port
/// configuration is applied over the Vty by the embedder on every [`crate::BgpdEvent::Ready`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigFile {
    /// Use this file as it is; the crate never writes it.
    Existing(PathBuf),
    /// The crate writes this file (mode 0600, atomically, only when its content changes; a
    /// missing parent directory is created with mode 0700) with `hostname`, the Vty password of
    /// the spec and, if given, a `log file` line.
    Managed {
        /// Path of the file.
        path: PathBuf,
        /// `hostname` line (letters, digits, `-`, `_`, `.`).
        hostname: String,
        /// Optional `log file` line. Prefer [`BgpdSpec::log_file`] (per instance): a log file in
        /// a shared config is shared by every bgpd.
        log_file: Option<PathBuf>,
    },
}

impl ConfigFile {
    /// Path of the file.
    pub fn path(&self) -> &Path {
        match self {
            ConfigFile::Existing(p) | ConfigFile::Managed { path: p, .. } => p,
        }
    }
}

/// The zebra connection of bgpd.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ZebraSocket {
    /// Connect to the zebra server listening on this Unix socket (`-z PATH`).
    Path(PathBuf),
    /// No zebra: `-Z -z /nonexistent` (in FRR 8.4 `-Z` alone still connects to the default
    /// socket).
    Disabled,
}

/// From which network namespace the supervisor connects to bgpd's Vty for the readiness check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VtyReach {
    /// From bgpd's own namespace (works for `127.0.0.1` and needs no wiring). The default.
    BgpdNamespace,
    /// From the namespace the calling process runs in (the Vty address must be routable from
    /// there, e.g. the namespace side of the Vty veth).
    CurrentNamespace,
    /// From another named namespace (e.g. the host side of a test lab).
    Namespace(String),
}

/// How readiness (the Vty accepts a login) is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadinessPolicy {
    /// Give up on this launch (kill it, count a failure) when not ready after this long
    /// (default 15 s).
    pub deadline: Duration,
    /// Pause after the first failed attempt (default 20 ms); doubled after every failed attempt…
    pub first_retry: Duration,
    /// … up to this (default 250 ms).
    pub max_retry: Duration,
    /// Timeout of one connection + login attempt (default 2 s).
    pub attempt_timeout: Duration,
}

impl Default for ReadinessPolicy {
    fn default() -> Self {
        ReadinessPolicy {
            deadline: Duration::from_secs(15),
            first_retry: Duration::from_millis(20),
            max_retry: Duration::from_millis(250),
            attempt_timeout: Duration::from_secs(2),
        }
    }
}

/// Everything needed to run and supervise one bgpd.
///
/// Build it with [`BgpdSpec::new`] and adjust the public fields.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BgpdSpec {
    /// The bgpd binary; `None` = the first of [`BINARY_CANDIDATES`] that exists.
    pub binary: Option<PathBuf>,
    /// Name of the network namespace bgpd runs in (`/run/netns/NAME`; must exist).
    pub netns: String,
    /// The (shared, almost empty) configuration file.
    pub config: ConfigFile,
    /// The zebra socket, or no zebra.
    pub zebra: ZebraSocket,
    /// Address and port the Vty binds inside the namespace (`-A`, `-P`); default `127.0.0.1:2605`.
    pub vty_addr: SocketAddr,
    /// From where the readiness check reaches the Vty.
    pub vty_reach: VtyReach,
    /// The Vty password (must match the config file's `password`). Never logged.
    pub vty_password: Secret,
    /// The `enable password` written into the managed config file (`None`: bgpd enters enable
    /// mode without one). Never logged.
    pub enable_password: Option<Secret>,
    /// The only address allowed to open a TCP Vty session: written into the managed config file
    /// as an `access-list` permitting this /32 and `line vty` / `access-class` (bgpd refuses every
    /// other source). `None`: no restriction.
    pub vty_allow: Option<Ipv4Addr>,
    /// bgpd's pid file (`-i`); its directory is created (0750) if missing.
    pub pid_file: PathBuf,
    /// Directory of bgpd's Vty Unix socket (`--vty_socket`); created (0750) if missing. One per
    /// bgpd: two bgpds cannot share it.
    pub vty_socket_dir: PathBuf,
    /// Per-instance log file (`--log file:PATH`); its directory is created (0750) if missing.
    /// Its tail is included in crash reports.
    pub log_file: Option<PathBuf>,
    /// Extra command-line arguments, appended last (e.g. `-p 0` for no BGP listener).
    pub extra_args: Vec<OsString>,
    /// Restart policy.
    pub backoff: BackoffPolicy,
    /// Readiness check.
    pub readiness: ReadinessPolicy,
    /// How long `stop` waits after SIGTERM before SIGKILL (default 5 s).
    pub stop_timeout: Duration,
    /// What the binary's command line supports (default [`vty::Flavour::FRR`]; see
    /// [`crate::version::Detected::flavour`]). A Quagga bgpd gets no `--vty_socket`, `-Z` or
    /// `--log` (its log file is set over the Vty).
    pub flavour: vty::Flavour,
}

impl BgpdSpec {
    /// A spec with the usual defaults: binary auto-detected, no zebra, Vty on `127.0.0.1:2605`
    /// reached from inside the namespace, and pid file `RUN_DIR/bgpd.pid`, Vty socket directory
    /// `RUN_DIR`, log file `RUN_DIR/bgpd.log` — `run_dir` must be specific to this bgpd.
    pub fn new(
        netns: impl Into<String>,
        run_dir: impl AsRef<Path>,
        config: ConfigFile,
        vty_password: impl Into<Secret>,
    ) -> BgpdSpec {
        let run_dir = run_dir.as_ref();
        BgpdSpec {
            binary: None,
            netns: netns.into(),
            config,
            zebra: ZebraSocket::Disabled,
            vty_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_VTY_PORT)),
            vty_reach: VtyReach::BgpdNamespace,
            vty_password: vty_password.into(),
            enable_password: None,
            vty_allow: None,
            pid_file: run_dir.join("bgpd.pid"),
            vty_socket_dir: run_dir.to_path_buf(),
            log_file: Some(run_dir.join("bgpd.log")),
            extra_args: Vec::new(),
            backoff: BackoffPolicy::default(),
            readiness: ReadinessPolicy::default(),
            stop_timeout: Duration::from_secs(5),
            flavour: vty::Flavour::FRR,
        }
    }

    /// The binary to run: the given one (even if it does not exist yet — launching it then fails
    /// and is retried with backoff), or the first existing candidate.
    pub fn resolve_binary(&self) -> Result<PathBuf, BgpdError> {
        if let Some(b) = &self.binary {
            return Ok(b.clone());
        }
        BINARY_CANDIDATES
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .ok_or_else(|| BgpdError::BinaryNotFound {
                candidates: BINARY_CANDIDATES.iter().map(PathBuf::from).collect(),
            })
    }

    /// Checks the fields that would otherwise fail late or produce a broken config file.
    pub fn validate(&self) -> Result<(), BgpdError> {
        let bad = |field, reason| Err(BgpdError::InvalidSpec { field, reason });
        if self.netns.is_empty()
            || self.netns.contains('/')
            || self.netns == "."
            || self.netns == ".."
        {
            return bad("netns", "must be a plain namespace name");
        }
        let pw = self.vty_password.expose();
        if pw.is_empty() {
            return bad(
                "vty_password",
                "must not be empty (FRR refuses Vty logins without a password)",
            );
        }
        if !pw.bytes().all(|b| b.is_ascii_graphic()) {
            return bad("vty_password", "must be printable ASCII without spaces");
        }
        if let Some(en) = &self.enable_password {
            let en = en.expose();
            if en.is_empty() || !en.bytes().all(|b| b.is_ascii_graphic()) {
                return bad(
                    "enable_password",
                    "must be non-empty printable ASCII without spaces",
                );
            }
        }
        if let ConfigFile::Managed {
            hostname, log_file, ..
        } = &self.config
        {
            if hostname.is_empty()
                || !hostname
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            {
                return bad(
                    "config.hostname",
                    "must be letters, digits, '-', '_' or '.'",
                );
            }
            if let Some(l) = log_file {
                if !path_is_config_safe(l) {
                    return bad(
                        "config.log_file",
                        "must be an absolute path without spaces or control characters",
                    );
                }
            }
        }
        if self.vty_addr.port() == 0 {
            return bad("vty_addr", "port 0 cannot be reached");
        }
        if self.vty_addr.ip().is_unspecified() && self.vty_reach != VtyReach::BgpdNamespace {
            return bad(
                "vty_addr",
                "an unspecified address is only reachable with VtyReach::BgpdNamespace",
            );
        }
        for (field, p) in [
            ("pid_file", &self.pid_file),
            ("vty_socket_dir", &self.vty_socket_dir),
        ] {
            if !p.is_absolute() {
                return bad(field, "must be an absolute path");
            }
        }
        if self.pid_file.file_name().is_none() {
            return bad("pid_file", "must name a file");
        }
        // sun_path is 108 bytes; bgpd appends "/bgpd.vty".
        if self.vty_socket_dir.as_os_str().len() + "/bgpd.vty".len() >= 108 {
            return bad("vty_socket_dir", "too long for a Unix socket path");
        }
        if let Some(l) = &self.log_file {
            if !l.is_absolute() || l.file_name().is_none() {
                return bad("log_file", "must be an absolute file path");
            }
        }
        if let ZebraSocket::Path(p) = &self.zebra {
            if p.as_os_str().len() >= 108 {
                return bad("zebra", "socket path too long for a Unix socket");
            }
        }
        Ok(())
    }

    /// bgpd's command line (without the binary).
    pub fn args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = vec!["-S".into(), "-f".into(), self.config.path().into()];
        match &self.zebra {
            ZebraSocket::Path(p) => {
                a.push("-z".into());
                a.push(p.into());
            }
            ZebraSocket::Disabled => {
                if self.flavour.has_no_zebra_option() {
                    a.push("-Z".into());
                }
                a.extend(["-z", "/nonexistent"].map(OsString::from));
            }
        }
        a.push("-i".into());
        a.push(self.pid_file.as_os_str().into());
        a.push("-A".into());
        a.push(self.vty_addr.ip().to_string().into());
        a.push("-P".into());
        a.push(self.vty_addr.port().to_string().into());
        if self.flavour.has_vty_socket_option() {
            a.push("--vty_socket".into());
            a.push(self.vty_socket_dir.as_os_str().into());
        }
        if let Some(l) = self
            .log_file
            .as_ref()
            .filter(|_| self.flavour.has_log_option())
        {
            let mut v = OsString::from("file:");
            v.push(l);
            a.push("--log".into());
            a.push(v);
        }
        a.extend(self.extra_args.iter().cloned());
        a
    }

    /// The Vty login options matching this spec (password; the per-exchange timeout of the
    /// readiness policy).
    // Field by field: the vty crate may add fields to its options.
    #[allow(clippy::field_reassign_with_default)]
    pub fn vty_options(&self) -> vty::VtyOptions {
        let mut o = vty::VtyOptions::default();
        o.password = Some(self.vty_password.expose().to_string());
        o.enable_password = self
            .enable_password
            .as_ref()
            .map(|p| p.expose().to_string());
        o.timeout = self.readiness.attempt_timeout;
        o
    }
}

fn path_is_config_safe(p: &Path) -> bool {
    p.is_absolute()
        && p.to_str()
            .is_some_and(|s| s.bytes().all(|b| b.is_ascii_graphic()))
}

/// The text of a [`ConfigFile::Managed`] file.
/// The name of the access list restricting the Vty (see [`BgpdSpec::vty_allow`]).
pub(crate) const VTY_ACCESS_LIST: &str = "midonet-bgp-vty";

/// The secrets and the Vty restriction of a managed config file.
pub(crate) struct VtyLock<'a> {
    /// `password`.
    pub password: &'a Secret,
    /// `enable password`.
    pub enable_password: Option<&'a Secret>,
    /// The only source address allowed on the Vty.
    pub allow: Option<Ipv4Addr>,
    /// How this bgpd spells the access list.
    pub flavour: &'a vty::Flavour,
}

pub(crate) fn managed_config_text(
    hostname: &str,
    lock: &VtyLock<'_>,
    log_file: Option<&Path>,
) -> String {
    let mut s = String::from(
        "! Written by the midonet-bgp bgpd supervisor; shared by every bgpd of this host.\n",
    );
    s.push_str("! Per-port configuration is applied over the Vty.\n");
    s.push_str(&format!("hostname {hostname}\n"));
    s.push_str(&format!("password {}\n", lock.password.expose()));
    if let Some(en) = lock.enable_password {
        s.push_str(&format!("enable password {}\n", en.expose()));
    }
    if let Some(a) = lock.allow {
        s.push_str(
            &lock
                .flavour
                .access_list_permit(VTY_ACCESS_LIST, &format!("{a}/32")),
        );
        s.push_str(&format!(
            "\nline vty\n access-class {VTY_ACCESS_LIST}\nexit\n"
        ));
    }
    if let Some(l) = log_file {
        s.push_str(&format!("log file {}\n", l.display()));
    }
    s.push_str("!\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> BgpdSpec {
        let cfg = ConfigFile::Managed {
            path: "/etc/mnb/bgpd.conf".into(),
            hostname: "mnb".into(),
            log_file: None,
        };
        BgpdSpec::new("bgp-1234567", "/run/mnb/bgp-1234567", cfg, "s3cret")
    }

    #[test]
    fn command_line_without_zebra() {
        let s = spec();
        let args: Vec<String> = s
            .args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args.join(" "),
            "-S -f /etc/mnb/bgpd.conf -Z -z /nonexistent -i /run/mnb/bgp-1234567/bgpd.pid -A 127.0.0.1 -P 2605 \
             --vty_socket /run/mnb/bgp-1234567 --log file:/run/mnb/bgp-1234567/bgpd.log"
        );
    }

    #[test]
    fn quagga_command_line_has_only_the_flags_quagga_knows() {
        // Quagga 1.2.4's `bgpd --help`: -d -f -i -z -p -l -A -P -r -n -u -g -S -v -C -h.
        let mut s = spec();
        s.flavour = vty::Flavour::QUAGGA;
        let args: Vec<String> = s
            .args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args.join(" "),
            "-S -f /etc/mnb/bgpd.conf -z /nonexistent -i /run/mnb/bgp-1234567/bgpd.pid -A 127.0.0.1 -P 2605"
        );
        s.zebra = ZebraSocket::Path("/run/mnb/z.api".into());
        assert!(s
            .args()
            .windows(2)
            .any(|w| w[0] == "-z" && w[1] == "/run/mnb/z.api"));
    }

    #[test]
    fn command_line_with_zebra_address_and_extra_args() {
        let mut s = spec();
        s.zebra = ZebraSocket::Path("/run/mnb/z.api".into());
        s.vty_addr = "169.254.0.2:2606"
            .parse()
            .unwrap_or_else(|_| unreachable!());
        s.log_file = None;
        s.extra_args = vec!["-p".into(), "0".into()];
        let args: Vec<String> = s
            .args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args.join(" "),
            "-S -f /etc/mnb/bgpd.conf -z /run/mnb/z.api -i /run/mnb/bgp-1234567/bgpd.pid -A 169.254.0.2 -P 2606 \
             --vty_socket /run/mnb/bgp-1234567 -p 0"
        );
    }

    #[test]
    fn validation_rejects_unusable_fields() {
        assert!(spec().validate().is_ok());
        let mut s = spec();
        s.vty_password = Secret::new("two words");
        assert!(matches!(
            s.validate(),
            Err(BgpdError::InvalidSpec {
                field: "vty_password",
                ..
            })
        ));
        let mut s = spec();
        s.vty_password = Secret::new("");
        assert!(matches!(
            s.validate(),
            Err(BgpdError::InvalidSpec {
                field: "vty_password",
                ..
            })
        ));
        let mut s = spec();
        s.config = ConfigFile::Managed {
            path: "/x".into(),
            hostname: "a\nb".into(),
            log_file: None,
        };
        assert!(matches!(
            s.validate(),
            Err(BgpdError::InvalidSpec {
                field: "config.hostname",
                ..
            })
        ));
        let mut s = spec();
        s.netns = "../x".into();
        assert!(matches!(
            s.validate(),
            Err(BgpdError::InvalidSpec { field: "netns", .. })
        ));
        let mut s = spec();
        s.pid_file = "rel/pid".into();
        assert!(matches!(
            s.validate(),
            Err(BgpdError::InvalidSpec {
                field: "pid_file",
                ..
            })
        ));
        let mut s = spec();
        s.vty_socket_dir = PathBuf::from(format!("/{}", "d".repeat(100)));
        assert!(matches!(
            s.validate(),
            Err(BgpdError::InvalidSpec {
                field: "vty_socket_dir",
                ..
            })
        ));
        let mut s = spec();
        s.vty_addr = "0.0.0.0:2605".parse().unwrap_or_else(|_| unreachable!());
        assert!(s.validate().is_ok());
        s.vty_reach = VtyReach::CurrentNamespace;
        assert!(matches!(
            s.validate(),
            Err(BgpdError::InvalidSpec {
                field: "vty_addr",
                ..
            })
        ));
    }

    #[test]
    fn binary_given_is_used_even_if_missing() {
        let mut s = spec();
        s.binary = Some("/nonexistent/bgpd".into());
        assert_eq!(
            s.resolve_binary().ok(),
            Some(PathBuf::from("/nonexistent/bgpd"))
        );
    }

    #[test]
    fn managed_config_has_hostname_password_and_optional_log() {
        let pw = Secret::new("pw1");
        let lock = VtyLock {
            password: &pw,
            enable_password: None,
            allow: None,
            flavour: &vty::Flavour::FRR,
        };
        let t = managed_config_text("mnb", &lock, Some(Path::new("/var/log/x.log")));
        assert!(t.contains("\nhostname mnb\n"));
        assert!(t.contains("\npassword pw1\n"));
        assert!(t.contains("\nlog file /var/log/x.log\n"));
        let t = managed_config_text("mnb", &lock, None);
        assert!(!t.contains("log file"));
        assert!(
            !t.contains("enable password") && !t.contains("access-class"),
            "{t}"
        );
    }

    #[test]
    fn managed_config_locks_enable_and_the_vty_source() {
        let (pw, en) = (Secret::new("pw1"), Secret::new("en2"));
        let lock = VtyLock {
            password: &pw,
            enable_password: Some(&en),
            allow: Some(Ipv4Addr::new(169, 254, 0, 1)),
            flavour: &vty::Flavour::FRR,
        };
        let t = managed_config_text("mnb", &lock, None);
        assert!(t.contains("\nenable password en2\n"), "{t}");
        assert!(
            t.contains(&format!(
                "\naccess-list {VTY_ACCESS_LIST} seq 5 permit 169.254.0.1/32\nline vty\n access-class {VTY_ACCESS_LIST}\n"
            )),
            "{t}"
        );
    }

    #[test]
    fn quagga_gets_its_access_list_spelling() {
        // Quagga 1.2 has no `seq` in access lists: with it, bgpd refuses its config and exits 1.
        let pw = Secret::new("pw1");
        let lock = VtyLock {
            password: &pw,
            enable_password: None,
            allow: Some(Ipv4Addr::new(169, 254, 0, 1)),
            flavour: &vty::Flavour::QUAGGA,
        };
        let t = managed_config_text("mnb", &lock, None);
        assert!(
            t.contains(&format!(
                "\naccess-list {VTY_ACCESS_LIST} permit 169.254.0.1/32\nline vty\n access-class {VTY_ACCESS_LIST}\n"
            )),
            "{t}"
        );
    }

    #[test]
    fn debug_of_a_spec_hides_the_password() {
        let d = format!("{:?}", spec());
        assert!(!d.contains("s3cret"), "{d}");
        let o = format!("{:?}", spec().vty_options().timeout);
        assert!(!o.is_empty());
    }
}
