//! One step of a lookup state machine, split in two so a benchmark can
//! time the step alone: [`asked_once`] prepares a lookup that has sent its
//! first request, [`answered`] feeds it an answer and polls the next
//! requests.

use dht_core::{Lookup, Peer};

/// `lookup` after its first poll, with the peer the first request went to.
/// Returns `None` when the lookup asks nobody.
pub fn asked_once<L: Lookup>(mut lookup: L) -> Option<(L, Peer)> {
    let first = lookup.poll().first().map(|(peer, _)| *peer)?;
    Some((lookup, first))
}

/// Feeds `answer` from the first peer asked and returns the requests the
/// lookup sends next.
pub fn answered<L: Lookup>(asked: Option<(L, Peer)>, answer: L::Message) -> Vec<(Peer, L::Message)> {
    let Some((mut lookup, from)) = asked else { return Vec::new() };
    lookup.on_response(&from, answer);
    lookup.poll()
}
