//! Protocol profiles: header layout, limits and command numbering per daemon generation.

use crate::command::Command;

/// A protocol profile: which daemon generation's header, command numbers and bodies to use.
///
/// The header's version byte does not pin the format (FRR renumbered commands several times
/// inside "version 6"), so the codec is keyed on a profile chosen by configuration or by
/// [`detect_profile`](crate::detect_profile).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Profile {
    /// Quagga 0.99.21–0.99.24: 6-byte header, marker 255, version 2.
    QuaggaV2,
    /// Quagga 1.0–1.2: 8-byte header with a 16-bit VRF id, marker 255, version 3.
    QuaggaV3,
    /// FRR 8.2–9.1 (Debian 12 ships 8.4.4): 10-byte header with a 32-bit VRF id,
    /// marker 254, version 6, FRR 8.2 command numbering.
    Frr84,
}

impl Profile {
    /// Every profile this crate implements.
    pub const ALL: [Profile; 3] = [Profile::QuaggaV2, Profile::QuaggaV3, Profile::Frr84];

    /// Header size in bytes (6, 8 or 10).
    pub const fn header_size(self) -> usize {
        match self {
            Profile::QuaggaV2 => 6,
            Profile::QuaggaV3 => 8,
            Profile::Frr84 => 10,
        }
    }

    /// Marker byte (255 for Quagga, 254 for FRR).
    pub const fn marker(self) -> u8 {
        match self {
            Profile::QuaggaV2 | Profile::QuaggaV3 => 255,
            Profile::Frr84 => 254,
        }
    }

    /// Version byte.
    pub const fn version(self) -> u8 {
        match self {
            Profile::QuaggaV2 => 2,
            Profile::QuaggaV3 => 3,
            Profile::Frr84 => 6,
        }
    }

    /// Largest frame (header included) the daemon accepts: 4096 for Quagga, 16384 for FRR.
    pub const fn max_frame_size(self) -> usize {
        match self {
            Profile::QuaggaV2 | Profile::QuaggaV3 => 4096,
            Profile::Frr84 => 16384,
        }
    }

    /// Maximum interface name length on the wire (the fixed-size name field).
    pub const fn interface_name_size(self) -> usize {
        match self {
            Profile::QuaggaV2 | Profile::QuaggaV3 => 20,
            Profile::Frr84 => 16,
        }
    }

    /// Whether the profile uses FRR's `zapi_route` messages (ROUTE_ADD …) rather than the old
    /// IPV4/IPV6_ROUTE_ADD messages.
    pub const fn is_frr(self) -> bool {
        matches!(self, Profile::Frr84)
    }

    /// The wire number of `command` in this profile, or `None` if the profile has no such command.
    pub fn command_number(self, command: Command) -> Option<u16> {
        let table = self.table();
        table.iter().find(|(c, _)| *c == command).map(|(_, n)| *n)
    }

    /// The command a wire number means in this profile, or `None` for numbers this crate does
    /// not type (they decode to [`Message::Unknown`](crate::Message::Unknown)).
    pub fn command(self, number: u16) -> Option<Command> {
        let table = self.table();
        table.iter().find(|(_, n)| *n == number).map(|(c, _)| *c)
    }

    fn table(self) -> &'static [(Command, u16)] {
        match self {
            Profile::QuaggaV2 => QUAGGA_V2_COMMANDS,
            Profile::QuaggaV3 => QUAGGA_V3_COMMANDS,
            Profile::Frr84 => FRR84_COMMANDS,
        }
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Profile::QuaggaV2 => "Quagga v2",
            Profile::QuaggaV3 => "Quagga v3",
            Profile::Frr84 => "FRR 8.4",
        })
    }
}

/// Quagga 0.99 (lib/zebra.h) command numbers.
const QUAGGA_V2_COMMANDS: &[(Command, u16)] = &[
    (Command::InterfaceAdd, 1),
    (Command::InterfaceDelete, 2),
    (Command::InterfaceAddressAdd, 3),
    (Command::InterfaceAddressDelete, 4),
    (Command::InterfaceUp, 5),
    (Command::InterfaceDown, 6),
    (Command::Ipv4RouteAdd, 7),
    (Command::Ipv4RouteDelete, 8),
    (Command::Ipv6RouteAdd, 9),
    (Command::Ipv6RouteDelete, 10),
    (Command::RedistributeAdd, 11),
    (Command::RedistributeDelete, 12),
    (Command::RedistributeDefaultAdd, 13),
    (Command::RedistributeDefaultDelete, 14),
    (Command::Ipv4NexthopLookup, 15),
    (Command::RouterIdAdd, 20),
    (Command::RouterIdDelete, 21),
    (Command::RouterIdUpdate, 22),
    (Command::Hello, 23),
];

