//! The experiment frame: what an experiment declares ([`Experiment`]), what one run returns
//! ([`RunRecord`]), and the type-erased form the registry, the CLI, the runner and the reports
//! use ([`DynExperiment`]).
//!
//! An experiment is a unit struct implementing [`Experiment`] in its own file under
//! `src/experiments/`, plus one line in the registry there. Its config is a struct declared with
//! [`config!`](crate::config); everything else (config files, `--set`, `--print-config`,
//! resuming, seeds, skipping when data are missing, `runs/<seed>.json`, summary, report, plots)
//! is done by the frame.

pub mod config;
mod context;
mod data;
mod erased;
pub mod progress;
mod record;
pub mod sections;
pub mod toml_config;

use std::fmt::Debug;

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use config::{ConfigError, Documented};
pub use context::{RunContext, RunState};
pub use data::{missing_data, DataNeed, Missing};
pub use erased::{resolve, DynExperiment, Resolved};
pub use progress::{EpochProgress, Progress, ProgressMode};
pub use record::{Protocol, RunFile, RunRecord, RUN_FORMAT};
pub use sections::{StudentConfig, TeacherConfig};

/// What an experiment is, for listings and reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    /// The registered name, `kebab-case`: `distillery run NAME`, `results/NAME/`.
    pub name: &'static str,
    /// One sentence: what is trained on what, and what is measured.
    pub description: &'static str,
    /// The seed work and the table or figure reproduced, e.g.
    /// "S4 (Grabovoy, 2021), probabilistic distillation table, synthetic rows".
    pub reproduces: &'static str,
    /// Bump when a code change alters the numbers of an unchanged config: finished runs of
    /// older revisions are then recomputed instead of reused.
    pub revision: u32,
}

/// A figure of the seed's table that a row of our report is compared with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Published {
    /// The published mean (or single value).
    pub mean: f64,
    /// The published standard deviation, when given.
    pub std: Option<f64>,
    /// Where it is printed, e.g. "S4, probabilistic distillation table".
    pub source: &'static str,
}

/// One row of the report's comparison table: our `metric` of `line`, mean ± std over seeds,
/// next to the published figure.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Compare {
    /// The row's label as in the seed's table, e.g. "synthetic, without teacher".
    pub label: &'static str,
    /// The [`RunRecord`] line it reads.
    pub line: &'static str,
    /// The [`RunRecord`] metric it reads (`snake_case`; shown with spaces).
    pub metric: &'static str,
    /// The published figure, if the seed gives one.
    pub published: Option<Published>,
    /// What differs in our reading of the protocol, or "".
    pub note: &'static str,
}

/// A plot of one metric's curves: one line per [`RunRecord`] line, mean over seeds with a
/// ±std band. Written as `METRIC.svg` and `METRIC.png`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlotSpec {
    /// The metric (`snake_case`), also the file name.
    pub metric: &'static str,
    /// The x axis: what one curve point is ("epoch").
    pub x_label: &'static str,
}

impl PlotSpec {
    /// The plot of `metric` against the epoch: the curves most experiments record.
    pub const fn per_epoch(metric: &'static str) -> PlotSpec {
        PlotSpec {
            metric,
            x_label: "epoch",
        }
    }
}

/// An image a run writes into `OUT/NAME/figures/` (through [`RunContext::figures_dir`]),
/// listed in the report with its caption when the file exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Figure {
    /// The file name inside `figures/`, e.g. `vae_pairs.png`.
    pub file: String,
    /// What it shows, and which figure of the seed it stands for.
    pub caption: String,
}

/// A heat map of one final metric over a grid of settings: each cell shows the mean over seeds
/// of the final `metric` of one [`RunRecord`] line. Written as `FILE.svg` and `FILE.png`, with
/// a table of mean ± std in the report.
#[derive(Clone, Debug, PartialEq)]
pub struct HeatmapSpec {
    /// The file name without extension (`snake_case`).
    pub file: String,
    /// The title above the map.
    pub title: String,
    /// The final metric shown (`snake_case`).
    pub metric: String,
    /// What the columns vary, e.g. "temperature T".
    pub x_label: String,
    /// One label per column.
    pub x_ticks: Vec<String>,
    /// What the rows vary, e.g. "λ".
    pub y_label: String,
    /// One label per row (the first row is drawn at the top).
    pub y_ticks: Vec<String>,
    /// `lines[row][column]`: the line whose final `metric` fills the cell.
    pub lines: Vec<Vec<String>>,
    /// Colours diverging from white at 0 (for differences such as a gain), rather than running
    /// from the smallest value to the largest.
    pub diverging: bool,
}

