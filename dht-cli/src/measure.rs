//! What the measuring commands share: percentiles, peak memory and a
//! progress bar.

use std::io::{IsTerminal, Write};
use std::time::Duration;

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

/// CPU time the process has used, user and system, from `/proc/self/stat`
/// (`None` where there is no such file). Counted in the kernel's clock
/// ticks of 10 ms (`USER_HZ` is 100 on Linux), so measure phases of
/// seconds.
pub fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after it.
    Some(Duration::from_millis((ticks(11)? + ticks(12)?) * 10))
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
