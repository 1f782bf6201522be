//! The `dht` command: run nodes, put and get values, and run a local demo
//! network over QUIC.
// The command line is an I/O edge: it reads clocks and prints.
#![allow(clippy::disallowed_methods, clippy::print_stdout)]

/// Evaluates `$body` with `$make` bound to a constructor (`Fn(Peer) -> O`,
/// cloneable) of the overlay `$kind` in the given [`Role`]: the one place a
/// command turns its `--overlay` choice into a type.
macro_rules! with_overlay {
    ($kind:expr, $role:expr, |$make:ident| $body:expr) => {{
        let role: $crate::Role = $role;
        match $kind {
            $crate::OverlayKind::Kademlia => {
                let config = role.kademlia();
                let $make = move |p: dht::Peer| dht::Kademlia::new(p, config.clone());
                $body
            }
            $crate::OverlayKind::Chord => {
                let config = role.chord();
                let $make = move |p: dht::Peer| dht::Chord::new(p, config.clone());
                $body
            }
            $crate::OverlayKind::Can => {
                let config = role.can();
                let $make = move |p: dht::Peer| dht::Can::new(p, config.clone());
                $body
            }
        }
    }};
}

mod bench;
mod client;
mod cluster;
mod compare;
mod demo;
mod measure;
mod node;
mod report;
mod soak;
mod topology;

use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "dht", version, about = "Distributed hash tables over QUIC: Kademlia, Chord and CAN")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Which overlay a node runs.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum OverlayKind {
    /// Kademlia: XOR metric, k-buckets, α-parallel lookups.
    Kademlia,
    /// Chord: identifier ring, fingers, successor lists.
    Chord,
    /// CAN: zones of a 4-dimensional torus, greedy routing.
    Can,
}

impl OverlayKind {
    /// The overlay's name as its crate spells it.
    pub fn name(self) -> &'static str {
        match self {
            OverlayKind::Kademlia => "kademlia",
            OverlayKind::Chord => "chord",
            OverlayKind::Can => "can",
        }
    }
}

/// How a command runs its overlay.
#[derive(Clone, Copy, Debug, Default)]
pub struct Role {
    /// Route without taking a place in the overlay (a one-shot `put`, a
    /// load generator): nothing is handed to it, nothing is lost when it exits.
    pub client: bool,
    /// Maintenance every half second instead of every few: an in-process
    /// network on loopback settles in moments.
    pub quick: bool,
}

impl Role {
    /// A full member with the default settings.
    pub const MEMBER: Role = Role { client: false, quick: false };
    /// A client with the default settings.
    pub const CLIENT: Role = Role { client: true, quick: false };
    /// A full member of a local in-process network.
    pub const LOCAL: Role = Role { client: false, quick: true };

    fn period(self, default: Duration) -> Duration {
        if self.quick {
            Duration::from_millis(500)
        } else {
            default
        }
    }

    /// Kademlia's settings (a Kademlia client needs none: it routes through
    /// others' tables and keeps its own to itself).
    pub fn kademlia(self) -> dht::KademliaConfig {
        dht::KademliaConfig::default()
    }

    /// Chord's settings.
    pub fn chord(self) -> dht::ChordConfig {
        let default = dht::ChordConfig::default();
        dht::ChordConfig { client: self.client, stabilize_interval: self.period(default.stabilize_interval), ..default }
    }

    /// CAN's settings.
    pub fn can(self) -> dht::CanConfig {
        let default = dht::CanConfig::default();
        dht::CanConfig { client: self.client, update_interval: self.period(default.update_interval), ..default }
    }
}

/// Options every networked command shares.
#[derive(clap::Args, Clone, Debug)]
pub struct NetworkArgs {
    /// Overlay the network runs.
    #[arg(long, value_enum, default_value = "kademlia")]
    overlay: OverlayKind,
    /// Network id: nodes of another network are refused.
    #[arg(long, default_value = "main")]
    network: String,
}