/// An experiment. Implement it on a unit struct in `src/experiments/NAME.rs` and add the struct
/// to the registry in `src/experiments/mod.rs`.
pub trait Experiment: Sync + 'static {
    /// The typed config, declared with [`config!`](crate::config).
    type Config: Documented + Serialize + DeserializeOwned + Default + Clone + Debug;

    /// Name, description, what it reproduces.
    fn info(&self) -> Info;

    /// The `--quick` config: the same experiment reduced to finish in seconds to minutes.
    fn quick_config(&self) -> Self::Config;

    /// Checks between keys, beyond each key's own range (which the config's `validate` checks
    /// first). The error names the key and what is allowed.
    fn check_config(&self, _config: &Self::Config) -> Result<(), ConfigError> {
        Ok(())
    }

    /// The data sets the run needs; when one is missing the experiment is skipped and the
    /// report names the command that fetches it.
    fn data(&self, _config: &Self::Config) -> Vec<DataNeed> {
        Vec::new()
    }

    /// One run with one seed. Draw every random number from [`seed_stream`]`(seed, ...)`.
    fn run(
        &self,
        config: &Self::Config,
        seed: u64,
        data: &RunContext<'_>,
        progress: &mut Progress,
    ) -> anyhow::Result<RunRecord>;

    /// The rows of the report's comparison with the published table.
    fn comparison(&self) -> Vec<Compare>;

    /// The plots of the report.
    fn plots(&self) -> Vec<PlotSpec>;

    /// Remarks for the report (readings of the protocol, choices the seed leaves open).
    fn notes(&self, _config: &Self::Config) -> Vec<String> {
        Vec::new()
    }

    /// Heat maps of final metrics over a grid of lines (none by default).
    fn heatmaps(&self, _config: &Self::Config) -> Vec<HeatmapSpec> {
        Vec::new()
    }

    /// The x coordinate of each point of the curves of plot `metric`, when they are not the
    /// epochs 1, 2, … (the default), e.g. the values of a swept setting.
    fn x_values(&self, _config: &Self::Config, _metric: &str) -> Option<Vec<f64>> {
        None
    }

    /// The image files the runs write into `OUT/NAME/figures/`, for the report (none by
    /// default).
    fn figures(&self, _config: &Self::Config) -> Vec<Figure> {
        Vec::new()
    }
}

/// An independent random stream for `purpose` ("data", "init", "shuffle", ...) of run `seed`:
/// changing how many numbers one purpose draws does not shift the others.
pub fn seed_stream(seed: u64, purpose: &str) -> StdRng {
    // FNV-1a of the purpose, mixed with the seed by SplitMix64's finaliser.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in purpose.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut z = seed ^ h;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    StdRng::seed_from_u64(z ^ (z >> 31))
}

/// `n` samples of `data` drawn by a permutation from [`seed_stream`]`(seed, purpose)`, kept in
/// their order in `data` (all of `data` when `n ≥ len`): the subsets every experiment draws
/// from a data set, so that equal arguments give equal subsets everywhere.
pub fn subset(
    data: nn::data::Dataset<f32>,
    n: usize,
    seed: u64,
    purpose: &str,
) -> anyhow::Result<nn::data::Dataset<f32>> {
    if n >= data.len() {
        return Ok(data);
    }
    Ok(data.split(n, &mut seed_stream(seed, purpose))?.0)
}
#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn seed_streams_are_reproducible_and_distinct() {
        let draw = |seed, purpose| seed_stream(seed, purpose).gen::<u64>();
        assert_eq!(draw(0, "data"), draw(0, "data"));
        assert_ne!(draw(0, "data"), draw(1, "data"));
        assert_ne!(draw(0, "data"), draw(0, "init"));
    }
}
