//! Sans-I/O telnet filter: strips option negotiation from the byte stream bgpd sends.
//!
//! FRR's Vty announces `IAC WILL ECHO`, `IAC WILL SUPPRESS-GO-AHEAD`, `IAC DONT LINEMODE` and
//! `IAC DO NAWS` right before the `Password:` prompt. The filter removes every telnet command
//! (two-byte commands, three-byte option negotiations and `IAC SB … IAC SE` sub-negotiations),
//! turns an escaped `IAC IAC` into one 0xFF data byte, and keeps its state between calls so a
//! sequence split across reads at any position is handled.

/// Interpret As Command.
pub const IAC: u8 = 255;
/// Negotiation: sender will perform an option.
pub const WILL: u8 = 251;
/// Negotiation: sender will not perform an option.
pub const WONT: u8 = 252;
/// Negotiation: sender asks the receiver to perform an option.
pub const DO: u8 = 253;
/// Negotiation: sender asks the receiver not to perform an option.
pub const DONT: u8 = 254;
/// Sub-negotiation begin.
pub const SB: u8 = 250;
/// Sub-negotiation end.
pub const SE: u8 = 240;

/// One telnet negotiation seen in the stream (`IAC <verb> <option>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiation {
    /// `WILL`, `WONT`, `DO` or `DONT`.
    pub verb: u8,
    /// The option code (1 = ECHO, 3 = SUPPRESS-GO-AHEAD, 31 = NAWS, 34 = LINEMODE, …).
    pub option: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    #[default]
    Data,
    Iac,
    Option(u8),
    Sub,
    SubIac,
}

/// Streaming telnet filter; feed it every chunk read from the socket, in order.
#[derive(Debug, Clone, Default)]
pub struct TelnetFilter {
    state: State,
    negotiations: Vec<Negotiation>,
}

impl TelnetFilter {
    /// A filter in its initial state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the data bytes of `input` to `out`, dropping telnet commands.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len());
        for &b in input {
            self.state = match self.state {
                State::Data if b == IAC => State::Iac,
                State::Data => {
                    out.push(b);
                    State::Data
                }
                State::Iac => match b {
                    IAC => {
                        out.push(IAC);
                        State::Data
                    }
                    WILL | WONT | DO | DONT => State::Option(b),
                    SB => State::Sub,
                    // NOP, GA, DM, BRK, … carry no argument.
                    _ => State::Data,
                },
                State::Option(verb) => {
                    self.negotiations.push(Negotiation { verb, option: b });
                    State::Data
                }
                State::Sub if b == IAC => State::SubIac,
                State::Sub => State::Sub,
                State::SubIac => match b {
                    SE => State::Data,
                    _ => State::Sub,
                },
            };
        }
    }

    /// True when the filter is in the middle of a telnet command (more bytes are needed).
    pub fn is_mid_command(&self) -> bool {
        self.state != State::Data
    }

    /// Negotiations seen so far, in order, and forgets them.
    pub fn take_negotiations(&mut self) -> Vec<Negotiation> {
        std::mem::take(&mut self.negotiations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRR_GREETING: &[u8] =
        b"\r\nUser Access Verification\r\n\r\n\xff\xfb\x01\xff\xfb\x03\xff\xfe\x22\xff\xfd\x1fPassword: ";

    #[test]
    fn strips_frr_negotiation_split_at_every_position() {
        for split in 0..=FRR_GREETING.len() {
            for split2 in split..=FRR_GREETING.len() {
                let mut f = TelnetFilter::new();
                let mut out = Vec::new();
                f.feed(&FRR_GREETING[..split], &mut out);
                f.feed(&FRR_GREETING[split..split2], &mut out);
                f.feed(&FRR_GREETING[split2..], &mut out);
                assert_eq!(
                    out, b"\r\nUser Access Verification\r\n\r\nPassword: ",
                    "{split}/{split2}"
                );
                assert!(!f.is_mid_command());
                let n = f.take_negotiations();
                assert_eq!(
                    n,
                    vec![
                        Negotiation {
                            verb: WILL,
                            option: 1
                        },
                        Negotiation {
                            verb: WILL,
                            option: 3
                        },
                        Negotiation {
                            verb: DONT,
                            option: 34
                        },
                        Negotiation {
                            verb: DO,
                            option: 31
                        },
                    ]
                );
            }
        }
    }

    #[test]
    fn escaped_iac_and_subnegotiation() {
        let input = b"a\xff\xffb\xff\xfa\x1f\x00\x50\xff\xff\x00\x18\xff\xf0c\xff\xf1d";
        for split in 0..=input.len() {
            let mut f = TelnetFilter::new();
            let mut out = Vec::new();
            f.feed(&input[..split], &mut out);
            f.feed(&input[split..], &mut out);
            assert_eq!(out, b"a\xffbcd", "split {split}");
        }
    }

    #[test]
    fn byte_by_byte_is_identical_to_whole() {
        let mut whole = Vec::new();
        TelnetFilter::new().feed(FRR_GREETING, &mut whole);
        let mut f = TelnetFilter::new();
        let mut bytewise = Vec::new();
        for b in FRR_GREETING {
            f.feed(std::slice::from_ref(b), &mut bytewise);
        }
        assert_eq!(whole, bytewise);
    }
}
