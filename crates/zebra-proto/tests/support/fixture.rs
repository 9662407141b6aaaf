//! Annotated hex fixtures: `hex  # comment` lines; everything after `#` is ignored, as are
//! whitespace and `|` separators.

#![allow(dead_code)]

/// Bytes of an annotated fixture.
pub fn unhex(text: &str) -> Vec<u8> {
    let digits: String = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(|l| l.chars())
        .filter(|c| c.is_ascii_hexdigit())
        .collect();
    assert!(digits.len() % 2 == 0, "odd number of hex digits in fixture");
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect()
}

/// Lowercase hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `n` in the daemon's host byte order, as hex (labels, ERROR, ROUTE_NOTIFY_OWNER note).
pub fn host_u32(n: u32) -> String {
    hex(&n.to_ne_bytes())
}
