//! Supervision of FRR bgpd inside a network namespace: start, readiness, restart with backoff, stop.
