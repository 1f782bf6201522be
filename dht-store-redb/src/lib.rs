//! `dht-store-redb`: a persistent [`Store`] for the `dht` framework, on the
//! [redb](https://docs.rs/redb) embedded database.
//!
//! Every `put` and `remove` is one redb write transaction committed with
//! immediate durability before it returns, so a record a node acknowledged
//! survives the process being killed (SIGKILL) or the machine losing power
//! right after. Records keep their absolute expiry time, so expiry is
//! honoured across restarts. Quotas count what is on disk: the totals are
//! read back when the file is opened.
//!
//! Opening never silently resets data: a file that is locked by another
//! process, corrupt, of another format, or holding a record that does not
//! decode is reported as a typed [`OpenError`] and left as it is. A file
//! written by the previous format is upgraded in place, in one transaction.
//!
//! ```
//! use dht_core::{Id, Quota, Record, Store, Time};
//! use dht_store_redb::RedbStore;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = std::env::temp_dir().join(format!("dht-redb-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("records.redb");
//! let key = Id::hash(b"greeting");
//! {
//!     let store = RedbStore::open(&path, Quota::default())?;
//!     store.put(Record::new(key, &b"hello"[..], 1, Time::NEVER), Time::ZERO)?;
//! }
//! // Reopened (after a restart, or a crash): the record is still there.
//! let store = RedbStore::open(&path, Quota::default())?;
//! assert_eq!(&store.get(&key, Time::ZERO).expect("kept").value[..], b"hello");
//! # drop(store); std::fs::remove_dir_all(&dir)?;
//! # Ok(()) }
//! ```

use dht_core::{admit, Admission, Id, PutOutcome, Quota, Record, Store, StoreError, Time, Wins};
use redb::{Database, ReadableTable, TableDefinition};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// Records by key: postcard-encoded [`Record`]s.
const RECORDS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("records");
/// One row, `format`: the layout version of this file.
const META: TableDefinition<&str, u32> = TableDefinition::new("meta");
/// The layout this code reads and writes: 2 added each record's
/// [`dht_core::Owner`]; files of format 1 are upgraded when opened.
const FORMAT: u32 = 2;

/// Why a store file could not be opened. The file is left untouched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// Another process (or another store in this one) has the file open.
    #[error("record store {path} is in use by another process (is another node running with this data directory?)")]
    Locked {
        /// The file.
        path: PathBuf,
    },
    /// The file is damaged or is not a record store.
    #[error("record store {path} is corrupt: {reason}; move it away to start with an empty store")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What was found wrong.
        reason: String,
    },
    /// The file was written in a layout this version does not read.
    #[error("record store {path} has format {found}, this version reads format {FORMAT}")]
    Format {
        /// The file.
        path: PathBuf,
        /// The format found.
        found: u32,
    },
    /// The file could not be read or written.
    #[error("record store {path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying failure.
        reason: String,
    },
}

/// A [`Store`] in a redb file. See the crate documentation.
pub struct RedbStore {
    db: Database,
    path: PathBuf,
    quota: Quota,
    /// Records and bytes held, and when each expires; the lock also orders
    /// writers, so these always match what is committed.
    totals: Mutex<Totals>,
}

#[derive(Debug, Default, Clone)]
struct Totals {
    records: usize,
    bytes: usize,
    /// Every record's expiry: expiring reads only the records due, never
    /// the whole table (built when the file is opened, kept with each
    /// write; about 40 bytes a record).
    expiries: BTreeSet<(Time, Id)>,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedbStore({})", self.path.display())
    }
}

