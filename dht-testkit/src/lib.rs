//! `dht-testkit`: run any overlay of the `dht` framework — ours or yours —
//! in a deterministic simulator, through the conformance suite, and through
//! the same measurements.
//!
//! - [`sim`]: the discrete-event simulator (virtual time, latency, loss,
//!   partitions, crashes, churn; one seed reproduces a run).
//! - [`workload`]: put/get/lookup workloads with bounded concurrency.
//! - [`live`]: the network cases on real drivers over any transport.
//! - [`measure`]: one measured run (hops, messages, latency, state, traffic).
//! - [`metrics`]: per-operation and per-node metrics and their summaries.
//! - [`conformance`]: the suite, as named cases; [`conformance_tests!`]
//!   turns it into one `#[test]` per case.
//! - [`hostile`]: arbitrary bytes fed to a live node (proptest and fuzzing).
//! - [`strategies`]: proptest strategies for ids, keys and records.
//! - [`store_suite`]: the contract every [`dht_core::Store`] must meet.
//! - [`lookup_step`]: one step of a lookup, for benchmarks.
//!
//! ```
//! use dht_kademlia::{Kademlia, KademliaConfig};
//! use dht_testkit::sim::{SimConfig, Simulation};
//! use dht_testkit::workload;
//! use std::time::Duration;
//!
//! let mut sim = Simulation::new(SimConfig::new(7), |peer| Kademlia::new(peer, KademliaConfig::default()));
//! sim.grow(50, Duration::from_millis(20), Duration::from_secs(10));
//! let (stored, _) = workload::put_all(&mut sim, &workload::keys(20, 7));
//! let (_, missing) = workload::get_all(&mut sim, &stored);
//! assert_eq!(stored.len(), 20);
//! assert!(missing.is_empty());
//! ```

pub mod conformance;
pub mod hostile;
pub mod live;
pub mod lookup_step;
pub mod measure;
pub mod metrics;
pub mod sim;
pub mod store_suite;
pub mod strategies;
pub mod workload;
