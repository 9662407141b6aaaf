//! Zebra protocol (ZAPI) wire codec for Quagga v2/v3 and FRR 8.4, sans-I/O.
//!
//! bgpd talks to "zebra" over ZAPI; a controller that *is* zebra needs an exact codec for
//! what bgpd sends and expects. This crate decodes and encodes every message bgpd 8.4 and
//! Quagga bgpd use, keyed on a [`Profile`] rather than the header's version byte (FRR renumbered
//! commands within version 6):
//!
//! * [`decode`] parses one complete frame (header + body) with a bounds-checked reader (nom for variable-length fields); [`decode_into`] does the
//!   same into a caller-owned [`Message`], rebuilding a route in place (the fastest path);
//! * [`encode`] appends one frame to a `BytesMut`;
//! * [`detect_profile`] guesses the profile from a client's first bytes;
//! * `ZebraCodec` (feature `codec`) is a tokio-util `Decoder`/`Encoder` that frames a stream,
//!   enforces the profile's maximum frame size and returns `Ok(None)` only for an incomplete
//!   frame.
//!
//! No input makes decoding panic, overflow or allocate more than the frame holds: every count
//! is checked against the bytes that remain. Errors name the command, the field and the byte
//! offset. Route decoding does not allocate for up to [`INLINE_NEXTHOPS`] nexthops with up to
//! [`INLINE_LABELS`] labels each; only the rare EVPN/backup/SRv6 nexthop parts
//! ([`NexthopExtras`]) are boxed. Design notes: `docs/zebra-proto.md` in the repository.
//!
//! Byte order: everything is big-endian except FRR's MPLS labels, the ERROR and
//! ROUTE_NOTIFY_OWNER enums, VRF_ADD's table id and SRv6 context table, which FRR copies from
//! memory in **the daemon's host order**. The daemon talks over a Unix socket on the same host,
//! so this crate uses the native byte order of the machine it runs on (little-endian on x86_64).
//!
//! ```
//! use bytes::BytesMut;
//! use zebra_proto::{decode, encode, Message, NexthopTarget, Profile, ZapiNexthop, ZapiRoute};
//!
//! // A ROUTE_ADD as FRR 8.4 bgpd sends it: 198.51.100.0/24 via 192.0.2.2, distance 20.
//! let mut route = ZapiRoute::new(9, "198.51.100.0/24".parse().unwrap());
//! route.flags = 0x01; // ALLOW_RECURSION
//! route.nexthops = Some(zebra_proto::nexthops([ZapiNexthop::new(NexthopTarget::Ipv4 {
//!     gate: "192.0.2.2".parse().unwrap(),
//!     ifindex: 0,
//! })]));
//! route.distance = Some(20);
//! route.metric = Some(0);
//!
//! let mut buf = BytesMut::new();
//! encode(Profile::Frr84, 0, &Message::RouteAdd(route.clone()), &mut buf).unwrap();
//! let (header, msg) = decode(Profile::Frr84, &buf).unwrap();
//! assert_eq!(header.command, 8); // ZEBRA_ROUTE_ADD in FRR 8.2–9.1
//! assert_eq!(msg, Message::RouteAdd(route));
//! assert_eq!(zebra_proto::detect_profile(&buf).unwrap(), Profile::Frr84);
//! ```

/// The `bytes` crate, re-exported for `BytesMut` in [`encode`]'s signature.
pub use bytes;

#[cfg(feature = "arbitrary")]
pub mod arb;
#[cfg(feature = "codec")]
mod codec;
mod command;
mod decode;
mod decode_route;
mod encode;
mod encode_route;
mod error;
mod header;
mod message;
mod profile;
pub mod route;
mod wire;

#[cfg(feature = "codec")]
pub use codec::{CodecError, Frame, ZebraCodec};
pub use command::Command;
pub use decode::{decode, decode_into};
pub use encode::encode;
pub use error::{DecodeError, EncodeError};
pub use header::{detect_profile, Header};
pub use message::*;
pub use profile::{Profile, Seg6LocalContext, UnknownProfileName};
pub use route::{
    BackupIndexes, Labels, NexthopExtras, NexthopTarget, Nexthops, OldNexthop, OldNexthops,
    OldPath, OldRoute, Seg6Local, ZapiNexthop, ZapiRoute, INLINE_LABELS, INLINE_NEXTHOPS,
};

/// Length of the frame starting at `buf[0]`, once its header is complete.
///
/// Returns `Ok(None)` while fewer than a header's bytes are there, `Ok(Some(len))` when the
/// header is valid (marker, version, length bounds), and an error for a corrupt header.
pub fn frame_length(profile: Profile, buf: &[u8]) -> Result<Option<usize>, DecodeError> {
    if buf.len() < profile.header_size() {
        return Ok(None);
    }
    Header::decode(profile, buf).map(|h| Some(usize::from(h.length)))
}
