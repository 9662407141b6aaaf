//! The Vty client's read path (telnet filtering, login steps, prompt and reply scanning, error
//! detection) driven in-process by an arbitrary "bgpd" byte stream, delivered in chunks whose
//! size the first byte chooses; what the client writes is discarded. It may fail, never panic.
//! The telnet filter must also give the same bytes however the stream is cut.
#![no_main]

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use vty::telnet::TelnetFilter;
use vty::{Vty, VtyOptions};

/// Replays `data` in `chunk`-sized reads, then end of stream; swallows writes.
struct Scripted {
    data: Vec<u8>,
    pos: usize,
    chunk: usize,
}

impl AsyncRead for Scripted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let end = self.data.len().min(self.pos + self.chunk.min(out.remaining()));
        let piece = &self.data[self.pos..end];
        out.put_slice(piece);
        self.pos = end;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Scripted {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, b: &[u8]) -> Poll<std::io::Result<usize>> {
        Poll::Ready(Ok(b.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

thread_local! {
    static RT: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, stream)) = data.split_first() else { return };
    let chunk = usize::from(sel % 64) + 1;

    // The filter's output does not depend on how the stream is cut.
    let mut whole = Vec::new();
    TelnetFilter::new().feed(stream, &mut whole);
    let mut cut = Vec::new();
    let mut f = TelnetFilter::new();
    for piece in stream.chunks(chunk) {
        f.feed(piece, &mut cut);
    }
    assert_eq!(whole, cut);

    // A whole session against the stream: login (password, enable, terminal length 0), then
    // commands, as long as the stream lets the client go on.
    let script = Scripted { data: stream.to_vec(), pos: 0, chunk };
    let opts = VtyOptions {
        password: Some("zebra".into()),
        enable_password: Some("secret".into()),
        timeout: Duration::from_secs(1),
    };
    RT.with(|rt| {
        rt.block_on(async {
            let Ok(mut vty) = Vty::login(script, &opts).await else { return };
            let _ = vty.exec("show bgp summary json").await;
            let _ = vty.exec_raw("configure terminal").await;
            let _ = vty.exec("router bgp 65001").await;
            let _ = vty.close().await;
        })
    });
});
