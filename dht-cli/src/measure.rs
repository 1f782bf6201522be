//! What the measuring commands share: percentiles, peak memory and a
//! progress bar.

use std::io::{IsTerminal, Write};

/// The `p`-th percentile (nearest rank) of `values`; 0 when empty.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(((p / 100.0 * v.len() as f64).ceil() as usize).clamp(1, v.len().max(1)) - 1).copied().unwrap_or(0.0)
}

/// The process's peak resident memory, from `/proc/self/status` (`None`
/// where there is no such file).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: f64 = status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// A one-line progress bar on stderr, shown only on a terminal and never
/// with `--json`.
pub struct Progress {
    shown: bool,
}

impl Progress {
    pub fn new(json: bool) -> Progress {
        Progress { shown: !json && std::io::stderr().is_terminal() }
    }

    pub fn show(&self, what: &str, done: usize, total: usize) {
        if self.shown {
            let width = 30;
            let filled = width * done.min(total) / total.max(1);
            eprint!("\r{what:<22} [{}{}] {done}/{total}", "#".repeat(filled), " ".repeat(width - filled));
            let _ = std::io::stderr().flush();
            if done == total {
                eprintln!();
            }
        }
    }
}
