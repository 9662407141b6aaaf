//! Validated values of the BGP configuration: each constructor refuses anything that could
//! change the meaning of the command line it ends up in (newline, second command, `?`, control
//! characters, spaces where bgpd expects one word) and enforces bgpd's ranges.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::Serialize;

/// Why a configuration value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A number outside the range bgpd accepts.
    #[error("{field} = {value} is outside {min}..={max}")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// The value given.
        value: u64,
        /// Smallest accepted value.
        min: u64,
        /// Largest accepted value.
        max: u64,
    },
    /// A text field holds a character it may not contain.
    #[error("{field}: character {ch:?} at offset {offset} is not allowed")]
    BadCharacter {
        /// The field.
        field: &'static str,
        /// The character.
        ch: char,
        /// Its byte offset.
        offset: usize,
    },
    /// A text field is empty, too long, or badly spaced.
    #[error("{field}: length {len} is outside {min}..={max}")]
    BadLength {
        /// The field.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
        /// Smallest accepted length.
        min: usize,
        /// Largest accepted length.
        max: usize,
    },
    /// A description with leading, trailing or repeated spaces (bgpd would normalise them).
    #[error("{field}: leading, trailing or repeated spaces are not allowed")]
    BadSpacing {
        /// The field.
        field: &'static str,
    },
    /// A prefix with host bits set or a bad length.
    #[error("prefix {text:?} is not a network address with a valid length")]
    BadPrefix {
        /// The prefix as given.
        text: String,
    },
    /// A log file path that is not absolute.
    #[error("log file {path:?} must be an absolute path")]
    RelativePath {
        /// The path.
        path: String,
    },
    /// A hold time of 1 or 2 seconds (RFC 4271 and bgpd accept 0 or 3..=65535).
    #[error("hold time {hold} s must be 0 (no hold timer) or 3..=65535")]
    BadHoldTime {
        /// The hold time.
        hold: u16,
    },
    /// Two neighbors with the same address, or an activation of an unknown neighbor.
    #[error("neighbor {address}: {problem}")]
    Neighbor {
        /// The neighbor.
        address: IpAddr,
        /// What is wrong.
        problem: &'static str,
    },
    /// A word that is not one of the accepted forms (a community, an action).
    #[error("{field}: {text:?} is not {expected}")]
    BadWord {
        /// The field.
        field: &'static str,
        /// The text given.
        text: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// A prefix-list entry matching the same routes as an earlier one (bgpd would silently
    /// ignore it).
    #[error("entry {index} matches the same prefix and lengths as entry {first}")]
    DuplicateEntry {
        /// Index of the repeated entry.
        index: usize,
        /// Index of the first one.
        first: usize,
    },
    /// A prefix-list or route-map that is inconsistent with the rest of the configuration.
    #[error("policy {name}: {problem}")]
    Policy {
        /// The prefix-list or route-map.
        name: super::policy::PolicyName,
        /// What is wrong.
        problem: &'static str,
    },
    /// A network route-map that belongs to no network, or a name used twice (by two networks
    /// or by a policy route-map too).
    #[error("route-map {name}: {problem}")]
    RouteMap {
        /// The route-map.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// A prefix of the wrong address family for its section.
    #[error("prefix {prefix} is not in the {family} address family")]
    WrongFamily {
        /// The prefix.
        prefix: Prefix,
        /// The family of the section.
        family: &'static str,
    },
}

fn check_range(field: &'static str, value: u64, min: u64, max: u64) -> Result<(), ConfigError> {
    if value < min || value > max {
        return Err(ConfigError::OutOfRange {
            field,
            value,
            min,
            max,
        });
    }
    Ok(())
}

/// Checks a text field: printable ASCII, no `?`, spaces only if `spaces` (then single and inner).
fn check_text(field: &'static str, s: &str, max: usize, spaces: bool) -> Result<(), ConfigError> {
    if s.is_empty() || s.len() > max {
        return Err(ConfigError::BadLength {
            field,
            len: s.len(),
            min: 1,
            max,
        });
    }
    for (offset, ch) in s.char_indices() {
        let ok = ch.is_ascii_graphic() && ch != '?' || (ch == ' ' && spaces);
        if !ok {
            return Err(ConfigError::BadCharacter { field, ch, offset });
        }
    }
    if spaces && (s.starts_with(' ') || s.ends_with(' ') || s.contains("  ")) {
        return Err(ConfigError::BadSpacing { field });
    }
    Ok(())
}

/// An autonomous system number, 1..=4294967295.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Asn(u32);

impl Asn {
    /// Validates an AS number (0 is reserved and refused).
    pub fn new(asn: u32) -> Result<Asn, ConfigError> {
        check_range("asn", asn.into(), 1, u32::MAX.into())?;
        Ok(Asn(asn))
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Asn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A neighbor description: 1..=80 bytes of printable ASCII, single inner spaces, no `?`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Description(String);

impl Description {
    /// Longest description accepted (bgpd itself has no limit; this is the project's bound).
    pub const MAX_LEN: usize = 80;

    /// Validates a description.
    pub fn new(text: &str) -> Result<Description, ConfigError> {
        check_text("description", text, Self::MAX_LEN, true)?;
        Ok(Description(text.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A TCP MD5 password: one word of 1..=80 printable ASCII bytes (bgpd's and the kernel's
/// limit), no `?`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Password(String);

impl Password {
    /// Longest password (TCP_MD5SIG_MAXKEYLEN; bgpd answers `% Invalid value` beyond it).
    pub const MAX_LEN: usize = 80;

    /// Validates a password.
    pub fn new(text: &str) -> Result<Password, ConfigError> {
        check_text("password", text, Self::MAX_LEN, false)?;
        Ok(Password(text.to_owned()))
    }

    /// The password.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Serialized as `"<redacted>"`, like its `Debug` form: a password never leaves in a dump.
impl Serialize for Password {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

/// An absolute log file path: one word of printable ASCII, at most 255 bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct LogFile(String);

impl LogFile {
    /// Validates a log file path.
    pub fn new(path: &str) -> Result<LogFile, ConfigError> {
        check_text("log file", path, 255, false)?;
        if !path.starts_with('/') {
            return Err(ConfigError::RelativePath {
                path: path.to_owned(),
            });
        }
        Ok(LogFile(path.to_owned()))
    }

    /// The path.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `timers KEEPALIVE HOLD`: keepalive 0..=65535, hold 0 or 3..=65535 (RFC 4271 §4.2 and bgpd).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Timers {
    keepalive: u16,
    hold: u16,
}

impl Timers {
    /// bgpd's defaults (`timers 60 180`, what a neighbor without a `timers` line uses).
    pub const BGPD_DEFAULT: Timers = Timers {
        keepalive: 60,
        hold: 180,
    };

    /// Validates keepalive and hold time (seconds).
    pub fn new(keepalive: u16, hold: u16) -> Result<Timers, ConfigError> {
        if hold == 1 || hold == 2 {
            return Err(ConfigError::BadHoldTime { hold });
        }
        Ok(Timers { keepalive, hold })
    }

    /// Keepalive interval in seconds.
    pub const fn keepalive(self) -> u16 {
        self.keepalive
    }

    /// Hold time in seconds.
    pub const fn hold(self) -> u16 {
        self.hold
    }

    /// The keepalive interval bgpd really uses: at most a third of the hold time (bgpd accepts
    /// a longer keepalive and silently lowers it, as RFC 4271 §10 suggests).
    pub fn effective_keepalive(self) -> u16 {
        self.keepalive.min(self.hold / 3)
    }

    /// True when bgpd will lower the keepalive to a third of the hold time
    /// ([`Timers::effective_keepalive`] differs from [`Timers::keepalive`]).
    pub fn keepalive_is_lowered(self) -> bool {
        self.effective_keepalive() != self.keepalive
    }
}

/// `timers connect N`: 1..=65535 seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ConnectRetry(u16);

impl ConnectRetry {
    /// bgpd's default (120 s, what a neighbor without `timers connect` uses).
    pub const BGPD_DEFAULT: ConnectRetry = ConnectRetry(120);

    /// Validates a connect-retry interval.
    pub fn new(secs: u16) -> Result<ConnectRetry, ConfigError> {
        check_range("connect retry", secs.into(), 1, 65535)?;
        Ok(ConnectRetry(secs))
    }

    /// Seconds.
    pub const fn get(self) -> u16 {
        self.0
    }
}

/// `ebgp-multihop N`: 1..=255 hops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Multihop(u8);

impl Multihop {
    /// Validates a TTL.
    pub fn new(ttl: u8) -> Result<Multihop, ConfigError> {
        check_range("ebgp-multihop", ttl.into(), 1, 255)?;
        Ok(Multihop(ttl))
    }

    /// Hops.
    pub fn get(self) -> u8 {
        self.0
    }
}

/// `advertisement-interval N`: 0..=600 seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct AdvertisementInterval(u16);

impl AdvertisementInterval {
    /// Validates an advertisement interval.
    pub fn new(secs: u16) -> Result<AdvertisementInterval, ConfigError> {
        check_range("advertisement-interval", secs.into(), 0, 600)?;
        Ok(AdvertisementInterval(secs))
    }

    /// Seconds.
    pub fn get(self) -> u16 {
        self.0
    }
}

/// `maximum-paths N`: 1..=256 (FRR 8.4 as built by Debian, `--enable-multipath=256`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct MaximumPaths(u16);

impl MaximumPaths {
    /// Validates a path count.
    pub fn new(n: u16) -> Result<MaximumPaths, ConfigError> {
        check_range("maximum-paths", n.into(), 1, 256)?;
        Ok(MaximumPaths(n))
    }

    /// Path count.
    pub fn get(self) -> u16 {
        self.0
    }
}

/// An IPv4 or IPv6 network prefix with no host bits set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

impl Prefix {
    /// Validates a prefix: length within the family's maximum and no host bits set (bgpd would
    /// silently mask them, so the applied configuration would differ from the requested one).
    pub fn new(addr: IpAddr, len: u8) -> Result<Prefix, ConfigError> {
        let bad = || ConfigError::BadPrefix {
            text: format!("{addr}/{len}"),
        };
        let host_bits_clear = match addr {
            IpAddr::V4(a) => len <= 32 && (len == 32 || u32::from(a) & (u32::MAX >> len) == 0),
            IpAddr::V6(a) => len <= 128 && (len == 128 || u128::from(a) & (u128::MAX >> len) == 0),
        };
        if !host_bits_clear {
            return Err(bad());
        }
        Ok(Prefix { addr, len })
    }

    /// The network address.
    pub fn addr(self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix_len(self) -> u8 {
        self.len
    }

    /// True for a zero-length prefix (a default route).
    pub fn is_default(self) -> bool {
        self.len == 0
    }
}

/// Serialized as its text form (`192.0.2.0/24`).
impl Serialize for Prefix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for Prefix {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Prefix, ConfigError> {
        let bad = || ConfigError::BadPrefix { text: s.to_owned() };
        let (a, l) = s.split_once('/').ok_or_else(bad)?;
        let addr: IpAddr = a.parse().map_err(|_| bad())?;
        if l.is_empty() || l.len() > 3 || !l.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let len: u8 = l.parse().map_err(|_| bad())?;
        Prefix::new(addr, len)
    }
}

/// A `debug bgp …` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DebugFlag {
    /// `debug bgp neighbor-events`.
    NeighborEvents,
    /// `debug bgp updates`.
    Updates,
    /// `debug bgp keepalives`.
    Keepalives,
    /// `debug bgp zebra`.
    Zebra,
    /// `debug bgp nht`.
    Nht,
    /// `debug bgp update-groups`.
    UpdateGroups,
}

impl DebugFlag {
    /// The words after `debug bgp`.
    pub fn keyword(self) -> &'static str {
        match self {
            DebugFlag::NeighborEvents => "neighbor-events",
            DebugFlag::Updates => "updates",
            DebugFlag::Keepalives => "keepalives",
            DebugFlag::Zebra => "zebra",
            DebugFlag::Nht => "nht",
            DebugFlag::UpdateGroups => "update-groups",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert!(Asn::new(0).is_err());
        assert_eq!(Asn::new(4_294_967_295).map(Asn::get), Ok(4_294_967_295));
        assert!(Timers::new(0, 0).is_ok());
        assert!(Timers::new(3, 9).is_ok());
        assert_eq!(Timers::new(3, 2), Err(ConfigError::BadHoldTime { hold: 2 }));
        assert!(Timers::new(65535, 65535).is_ok());
        assert!(ConnectRetry::new(0).is_err());
        assert!(ConnectRetry::new(65535).is_ok());
        assert!(Multihop::new(0).is_err());
        assert!(Multihop::new(255).is_ok());
        assert!(AdvertisementInterval::new(601).is_err());
        assert!(AdvertisementInterval::new(600).is_ok());
        assert!(MaximumPaths::new(0).is_err());
        assert!(MaximumPaths::new(257).is_err());
        assert!(MaximumPaths::new(256).is_ok());
    }

    #[test]
    fn injection_is_refused_in_every_text_field() {
        let attacks = [
            "a\nno router bgp 65000",
            "a\rb",
            "a\r\nb",
            "x ?",
            "?",
            "a\tb",
            "a\x00b",
            "a\x1b[Ab",
            "a\x7f",
            "caf\u{e9}",
            "a\u{2028}b",
            "",
        ];
        for a in attacks {
            assert!(Description::new(a).is_err(), "description {a:?}");
            assert!(Password::new(a).is_err(), "password {a:?}");
            assert!(
                LogFile::new(&format!("/tmp/{a}")).is_err() || a.is_empty(),
                "log {a:?}"
            );
        }
        assert!(LogFile::new("/tmp/").is_ok());
        // One-word fields refuse spaces; descriptions refuse irregular spacing.
        assert!(Password::new("two words").is_err());
        assert!(LogFile::new("/tmp/a b").is_err());
        assert!(LogFile::new("relative.log").is_err());
        assert!(Description::new("two words").is_ok());
        for bad in [" lead", "trail ", "dou  ble"] {
            assert_eq!(
                Description::new(bad),
                Err(ConfigError::BadSpacing {
                    field: "description"
                })
            );
        }
        assert!(Description::new(&"d".repeat(80)).is_ok());
        assert!(Description::new(&"d".repeat(81)).is_err());
        assert!(Password::new(&"p".repeat(80)).is_ok());
        assert!(Password::new(&"p".repeat(81)).is_err());
        assert!(!format!("{:?}", Password::new("s3cret").unwrap()).contains("s3cret"));
    }

    #[test]
    fn prefixes() {
        assert_eq!(
            "192.0.2.0/24".parse::<Prefix>().unwrap().to_string(),
            "192.0.2.0/24"
        );
        assert_eq!(
            "2001:db8::/32".parse::<Prefix>().unwrap().to_string(),
            "2001:db8::/32"
        );
        assert_eq!(
            "0.0.0.0/0".parse::<Prefix>().unwrap().to_string(),
            "0.0.0.0/0"
        );
        assert!("192.0.2.1/32".parse::<Prefix>().is_ok());
        for bad in [
            "192.0.2.1/24",
            "192.0.2.0/33",
            "2001:db8::1/64",
            "192.0.2.0",
            "192.0.2.0/",
            "192.0.2.0/+4",
            "x/8",
            "192.0.2.0/24\n",
        ] {
            assert!(bad.parse::<Prefix>().is_err(), "{bad:?}");
        }
    }
}
