//! Checks of a Unix stream server's answer to bad input: a malformed frame on a connection of
//! its own must make the server close that connection without answering.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// How long [`expect_closed`] waits for the server to close the connection.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends `bytes` on a new connection to the Unix socket `sock` (then half-closes it when
/// `half_close`) and expects the server to close the connection without answering: EOF or a
/// reset within [`CLOSE_TIMEOUT`]. Fails when the connection cannot be made or written, when the
/// server answers anything, or when it keeps the connection open.
pub fn expect_closed(sock: &Path, bytes: &[u8], half_close: bool) -> io::Result<()> {
    let mut s = UnixStream::connect(sock)?;
    s.set_read_timeout(Some(CLOSE_TIMEOUT))?;
    s.write_all(bytes)?;
    if half_close {
        s.shutdown(std::net::Shutdown::Write)?;
    }
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(0) => Ok(()),
        Ok(n) => Err(io::Error::other(format!(
            "server answered garbage with {n} bytes"
        ))),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            Err(io::Error::other(format!(
                "server kept a malformed connection open: {e}"
            )))
        }
        // A reset: closed too.
        Err(_) => Ok(()),
    }
}