#[derive(Subcommand)]
enum Command {
    /// Run a node until interrupted.
    Node {
        #[command(flatten)]
        net: NetworkArgs,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:4000")]
        listen: SocketAddr,
        /// A node to join through (repeatable); none starts a new network.
        #[arg(long)]
        bootstrap: Vec<SocketAddr>,
        /// Directory for the node's identity key and records (kept across
        /// restarts); without it, records live in memory only.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Seconds between two checks that every held key is on its replicas.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
        repair_interval: u64,
        #[command(flatten)]
        limits: node::LimitArgs,
    },
    /// Store a value under a key: open (anyone may overwrite it), signed
    /// with --sign (only the key's holder may), or content-addressed with
    /// --content (immutable, under the hash of the value).
    Put {
        #[command(flatten)]
        net: NetworkArgs,
        /// A node of the network.
        #[arg(long)]
        bootstrap: SocketAddr,
        /// The key (any text); with --sign, the record's name.
        #[arg(required_unless_present = "content")]
        key: Option<String>,
        /// The value (any text).
        #[arg(required_unless_present = "content")]
        value: Option<String>,
        /// Sign the record with the Ed25519 key in this file (created if
        /// missing); its key derives from the public key and the name.
        #[arg(long, value_name = "KEY_FILE", conflicts_with = "content")]
        sign: Option<PathBuf>,
        /// Sequence number of a signed record (default: the clock in
        /// milliseconds); replicas refuse one not above what they hold.
        #[arg(long, requires = "sign")]
        sequence: Option<u64>,
        /// Store this value as an immutable record under its blake3 hash
        /// (printed).
        #[arg(long, value_name = "VALUE", conflicts_with_all = ["key", "value"])]
        content: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the value stored under a key.
    Get {
        #[command(flatten)]
        net: NetworkArgs,
        /// A node of the network.
        #[arg(long)]
        bootstrap: SocketAddr,
        /// The key (any text); with --signer, the record's name.
        #[arg(required_unless_present = "content")]
        key: Option<String>,
        /// Read the signed record this signer published under the name:
        /// its public key (64 hex characters) or its key file.
        #[arg(long, value_name = "PUBKEY_OR_KEY_FILE", conflicts_with = "content")]
        signer: Option<String>,
        /// Read the content-addressed record with this hash (64 hex characters).
        #[arg(long, value_name = "HASH", conflicts_with = "key")]
        content: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Endurance run on 127.0.0.1: node processes are killed (SIGKILL) and
    /// restarted on their data directories while puts and gets go on; then
    /// every acknowledged write is read back. Prints one JSON line.
    Soak(soak::SoakArgs),
    /// Benchmark a cluster over QUIC on 127.0.0.1 in this process: timed
    /// puts and gets through random nodes. Prints one JSON line.
    Bench(bench::BenchArgs),
    /// Compare overlays side by side in the simulator: a table (or JSON
    /// rows) and, with --out, SVG plots and an index.html.
    Compare(compare::CompareArgs),
    /// Start a local network over QUIC on 127.0.0.1, put keys, get them back,
    /// stop a quarter of the nodes, get them back again, and print a summary.
    Demo {
        /// Overlay to run.
        #[arg(long, value_enum, default_value = "kademlia")]
        overlay: OverlayKind,
        /// Nodes to start.
        #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(4..=1024))]
        nodes: u16,
        /// Keys to put.
        #[arg(long, default_value_t = 1000)]
        keys: usize,
        /// Print the summary as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("DHT_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Node { net, listen, bootstrap, data_dir, repair_interval, limits } => {
                let config = node::config(Duration::from_secs(repair_interval), &limits);
                node::run(net, listen, bootstrap, data_dir, config).await
            }
            Command::Soak(args) => soak::run(args).await,
            Command::Bench(args) => bench::run(args).await,
            Command::Compare(args) => compare::run(args),
            Command::Put { net, bootstrap, key, value, sign, sequence, content, json } => {
                let write = match (key, value, sign, content) {
                    (_, _, _, Some(value)) => client::Write::Content { value },
                    (Some(name), Some(value), Some(key_file), None) => {
                        client::Write::Signed { key_file, name, value, sequence }
                    }
                    (Some(key), Some(value), None, None) => client::Write::Open { key, value },
                    _ => anyhow::bail!("put needs a key and a value, or --content VALUE"),
                };
                client::put(net, bootstrap, write, json).await
            }
            Command::Get { net, bootstrap, key, signer, content, json } => {
                let read = match (key, signer, content) {
                    (_, _, Some(hash)) => client::Read::Content { hash },
                    (Some(name), Some(signer), None) => client::Read::Signed { signer, name },
                    (Some(key), None, None) => client::Read::Open { key },
                    _ => anyhow::bail!("get needs a key, or --content HASH"),
                };
                client::get(net, bootstrap, read, json).await
            }
            Command::Demo { overlay, nodes, keys, json } => demo::run(overlay, usize::from(nodes), keys, json).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
