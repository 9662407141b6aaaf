//! The Vty secrets of each port's bgpd: the configured ones, or random ones generated when the
//! port's bgpd is started, kept in memory only (and in bgpd's 0600 start-up file).

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;

use crate::config::ControllerConfig;

/// Length of a generated secret (62 symbols: about 190 bits).
const GENERATED_LEN: usize = 32;
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// The Vty login and enable passwords of one bgpd.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct VtySecrets {
    pub(crate) password: bgpd::Secret,
    pub(crate) enable: bgpd::Secret,
}

impl std::fmt::Debug for VtySecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VtySecrets(<redacted>)")
    }
}

/// A random secret of [`GENERATED_LEN`] letters and digits from the kernel's CSPRNG.
pub(crate) fn generate() -> std::io::Result<bgpd::Secret> {
    let mut f = std::fs::File::open("/dev/urandom")?;
    let mut out = String::with_capacity(GENERATED_LEN);
    let mut buf = [0u8; 64];
    while out.len() < GENERATED_LEN {
        f.read_exact(&mut buf)?;
        // Rejection sampling keeps the symbols uniform (248 = 4 × 62).
        for b in buf.iter().filter(|b| **b < 248) {
            if out.len() < GENERATED_LEN {
                out.push(char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]));
            }
        }
    }
    Ok(bgpd::Secret::new(out))
}

/// The secrets of every port's bgpd, by namespace.
#[derive(Default)]
pub(crate) struct SecretStore(Mutex<HashMap<String, VtySecrets>>);

impl SecretStore {
    /// New secrets for the bgpd of `namespace` (configured or random), remembered for
    /// [`SecretStore::get`].
    pub(crate) fn start(
        &self,
        namespace: &str,
        c: &ControllerConfig,
    ) -> std::io::Result<VtySecrets> {
        let pick = |p: &Option<vty::config::Password>| match p {
            Some(p) => Ok(bgpd::Secret::new(p.as_str())),
            None => generate(),
        };
        let s = VtySecrets {
            password: pick(&c.vty_password)?,
            enable: pick(&c.enable_password)?,
        };
        if let Ok(mut m) = self.0.lock() {
            m.insert(namespace.to_string(), s.clone());
        }
        Ok(s)
    }

    /// The secrets the bgpd of `namespace` was started with, or else the configured ones when
    /// both are configured (a bgpd started by an earlier controller with the same settings).
    pub(crate) fn get(&self, namespace: &str, c: &ControllerConfig) -> Option<VtySecrets> {
        if let Some(s) = self.0.lock().ok().and_then(|m| m.get(namespace).cloned()) {
            return Some(s);
        }
        match (&c.vty_password, &c.enable_password) {
            (Some(p), Some(e)) => Some(VtySecrets {
                password: bgpd::Secret::new(p.as_str()),
                enable: bgpd::Secret::new(e.as_str()),
            }),
            _ => None,
        }
    }

    /// Forgets the secrets of `namespace` (its bgpd is gone).
    pub(crate) fn forget(&self, namespace: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.remove(namespace);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_long_random_and_differ() {
        let a = generate()
            .map(|s| s.expose().to_string())
            .unwrap_or_default();
        let b = generate()
            .map(|s| s.expose().to_string())
            .unwrap_or_default();
        assert_eq!(a.len(), GENERATED_LEN);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()), "{a}");
        assert_ne!(a, b);
    }
}
