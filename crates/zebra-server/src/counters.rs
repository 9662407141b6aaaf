//! Counts of the messages bgpd sent, by command, and of the frames that did not decode: tallied
//! by each connection's [`FrameReader`](crate::reader::FrameReader) as it decodes (no lock per
//! frame) and added to the server's shared [`MessageStats`] once per read.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The messages received from clients since the server started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageStats {
    /// Messages by command name (`ROUTE_ADD`, `HELLO`, …; numbers the client's profile does
    /// not type count as `UNKNOWN`). A message whose body did not decode counts here too.
    pub by_command: BTreeMap<&'static str, u64>,
    /// Frames whose body did not decode, and broken framing (which closes the connection).
    pub decode_errors: u64,
}

/// One reader's counts since its last flush.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    by_command: Vec<(&'static str, u64)>,
    decode_errors: u64,
}

impl Tally {
    /// One message of `command` (a command name) was received.
    pub(crate) fn message(&mut self, command: &'static str) {
        // Few distinct commands per read: a short list beats a map.
        match self.by_command.iter_mut().find(|(c, _)| *c == command) {
            Some((_, n)) => *n = n.saturating_add(1),
            None => self.by_command.push((command, 1)),
        }
    }

    /// A frame (or the framing) did not decode.
    pub(crate) fn decode_error(&mut self) {
        self.decode_errors = self.decode_errors.saturating_add(1);
    }

    fn is_empty(&self) -> bool {
        self.by_command.is_empty() && self.decode_errors == 0
    }
}

/// The server's shared counts (a clone shares them).
#[derive(Debug, Clone, Default)]
pub(crate) struct SharedStats(Arc<Mutex<MessageStats>>);

impl SharedStats {
    /// Adds `tally` and empties it.
    pub(crate) fn add(&self, tally: &mut Tally) {
        if tally.is_empty() {
            return;
        }
        let mut s = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for (command, n) in tally.by_command.drain(..) {
            let slot = s.by_command.entry(command).or_insert(0);
            *slot = slot.saturating_add(n);
        }
        s.decode_errors = s.decode_errors.saturating_add(tally.decode_errors);
        tally.decode_errors = 0;
    }

    /// A copy of the counts.
    pub(crate) fn get(&self) -> MessageStats {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_add_up_and_empty() {
        let shared = SharedStats::default();
        let mut t = Tally::default();
        t.message("HELLO");
        t.message("ROUTE_ADD");
        t.message("ROUTE_ADD");
        t.decode_error();
        shared.add(&mut t);
        assert!(t.is_empty());
        t.message("ROUTE_ADD");
        shared.add(&mut t);
        shared.add(&mut t);
        let s = shared.get();
        assert_eq!(s.by_command.get("HELLO"), Some(&1));
        assert_eq!(s.by_command.get("ROUTE_ADD"), Some(&3));
        assert_eq!(s.decode_errors, 1);
    }
}
