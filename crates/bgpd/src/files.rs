//! Files and directories around bgpd: safe creation, the managed config file, the pid file, the
//! log tail for crash reports.

use std::fs::{DirBuilder, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use crate::error::BgpdError;
use crate::secret::Secret;
use crate::spec::{managed_config_text, BgpdSpec, ConfigFile, VtyLock};

/// Creates `dir` and its missing parents with `mode`. Existing directories are left as they are
/// (never chmod a directory we did not create).
pub(crate) fn ensure_dir(dir: &Path, mode: u32) -> Result<(), BgpdError> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)
        .map_err(|e| BgpdError::io("create directory", dir, e))
}

/// Writes `content` to `path` with mode 0600 via a temporary file and a rename, unless the file
/// already holds exactly `content`. Returns whether it wrote.
pub(crate) fn write_private_file(path: &Path, content: &str) -> Result<bool, BgpdError> {
    if let Ok(existing) = std::fs::read(path) {
        if existing == content.as_bytes() {
            return Ok(false);
        }
    }
    let dir = path.parent().unwrap_or(Path::new("/"));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        fastrand::u32(..)
    ));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(content.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(BgpdError::io("write", path, e));
    }
    Ok(true)
}

/// Prepares everything bgpd needs on the file system: the managed config file (if any), the
/// directories of the pid file, the Vty socket and the log file.
pub(crate) fn prepare(spec: &BgpdSpec) -> Result<(), BgpdError> {
    if let ConfigFile::Managed {
        path,
        hostname,
        log_file,
    } = &spec.config
    {
        if let Some(parent) = path.parent() {
            ensure_dir(parent, 0o700)?;
        }
        if let Some(l) = log_file.as_deref().and_then(Path::parent) {
            ensure_dir(l, 0o750)?;
        }
        let lock = VtyLock {
            password: &spec.vty_password,
            enable_password: spec.enable_password.as_ref(),
            allow: spec.vty_allow,
            flavour: &spec.flavour,
        };
        let text = managed_config_text(hostname, &lock, log_file.as_deref());
        if write_private_file(path, &text)? {
            tracing::debug!(path = %path.display(), "bgpd: wrote the shared config file");
        }
    } else if !spec.config.path().is_file() {
        tracing::warn!(path = %spec.config.path().display(), "bgpd: config file does not exist; bgpd will start without a Vty password");
    }
    if let Some(d) = spec.pid_file.parent() {
        ensure_dir(d, 0o750)?;
    }
    ensure_dir(&spec.vty_socket_dir, 0o750)?;
    if let Some(d) = spec.log_file.as_deref().and_then(Path::parent) {
        ensure_dir(d, 0o750)?;
    }
    Ok(())
}

/// The pid in a pid file: `Ok(None)` when the file is missing, empty or not a pid.
pub(crate) fn read_pid_file(path: &Path) -> Result<Option<u32>, BgpdError> {
    let mut text = String::new();
    match std::fs::File::open(path) {
        Ok(f) => {
            // A pid file is tiny; do not read an arbitrarily large file.
            f.take(64)
                .read_to_string(&mut text)
                .map_err(|e| BgpdError::io("read", path, e))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(BgpdError::io("open", path, e)),
    }
    Ok(text.trim().parse::<u32>().ok().filter(|&p| p > 1))
}

/// Removes a file; `Ok` if it is already gone.
pub(crate) fn remove_if_exists(path: &Path) -> Result<(), BgpdError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(BgpdError::io("remove", path, e)),
    }
}

/// The last `lines` lines of a text file, reading at most its last 16 KiB. Empty when the file
/// cannot be read. The password of the spec, should it appear, is masked.
pub(crate) fn tail(path: &Path, lines: usize, password: &Secret) -> Vec<String> {
    const MAX: u64 = 16 * 1024;
    let Ok(mut f) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(MAX);
    if f.seek(SeekFrom::Start(start)).is_err() {
        return Vec::new();
    }
    let mut buf = Vec::new();
    if f.take(MAX).read_to_end(&mut buf).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&buf);
    let mut all: Vec<&str> = text.lines().collect();
    if start > 0 && !all.is_empty() {
        all.remove(0); // probably cut in the middle
    }
    let from = all.len().saturating_sub(lines);
    all[from..].iter().map(|l| redact(l, password)).collect()
}

/// `line` with every occurrence of the password and every `password` argument (peer MD5
/// passwords, the enable password) replaced.
pub(crate) fn redact(line: &str, password: &Secret) -> String {
    let pw = password.expose();
    let line = vty::redact(line);
    if pw.is_empty() {
        line
    } else {
        line.replace(pw, "<redacted>")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn managed_config_and_dirs_get_safe_permissions() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let cfg = ConfigFile::Managed {
            path: root.join("etc/mnb/bgpd.conf"),
            hostname: "h1".into(),
            log_file: None,
        };
        let spec = BgpdSpec::new("ns1", root.join("run/ns1"), cfg, "pw-xyz");
        prepare(&spec).unwrap();
        assert_eq!(mode(&root.join("etc/mnb")), 0o700);
        assert_eq!(mode(&root.join("etc/mnb/bgpd.conf")), 0o600);
        assert_eq!(mode(&root.join("run/ns1")), 0o750);
        let text = std::fs::read_to_string(root.join("etc/mnb/bgpd.conf")).unwrap();
        assert!(text.contains("password pw-xyz\n"));
        // Unchanged content is not rewritten; changed content is.
        assert!(!write_private_file(&root.join("etc/mnb/bgpd.conf"), &text).unwrap());
        assert!(write_private_file(&root.join("etc/mnb/bgpd.conf"), "hostname x\n").unwrap());
        assert_eq!(mode(&root.join("etc/mnb/bgpd.conf")), 0o600);
        // No temporary files left behind.
        assert_eq!(std::fs::read_dir(root.join("etc/mnb")).unwrap().count(), 1);
    }

    #[test]
    fn existing_directories_keep_their_mode() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        ensure_dir(tmp.path(), 0o700).unwrap();
        assert_eq!(mode(tmp.path()), 0o755);
    }

    #[test]
    fn pid_files_are_parsed_defensively() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("pid");
        assert_eq!(read_pid_file(&p).unwrap(), None);
        for (text, want) in [
            ("1234\n", Some(1234)),
            ("", None),
            ("abc", None),
            ("1", None),
            ("0", None),
            ("-5", None),
        ] {
            std::fs::write(&p, text).unwrap();
            assert_eq!(read_pid_file(&p).unwrap(), want, "{text:?}");
        }
        std::fs::write(&p, "9".repeat(10_000)).unwrap();
        assert_eq!(read_pid_file(&p).unwrap(), None);
        remove_if_exists(&p).unwrap();
        remove_if_exists(&p).unwrap();
        assert!(!p.exists());
    }

    #[test]
    fn tail_returns_the_last_lines_and_masks_the_password() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("log");
        let mut text = String::new();
        for i in 0..5000 {
            text.push_str(&format!("line {i} pw=sekrit\n"));
        }
        std::fs::write(&p, text).unwrap();
        let t = tail(&p, 3, &Secret::new("sekrit"));
        assert_eq!(
            t,
            vec![
                "line 4997 pw=<redacted>",
                "line 4998 pw=<redacted>",
                "line 4999 pw=<redacted>"
            ]
        );
        assert!(tail(&tmp.path().join("missing"), 3, &Secret::new("x")).is_empty());
    }
}
