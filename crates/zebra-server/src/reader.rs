//! The sans-I/O part of one connection: the profile is detected from the first bytes, frames
//! are cut and decoded into [`Request`]s, and replies are encoded in the connection's profile.
//! The server's reader task feeds it what the socket delivers; the fuzz target `server_stream`
//! feeds it arbitrary bytes, so both run the same code.

use std::collections::HashSet;

use bytes::BytesMut;
use zebra_proto::{Command, Header, Profile};

use crate::core::{Reply, Request};
use crate::counters::Tally;
use crate::types::{ClientId, CloseReason};
use crate::wire;

/// Target of the opt-in read trace point: with it enabled at TRACE (e.g.
/// `RUST_LOG=info,zebra_server::read=trace`), every socket read that carried route messages logs
/// one event with the wall-clock instant the read returned (`at_us`, microseconds since the Unix
/// epoch, comparable with `ip -ts monitor` and packet captures on the same host), the number of
/// route adds and deletes in it and the first route's prefix. Disabled, it costs one level check
/// per read. `benches/latency.sh` uses it as the instant bgpd's frame reached the server.
pub const READ_TRACE_TARGET: &str = "zebra_server::read";

/// The route messages among one read's requests (what the read trace point reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RouteSummary {
    /// ROUTE_ADDs (any family or profile).
    pub adds: usize,
    /// ROUTE_DELETEs.
    pub deletes: usize,
    /// The prefix of the first of them.
    pub first: Option<ipnetwork::IpNetwork>,
}

impl RouteSummary {
    /// Counts the route messages in `batch`.
    pub fn of(batch: &[Request]) -> RouteSummary {
        let mut s = RouteSummary::default();
        for r in batch {
            let prefix = match r {
                Request::RouteAdd { prefix, .. } => {
                    s.adds += 1;
                    prefix
                }
                Request::RouteDelete { prefix } => {
                    s.deletes += 1;
                    prefix
                }
                _ => continue,
            };
            s.first.get_or_insert(*prefix);
        }
        s
    }

    /// Whether the batch held no route message.
    pub fn is_empty(&self) -> bool {
        self.adds == 0 && self.deletes == 0
    }
}

/// What one [`FrameReader::decode`] call found besides the requests.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decoded {
    /// The profile was detected by this call (announce it before the requests).
    pub profile_detected: bool,
    /// The connection must be closed, after the requests decoded before the fault.
    pub failure: Option<CloseReason>,
}

/// Cuts one connection's byte stream into requests.
#[derive(Debug)]
pub struct FrameReader {
    client: ClientId,
    /// The profile the embedder configured, if any (refines the detected family).
    configured: Option<Profile>,
    profile: Option<Profile>,
    /// Commands whose undecodable bodies were already logged.
    logged: HashSet<u16>,
    /// Decoded in place: a route message is large (inline nexthops), so one is reused.
    msg: zebra_proto::Message,
    /// Messages and decode errors since the server last collected them.
    tally: Tally,
}

/// The name a message of `number` is counted under.
fn command_name(profile: Profile, number: u16) -> &'static str {
    profile.command(number).map_or("UNKNOWN", |c| c.name())
}

/// Commands the server acts on: a body that does not decode closes the connection. Other
/// commands with an intact header but an undecodable body are ignored (logged once).
fn acted_on(profile: Profile, number: u16) -> bool {
    matches!(
        profile.command(number),
        Some(
            Command::Hello
                | Command::InterfaceAdd
                | Command::RouterIdAdd
                | Command::RouterIdDelete
                | Command::NexthopRegister
                | Command::NexthopUnregister
                | Command::RouteAdd
                | Command::RouteDelete
                | Command::Ipv4RouteAdd
                | Command::Ipv4RouteDelete
                | Command::Ipv6RouteAdd
                | Command::Ipv6RouteDelete
                | Command::Ipv4NexthopLookup
        )
    )
}

impl FrameReader {
    /// A reader for `client`'s connection, profile not yet known.
    pub fn new(client: ClientId) -> FrameReader {
        FrameReader::with_configured(client, None)
    }

    /// A reader whose detected profile family is refined to `configured` (see
    /// [`crate::ServerConfig`]); a client of another family is refused.
    pub(crate) fn with_configured(client: ClientId, configured: Option<Profile>) -> FrameReader {
        FrameReader {
            client,
            configured,
            profile: None,
            logged: HashSet::new(),
            msg: zebra_proto::Message::InterfaceAddRequest,
            tally: Tally::default(),
        }
    }

