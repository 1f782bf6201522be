//! The messages nodes exchange: the overlay's own, wrapped with the storage
//! requests every overlay shares.

use crate::{Id, Record};
use serde::{Deserialize, Serialize};

/// A request from one node to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request<M> {
    /// An overlay message (routing, maintenance).
    Overlay(M),
    /// Keep this record: a write, from the node that made it. Records are
    /// boxed here and in [`Response`]: a record is some 200 bytes, most
    /// messages carry none, and every message is moved several times on
    /// its way through a node and a transport.
    Store(Box<Record>),
    /// Keep this copy of a record: from another holder (a repair push, a
    /// hand-off, a read repair), not from the writer. The copy may be
    /// behind writes that went to the holders the writer's view named, so
    /// the receiver answers fetches of the key as catching up
    /// ([`Response::CatchingUp`]) until a write reaches it or one repair
    /// interval has passed.
    Replicate(Box<Record>),
    /// Send the record for this key, if held.
    Fetch(Id),
    /// Are you alive? (Replica liveness probes during repair.)
    Ping,
}

impl<M> Request<M> {
    /// The record a [`Request::Store`] or [`Request::Replicate`] offers:
    /// the requests that may change what a node holds.
    pub fn offered(&self) -> Option<&Record> {
        match self {
            Request::Store(record) | Request::Replicate(record) => Some(record),
            Request::Overlay(_) | Request::Fetch(_) | Request::Ping => None,
        }
    }
}

/// The answer to a [`Request`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Response<M> {
    /// The overlay's answer.
    Overlay(M),
    /// The record was taken (`true`: now held; `false`: the same version
    /// was already held).
    Stored(bool),
    /// The record held for the key, if any.
    Value(Option<Box<Record>>),
    /// The request was refused; nothing changed.
    Refused(Refusal),
    /// Answer to `Ping`.
    Pong,
    /// The record was not stored because this newer version is held; sent
    /// back so that a replica that missed writes (one restarted from disk,
    /// say) catches up from the peers it pushes its old copies to.
    Newer(Box<Record>),
    /// The record held for the key, if any, from a node that joined or
    /// restarted recently and may not have caught up on writes made while
    /// it was away, or that is handing the key off to a replica set it is
    /// no longer in, or that holds none and is not in the key's replica
    /// set as it sees it: a reader takes the record if it is the newest it
    /// sees, but does not count the answer toward its read quorum.
    CatchingUp(Option<Box<Record>>),
    /// Answer to a [`Request::Store`]: taken (`true`: now held; `false`:
    /// already held), by a node that is not in the key's replica set as
    /// it sees it — a spare standing in for a silent replica, or a node
    /// that a view out of date named. A later reader may not ask it, so a
    /// writer counts it toward its quorum only once looking again has not
    /// found enough replicas that say they are ones.
    StoredAsSpare(bool),
}

/// Why a node refused a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The record is invalid (too large, malformed).
    #[error("invalid record: {0}")]
    Invalid(String),
    /// Storing it would exceed a quota.
    #[error("quota exceeded: {0}")]
    Quota(String),
    /// The node's storage failed.
    #[error("storage failure: {0}")]
    Storage(String),
    /// The node is too busy to answer.
    #[error("busy")]
    Busy,
}
