//! The `distillery` command.
//!
//! ```text
//! cli.rs           the command line (clap)
//! experiment/      the frame: the Experiment trait, configs, run records, data needs, progress
//! experiments/     the registry, and one file per experiment
//! results/         the results tree: plans, runs, summary.csv, report.md, plots, REPORT.md
//! commands/        run and reproduce, report (merging shards), data
//! verify/          the registry of numerical checks and `distillery verify`
//! bench/           `distillery bench`
//! ```

mod bench;
mod cli;
mod commands;
mod experiment;
mod experiments;
mod malloc;
mod results;
mod verify;

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use cli::{Cli, Command, DataAction};

/// Runs the command; an error is printed as `error: …` with its causes (no backtrace, even
/// with `RUST_BACKTRACE` set: these are messages for users, not crashes) and exits with 1.
fn main() -> ExitCode {
    end_quietly_on_closed_pipe();
    malloc::keep_freed_memory();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Output into a pipe whose reader has gone (`distillery list | head`) ends the process
/// quietly, as it ends `ls` or `cat`: Rust's runtime ignores SIGPIPE, so such a write returns
/// an error, which `println!` turns into a panic and its backtrace. With the default action
/// restored the kernel ends the process at that write instead; a `reproduce` cut off so loses
/// nothing written (each result file is renamed into place whole, and the next run resumes).
fn end_quietly_on_closed_pipe() {
    #[cfg(any(target_os = "linux", target_os = "macos"))]
    {
        // <signal.h>: sighandler_t signal(int signum, sighandler_t handler)
        extern "C" {
            fn signal(signum: i32, handler: usize) -> usize;
        }
        const SIGPIPE: i32 = 13;
        const SIG_DFL: usize = 0;
        // SAFETY: called at start-up, before any other thread exists; restoring a signal's
        // default action has no other effect.
        unsafe {
            signal(SIGPIPE, SIG_DFL);
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let threads = match cli.threads {
        Some(n) => n as usize,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    // The command itself runs on a thread of the pool. Called from outside, every parallel
    // kernel would be handed to a pool thread while the caller sleeps on a latch: a futex
    // round trip per op (measured: half of a one-thread LeNet step was spent so), and with one
    // thread a second thread doing the work of the first.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("could not start the thread pool")?;
    pool.install(|| dispatch(cli.command, threads))
}

/// Runs one subcommand (on a thread of the rayon pool of `threads` threads).
fn dispatch(command: Command, threads: usize) -> Result<()> {
    match command {
        Command::Reproduce(args) => commands::run::reproduce_command(&args),
        Command::Run(args) => commands::run::run_command(&args),
        Command::Report(args) => commands::report::report_command(&args),
        Command::Models(args) => commands::models::models_command(&args),
        Command::List => {
            for exp in experiments::all() {
                let info = exp.info();
                println!(
                    "{}\n    {}\n    reproduces: {}\n",
                    info.name, info.description, info.reproduces
                );
            }
            Ok(())
        }
        Command::Verify(args) => verify::run_checks(&verify::VerifyOptions {
            json: args.json,
            only: args.only,
            list: args.list,
        }),
        Command::Explain { name } => commands::explain::explain_command(name.as_deref()),
        Command::Data { action } => match action {
            DataAction::Check { data_dir } => commands::data::check(data_dir.as_deref()),
            DataAction::Fetch { names, data_dir } => {
                commands::data::fetch(&names, data_dir.as_deref())
            }
        },
        Command::Bench {
            json,
            only,
            min_time,
            list,
            rss_child,
            rss_steps,
        } => {
            if let (Some(name), Some(steps)) = (rss_child, rss_steps) {
                return bench::rss_child(&name, steps);
            }
            if list {
                for w in bench::all_workloads() {
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
