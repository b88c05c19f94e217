//! The command line: subcommands and their options.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::commands::run::Shard;

/// Seeds per experiment of the full protocol: the seed works average every figure over 5 runs.
pub const FULL_SEEDS: u64 = 5;
/// Seeds per experiment with `--quick`: the fewest that still give a standard deviation.
pub const QUICK_SEEDS: u64 = 2;

/// distillery: knowledge transfer from first principles, on a CPU.
#[derive(Parser)]
#[command(version, about)]
pub struct Cli {
    /// Threads for the numeric kernels (rayon pool size); default: all cores.
    #[arg(long, global = true, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: Option<u32>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run every experiment (or those of --only) with every seed into OUT/, resuming finished runs, and write OUT/REPORT.md.
    Reproduce(ReproduceArgs),
    /// Run one experiment, its hyperparameters from defaults, a TOML file and --set.
    Run(RunArgs),
    /// Merge results directories (e.g. the shards of `reproduce --shard`) into one and write its REPORT.md.
    Report(ReportArgs),
    /// List the experiments: name, what each reproduces, one sentence each.
    List,
    /// List the trained models stored under OUT/models/ (teachers, source models) and the experiments that used them.
    Models(ModelsArgs),
    /// Run the numerical checks (gradients of every op and layer, known answers, theorems).
    Verify(VerifyArgs),
    /// Explain an op of the engine (formula, forward and VJP file:line, the VJP in words, a live gradcheck at orders 1 and 2); without NAME, list them.
    Explain { name: Option<String> },
    /// Find, check or download the data sets.
    Data {
        #[command(subcommand)]
        action: DataAction,
    },
    /// Time the benchmark workloads of docs/performance.md (JSON for benches/compare.py).
    Bench {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
        /// Only these workloads (comma-separated names; see --list).
        #[arg(long, value_delimiter = ',')]
        only: Option<Vec<String>>,
        /// Seconds that the timed blocks of one workload last together.
        #[arg(long, default_value_t = 1.0)]
        min_time: f64,
        /// Print the workload names and exit.
        #[arg(long)]
        list: bool,
        /// Internal: run this workload's step `--rss-steps` times in this (child) process and
        /// print its peak resident memory in MiB (for the `peak_rss_*` workloads).
        #[arg(long, hide = true, requires = "rss_steps")]
        rss_child: Option<String>,
        /// Internal: see `--rss-child`.
        #[arg(long, hide = true)]
        rss_steps: Option<usize>,
    },
}

/// Options shared by `run` and `reproduce`.
#[derive(Args, Clone)]
pub struct Common {
    /// The reduced protocol: finishes in seconds to minutes; every output is labelled QUICK.
    #[arg(long)]
    pub quick: bool,
    /// Seeds per experiment (seeds 0..N) [default: 5, or 2 with --quick].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub seeds: Option<u64>,
    /// The results directory.
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub out: PathBuf,
    /// A directory holding fashion-mnist/, mnist/ or mnist-10k/ (searched first).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Train teachers and source models again instead of loading them from OUT/models/ (each
    /// once per command; the new ones replace the stored ones).
    #[arg(long)]
    pub retrain: bool,
}

impl Common {
    /// The seeds to run.
    pub fn seed_list(&self) -> Vec<u64> {
        let n = self
            .seeds
            .unwrap_or(if self.quick { QUICK_SEEDS } else { FULL_SEEDS });
        (0..n).collect()
    }
}

#[derive(Args)]
pub struct ReproduceArgs {
    #[command(flatten)]
    pub common: Common,
    /// Only these experiments (comma-separated names; `distillery list` prints them).
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    pub only: Option<Vec<String>>,
    /// Run only the I-th of N slices of the (experiment × seed) list, e.g. 2/4 (for job arrays).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
}

#[derive(Args)]
pub struct RunArgs {
    /// The experiment (`distillery list` prints them).
    pub name: String,
    #[command(flatten)]
    pub common: Common,
    /// A TOML file setting any of the config's keys (see --print-config).
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// Sets one key, after --config (repeatable): --set epochs=20 --set learning_rate=0.05.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Print the config (defaults, or as --quick/--config/--set make it) with every key's documentation, and exit.
    #[arg(long)]
    pub print_config: bool,
}

#[derive(Args)]
pub struct ModelsArgs {
    /// The results directory whose models/ to list.
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub out: PathBuf,
    /// Also print each model's identity: architecture, training config, seed, data checksums.
    #[arg(long, short)]
    pub verbose: bool,
}

#[derive(Args)]
pub struct ReportArgs {
    /// Results directories to merge (each written by `run` or `reproduce`).
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Where the merged tree and its REPORT.md go [default: the only DIR, in place].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// One JSON object per check instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Only these checks or groups (comma-separated: `known`, `op/exp`, `layer/linear/1`).
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    pub only: Option<Vec<String>>,
    /// Print every check's name and statement, run nothing.
    #[arg(long)]
    pub list: bool,
}

#[derive(Subcommand)]
pub enum DataAction {
    /// Where each data set was found, and the checksum of every file.
    Check {
        /// A directory holding fashion-mnist/, mnist/ or mnist-10k/ (searched first).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Download data sets (default: fashion-mnist and mnist), verified by checksum.
    Fetch {
        /// Which: fashion-mnist, mnist.
        #[arg(value_name = "NAME")]
        names: Vec<String>,
        /// Download into DIR instead of the cache (~/.cache/distillery).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
}
