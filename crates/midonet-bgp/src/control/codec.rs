//! The control socket's wire format without a socket: a line splitter with a maximum length and
//! the request parser, both fed arbitrary bytes by the fuzz target `control_request`.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Decoder;

use super::Request;

/// The longest request line accepted, without its newline.
pub const MAX_REQUEST_LINE: usize = 4096;

/// One unit of input on the control socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A complete line (without the newline).
    Request(Bytes),
    /// A line longer than the limit: reported once, as soon as the limit is passed; the rest of
    /// it, up to its newline, is discarded without being buffered.
    TooLong,
}

/// Splits the input into lines of at most `max` bytes, in bounded memory.
#[derive(Debug, Clone)]
pub struct LineCodec {
    max: usize,
    /// Bytes already searched for a newline.
    searched: usize,
    /// Inside a line that was too long: drop everything up to the next newline.
    discarding: bool,
}

impl LineCodec {
    /// A splitter for lines of at most `max` bytes.
    pub fn new(max: usize) -> LineCodec {
        LineCodec {
            max,
            searched: 0,
            discarding: false,
        }
    }
}

impl Default for LineCodec {
    fn default() -> LineCodec {
        LineCodec::new(MAX_REQUEST_LINE)
    }
}

impl Decoder for LineCodec {
    type Item = Line;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Line>, std::io::Error> {
        loop {
            let newline = buf
                .get(self.searched..)
                .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
                .map(|i| self.searched + i);
            match newline {
                Some(end) => {
                    self.searched = 0;
                    if self.discarding {
                        buf.advance(end + 1);
                        self.discarding = false;
                        continue;
                    }
                    if end > self.max {
                        buf.advance(end + 1);
                        return Ok(Some(Line::TooLong));
                    }
                    let mut line = buf.split_to(end + 1);
                    line.truncate(end);
                    return Ok(Some(Line::Request(line.freeze())));
                }
                None if self.discarding => {
                    buf.clear();
                    self.searched = 0;
                    return Ok(None);
                }
                None if buf.len() > self.max => {
                    buf.clear();
                    self.searched = 0;
                    self.discarding = true;
                    return Ok(Some(Line::TooLong));
                }
                None => {
                    self.searched = buf.len();
                    return Ok(None);
                }
            }
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Line>, std::io::Error> {
        if let Some(line) = self.decode(buf)? {
            return Ok(Some(line));
        }
        // A last line without its newline still counts.
        self.searched = 0;
        if self.discarding || buf.is_empty() {
            buf.clear();
            self.discarding = false;
            return Ok(None);
        }
        let line = buf.split().freeze();
        Ok(Some(Line::Request(line)))
    }
}

/// Why a request line was not understood.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// Not a JSON request object of a known kind.
    #[error("bad request: {0}")]
    Json(#[from] serde_json::Error),
}

/// Parses one request line (`{"request":"status"}`); surrounding whitespace (also a `\r` before
/// the newline) is allowed.
pub fn parse_request(line: &[u8]) -> Result<Request, RequestError> {
    Ok(serde_json::from_slice(line)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn lines(codec: &mut LineCodec, input: &[&[u8]], eof: bool) -> Vec<Line> {
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for chunk in input {
            buf.extend_from_slice(chunk);
            while let Some(l) = codec.decode(&mut buf).unwrap() {
                out.push(l);
            }
        }
        if eof {
            while let Some(l) = codec.decode_eof(&mut buf).unwrap() {
                out.push(l);
            }
        }
        out
    }

    fn req(s: &str) -> Line {
        Line::Request(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn splits_lines_across_chunks() {
        let mut c = LineCodec::new(16);
        let got = lines(&mut c, &[b"ab", b"c\nde", b"f\n\nlast"], true);
        assert_eq!(got, vec![req("abc"), req("def"), req(""), req("last")]);
    }

    #[test]
    fn a_long_line_is_reported_at_once_and_skipped_in_bounded_memory() {
        let mut c = LineCodec::new(8);
        let mut buf = BytesMut::new();
        buf.extend_from_slice(b"0123456789");
        assert_eq!(c.decode(&mut buf).unwrap(), Some(Line::TooLong));
        assert!(buf.is_empty(), "nothing of the long line is kept");
        for _ in 0..100 {
            buf.extend_from_slice(&[b'x'; 1000]);
            assert_eq!(c.decode(&mut buf).unwrap(), None);
            assert!(buf.is_empty());
        }
        buf.extend_from_slice(b"tail\nok\n");
        assert_eq!(c.decode(&mut buf).unwrap(), Some(req("ok")));
        // A long line whose newline came in the same chunk.
        let got = lines(&mut c, &[b"0123456789abc\nfine\n"], false);
        assert_eq!(got, vec![Line::TooLong, req("fine")]);
        // Exactly the limit is fine.
        assert_eq!(
            lines(&mut c, &[b"01234567\n"], false),
            vec![req("01234567")]
        );
    }

    #[test]
    fn parses_known_requests_and_refuses_the_rest() {
        assert_eq!(
            parse_request(br#"{"request":"status"}"#).unwrap(),
            Request::Status
        );
        assert_eq!(
            parse_request(b" {\"request\":\"reload\"}\r").unwrap(),
            Request::Reload
        );
        for bad in [
            &b""[..],
            b"{",
            b"{\"request\":\"shutdown\"}",
            b"{\"request\":1}",
            b"[]",
            b"\xff\xfe",
            b"{\"request\":\"status\"} {}",
        ] {
            let e = parse_request(bad).unwrap_err();
            assert!(e.to_string().starts_with("bad request"), "{e}");
        }
    }
}
