//! Helpers shared by the project's tests.
//!
//! Privileged tests (network namespaces, veth, tc, real `bgpd`) call [`require_root`] or
//! [`require_bgpd`] first. Outside CI they return `None` after printing why the test is skipped;
//! under CI (`CI=true`) a missing prerequisite is a failure, because CI runs as root with FRR
//! installed and every test must really run there.
//!
//! [`unique_name`] gives names for namespaces and links that never collide between tests running
//! in parallel or with leftovers of an earlier run, and stay within the kernel's 15-byte limit.

pub mod bird;
pub mod daemon;
pub mod gobgp;
pub mod lab;
pub mod quagga;
pub mod sampler;
pub mod socket;
pub mod zookeeper;

pub use quagga::{find_quagga, require_quagga};

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// Where Debian's `frr` package installs bgpd, then the other usual places.
pub const BGPD_CANDIDATES: [&str; 3] = [
    "/usr/lib/frr/bgpd",
    "/usr/sbin/bgpd",
    "/usr/local/sbin/bgpd",
];

/// True when the tests run under CI (`CI=true`), where nothing may be skipped.
pub fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| v == "true" || v == "1")
        .unwrap_or(false)
}

/// True when the process runs as root (effective uid 0).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Environment variable naming a file to which every skipped test appends one line
/// (`NAME: REASON`); `scripts/test.sh` sets it and prints a summary at the end.
pub const SKIP_LOG_ENV: &str = "MNB_SKIP_LOG";

fn skip(test: &str, reason: &str) {
    if in_ci() {
        panic!("{test}: cannot be skipped under CI: {reason}");
    }
    eprintln!("SKIPPED {test}: {reason}");
    if let Some(path) = std::env::var_os(SKIP_LOG_ENV) {
        use std::io::Write;
        // One short write per line with O_APPEND: lines of parallel tests do not interleave.
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = f.write_all(format!("{test}: {reason}\n").as_bytes());
        }
    }
}

/// Returns `Some(())` when the test may use privileged kernel features; otherwise prints why the
/// test is skipped (or panics under CI) and returns `None`.
///
/// ```no_run
/// # fn t() {
/// let Some(()) = testkit::require_root("my_test") else { return };
/// # }
/// ```
pub fn require_root(test: &str) -> Option<()> {
    if is_root() {
        Some(())
    } else {
        skip(test, "needs root (network namespaces, veth, tc)");
        None
    }
}

/// Path of an installed FRR `bgpd`, if any.
pub fn find_bgpd() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("BGPD") {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    BGPD_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// Returns the path of bgpd when the test can run real bgpd processes in namespaces (root and FRR
/// installed); otherwise prints why the test is skipped (or panics under CI) and returns `None`.
pub fn require_bgpd(test: &str) -> Option<PathBuf> {
    require_root(test)?;
    match find_bgpd() {
        Some(p) => Some(p),
        None => {
            skip(test, "needs FRR's bgpd (apt-get install frr)");
            None
        }
    }
}

/// Where `scripts/frr10-chroot.sh` builds the Debian 13 chroot with FRR 10.3 (overridden by
/// `MIDONET_BGP_FRR10_CHROOT`).
pub const FRR10_CHROOT_DEFAULT: &str = "/var/cache/midonet-bgp/frr10-trixie";

/// bgpd's path inside the FRR 10 chroot.
pub const FRR10_BGPD: &str = "/usr/lib/frr/bgpd";

/// The stamp file the build script writes last (it holds bgpd's `--version` line).
const FRR10_STAMP: &str = ".midonet-bgp-frr10-ready";

/// The root of a finished FRR 10 chroot (stamp file and bgpd present), if any.
pub fn find_frr10() -> Option<PathBuf> {
    let root = std::env::var_os("MIDONET_BGP_FRR10_CHROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(FRR10_CHROOT_DEFAULT));
    let bgpd = root.join(FRR10_BGPD.trim_start_matches('/'));
    (root.join(FRR10_STAMP).is_file() && bgpd.is_file()).then_some(root)
}

/// Returns the FRR 10 chroot's root when the test can run its bgpd (root, chroot built by
/// `scripts/frr10-chroot.sh`); otherwise prints why the test is skipped (or panics under CI)
/// and returns `None`. Start its bgpd with [`lab::TestBgpd::start_in_chroot`] with the root and
/// [`FRR10_BGPD`] as the path.
pub fn require_frr10(test: &str) -> Option<PathBuf> {
    require_root(test)?;
    match find_frr10() {
        Some(p) => Some(p),
        None => {
            skip(
                test,
                "needs the FRR 10.3 chroot (run scripts/frr10-chroot.sh as root)",
            );
            None
        }
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name `prefix` + a suffix unique to this process and call, at most 15 bytes long (the kernel's
/// interface-name limit), made of ASCII letters and digits only.
///
/// `prefix` is cut to 5 bytes. The suffix encodes the pid and a per-process counter in base 36,
/// so names from parallel tests and from different test binaries do not collide.
pub fn unique_name(prefix: &str) -> String {
    let prefix: String = prefix
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(5)
        .collect();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    let mut s = format!(
        "{prefix}{}{}",
        base36(pid % 36u32.pow(4), 4),
        base36(n % 36u32.pow(3), 3)
    );
    s.truncate(15);
    s
}

fn base36(mut v: u32, width: usize) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(v % 36) as usize];
        v /= 36;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_are_logged_outside_ci_and_fail_under_ci() {
        let dir = std::env::temp_dir().join(unique_name("skiplog"));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let log = dir.join("skips");
        // The only test of this binary that reads or writes these variables.
        std::env::set_var(SKIP_LOG_ENV, &log);
        std::env::set_var("CI", "false");
        skip("a_test", "needs root");
        skip("b_test", "needs bgpd");
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert_eq!(text, "a_test: needs root\nb_test: needs bgpd\n");
        std::env::set_var("CI", "true");
        let panicked = std::panic::catch_unwind(|| skip("c_test", "needs root")).is_err();
        std::env::remove_var("CI");
        std::env::remove_var(SKIP_LOG_ENV);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(panicked, "a skip under CI=true must fail the test");
    }

    #[test]
    fn unique_names_are_short_distinct_and_alphanumeric() {
        let a = unique_name("bgp-test-long");
        let b = unique_name("bgp-test-long");
        assert_ne!(a, b);
        for n in [&a, &b] {
            assert!(n.len() <= 15, "{n}");
            assert!(n.chars().all(|c| c.is_ascii_alphanumeric()), "{n}");
            assert!(n.starts_with("bgpte"), "{n}");
        }
    }

    #[test]
    fn base36_pads_to_width() {
        assert_eq!(base36(0, 3), "000");
        assert_eq!(base36(35, 2), "0z");
        assert_eq!(base36(36, 2), "10");
    }
}
