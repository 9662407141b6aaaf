//! The configuration the fake-environment tests (`actor_*.rs`, fake side effects and virtual
//! time) start from: a controller with short restart backoffs and a status every second, and
//! one port `p1` on `eth1` (192.0.2.1/24, AS 65001, network 203.0.113.0/24) with one peer
//! (192.0.2.2, AS 65002). The tests derive their variants from its text (`str::replace` of
//! whole lines), so the lines it renders are part of its contract.

/// What varies between the fake-environment tests' base configurations; [`Default`] is the
/// common case (no prefix, run dir `/run/fake`, IPv4 only, keepalive 10 s and hold time 30 s).
#[derive(Debug, Clone, Copy)]
pub struct FakeConfig {
    /// `[controller] prefix`, when set (rendered before `run_dir`).
    pub prefix: Option<&'static str>,
    /// `[controller] run_dir`.
    pub run_dir: &'static str,
    /// The port's `address6`, when set (rendered after `address`).
    pub address6: Option<&'static str>,
    /// Whether the peer has `keepalive = 10` and `hold_time = 30` (otherwise the defaults).
    pub timers: bool,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            prefix: None,
            run_dir: "/run/fake",
            address6: None,
            timers: true,
        }
    }
}

impl FakeConfig {
    /// The configuration text (TOML), starting with a newline like a raw string literal.
    pub fn render(&self) -> String {
        let prefix = self
            .prefix
            .map(|p| format!("prefix = \"{p}\"\n"))
            .unwrap_or_default();
        let address6 = self
            .address6
            .map(|a| format!("address6 = \"{a}\"\n"))
            .unwrap_or_default();
        let timers = if self.timers {
            "keepalive = 10\nhold_time = 30\n"
        } else {
            ""
        };
        format!(
            r#"
[controller]
{prefix}run_dir = "{run_dir}"
restart_backoff_initial_ms = 100
restart_backoff_max_ms = 400
status_interval = 1
[[port]]
name = "p1"
uplink = "eth1"
address = "192.0.2.1/24"
{address6}local_as = 65001
networks = ["203.0.113.0/24"]
[[port.peer]]
address = "192.0.2.2"
remote_as = 65002
{timers}"#,
            run_dir = self.run_dir
        )
    }
}
