//! What the measuring commands share: percentiles, peak memory and a
//! progress bar.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
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

/// Progress bars on stderr, one line per phase, shown only on a terminal
/// and never with `--json`.
pub struct Progress {
    shown: bool,
}

impl Progress {
    pub fn new(json: bool) -> Progress {
        Progress { shown: !json && std::io::stderr().is_terminal() }
    }

    /// A bar for a phase of `total` steps, counted as `done/total`; the
    /// caller advances it and calls `finish` to leave its line.
    pub fn phase(&self, what: &str, total: usize) -> ProgressBar {
        self.bar(what, total, "{prefix:<22} [{bar:30}] {pos}/{len} {wide_msg}")
    }

    /// A bar for a simulated run of `total` steps (nodes to add, then
    /// operations to finish), in percent, with what the run reports in
    /// its message.
    pub fn run(&self, what: &str, total: usize) -> ProgressBar {
        self.bar(what, total, "{prefix:<16} [{bar:30}] {percent:>3}% {elapsed:>4} {wide_msg}")
    }

    fn bar(&self, what: &str, total: usize, template: &str) -> ProgressBar {
        if !self.shown {
            return ProgressBar::hidden();
        }
        let style = ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        bar.set_style(style.progress_chars("#> "));
        bar.set_prefix(what.to_owned());
        bar
    }
}
