//! The routing-policy scenario of `e2e_policy.rs` (no transit by default, import and export
//! filters changed in place, maximum-prefix warn and teardown; `common::policy`) with the port's
//! bgpd being FRR 10.3 (the chroot of `scripts/frr10-chroot.sh`) and Quagga 1.2.4
//! (`scripts/quagga-build.sh`); the providers are the host's FRR 8.4. Needs root, FRR and the
//! chroot or the build (skipped elsewhere, never under CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::policy::two_providers_policy;
use common::port::PortBgpd;
use common::Lab;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr10_two_providers_no_transit_policy_changes_in_place_and_prefix_limits() {
    let test = "frr10_two_providers_policy";
    let Some(host_bgpd) = testkit::require_bgpd(test) else {
        return;
    };
    let lab = Lab::new();
    let Some(bgpd) = PortBgpd::frr10(test, &lab) else {
        return;
    };
    two_providers_policy(&lab, &bgpd, &host_bgpd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quagga_two_providers_no_transit_policy_changes_in_place_and_prefix_limits() {
    let test = "quagga_two_providers_policy";
    let Some(host_bgpd) = testkit::require_bgpd(test) else {
        return;
    };
    let Some(bgpd) = PortBgpd::quagga(test) else {
        return;
    };
    let lab = Lab::new();
    two_providers_policy(&lab, &bgpd, &host_bgpd).await;
}
