//! Training that survives a crash: [`fit`](super::fit) saves its state after an epoch and, when
//! started again with the same [`Resume`], continues from the last saved epoch with the same
//! numbers, bit for bit, as a run that was never interrupted.
//!
//! # What is saved, and why that is enough
//!
//! After epoch `e`, in [`Resume::dir`]:
//!
//! ```text
//! epoch-{e}.safetensors   the model's parameters and the optimiser's state (crate::checkpoint)
//! state.json              the identity, e, the file name above, and the reports of epochs 1..=e
//! ```
//!
//! A training loop of its own (not `fit`) uses the same files through [`save_state`] and
//! [`restore_state`]: `e` then counts its units of work (iterations), and `state.json` holds
//! whatever progress it needs (its records, counters, a predictor's state) beside the identity;
//! it must likewise be able to replay its random draws.
//!
//! The checkpoint is written first, then `state.json` (each atomically), then older
//! checkpoints are deleted: a crash at any point leaves a `state.json` that names a complete
//! checkpoint. Nothing else is needed to continue, because everything random in `fit` is drawn
//! from one generator seeded by [`TrainConfig::seed`](super::TrainConfig::seed), in an order
//! that does not depend on the training itself (each epoch's permutation, then one seed per
//! batch): on resumption the generator replays the draws of the finished epochs without
//! training. The evaluation is deterministic, the learning-rate schedule depends on the epoch
//! only, and the kernels give the same bits whatever the thread count.
//!
//! # When state is saved
//!
//! After an epoch, if at least [`Resume::interval`] of wall time has passed since the last save
//! (or since the start), and always after the last epoch. The default interval is ten seconds:
//! a crash loses at most that much work, and saving costs at most a few tenths of a percent (a
//! save of a 7,850-parameter model with Adam's state, fsync included, took 11–23 ms on a loaded
//! 2-core machine). A training whose epochs take less than the interval saves seldom (a 1 s
//! epoch: every tenth), and one that lasts less than the interval in all saves once, at its end.
//!
//! # State that does not match
//!
//! A `state.json` whose identity differs from [`Resume::identity`] (another config, seed or
//! code revision), or that cannot be read, or whose checkpoint does not load into the model, is
//! discarded with a warning on stderr, and training starts from epoch 1: a stale state is never
//! mixed into a run.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use autograd::Float;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::EpochReport;
use crate::checkpoint::AcceptState;
use crate::optim::{OptimState, Optimizer};
use crate::{Error, Module, Result};

/// Where and under which identity [`fit`](super::fit) keeps its state between epochs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resume {
    /// The directory of this training's state; created at the first save. One directory per
    /// training: two trainings sharing one would discard each other's state.
    pub dir: PathBuf,
    /// Everything that changes the numbers (config hash, seed, which model): a saved state is
    /// used only when its identity is equal.
    pub identity: String,
    /// The least wall time between two saves (see the module documentation).
    pub interval: Duration,
}

impl Resume {
    /// State in `dir` under `identity`, saved at most once per [`DEFAULT_INTERVAL`].
    pub fn new(dir: impl Into<PathBuf>, identity: impl Into<String>) -> Self {
        Resume {
            dir: dir.into(),
            identity: identity.into(),
            interval: DEFAULT_INTERVAL,
        }
    }
}

/// The default [`Resume::interval`]: ten seconds (see the module documentation).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);

/// Test switch: when this environment variable holds `N`, the process exits with status 137
/// (as if killed by `SIGKILL`) right after the `N`-th state save of the process, so that tests
/// can interrupt a real run at a chosen epoch.
pub const KILL_AFTER_SAVES_ENV: &str = "DISTILLERY_TEST_KILL_AFTER_SAVES";

/// Version of `state.json`.
const STATE_FORMAT: u32 = 1;

/// `state.json`: the identity, the units of work done (`epoch`), the checkpoint's file name,
/// and the loop's own progress (for [`fit`](super::fit): `reports`), flattened beside them.
#[derive(Serialize, Deserialize)]
struct StateFile<P> {
    format: u32,
    identity: String,
    epoch: usize,
    checkpoint: String,
    #[serde(flatten)]
    progress: P,
}

/// [`fit`](super::fit)'s progress: the reports of the epochs done.
#[derive(Serialize, Deserialize)]
struct FitProgress {
    reports: Vec<EpochReport>,
}

/// A restored training state: the epochs already done.
pub(super) struct Restored {
    /// The reports of epochs `1..=reports.len()`.
    pub reports: Vec<EpochReport>,
}

/// Loads the state of `resume` into `model` and `optimizer` if there is a matching one. A
/// state that does not match or cannot be used is deleted with a warning; `None` then.
pub(super) fn restore<F: Float>(
    resume: &Resume,
    model: &mut dyn Module<F>,
    optimizer: &mut dyn Optimizer<F>,
    epochs: usize,
) -> Option<Restored> {
    let check = |epoch: usize, progress: &FitProgress| {
        if epoch != progress.reports.len() || epoch == 0 || epoch > epochs {
            return Err(format!(
                "it records epoch {epoch} with {} reports, for a training of {epochs} epochs",
                progress.reports.len()
            ));
        }
        Ok(())
    };
    let mut accept = |state, model: &dyn Module<F>| optimizer.load_state(state, model);
    restore_state(resume, model, Some(&mut accept), check).map(|(_, progress)| Restored {
        reports: progress.reports,
    })
}

