//! Examples of embedding the midonet-bgp crates; run one with
//! `cargo run -p midonet-bgp-examples --example NAME`.
