//! Port templates shared by the end-to-end tests.

/// One dual-stack port `p1` on uplink `up1` (192.0.2.1/24, 2001:db8::1/64, AS 65001, networks
/// 203.0.113.0/24 and 2001:db8:100::/48) with one provider peer per family (192.0.2.2 and
/// 2001:db8::2, AS 65002, keepalive 5, hold 15, connect retry 5). `extra` is added to the
/// port's own keys (e.g. `mac`, `mtu`, `graceful_restart`), one `key = value` per line.
pub fn dual_stack_port(extra: &str) -> String {
    dual_stack_port_with(extra, "")
}

/// [`dual_stack_port`] with `peer_extra` added to both peers' keys (e.g. `passive = true`).
pub fn dual_stack_port_with(extra: &str, peer_extra: &str) -> String {
    format!(
        r#"
[[port]]
name = "p1"
uplink = "up1"
address = "192.0.2.1/24"
address6 = "2001:db8::1/64"
{extra}
local_as = 65001
networks = ["203.0.113.0/24", "2001:db8:100::/48"]
[[port.peer]]
address = "192.0.2.2"
remote_as = 65002
keepalive = 5
hold_time = 15
connect_retry = 5
{peer_extra}
[[port.peer]]
address = "2001:db8::2"
remote_as = 65002
keepalive = 5
hold_time = 15
connect_retry = 5
{peer_extra}
"#
    )
}
