//! Fencing on its own task, so that a long publication never delays it: the host fences itself
//! when its session stays disconnected for `fence_after`, or ends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant};
use tracing::warn;

use crate::member::Assignment;
use crate::session::State;

/// Aborts the task when dropped.
pub(crate) struct AbortOnDrop(pub(crate) JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Fences the host when the session stays disconnected for `fence_after`, or ends.
pub(crate) async fn fence_task(
    mut state: crate::session::StateWatch,
    fence_after: Duration,
    fenced: Arc<AtomicBool>,
    assign_tx: Arc<watch::Sender<Assignment>>,
) {
    let fence = || {
        fenced.store(true, Ordering::SeqCst);
        assign_tx.send_if_modified(|a| {
            let changed = !a.fenced || !a.ports.is_empty();
            a.fenced = true;
            a.ports.clear();
            changed
        });
    };
    let mut deadline: Option<Instant> = None;
    loop {
        tokio::select! {
            s = state.changed() => match s {
                State::Disconnected => { deadline.get_or_insert(Instant::now() + fence_after); }
                State::Connected => deadline = None,
                State::Ended => {
                    warn!("cluster: session ended: fencing");
                    fence();
                    return;
                }
            },
            _ = sleep_until(deadline.unwrap_or(Instant::now() + Duration::from_secs(3600))), if deadline.is_some() => {
                warn!(?fence_after, "cluster: disconnected too long: fencing (every port stops)");
                deadline = None;
                fence();
            }
        }
    }
}
