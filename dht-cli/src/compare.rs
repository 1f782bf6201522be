//! `dht compare`: the overlays side by side in the simulator, on the same
//! workload and seed — a table or JSON rows, and with `--out`, SVG plots and
//! an `index.html` that shows them with the table.

use crate::measure::{cpu_time, peak_rss_mib, Progress};
use crate::report;
use crate::{OverlayKind, Pace};
use anyhow::{bail, Context};
use dht_overlays::core::{Address, SimOverlay};
use dht_overlays::{Id, Peer};
use dht_testkit::measure::{measure_observed, Build, MeasureConfig};
use dht_testkit::sim::{Lifetime, SimProgress};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Overlays to compare, comma-separated (default: every overlay).
    #[arg(long, value_enum, value_delimiter = ',')]
    overlays: Vec<OverlayKind>,
    /// Network sizes, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000")]
    nodes: Vec<usize>,
    /// Random-target lookups per run (and as many keys put and read back).
    #[arg(long, default_value_t = 10_000)]
    lookups: usize,
    /// Churn while the workload runs: `none`, `exp:MEAN_S` or
    /// `weibull:MEAN_S:SHAPE` (node lifetimes; each failure is followed by a join).
    #[arg(long, default_value = "none", value_parser = parse_churn)]
    churn: Churn,
    /// With --churn: seconds of churn between the puts and the reads, so
    /// that keys must survive it (the lookups and gets then run under
    /// churn too).
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    churn_for: u64,
    /// Share of the nodes that crash at once after the keys are put.
    #[arg(long, default_value_t = 0.0, value_parser = parse_fraction)]
    fail: f64,
    /// How each network is built: `joins` (every node joins through the
    /// protocol), `warm` (every node starts with the settled network's
    /// routing state), or `auto`: joins up to 10,000 nodes, warm above.
    #[arg(long, value_enum, default_value = "auto")]
    build: BuildArg,
    /// Seed of the whole run: the same arguments print the same rows.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Directory to write the plots and `index.html` to.
    #[arg(long)]
    out: Option<PathBuf>,
    /// One JSON object per row instead of the table.
    #[arg(long)]
    json: bool,
    /// Copies of each record (the replication factor r); put and read
    /// quorums are majorities of it.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=20))]
    replicas: u16,
    /// Copies kept beyond the r replicas (`NodeConfig::spares`): not
    /// counted by quorums, kept by repair.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(0..=20))]
    spares: u16,
    /// Milliseconds between two liveness checks of the peers holding a
    /// node's keys' other copies (`NodeConfig::replica_check_interval`):
    /// the detection delay a key's last copies race against. Checks run at
    /// the node's ticks, so below one second it is every tick. Default:
    /// the node's (2,000).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    replica_check_ms: Option<u64>,
    /// Every column in the table, not only the main ones.
    #[arg(long)]
    wide: bool,
    /// Threads the simulator runs a network's nodes on. The rows are the
    /// same for any number; more finish a large network sooner. Default:
    /// one per core.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
    threads: Option<u16>,
}

/// `--build`.
#[derive(clap::ValueEnum, Debug, Clone, Copy)]
enum BuildArg {
    Auto,
    Joins,
    Warm,
}

/// A churn model as given on the command line.
#[derive(Debug, Clone)]
pub struct Churn {
    text: String,
    lifetime: Option<Lifetime>,
}

fn parse_churn(text: &str) -> Result<Churn, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let seconds = |s: &str| -> Result<Duration, String> {
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 && v <= 1e9 => Ok(Duration::from_secs_f64(v)),
            _ => Err(format!("`{s}` is not a positive number of seconds")),
        }
    };
    let lifetime = match parts.as_slice() {
        ["none"] => None,
        ["exp", mean] => Some(Lifetime::Exponential { mean: seconds(mean)? }),
        ["weibull", mean, shape] => match shape.parse::<f64>() {
            Ok(k) if k.is_finite() && k > 0.0 && k <= 100.0 => {
                Some(Lifetime::Weibull { mean: seconds(mean)?, shape: k })
            }
            _ => return Err(format!("`{shape}` is not a Weibull shape in (0, 100]")),
        },
        _ => return Err("expected none, exp:MEAN_S or weibull:MEAN_S:SHAPE".into()),
    };
    Ok(Churn { text: text.to_owned(), lifetime })
}

