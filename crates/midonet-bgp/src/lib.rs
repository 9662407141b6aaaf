//! The parts of the `midonet-bgp` controller that other programs (the fuzz targets) use: the
//! control socket's protocol and server, the per-prefix lock, and the host address check of
//! `vty_range`.

pub mod control;
pub mod hostaddr;
pub mod lock;
pub mod metrics;
pub mod watch;
