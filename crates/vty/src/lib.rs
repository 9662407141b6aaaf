//! Async client for the bgpd Vty: login, commands with error detection, typed BGP configuration and diffs.
