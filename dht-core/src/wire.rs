//! The wire format: every message travels as one frame,
//!
//! ```text
//! [ length: u32 big-endian ][ postcard( Header { version, overlay } ) ][ postcard( body ) ]
//! ```
//!
//! where `length` counts the bytes after itself and may not exceed
//! [`MAX_FRAME_BYTES`]. The header is decoded first, so a peer speaking another
//! protocol version or another overlay gets a precise error before the body
//! is looked at. Decoding never panics: every malformed input maps to a
//! [`WireError`].

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u16 = 5;

/// Largest frame accepted, length prefix excluded (256 KiB: a full-size
/// record plus room for its envelope).
pub const MAX_FRAME_BYTES: usize = 256 * 1024;

/// Bytes in the length prefix.
pub const LENGTH_PREFIX_BYTES: usize = 4;

#[derive(Serialize, Deserialize)]
struct Header<'a> {
    version: u16,
    overlay: &'a str,
}

/// Why a frame could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Fewer bytes than the frame says it has.
    #[error("frame truncated: needed {needed} bytes, got {got}")]
    Truncated {
        /// Bytes the frame needs.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// The frame is over the size limit.
    #[error("frame of {size} bytes is over the limit of {limit} bytes")]
    TooLarge {
        /// Declared or actual size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The peer speaks another protocol version.
    #[error("peer speaks protocol version {got}, this node speaks {expected}")]
    UnknownVersion {
        /// Version in the frame.
        got: u16,
        /// Version this build speaks.
        expected: u16,
    },
    /// The frame belongs to another overlay.
    #[error("message for overlay `{got}` reached a `{expected}` node")]
    WrongOverlay {
        /// Overlay named in the frame.
        got: String,
        /// This node's overlay.
        expected: String,
    },
    /// The bytes are not a valid message.
    #[error("malformed frame: {0}")]
    Malformed(String),
}

/// Encodes `body` for `overlay` as one length-prefixed frame.
pub fn encode<T: Serialize>(overlay: &str, body: &T) -> Result<Vec<u8>, WireError> {
    let mut out = vec![0u8; LENGTH_PREFIX_BYTES];
    let header = Header { version: PROTOCOL_VERSION, overlay };
    out = postcard::to_extend(&header, out).map_err(|e| WireError::Malformed(e.to_string()))?;
    out = postcard::to_extend(body, out).map_err(|e| WireError::Malformed(e.to_string()))?;
    let len = out.len() - LENGTH_PREFIX_BYTES;
    if len > MAX_FRAME_BYTES {
        return Err(WireError::TooLarge { size: len, limit: MAX_FRAME_BYTES });
    }
    out[..LENGTH_PREFIX_BYTES].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(out)
}

/// Reads the length prefix of a frame: how many bytes follow it. Lets a
/// stream reader refuse an oversized frame before reading it.
pub fn frame_length(prefix: [u8; LENGTH_PREFIX_BYTES]) -> Result<usize, WireError> {
    let len = u32::from_be_bytes(prefix) as usize;
    if len > MAX_FRAME_BYTES {
        return Err(WireError::TooLarge { size: len, limit: MAX_FRAME_BYTES });
    }
    Ok(len)
}

/// Decodes one complete frame (prefix included) addressed to `overlay`.
pub fn decode<T: DeserializeOwned>(overlay: &str, frame: &[u8]) -> Result<T, WireError> {
    let Some((prefix, rest)) = frame.split_first_chunk::<LENGTH_PREFIX_BYTES>() else {
        return Err(WireError::Truncated { needed: LENGTH_PREFIX_BYTES, got: frame.len() });
    };
    let len = frame_length(*prefix)?;
    if rest.len() < len {
        return Err(WireError::Truncated { needed: len, got: rest.len() });
    }
    if rest.len() > len {
        return Err(WireError::Malformed(format!("{} bytes after the frame", rest.len() - len)));
    }
    let (header, body): (Header<'_>, _) =
        postcard::take_from_bytes(rest).map_err(|e| WireError::Malformed(format!("header: {e}")))?;
    if header.version != PROTOCOL_VERSION {
        return Err(WireError::UnknownVersion { got: header.version, expected: PROTOCOL_VERSION });
    }
    if header.overlay != overlay {
        return Err(WireError::WrongOverlay { got: header.overlay.to_owned(), expected: overlay.to_owned() });
    }
    let (value, tail) = postcard::take_from_bytes(body).map_err(|e| WireError::Malformed(format!("body: {e}")))?;
    if !tail.is_empty() {
        return Err(WireError::Malformed(format!("{} bytes after the message", tail.len())));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
    enum Sample {
        A(u64),
        B { name: String, data: Vec<u8> },
    }

    fn sample() -> impl Strategy<Value = Sample> {
        prop_oneof![
            any::<u64>().prop_map(Sample::A),
            (".{0,20}", proptest::collection::vec(any::<u8>(), 0..100))
                .prop_map(|(name, data)| Sample::B { name, data }),
        ]
    }

    proptest! {
        #[test]
        fn messages_round_trip(m in sample()) {
            let frame = encode("test", &m).unwrap();
            prop_assert_eq!(decode::<Sample>("test", &frame).unwrap(), m);
        }

        #[test]
        fn arbitrary_bytes_give_a_typed_error_or_a_value(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode::<Sample>("test", &bytes);
        }

        #[test]
        fn every_truncation_is_an_error(m in sample(), cut in 0usize..1000) {
            let frame = encode("test", &m).unwrap();
            let cut = cut % frame.len();
            prop_assert!(decode::<Sample>("test", &frame[..cut]).is_err());
        }
    }

    #[test]
    fn version_and_overlay_are_checked_before_the_body() {
        let frame = encode("kademlia", &Sample::A(1)).unwrap();
        assert!(matches!(decode::<Sample>("chord", &frame), Err(WireError::WrongOverlay { .. })));
        let mut future = vec![0u8; 4];
        future = postcard::to_extend(&Header { version: 9, overlay: "kademlia" }, future).unwrap();
        future = postcard::to_extend(&Sample::A(1), future).unwrap();
        let len = (future.len() - 4) as u32;
        future[..4].copy_from_slice(&len.to_be_bytes());
        assert_eq!(
            decode::<Sample>("kademlia", &future),
            Err(WireError::UnknownVersion { got: 9, expected: PROTOCOL_VERSION })
        );
    }

    #[test]
    fn oversized_frames_are_refused_both_ways() {
        let big = Sample::B { name: String::new(), data: vec![0; MAX_FRAME_BYTES + 1] };
        assert!(matches!(encode("t", &big), Err(WireError::TooLarge { .. })));
        let mut prefix = [0u8; 4];
        prefix.copy_from_slice(&((MAX_FRAME_BYTES + 1) as u32).to_be_bytes());
        assert!(matches!(decode::<Sample>("t", &prefix), Err(WireError::TooLarge { .. })));
    }
}
