//! Readiness: bgpd is ready when its Vty accepts a login. Retried with short, growing pauses
//! until a deadline — never a fixed sleep.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::events::StartFailure;
use crate::spec::ReadinessPolicy;

/// Where the TCP connection to the Vty is made from.
#[derive(Debug)]
pub(crate) enum Origin {
    /// The calling process's namespace.
    Current,
    /// Inside this namespace (socket created on a helper thread that entered it).
    Namespace(netns::NetNs),
}

/// Everything one readiness check needs (owned: the check runs as its own future).
#[derive(Debug)]
pub(crate) struct ReadinessCheck {
    pub addr: SocketAddr,
    pub origin: Origin,
    pub options: vty::VtyOptions,
    pub policy: ReadinessPolicy,
}

impl ReadinessCheck {
    /// Tries to log in until it works or the deadline passes.
    pub(crate) async fn run(self) -> Result<Duration, StartFailure> {
        let started = Instant::now();
        let deadline = started + self.policy.deadline;
        let mut pause = self.policy.first_retry;
        let mut last_error = String::from("no attempt made");
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(StartFailure::NotReady {
                    waited: started.elapsed(),
                    last_error,
                });
            }
            let per_try = self.policy.attempt_timeout.min(left);
            match tokio::time::timeout(per_try, self.attempt(per_try)).await {
                Ok(Ok(())) => return Ok(started.elapsed()),
                Ok(Err(e)) => last_error = e,
                Err(_) => last_error = format!("no login within {per_try:?}"),
            }
            tracing::trace!(error = %last_error, "bgpd Vty not ready yet");
            let left = deadline.saturating_duration_since(Instant::now());
            tokio::time::sleep(pause.min(left)).await;
            pause = pause
                .saturating_mul(2)
                .min(self.policy.max_retry.max(self.policy.first_retry));
        }
    }

    async fn attempt(&self, timeout: Duration) -> Result<(), String> {
        let stream = match &self.origin {
            Origin::Current => tokio::net::TcpStream::connect(self.addr)
                .await
                .map_err(|e| format!("connect {}: {e}", self.addr))?,
            Origin::Namespace(ns) => {
                let addr = self.addr;
                let std_stream = ns
                    .run_async(move || -> std::io::Result<std::net::TcpStream> {
                        let s = std::net::TcpStream::connect_timeout(&addr, timeout)?;
                        s.set_nonblocking(true)?;
                        Ok(s)
                    })
                    .await
                    .map_err(|e| format!("enter namespace {}: {e}", ns.name()))?
                    .map_err(|e| format!("connect {} in {}: {e}", self.addr, ns.name()))?;
                tokio::net::TcpStream::from_std(std_stream)
                    .map_err(|e| format!("register socket: {e}"))?
            }
        };
        let _ = stream.set_nodelay(true);
        let vty = vty::Vty::login(stream, &self.options)
            .await
            .map_err(|e| format!("login: {e}"))?;
        // Logged in: bgpd is ready. A failed goodbye does not change that.
        let _ = vty.close().await;
        Ok(())
    }
}
