//! The `midonet-bgp` binary.

fn main() {}
