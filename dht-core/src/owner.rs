//! Who may write a record: anyone (open), the holder of one Ed25519 key
//! (signed), or nobody after the first write (content-addressed).
//!
//! A signed record's key is derived from its signer's public key and a
//! name ([`signed_key`]), so the key itself says who owns it; a
//! content-addressed record's key is the hash of its value
//! ([`content_key`]). Every node checks both on every store and every get
//! ([`crate::Record::validate`]), so a replica cannot be made to hold, or a
//! reader to accept, a record its owner did not write.

use crate::Id;
use bytes::Bytes;
use ring::signature::{self, Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};

/// Longest name a signed record may carry (bytes).
pub const MAX_NAME_BYTES: usize = 256;

/// Bytes of an Ed25519 signature.
pub const SIGNATURE_BYTES: usize = 64;

/// Context string of the key derivation for signed records.
const SIGNED_KEY_CONTEXT: &str = "dht signed record key v1";

/// Prefix of the bytes a signed record's signature covers.
const SIGNATURE_DOMAIN: &[u8] = b"dht signed record v1\0";

/// Who may write a record, and the proof that they did.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Debug, Default)]
pub enum Owner {
    /// Anyone may write; the documented version order decides.
    #[default]
    Open,
    /// Only the holder of `signer`'s private key may write; the record's key
    /// is [`signed_key`]`(signer, name)`.
    Signed {
        /// The owner's public key.
        signer: PublicKey,
        /// The name the key was derived from.
        name: Bytes,
        /// Ed25519 signature over the record (see [`signing_bytes`]).
        signature: Bytes,
    },
    /// Immutable: the record's key is [`content_key`] of its value.
    Content,
}

impl Owner {
    /// Open records rank below owned ones, so that no open write can hide
    /// or replace a signed or content-addressed record at the same key.
    pub(crate) fn rank(&self) -> u8 {
        match self {
            Owner::Open => 0,
            Owner::Signed { .. } | Owner::Content => 1,
        }
    }
}

/// An Ed25519 public key: who signed a record.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PublicKey(pub [u8; 32]);

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

impl PublicKey {
    /// Lower-case hex, 64 characters.
    pub fn to_hex(&self) -> String {
        Id(self.0).to_hex()
    }

    /// Parses 64 hex characters.
    pub fn from_hex(s: &str) -> Option<PublicKey> {
        Id::from_hex(s).map(|id| PublicKey(id.0))
    }

    /// Whether `signature` is this key's signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        signature::UnparsedPublicKey::new(&signature::ED25519, &self.0).verify(message, signature).is_ok()
    }
}

/// Why a signing key could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The bytes are not an Ed25519 private key in PKCS#8 DER.
    #[error("not an Ed25519 private key in PKCS#8 DER form")]
    Malformed,
    /// The system's random source failed.
    #[error("the system random source failed")]
    Random,
}

/// An Ed25519 private key that signs records.
pub struct SigningKey {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.public().to_hex())
    }
}

impl SigningKey {
    /// A new random key, with its PKCS#8 DER encoding to save. (Keys are
    /// made at the edges — a command, an application — never inside the
    /// protocol logic, which takes all its randomness from a seed.)
    pub fn generate() -> Result<(SigningKey, Vec<u8>), KeyError> {
        let der = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).map_err(|_| KeyError::Random)?;
        let key = SigningKey::from_pkcs8(der.as_ref())?;
        Ok((key, der.as_ref().to_vec()))
    }

    /// Reads a key from PKCS#8 DER (version 1 or 2; the node identity keys
    /// of the QUIC transport are in this form too).
    pub fn from_pkcs8(der: &[u8]) -> Result<SigningKey, KeyError> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|_| KeyError::Malformed)?;
        Ok(SigningKey { pair })
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey(bytes)
    }

    /// The signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Bytes {
        Bytes::copy_from_slice(self.pair.sign(message).as_ref())
    }
}

/// The key of the record `signer` publishes under `name`.
pub fn signed_key(signer: &PublicKey, name: &[u8]) -> Id {
    let mut hasher = blake3::Hasher::new_derive_key(SIGNED_KEY_CONTEXT);
    hasher.update(&signer.0);
    hasher.update(name);
    Id(*hasher.finalize().as_bytes())
}

/// The key of a content-addressed record holding `value`: its blake3 hash.
pub fn content_key(value: &[u8]) -> Id {
    Id::hash(value)
}

/// What a signed record's signature covers: everything a replica could
/// otherwise be tricked into changing — key, version, expiry, whether it is
/// a removal, and the value.
pub fn signing_bytes(key: &Id, version: u64, expires_at: u64, tombstone: bool, value: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(SIGNATURE_DOMAIN.len() + 32 + 17 + value.len());
    bytes.extend_from_slice(SIGNATURE_DOMAIN);
    bytes.extend_from_slice(&key.0);
    bytes.extend_from_slice(&version.to_be_bytes());
    bytes.extend_from_slice(&expires_at.to_be_bytes());
    bytes.push(u8::from(tombstone));
    bytes.extend_from_slice(value);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_message_and_key() {
        let (key, der) = SigningKey::generate().unwrap();
        let (other, _) = SigningKey::generate().unwrap();
        let signature = key.sign(b"message");
        assert!(key.public().verifies(b"message", &signature));
        assert!(!key.public().verifies(b"massage", &signature));
        assert!(!other.public().verifies(b"message", &signature));
        assert_eq!(SigningKey::from_pkcs8(&der).unwrap().public(), key.public());
        assert_eq!(SigningKey::from_pkcs8(b"not a key").unwrap_err(), KeyError::Malformed);
    }

    #[test]
    fn signed_keys_depend_on_signer_and_name() {
        let (a, _) = SigningKey::generate().unwrap();
        let (b, _) = SigningKey::generate().unwrap();
        assert_ne!(signed_key(&a.public(), b"x"), signed_key(&b.public(), b"x"));
        assert_ne!(signed_key(&a.public(), b"x"), signed_key(&a.public(), b"y"));
        assert_eq!(PublicKey::from_hex(&a.public().to_hex()), Some(a.public()));
    }
}
