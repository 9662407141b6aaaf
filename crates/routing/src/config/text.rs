//! Strings safe to send to bgpd's Vty, and MAC addresses.

use std::fmt;

use serde::Serialize;

/// Why a string may not be sent to the Vty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextError {
    /// Empty string.
    #[error("must not be empty")]
    Empty,
    /// Longer than allowed.
    #[error("is {len} bytes long, at most {max} allowed")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A character that would end the command, start another, ask for help or complete.
    #[error("contains the forbidden character {found:?} at byte {offset} (newlines, control characters, `?` and non-ASCII are not allowed)")]
    Forbidden {
        /// The character.
        found: char,
        /// Byte offset.
        offset: usize,
    },
    /// Whitespace where a single word is required.
    #[error("must be a single word (whitespace at byte {offset})")]
    Whitespace {
        /// Byte offset.
        offset: usize,
    },
    /// Leading or trailing whitespace (bgpd would strip it).
    #[error("must not start or end with whitespace")]
    Padded,
}

/// A string that can be placed inside one Vty command without changing its meaning: printable
/// ASCII only, no `?` (help), no control characters (newline, tab, escape…), bounded length.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct VtyText(pub(crate) String);

impl VtyText {
    /// A free-text line (spaces allowed inside) of at most `max` bytes.
    pub fn line(s: &str, max: usize) -> Result<VtyText, TextError> {
        check(s, max)?;
        if s.starts_with(' ') || s.ends_with(' ') {
            return Err(TextError::Padded);
        }
        Ok(VtyText(s.to_string()))
    }

    /// A single word (no spaces) of at most `max` bytes.
    pub fn word(s: &str, max: usize) -> Result<VtyText, TextError> {
        check(s, max)?;
        if let Some(offset) = s.find(' ') {
            return Err(TextError::Whitespace { offset });
        }
        Ok(VtyText(s.to_string()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VtyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn check(s: &str, max: usize) -> Result<(), TextError> {
    if s.is_empty() {
        return Err(TextError::Empty);
    }
    if s.len() > max {
        return Err(TextError::TooLong { len: s.len(), max });
    }
    for (offset, c) in s.char_indices() {
        let printable = c == ' ' || c.is_ascii_graphic();
        if !printable || c == '?' {
            return Err(TextError::Forbidden { found: c, offset });
        }
    }
    Ok(())
}

/// A MAC address, written `02:00:00:00:00:01`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// Parses `aa:bb:cc:dd:ee:ff` (or with `-`); rejects multicast and all-zero addresses.
    pub fn parse(s: &str) -> Result<MacAddr, String> {
        let parts: Vec<&str> = s.split([':', '-']).collect();
        if parts.len() != 6 {
            return Err(format!("{s:?} is not six hex bytes separated by ':'"));
        }
        let mut out = [0u8; 6];
        for (slot, part) in out.iter_mut().zip(&parts) {
            if part.len() != 2 {
                return Err(format!("{s:?}: byte {part:?} is not two hex digits"));
            }
            *slot = u8::from_str_radix(part, 16)
                .map_err(|_| format!("{s:?}: byte {part:?} is not hex"))?;
        }
        if out == [0; 6] {
            return Err("the all-zero MAC address is not usable".into());
        }
        if out[0] & 1 == 1 {
            return Err(format!("{s} is a multicast address"));
        }
        Ok(MacAddr(out))
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl Serialize for MacAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
