#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;
use proptest::prelude::*;

/// The expression as bgpd compiles it: each `_` becomes `(^|[,{}() ]|$)` (bgp_regex.c), a
/// POSIX extended expression searched anywhere in the path. The generated expressions use only
/// groups, alternation, bracket ranges and literals, where POSIX ERE and the `regex` crate
/// agree.
fn as_bgpd_compiles(r: &AsPathRegex) -> regex::Regex {
    regex::Regex::new(&r.as_str().replace('_', "(^|[,{}() ]|$)")).unwrap()
}

/// The decimal patterns of `lo..=hi`, anchored: matches exactly the whole number.
fn whole_number(lo: u32, hi: u32) -> regex::Regex {
    let mut alts = Vec::new();
    decimal_patterns(lo, hi, &mut alts);
    regex::Regex::new(&format!("^({})$", alts.join("|"))).unwrap()
}

#[test]
fn private_ranges_are_spelled_digit_by_digit() {
    let r = AsPathRegex::containing(&[64512..=65534]).unwrap();
    assert_eq!(
        r.as_str(),
        "_(6451[2-9]|645[2-9][0-9]|64[6-9][0-9][0-9]|65[0-4][0-9][0-9]|655[0-2][0-9]|6553[0-4])_"
    );
    let one = AsPathRegex::containing(&[65001..=65001]).unwrap();
    assert_eq!(one.as_str(), "_(65001)_");
    let all = AsPathRegex::containing(&[0..=u32::MAX]).unwrap();
    let m = as_bgpd_compiles(&all);
    assert!(m.is_match("4294967295") && m.is_match("0"));
    assert!(AsPathRegex::containing(&[]).is_none());
    #[allow(clippy::reversed_empty_ranges)]
    let empty = AsPathRegex::containing(&[5..=4]);
    assert!(empty.is_none());
}

#[test]
fn the_expression_finds_an_as_anywhere_in_a_path_as_bgpd_prints_it() {
    let r = as_bgpd_compiles(&AsPathRegex::containing(&[64512..=65534]).unwrap());
    for path in [
        "65002",
        "3356 65002",
        "3356 65002 174",
        "3356 {174,65010}",
        "(65010 3356) 174",
        "65534",
    ] {
        assert!(r.is_match(path), "{path}");
    }
    // Neighbouring numbers and numbers that merely contain a private one do not match.
    for path in [
        "",
        "64511",
        "65535",
        "3356 174",
        "165002",
        "650021",
        "4200065002",
        "{64511,65535}",
    ] {
        assert!(!r.is_match(path), "{path}");
    }
}

#[test]
fn regexes_are_single_vty_words() {
    assert!(AsPathRegex::new("_65001_").is_ok());
    assert!(AsPathRegex::new("^$").is_ok());
    for bad in ["", "_650 01_", "a", "_6500?_", "x\n"] {
        assert!(AsPathRegex::new(bad).is_err(), "{bad:?}");
    }
    assert!(AsPathRegex::new(&"1".repeat(AsPathRegex::MAX_LEN + 1)).is_err());
    // The largest possible set of ranges (every other number is far beyond the bound; the
    // RFC ranges the project uses stay well below it).
    let r = AsPathRegex::containing(&[0..=22, 4_199_999_999..=4_294_967_294]).unwrap();
    assert!(r.as_str().len() < 300, "{r}");
}

#[test]
fn a_list_is_a_set_of_permit_entries() {
    let a = AsPathRegex::new("_1_").unwrap();
    let b = AsPathRegex::new("_2_").unwrap();
    let l = AsPathList::new([b.clone(), a.clone(), b.clone()]).unwrap();
    assert_eq!(l.regexes().collect::<Vec<_>>(), [&a, &b]);
    assert!(l.contains(&a));
    assert!(AsPathList::new([]).is_none());
}

proptest! {
    /// The digit patterns of any range match exactly its numbers (the bounds, their
    /// neighbours, the widths' edges and random numbers).
    #[test]
    fn decimal_patterns_match_exactly_the_range(a in any::<u32>(), b in any::<u32>(),
                                                 probes in prop::collection::vec(any::<u32>(), 8)) {
        let (lo, hi) = (a.min(b), a.max(b));
        let m = whole_number(lo, hi);
        let mut xs = probes;
        xs.extend([lo, hi, lo.saturating_sub(1), hi.saturating_add(1), 0, 9, 10, 99, 100,
                   999_999_999, 1_000_000_000, u32::MAX]);
        for x in xs {
            prop_assert_eq!(m.is_match(&x.to_string()), (lo..=hi).contains(&x), "{} in {}..={}", x, lo, hi);
        }
    }

    /// Narrow ranges (where the digit-by-digit split does the most work) against every number
    /// near them.
    #[test]
    fn narrow_ranges_are_exact(lo in any::<u32>(), width in 0u32..300) {
        let hi = lo.saturating_add(width);
        let m = whole_number(lo, hi);
        for x in lo.saturating_sub(200)..=hi.saturating_add(200) {
            prop_assert_eq!(m.is_match(&x.to_string()), (lo..=hi).contains(&x), "{} in {}..={}", x, lo, hi);
        }
    }

    /// A path (ASes, sets, confederation segments) matches the expression of a set of ranges
    /// exactly when one of its AS numbers is in one of the ranges.
    #[test]
    fn a_path_matches_when_one_of_its_ases_is_in_the_ranges(
        ranges in prop::collection::vec((any::<u32>(), 0u32..100_000), 1..4),
        path in prop::collection::vec((prop_oneof![0u32..70_000, any::<u32>()], 0u8..6), 0..8),
    ) {
        let ranges: Vec<RangeInclusive<u32>> =
            ranges.iter().map(|&(lo, w)| lo..=lo.saturating_add(w)).collect();
        let r = AsPathRegex::containing(&ranges).unwrap();
        prop_assert!(r.as_str().len() <= AsPathRegex::MAX_LEN);
        let m = as_bgpd_compiles(&r);
        // Path text as bgpd prints it: a set after an AS as `{a,b}`, kind 0 starts a set.
        let mut text = String::new();
        let mut ases = Vec::new();
        let mut i = 0;
        while i < path.len() {
            if !text.is_empty() {
                text.push(' ');
            }
            if path[i].1 == 0 && i + 1 < path.len() {
                text.push_str(&format!("{{{},{}}}", path[i].0, path[i + 1].0));
                ases.extend([path[i].0, path[i + 1].0]);
                i += 2;
            } else {
                text.push_str(&path[i].0.to_string());
                ases.push(path[i].0);
                i += 1;
            }
        }
        let want = ases.iter().any(|a| ranges.iter().any(|r| r.contains(a)));
        prop_assert_eq!(m.is_match(&text), want, "{} against {}", text, r);
    }
}
