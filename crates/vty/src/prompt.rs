//! Sans-I/O recognition of bgpd's prompts and of the replies that end with them.
//!
//! A reply to one command line is: the echo of the line, `\r\n`, the command's output, then the
//! prompt of the mode the session is now in. Prompts are recognised only at the start of a line
//! and only with the hostname learned at login, so output that merely looks like a prompt (a
//! configuration line, another router's name) does not end a reply early. When commands are
//! pipelined the prompt must also be followed by the echo of the next command; the last reply's
//! prompt must end the data received so far.

use std::fmt;

/// The Vty mode shown by a prompt.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mode {
    /// `host> ` — view (unprivileged) mode.
    View,
    /// `host# ` — enable (privileged) mode.
    Enable,
    /// `host(NAME)# ` — a configuration node; holds NAME, e.g. `config`, `config-router`,
    /// `config-router-af`.
    Config(String),
}

impl Mode {
    /// True in any configuration node.
    pub fn is_config(&self) -> bool {
        matches!(self, Mode::Config(_))
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::View => f.write_str(">"),
            Mode::Enable => f.write_str("#"),
            Mode::Config(n) => write!(f, "({n})#"),
        }
    }
}

/// Outcome of matching a prompt at the start of some bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptMatch {
    /// A whole prompt of `len` bytes in `mode`.
    Complete {
        /// Length of the prompt in bytes, trailing space included.
        len: usize,
        /// The mode it shows.
        mode: Mode,
    },
    /// The bytes end before a prompt could be confirmed or ruled out.
    Partial,
    /// Not a prompt.
    No,
}

/// Matches `host>`/`host#`/`host(node)#` followed by a space at the start of `bytes`.
pub fn match_prompt(bytes: &[u8], hostname: &str) -> PromptMatch {
    let host = hostname.as_bytes();
    let n = bytes.len().min(host.len());
    if bytes[..n] != host[..n] {
        return PromptMatch::No;
    }
    if bytes.len() <= host.len() {
        return PromptMatch::Partial;
    }
    let rest = &bytes[host.len()..];
    let (mode, sign_at) = match rest[0] {
        b'>' => (Mode::View, 0),
        b'#' => (Mode::Enable, 0),
        b'(' => {
            let mut i = 1;
            loop {
                match rest.get(i) {
                    None => return PromptMatch::Partial,
                    Some(b')') => break,
                    Some(c) if c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_' => i += 1,
                    Some(_) => return PromptMatch::No,
                }
                if i > 64 {
                    return PromptMatch::No;
                }
            }
            if i == 1 {
                return PromptMatch::No;
            }
            let name = String::from_utf8_lossy(&rest[1..i]).into_owned();
            match rest.get(i + 1) {
                None => return PromptMatch::Partial,
                Some(b'#') => (Mode::Config(name), i + 1),
                Some(_) => return PromptMatch::No,
            }
        }
        _ => return PromptMatch::No,
    };
    match rest.get(sign_at + 1) {
        None => PromptMatch::Partial,
        Some(b' ') => PromptMatch::Complete {
            len: host.len() + sign_at + 2,
            mode,
        },
        Some(_) => PromptMatch::No,
    }
}

/// Result of scanning the bytes received for one reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scan {
    /// More bytes are needed; pass `resume` back as `from` on the next scan.
    NeedMore {
        /// Offset from which scanning can resume (a line start not yet settled).
        resume: usize,
    },
    /// The reply is complete.
    Done {
        /// Byte range of the command's output (between the echo line and the prompt).
        output: std::ops::Range<usize>,
        /// Mode shown by the prompt that ended the reply.
        mode: Mode,
        /// Bytes of the buffer that belong to this reply (echo, output and prompt).
        consumed: usize,
    },
    /// The bytes do not start with the echo of the command: the session is out of step.
    EchoMismatch,
}