/// Saves the state after epoch `reports.len()`.
pub(super) fn save<F: Float>(
    resume: &Resume,
    model: &dyn Module<F>,
    optimizer: &dyn Optimizer<F>,
    reports: &[EpochReport],
) -> Result<()> {
    let progress = FitProgress {
        reports: reports.to_vec(),
    };
    save_state(
        resume,
        model,
        Some(&optimizer.state()),
        reports.len(),
        &progress,
    )
}

/// Loads a saved state of `resume` for a training loop of its own (the mechanism of
/// [`fit`](super::fit), for loops that are not `fit`, such as `methods::meta`'s): the model's
/// parameters into `model`, the optimiser's state handed to `accept`
/// ([`crate::checkpoint::load_state`]), and returns the units of work done and the loop's
/// `progress` as [`save_state`] wrote them. `check(done, &progress)` rejects a state that does
/// not fit this training (its message is printed).
///
/// A state that does not match (another identity), cannot be read, fails `check` or whose
/// checkpoint does not load is deleted with a warning on stderr; `None` then, and the loop
/// starts from the beginning. On success the loop must replay its random draws of the `done`
/// units before continuing (see the module documentation).
pub fn restore_state<F: Float, P: DeserializeOwned>(
    resume: &Resume,
    model: &mut dyn Module<F>,
    accept: Option<&mut AcceptState<'_, F>>,
    check: impl FnOnce(usize, &P) -> std::result::Result<(), String>,
) -> Option<(usize, P)> {
    let state_path = resume.dir.join("state.json");
    if !state_path.exists() {
        return None;
    }
    let discard = |why: String| {
        eprintln!(
            "warning: discarding the saved training state in {}: {why}; training from the start",
            resume.dir.display()
        );
        // Best effort: a state that cannot be removed is overwritten by the next save.
        let _ = fs::remove_dir_all(&resume.dir);
        None
    };
    let state: StateFile<P> = match fs::read(&state_path)
        .map_err(|e| e.to_string())
        .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
    {
        Ok(s) => s,
        Err(e) => return discard(format!("state.json cannot be read ({e})")),
    };
    if state.format != STATE_FORMAT || state.identity != resume.identity {
        return discard(
            "it belongs to another config, seed or code revision (its identity differs)".into(),
        );
    }
    if let Err(why) = check(state.epoch, &state.progress) {
        return discard(why);
    }
    let checkpoint = resume.dir.join(&state.checkpoint);
    if let Err(e) = crate::checkpoint::load_state(&checkpoint, model, accept) {
        return discard(e.to_string());
    }
    Some((state.epoch, state.progress))
}

/// Saves a training's state after `done` units of work (epochs of [`fit`](super::fit), the
/// iterations of a loop of its own): the model and the optimiser's state (if any) into the
/// checkpoint `epoch-{done}.safetensors` ([`crate::checkpoint::save_state`]), then `progress`
/// (what else the loop needs to continue and to report: its records so far, its counters) into
/// `state.json`, as the module documentation describes; then older checkpoints are deleted and
/// the [`KILL_AFTER_SAVES_ENV`] test switch is honoured. When to save is the caller's choice
/// ([`Resume::interval`]).
pub fn save_state<F: Float, P: Serialize>(
    resume: &Resume,
    model: &dyn Module<F>,
    optimizer: Option<&OptimState<F>>,
    done: usize,
    progress: &P,
) -> Result<()> {
    fs::create_dir_all(&resume.dir).map_err(|source| Error::Io {
        path: resume.dir.clone(),
        source,
    })?;
    let name = format!("epoch-{done}.safetensors");
    crate::checkpoint::save_state(resume.dir.join(&name), model, optimizer)?;
    let state = StateFile {
        format: STATE_FORMAT,
        identity: resume.identity.clone(),
        epoch: done,
        checkpoint: name.clone(),
        progress,
    };
    let json = serde_json::to_vec(&state)
        .map_err(|e| Error::config("training state", format!("cannot be serialised: {e}")))?;
    let state_path = resume.dir.join("state.json");
    crate::data::write_atomic(&state_path, |out: &mut dyn Write| out.write_all(&json))
        .map_err(|e| Error::config("training state", e.to_string()))?;
    remove_old_checkpoints(&resume.dir, &name);
    kill_switch();
    Ok(())
}

/// Deletes the checkpoints of earlier epochs (best effort: a leftover costs only disk).
fn remove_old_checkpoints(dir: &Path, keep: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("epoch-") && name.ends_with(".safetensors") && name != keep {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Saves made by this process, for [`KILL_AFTER_SAVES_ENV`].
static SAVES: AtomicUsize = AtomicUsize::new(0);

fn kill_switch() {
    let saves = SAVES.fetch_add(1, Ordering::SeqCst) + 1;
    let limit = std::env::var(KILL_AFTER_SAVES_ENV)
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    if limit == Some(saves) {
        eprintln!("{KILL_AFTER_SAVES_ENV}={saves}: exiting after this save (test switch)");
        std::process::exit(137);
    }
}
