//! End to end with FRR 10.3's bgpd (the Debian 13 chroot of `scripts/frr10-chroot.sh`) as the
//! port's daemon: the controller detects its version, serves it with the FRR 10.3 profile, and
//! sessions, routes, status, kill -9 recovery and withdrawal work as with FRR 8.4. The provider
//! is the host's bgpd. Needs root, FRR and the chroot (skipped elsewhere, never under CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::Ordering;

use common::port::{run_port, PortBgpd, PROVIDER_NETS};
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr10_sessions_routes_status_kill9_and_withdraw() {
    let test = "frr10_sessions_routes_status_kill9_and_withdraw";
    // RUST_LOG=zebra_server=trace shows every request bgpd 10.3 sends (docs/interop.md).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let Some(host_bgpd) = testkit::require_bgpd(test) else {
        return;
    };
    let lab = Lab::new();
    // Graceful restart on (the port's default): bgpd 10.3's kill -9 is hitless for the
    // provider and the sink.
    let Some(bgpd) = PortBgpd::frr10(test, &lab) else {
        return;
    };
    let run = run_port(&lab, &bgpd, &host_bgpd).await;

    // kill -9 with graceful restart: the supervisor restarts bgpd 10.3, the sessions come back,
    // the provider (GR helper) never withdraws our networks, the sink sees no withdraw.
    let rib_before = run.provider.rib_len();
    let withdrawn = run.sink.withdrawals.load(Ordering::SeqCst);
    run.kill9_and_recover().await;
    assert_eq!(run.sink.table.routes("p1").len(), PROVIDER_NETS.len());

    // The provider withdraws a prefix right away, possibly before the new bgpd has learned it
    // again (then bgpd never sends a delete for it): the stale copy must still leave the table,
    // swept once bgpd's undeferred ROUTE_UPDATE_COMPLETE has settled (30 s), not at the 500 s
    // stale time (it lingered before).
    run.provider_withdraws_one().await;
    let withdrawals = run.sink.withdrawals.load(Ordering::SeqCst) - withdrawn;
    assert_eq!(withdrawals, 1, "only the withdrawn prefix leaves the sink");
    assert_eq!(run.sink.table.routes("p1").len(), PROVIDER_NETS.len() - 1);
    // The provider's own RIB, change by change: its bgpd never removed our networks.
    for ours in ["203.0.113.0/24", "2001:db8:100::/48"] {
        assert_eq!(
            run.provider.removals_since(rib_before, ours),
            0,
            "the provider dropped {ours} across the restart"
        );
    }

    // Shutdown: every route withdrawn, nothing left.
    run.shutdown(&lab).await;
}
