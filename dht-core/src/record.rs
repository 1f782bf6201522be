//! Records: what the DHT stores, and the rule that decides which of two
//! versions of a record wins.

use crate::owner::{content_key, signed_key, signing_bytes, MAX_NAME_BYTES, SIGNATURE_BYTES};
use crate::{Id, Owner, SigningKey, Time};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// Largest value a record may carry by default (64 KiB). Frames are sized so
/// that a full record always fits in one.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// A stored value with its version and expiry.
///
/// # Which version wins
/// Replicas converge because every node applies the same total order
/// ([`Record::supersedes`]): a signed or content-addressed record wins over
/// an open one (so an open write can neither hide nor replace an owned
/// record); then the higher `version` wins; at equal versions a tombstone
/// wins over a value; at equal versions of two values the one whose bytes
/// compare greater wins. The order looks only at the record itself, so no
/// node needs to know where a version came from. Writers choose versions;
/// [`crate::Node::put`] uses the writer's clock in milliseconds (last writer
/// wins) unless the caller sets one. A signed record's version is its
/// sequence number: only its owner can raise it.
///
/// # Who may write
/// [`Owner`] says: anyone ([`Record::new`]), the holder of a key
/// ([`Record::signed`]), or nobody after the first write
/// ([`Record::content`]). [`Record::validate`] checks the proof.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Debug)]
pub struct Record {
    /// The key, in the id space.
    pub key: Id,
    /// The value; empty for a tombstone.
    pub value: Bytes,
    /// Version number; see "Which version wins".
    pub version: u64,
    /// When the record stops being served and is dropped.
    pub expires_at: Time,
    /// Marks a removal: a tombstone hides older versions until it expires.
    pub tombstone: bool,
    /// Who may write it, with the proof.
    pub owner: Owner,
}

/// Why a record was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The value is over the size limit.
    #[error("value of {size} bytes is over the limit of {limit} bytes")]
    TooLarge {
        /// Size of the value.
        size: usize,
        /// The limit it broke.
        limit: usize,
    },
    /// A tombstone must not carry a value.
    #[error("a tombstone must have an empty value")]
    TombstoneWithValue,
    /// A signed record's name is over [`MAX_NAME_BYTES`].
    #[error("record name of {0} bytes is over the limit of {MAX_NAME_BYTES} bytes")]
    NameTooLong(usize),
    /// The key is not the one the record's owner derives to.
    #[error("the key does not belong to the record's owner (signer and name, or content hash)")]
    WrongKey,
    /// The signature does not verify.
    #[error("bad signature: the record was not written by the holder of its signing key")]
    BadSignature,
    /// A content-addressed record is immutable: it cannot be removed.
    #[error("a content-addressed record cannot be removed")]
    ContentTombstone,
}

impl Record {
    /// A live record.
    pub fn new(key: Id, value: impl Into<Bytes>, version: u64, expires_at: Time) -> Record {
        Record { key, value: value.into(), version, expires_at, tombstone: false, owner: Owner::Open }
    }

    /// A tombstone for `key`.
    pub fn tombstone(key: Id, version: u64, expires_at: Time) -> Record {
        Record { key, value: Bytes::new(), version, expires_at, tombstone: true, owner: Owner::Open }
    }

    /// A record only `signer`'s holder can write, at the key derived from
    /// its public key and `name` ([`crate::signed_key`]); `version` is its
    /// sequence number. An empty `value` with `tombstone` removes it.
    pub fn signed(
        signer: &SigningKey,
        name: impl Into<Bytes>,
        value: impl Into<Bytes>,
        version: u64,
        expires_at: Time,
        tombstone: bool,
    ) -> Record {
        let (name, value) = (name.into(), value.into());
        let public = signer.public();
        let key = signed_key(&public, &name);
        let signature = signer.sign(&signing_bytes(&key, version, expires_at.0, tombstone, &value));
        Record { key, value, version, expires_at, tombstone, owner: Owner::Signed { signer: public, name, signature } }
    }

