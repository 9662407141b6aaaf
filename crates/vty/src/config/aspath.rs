//! AS-path access lists of `permit` entries (`bgp as-path access-list NAME permit REGEX`) and
//! the regular expressions bgpd matches against a route's AS path.
//!
//! bgpd (FRR 8.4 and 10, Quagga 1.2: `bgp_regex.c`) compiles an AS-path expression as a POSIX
//! extended regular expression after replacing each `_` by `(^|[,{}() ]|$)`, and matches it
//! against the path as `show bgp` prints it: AS numbers in decimal (asplain), separated by
//! spaces, AS_SETs in `{…}` with `,`, confederation segments in `(…)`. So `_65001_` matches a
//! path that contains AS 65001 anywhere, in a set or a confederation segment too.
//!
//! bgpd has no numeric comparison for AS numbers; [`AsPathRegex::containing`] spells a set of
//! AS number ranges as decimal digit patterns (`_(645(1[2-9]|…)|…)_`).

use std::collections::BTreeSet;
use std::fmt;
use std::ops::RangeInclusive;

use super::values::ConfigError;

/// An AS-path regular expression: 1..=[`AsPathRegex::MAX_LEN`] bytes of ASCII digits and
/// `_ ^ $ ( ) | [ ] - . * + , { }` (no `?`: the Vty
/// answers it with help), so that it is one Vty word (no space) whatever it says.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AsPathRegex(String);

impl AsPathRegex {
    /// Longest expression (the project's bound, so that a whole command stays within the
    /// Vty client's 2048-byte line).
    pub const MAX_LEN: usize = 1024;

    /// Validates an expression.
    pub fn new(regex: &str) -> Result<AsPathRegex, ConfigError> {
        if regex.is_empty() || regex.len() > Self::MAX_LEN {
            return Err(ConfigError::BadLength {
                field: "as-path regex",
                len: regex.len(),
                min: 1,
                max: Self::MAX_LEN,
            });
        }
        for (offset, ch) in regex.char_indices() {
            if !(ch.is_ascii_digit() || "_^$()|[]-.*+,{}".contains(ch)) {
                return Err(ConfigError::BadCharacter {
                    field: "as-path regex",
                    ch,
                    offset,
                });
            }
        }
        Ok(AsPathRegex(regex.to_owned()))
    }

    /// The expression matching an AS path that contains any AS number of `ranges` (inclusive,
    /// in any order, overlapping or not); `None` when the ranges hold no AS number.
    pub fn containing(ranges: &[RangeInclusive<u32>]) -> Option<AsPathRegex> {
        let mut alts: Vec<String> = Vec::new();
        for r in merged(ranges) {
            decimal_patterns(*r.start(), *r.end(), &mut alts);
        }
        if alts.is_empty() {
            return None;
        }
        AsPathRegex::new(&format!("_({})_", alts.join("|"))).ok()
    }

    /// The expression.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AsPathRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An AS-path access list of `permit` entries: a path matches the list when it matches any of
/// them (so their order does not matter, and a change adds and removes single entries).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AsPathList {
    permit: BTreeSet<AsPathRegex>,
}

impl AsPathList {
    /// A list permitting the paths that match any of `regexes`; `None` if there are none (bgpd
    /// has no empty AS-path list).
    pub fn new(regexes: impl IntoIterator<Item = AsPathRegex>) -> Option<AsPathList> {
        let permit: BTreeSet<AsPathRegex> = regexes.into_iter().collect();
        (!permit.is_empty()).then_some(AsPathList { permit })
    }

    /// The expressions, sorted.
    pub fn regexes(&self) -> impl Iterator<Item = &AsPathRegex> {
        self.permit.iter()
    }

    /// Whether the list holds `regex`.
    pub fn contains(&self, regex: &AsPathRegex) -> bool {
        self.permit.contains(regex)
    }
}

/// The ranges sorted and merged where they overlap or touch.
fn merged(ranges: &[RangeInclusive<u32>]) -> Vec<RangeInclusive<u32>> {
    let mut v: Vec<(u32, u32)> = ranges
        .iter()
        .filter(|r| r.start() <= r.end())
        .map(|r| (*r.start(), *r.end()))
        .collect();
    v.sort_unstable();
    let mut out: Vec<(u32, u32)> = Vec::with_capacity(v.len());
    for (lo, hi) in v {
        match out.last_mut() {
            Some(last) if u64::from(lo) <= u64::from(last.1) + 1 => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out.into_iter().map(|(lo, hi)| lo..=hi).collect()
}

/// Appends digit patterns matching exactly the decimal numbers `lo..=hi` (no leading zeros).
fn decimal_patterns(lo: u32, hi: u32, out: &mut Vec<String>) {
    let (lo, hi) = (u64::from(lo), u64::from(hi));
    let mut width_lo = 0u64;
    for width in 1..=10u32 {
        let width_hi = 10u64.pow(width) - 1;
        let (a, b) = (lo.max(width_lo), hi.min(width_hi));
        if a <= b {
            let (a, b) = (a.to_string(), b.to_string());
            width_patterns(a.as_bytes(), b.as_bytes(), String::new(), out);
        }
        width_lo = width_hi + 1;
    }
}

/// Appends patterns matching the digit strings of one width from `lo` to `hi` (same length,
/// `lo <= hi`), each starting with `prefix`.
fn width_patterns(lo: &[u8], hi: &[u8], prefix: String, out: &mut Vec<String>) {
    let (Some((&l, lo_rest)), Some((&h, hi_rest))) = (lo.split_first(), hi.split_first()) else {
        out.push(prefix);
        return;
    };
    if l == h {
        width_patterns(lo_rest, hi_rest, format!("{prefix}{}", char::from(l)), out);
        return;
    }
    let any = "[0-9]".repeat(lo_rest.len());
    let (mut first, mut last) = (l, h);
    if lo_rest.iter().any(|&d| d != b'0') {
        let nines = vec![b'9'; lo_rest.len()];
        width_patterns(lo_rest, &nines, format!("{prefix}{}", char::from(l)), out);
        first = l + 1;
    }
    let top_full = hi_rest.iter().all(|&d| d == b'9');
    if !top_full {
        last = h - 1;
    }
    if first <= last {
        out.push(format!("{prefix}{}{any}", digit_class(first, last)));
    }
    if !top_full {
        let zeros = vec![b'0'; hi_rest.len()];
        width_patterns(&zeros, hi_rest, format!("{prefix}{}", char::from(h)), out);
    }
}

/// `7`, or `[3-8]` for the digits `first..=last` (ASCII).
fn digit_class(first: u8, last: u8) -> String {
    if first == last {
        char::from(first).to_string()
    } else {
        format!("[{}-{}]", char::from(first), char::from(last))
    }
}

#[cfg(test)]
#[path = "aspath_tests.rs"]
mod tests;