impl RedbStore {
    /// Opens the store at `path`, creating it if the file does not exist,
    /// and reads back the totals its quota counts against.
    pub fn open(path: impl AsRef<Path>, quota: Quota) -> Result<RedbStore, OpenError> {
        let path = path.as_ref().to_path_buf();
        // redb asserts, rather than returns an error, on some damaged files
        // (one cut short, for instance): such a panic is caught here and
        // reported as corruption, so a bad file never takes the node down.
        let db = std::panic::catch_unwind(|| Database::create(&path))
            .map_err(|panic| OpenError::Corrupt { path: path.clone(), reason: panic_reason(&*panic) })?
            .map_err(|e| open_error(&path, e))?;
        let store = RedbStore { db, path, quota, totals: Mutex::new(Totals::default()) };
        store.check_format()?;
        let totals = store.read_totals()?;
        let records = totals.records;
        *store.lock_totals() = totals;
        tracing::debug!(path = %store.path.display(), records, "opened record store");
        Ok(store)
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The limits this store enforces.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    fn io(&self, e: impl Into<redb::Error>) -> OpenError {
        io_error(&self.path, e)
    }

    fn corrupt(&self, reason: impl ToString) -> OpenError {
        OpenError::Corrupt { path: self.path.clone(), reason: reason.to_string() }
    }

    /// Writes the format on a new file; upgrades a file of format 1;
    /// refuses a file of any other format.
    fn check_format(&self) -> Result<(), OpenError> {
        let txn = self.db.begin_write().map_err(|e| self.io(e))?;
        let found = {
            let mut meta = txn.open_table(META).map_err(|e| self.io(e))?;
            let found = meta.get("format").map_err(|e| self.io(e))?.map(|v| v.value());
            let mut records = txn.open_table(RECORDS).map_err(|e| self.io(e))?;
            if found == Some(1) {
                self.upgrade_from_format_1(&mut records)?;
            }
            if matches!(found, None | Some(1)) {
                meta.insert("format", FORMAT).map_err(|e| self.io(e))?;
            }
            found
        };
        match found {
            Some(found) if found != FORMAT && found != 1 => Err(OpenError::Format { path: self.path.clone(), found }),
            _ => txn.commit().map_err(|e| self.io(e)),
        }
    }

    /// Rewrites every format-1 record (which had no owner) as an open record.
    fn upgrade_from_format_1(&self, records: &mut redb::Table<&[u8; 32], &[u8]>) -> Result<(), OpenError> {
        let mut upgraded = Vec::new();
        for row in records.iter().map_err(|e| self.io(e))? {
            let (key, value) = row.map_err(|e| self.io(e))?;
            let old: RecordV1 = postcard::from_bytes(value.value()).map_err(|e| self.corrupt(e))?;
            let record =
                Record { tombstone: old.tombstone, ..Record::new(old.key, old.value, old.version, old.expires_at) };
            upgraded.push((*key.value(), postcard::to_allocvec(&record).map_err(|e| self.corrupt(e))?));
        }
        for (key, bytes) in upgraded {
            records.insert(&key, bytes.as_slice()).map_err(|e| self.io(e))?;
        }
        Ok(())
    }

    /// Counts records and bytes, decoding every record: a record that does
    /// not decode, or sits under another key, means a damaged file.
    fn read_totals(&self) -> Result<Totals, OpenError> {
        let txn = self.db.begin_read().map_err(|e| self.io(e))?;
        let table = txn.open_table(RECORDS).map_err(|e| self.io(e))?;
        let mut totals = Totals::default();
        for row in table.iter().map_err(|e| self.io(e))? {
            let (key, value) = row.map_err(|e| self.io(e))?;
            let record = decode(value.value()).map_err(|e| self.corrupt(e))?;
            if record.key.as_bytes() != key.value() {
                return Err(self.corrupt(format!("record for {} stored under another key", record.key)));
            }
            totals.records += 1;
            totals.bytes += record.stored_size();
            totals.expiries.insert((record.expires_at, record.key));
        }
        Ok(totals)
    }

    fn lock_totals(&self) -> std::sync::MutexGuard<'_, Totals> {
        self.totals.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn read_row(&self, key: &Id) -> Result<Option<Record>, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        let table = txn.open_table(RECORDS).map_err(backend)?;
        let Some(row) = table.get(key.as_bytes()).map_err(backend)? else { return Ok(None) };
        decode(row.value()).map(Some).map_err(|e| StoreError::Backend(format!("record {key} is damaged: {e}")))
    }

    fn try_put(&self, record: Record, now: Time, wins: Wins<'_>) -> Result<PutOutcome, StoreError> {
        let mut totals = self.lock_totals();
        let txn = self.db.begin_write().map_err(backend)?;
        let replaced = {
            let mut table = txn.open_table(RECORDS).map_err(backend)?;
            let held = table.get(record.key.as_bytes()).map_err(backend)?.and_then(|v| decode(v.value()).ok());
            let replaced = match admit(&record, held.as_ref(), now, &self.quota, (totals.records, totals.bytes), wins)?
            {
                Admission::Keep(outcome) => return Ok(outcome),
                Admission::Write { replaced } => replaced,
            };
            let bytes = postcard::to_allocvec(&record).map_err(backend)?;
            table.insert(record.key.as_bytes(), bytes.as_slice()).map_err(backend)?;
            held.map(|h| h.expires_at).zip(replaced)
        };
        txn.commit().map_err(backend)?;
        if let Some((expires_at, _)) = replaced {
            totals.expiries.remove(&(expires_at, record.key));
        }
        totals.expiries.insert((record.expires_at, record.key));
        totals.records += usize::from(replaced.is_none());
        totals.bytes = totals.bytes + record.stored_size() - replaced.map_or(0, |(_, size)| size).min(totals.bytes);
        Ok(PutOutcome::Stored)
    }