    /// The messages and decode errors counted since the last call, emptied.
    pub(crate) fn tally(&mut self) -> &mut Tally {
        &mut self.tally
    }

    /// The connection's protocol profile, once detected.
    pub fn profile(&self) -> Option<Profile> {
        self.profile
    }

    /// Takes every complete frame out of `buf` and appends its request to `batch`; an
    /// incomplete frame stays in `buf` for the next call.
    pub fn decode(&mut self, buf: &mut BytesMut, batch: &mut Vec<Request>) -> Decoded {
        let mut found = Decoded::default();
        let p = match self.profile {
            Some(p) => p,
            None => match crate::server::client_profile(buf, self.configured) {
                Ok(Some(p)) => {
                    self.profile = Some(p);
                    found.profile_detected = true;
                    p
                }
                Ok(None) => return found,
                Err(reason) => {
                    found.failure = Some(reason);
                    return found;
                }
            },
        };
        loop {
            let len = match zebra_proto::frame_length(p, buf) {
                Ok(Some(len)) => len,
                Ok(None) => break,
                Err(e) => {
                    self.tally.decode_error();
                    found.failure = Some(CloseReason::Malformed(e.to_string()));
                    break;
                }
            };
            if buf.len() < len {
                break;
            }
            let frame = buf.split_to(len);
            match zebra_proto::decode_into(p, &frame, &mut self.msg) {
                Ok(header) => {
                    self.tally.message(command_name(p, header.command));
                    batch.push(wire::request_from(p, header.command, &self.msg));
                }
                Err(e) => {
                    let command = Header::decode(p, &frame).map(|h| h.command).unwrap_or(0);
                    self.tally.message(command_name(p, command));
                    self.tally.decode_error();
                    if acted_on(p, command) {
                        found.failure = Some(CloseReason::Malformed(e.to_string()));
                        break;
                    }
                    if self.logged.insert(command) {
                        tracing::warn!(client = %self.client, command, error = %e, "undecodable message ignored (logged once per command)");
                    }
                    batch.push(Request::Ignored { command });
                }
            }
        }
        found
    }

    /// The peer closed the connection with `pending` bytes not yet decoded: a clean close
    /// when there are none.
    pub fn finish(&self, pending: &BytesMut) -> CloseReason {
        if pending.is_empty() {
            CloseReason::PeerClosed
        } else {
            CloseReason::Malformed(format!(
                "connection closed inside a frame ({} bytes pending)",
                pending.len()
            ))
        }
    }

    /// Appends `reply`, encoded in the connection's profile, to `out`; replies before the
    /// profile is known, or that the profile has no message for, are skipped.
    pub fn encode_reply(&self, reply: &Reply, out: &mut BytesMut) {
        encode_reply(self.client, self.profile, reply, out);
    }
}

/// Appends `reply` in `profile` to `out`; a failure is logged.
pub(crate) fn encode_reply(
    client: ClientId,
    profile: Option<Profile>,
    reply: &Reply,
    out: &mut BytesMut,
) {
    // The core only answers clients whose profile it was told, which is set first.
    let Some(profile) = profile else {
        tracing::warn!(%client, "reply to a client of unknown profile dropped");
        return;
    };
    let Some(msg) = wire::message_for(profile, reply) else {
        return;
    };
    if let Err(e) = zebra_proto::encode(profile, 0, &msg, out) {
        tracing::warn!(%client, error = %e, message = msg.name(), "cannot encode reply");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_route_summary_counts_adds_and_deletes_and_names_the_first_route() {
        let a: ipnetwork::IpNetwork = "198.51.100.0/24".parse().unwrap();
        let b: ipnetwork::IpNetwork = "2001:db8::/32".parse().unwrap();
        let batch = vec![
            Request::RouterIdAdd { afi: 1 },
            Request::RouteDelete { prefix: a },
            Request::RouteAdd {
                prefix: b,
                paths: Vec::new(),
            },
            Request::RouteAdd {
                prefix: a,
                paths: Vec::new(),
            },
        ];
        let s = RouteSummary::of(&batch);
        assert_eq!(
            s,
            RouteSummary {
                adds: 2,
                deletes: 1,
                first: Some(a)
            }
        );
        assert!(!s.is_empty());
        let none = RouteSummary::of(&[Request::RouterIdAdd { afi: 2 }, Request::InterfaceRequest]);
        assert!(none.is_empty());
        assert_eq!(none.first, None);
    }
}
