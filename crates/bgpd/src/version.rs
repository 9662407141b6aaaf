//! Which bgpd is this? `BGPD --version`, parsed, mapped to the Zebra protocol profile its zebra
//! must speak.
//!
//! The Zebra header cannot tell FRR 8.4 from FRR 10.x (both marker 254, version 6) although
//! their command numbers and message layouts differ, so the controller asks the binary it will
//! launch. FRR and Quagga both print `bgpd version X.Y[.Z][suffix]` first; FRR's versions start
//! at 2.0, Quagga's are 0.99.x and 1.x, which tells the two apart.
//!
//! ```
//! let v = bgpd::version::parse_version("bgpd version 10.3\nCopyright 1996-2005 ...").unwrap();
//! assert_eq!(v.to_string(), "FRR 10.3");
//! assert_eq!(bgpd::version::profile_for(&v).unwrap(), zebra_proto::Profile::Frr103);
//! ```

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use zebra_proto::Profile;

/// The versions [`profile_for`] maps, as named in its errors.
pub const SUPPORTED: &str = "FRR 8.2–9.0, 10.0, 10.1, 10.2, 10.3; Quagga 0.99.21–0.99.24, 1.0–1.2";

/// How long `bgpd --version` may take.
pub const VERSION_TIMEOUT: Duration = Duration::from_secs(10);

/// Which routing suite a bgpd belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Suite {
    /// FRRouting (versions 2.0 and later).
    Frr,
    /// Quagga (0.99.x and 1.x).
    Quagga,
}

/// A bgpd's version as printed by `--version`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DaemonVersion {
    /// FRR or Quagga.
    pub suite: Suite,
    /// Major number.
    pub major: u32,
    /// Minor number.
    pub minor: u32,
    /// Further numeric components (FRR 8.4.4 → `[4]`; Quagga 0.99.24.1 → `[24, 1]`).
    pub rest: Vec<u32>,
    /// The version token as printed (e.g. `10.3`, `9.1-rc1`, `7.5.1_git`).
    pub text: String,
}

impl std::fmt::Display for DaemonVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let suite = match self.suite {
            Suite::Frr => "FRR",
            Suite::Quagga => "Quagga",
        };
        write!(f, "{suite} {}", self.text)
    }
}

/// A detected bgpd: its version and the Zebra profile to serve it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    /// The version.
    pub version: DaemonVersion,
    /// The protocol profile.
    pub profile: Profile,
}

impl Detected {
    /// What its command line and Vty support (see [`vty::Flavour`]).
    pub fn flavour(&self) -> vty::Flavour {
        self.version.suite.flavour()
    }
}

impl Suite {
    /// The capability table of this suite's bgpd.
    pub fn flavour(self) -> vty::Flavour {
        match self {
            Suite::Frr => vty::Flavour::FRR,
            Suite::Quagga => vty::Flavour::QUAGGA,
        }
    }
}

/// Why a bgpd's version could not be determined or is not supported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VersionError {
    /// The binary could not be run.
    #[error("cannot run {binary} --version: {source}")]
    Run {
        /// The binary.
        binary: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// It did not finish in time (it was killed).
    #[error("{binary} --version did not finish within {timeout:?}")]
    Timeout {
        /// The binary.
        binary: PathBuf,
        /// The limit.
        timeout: Duration,
    },
    /// It exited unsuccessfully.
    #[error("{binary} --version failed ({status}): {output}")]
    Failed {
        /// The binary.
        binary: PathBuf,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// The start of what it printed.
        output: String,
    },
    /// The output has no `bgpd version X.Y` line.
    #[error("no \"bgpd version X.Y\" line in the --version output: {first_line:?}")]
    Unrecognised {
        /// The first line of the output.
        first_line: String,
    },
    /// The version is not one this project's zebra speaks.
    #[error("bgpd {found} is not supported (supported: {supported})")]
    Unsupported {
        /// The version found.
        found: DaemonVersion,
        /// The versions supported ([`SUPPORTED`]).
        supported: &'static str,
    },
}

/// Parses `--version` output: the first line of the form `… version X.Y[.Z…][suffix]`.
pub fn parse_version(output: &str) -> Result<DaemonVersion, VersionError> {
    let unrecognised = || VersionError::Unrecognised {
        first_line: output
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(200)
            .collect(),
    };
    let token = output
        .lines()
        .find_map(|line| {
            let mut words = line.split_whitespace();
            words
                .by_ref()
                .find(|w| *w == "version")
                .and_then(|_| words.next())
        })
        .ok_or_else(unrecognised)?;
    let numeric: String = token
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let parts: Vec<u32> = numeric
        .split('.')
        .filter(|p| !p.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| unrecognised())?;
    let (major, minor, rest) = match parts.as_slice() {
        [major, minor, rest @ ..] => (*major, *minor, rest.to_vec()),
        _ => return Err(unrecognised()),
    };
    let suite = if major >= 2 {
        Suite::Frr
    } else {
        Suite::Quagga
    };
    Ok(DaemonVersion {
        suite,
        major,
        minor,
        rest,
        text: token.to_string(),
    })
}

