//! A store of trained models: a teacher or a source model is trained once, saved, and loaded by
//! every later run that asks for a model with the same identity.
//!
//! # Identity
//!
//! A model's [`ModelIdentity`] is everything that determines its weights: a name, the
//! architecture (a description, plus every parameter's name and shape, read off the model),
//! the training config (any serialisable value: an experiment's `[teacher]` table), the seed,
//! the data (content SHA-256s, [`data_identity`](crate::data::data_identity)) and the element
//! type. Its hash ([`ModelIdentity::hash`]) names the files:
//!
//! ```text
//! DIR/NAME-HASH.safetensors   the weights: an ordinary checkpoint (crate::checkpoint), whose
//!                             tensor names load into the equivalent torch.nn.Sequential
//! DIR/NAME-HASH.json          the sidecar: format, the identity in full, its hash, the SHA-256
//!                             of the .safetensors file, the training curve, the final test
//!                             metrics, the parameter count and the training's wall time
//! DIR/.partial/NAME-HASH/     the training's per-epoch state while it runs (crate::train::resume)
//! ```
//!
//! # What is used, and what is retrained
//!
//! A stored model is used only when its sidecar reads, records the same identity and hash, and
//! the weights file has the SHA-256 the sidecar recorded and loads into the model. Anything else
//! — a truncated or tampered file, a sidecar with broken JSON or another identity — is never
//! used: the model is retrained, with one warning line on stderr naming the file and the reason
//! ([`Origin::Retrained`]). Both files are written atomically, the weights first: a crash
//! between the two leaves a sidecar that does not match the weights, hence a retrain, never a
//! stale model.

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use autograd::Float;
use serde::{Deserialize, Serialize};

use crate::data::{sha256_hex, write_atomic, DataFile};
use crate::train::{EpochReport, Evaluation, Resume};
use crate::{checkpoint, Error, Module, ModuleExt, Result};

/// Version of the sidecar format.
pub const SIDECAR_FORMAT: u32 = 1;

/// Everything that determines a stored model's weights (see the module documentation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelIdentity {
    /// A file-name-safe name, e.g. `fashion-mlp-784-800-50-10`.
    pub name: String,
    /// The architecture in words, e.g. `MLP 784-800-50-10, ReLU, biases`.
    pub architecture: String,
    /// Every parameter's name and shape, in visiting order (filled in from the model).
    pub parameters: Vec<(String, Vec<usize>)>,
    /// The training config, as the experiment's table (epochs, batch size, learning rate, ...).
    pub training: serde_json::Value,
    /// The seed of the initialisation and the batch order.
    pub seed: u64,
    /// The data trained on, by content.
    pub data: Vec<DataFile>,
    /// `f32` or `f64`.
    pub element_type: String,
    /// The revision of the code that trains it (1 unless set by [`ModelIdentity::revised`]):
    /// what identifies the training *procedure* beyond its config. Bump it when a code change
    /// alters the weights an unchanged identity trains to, so that stored models of the old
    /// code are not used.
    pub revision: u32,
}

impl ModelIdentity {
    /// The identity of `model` named `name`: its architecture described by `architecture`,
    /// its parameters read off it, trained with `training` from `seed` on `data`.
    pub fn of<F: Float>(
        name: &str,
        architecture: &str,
        model: &dyn Module<F>,
        training: &impl Serialize,
        seed: u64,
        data: Vec<DataFile>,
    ) -> Result<Self> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            return Err(Error::config(
                "stored model name",
                format!("{name:?} must be non-empty ASCII letters, digits, '-', '_' or '.'"),
            ));
        }
        let mut parameters = Vec::new();
        model.visit_params(&mut |n, p| parameters.push((n.to_string(), p.shape().to_vec())));
        let training = serde_json::to_value(training)
            .map_err(|e| Error::config("stored model training config", e.to_string()))?;
        Ok(ModelIdentity {
            name: name.to_owned(),
            architecture: architecture.to_owned(),
            parameters,
            training,
            seed,
            data,
            element_type: F::NAME.to_owned(),
            revision: 1,
        })
    }

    /// The same identity with the training code's `revision`.
    pub fn revised(mut self, revision: u32) -> Self {
        self.revision = revision;
        self
    }

    /// The first 16 hex digits of the SHA-256 of the identity's JSON (fields in declaration
    /// order, the training table's keys sorted, numbers in their shortest exact form): equal
    /// identities give equal hashes, and any change gives another.
    pub fn hash(&self) -> String {
        let json = serde_json::to_vec(self).expect("plain data serialises");
        sha256_hex(&json)[..16].to_owned()
    }

    /// `NAME-HASH`, the stem of the stored files.
    pub fn stem(&self) -> String {
        format!("{}-{}", self.name, self.hash())
    }
}

