//! The RoutingHandler: one actor per BGP port composing container, zebra server, flows, bgpd and Vty.

pub mod bgpconf;
pub mod config;