    /// An immutable record whose key is the hash of its value
    /// ([`crate::content_key`]).
    pub fn content(value: impl Into<Bytes>, version: u64, expires_at: Time) -> Record {
        let value = value.into();
        Record { key: content_key(&value), value, version, expires_at, tombstone: false, owner: Owner::Content }
    }

    /// Checks the record against a value size limit, and that its owner
    /// wrote it: a signed record's key derives from its signer and name and
    /// its signature verifies; a content-addressed record's key is its
    /// value's hash.
    pub fn validate(&self, max_value_bytes: usize) -> Result<(), RecordError> {
        if self.value.len() > max_value_bytes {
            return Err(RecordError::TooLarge { size: self.value.len(), limit: max_value_bytes });
        }
        if self.tombstone && !self.value.is_empty() {
            return Err(RecordError::TombstoneWithValue);
        }
        match &self.owner {
            Owner::Open => Ok(()),
            Owner::Content if self.tombstone => Err(RecordError::ContentTombstone),
            Owner::Content if content_key(&self.value) != self.key => Err(RecordError::WrongKey),
            Owner::Content => Ok(()),
            Owner::Signed { name, .. } if name.len() > MAX_NAME_BYTES => Err(RecordError::NameTooLong(name.len())),
            Owner::Signed { signer, name, .. } if signed_key(signer, name) != self.key => Err(RecordError::WrongKey),
            Owner::Signed { signer, signature, .. } => {
                let message = signing_bytes(&self.key, self.version, self.expires_at.0, self.tombstone, &self.value);
                if signature.len() == SIGNATURE_BYTES && signer.verifies(&message, signature) {
                    Ok(())
                } else {
                    Err(RecordError::BadSignature)
                }
            }
        }
    }

    /// Whether the record was written by the holder of `signer`'s key
    /// (checked by [`Record::validate`]; this says whose it claims to be).
    pub fn is_signed_by(&self, signer: &crate::PublicKey) -> bool {
        matches!(&self.owner, Owner::Signed { signer: s, .. } if s == signer)
    }

    /// Whether the record has expired at `now`.
    pub fn is_expired(&self, now: Time) -> bool {
        self.expires_at <= now
    }

    /// The documented order between versions of one key. Two copies of a
    /// content-addressed record hold the same value by construction and
    /// differ only in lifetime: the one that lives longer wins, whatever its
    /// version, so nobody can shorten (and so delete) another's content
    /// record by storing it again with a higher version and an early expiry.
    pub fn precedence(&self, other: &Record) -> Ordering {
        let content = matches!((&self.owner, &other.owner), (Owner::Content, Owner::Content));
        let lifetime = if content { self.expires_at.cmp(&other.expires_at) } else { Ordering::Equal };
        self.owner
            .rank()
            .cmp(&other.owner.rank())
            .then(lifetime)
            .then(self.version.cmp(&other.version))
            .then(self.tombstone.cmp(&other.tombstone))
            .then_with(|| self.value.cmp(&other.value))
            .then_with(|| self.signature().cmp(other.signature()))
    }

    fn signature(&self) -> &[u8] {
        match &self.owner {
            Owner::Signed { signature, .. } => signature,
            _ => &[],
        }
    }

    /// Whether `self` should replace `other`.
    pub fn supersedes(&self, other: &Record) -> bool {
        self.precedence(other) == Ordering::Greater
    }

