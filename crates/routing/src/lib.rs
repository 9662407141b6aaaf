//! The RoutingHandler: one actor per BGP port composing container, zebra server, flows, bgpd and Vty.
