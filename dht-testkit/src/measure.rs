//! One measured run of an overlay in the simulator: build a network, put
//! keys, run lookups and gets, and summarise what they cost. The numbers
//! comparisons and examples print come from here.

use crate::metrics::{OpReport, Summary};
use crate::sim::{Lifetime, SimConfig, SimProgress, Simulation};
use crate::workload;
use dht_core::{Peer, SimOverlay};
use serde::Serialize;
use std::time::Duration;

/// What to run.
#[derive(Debug, Clone)]
pub struct MeasureConfig {
    /// Nodes in the network.
    pub nodes: usize,
    /// Random-target lookups to time.
    pub lookups: usize,
    /// Keys to put and get back.
    pub keys: usize,
    /// Churn while the workload runs, if any.
    pub churn: Option<Lifetime>,
    /// With churn: virtual time it runs between the puts and the lookups
    /// and gets, which the keys must survive (default 10 minutes).
    pub churn_for: Duration,
    /// Share of the nodes that crash at once after the keys are put and
    /// before the lookups and gets (0 for none).
    pub fail: f64,
    /// Simulation settings, seed included.
    pub sim: SimConfig,
    /// Virtual time between joins while building (default 10 ms; for more
    /// than 10,000 nodes, the build takes 100 s in all, so that periodic
    /// maintenance during a long build does not dominate the run).
    pub join_spacing: Duration,
    /// How the network is built.
    pub build: Build,
}

/// How a measured network comes to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Build {
    /// Every node joins through the protocol, one after another, and the
    /// network settles for 30 s: what a deployment goes through.
    Joins,
    /// Every node starts with the routing state of the settled network
    /// ([`Simulation::warm_start`]); overlays without a warm start join.
    Warm,
}

impl Build {
    /// Joins up to 10,000 nodes, a warm start above: a join costs a node a
    /// few hundred messages, which at 100,000 nodes is most of a run.
    pub fn for_nodes(nodes: usize) -> Build {
        if nodes <= 10_000 {
            Build::Joins
        } else {
            Build::Warm
        }
    }
}

impl MeasureConfig {
    /// `nodes` nodes, `lookups` lookups, a key per lookup, no churn.
    pub fn new(nodes: usize, lookups: usize, seed: u64) -> MeasureConfig {
        MeasureConfig {
            nodes,
            lookups,
            keys: lookups,
            churn: None,
            churn_for: Duration::from_secs(600),
            fail: 0.0,
            sim: SimConfig::new(seed),
            join_spacing: Duration::from_micros((100_000_000 / nodes.max(1) as u64).min(10_000)),
            build: Build::for_nodes(nodes),
        }
    }

    /// Operations the run finishes: a put and a get per key, and the lookups.
    pub fn operations(&self) -> usize {
        2 * self.keys + self.lookups
    }
}

/// The numbers of one run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Measurement {
    /// Overlay name.
    pub overlay: &'static str,
    /// Nodes in the network.
    pub nodes: usize,
    /// How the network was built (a warm start asked of an overlay that
    /// has none ends up as joins).
    pub build: Build,
    /// Seed of the run.
    pub seed: u64,
    /// Lookups run.
    pub lookups: usize,
    /// Share of lookups that found peers.
    pub success_rate: f64,
    /// Share of gets that returned the value put.
    pub get_success_rate: f64,
    /// Acknowledged puts whose key no live node holds at the end of the
    /// run: data the network lost.
    pub keys_lost: usize,
    /// Mean lookup path length.
    pub hops_mean: f64,
    /// Median lookup path length.
    pub hops_p50: f64,
    /// 99th percentile of lookup path length.
    pub hops_p99: f64,
    /// Requests per lookup.
    pub msgs_per_lookup: f64,
    /// Mean virtual lookup latency.
    pub latency_ms_mean: f64,
    /// 99th percentile of virtual lookup latency.
    pub latency_ms_p99: f64,
    /// Mean routing-state entries per node.
    pub state_per_node_mean: f64,
    /// Maintenance requests per node per simulated minute, repair included.
    pub maint_msgs_per_node_min: f64,
    /// Of those, records pushed by repair, per node per simulated minute.
    pub repair_msgs_per_node_min: f64,
    /// Bytes of records pushed by repair, per node per simulated minute, in KiB.
    pub repair_kib_per_node_min: f64,
    /// Mean records stored per node.
    pub records_per_node_mean: f64,
    /// 99th percentile of records stored per node.
    pub records_per_node_p99: f64,
    /// Virtual seconds the run simulated, build included.
    pub sim_s: f64,
    /// Virtual seconds from the last put to the end of the run: how long
    /// the keys had to outlive the churn (`keys_lost` is a rate over it).
    pub keys_exposed_s: f64,
    /// Messages the simulator delivered, requests and answers, build
    /// included: what a run's CPU time is divided by for its cost per
    /// simulated message.
    pub messages: u64,
}