/// Quagga 1.x (lib/zebra.h) command numbers: v2's plus nexthop tracking.
const QUAGGA_V3_COMMANDS: &[(Command, u16)] = &[
    (Command::InterfaceAdd, 1),
    (Command::InterfaceDelete, 2),
    (Command::InterfaceAddressAdd, 3),
    (Command::InterfaceAddressDelete, 4),
    (Command::InterfaceUp, 5),
    (Command::InterfaceDown, 6),
    (Command::Ipv4RouteAdd, 7),
    (Command::Ipv4RouteDelete, 8),
    (Command::Ipv6RouteAdd, 9),
    (Command::Ipv6RouteDelete, 10),
    (Command::RedistributeAdd, 11),
    (Command::RedistributeDelete, 12),
    (Command::RedistributeDefaultAdd, 13),
    (Command::RedistributeDefaultDelete, 14),
    (Command::Ipv4NexthopLookup, 15),
    (Command::RouterIdAdd, 20),
    (Command::RouterIdDelete, 21),
    (Command::RouterIdUpdate, 22),
    (Command::Hello, 23),
    (Command::NexthopRegister, 27),
    (Command::NexthopUnregister, 28),
    (Command::NexthopUpdate, 29),
];

/// FRR 8.2–9.1 (`zebra_message_types_t` in lib/zclient.h) command numbers.
const FRR84_COMMANDS: &[(Command, u16)] = &[
    (Command::InterfaceAdd, 0),
    (Command::InterfaceDelete, 1),
    (Command::InterfaceAddressAdd, 2),
    (Command::InterfaceAddressDelete, 3),
    (Command::InterfaceUp, 4),
    (Command::InterfaceDown, 5),
    (Command::RouteAdd, 8),
    (Command::RouteDelete, 9),
    (Command::RouteNotifyOwner, 10),
    (Command::RedistributeAdd, 11),
    (Command::RedistributeDelete, 12),
    (Command::RedistributeDefaultAdd, 13),
    (Command::RedistributeDefaultDelete, 14),
    (Command::RouterIdAdd, 15),
    (Command::RouterIdDelete, 16),
    (Command::RouterIdUpdate, 17),
    (Command::Hello, 18),
    (Command::Capabilities, 19),
    (Command::NexthopRegister, 20),
    (Command::NexthopUnregister, 21),
    (Command::NexthopUpdate, 22),
    (Command::RedistributeRouteAdd, 30),
    (Command::RedistributeRouteDel, 31),
    (Command::VrfAdd, 33),
    (Command::VrfDelete, 34),
    (Command::BfdClientRegister, 37),
    (Command::LabelManagerConnect, 50),
    (Command::LabelManagerConnectAsync, 51),
    (Command::GetLabelChunk, 52),
    (Command::Error, 118),
    (Command::ClientCapabilities, 119),
    (Command::RouteNotifyRequest, 124),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_tables_are_one_to_one() {
        for p in Profile::ALL {
            let table = p.table();
            for (i, (c, n)) in table.iter().enumerate() {
                assert_eq!(p.command(*n), Some(*c), "{p}: {c} / {n}");
                assert_eq!(p.command_number(*c), Some(*n), "{p}: {c}");
                for (c2, n2) in &table[i + 1..] {
                    assert_ne!(c, c2, "{p}: {c} listed twice");
                    assert_ne!(n, n2, "{p}: number {n} listed twice");
                }
            }
        }
    }

    #[test]
    fn selected_numbers_match_the_daemons() {
        assert_eq!(Profile::Frr84.command_number(Command::RouteAdd), Some(8));
        assert_eq!(
            Profile::Frr84.command_number(Command::NexthopUpdate),
            Some(22)
        );
        assert_eq!(
            Profile::Frr84.command_number(Command::RouteNotifyRequest),
            Some(124)
        );
        assert_eq!(
            Profile::QuaggaV3.command_number(Command::NexthopRegister),
            Some(27)
        );
        assert_eq!(
            Profile::QuaggaV2.command_number(Command::NexthopRegister),
            None
        );
        assert_eq!(Profile::QuaggaV2.command_number(Command::Hello), Some(23));
        assert_eq!(
            Profile::Frr84.command(79),
            None,
            "DUPLICATE_ADDR_DETECTION stays untyped"
        );
        assert_eq!(Profile::Frr84.header_size(), 10);
        assert_eq!(Profile::QuaggaV3.max_frame_size(), 4096);
    }
}
