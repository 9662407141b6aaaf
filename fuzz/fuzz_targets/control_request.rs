//! Control socket requests without a socket: arbitrary bytes, delivered in chunks whose size
//! the first byte chooses, go through the server's line codec (with its length limit) and
//! request parser, and every request through the permission check for root, a group member and
//! a stranger. Lines stay within the limit, whatever parses re-serializes to the same request,
//! and state changes are root's alone.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use midonet_bgp::control::codec::Line;
use midonet_bgp::control::{authorize, parse_request, Access, LineCodec, Peer, MAX_REQUEST_LINE};
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, stream)) = data.split_first() else { return };
    let chunk = usize::from(sel) * 16 + 1;
    let mut codec = LineCodec::new(MAX_REQUEST_LINE);
    let mut buf = BytesMut::new();
    let mut lines = Vec::new();
    for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        while let Some(line) = codec.decode(&mut buf).expect("the codec never fails") {
            lines.push(line);
        }
        assert!(buf.len() <= MAX_REQUEST_LINE + chunk, "bounded buffering");
    }
    while let Some(line) = codec.decode_eof(&mut buf).expect("the codec never fails") {
        lines.push(line);
    }
    let access = Access { group: Some(50) };
    let root = Peer { uid: 0, gid: 0, groups: vec![] };
    let member = Peer { uid: 1000, gid: 1000, groups: vec![50] };
    let stranger = Peer { uid: 1001, gid: 1001, groups: vec![] };
    for line in lines {
        let Line::Request(line) = line else { continue };
        assert!(line.len() <= MAX_REQUEST_LINE);
        let Ok(request) = parse_request(&line) else { continue };
        let again = serde_json::to_vec(&request).expect("a request serializes");
        assert_eq!(parse_request(&again).expect("re-parses"), request);
        assert!(authorize(&access, &root, &request).is_ok());
        assert!(authorize(&access, &stranger, &request).is_err());
        assert_eq!(
            authorize(&access, &member, &request).is_ok(),
            !request.changes_state()
        );
    }
});