/// Builds the network, puts the keys, times the lookups and gets.
pub fn measure<O: SimOverlay>(make: impl Fn(Peer) -> O + 'static, config: &MeasureConfig) -> Measurement {
    measure_observed(make, config, |_| {})
}

/// [`measure`], calling `observer` as the run goes (see
/// [`Simulation::on_progress`]); [`MeasureConfig::nodes`] and
/// [`MeasureConfig::operations`] say where the run ends.
pub fn measure_observed<O: SimOverlay>(
    make: impl Fn(Peer) -> O + 'static,
    config: &MeasureConfig,
    observer: impl FnMut(&SimProgress) + 'static,
) -> Measurement {
    let mut sim = Simulation::new(config.sim.clone(), make);
    sim.on_progress(observer);
    let warm = config.build == Build::Warm && sim.warm_start(config.nodes);
    if !warm {
        sim.grow(config.nodes, config.join_spacing, Duration::from_secs(30));
    }
    sim.report_progress();
    if let Some(lifetime) = config.churn {
        sim.start_churn(lifetime);
    }
    let (stored, _) = workload::put_all(&mut sim, &workload::keys(config.keys, config.sim.seed));
    let stored_at = sim.now();
    sim.report_progress();
    if config.churn.is_some() {
        sim.run_for(config.churn_for);
    }
    if config.fail > 0.0 {
        sim.crash_fraction(config.fail);
    }
    let lookups = OpReport::of(&workload::lookups(&mut sim, config.lookups));
    sim.report_progress();
    let (gets, _) = workload::get_all(&mut sim, &stored);
    sim.report_progress();
    let gets = OpReport::of(&gets);
    let held = sim.held_keys();
    let keys_lost = stored.iter().filter(|s| !held.contains(&s.key)).count();
    let minutes = sim.now().as_millis() as f64 / 60_000.0;
    let nodes = sim.node_samples();
    let state = Summary::of(nodes.iter().map(|n| n.routing_entries as f64));
    let records = Summary::of(nodes.iter().map(|n| n.records as f64));
    let maintenance = Summary::of(nodes.iter().map(|n| n.maintenance_messages as f64));
    let repairs = Summary::of(nodes.iter().map(|n| n.repair_pushes as f64));
    let repair_kib = Summary::of(nodes.iter().map(|n| n.repair_bytes as f64 / 1024.0));
    let per_minute = |total: f64| if minutes > 0.0 { total / minutes } else { 0.0 };
    Measurement {
        overlay: O::NAME,
        nodes: config.nodes,
        build: if warm { Build::Warm } else { Build::Joins },
        seed: config.sim.seed,
        lookups: config.lookups,
        success_rate: lookups.success_rate,
        get_success_rate: gets.success_rate,
        keys_lost,
        hops_mean: lookups.hops.mean,
        hops_p50: lookups.hops.p50,
        hops_p99: lookups.hops.p99,
        msgs_per_lookup: lookups.messages.mean,
        latency_ms_mean: lookups.latency_ms.mean,
        latency_ms_p99: lookups.latency_ms.p99,
        state_per_node_mean: state.mean,
        maint_msgs_per_node_min: per_minute(maintenance.mean),
        repair_msgs_per_node_min: per_minute(repairs.mean),
        repair_kib_per_node_min: per_minute(repair_kib.mean),
        records_per_node_mean: records.mean,
        records_per_node_p99: records.p99,
        sim_s: sim.now().as_millis() as f64 / 1000.0,
        keys_exposed_s: sim.now().since(stored_at).as_secs_f64(),
        messages: sim.delivered(),
    }
}