/// The Zebra profile for a bgpd version, or [`VersionError::Unsupported`] naming the version
/// found and [`SUPPORTED`].
///
/// FRR's command numbering changed at 8.2, 9.1, 10.0 and 10.2 and its message layouts at 10.0,
/// 10.1, 10.2 and 10.3 (see `docs/zebra-proto.md`); FRR 9.1 and anything after 10.3 are refused
/// rather than guessed.
pub fn profile_for(v: &DaemonVersion) -> Result<Profile, VersionError> {
    let profile = match (v.suite, v.major, v.minor) {
        (Suite::Frr, 8, 2..) | (Suite::Frr, 9, 0) => Some(Profile::Frr84),
        (Suite::Frr, 10, 0) => Some(Profile::Frr100),
        (Suite::Frr, 10, 1) => Some(Profile::Frr101),
        (Suite::Frr, 10, 2) => Some(Profile::Frr102),
        (Suite::Frr, 10, 3) => Some(Profile::Frr103),
        (Suite::Quagga, 0, 99) => match v.rest.first() {
            Some(21..=24) => Some(Profile::QuaggaV2),
            _ => None,
        },
        (Suite::Quagga, 1, 0..=2) => Some(Profile::QuaggaV3),
        _ => None,
    };
    profile.ok_or_else(|| VersionError::Unsupported {
        found: v.clone(),
        supported: SUPPORTED,
    })
}

/// Runs `binary --version` (blocking, at most [`VERSION_TIMEOUT`]), parses it and maps it to a
/// profile. For async callers, [`detect`] runs this off the runtime.
pub fn detect_blocking(binary: &Path) -> Result<Detected, VersionError> {
    let output = run_version(binary, VERSION_TIMEOUT)?;
    let version = parse_version(&output)?;
    let profile = profile_for(&version)?;
    Ok(Detected { version, profile })
}

/// [`detect_blocking`] on tokio's blocking pool.
pub async fn detect(binary: &Path) -> Result<Detected, VersionError> {
    let path = binary.to_path_buf();
    match tokio::task::spawn_blocking(move || detect_blocking(&path)).await {
        Ok(res) => res,
        Err(e) => Err(VersionError::Run {
            binary: binary.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        }),
    }
}

