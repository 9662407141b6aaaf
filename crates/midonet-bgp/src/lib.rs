//! The parts of the `midonet-bgp` controller that other programs (the fuzz targets) use: the
//! control socket's protocol and server, and the per-prefix lock.

pub mod control;
pub mod lock;
pub mod metrics;
pub mod watch;
