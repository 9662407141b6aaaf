//! The embedder's end of the event stream.
//!
//! The server hands events over in batches (one channel operation per batch instead of per
//! route: a full table arrives as a few hundred batches), and [`EventReceiver`] gives them
//! back one at a time or a batch at a time, in order.

use std::collections::VecDeque;

use tokio::sync::mpsc;

use crate::types::ServerEvent;

/// Most events in one batch handed to the embedder.
pub(crate) const MAX_EVENT_BATCH: usize = 1024;

/// Receives the events of a [`ZebraServer`](crate::ZebraServer), in the order the server
/// produced them.
///
/// `recv` and `recv_batch` are cancel-safe: used in `tokio::select!` or under a timeout, a
/// call that does not complete loses no event.
#[derive(Debug)]
pub struct EventReceiver {
    rx: mpsc::Receiver<Vec<ServerEvent>>,
    /// Events of a batch already taken from the channel but not yet returned.
    buffered: VecDeque<ServerEvent>,
}

impl EventReceiver {
    pub(crate) fn new(rx: mpsc::Receiver<Vec<ServerEvent>>) -> EventReceiver {
        EventReceiver {
            rx,
            buffered: VecDeque::new(),
        }
    }

    /// The next event; `None` once the server has stopped and every event was received.
    pub async fn recv(&mut self) -> Option<ServerEvent> {
        loop {
            if let Some(ev) = self.buffered.pop_front() {
                return Some(ev);
            }
            let batch = self.rx.recv().await?;
            self.buffered = VecDeque::from(batch);
        }
    }

    /// Appends the next events to `out` (at least one, every event already available at
    /// most a batch): the cheapest way to follow a full table. Returns how many were added;
    /// 0 once the server has stopped and every event was received.
    pub async fn recv_batch(&mut self, out: &mut Vec<ServerEvent>) -> usize {
        if !self.buffered.is_empty() {
            let n = self.buffered.len();
            out.extend(self.buffered.drain(..));
            return n;
        }
        loop {
            let Some(mut batch) = self.rx.recv().await else {
                return 0;
            };
            let n = batch.len();
            if n == 0 {
                continue;
            }
            if out.is_empty() {
                std::mem::swap(out, &mut batch);
            } else {
                out.append(&mut batch);
            }
            return n;
        }
    }

    /// The next event if one is ready now, without waiting.
    pub fn try_recv(&mut self) -> Result<ServerEvent, mpsc::error::TryRecvError> {
        loop {
            if let Some(ev) = self.buffered.pop_front() {
                return Ok(ev);
            }
            self.buffered = VecDeque::from(self.rx.try_recv()?);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ClientId;

    fn connected(n: u64) -> ServerEvent {
        ServerEvent::ClientConnected {
            client: ClientId(n),
        }
    }

    #[tokio::test]
    async fn events_come_back_in_order_across_batches() {
        let (tx, rx) = mpsc::channel(4);
        let mut events = EventReceiver::new(rx);
        tx.send(vec![connected(1), connected(2)]).await.unwrap();
        tx.send(vec![]).await.unwrap();
        tx.send(vec![connected(3)]).await.unwrap();
        drop(tx);
        assert_eq!(events.recv().await, Some(connected(1)));
        let mut out = vec![connected(0)];
        assert_eq!(events.recv_batch(&mut out).await, 1);
        assert_eq!(out, vec![connected(0), connected(2)]);
        assert_eq!(events.try_recv(), Ok(connected(3)));
        assert_eq!(events.recv().await, None);
        assert_eq!(events.recv_batch(&mut out).await, 0);
    }

    #[tokio::test]
    async fn a_cancelled_recv_loses_nothing() {
        let (tx, rx) = mpsc::channel(4);
        let mut events = EventReceiver::new(rx);
        let timed_out =
            tokio::time::timeout(std::time::Duration::from_millis(10), events.recv()).await;
        assert!(timed_out.is_err());
        tx.send(vec![connected(7)]).await.unwrap();
        assert_eq!(events.recv().await, Some(connected(7)));
        assert!(matches!(
            events.try_recv(),
            Err(mpsc::error::TryRecvError::Empty)
        ));
    }
}
