//! The Vty secrets of `[controller]`: optional, and when configured, strong enough that the
//! Vty cannot be guessed (the controller generates random ones otherwise, see
//! `real::secrets`). A configured value is never echoed in an error.

use vty::config::Password;

/// Shortest configured Vty or enable password.
pub const MIN_SECRET_LEN: usize = 12;
/// Character classes (lower case, upper case, digit, other) a configured secret must mix.
pub const MIN_SECRET_CLASSES: usize = 3;

/// Why a configured secret is too weak (the value itself is never part of the message).
pub(crate) fn weakness(s: &str) -> Option<String> {
    if s.len() < MIN_SECRET_LEN {
        return Some(format!(
            "too short ({} bytes): at least {MIN_SECRET_LEN} are required",
            s.len()
        ));
    }
    let classes = [
        s.bytes().any(|b| b.is_ascii_lowercase()),
        s.bytes().any(|b| b.is_ascii_uppercase()),
        s.bytes().any(|b| b.is_ascii_digit()),
        s.bytes().any(|b| !b.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|c| **c)
    .count();
    if classes < MIN_SECRET_CLASSES {
        return Some(format!(
            "too weak: mix at least {MIN_SECRET_CLASSES} of lower case, upper case, digits and \
             other characters (or leave it out: the controller then generates a random one per port)"
        ));
    }
    None
}

/// Validates an optional configured secret: `Err` says why it is refused (without the value).
pub(crate) fn secret(raw: Option<&str>) -> Result<Option<Password>, String> {
    let Some(s) = raw else {
        return Ok(None);
    };
    let p = Password::new(s).map_err(|e| e.to_string())?;
    match weakness(s) {
        Some(why) => Err(why),
        None => Ok(Some(p)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_refuses_weak_secrets_without_echoing_them() {
        for weak in [
            "midonet-bgp",
            "zebra",
            "alllowercaseletters",
            "ALLUPPER123456",
            "Short1!",
        ] {
            let e = secret(Some(weak)).err().unwrap_or_default();
            assert!(!e.is_empty(), "{weak} accepted");
            assert!(!e.contains(weak), "{e}");
        }
        assert!(secret(Some("two Words-and-1")).is_err());
        assert!(secret(None).is_ok_and(|p| p.is_none()));
        for strong in ["Correct-Horse-9", "xK3fq9ZpL2mW", "abc123!@#def456"] {
            assert!(secret(Some(strong)).is_ok_and(|p| p.is_some()), "{strong}");
        }
    }
}
