//! The results tree, on disk:
//!
//! ```text
//! OUT/REPORT.md                    every experiment of the tree, linked, with its status
//! OUT/NAME/plan.json               protocol, config hash and seeds asked for
//! OUT/NAME/config.toml             the exact config, commented (reusable with --config)
//! OUT/NAME/runs/SEED.json          one finished run (written as soon as it finishes)
//! OUT/NAME/skipped.json            what data were missing, and how to get them
//! OUT/NAME/summary.csv             final metrics, mean ± std over the seeds
//! OUT/NAME/report.md               our numbers next to the published ones, plots, notes
//! OUT/NAME/METRIC.svg, METRIC.png  curves per epoch, mean ± std over seeds
//! OUT/NAME/FILE.svg, FILE.png      heat maps of a final metric over a grid of settings
//! OUT/NAME/figures/*.png           image figures a run writes (samples, reconstructions, grids)
//! OUT/NAME/.partial/SEED/          an unfinished run's per-epoch state (deleted when it ends)
//! OUT/models/NAME-HASH.*           trained teachers and source models (nn::store), shared by
//!                                  the experiments and seeds of the tree
//! ```
//!
//! Runs and plans are the source of truth; everything else is rendered from them
//! ([`render`]), so a tree merged from several shards renders exactly as one machine's would.
//! Every file is written atomically (temporary file, then rename).

mod heatmap;
mod images;
mod index;
mod plot;
mod report;
mod stats;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::experiment::{DynExperiment, Missing, Protocol, RunFile};

pub use images::{write_image_grid, GreyScale, ImageRow};
pub use index::render_index;
pub use report::render_experiment;

/// `plan.json`: what was asked for an experiment. Identical on every shard of one command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The experiment's name.
    pub experiment: String,
    /// Full or quick.
    pub protocol: Protocol,
    /// The config hash runs must match.
    pub config_hash: String,
    /// The seeds asked for.
    pub seeds: Vec<u64>,
}

/// `skipped.json`: the data that were missing where the experiment was due to run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// Each missing data set and its fix.
    pub missing: Vec<Missing>,
}

/// A results directory.
#[derive(Clone, Debug)]
pub struct Tree {
    root: PathBuf,
}

impl Tree {
    /// The tree at `root` (not created yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Tree { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `OUT/NAME`.
    pub fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// `OUT/NAME/FILE`.
    pub fn file(&self, name: &str, file: &str) -> PathBuf {
        self.dir(name).join(file)
    }

    /// `OUT/NAME/runs/SEED.json`.
    pub fn run_path(&self, name: &str, seed: u64) -> PathBuf {
        self.dir(name).join("runs").join(format!("{seed}.json"))
    }

    /// `OUT/NAME/.partial/SEED/`: the state of an unfinished run.
    pub fn partial_dir(&self, name: &str, seed: u64) -> PathBuf {
        self.dir(name).join(".partial").join(seed.to_string())
    }

    /// `OUT/NAME/figures/`: the image figures the runs of `name` write.
    pub fn figures_dir(&self, name: &str) -> PathBuf {
        self.dir(name).join("figures")
    }

    /// `OUT/models/`: the store of trained models (`nn::store`).
    pub fn models_dir(&self) -> PathBuf {
        self.root.join("models")
    }

    /// Creates `OUT/NAME/runs/`, with an error that says what to pass instead.
    pub fn create(&self, name: &str) -> Result<()> {
        let runs = self.dir(name).join("runs");
        fs::create_dir_all(&runs).with_context(|| {
            format!(
                "cannot create the output directory {}: pass --out DIR naming a directory you \
                 can write to",
                runs.display()
            )
        })
    }

    /// The plan of `name`, if the tree has one.
    pub fn plan(&self, name: &str) -> Result<Option<Plan>> {
        read_json(&self.file(name, "plan.json"))
    }

    /// The skip record of `name`, if any.
    pub fn skipped(&self, name: &str) -> Result<Option<Skipped>> {
        read_json(&self.file(name, "skipped.json"))
    }

    /// The finished run of `name` with `seed`, if any.
    pub fn run(&self, name: &str, seed: u64) -> Result<Option<RunFile>> {
        read_json(&self.run_path(name, seed))
    }

    /// The experiments of `registry` that have a plan in this tree, in registry order.
    pub fn experiments(
        &self,
        registry: &[&'static dyn DynExperiment],
    ) -> Vec<&'static dyn DynExperiment> {
        registry
            .iter()
            .copied()
            .filter(|e| self.file(e.info().name, "plan.json").is_file())
            .collect()
    }
}

/// Reads and parses a JSON file; `None` if it does not exist.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    serde_json::from_str(&text).map(Some).with_context(|| {
        format!(
            "{} is not a valid distillery results file; delete it (it is recomputed) or pass \
             another --out",
            path.display()
        )
    })
}

/// Writes `text` to `path` atomically.
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    nn::data::write_atomic(path, |w| w.write_all(text.as_bytes()))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Writes `value` as pretty JSON to `path` atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).context("serialising JSON")?;
    text.push('\n');
    write_text(path, &text)
}

/// Renders every derived file of the experiments of `registry` in the tree, and `REPORT.md`.
pub fn render(tree: &Tree, registry: &[&'static dyn DynExperiment]) -> Result<()> {
    for exp in tree.experiments(registry) {
        render_experiment(tree, exp)?;
    }
    render_index(tree, registry)
}
