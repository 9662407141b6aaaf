//! Datapath flows that steer BGP traffic between the uplink and bgpd: a flow model with tc and in-memory backends.
