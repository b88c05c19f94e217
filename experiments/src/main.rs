//! The `distillery` command.

mod bench;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

/// distillery: knowledge transfer from first principles, on a CPU.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Threads for the numeric kernels (rayon pool size); default: all cores.
    #[arg(long, global = true, value_parser = clap::value_parser!(u32).range(1..=1024))]
    threads: Option<u32>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Time the benchmark workloads of docs/performance.md (JSON for ../shared/bench/compare.sh).
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
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let threads = match cli.threads {
        Some(n) => n as usize,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .context("could not start the thread pool")?;
    match cli.command {
        Command::Bench {
            json,
            only,
            min_time,
            list,
        } => {
            if list {
                for w in bench::WORKLOADS {
                    println!("{}", w.name);
                }
                return Ok(());
            }
            anyhow::ensure!(
                min_time > 0.0 && min_time.is_finite(),
                "--min-time must be a positive number of seconds, got {min_time}"
            );
            bench::run(&bench::Options {
                json,
                only,
                min_time,
                threads,
            })
        }
    }
}