    /// Bytes the record costs a store: value and name plus a fixed overhead.
    pub fn stored_size(&self) -> usize {
        let proof = match &self.owner {
            Owner::Signed { name, signature, .. } => 32 + name.len() + signature.len(),
            _ => 0,
        };
        self.value.len() + proof + 64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record() -> impl Strategy<Value = Record> {
        (0u64..4, any::<bool>(), proptest::collection::vec(any::<u8>(), 0..4)).prop_map(|(v, t, val)| {
            if t {
                Record::tombstone(Id::ZERO, v, Time::NEVER)
            } else {
                Record::new(Id::ZERO, val, v, Time::NEVER)
            }
        })
    }

    proptest! {
        #[test]
        fn precedence_is_a_total_order(a in record(), b in record(), c in record()) {
            prop_assert_eq!(a.precedence(&b), b.precedence(&a).reverse());
            prop_assert_eq!(a.precedence(&b) == Ordering::Equal, a == b);
            if a.supersedes(&b) && b.supersedes(&c) { prop_assert!(a.supersedes(&c)); }
        }
    }

    #[test]
    fn higher_version_wins_then_tombstone_then_bytes() {
        let old = Record::new(Id::ZERO, &b"zzz"[..], 1, Time::NEVER);
        let new = Record::new(Id::ZERO, &b"aaa"[..], 2, Time::NEVER);
        assert!(new.supersedes(&old));
        let dead = Record::tombstone(Id::ZERO, 2, Time::NEVER);
        assert!(dead.supersedes(&new));
        let other = Record::new(Id::ZERO, &b"aab"[..], 2, Time::NEVER);
        assert!(other.supersedes(&new));
    }

    #[test]
    fn owned_records_verify_and_outrank_open_ones() {
        let (signer, _) = SigningKey::generate().unwrap();
        let signed = Record::signed(&signer, "greeting", "hello", 5, Time::NEVER, false);
        assert_eq!(signed.validate(100), Ok(()));
        assert!(signed.is_signed_by(&signer.public()));
        let squatter = Record::new(signed.key, &b"mine"[..], u64::MAX, Time::NEVER);
        assert!(signed.supersedes(&squatter));
        let content = Record::content("blob", 1, Time::NEVER);
        assert_eq!(content.validate(100), Ok(()));
        assert!(content.supersedes(&Record::tombstone(content.key, u64::MAX, Time::NEVER)));
    }

    #[test]
    fn tampered_owned_records_are_refused() {
        let (signer, _) = SigningKey::generate().unwrap();
        let (thief, _) = SigningKey::generate().unwrap();
        let signed = Record::signed(&signer, "greeting", "hello", 5, Time::NEVER, false);
        let changed = |f: fn(&mut Record)| {
            let mut r = signed.clone();
            f(&mut r);
            r.validate(100)
        };
        assert_eq!(changed(|r| r.value = Bytes::from_static(b"bye")), Err(RecordError::BadSignature));
        assert_eq!(changed(|r| r.version = 6), Err(RecordError::BadSignature));
        assert_eq!(changed(|r| r.expires_at = Time(1)), Err(RecordError::BadSignature));
        assert_eq!(changed(|r| r.key = Id::hash(b"elsewhere")), Err(RecordError::WrongKey));
        // Someone else's signature at the owner's key: the key does not derive from their public key.
        let forged = Record { key: signed.key, ..Record::signed(&thief, "greeting", "mine", 9, Time::NEVER, false) };
        assert_eq!(forged.validate(100), Err(RecordError::WrongKey));
        let mut content = Record::content("blob", 1, Time::NEVER);
        content.value = Bytes::from_static(b"other");
        assert_eq!(content.validate(100), Err(RecordError::WrongKey));
        content.tombstone = true;
        assert_eq!(content.validate(100), Err(RecordError::TombstoneWithValue));
        content.value = Bytes::new();
        assert_eq!(content.validate(100), Err(RecordError::ContentTombstone));
    }

    #[test]
    fn oversized_value_is_refused() {
        let r = Record::new(Id::ZERO, vec![0u8; 11], 1, Time::NEVER);
        assert_eq!(r.validate(10), Err(RecordError::TooLarge { size: 11, limit: 10 }));
        assert!(r.validate(11).is_ok());
    }
}
