//! `distillery bench`: the benchmark workloads of `docs/performance.md`, timed with its protocol
//! and printed as its JSON, so that `benches/compare.py` can set them beside PyTorch's.
//!
//! Protocol: at least [`WARMUP`] untimed calls, then the repetition count is grown until one
//! block lasts `min_time / BLOCKS`; the figure is the median over [`BLOCKS`] timed blocks.

mod hypergradient;
mod hypernet;
mod methods;
mod peak;
mod variational;
mod wasserstein;
mod workloads;

use std::time::Instant;

use anyhow::{bail, Result};

pub use methods::METHOD_WORKLOADS;
pub use workloads::WORKLOADS;

/// Every workload: the kernels' ([`WORKLOADS`]), then the methods' ([`METHOD_WORKLOADS`]).
pub fn all_workloads() -> impl Iterator<Item = &'static Workload> {
    WORKLOADS.iter().chain(METHOD_WORKLOADS)
}

/// Untimed calls before calibration.
pub const WARMUP: usize = 3;
/// Timed blocks; the figure is their median.
pub const BLOCKS: usize = 5;

/// How a workload's seconds per call become its figure.
pub enum Metric {
    /// `count` things (samples, HVPs, GFLOP) per second; higher is better.
    PerSecond { unit: &'static str, count: f64 },
    /// Microseconds per op, for `ops` ops per call; lower is better.
    MicrosPerOp { ops: f64 },
    /// Peak resident memory (MiB) of a fresh process that runs workload `of` for `steps`
    /// steps; lower is better. Measured in a child process, so that nothing else this process
    /// did counts.
    PeakMiB { of: &'static str, steps: usize },
}

impl Metric {
    fn unit(&self) -> &'static str {
        match self {
            Metric::PerSecond { unit, .. } => unit,
            Metric::MicrosPerOp { .. } => "us/op",
            Metric::PeakMiB { .. } => "MiB",
        }
    }

    fn higher_is_better(&self) -> bool {
        matches!(self, Metric::PerSecond { .. })
    }

    fn figure(&self, seconds: f64) -> f64 {
        match self {
            Metric::PerSecond { count, .. } => count / seconds,
            Metric::MicrosPerOp { ops } => seconds / ops * 1e6,
            Metric::PeakMiB { .. } => unreachable!("measured in a child process, not timed"),
        }
    }
}

/// A prepared workload: the call to time and how to report it.
pub struct Prepared {
    pub step: Box<dyn FnMut()>,
    pub metric: Metric,
}

/// A named workload and how to prepare it.
pub struct Workload {
    pub name: &'static str,
    pub prepare: fn() -> Prepared,
}

/// The median over [`BLOCKS`] blocks of the seconds one call of `step` takes.
pub fn seconds_per_call(step: &mut dyn FnMut(), min_time: f64) -> f64 {
    for _ in 0..WARMUP {
        step();
    }
    let block_min = min_time / BLOCKS as f64;
    let time_block = |step: &mut dyn FnMut(), reps: usize| {
        let start = Instant::now();
        for _ in 0..reps {
            step();
        }
        start.elapsed().as_secs_f64()
    };
    let mut reps = 1;
    loop {
        let elapsed = time_block(step, reps);
        if elapsed >= block_min {
            break;
        }
        let grown = (reps as f64 * block_min / elapsed.max(1e-9)).ceil() as usize;
        reps = grown.max(reps * 2);
    }
    let mut times: Vec<f64> = (0..BLOCKS)
        .map(|_| time_block(step, reps) / reps as f64)
        .collect();
    times.sort_by(f64::total_cmp);
    times[BLOCKS / 2]
}

/// Options of one `bench` run.
pub struct Options {
    pub json: bool,
    pub only: Option<Vec<String>>,
    pub min_time: f64,
    pub threads: usize,
}

/// Runs the selected workloads and prints one line (JSON or a table row) for each.
pub fn run(opts: &Options) -> Result<()> {
    let selected: Vec<&Workload> = match &opts.only {
        None => all_workloads().collect(),
        Some(names) => {
            let unknown: Vec<&String> = names
                .iter()
                .filter(|n| !all_workloads().any(|w| w.name == n.as_str()))
                .collect();
            if !unknown.is_empty() {
                bail!(
                    "unknown workload(s) {unknown:?}; `distillery bench --list` prints the names"
                );
            }
            all_workloads()
                .filter(|w| names.iter().any(|n| n == w.name))
                .collect()
        }
    };
    if !opts.json {
        println!("{} thread(s)", opts.threads);
        println!("{:<28} {:<10} {:>14}", "name", "metric", "value");
    }
    for w in selected {
        let Prepared { mut step, metric } = (w.prepare)();
        let value = match metric {
            Metric::PeakMiB { of, steps } => peak_rss_in_child(of, steps, opts.threads)?,
            _ => metric.figure(seconds_per_call(&mut step, opts.min_time)),
        };
        if opts.json {
            let record = serde_json::json!({
                "name": w.name,
                "metric": metric.unit(),
                "value": value,
                "higher_is_better": metric.higher_is_better(),
                "threads": opts.threads,
            });
            println!("{record}");
        } else {
            let better = if metric.higher_is_better() {
                "higher"
            } else {
                "lower"
            };
            println!(
                "{:<28} {:<10} {:>14.3}   ({better} is better)",
                w.name,
                metric.unit(),
                value
            );
        }
    }
    Ok(())
}

/// Runs `distillery bench --rss-child OF --rss-steps STEPS` and reads the MiB it prints.
fn peak_rss_in_child(of: &str, steps: usize, threads: usize) -> Result<f64> {
    let exe = std::env::current_exe()?;
    let out = std::process::Command::new(&exe)
        .args([
            "--threads",
            &threads.to_string(),
            "bench",
            "--rss-child",
            of,
        ])
        .args(["--rss-steps", &steps.to_string()])
        .output()?;
    if !out.status.success() {
        bail!(
            "the peak-memory child ({} bench --rss-child {of}) failed: {}",
            exe.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("the peak-memory child printed {text:?}, not a number"))
}

/// The child side of a `PeakMiB` workload: `steps` calls of workload `name`, then the process's
/// peak resident set (`VmHWM` of /proc/self/status) in MiB on stdout.
pub fn rss_child(name: &str, steps: usize) -> Result<()> {
    let Some(w) = all_workloads().find(|w| w.name == name) else {
        bail!("unknown workload {name:?}; `distillery bench --list` prints the names");
    };
    let mut prepared = (w.prepare)();
    for _ in 0..steps {
        (prepared.step)();
    }
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| anyhow::anyhow!("peak memory needs Linux's /proc/self/status: {e}"))?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("/proc/self/status has no VmHWM line"))?;
    println!("{:.1}", kib / 1024.0);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every method workload prepares and runs one step without panicking (its `expect`s state
    /// what the fixed inputs guarantee), and every peak-memory entry names a workload, so a
    /// change of a method's API cannot leave the benchmark broken until someone times it. (The
    /// kernels' workloads call the kernels and layers whose results their own tests check.)
    /// Names must be unique across both lists.
    #[test]
    fn every_method_workload_runs_one_step() {
        for w in METHOD_WORKLOADS {
            assert_eq!(
                all_workloads().filter(|o| o.name == w.name).count(),
                1,
                "{} is not a unique name",
                w.name
            );
            let mut prepared = (w.prepare)();
            match prepared.metric {
                Metric::PeakMiB { of, .. } => {
                    assert!(all_workloads().any(|v| v.name == of), "{}: {of}", w.name)
                }
                _ => (prepared.step)(),
            }
        }
    }
}
