//! Redaction of secrets in Vty command lines and replies.
//!
//! Every Vty command that sets a secret names it right after a `password` keyword
//! (`password S`, `enable password S`, `neighbor A password S`); bgpd accepts any unambiguous
//! abbreviation of a keyword, so the word after any prefix of `password` of at least four letters
//! (`pass`, `passw`, …) is replaced too. [`Redacted`] holds only the redacted form, so an error
//! carrying one can be logged, stored and served without leaking a secret.

use std::fmt;

/// What a secret is replaced with.
pub const REDACTED: &str = "<redacted>";

/// Whether `word` is `password` or an abbreviation of it bgpd could accept.
fn is_password_keyword(word: &str) -> bool {
    word.len() >= 4
        && word.len() <= "password".len()
        && "password".as_bytes()[..word.len()].eq_ignore_ascii_case(word.as_bytes())
}

/// `text` (one command line or a multi-line reply) with the word after every `password` keyword
/// replaced by [`REDACTED`]. Whitespace and every other word are kept as they are.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut after_keyword = false;
    let mut rest = text;
    while !rest.is_empty() {
        let ws = rest
            .find(|c: char| !c.is_whitespace())
            .unwrap_or(rest.len());
        let (space, tail) = rest.split_at(ws);
        if space.contains(['\n', '\r']) {
            after_keyword = false;
        }
        out.push_str(space);
        let end = tail.find(char::is_whitespace).unwrap_or(tail.len());
        let (word, tail) = tail.split_at(end);
        if word.is_empty() {
            break;
        }
        if after_keyword {
            out.push_str(REDACTED);
            after_keyword = false;
        } else {
            out.push_str(word);
            after_keyword = is_password_keyword(word);
        }
        rest = tail;
    }
    out
}

/// Text from a Vty session (a command line, what the client was doing, a reply) that may have
/// carried a secret, in redacted form only: the original is dropped at construction.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Redacted(String);

impl Redacted {
    /// Redacts `text` (see [`redact`]).
    pub fn new(text: &str) -> Redacted {
        Redacted(redact(text))
    }

    /// The redacted text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Redacted {
    fn from(s: &str) -> Redacted {
        Redacted::new(s)
    }
}

impl From<String> for Redacted {
    fn from(s: String) -> Redacted {
        Redacted::new(&s)
    }
}

impl From<&String> for Redacted {
    fn from(s: &String) -> Redacted {
        Redacted::new(s)
    }
}

impl std::ops::Deref for Redacted {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Redacted {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Redacted {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_arguments_are_redacted() {
        for (line, want) in [
            (
                "neighbor 192.0.2.1 password s3cret",
                "neighbor 192.0.2.1 password <redacted>",
            ),
            ("password zebra", "password <redacted>"),
            ("enable password en4ble", "enable password <redacted>"),
            (
                "neighbor 2001:db8::1 pass abc",
                "neighbor 2001:db8::1 pass <redacted>",
            ),
            ("  PASSWORD  x  y", "  PASSWORD  <redacted>  y"),
            (
                "no neighbor 192.0.2.1 password",
                "no neighbor 192.0.2.1 password",
            ),
            ("neighbor 192.0.2.1 passive", "neighbor 192.0.2.1 passive"),
            (
                "neighbor 192.0.2.1 remote-as 65001",
                "neighbor 192.0.2.1 remote-as 65001",
            ),
            ("", ""),
        ] {
            assert_eq!(redact(line), want, "{line:?}");
        }
    }

    #[test]
    fn replies_are_redacted_line_by_line() {
        let reply = "bgpd(config-router)# neighbor 192.0.2.1 password s3cret\r\n% Bad\r\npassword\r\nnext line\n";
        let r = redact(reply);
        assert!(!r.contains("s3cret"), "{r}");
        assert!(
            r.contains("next line"),
            "a keyword at a line's end redacts nothing after it: {r}"
        );
    }

    #[test]
    fn the_original_is_gone() {
        let r = Redacted::from("neighbor 192.0.2.1 password hunter2");
        assert!(!format!("{r}{r:?}{}", r.as_str()).contains("hunter2"));
        assert_eq!(r, "neighbor 192.0.2.1 password <redacted>");
    }
}
