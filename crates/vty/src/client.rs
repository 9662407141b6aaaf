//! The Vty session: connect, login, enable, commands.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;

use crate::error::{LineError, VtyError};
use crate::prompt::{self, Mode, Scan};
use crate::telnet::TelnetFilter;

/// Longest command line sent to bgpd.
pub const MAX_LINE_LEN: usize = 2048;
/// Default limit on one reply's size (see [`Vty::set_max_output`]).
pub const DEFAULT_MAX_OUTPUT: usize = 256 * 1024 * 1024;
const READ_CHUNK: usize = 64 * 1024;

/// Login settings.
#[derive(Clone, PartialEq, Eq)]
pub struct VtyOptions {
    /// The vty `password` (FRR refuses TCP vty logins when none is configured).
    pub password: Option<String>,
    /// The `enable password`, when bgpd has one.
    pub enable_password: Option<String>,
    /// Longest silence tolerated while a reply is awaited (connect, login, each reply).
    pub timeout: Duration,
}

impl Default for VtyOptions {
    fn default() -> Self {
        VtyOptions {
            password: None,
            enable_password: None,
            timeout: Duration::from_secs(5),
        }
    }
}

impl std::fmt::Debug for VtyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VtyOptions")
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field(
                "enable_password",
                &self.enable_password.as_ref().map(|_| "<redacted>"),
            )
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Checks that `line` can be sent as exactly one command line: printable ASCII only (no newline,
/// carriage return, tab or other control character), no `?`, not blank, at most
/// [`MAX_LINE_LEN`] bytes.
pub fn validate_line(line: &str) -> Result<(), LineError> {
    if line.len() > MAX_LINE_LEN {
        return Err(LineError::TooLong {
            len: line.len(),
            max: MAX_LINE_LEN,
        });
    }
    for (offset, &byte) in line.as_bytes().iter().enumerate() {
        if byte.is_ascii_control() {
            return Err(LineError::ControlCharacter { byte, offset });
        }
        if !byte.is_ascii() {
            return Err(LineError::NonAscii { offset });
        }
        if byte == b'?' {
            return Err(LineError::HelpRequest { offset });
        }
    }
    if line.trim().is_empty() {
        return Err(LineError::Empty);
    }
    Ok(())
}

pub(crate) fn check_line(line: &str) -> Result<(), VtyError> {
    validate_line(line).map_err(|reason| VtyError::InvalidLine {
        command: crate::Redacted::from(line.to_owned()),
        reason,
    })
}

pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

fn tail_text(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(512);
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

fn head_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).into_owned()
}

/// Receiving side: socket half, telnet filter and the filtered bytes not yet consumed.
pub(crate) struct Receiver {
    half: ReadHalf<Box<dyn Stream>>,
    filter: TelnetFilter,
    buf: Vec<u8>,
    start: usize,
    chunk: Box<[u8]>,
    pub(crate) timeout: Duration,
}

