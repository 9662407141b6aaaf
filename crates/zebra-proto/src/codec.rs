//! tokio-util `Decoder`/`Encoder` (feature `codec`).

use bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::decode::decode_message;
use crate::error::{DecodeError, EncodeError};
use crate::header::{detect_profile, Header};
use crate::message::Message;
use crate::profile::Profile;

/// One decoded frame: its header and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The frame's header (VRF id, wire command number, …).
    pub header: Header,
    /// The decoded body.
    pub message: Message,
}

/// Errors of [`ZebraCodec`]: a corrupt stream, an unencodable message, or I/O.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The stream is corrupt (bad header or body); the connection should be dropped.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A message could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The underlying transport failed.
    #[error("zebra stream I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// Frames a ZAPI byte stream and decodes/encodes [`Message`]s.
///
/// Decoding reads the header first, rejects a wrong marker/version or a length outside
/// `header size ..= max frame size` as soon as the header is in, waits (`Ok(None)`) only while a
/// frame is incomplete, and then decodes exactly that frame. An error means the stream is
/// corrupt: the connection should be closed (there is no way to resynchronise).
#[derive(Debug, Clone)]
pub struct ZebraCodec {
    profile: Option<Profile>,
    vrf_id: u32,
}

impl ZebraCodec {
    /// A codec for a known profile; frames are encoded with VRF id 0.
    pub fn new(profile: Profile) -> Self {
        ZebraCodec {
            profile: Some(profile),
            vrf_id: 0,
        }
    }

    /// A server-side codec that picks the profile from the client's first frame
    /// ([`detect_profile`]). Encoding before the first frame arrived is an error.
    pub fn detecting() -> Self {
        ZebraCodec {
            profile: None,
            vrf_id: 0,
        }
    }

    /// Use `vrf_id` in the header of encoded frames.
    pub fn with_vrf(mut self, vrf_id: u32) -> Self {
        self.vrf_id = vrf_id;
        self
    }

    /// The profile in use (None until detected).
    pub fn profile(&self) -> Option<Profile> {
        self.profile
    }
}

impl Decoder for ZebraCodec {
    type Item = Frame;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        let profile = match self.profile {
            Some(p) => p,
            None => {
                if src.len() < 4 {
                    return Ok(None);
                }
                let p = detect_profile(src)?;
                self.profile = Some(p);
                p
            }
        };
        let hsize = profile.header_size();
        if src.len() < hsize {
            // Check what we already have so garbage is rejected early.
            if src.len() >= 4 {
                detect_marker_version(profile, src)?;
            }
            src.reserve(hsize - src.len());
            return Ok(None);
        }
        let header = Header::decode(profile, src)?;
        let len = usize::from(header.length);
        if src.len() < len {
            src.reserve(len - src.len());
            return Ok(None);
        }
        let frame = src.get(..len).unwrap_or(&[]);
        let body = frame.get(hsize..).unwrap_or(&[]);
        let message = decode_message(profile, header.command, body, hsize)?;
        src.advance(len);
        Ok(Some(Frame { header, message }))
    }
}

fn detect_marker_version(profile: Profile, src: &[u8]) -> Result<(), DecodeError> {
    let (Some(&marker), Some(&version)) = (src.get(2), src.get(3)) else {
        return Ok(());
    };
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
    Ok(())
}

impl Encoder<&Message> for ZebraCodec {
    type Error = CodecError;

    fn encode(&mut self, item: &Message, dst: &mut BytesMut) -> Result<(), CodecError> {
        let profile = self.profile.ok_or(EncodeError::CommandNotInProfile {
            command: "(profile not detected yet)",
            profile: Profile::Frr84,
        })?;
        crate::encode(profile, self.vrf_id, item, dst)?;
        Ok(())
    }
}

impl Encoder<Message> for ZebraCodec {
    type Error = CodecError;

    fn encode(&mut self, item: Message, dst: &mut BytesMut) -> Result<(), CodecError> {
        <Self as Encoder<&Message>>::encode(self, &item, dst)
    }
}

impl Encoder<(u32, &Message)> for ZebraCodec {
    type Error = CodecError;

    fn encode(
        &mut self,
        (vrf_id, item): (u32, &Message),
        dst: &mut BytesMut,
    ) -> Result<(), CodecError> {
        let profile = self.profile.ok_or(EncodeError::CommandNotInProfile {
            command: "(profile not detected yet)",
            profile: Profile::Frr84,
        })?;
        crate::encode(profile, vrf_id, item, dst)?;
        Ok(())
    }
}
