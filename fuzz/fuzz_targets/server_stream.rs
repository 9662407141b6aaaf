//! The zebra server's read path fed an arbitrary byte stream, in-process: the same
//! `FrameReader` the server's reader task uses cuts and decodes the bytes (delivered in chunks
//! whose size the first byte chooses), the same `ServerCore` acts on the requests and its
//! replies are encoded as the writer would. A fault may close the connection, never panic the
//! server, and the server must serve the next client afterwards.
#![no_main]

use std::time::{Duration, Instant};

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use zebra_proto::{Hello, Message, Profile};
use zebra_server::{
    CloseReason, CoreConfig, FrameReader, Interface, Output, Request, ServerCore, MAX_STALE_TIME,
};

/// The withdraw grace of the server under test.
const GRACE: Duration = Duration::from_secs(30);

fn core() -> ServerCore {
    let net = |s: &str| s.parse().expect("a valid prefix");
    ServerCore::new(CoreConfig {
        interfaces: vec![
            Interface::ethernet(
                "veth0",
                5,
                [2, 0, 0, 0, 0, 5],
                1500,
                vec![net("192.0.2.1/24"), net("2001:db8::1/64")],
            ),
            Interface::ethernet("lo", 1, [0; 6], 65536, vec![net("127.0.0.1/8")]),
        ],
        withdraw_grace: Some(GRACE),
        max_routes: 10_000,
        max_nht_per_client: 1_000,
        ..CoreConfig::default()
    })
}

/// Carries out `out` for one connection; true when the core closed it.
fn carry_out(reader: &FrameReader, out: &mut Vec<Output>, wire: &mut BytesMut) -> bool {
    let mut closed = false;
    for o in out.drain(..) {
        match o {
            Output::Send { reply, .. } => reader.encode_reply(&reply, wire),
            Output::Event(_) => {}
            Output::Close { .. } => closed = true,
        }
    }
    wire.clear();
    closed
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, stream)) = data.split_first() else { return };
    let chunk = usize::from(sel).max(1) * 4;
    let mut core = core();
    let now = Instant::now();
    let mut out = Vec::new();
    let mut wire = BytesMut::new();
    let client = core.client_connected(&mut out);
    let mut reader = FrameReader::new(client);
    let mut buf = BytesMut::new();
    let mut reason = None;
    for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        let mut batch: Vec<Request> = Vec::new();
        let found = reader.decode(&mut buf, &mut batch);
        if found.profile_detected {
            if let Some(p) = reader.profile() {
                core.set_client_profile(client, p);
            }
        }
        for r in batch {
            core.handle_request(client, r, now, &mut out);
        }
        if carry_out(&reader, &mut out, &mut wire) {
            reason = Some(CloseReason::Shutdown);
            break;
        }
        if let Some(f) = found.failure {
            reason = Some(f);
            break;
        }
    }
    let reason = reason.unwrap_or_else(|| reader.finish(&buf));
    core.client_closed(client, reason, now, &mut out);
    carry_out(&reader, &mut out, &mut wire);
    // Every timer ends (the withdraw grace, or the stale time a GR-capable client announced,
    // which may be longer but never beyond MAX_STALE_TIME, whatever it asked for): stale
    // routes go and nothing stays scheduled.
    let latest = now + MAX_STALE_TIME.max(GRACE);
    let mut at = now;
    for _ in 0..8 {
        let Some(deadline) = core.next_deadline() else { break };
        // A stale time of 0 is due at once; a timer never goes back in time.
        assert!(deadline >= at, "a timer earlier than the last one handled");
        assert!(deadline <= latest, "a timer beyond the stale-time cap");
        at = deadline;
        core.handle_timeout(at, &mut out);
    }
    assert!(core.next_deadline().is_none());
    // The server still serves: a well-behaved FRR client says hello and asks for interfaces.
    let next = core.client_connected(&mut out);
    let mut reader = FrameReader::new(next);
    let mut buf = BytesMut::new();
    let hello = Message::Hello(Hello {
        route_type: 9,
        ..Hello::default()
    });
    zebra_proto::encode(Profile::Frr84, 0, &hello, &mut buf).expect("HELLO encodes");
    zebra_proto::encode(Profile::Frr84, 0, &Message::InterfaceAddRequest, &mut buf)
        .expect("INTERFACE_ADD encodes");
    let mut batch = Vec::new();
    let found = reader.decode(&mut buf, &mut batch);
    assert!(found.failure.is_none(), "{found:?}");
    assert_eq!(batch.len(), 2);
    for r in batch {
        core.handle_request(next, r, now, &mut out);
    }
    assert!(!carry_out(&reader, &mut out, &mut wire));
    assert_eq!(core.client_count(), 1);
});
