//! Random and hostile input on many connections never stops the server from serving a
//! well-behaved client (and never panics it: a panic in the loop would end the server).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::net;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use zebra_server::{Interface, ServerConfig, ZebraServer};

/// A frame with a valid header for `marker`/`version` and a random command and body.
fn random_frame(rng: &mut fastrand::Rng) -> Vec<u8> {
    let (marker, version, hdr) = match rng.u8(0..3) {
        0 => (255u8, 2u8, 6usize),
        1 => (255, 3, 8),
        _ => (254, 6, 10),
    };
    let body_len = rng.usize(0..200);
    let len = hdr + body_len;
    let mut f = Vec::with_capacity(len);
    f.extend_from_slice(&(len as u16).to_be_bytes());
    f.push(marker);
    f.push(version);
    f.resize(hdr - 2, 0);
    // Mostly commands the server acts on, sometimes anything.
    let cmd: u16 = if rng.bool() {
        [0, 8, 9, 15, 18, 20, 21, 1, 7, 9, 10, 23, 27, 28][rng.usize(0..14)]
    } else {
        rng.u16(..)
    };
    f.extend_from_slice(&cmd.to_be_bytes());
    for _ in 0..body_len {
        f.push(rng.u8(..));
    }
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_frames_never_stop_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ServerConfig::new(dir.path().join("zserv.api"));
    cfg.interfaces = vec![Interface::ethernet(
        "veth0",
        5,
        [2, 0, 0, 0, 0, 5],
        1500,
        vec![net("192.0.2.1/24")],
    )];
    cfg.max_clients = 64;
    let (srv, mut events) = ZebraServer::start(cfg).await.unwrap();
    // Drain events so the server never blocks on them.
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    let mut rng = fastrand::Rng::with_seed(0x2b5e_5eed);
    for round in 0..300 {
        let mut s = UnixStream::connect(srv.socket_path()).await.unwrap();
        let mut bytes = Vec::new();
        match round % 3 {
            // Pure noise.
            0 => bytes.extend((0..rng.usize(1..600)).map(|_| rng.u8(..))),
            // Valid headers, random bodies.
            _ => {
                // Keep the first frame's profile for the rest, so later frames are decoded too.
                let first = random_frame(&mut rng);
                let (m, v) = (first[2], first[3]);
                bytes.extend(first);
                for _ in 0..rng.usize(0..20) {
                    let mut f = random_frame(&mut rng);
                    while (f[2], f[3]) != (m, v) {
                        f = random_frame(&mut rng);
                    }
                    bytes.extend(f);
                }
            }
        }
        let _ = s.write_all(&bytes).await;
        // Read whatever comes back until the server closes or goes quiet.
        let mut buf = vec![0u8; 4096];
        loop {
            match tokio::time::timeout(Duration::from_millis(20), s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
                Ok(Ok(_)) => {}
            }
        }
    }
    // A well-behaved FRR client is still served.
    let mut ok = UnixStream::connect(srv.socket_path()).await.unwrap();
    ok.write_all(&[0, 10, 254, 6, 0, 0, 0, 0, 0, 0])
        .await
        .unwrap();
    let mut len = [0u8; 2];
    tokio::time::timeout(Duration::from_secs(10), ok.read_exact(&mut len))
        .await
        .expect("server stopped serving")
        .unwrap();
    let mut rest = vec![0u8; usize::from(u16::from_be_bytes(len)) - 2];
    ok.read_exact(&mut rest).await.unwrap();
    assert_eq!(&rest[..8], &[254, 6, 0, 0, 0, 0, 0, 0], "an INTERFACE_ADD");
    srv.shutdown().await;
}
