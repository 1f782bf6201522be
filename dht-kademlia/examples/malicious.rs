//! Prints the malicious-node table: success of lookups and gets with 10–30%
//! of the nodes colluding, for 1, 2, 4 and 8 disjoint paths.
//! `NODES` (default 1000) and `TRIALS` (default 200) set the size.
#![allow(clippy::print_stdout)] // an example prints its table

#[path = "../tests/common/malicious.rs"]
mod malicious;

fn main() {
    let env = |name: &str, default: usize| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let (nodes, trials) = (env("NODES", 1000), env("TRIALS", 200));
    println!("{nodes} nodes, {trials} trials each; lookup success = found the closest honest node");
    println!("k   malicious  paths  lookups  gets   msgs/lookup");
    for k in [8, 20] {
        for fraction in [0.1, 0.2, 0.3, 0.4, 0.5] {
            for paths in [1, 2, 4, 8] {
                let o = malicious::run(nodes, k, fraction, paths, trials, 7);
                let share = fraction * 100.0;
                println!("{k:<3} {share:>8.0}%  {paths:>5}  {:>7.3}  {:>5.3}  {:>11.1}", o.lookups, o.gets, o.messages);
            }
        }
    }
}
