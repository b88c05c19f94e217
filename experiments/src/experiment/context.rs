//! What a run can use beyond its config and seed: the data sets found on this machine, the
//! store of trained models, where it keeps its state between epochs so that a run killed
//! mid-way continues from its last saved epoch, and where it writes its image figures.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use nn::data::{DatasetId, Discovery, Located};
use nn::store::ModelStore;
use nn::train::Resume;

/// Seconds of training between two saves of a run's state (default: ten, see
/// `nn::train::resume`); `0` saves after every epoch (the resume tests use it).
pub const STATE_INTERVAL_ENV: &str = "DISTILLERY_STATE_INTERVAL";

/// Where one run keeps its state, and what that state must match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunState {
    /// `OUT/NAME/.partial/SEED/`: deleted when the run finishes.
    pub dir: PathBuf,
    /// The run's config hash and seed: a state saved under another is discarded.
    pub identity: String,
}

/// What a run can use: data, stored models, its state directory and its figures directory.
pub struct RunContext<'a> {
    discovery: &'a Discovery,
    store: &'a ModelStore,
    state: Option<RunState>,
    figures: Option<PathBuf>,
}

impl<'a> RunContext<'a> {
    /// A run that reads data through `discovery`, gets teachers from `store` and, when `state`
    /// is given, saves its trainings' state there.
    pub fn new(discovery: &'a Discovery, store: &'a ModelStore, state: Option<RunState>) -> Self {
        RunContext {
            discovery,
            store,
            state,
            figures: None,
        }
    }

    /// The same context, with image figures written into `dir` (`OUT/NAME/figures/`).
    pub fn with_figures(mut self, dir: impl Into<PathBuf>) -> Self {
        self.figures = Some(dir.into());
        self
    }

    /// Where the run writes its image figures (see `Experiment::figures`); `None` when it
    /// writes none (tests, runs outside a results tree). Every run of a config writes the same
    /// figures, so a merged tree has them whichever shard ran.
    pub fn figures_dir(&self) -> Option<&Path> {
        self.figures.as_deref()
    }

    /// Where a catalog data set is; for [`DatasetId::Mnist`], the full set or else the 10k
    /// subset ([`Located::dataset`] says which: record its `description()` in the run).
    pub fn images(&self, id: DatasetId) -> Result<&'a Located> {
        Ok(match id {
            DatasetId::Mnist => self.discovery.mnist()?,
            other => self.discovery.get(other)?,
        })
    }

    /// The store of trained models (teachers, source models): see `nn::store`.
    pub fn models(&self) -> &'a ModelStore {
        self.store
    }

    /// Where the training called `training` (a line of the report, a student) keeps its
    /// per-epoch state: pass it as `TrainConfig::resume`. `None` when the run keeps no state.
    /// Each training of a run needs its own name.
    pub fn resume(&self, training: &str) -> Result<Option<Resume>> {
        let Some(state) = &self.state else {
            return Ok(None);
        };
        let interval = match std::env::var(STATE_INTERVAL_ENV) {
            Err(_) => nn::train::resume::DEFAULT_INTERVAL,
            Ok(v) => {
                let seconds: f64 = v
                    .trim()
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                    .with_context(|| {
                        format!("{STATE_INTERVAL_ENV}={v:?}: expected a number of seconds ≥ 0")
                    })?;
                Duration::from_secs_f64(seconds)
            }
        };
        Ok(Some(Resume {
            dir: state.dir.join(slug(training)),
            identity: format!("{} / {training}", state.identity),
            interval,
        }))
    }
}

/// A file-name-safe form of a training's name: ASCII letters and digits kept, runs of anything
/// else become one `-`, plus a short hash of the name so that two names cannot collide.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let hash = &nn::data::sha256_hex(name.as_bytes())[..8];
    format!("{}-{hash}", out.trim_matches('-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_safe_and_distinct() {
        let a = slug("ν=0.5: with teacher, T=2");
        assert!(a.starts_with("0-5-with-teacher-t-2-"), "{a}");
        assert!(
            a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{a}"
        );
        assert_ne!(slug("a b"), slug("a-b"));
    }
}