/// What a training hands back to the store, for the sidecar.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingRecord {
    /// One report per epoch.
    pub curve: Vec<EpochReport>,
    /// The final metrics on the test set, if evaluated.
    pub test: Option<Evaluation>,
}

/// `NAME-HASH.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sidecar {
    /// [`SIDECAR_FORMAT`].
    pub format: u32,
    /// The identity in full.
    pub identity: ModelIdentity,
    /// [`ModelIdentity::hash`] of it.
    pub hash: String,
    /// SHA-256 of the weights file.
    pub weights_sha256: String,
    /// The number of scalars in the parameters.
    pub parameter_count: usize,
    /// The training's curve and final test metrics.
    pub training: TrainingRecord,
    /// Wall time of the training in seconds (of the last process that ran it, when resumed).
    pub wall_time_s: f64,
}

/// Where a model handed out by the store came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Loaded from the store.
    Loaded,
    /// Trained now: nothing was stored under its identity (or retraining was asked for).
    Trained,
    /// Trained now because the stored one could not be used, for this reason.
    Retrained(String),
}

/// A model from the store, with its sidecar.
pub struct StoredModel<M> {
    /// The model, with its trained weights.
    pub model: M,
    /// Its sidecar (as stored, or as just written).
    pub sidecar: Sidecar,
    /// The weights file.
    pub path: PathBuf,
    /// Loaded, trained or retrained.
    pub origin: Origin,
}

impl<M> std::fmt::Debug for StoredModel<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredModel")
            .field("stem", &self.stem())
            .field("path", &self.path)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl<M> StoredModel<M> {
    /// `NAME-HASH`, for reports: two runs that print the same stem used the same model.
    pub fn stem(&self) -> String {
        format!("{}-{}", self.sidecar.identity.name, self.sidecar.hash)
    }
}

/// A directory of stored models (see the module documentation).
#[derive(Clone, Debug)]
pub struct ModelStore {
    dir: PathBuf,
    retrain: bool,
    /// The hashes this store (and its clones) trained: with `retrain`, each model is trained
    /// once, then loaded like any stored one.
    trained: Arc<Mutex<HashSet<String>>>,
}