    /// Deletes every key in `keys` in one transaction; returns the records deleted.
    fn delete(&self, keys: &[Id]) -> Result<Vec<Record>, StoreError> {
        let mut totals = self.lock_totals();
        let txn = self.db.begin_write().map_err(backend)?;
        let mut removed = Vec::new();
        {
            let mut table = txn.open_table(RECORDS).map_err(backend)?;
            for key in keys {
                if let Some(old) = table.remove(key.as_bytes()).map_err(backend)? {
                    if let Ok(record) = decode(old.value()) {
                        removed.push(record);
                    }
                }
            }
        }
        txn.commit().map_err(backend)?;
        for record in &removed {
            totals.records = totals.records.saturating_sub(1);
            totals.bytes = totals.bytes.saturating_sub(record.stored_size());
            totals.expiries.remove(&(record.expires_at, record.key));
        }
        Ok(removed)
    }

    /// Every key, without decoding the records.
    fn all_keys(&self) -> Result<Vec<Id>, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        let table = txn.open_table(RECORDS).map_err(backend)?;
        let mut keys = Vec::new();
        for row in table.iter().map_err(backend)? {
            let (key, _) = row.map_err(backend)?;
            keys.push(Id(*key.value()));
        }
        Ok(keys)
    }

    /// Logs a backend failure of a call whose signature has no error to return.
    fn logged<T>(&self, what: &str, result: Result<T, StoreError>) -> Option<T> {
        result.map_err(|e| tracing::error!(path = %self.path.display(), error = %e, "record store {what} failed")).ok()
    }
}

impl Store for RedbStore {
    fn read(&self, key: &Id, now: Time) -> Result<Option<Record>, StoreError> {
        Ok(self.read_row(key)?.filter(|r| !r.is_expired(now)))
    }

    fn get(&self, key: &Id, now: Time) -> Option<Record> {
        self.logged("read", self.read(key, now)).flatten()
    }

    fn put_with(&self, record: Record, now: Time, wins: Wins<'_>) -> Result<PutOutcome, StoreError> {
        self.try_put(record, now, wins)
    }

    fn remove(&self, key: &Id) -> Option<Record> {
        self.logged("delete", self.delete(&[*key]))?.pop()
    }

    fn keys(&self) -> Vec<Id> {
        // redb iterates keys in byte order, which is `Id`'s order.
        self.logged("scan", self.all_keys()).unwrap_or_default()
    }

    fn len(&self) -> usize {
        self.lock_totals().records
    }

    fn bytes(&self) -> usize {
        self.lock_totals().bytes
    }

    /// Deletes the records due by `now`, found in the expiry index: the
    /// table is not read unless something expired.
    fn expire(&self, now: Time) -> usize {
        let due: Vec<Id> = {
            let totals = self.lock_totals();
            totals.expiries.range(..=(now, Id([0xff; 32]))).map(|(_, key)| *key).collect()
        };
        if due.is_empty() {
            return 0;
        }
        self.logged("expiry", self.delete(&due)).map_or(0, |removed| removed.len())
    }
}

/// A record as format 1 stored it.
#[derive(serde::Deserialize)]
struct RecordV1 {
    key: Id,
    value: bytes::Bytes,
    version: u64,
    expires_at: Time,
    tombstone: bool,
}

fn decode(bytes: &[u8]) -> Result<Record, postcard::Error> {
    postcard::from_bytes(bytes)
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn panic_reason(panic: &(dyn std::any::Any + Send)) -> String {
    let what = panic.downcast_ref::<String>().map(String::as_str).or_else(|| panic.downcast_ref::<&str>().copied());
    format!("the database refused its layout ({})", what.unwrap_or("inconsistent file"))
}

fn open_error(path: &Path, e: redb::DatabaseError) -> OpenError {
    match e {
        redb::DatabaseError::DatabaseAlreadyOpen => OpenError::Locked { path: path.to_path_buf() },
        other => io_error(path, other),
    }
}

fn io_error(path: &Path, e: impl Into<redb::Error>) -> OpenError {
    let path = path.to_path_buf();
    match e.into() {
        redb::Error::DatabaseAlreadyOpen => OpenError::Locked { path },
        redb::Error::Corrupted(reason) => OpenError::Corrupt { path, reason },
        redb::Error::UpgradeRequired(v) => OpenError::Format { path, found: u32::from(v) },
        redb::Error::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            OpenError::Corrupt { path, reason: e.to_string() }
        }
        other => OpenError::Io { path, reason: other.to_string() },
    }
}
