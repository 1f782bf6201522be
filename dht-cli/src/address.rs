//! Addresses given on the command line: `HOST:PORT` with a host name or
//! an IP address, resolved when the command runs.

use anyhow::{bail, Context};
use std::net::SocketAddr;

/// Every address `spec` (`HOST:PORT`) resolves to, or an error naming it.
pub async fn resolve(spec: &str) -> anyhow::Result<Vec<SocketAddr>> {
    if let Ok(addr) = spec.parse::<SocketAddr>() {
        return Ok(vec![addr]);
    }
    if spec.rsplit_once(':').is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err()) {
        bail!("{spec:?} is not HOST:PORT (e.g. seed.example.org:4000 or 192.0.2.7:4000)");
    }
    let addrs: Vec<SocketAddr> =
        tokio::net::lookup_host(spec).await.with_context(|| format!("cannot resolve {spec}"))?.collect();
    if addrs.is_empty() {
        bail!("{spec} resolves to no address");
    }
    Ok(addrs)
}

/// Every address of every spec, in order, each once.
pub async fn resolve_all(specs: &[String]) -> anyhow::Result<Vec<SocketAddr>> {
    let mut all = Vec::new();
    for spec in specs {
        for addr in resolve(spec).await? {
            if !all.contains(&addr) {
                all.push(addr);
            }
        }
    }
    Ok(all)
}

/// The one address a client dials: the first `spec` resolves to.
pub async fn resolve_one(spec: &str) -> anyhow::Result<SocketAddr> {
    resolve(spec).await?.into_iter().next().with_context(|| format!("{spec} resolves to no address"))
}