/// Scans `buf` (starting at the first byte of a reply) for the reply to `echo`.
///
/// `next_echo` is the next pipelined command line, if one was already sent: the prompt that ends
/// this reply must then be followed by it. Without it, the prompt must end `buf`.
/// `from` is 0 on the first call and the `resume` value of the previous `NeedMore` afterwards.
pub fn scan_reply(
    buf: &[u8],
    echo: &[u8],
    next_echo: Option<&[u8]>,
    hostname: &str,
    from: usize,
) -> Scan {
    let echo_end = echo.len() + 2;
    let n = buf.len().min(echo.len());
    if buf[..n] != echo[..n] {
        return Scan::EchoMismatch;
    }
    if buf.len() < echo_end {
        let tail = &buf[n..];
        if !b"\r\n".starts_with(tail) {
            return Scan::EchoMismatch;
        }
        return Scan::NeedMore { resume: 0 };
    }
    if &buf[echo.len()..echo_end] != b"\r\n" {
        return Scan::EchoMismatch;
    }
    let mut line_start = from.max(echo_end);
    loop {
        // A `from` past the bytes there are (not one this function returned for this buffer)
        // waits for more bytes instead of slicing out of bounds.
        let Some(line) = buf.get(line_start..) else {
            return Scan::NeedMore { resume: line_start };
        };
        match match_prompt(line, hostname) {
            PromptMatch::Partial => return Scan::NeedMore { resume: line_start },
            PromptMatch::Complete { len, mode } => {
                let after = line_start + len;
                let rest = line.get(len..).unwrap_or_default();
                let confirmed = match next_echo {
                    None if rest.is_empty() => Some(true),
                    None => None,
                    Some(next) if rest.len() >= next.len() => {
                        rest.starts_with(next).then_some(true)
                    }
                    Some(next) if next.starts_with(rest) => Some(false),
                    Some(_) => None,
                };
                match confirmed {
                    Some(true) => {
                        return Scan::Done {
                            output: echo_end..line_start,
                            mode,
                            consumed: after,
                        };
                    }
                    Some(false) => return Scan::NeedMore { resume: line_start },
                    None => {}
                }
            }
            PromptMatch::No => {}
        }
        match line.iter().position(|&b| b == b'\n') {
            Some(p) => line_start += p + 1,
            None => return Scan::NeedMore { resume: line_start },
        }
    }
}

/// The hostname shown by a login prompt (`name> ` or `name# `) ending `buf`, if its last line is one.
pub fn trailing_login_prompt(buf: &[u8]) -> Option<(String, Mode)> {
    let start = buf.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let line = &buf[start..];
    let (name, mode) = if let Some(n) = line.strip_suffix(b"> ") {
        (n, Mode::View)
    } else if let Some(n) = line.strip_suffix(b"# ") {
        (n, Mode::Enable)
    } else {
        return None;
    };
    if name.is_empty() || name.iter().any(|b| b.is_ascii_control() || *b == b' ') {
        return None;
    }
    Some((String::from_utf8_lossy(name).into_owned(), mode))
}

/// True when the last line of `buf` is a `Password: ` request.
pub fn ends_with_password_request(buf: &[u8]) -> bool {
    buf.ends_with(b"Password: ")
}

/// Output lines bgpd uses for failures that do not start with `% `.
const PLAIN_FAILURES: [&str; 2] = [
    "BGP is already running; AS is ",
    "Default BGP instance not found",
];