impl Receiver {
    /// The unconsumed filtered bytes.
    pub(crate) fn pending(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    pub(crate) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.buf.len());
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > 1 << 20 && self.start * 2 > self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }

    /// Reads once more (waiting at most the timeout); errors on EOF.
    pub(crate) async fn fill(&mut self, during: &str) -> Result<(), VtyError> {
        let n = match tokio::time::timeout(self.timeout, self.half.read(&mut self.chunk)).await {
            Err(_) => {
                return Err(VtyError::Timeout {
                    during: crate::Redacted::from(during.to_owned()),
                    after: self.timeout,
                })
            }
            Ok(Err(source)) => {
                return Err(VtyError::Io {
                    during: crate::Redacted::from(during.to_owned()),
                    source,
                })
            }
            Ok(Ok(n)) => n,
        };
        if n == 0 {
            return Err(VtyError::ConnectionClosed {
                during: crate::Redacted::from(during.to_owned()),
                last_text: crate::Redacted::from(tail_text(self.pending())),
            });
        }
        self.filter.feed(&self.chunk[..n], &mut self.buf);
        Ok(())
    }

    /// Takes bytes that are already waiting, without blocking or waiting for a timer tick;
    /// true if any arrived.
    async fn try_fill_now(&mut self, during: &str) -> Result<bool, VtyError> {
        let half = &mut self.half;
        let mut rb = tokio::io::ReadBuf::new(&mut self.chunk);
        let polled = std::future::poll_fn(|cx| {
            std::task::Poll::Ready(
                match std::pin::Pin::new(&mut *half).poll_read(cx, &mut rb) {
                    std::task::Poll::Pending => None,
                    std::task::Poll::Ready(r) => Some(r),
                },
            )
        })
        .await;
        let n = rb.filled().len();
        match polled {
            None => Ok(false),
            Some(Err(source)) => Err(VtyError::Io {
                during: crate::Redacted::from(during.to_owned()),
                source,
            }),
            // EOF right after a complete reply: report the reply; the next call sees the close.
            Some(Ok(())) if n == 0 => Ok(false),
            Some(Ok(())) => {
                self.filter.feed(&self.chunk[..n], &mut self.buf);
                Ok(true)
            }
        }
    }

    /// Reads the reply to `echo` (one command line), given the next pipelined line if any.
    /// Returns the output text, the new mode and, when the line renamed the host
    /// (`hostname NEW`) and the prompt shows the new name, that name. Consumes the reply.
    pub(crate) async fn read_reply(
        &mut self,
        echo: &str,
        next_echo: Option<&str>,
        hostname: &str,
        max_output: usize,
    ) -> Result<(String, Mode, Option<String>), VtyError> {
        let renamed = renamed_host(echo);
        let mut hosts: Vec<&str> = vec![hostname];
        if let Some(h) = renamed.as_deref() {
            hosts.push(h);
        }
        let mut from = vec![0usize; hosts.len()];
        'rescan: loop {
            let mut mismatch = false;
            for (i, host) in hosts.iter().enumerate() {
                let scan = prompt::scan_reply(
                    self.pending(),
                    echo.as_bytes(),
                    next_echo.map(str::as_bytes),
                    host,
                    from[i],
                );
                match scan {
                    // A final prompt is only trusted if no further byte is already waiting: an
                    // output line that merely starts like a prompt may have been cut by a read
                    // boundary right after the prompt-like part.
                    Scan::Done { consumed, .. }
                        if next_echo.is_none()
                            && consumed == self.pending().len()
                            && self.try_fill_now(echo).await? =>
                    {
                        continue 'rescan;
                    }
                    Scan::Done {
                        output,
                        mode,
                        consumed,
                    } => {
                        let text =
                            String::from_utf8_lossy(&self.pending()[output]).replace("\r\n", "\n");
                        self.consume(consumed);
                        let new_host = (i > 0).then(|| (*host).to_owned());
                        return Ok((text, mode, new_host));
                    }
                    Scan::EchoMismatch => mismatch = true,
                    Scan::NeedMore { resume } => from[i] = resume,
                }
            }
            if mismatch {
                return Err(VtyError::Unexpected {
                    during: crate::Redacted::from(echo.to_owned()),
                    received: crate::Redacted::from(head_text(self.pending())),
                });
            }
            if self.pending().len() > max_output {
                return Err(VtyError::OutputTooLarge {
                    command: crate::Redacted::from(echo.to_owned()),
                    limit: max_output,
                });
            }
            self.fill(echo).await?;
        }
    }
}

/// The new name when `line` is a `hostname NAME` command.
fn renamed_host(line: &str) -> Option<String> {
    let mut words = line.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some("hostname"), Some(name), None) => Some(name.to_owned()),
        _ => None,
    }
}

/// One logged-in Vty session in enable mode with `terminal length 0` done.
///
/// Any timeout, connection loss or protocol mismatch leaves the session unusable: later calls
/// return [`VtyError::SessionBroken`]; reconnecting is the caller's choice.
pub struct Vty {
    pub(crate) rx: Receiver,
    pub(crate) tx: WriteHalf<Box<dyn Stream>>,
    pub(crate) hostname: String,
    pub(crate) mode: Mode,
    pub(crate) broken: Option<String>,
    pub(crate) max_output: usize,
}

impl std::fmt::Debug for Vty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vty")
            .field("hostname", &self.hostname)
            .field("mode", &self.mode)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

impl Vty {
    /// Connects over TCP to `addr` (bgpd's Vty, port 2605 by default) and logs in.
    pub async fn connect(addr: SocketAddr, opts: &VtyOptions) -> Result<Vty, VtyError> {
        let stream = match tokio::time::timeout(opts.timeout, TcpStream::connect(addr)).await {
            Err(_) => {
                return Err(VtyError::Timeout {
                    during: crate::Redacted::from(format!("connecting to {addr}")),
                    after: opts.timeout,
                })
            }
            Ok(Err(source)) => return Err(VtyError::Connect { addr, source }),
            Ok(Ok(s)) => s,
        };
        // Small command lines must not wait for Nagle.
        let _ = stream.set_nodelay(true);
        Self::login(stream, opts).await
    }

