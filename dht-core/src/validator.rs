//! Application rules for records: a [`Validator`] plugged into a node
//! accepts or rejects each record and chooses between two versions of one.
//!
//! The built-in rules always apply first ([`crate::Record::validate`]: size,
//! signatures, content hashes; and owned records outrank open ones); a
//! validator only adds to them. Every node of a network must run the same
//! validator, or replicas would disagree about which version to keep.

use crate::Record;
use std::sync::Arc;

/// Application-specific rules for records.
///
/// ```
/// use dht_core::{Id, Record, Time, Validator};
///
/// /// Values must be UTF-8, and the longer of two versions wins.
/// struct LongestText;
/// impl Validator for LongestText {
///     fn validate(&self, record: &Record) -> Result<(), String> {
///         std::str::from_utf8(&record.value).map(|_| ()).map_err(|_| "value is not UTF-8".into())
///     }
///     fn wins(&self, offered: &Record, held: &Record) -> bool {
///         let (a, b) = (offered.value.len(), held.value.len());
///         a > b || (a == b && offered.supersedes(held))
///     }
/// }
/// let short = Record::new(Id::hash(b"k"), &b"hi"[..], 9, Time::NEVER);
/// let long = Record::new(Id::hash(b"k"), &b"hello"[..], 1, Time::NEVER);
/// assert!(LongestText.wins(&long, &short));
/// assert!(LongestText.validate(&Record::new(Id::hash(b"k"), &[0xff][..], 1, Time::NEVER)).is_err());
/// ```
pub trait Validator: Send + Sync + 'static {
    /// `Err(reason)` rejects the record: a node will not store it, and a get
    /// ignores a replica that answers with it.
    fn validate(&self, record: &Record) -> Result<(), String> {
        let _ = record;
        Ok(())
    }

    /// Whether `offered` should replace `held`, two valid versions of one
    /// key of the same [`crate::Owner`] kind. It must be a strict order that
    /// every node computes alike, so that replicas converge (the default is
    /// [`Record::supersedes`]).
    fn wins(&self, offered: &Record, held: &Record) -> bool {
        offered.supersedes(held)
    }
}

/// The built-in rules alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultValidator;

impl Validator for DefaultValidator {}

/// A shared [`Validator`], as a node's configuration holds it.
#[derive(Clone)]
pub struct SharedValidator(pub Arc<dyn Validator>);

impl Default for SharedValidator {
    fn default() -> SharedValidator {
        SharedValidator(Arc::new(DefaultValidator))
    }
}

impl std::fmt::Debug for SharedValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedValidator")
    }
}

impl SharedValidator {
    /// Wraps an application's validator.
    pub fn new(validator: impl Validator) -> SharedValidator {
        SharedValidator(Arc::new(validator))
    }

    /// Whether `offered` replaces `held`: owned records outrank open ones
    /// whatever the validator says; between records of one rank, the
    /// validator chooses.
    pub fn wins(&self, offered: &Record, held: &Record) -> bool {
        match offered.owner.rank().cmp(&held.owner.rank()) {
            std::cmp::Ordering::Equal => self.0.wins(offered, held),
            order => order.is_gt(),
        }
    }

    /// The validator's verdict on `record`.
    pub fn validate(&self, record: &Record) -> Result<(), String> {
        self.0.validate(record)
    }
}
