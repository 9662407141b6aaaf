//! `routing::config::Config::parse` on arbitrary text: a configuration or a list of problems,
//! never a panic, and the same answer twice.
#![no_main]

use libfuzzer_sys::fuzz_target;
use routing::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let first = Config::parse(text);
    let second = Config::parse(text);
    match (&first, &second) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("Config::parse is not deterministic"),
    }
    if let Err(e) = first {
        assert!(!e.to_string().is_empty());
    }
});
