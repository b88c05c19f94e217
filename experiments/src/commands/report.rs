//! `distillery report DIR...`: merges results trees (the shards of `reproduce --shard`, or
//! trees written on different machines) into one, then renders it. The merged tree holds the
//! same plans, configs and run files as a single machine's would, so it renders the same.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::cli::ReportArgs;
use crate::experiments;
use crate::results::{render, write_text, Tree};

/// `distillery report`.
pub fn report_command(args: &ReportArgs) -> Result<()> {
    let out = match (&args.out, args.dirs.as_slice()) {
        (Some(out), _) => out.clone(),
        (None, [only]) => only.clone(),
        (None, _) => bail!(
            "merging {} directories needs --out DIR for the merged tree",
            args.dirs.len()
        ),
    };
    merge(&args.dirs, &out)?;
    println!("report: {}", out.join("REPORT.md").display());
    Ok(())
}

/// Merges `inputs` into `out` and renders `out`.
pub fn merge(inputs: &[PathBuf], out: &Path) -> Result<()> {
    for dir in inputs {
        if !dir.is_dir() {
            bail!(
                "{} is not a directory: pass results directories written by `distillery run` \
                 or `reproduce`",
                dir.display()
            );
        }
    }
    let registry = experiments::all();
    let out_tree = Tree::new(out);
    let trees: Vec<Tree> = inputs.iter().map(Tree::new).collect();
    let mut found_any = false;
    for exp in &registry {
        let name = exp.info().name;
        let mut plans = Vec::new();
        for tree in &trees {
            if let Some(plan) = tree.plan(name)? {
                plans.push((tree, plan));
            }
        }
        let Some((first_tree, first)) = plans.first().cloned() else {
            continue;
        };
        found_any = true;
        for (tree, plan) in &plans[1..] {
            if plan != &first {
                bail!(
                    "the trees disagree on experiment {name}: {} has protocol {}, config hash \
                     {}, seeds {:?}, but {} has {}, {}, {:?}. Merge only shards of one command \
                     (same --quick, --seeds and configs)",
                    first_tree.root().display(),
                    first.protocol,
                    first.config_hash,
                    first.seeds,
                    tree.root().display(),
                    plan.protocol,
                    plan.config_hash,
                    plan.seeds
                );
            }
        }
        out_tree.create(name)?;
        for file in ["plan.json", "config.toml"] {
            copy(&first_tree.file(name, file), &out_tree.file(name, file))?;
        }
        if let Some((tree, _)) = plans
            .iter()
            .find(|(t, _)| t.file(name, "skipped.json").exists())
        {
            copy(
                &tree.file(name, "skipped.json"),
                &out_tree.file(name, "skipped.json"),
            )?;
        }
        for &seed in &first.seeds {
            let source = plans
                .iter()
                .find_map(|(tree, plan)| match tree.run(name, seed) {
                    Ok(Some(run)) if run.config_hash == plan.config_hash => Some(Ok(*tree)),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                });
            if let Some(tree) = source.transpose()? {
                copy(&tree.run_path(name, seed), &out_tree.run_path(name, seed))?;
            }
        }
        // every run of a config writes the same figures: take them from the first tree with any
        if let Some((tree, _)) = plans.iter().find(|(t, _)| t.figures_dir(name).is_dir()) {
            copy_figures(&tree.figures_dir(name), &out_tree.figures_dir(name))?;
        }
    }
    if !found_any {
        bail!(
            "no experiment results found in {}: expected NAME/plan.json inside",
            inputs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for tree in &trees {
        for name in unknown_dirs(tree.root(), &registry)? {
            eprintln!(
                "warning: {} is not a registered experiment; ignored",
                tree.root().join(name).display()
            );
        }
    }
    render(&out_tree, &registry)
}

/// Copies `from` to `to` atomically, unless they are the same file.
fn copy(from: &Path, to: &Path) -> Result<()> {
    if let (Ok(a), Ok(b)) = (fs::canonicalize(from), fs::canonicalize(to)) {
        if a == b {
            return Ok(());
        }
    }
    let text =
        fs::read_to_string(from).with_context(|| format!("cannot read {}", from.display()))?;
    write_text(to, &text)
}

/// Copies every file of the figures directory `from` into `to` (created), atomically each,
/// unless they are the same directory.
fn copy_figures(from: &Path, to: &Path) -> Result<()> {
    if let (Ok(a), Ok(b)) = (fs::canonicalize(from), fs::canonicalize(to)) {
        if a == b {
            return Ok(());
        }
    }
    fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let path = entry
            .with_context(|| format!("cannot read {}", from.display()))?
            .path();
        let (Some(file), true) = (path.file_name(), path.is_file()) else {
            continue;
        };
        if file.to_string_lossy().starts_with('.') {
            continue; // a temporary file of an interrupted write
        }
        let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let dest = to.join(file);
        nn::data::write_atomic(&dest, |w| w.write_all(&bytes))
            .with_context(|| format!("cannot write {}", dest.display()))?;
    }
    Ok(())
}

/// Subdirectories with a plan.json that no registered experiment claims.
fn unknown_dirs(
    root: &Path,
    registry: &[&'static dyn crate::experiment::DynExperiment],
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(root).with_context(|| format!("cannot list {}", root.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().join("plan.json").is_file()
            && !registry.iter().any(|e| e.info().name == name)
        {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}
