//! Bounded field reader over one frame body: fixed-size fields are split off the front
//! directly, variable-length ones go through nom's `complete` parsers.
//!
//! Every read names its field; a short read becomes [`DecodeError::Truncated`] with the
//! frame offset and the number of missing bytes, so no input can make decoding panic.

use std::net::{Ipv4Addr, Ipv6Addr};

use nom::number::complete as num;
use nom::number::Endianness;

use crate::error::DecodeError;

type NomResult<'a, T> = nom::IResult<&'a [u8], T, nom::error::Error<&'a [u8]>>;

/// A cursor over a frame body that remembers the frame offset and the command for errors.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
    /// Frame offset of `rest[0]`.
    offset: usize,
    pub(crate) command: &'static str,
}

impl<'a> Reader<'a> {
    #[inline]
    pub(crate) fn new(body: &'a [u8], offset: usize, command: &'static str) -> Self {
        Reader {
            rest: body,
            offset,
            command,
        }
    }

    /// Frame offset of the next byte.
    #[inline]
    pub(crate) fn offset(&self) -> usize {
        self.offset
    }

    /// Bytes left.
    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    #[inline]
    fn run<T>(
        &mut self,
        field: &'static str,
        size: usize,
        parser: impl FnOnce(&'a [u8]) -> NomResult<'a, T>,
    ) -> Result<T, DecodeError> {
        match parser(self.rest) {
            Ok((rest, v)) => {
                self.offset += self.rest.len() - rest.len();
                self.rest = rest;
                Ok(v)
            }
            Err(_) => Err(self.truncated(field, size)),
        }
    }

    #[inline]
    pub(crate) fn truncated(&self, field: &'static str, size: usize) -> DecodeError {
        DecodeError::Truncated {
            command: self.command,
            field,
            offset: self.offset,
            missing: size.saturating_sub(self.rest.len()),
        }
    }

    #[inline]
    pub(crate) fn invalid(
        &self,
        field: &'static str,
        at: usize,
        value: u64,
        reason: &'static str,
    ) -> DecodeError {
        DecodeError::InvalidField {
            command: self.command,
            field,
            offset: at,
            value,
            reason,
        }
    }

    /// The next `N` bytes. Fixed-size integers, the bulk of every body, are read through this
    /// rather than a nom parser: it compiles to one bounds check and a load.
    #[inline]
    fn fixed<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        match self.rest.split_first_chunk::<N>() {
            Some((head, rest)) => {
                self.rest = rest;
                self.offset += N;
                Ok(*head)
            }
            None => Err(self.truncated(field, N)),
        }
    }

    #[inline]
    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        self.fixed::<1>(field).map(u8::from_be_bytes)
    }

    #[inline]
    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        self.fixed(field).map(u16::from_be_bytes)
    }

    #[inline]
    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        self.fixed(field).map(u32::from_be_bytes)
    }

    #[inline]
    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        self.fixed(field).map(u64::from_be_bytes)
    }

    /// A 32-bit value in the daemon's host (native) byte order.
    #[inline]
    pub(crate) fn u32_host(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        self.run(field, 4, |i| num::u32(Endianness::Native)(i))
    }

    #[inline]
    pub(crate) fn bool(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        let at = self.offset;
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(self.invalid(field, at, v.into(), "a boolean byte must be 0 or 1")),
        }
    }

    #[inline]
    pub(crate) fn bytes(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], DecodeError> {
        self.run(field, n, |i| nom::bytes::complete::take(n)(i))
    }

    #[inline]
    pub(crate) fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], DecodeError> {
        self.fixed(field)
    }

    #[inline]
    pub(crate) fn ipv4(&mut self, field: &'static str) -> Result<Ipv4Addr, DecodeError> {
        Ok(Ipv4Addr::from(self.array::<4>(field)?))
    }

    #[inline]
    pub(crate) fn ipv6(&mut self, field: &'static str) -> Result<Ipv6Addr, DecodeError> {
        Ok(Ipv6Addr::from(self.array::<16>(field)?))
    }

    /// The rest of the body.
    #[inline]
    pub(crate) fn take_rest(&mut self) -> &'a [u8] {
        let r = self.rest;
        self.offset += r.len();
        self.rest = &[];
        r
    }

    /// Fail unless the body is fully consumed.
    #[inline]
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                command: self.command,
                offset: self.offset,
                extra: self.rest.len(),
            })
        }
    }

    /// Check that `count` items of at least `min_size` bytes each can still follow, so a count
    /// field can never make us reserve or loop more than the frame allows.
    #[inline]
    pub(crate) fn check_count(
        &self,
        field: &'static str,
        count: usize,
        min_size: usize,
    ) -> Result<(), DecodeError> {
        let need = count.saturating_mul(min_size);
        if need > self.rest.len() {
            Err(DecodeError::Truncated {
                command: self.command,
                field,
                offset: self.offset,
                missing: need - self.rest.len(),
            })
        } else {
            Ok(())
        }
    }
}