impl ModelStore {
    /// The store in `dir` (created when the first model is stored).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ModelStore {
            dir: dir.into(),
            retrain: false,
            trained: Arc::default(),
        }
    }

    /// The same store, ignoring the models stored before it was made when `retrain`: each is
    /// trained again (once) and replaced.
    pub fn retraining(mut self, retrain: bool) -> Self {
        self.retrain = retrain;
        self.trained = Arc::default();
        self
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The model of `identity`: loaded into `model` (freshly built with the identity's
    /// architecture) when a usable one is stored, otherwise trained by `train` and stored.
    /// `train` receives the model and where to keep its per-epoch state (pass it to
    /// [`TrainConfig::resume`](crate::train::TrainConfig::resume)), so that a training killed
    /// mid-way continues from its last epoch.
    ///
    /// `identity` must have been made from `model` ([`ModelIdentity::of`]): a parameter list
    /// that differs is an error.
    pub fn get_or_train<F: Float, M: Module<F>>(
        &self,
        identity: &ModelIdentity,
        mut model: M,
        train: impl FnOnce(&mut M, Resume) -> Result<TrainingRecord>,
    ) -> Result<StoredModel<M>> {
        let mut parameters = Vec::new();
        model.visit_params(&mut |n, p| parameters.push((n.to_string(), p.shape().to_vec())));
        if parameters != identity.parameters {
            return Err(Error::config(
                "stored model identity",
                format!(
                    "{}: the identity's parameters differ from the model's; build the identity \
                     with ModelIdentity::of from this model",
                    identity.name
                ),
            ));
        }
        let hash = identity.hash();
        let stem = identity.stem();
        let path = self.dir.join(format!("{stem}.safetensors"));
        let sidecar_path = self.dir.join(format!("{stem}.json"));
        let trained_here = self
            .trained
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&hash);
        let origin = if self.retrain && !trained_here {
            Origin::Trained
        } else {
            match self.usable(identity, &hash, &path, &sidecar_path, &mut model) {
                Ok(Some(sidecar)) => {
                    return Ok(StoredModel {
                        model,
                        sidecar,
                        path,
                        origin: Origin::Loaded,
                    })
                }
                Ok(None) => Origin::Trained,
                Err(reason) => {
                    eprintln!(
                        "warning: stored model {} is not used ({reason}); retraining it",
                        path.display()
                    );
                    Origin::Retrained(reason)
                }
            }
        };
        fs::create_dir_all(&self.dir).map_err(|source| Error::Io {
            path: self.dir.clone(),
            source,
        })?;
        let partial = self.dir.join(".partial").join(&stem);
        let start = Instant::now();
        let training = train(&mut model, Resume::new(&partial, hash.clone()))?;
        let wall_time_s = start.elapsed().as_secs_f64();
        checkpoint::save(&path, &model, None)?;
        let weights_sha256 = file_sha256(&path).map_err(|reason| stored_error(&path, reason))?;
        let sidecar = Sidecar {
            format: SIDECAR_FORMAT,
            identity: identity.clone(),
            hash,
            weights_sha256,
            parameter_count: model.param_count(),
            training,
            wall_time_s,
        };
        let json = serde_json::to_vec_pretty(&sidecar).expect("plain data serialises");
        write_atomic(&sidecar_path, |out: &mut dyn Write| out.write_all(&json))
            .map_err(|e| stored_error(&sidecar_path, e.to_string()))?;
        self.trained
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(sidecar.hash.clone());
        // Best effort: the training is stored; a leftover state is only disk space, and it
        // would be discarded (its identity is the model's, whose files now exist).
        let _ = fs::remove_dir_all(&partial);
        Ok(StoredModel {
            model,
            sidecar,
            path,
            origin,
        })
    }

    /// The stored sidecar when the stored model is usable, loading its weights into `model`;
    /// `None` when nothing is stored; the reason when something stored cannot be used.
    fn usable<F: Float>(
        &self,
        identity: &ModelIdentity,
        hash: &str,
        path: &Path,
        sidecar_path: &Path,
        model: &mut dyn Module<F>,
    ) -> std::result::Result<Option<Sidecar>, String> {
        match (path.exists(), sidecar_path.exists()) {
            (false, false) => return Ok(None),
            (true, false) => return Err("its sidecar .json is missing".into()),
            (false, true) => return Err("its weights file is missing".into()),
            (true, true) => {}
        }
        let bytes =
            fs::read(sidecar_path).map_err(|e| format!("the sidecar cannot be read: {e}"))?;
        let sidecar: Sidecar = serde_json::from_slice(&bytes)
            .map_err(|e| format!("the sidecar is not valid JSON of this format: {e}"))?;
        if sidecar.format != SIDECAR_FORMAT {
            return Err(format!(
                "the sidecar has format {}, this program writes {SIDECAR_FORMAT}",
                sidecar.format
            ));
        }
        if sidecar.hash != hash || &sidecar.identity != identity {
            return Err("the sidecar records another identity".into());
        }
        let found = file_sha256(path)?;
        if found != sidecar.weights_sha256 {
            return Err(format!(
                "the weights' SHA-256 is {found}, the sidecar recorded {}: the file was changed \
                 or is incomplete",
                sidecar.weights_sha256
            ));
        }
        checkpoint::load(path, model, None).map_err(|e| e.to_string())?;
        Ok(Some(sidecar))
    }

    /// Every stored model's sidecar, by file name; a sidecar that does not read is listed with
    /// the reason instead.
    pub fn list(&self) -> Result<Vec<(PathBuf, std::result::Result<Sidecar, String>)>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(Error::Io {
                    path: self.dir.clone(),
                    source,
                })
            }
        };
        let mut out = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|source| Error::Io {
                    path: self.dir.clone(),
                    source,
                })?
                .path();
            if path.extension().is_some_and(|e| e == "json") {
                let sidecar = fs::read(&path)
                    .map_err(|e| e.to_string())
                    .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()));
                out.push((path, sidecar));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}

fn file_sha256(path: &Path) -> std::result::Result<String, String> {
    fs::read(path)
        .map(|bytes| sha256_hex(&bytes))
        .map_err(|e| format!("{} cannot be read: {e}", path.display()))
}

fn stored_error(path: &Path, reason: String) -> Error {
    Error::Checkpoint {
        path: path.to_owned(),
        reason: format!("cannot be stored: {reason}; check that the results directory is writable and the disk has space"),
    }
}