    /// Logs in over an already connected stream (e.g. a TCP stream created inside a network
    /// namespace): password, `enable` (+ enable password), `terminal length 0`.
    pub async fn login<S>(stream: S, opts: &VtyOptions) -> Result<Vty, VtyError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let boxed: Box<dyn Stream> = Box::new(stream);
        let (half, tx) = tokio::io::split(boxed);
        let rx = Receiver {
            half,
            filter: TelnetFilter::new(),
            buf: Vec::new(),
            start: 0,
            chunk: vec![0u8; READ_CHUNK].into_boxed_slice(),
            timeout: opts.timeout,
        };
        let mut vty = Vty {
            rx,
            tx,
            hostname: String::new(),
            mode: Mode::View,
            broken: None,
            max_output: DEFAULT_MAX_OUTPUT,
        };
        vty.do_login(opts).await?;
        vty.exec("terminal length 0").await?;
        Ok(vty)
    }

    async fn send_raw(&mut self, bytes: &[u8], during: &str) -> Result<(), VtyError> {
        let r = match tokio::time::timeout(self.rx.timeout, async {
            self.tx.write_all(bytes).await?;
            self.tx.flush().await
        })
        .await
        {
            Err(_) => Err(VtyError::Timeout {
                during: crate::Redacted::from(during.to_owned()),
                after: self.rx.timeout,
            }),
            Ok(Err(source)) => Err(VtyError::Io {
                during: crate::Redacted::from(during.to_owned()),
                source,
            }),
            Ok(Ok(())) => Ok(()),
        };
        if let Err(e) = &r {
            self.broken = Some(e.to_string());
        }
        r
    }

    /// Waits until the pending text ends with `Password: ` (true) or a prompt (false).
    async fn await_login_step(&mut self, during: &str) -> Result<bool, VtyError> {
        loop {
            let p = self.rx.pending();
            if prompt::ends_with_password_request(p) {
                return Ok(true);
            }
            if let Some((host, mode)) = prompt::trailing_login_prompt(p) {
                if self.hostname.is_empty() || self.hostname == host {
                    self.hostname = host;
                    self.mode = mode;
                    return Ok(false);
                }
            }
            if p.len() > 1 << 20 {
                return Err(VtyError::Unexpected {
                    during: crate::Redacted::from(during.to_owned()),
                    received: crate::Redacted::from(head_text(p)),
                });
            }
            self.rx.fill(during).await?;
        }
    }

    async fn do_login(&mut self, opts: &VtyOptions) -> Result<(), VtyError> {
        let asked = match self.await_login_step("login").await {
            Ok(a) => a,
            Err(VtyError::ConnectionClosed { last_text, .. })
                // FRR: "Vty password is not set." (the word after `password` is redacted).
                if last_text.contains("Vty password") && last_text.contains("not set") =>
            {
                return Err(VtyError::LoginRefused {
                    message: crate::Redacted::from(last_text.trim().to_owned()),
                });
            }
            Err(e) => return Err(e),
        };
        if asked {
            let Some(pw) = &opts.password else {
                return Err(VtyError::PasswordRequired);
            };
            check_line(pw).map_err(|_| VtyError::WrongPassword)?;
            let line = format!("{pw}\n");
            self.rx.consume(self.rx.pending().len());
            self.send_raw(line.as_bytes(), "login").await?;
            match self.await_login_step("login").await {
                Ok(false) => {}
                Ok(true) => return Err(VtyError::WrongPassword),
                Err(VtyError::ConnectionClosed { last_text, .. })
                    if last_text.contains("Bad passwords") =>
                {
                    return Err(VtyError::WrongPassword)
                }
                Err(e) => return Err(e),
            }
        }
        self.rx.consume(self.rx.pending().len());
        if self.mode == Mode::View {
            self.send_raw(b"enable\n", "enable").await?;
            let asked = self.await_login_step("enable").await?;
            if !self.rx.pending().starts_with(b"enable\r\n") {
                return Err(VtyError::Unexpected {
                    during: "enable".into(),
                    received: crate::Redacted::from(head_text(self.rx.pending())),
                });
            }
            if asked {
                let Some(pw) = &opts.enable_password else {
                    return Err(VtyError::EnablePasswordRequired);
                };
                check_line(pw).map_err(|_| VtyError::WrongEnablePassword)?;
                let line = format!("{pw}\n");
                self.rx.consume(self.rx.pending().len());
                self.send_raw(line.as_bytes(), "enable").await?;
                if self.await_login_step("enable").await? {
                    return Err(VtyError::WrongEnablePassword);
                }
            }
            self.rx.consume(self.rx.pending().len());
            if self.mode != Mode::Enable {
                return Err(VtyError::Unexpected {
                    during: "enable".into(),
                    received: crate::Redacted::from(format!("prompt {}", self.mode)),
                });
            }
        }
        Ok(())
    }

    pub(crate) fn check_usable(&self) -> Result<(), VtyError> {
        match &self.broken {
            Some(cause) => Err(VtyError::SessionBroken {
                cause: crate::Redacted::from(cause.clone()),
            }),
            None => Ok(()),
        }
    }

    /// Runs one command line and returns its output (without echo and prompt, lines ending in
    /// `\n`). A reply with a `% ` error line (or a known plain-text failure such as
    /// `BGP is already running; AS is N`) is returned as [`VtyError::Rejected`].
    ///
    /// `exit`/`quit` at enable level make bgpd close the connection (→
    /// [`VtyError::ConnectionClosed`]); use [`Vty::close`] instead.
    pub async fn exec(&mut self, cmd: &str) -> Result<String, VtyError> {
        let out = self.exec_raw(cmd).await?;
        match prompt::find_error(&out) {
            Some(message) => Err(VtyError::Rejected {
                command: crate::Redacted::from(cmd.to_owned()),
                message: crate::Redacted::from(message),
            }),
            None => Ok(out),
        }
    }

    /// Runs one command line and returns its output without looking for error lines.
    pub async fn exec_raw(&mut self, cmd: &str) -> Result<String, VtyError> {
        self.check_usable()?;
        check_line(cmd)?;
        if !self.rx.pending().is_empty() {
            tracing::warn!(
                bytes = self.rx.pending().len(),
                "vty: discarding unsolicited text"
            );
            self.rx.consume(self.rx.pending().len());
        }
        let mut line = String::with_capacity(cmd.len() + 1);
        line.push_str(cmd);
        line.push('\n');
        self.send_raw(line.as_bytes(), cmd).await?;
        match self
            .rx
            .read_reply(cmd, None, &self.hostname, self.max_output)
            .await
        {
            Ok((out, mode, renamed)) => {
                self.mode = mode;
                if let Some(h) = renamed {
                    self.hostname = h;
                }
                Ok(out)
            }
            Err(e) => {
                self.broken = Some(e.to_string());
                Err(e)
            }
        }
    }

    /// Runs a `… json` show command and parses its output.
    pub async fn exec_json<T: serde::de::DeserializeOwned>(
        &mut self,
        cmd: &str,
    ) -> Result<T, VtyError> {
        let out = self.exec(cmd).await?;
        serde_json::from_str(&out).map_err(|source| VtyError::Json {
            command: crate::Redacted::from(cmd.to_owned()),
            source,
        })
    }

    /// The hostname learned from the login prompt.
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// The mode shown by the last prompt.
    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    /// True when an earlier failure left the session unusable.
    pub fn is_broken(&self) -> bool {
        self.broken.is_some()
    }

    /// Sets the largest reply accepted (default [`DEFAULT_MAX_OUTPUT`]).
    pub fn set_max_output(&mut self, bytes: usize) {
        self.max_output = bytes;
    }

    /// Leaves configuration mode (`end`) if needed, sends `exit` and waits for bgpd to close the
    /// connection.
    pub async fn close(mut self) -> Result<(), VtyError> {
        self.check_usable()?;
        if self.mode.is_config() {
            self.exec("end").await?;
        }
        self.send_raw(b"exit\n", "exit").await?;
        loop {
            match self.rx.fill("exit").await {
                Ok(()) => {
                    let n = self.rx.pending().len();
                    self.rx.consume(n);
                }
                Err(VtyError::ConnectionClosed { .. }) => break,
                Err(e) => return Err(e),
            }
        }
        let _ = self.tx.shutdown().await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_validation() {
        assert!(validate_line("show bgp summary json").is_ok());
        assert_eq!(validate_line(""), Err(LineError::Empty));
        assert_eq!(validate_line("   "), Err(LineError::Empty));
        assert_eq!(
            validate_line("a\nb"),
            Err(LineError::ControlCharacter {
                byte: b'\n',
                offset: 1
            })
        );
        assert_eq!(
            validate_line("a\rb"),
            Err(LineError::ControlCharacter {
                byte: b'\r',
                offset: 1
            })
        );
        assert_eq!(
            validate_line("a\tb"),
            Err(LineError::ControlCharacter {
                byte: b'\t',
                offset: 1
            })
        );
        assert_eq!(
            validate_line("a\x7f"),
            Err(LineError::ControlCharacter {
                byte: 0x7f,
                offset: 1
            })
        );
        assert_eq!(
            validate_line("show ?"),
            Err(LineError::HelpRequest { offset: 5 })
        );
        assert_eq!(validate_line("é"), Err(LineError::NonAscii { offset: 0 }));
        assert!(matches!(
            validate_line(&"a".repeat(MAX_LINE_LEN + 1)),
            Err(LineError::TooLong { .. })
        ));
    }

    #[test]
    fn options_debug_redacts_passwords() {
        let o = VtyOptions {
            password: Some("sekrit".into()),
            ..Default::default()
        };
        assert!(!format!("{o:?}").contains("sekrit"));
        assert_eq!(VtyOptions::default().timeout, Duration::from_secs(5));
    }
}
