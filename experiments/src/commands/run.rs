//! `distillery run` and `distillery reproduce`: the (experiment × seed) list, sharded, each
//! finished run saved at once, finished runs with the same config hash reused.

use std::fmt;
use std::str::FromStr;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use nn::data::Discovery;
use nn::store::ModelStore;

use crate::cli::{ReproduceArgs, RunArgs};
use crate::experiment::{
    missing_data, resolve, DynExperiment, Progress, ProgressMode, Protocol, Resolved, RunContext,
    RunFile, RunState, RUN_FORMAT,
};
use crate::experiments;
use crate::results::{
    render_experiment, render_index, write_json, write_text, Plan, Skipped, Tree,
};

/// The `I`-th of `N` slices of the run list: runs `k` (0-based, in list order) with
/// `k mod N = I − 1`. Round-robin, so that each experiment's seeds spread over the shards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// `I`, from 1.
    pub index: usize,
    /// `N`.
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let err = || format!("expected I/N with 1 ≤ I ≤ N (e.g. 2/4), got `{s}`");
        let (i, n) = s.split_once('/').ok_or_else(err)?;
        let index: usize = i.trim().parse().map_err(|_| err())?;
        let count: usize = n.trim().parse().map_err(|_| err())?;
        if index == 0 || index > count {
            return Err(err());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Whether run `k` of the list is in this shard.
    pub fn contains(&self, k: usize) -> bool {
        k % self.count == self.index - 1
    }
}

/// One experiment to run: its config and seeds.
pub struct Job {
    /// The experiment.
    pub exp: &'static dyn DynExperiment,
    /// Its resolved config.
    pub config: Resolved,
    /// The seeds to run.
    pub seeds: Vec<u64>,
}

/// `distillery run`.
pub fn run_command(args: &RunArgs) -> Result<()> {
    let exp = experiments::find(&args.name)?;
    let protocol = Protocol::from_quick(args.common.quick);
    let config = resolve(exp, protocol, args.config.as_deref(), &args.sets)?;
    if args.print_config {
        print!("{}", config.render(exp));
        return Ok(());
    }
    let discovery = discover(&args.common)?;
    // Asked for by name, an experiment that cannot run is an error (`reproduce` skips it).
    let missing = missing_data(&exp.data(&config.table)?, &discovery);
    if !missing.is_empty() {
        let lines: Vec<String> = missing
            .iter()
            .map(|m| format!("{} is missing; get it with `{}`", m.what, m.fix))
            .collect();
        bail!(
            "experiment {} cannot run here:\n  {}",
            args.name,
            lines.join("\n  ")
        );
    }
    let jobs = [Job {
        exp,
        config,
        seeds: args.common.seed_list(),
    }];
    let tree = Tree::new(&args.common.out);
    execute(&jobs, &tree, None, &discovery, &store(&tree, &args.common))
}