/// The error message in a command's output, if bgpd rejected the command: from the first line
/// starting with `% ` (or a known plain-text failure) to the end, trimmed.
pub fn find_error(output: &str) -> Option<String> {
    let mut offset = 0;
    for line in output.split_inclusive('\n') {
        let l = line.trim_start_matches('\r');
        if l.starts_with("% ")
            || l.starts_with("%% ")
            || PLAIN_FAILURES.iter().any(|p| l.starts_with(p))
        {
            let msg = output[offset..].trim();
            return Some(msg.replace("\r\n", "\n"));
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_in_every_mode() {
        assert_eq!(
            match_prompt(b"x> ", "x"),
            PromptMatch::Complete {
                len: 3,
                mode: Mode::View
            }
        );
        assert_eq!(
            match_prompt(b"x# ", "x"),
            PromptMatch::Complete {
                len: 3,
                mode: Mode::Enable
            }
        );
        assert_eq!(
            match_prompt(b"r-1.a_b(config-router-af)# net", "r-1.a_b"),
            PromptMatch::Complete {
                len: 27,
                mode: Mode::Config("config-router-af".into())
            }
        );
        assert_eq!(match_prompt(b"x(conf", "x"), PromptMatch::Partial);
        assert_eq!(match_prompt(b"x(config)#", "x"), PromptMatch::Partial);
        assert_eq!(match_prompt(b"x", "x"), PromptMatch::Partial);
        assert_eq!(match_prompt(b"", "x"), PromptMatch::Partial);
        assert_eq!(match_prompt(b"y# ", "x"), PromptMatch::No);
        assert_eq!(match_prompt(b"x#a", "x"), PromptMatch::No);
        assert_eq!(match_prompt(b"x()# ", "x"), PromptMatch::No);
        assert_eq!(match_prompt(b"xy# ", "x"), PromptMatch::No);
    }

    #[test]
    fn reply_with_output_and_prompt() {
        let buf = b"show x\r\nline1\r\nline2\r\nh# ";
        let r = scan_reply(buf, b"show x", None, "h", 0);
        assert_eq!(
            r,
            Scan::Done {
                output: 8..22,
                mode: Mode::Enable,
                consumed: buf.len()
            }
        );
    }

    #[test]
    fn resume_offset_past_the_buffer_waits_instead_of_panicking() {
        let buf = b"show x\r\nline1\r\n";
        assert_eq!(
            scan_reply(buf, b"show x", None, "h", 500),
            Scan::NeedMore { resume: 500 }
        );
        // Once the bytes reach the offset, scanning resumes from there.
        let mut longer = buf.to_vec();
        longer.resize(500, b'x');
        longer.extend_from_slice(b"\nh# ");
        assert_eq!(
            scan_reply(&longer, b"show x", None, "h", 500),
            Scan::Done {
                output: 8..501,
                mode: Mode::Enable,
                consumed: 504
            }
        );
    }

    #[test]
    fn prompt_like_output_line_is_not_a_prompt() {
        // "h# " followed by more text on the same line is output, not the prompt.
        let buf = b"show x\r\nh# not a prompt\r\nh# ";
        match scan_reply(buf, b"show x", None, "h", 0) {
            Scan::Done { output, .. } => assert_eq!(&buf[output], b"h# not a prompt\r\n"),
            other => panic!("{other:?}"),
        }
        // A prompt-looking line in the middle of a pipelined stream needs the next echo after it.
        let buf = b"a\r\nh# \r\nh# b\r\nh# ";
        match scan_reply(buf, b"a", Some(b"b"), "h", 0) {
            Scan::Done {
                output, consumed, ..
            } => {
                assert_eq!(&buf[output], b"h# \r\n");
                assert_eq!(consumed, 11);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_prefix_needs_more_and_resume_is_consistent() {
        let buf = b"show x\r\nsome output\r\nmore\r\nh(config-router)# ";
        for cut in 0..buf.len() {
            let mut from = 0;
            // scanning an increasing prefix with the resume hint gives the same as a fresh scan
            for end in 0..=cut {
                match scan_reply(&buf[..end], b"show x", None, "h", from) {
                    Scan::NeedMore { resume } => from = resume,
                    other => panic!("prefix {end}: {other:?}"),
                }
            }
        }
        match scan_reply(buf, b"show x", None, "h", 0) {
            Scan::Done { mode, .. } => assert_eq!(mode, Mode::Config("config-router".into())),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn echo_mismatch_detected() {
        assert_eq!(
            scan_reply(b"other\r\nh# ", b"show", None, "h", 0),
            Scan::EchoMismatch
        );
        assert_eq!(
            scan_reply(b"showX", b"show", None, "h", 0),
            Scan::EchoMismatch
        );
    }

    #[test]
    fn login_prompt_and_errors() {
        assert_eq!(
            trailing_login_prompt(b"\r\nmy-r.1> "),
            Some(("my-r.1".into(), Mode::View))
        );
        assert_eq!(trailing_login_prompt(b"\r\nPassword: "), None);
        assert!(ends_with_password_request(b"\r\nPassword: "));
        assert_eq!(find_error("ok\r\n"), None);
        assert_eq!(
            find_error("% [BGP] Unknown command: foo\r\n"),
            Some("% [BGP] Unknown command: foo".into())
        );
        assert_eq!(
            find_error("BGP is already running; AS is 65000\r\n"),
            Some("BGP is already running; AS is 65000".into())
        );
    }
}

#[cfg(test)]
mod stream_tests {
    use super::*;

    /// Small deterministic generator (xorshift64*) so the test needs no extra crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self, bound: usize) -> usize {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % bound.max(1)
        }
    }

    /// A pipelined stream of replies, cut into random chunks, is split back into exactly the
    /// replies that were produced, whatever the cut points. Outputs include lines that look
    /// like prompts of this host (alone on a line, or followed by more text). For the last
    /// reply, which no further echo confirms, a prompt-like output line cut by a read boundary
    /// cannot be told from the prompt by the bytes alone (the client checks that no further byte
    /// is waiting), so the last output here is plain.
    #[test]
    fn pipelined_replies_survive_random_chunking() {
        let host = "r-1";
        let cmds: Vec<String> = (0..60).map(|i| format!("network 10.0.{i}.0/24")).collect();
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for (i, c) in cmds.iter().enumerate() {
            stream.extend_from_slice(c.as_bytes());
            stream.extend_from_slice(b"\r\n");
            let out = match i % 4 {
                _ if i + 1 == 60 => "plain last output\r\n".to_owned(),
                0 => String::new(),
                1 => format!("% [BGP] Unknown command: {c}\r\n"),
                2 => format!("{host}# \r\n{host}(config)#x\r\nline\r\n"),
                _ => format!("{host}(config-router-af)# {c}X\r\n"),
            };
            stream.extend_from_slice(out.as_bytes());
            stream.extend_from_slice(format!("{host}(config-router-af)# ").as_bytes());
            expected.push(out);
        }
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _round in 0..200 {
            let mut received: Vec<u8> = Vec::new();
            let mut pos = 0; // bytes of `stream` delivered
            let mut start = 0; // start of the current reply in `received`
            let mut from = 0;
            let mut got = Vec::new();
            let mut i = 0;
            while i < cmds.len() {
                let next = cmds.get(i + 1).map(String::as_bytes);
                match scan_reply(&received[start..], cmds[i].as_bytes(), next, host, from) {
                    Scan::Done {
                        output,
                        mode,
                        consumed,
                    } => {
                        assert_eq!(mode, Mode::Config("config-router-af".into()));
                        got.push(String::from_utf8_lossy(&received[start..][output]).into_owned());
                        start += consumed;
                        from = 0;
                        i += 1;
                    }
                    Scan::NeedMore { resume } => {
                        assert!(pos < stream.len(), "stuck at reply {i}");
                        from = resume;
                        let n = 1 + rng.next(40);
                        let end = (pos + n).min(stream.len());
                        received.extend_from_slice(&stream[pos..end]);
                        pos = end;
                    }
                    Scan::EchoMismatch => panic!("echo mismatch at reply {i}"),
                }
            }
            assert_eq!(got, expected);
            assert_eq!(start, stream.len());
        }
    }
}

#[cfg(test)]
mod garbage_tests {
    use super::*;
    use crate::telnet::TelnetFilter;

    /// Arbitrary bytes (biased towards the interesting ones) never make the sans-I/O code panic,
    /// and every `Done` it reports lies inside the buffer.
    #[test]
    fn arbitrary_input_never_panics() {
        let alphabet: &[u8] = b"h#>( )-cfg\r\n%\xff\xfb\xfd\xfa\xf0ab";
        let mut state: u64 = 0x1234_5678_9abc_def1;
        let mut next = |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        for _ in 0..20_000 {
            let len = next(48);
            let raw: Vec<u8> = (0..len).map(|_| alphabet[next(alphabet.len())]).collect();
            let mut f = TelnetFilter::new();
            let mut buf = Vec::new();
            f.feed(&raw, &mut buf);
            let _ = match_prompt(&buf, "h");
            let _ = trailing_login_prompt(&buf);
            let _ = find_error(&String::from_utf8_lossy(&buf));
            let from = next(buf.len() + 1);
            for next_echo in [None, Some(&b"ab"[..])] {
                if let Scan::Done {
                    output, consumed, ..
                } = scan_reply(&buf, b"a", next_echo, "h", from)
                {
                    assert!(
                        output.start <= output.end
                            && output.end <= consumed
                            && consumed <= buf.len()
                    );
                }
            }
            let _ = crate::status::BgpSummary::parse(&String::from_utf8_lossy(&buf));
        }
    }
}
