//! Frame headers: 6 (Quagga v2), 8 (Quagga v3) or 10 (FRR) bytes.

use bytes::BufMut;

use crate::error::{DecodeError, EncodeError};
use crate::profile::Profile;

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Total frame length, header included.
    pub length: u16,
    /// Marker byte (255 Quagga, 254 FRR).
    pub marker: u8,
    /// Version byte (2, 3 or 6).
    pub version: u8,
    /// VRF id (0 for Quagga v2, which has none; 16 bits in v3).
    pub vrf_id: u32,
    /// Wire command number.
    pub command: u16,
}

impl Header {
    /// Parse and check a header (marker, version, length bounds) from the start of `buf`.
    ///
    /// Only the header bytes are read; the caller checks that the whole frame is there.
    pub fn decode(profile: Profile, buf: &[u8]) -> Result<Header, DecodeError> {
        let size = profile.header_size();
        // length(2) marker version vrf-id(0, 2 or 4) command(2): header_size() is at least 6.
        let Some(&[l0, l1, marker, version, ref rest @ ..]) = buf.get(..size) else {
            return Err(DecodeError::IncompleteHeader {
                profile,
                needed: size,
                available: buf.len(),
            });
        };
        let &[ref vrf_bytes @ .., c0, c1] = rest else {
            return Err(DecodeError::IncompleteHeader {
                profile,
                needed: size,
                available: buf.len(),
            });
        };
        let length = u16::from_be_bytes([l0, l1]);
        if marker != profile.marker() {
            return Err(DecodeError::BadMarker {
                profile,
                found: marker,
                expected: profile.marker(),
            });
        }
        if version != profile.version() {
            return Err(DecodeError::BadVersion {
                profile,
                found: version,
                expected: profile.version(),
            });
        }
        // The VRF id (0, 2 or 4 bytes, big-endian) sits between the version and the command.
        let vrf_id = vrf_bytes
            .iter()
            .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
        let command = u16::from_be_bytes([c0, c1]);
        if usize::from(length) < size {
            return Err(DecodeError::LengthTooSmall {
                length: length.into(),
                header: size,
            });
        }
        if usize::from(length) > profile.max_frame_size() {
            return Err(DecodeError::LengthTooLarge {
                profile,
                length: length.into(),
                max: profile.max_frame_size(),
            });
        }
        Ok(Header {
            length,
            marker,
            version,
            vrf_id,
            command,
        })
    }

    /// Append a header with a zero length field (patched by the caller) to `dst`.
    pub(crate) fn put(
        profile: Profile,
        vrf_id: u32,
        command: u16,
        dst: &mut impl BufMut,
    ) -> Result<(), EncodeError> {
        dst.put_u16(0);
        dst.put_u8(profile.marker());
        dst.put_u8(profile.version());
        let size = profile.vrf_id_size();
        // `size` is at most 4: the id fits when no bit above its size is set.
        if size < 4 && u64::from(vrf_id) >> (8 * size) != 0 {
            return Err(EncodeError::VrfOutOfRange { vrf_id, profile });
        }
        let be = vrf_id.to_be_bytes();
        dst.put_slice(be.get(4usize.saturating_sub(size)..).unwrap_or_default());
        dst.put_u16(command);
        Ok(())
    }
}

/// Guess the profile of a peer from the first bytes it sent (at least 4: length, marker,
/// version). Marker 255 with version 2 or 3 is Quagga v2/v3; marker 254 with version 6 is
/// FRR — assumed 8.2–9.0 numbering, [`Profile::Frr84`]: the header cannot tell FRR 8.4 from
/// FRR 10.x, so a caller that knows its daemon's version (e.g. from `bgpd --version`) uses that
/// profile instead when [`Profile::shares_header_with`] the detected one.
///
/// Returns [`DecodeError::IncompleteHeader`] when fewer than 4 bytes are available and
/// [`DecodeError::UnknownProfile`] for any other marker/version pair (FRR 4–7's versions 4/5,
/// for example, have other command numbers and are not supported).
pub fn detect_profile(first_bytes: &[u8]) -> Result<Profile, DecodeError> {
    let (Some(&marker), Some(&version)) = (first_bytes.get(2), first_bytes.get(3)) else {
        return Err(DecodeError::IncompleteHeader {
            profile: Profile::Frr84,
            needed: 4,
            available: first_bytes.len(),
        });
    };
    match (marker, version) {
        (255, 2) => Ok(Profile::QuaggaV2),
        (255, 3) => Ok(Profile::QuaggaV3),
        (254, 6) => Ok(Profile::Frr84),
        _ => Err(DecodeError::UnknownProfile { marker, version }),
    }
}