/// Runs `binary --version` and returns its stdout and stderr, killing it after `timeout`.
fn run_version(binary: &Path, timeout: Duration) -> Result<String, VersionError> {
    let run_err = |source| VersionError::Run {
        binary: binary.to_path_buf(),
        source,
    };
    let mut child = Command::new(binary)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(run_err)?;
    // Drain both pipes on threads so a chatty binary cannot block on a full pipe.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.by_ref().take(64 * 1024).read_to_end(&mut text);
            }
            text
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let status = loop {
        match child.try_wait().map_err(run_err)? {
            Some(status) => break status,
            None if start.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(VersionError::Timeout {
                    binary: binary.to_path_buf(),
                    timeout,
                });
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    let mut text = out.join().unwrap_or_default();
    text.extend(err.join().unwrap_or_default());
    let text = String::from_utf8_lossy(&text).into_owned();
    if !status.success() {
        return Err(VersionError::Failed {
            binary: binary.to_path_buf(),
            status,
            output: text.chars().take(200).collect(),
        });
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `bgpd --version` of Debian 12's frr 8.4.4 (first lines, as printed).
    const FRR_844: &str = "bgpd version 8.4.4\nCopyright 1996-2005 Kunihiro Ishiguro, et al.\n\
        configured with:\n\t'--build=x86_64-linux-gnu' '--prefix=/usr'\n";
    /// Debian 13's frr 10.3.
    const FRR_103: &str = "bgpd version 10.3\nCopyright 1996-2005 Kunihiro Ishiguro, et al.\n\
        configured with:\n\t'--build=x86_64-linux-gnu' '--prefix=/usr' '--runstatedir=/run'\n";
    /// Quagga 1.2.4 (`print_version` in lib/command.c: name, version, copyright).
    const QUAGGA_124: &str = "bgpd version 1.2.4\nCopyright 1996-2005 Kunihiro Ishiguro, et al.\n\
        configured with:\n\t--prefix=/opt/quagga --disable-doc\n";

    fn profile(text: &str) -> Result<Profile, VersionError> {
        profile_for(&parse_version(text)?)
    }

    #[test]
    fn real_version_strings_map_to_their_profiles() {
        let v = parse_version(FRR_844).unwrap();
        assert_eq!((v.suite, v.major, v.minor), (Suite::Frr, 8, 4));
        assert_eq!(v.rest, [4]);
        assert_eq!(v.to_string(), "FRR 8.4.4");
        assert_eq!(profile(FRR_844).unwrap(), Profile::Frr84);
        assert_eq!(profile(FRR_103).unwrap(), Profile::Frr103);
        let q = parse_version(QUAGGA_124).unwrap();
        assert_eq!(q.suite, Suite::Quagga);
        assert_eq!(q.to_string(), "Quagga 1.2.4");
        assert_eq!(profile(QUAGGA_124).unwrap(), Profile::QuaggaV3);
        assert_eq!(
            profile("bgpd version 0.99.24.1\n").unwrap(),
            Profile::QuaggaV2
        );
    }

    #[test]
    fn every_frr_numbering_has_its_profile() {
        for (text, p) in [
            ("bgpd version 8.2.2", Profile::Frr84),
            ("bgpd version 8.5.4", Profile::Frr84),
            ("bgpd version 9.0.1", Profile::Frr84),
            ("bgpd version 10.0.1", Profile::Frr100),
            ("bgpd version 10.1", Profile::Frr101),
            ("bgpd version 10.2.1", Profile::Frr102),
            ("bgpd version 10.3.1", Profile::Frr103),
            ("bgpd version 10.3-dev", Profile::Frr103),
        ] {
            assert_eq!(profile(text).unwrap(), p, "{text}");
        }
    }

    #[test]
    fn unsupported_versions_are_refused_naming_found_and_supported() {
        for text in [
            "bgpd version 9.1",
            "bgpd version 10.4.0",
            "bgpd version 7.5.1_git",
            "bgpd version 0.99.20",
            "bgpd version 1.3.0",
        ] {
            let err = profile(text).unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, VersionError::Unsupported { .. }), "{text}");
            let found = text.trim_start_matches("bgpd version ");
            assert!(msg.contains(found), "{msg}");
            assert!(msg.contains(SUPPORTED), "{msg}");
        }
    }

    #[test]
    fn garbage_is_unrecognised_not_a_panic() {
        for text in [
            "",
            "bgpd",
            "bgpd version",
            "bgpd version x.y",
            "bgpd version 10",
            "bgpd version 99999999999.1",
            "\u{0}\u{1}",
        ] {
            assert!(
                matches!(parse_version(text), Err(VersionError::Unrecognised { .. })),
                "{text:?}"
            );
        }
    }

    #[test]
    fn the_installed_bgpd_is_detected() {
        let Some(bgpd) = testkit::require_bgpd("the_installed_bgpd_is_detected") else {
            return;
        };
        let d = detect_blocking(&bgpd).unwrap();
        assert_eq!(d.version.suite, Suite::Frr);
        assert_eq!(d.profile, profile_for(&d.version).unwrap());
    }

    #[test]
    fn a_binary_that_fails_or_is_missing_is_an_error() {
        assert!(matches!(
            detect_blocking(Path::new("/nonexistent/bgpd")),
            Err(VersionError::Run { .. })
        ));
        assert!(matches!(
            detect_blocking(Path::new("/bin/false")),
            Err(VersionError::Failed { .. })
        ));
        // `true` prints nothing.
        assert!(matches!(
            detect_blocking(Path::new("/bin/true")),
            Err(VersionError::Unrecognised { .. })
        ));
    }

    #[test]
    fn the_frr10_chroot_bgpd_is_detected_as_frr103() {
        let Some(root) = testkit::require_frr10("the_frr10_chroot_bgpd_is_detected_as_frr103")
        else {
            return;
        };
        // A launcher script, as a user would point `bgpd_path` at for a chrooted bgpd.
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("bgpd");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nexec chroot '{}' {} \"$@\"\n",
                root.display(),
                testkit::FRR10_BGPD
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let d = detect_blocking(&script).unwrap();
        assert_eq!(d.version.to_string(), "FRR 10.3");
        assert_eq!(d.profile, Profile::Frr103);
    }

    #[test]
    fn the_built_quagga_bgpd_is_detected_as_quagga_v3() {
        let Some(bgpd) = testkit::require_quagga("the_built_quagga_bgpd_is_detected_as_quagga_v3")
        else {
            return;
        };
        let d = detect_blocking(&bgpd).unwrap();
        assert_eq!(d.version.to_string(), "Quagga 1.2.4");
        assert_eq!(d.profile, Profile::QuaggaV3);
        assert_eq!(d.flavour(), vty::Flavour::QUAGGA);
    }

    #[tokio::test]
    async fn detect_runs_off_the_runtime() {
        let Some(bgpd) = testkit::require_bgpd("detect_runs_off_the_runtime") else {
            return;
        };
        let d = detect(&bgpd).await.unwrap();
        assert_eq!(d.profile, detect_blocking(&bgpd).unwrap().profile);
    }
}