fn parse_fraction(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(f) if (0.0..1.0).contains(&f) => Ok(f),
        _ => Err(format!("`{text}` is not a fraction in [0, 1)")),
    }
}

/// The most nodes one run may simulate.
const MAX_NODES: usize = 1_000_000;

pub fn run(args: CompareArgs) -> anyhow::Result<ExitCode> {
    if args.nodes.iter().any(|&n| !(2..=MAX_NODES).contains(&n)) {
        bail!("--nodes: each size must be between 2 and {MAX_NODES}");
    }
    let overlays = if args.overlays.is_empty() { OverlayKind::ALL } else { &args.overlays[..] };
    let progress = Progress::new(args.json);
    let mut rows = Vec::new();
    for &overlay in overlays {
        for &nodes in &args.nodes {
            let row = run_one(overlay, nodes, &args, &progress);
            if args.json {
                println!("{row}");
            }
            rows.push(row);
        }
    }
    if !args.json {
        println!("{}", report::table(&rows, args.wide));
    }
    if let Some(dir) = &args.out {
        report::write(dir, &rows, &args.churn.text, args.fail, args.seed)
            .with_context(|| format!("writing the report to {}", dir.display()))?;
        if !args.json {
            println!("report: {}", dir.join("index.html").display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run_one(overlay: OverlayKind, nodes: usize, args: &CompareArgs, progress: &Progress) -> serde_json::Value {
    let mut config = MeasureConfig::new(nodes, args.lookups, args.seed);
    config.churn = args.churn.lifetime;
    config.churn_for = Duration::from_secs(args.churn_for);
    config.fail = args.fail;
    config.sim.node = crate::node::replicated(&config.sim.node, args.replicas.into());
    config.sim.node.spares = args.spares.into();
    if let Some(ms) = args.replica_check_ms {
        config.sim.node.replica_check_interval = Duration::from_millis(ms);
    }
    if let Some(threads) = args.threads {
        config.sim.threads = threads.into();
    }
    match args.build {
        BuildArg::Auto => {}
        BuildArg::Joins => config.build = Build::Joins,
        BuildArg::Warm => config.build = Build::Warm,
    }
    let (started, cpu_before) = (Instant::now(), cpu_time());
    // One bar per row: the nodes added, then the operations finished.
    let bar = progress.run(&format!("{} {nodes}", overlay.name()), nodes + config.operations());
    let observer = {
        let bar = bar.clone();
        let mut last = (Instant::now(), 0);
        move |p: &SimProgress| {
            bar.set_position((p.nodes.min(nodes) + p.ops_finished as usize) as u64);
            let (then, events) = last;
            let waited = then.elapsed();
            if waited >= Duration::from_millis(500) {
                let rate = (p.events - events) as f64 / waited.as_secs_f64();
                bar.set_message(format!("{} virtual s, {:.2} M events/s", p.now.as_millis() / 1000, rate / 1e6));
                last = (Instant::now(), p.events);
            }
        }
    };
    let (measured, bound, formula) = with_overlay!(overlay, Pace::Normal, |make| {
        let probe = make(Peer::new(Id::ZERO, Address::Memory(0)));
        (measure_observed(make, &config, observer.clone()), probe.hop_bound(nodes), probe.hop_bound_formula())
    });
    bar.finish();
    let mut row = serde_json::to_value(&measured).unwrap_or_default();
    row["hop_bound"] = bound.into();
    row["hop_bound_formula"] = formula.into();
    row["churn"] = args.churn.text.clone().into();
    row["churn_for_s"] = if args.churn.lifetime.is_some() { args.churn_for } else { 0 }.into();
    row["fail"] = args.fail.into();
    row["replicas"] = args.replicas.into();
    row["spares"] = args.spares.into();
    row["replica_check_ms"] = (config.sim.node.replica_check_interval.as_millis() as u64).into();
    row["threads"] = config.sim.threads.into();
    row["wall_s"] = started.elapsed().as_secs_f64().into();
    row["peak_rss_mib"] = peak_rss_mib().into();
    if let Some(cpu) = cpu_time().zip(cpu_before).map(|(after, before)| after.saturating_sub(before)) {
        row["cpu_s"] = cpu.as_secs_f64().into();
        row["us_per_message"] = (cpu.as_secs_f64() * 1e6 / measured.messages.max(1) as f64).into();
    }
    row
}
