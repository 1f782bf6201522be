//! `dht node`: run one node until Ctrl-C.

use crate::NetworkArgs;
use anyhow::Context;
use dht::core::NodeConfig;
use dht::quic::{self, Options};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

pub async fn run(
    net: NetworkArgs,
    listen: SocketAddr,
    bootstrap: Vec<SocketAddr>,
    data_dir: Option<PathBuf>,
    repair_interval: std::time::Duration,
) -> anyhow::Result<ExitCode> {
    if let Some(dir) = &data_dir {
        check_writable(dir)?;
    }
    let node = NodeConfig { repair_interval, ..NodeConfig::default() };
    let options = Options { bootstrap, data_dir, network: net.network.clone(), node, ..Options::new(listen) };
    let running = with_overlay!(net.overlay, crate::Role::MEMBER, |make| quic::start(make, options).await)?;
    let me = running.handle.local();
    println!("node {} ({:?}, network `{}`) listening on {:?}", me.id, net.overlay, net.network, me.addr);
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    eprintln!("leaving: handing records to their next owners");
    running.handle.leave().await.ok();
    Ok(ExitCode::SUCCESS)
}

/// Fails with a clear message when `dir` cannot hold the node's files.
fn check_writable(dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("data directory {} cannot be created", dir.display()))?;
    let probe = dir.join(".write-test");
    std::fs::write(&probe, b"").with_context(|| format!("data directory {} is not writable", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}
