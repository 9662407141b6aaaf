//! Strings safe to place in bgpd's configuration file and Vty login (the controller's Vty
//! password, paths); the values of Vty commands are the `vty` crate's typed values.

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
}

/// A string that can be placed inside one Vty command without changing its meaning: printable
/// ASCII only, no `?` (help), no control characters (newline, tab, escape…), bounded length.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct VtyText(pub(crate) String);

impl VtyText {
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
