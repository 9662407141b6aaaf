//! A Zebra protocol server that bgpd connects to: interfaces, router id, nexthop tracking, learned routes.
