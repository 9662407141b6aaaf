//! Error types. Every decode error names the command, the field and the byte offset (from the
//! start of the frame) where decoding stopped.

use crate::profile::Profile;

/// Why a frame could not be decoded.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer bytes than a header.
    #[error("incomplete {profile} header: {needed} bytes needed, {available} available")]
    IncompleteHeader {
        /// Profile whose header was expected.
        profile: Profile,
        /// Header size.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// The marker byte (offset 2) is not the profile's.
    #[error("bad header marker {found} at offset 2 (expected {expected} for {profile})")]
    BadMarker {
        /// Profile in use.
        profile: Profile,
        /// Marker found.
        found: u8,
        /// Marker expected.
        expected: u8,
    },
    /// The version byte (offset 3) is not the profile's.
    #[error("bad header version {found} at offset 3 (expected {expected} for {profile})")]
    BadVersion {
        /// Profile in use.
        profile: Profile,
        /// Version found.
        found: u8,
        /// Version expected.
        expected: u8,
    },
    /// The length field (offset 0) is smaller than the header.
    #[error("frame length {length} at offset 0 is smaller than the {header}-byte header")]
    LengthTooSmall {
        /// Length field.
        length: usize,
        /// Header size.
        header: usize,
    },
    /// The length field exceeds the profile's maximum frame size.
    #[error("frame length {length} at offset 0 exceeds the {profile} maximum of {max}")]
    LengthTooLarge {
        /// Profile in use.
        profile: Profile,
        /// Length field.
        length: usize,
        /// Maximum frame size.
        max: usize,
    },
    /// The buffer handed to [`decode`](crate::decode) is not exactly one frame.
    #[error("frame length field says {length} bytes but the buffer holds {available}")]
    LengthMismatch {
        /// Length field.
        length: usize,
        /// Buffer size.
        available: usize,
    },
    /// The body ended before a field.
    #[error("{command}: truncated {field} at offset {offset}: {missing} more byte(s) needed")]
    Truncated {
        /// Command being decoded.
        command: &'static str,
        /// Field being read.
        field: &'static str,
        /// Offset of the field in the frame.
        offset: usize,
        /// Bytes missing.
        missing: usize,
    },
    /// A field holds a value the layout does not allow.
    #[error("{command}: invalid {field} {value} at offset {offset}: {reason}")]
    InvalidField {
        /// Command being decoded.
        command: &'static str,
        /// Field.
        field: &'static str,
        /// Offset of the field in the frame.
        offset: usize,
        /// Value read.
        value: u64,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Bytes remain after the last field of a fixed layout.
    #[error("{command}: {extra} unexpected trailing byte(s) at offset {offset}")]
    TrailingBytes {
        /// Command being decoded.
        command: &'static str,
        /// Offset of the first extra byte.
        offset: usize,
        /// Number of extra bytes.
        extra: usize,
    },
    /// [`detect_profile`](crate::detect_profile): the marker/version pair is no known profile.
    #[error("no supported profile has header marker {marker} and version {version}")]
    UnknownProfile {
        /// Marker byte (offset 2).
        marker: u8,
        /// Version byte (offset 3).
        version: u8,
    },
}

/// Why a message could not be encoded.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The command does not exist in the profile (e.g. ROUTE_ADD for Quagga).
    #[error("{command} does not exist in {profile}")]
    CommandNotInProfile {
        /// Command (or variant) name.
        command: &'static str,
        /// Profile.
        profile: Profile,
    },
    /// A [`Message::Unknown`](crate::Message::Unknown) names a number the profile types, so
    /// it would decode as that command instead (build the typed message).
    #[error("UNKNOWN: command number {number} is {command} in {profile}; build the typed message")]
    UnknownIsTyped {
        /// Wire command number.
        number: u16,
        /// The command that number means in the profile.
        command: &'static str,
        /// Profile.
        profile: Profile,
    },
    /// A field has a value the profile's layout cannot carry.
    #[error("{command}: field {field} cannot be expressed in {profile}")]
    FieldNotInProfile {
        /// Command name.
        command: &'static str,
        /// Field.
        field: &'static str,
        /// Profile.
        profile: Profile,
    },
    /// A field is out of range for the layout.
    #[error("{command}: invalid {field}: {reason}")]
    InvalidField {
        /// Command name.
        command: &'static str,
        /// Field.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The encoded frame would exceed the profile's maximum frame size.
    #[error("{command}: a frame of {length} bytes exceeds the {profile} maximum of {max}")]
    FrameTooLarge {
        /// Command name.
        command: &'static str,
        /// Frame length.
        length: usize,
        /// Maximum.
        max: usize,
        /// Profile.
        profile: Profile,
    },
    /// The VRF id does not fit the profile's header (v2 has none, v3 16 bits).
    #[error("VRF id {vrf_id} does not fit the {profile} header")]
    VrfOutOfRange {
        /// VRF id.
        vrf_id: u32,
        /// Profile.
        profile: Profile,
    },
}