/// `distillery reproduce`.
pub fn reproduce_command(args: &ReproduceArgs) -> Result<()> {
    let protocol = Protocol::from_quick(args.common.quick);
    let jobs = experiments::select(args.only.as_deref())?
        .into_iter()
        .map(|exp| {
            Ok(Job {
                exp,
                config: resolve(exp, protocol, None, &[])?,
                seeds: args.common.seed_list(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let discovery = discover(&args.common)?;
    let tree = Tree::new(&args.common.out);
    execute(
        &jobs,
        &tree,
        args.shard,
        &discovery,
        &store(&tree, &args.common),
    )
}

/// The tree's model store (`OUT/models/`), ignoring the models stored before this command when
/// `--retrain` is given.
fn store(tree: &Tree, common: &crate::cli::Common) -> ModelStore {
    ModelStore::new(tree.models_dir()).retraining(common.retrain)
}

fn discover(common: &crate::cli::Common) -> Result<Discovery> {
    let discovery = nn::data::discover(common.data_dir.as_deref())?;
    for warning in discovery.warnings() {
        eprintln!("warning: {warning}");
    }
    Ok(discovery)
}

/// Runs the jobs' runs that fall in `shard`, then renders the jobs' outputs and `REPORT.md`.
/// A failed run does not stop the others; the command then fails, naming them.
pub fn execute(
    jobs: &[Job],
    tree: &Tree,
    shard: Option<Shard>,
    discovery: &Discovery,
    store: &ModelStore,
) -> Result<()> {
    for job in jobs {
        let name = job.exp.info().name;
        tree.create(name)?;
        let plan = Plan {
            experiment: name.to_owned(),
            protocol: job.config.protocol,
            config_hash: job.config.hash.clone(),
            seeds: job.seeds.clone(),
        };
        write_json(&tree.file(name, "plan.json"), &plan)?;
        write_text(&tree.file(name, "config.toml"), &job.config.render(job.exp))?;
    }
    let list: Vec<(&Job, u64)> = jobs
        .iter()
        .flat_map(|job| job.seeds.iter().map(move |&seed| (job, seed)))
        .collect();
    let mine: Vec<(&Job, u64)> = list
        .iter()
        .enumerate()
        .filter(|(k, _)| shard.is_none_or(|s| s.contains(*k)))
        .map(|(_, &pair)| pair)
        .collect();
    if let Some(s) = shard {
        println!(
            "shard {s}: {} of the {} runs (experiment × seed)",
            mine.len(),
            list.len()
        );
    }
    let mode = ProgressMode::detect();
    let mut failures = Vec::new();
    let mut position = 0;
    for job in jobs {
        let name = job.exp.info().name;
        let seeds: Vec<u64> = mine
            .iter()
            .filter(|(j, _)| std::ptr::eq(*j, job))
            .map(|&(_, s)| s)
            .collect();
        if seeds.is_empty() {
            continue;
        }
        let skipped_path = tree.file(name, "skipped.json");
        let missing = missing_data(&job.exp.data(&job.config.table)?, discovery);
        if !missing.is_empty() {
            for m in &missing {
                println!(
                    "skipped: {name}: {} is missing; get it with `{}`",
                    m.what, m.fix
                );
            }
            write_json(&skipped_path, &Skipped { missing })?;
            position += seeds.len();
            continue;
        }
        if skipped_path.exists() {
            std::fs::remove_file(&skipped_path)
                .with_context(|| format!("cannot remove {}", skipped_path.display()))?;
        }
        for seed in seeds {
            position += 1;
            let label = format!("[{position}/{}] {name} seed {seed}", mine.len());
            if let Err(e) = run_one(job, seed, tree, discovery, store, mode, &label)? {
                eprintln!("FAILED: {name} seed {seed}: {e:#}");
                failures.push(format!("{name} seed {seed}: {e:#}"));
            }
        }
    }
    for job in jobs {
        render_experiment(tree, job.exp)?;
    }
    render_index(tree, &experiments::all())?;
    println!("report: {}", tree.root().join("REPORT.md").display());
    if !failures.is_empty() {
        bail!(
            "{} run(s) failed (the others were saved; re-run the same command to retry only \
             these):\n  {}",
            failures.len(),
            failures.join("\n  ")
        );
    }
    Ok(())
}

/// Runs one seed unless a run with the same config hash is saved. The outer error is a
/// failure to read or write the tree (fatal); the inner one a failure of the run itself.
///
/// While it runs, its trainings keep their state in `OUT/NAME/.partial/SEED/` under the config
/// hash and seed, so that the same command after a crash continues from the last saved epoch;
/// the directory is deleted once the run is saved.
fn run_one(
    job: &Job,
    seed: u64,
    tree: &Tree,
    discovery: &Discovery,
    store: &ModelStore,
    mode: ProgressMode,
    label: &str,
) -> Result<Result<()>> {
    let name = job.exp.info().name;
    let path = tree.run_path(name, seed);
    match tree.run(name, seed) {
        Ok(Some(done)) if done.config_hash == job.config.hash => {
            println!(
                "skipped: already done: {name} seed {seed} ({})",
                path.display()
            );
            return Ok(Ok(()));
        }
        Ok(Some(_)) => println!("{name} seed {seed}: the config changed since it ran; re-running"),
        Ok(None) => {}
        Err(e) => eprintln!("warning: {e:#}; re-running"),
    }
    let start = Instant::now();
    let state = RunState {
        dir: tree.partial_dir(name, seed),
        identity: format!("{name} {} seed {seed}", job.config.hash),
    };
    let record = {
        let mut progress = Progress::new(mode, label);
        job.exp
            .run(
                &job.config.table,
                seed,
                &RunContext::new(discovery, store, Some(state.clone()))
                    .with_figures(tree.figures_dir(name)),
                &mut progress,
            )
            .and_then(|r| r.check_finite().map(|()| r))
    };
    let record = match record {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    let wall_time_s = start.elapsed().as_secs_f64();
    let file = RunFile {
        format: RUN_FORMAT,
        experiment: name.to_owned(),
        seed,
        protocol: job.config.protocol,
        config_hash: job.config.hash.clone(),
        wall_time_s,
        record,
    };
    write_json(&path, &file)?;
    if state.dir.exists() {
        std::fs::remove_dir_all(&state.dir).with_context(|| {
            format!(
                "the run is saved, but its partial state {} cannot be removed",
                state.dir.display()
            )
        })?;
    }
    println!("done: {name} seed {seed} in {wall_time_s:.2} s");
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_partition_the_list() {
        assert_eq!("2/4".parse(), Ok(Shard { index: 2, count: 4 }));
        for bad in ["0/2", "3/2", "1", "a/b", "1/0", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        let shards: Vec<Shard> = (1..=3).map(|i| Shard { index: i, count: 3 }).collect();
        for k in 0..10 {
            assert_eq!(shards.iter().filter(|s| s.contains(k)).count(), 1, "{k}");
        }
        assert!(shards[0].contains(0) && shards[1].contains(1) && shards[0].contains(3));
    }
}
