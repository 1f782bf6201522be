//! Limits on what a store accepts.

use crate::MAX_VALUE_BYTES;

/// Limits a store enforces on every `put`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Quota {
    /// Most records held at once (default 1,000,000).
    pub max_records: usize,
    /// Most bytes held at once, as [`crate::Record::stored_size`] counts them (default 1 GiB).
    pub max_bytes: usize,
    /// Largest value accepted (default [`MAX_VALUE_BYTES`]).
    pub max_value_bytes: usize,
}

impl Default for Quota {
    fn default() -> Quota {
        Quota { max_records: 1_000_000, max_bytes: 1 << 30, max_value_bytes: MAX_VALUE_BYTES }
    }
}

impl Quota {
    /// Checks that replacing a record of `old_size` (0 if none) by one of
    /// `new_size` keeps the store within limits.
    pub fn check(&self, records: usize, bytes: usize, old_size: Option<usize>, new_size: usize) -> Result<(), String> {
        let records_after = records + usize::from(old_size.is_none());
        let bytes_after = bytes - old_size.unwrap_or(0).min(bytes) + new_size;
        if records_after > self.max_records {
            return Err(format!("{} records would exceed the limit of {}", records_after, self.max_records));
        }
        if bytes_after > self.max_bytes {
            return Err(format!("{} bytes would exceed the limit of {}", bytes_after, self.max_bytes));
        }
        Ok(())
    }
}
