//! Checkpoints: a model's parameters, and optionally an optimiser's state, in one
//! [safetensors](https://github.com/huggingface/safetensors) file.
//!
//! # Layout
//!
//! ```text
//! "0.weight", "0.bias", …          one tensor per parameter, under its name, shape as the
//!                                  parameter, dtype F32 or F64 as the model's element type
//! "optim.{kind}.{key}"             the optimiser's per-parameter buffers (OptimState::tensors),
//!                                  e.g. "optim.adam.m.0.weight", "optim.sgd.momentum.0.weight"
//! __metadata__ (strings):
//!   "format"                       "distillery checkpoint 1" (informative; not required to load)
//!   "optimizer"                    the optimiser's kind ("sgd", "adam", "adamw"), if saved
//!   "optim.{kind}.{key}"           its scalars (OptimState::scalars): "optim.adam.lr",
//!                                  "optim.adam.steps", "optim.adam.t.0.weight", … in decimal
//!                                  ("0.001", "3"), the shortest digits that read back to the
//!                                  same f64 bit for bit
//! ```
//!
//! Names starting with `optim.` are reserved for the optimiser: saving a model with a
//! parameter so named is an error. Any safetensors file with the right tensor names, shapes and
//! dtype loads, whoever wrote it (a PyTorch `state_dict` saved with `safetensors.torch`, say).
//!
//! # What `load` accepts
//!
//! Loading is strict, and all-or-nothing: it checks everything first and changes the model and
//! the optimiser only if everything matches. The error names the file and **every** offending
//! tensor:
//!
//! * a parameter of the model missing from the file;
//! * an unexpected extra tensor in the file (an error, not ignored: a checkpoint of a bigger
//!   architecture, or of a teacher loaded into a student, would otherwise load silently half);
//! * a tensor of another shape;
//! * a tensor of another dtype: **not converted**. A file of `f64` values loaded into an `f32`
//!   model (or the reverse) is an error saying to build the model with the file's element type:
//!   a silent conversion would either lose precision or pretend to have it, and bit-exact
//!   resumption would be lost without a word.
//!
//! The optimiser's entries are read only when an optimiser is passed to [`load`] (otherwise
//! they are ignored: loading weights for evaluation); passing one for a file without optimiser
//! state is an error. A truncated or damaged file, or one that is not safetensors at all, gives
//! an error, never a panic.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use autograd::Float;
use ndarray::{ArrayD, IxDyn};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::optim::{OptimState, Optimizer};
use crate::{Error, Module, Result};

/// The prefix reserved for optimiser entries.
pub const OPTIM_PREFIX: &str = "optim.";

/// The value of the `"format"` metadata entry.
const FORMAT: &str = "distillery checkpoint 1";

/// Writes `model`'s parameters, and `optimizer`'s state if given, to `path` (see the module
/// documentation for the layout). The file is written to a temporary file beside `path` and
/// renamed into place: a reader never sees half a checkpoint, and a failed save leaves any
/// previous file as it was.
pub fn save<F: Float>(
    path: impl AsRef<Path>,
    model: &dyn Module<F>,
    optimizer: Option<&dyn Optimizer<F>>,
) -> Result<()> {
    save_state(path, model, optimizer.map(|o| o.state()).as_ref())
}

/// [`save`] with the optimiser given by its state: for a training loop whose optimiser is not
/// an [`Optimizer`] (its state written in the same layout, under its own `kind`).
pub fn save_state<F: Float>(
    path: impl AsRef<Path>,
    model: &dyn Module<F>,
    optimizer: Option<&OptimState<F>>,
) -> Result<()> {
    let path = path.as_ref();
    let fail = |reason: String| checkpoint_error(path, reason);
    let mut tensors: BTreeMap<String, (Vec<usize>, Vec<u8>)> = BTreeMap::new();
    let mut problems = Vec::new();
    model.visit_params(&mut |name, p| {
        if name.starts_with(OPTIM_PREFIX) {
            problems.push(format!(
                "the parameter {name:?} uses the prefix {OPTIM_PREFIX:?} reserved for optimiser state"
            ));
        }
        let entry = (p.shape().to_vec(), to_le_bytes(p.value().iter().copied().collect()));
        if tensors.insert(name.to_string(), entry).is_some() {
            problems.push(format!("two parameters are named {name:?}"));
        }
    });
    if !problems.is_empty() {
        return Err(fail(format!(
            "cannot be saved: {}; rename the parameters",
            problems.join("; ")
        )));
    }
    let mut metadata = HashMap::from([("format".to_string(), FORMAT.to_string())]);
    if let Some(state) = optimizer {
        let prefix = format!("{OPTIM_PREFIX}{}.", state.kind);
        metadata.insert("optimizer".to_string(), state.kind.clone());
        for (key, value) in &state.scalars {
            metadata.insert(format!("{prefix}{key}"), format!("{value}"));
        }
        for (key, value) in &state.tensors {
            let entry = (
                value.shape().to_vec(),
                to_le_bytes(value.iter().copied().collect()),
            );
            tensors.insert(format!("{prefix}{key}"), entry);
        }
    }
    let dtype = dtype_of::<F>();
    let views = tensors
        .iter()
        .map(|(name, (shape, bytes))| {
            TensorView::new(dtype, shape.clone(), bytes).map(|view| (name.as_str(), view))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(format!("cannot be serialised: {e}")))?;
    let bytes = safetensors::serialize(views, Some(metadata))
        .map_err(|e| fail(format!("cannot be serialised: {e}")))?;
    crate::data::write_atomic(path, |out: &mut dyn Write| out.write_all(&bytes)).map_err(|e| {
        fail(format!(
            "cannot be written ({e}); check that the directory exists"
        ))
    })
}

/// Reads the checkpoint at `path` into `model`, and into `optimizer` if given (see the module
/// documentation for what is accepted). Nothing is changed unless everything matches.
pub fn load<F: Float>(
    path: impl AsRef<Path>,
    model: &mut dyn Module<F>,
    optimizer: Option<&mut dyn Optimizer<F>>,
) -> Result<()> {
    match optimizer {
        Some(optimizer) => load_state(
            path,
            model,
            Some(&mut |state, model| optimizer.load_state(state, model)),
        ),
        None => load_state(path, model, None),
    }
}

/// Takes an optimiser's state read from a checkpoint, given the model it belongs to: an error
/// if the state does not fit (then nothing is changed).
pub type AcceptState<'a, F> = dyn FnMut(OptimState<F>, &dyn Module<F>) -> Result<()> + 'a;

/// [`load`] with the optimiser's state handed to `accept` instead of an [`Optimizer`] (the
/// counterpart of [`save_state`]). `accept` is called after every tensor has been checked and
/// before the model is changed; if it fails, the model is left as it was.
pub fn load_state<F: Float>(
    path: impl AsRef<Path>,
    model: &mut dyn Module<F>,
    accept: Option<&mut AcceptState<'_, F>>,
) -> Result<()> {
    let optimizer = accept;
    let path = path.as_ref();
    let fail = |reason: String| checkpoint_error(path, reason);
    let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot be read: {e}")))?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| {
        fail(format!(
            "is not a readable safetensors file ({e}): it may be truncated or damaged, or not a \
             checkpoint at all; save it again"
        ))
    })?;
    let (_, header) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| fail(format!("has an unreadable header: {e}")))?;
    let metadata = header.metadata().clone().unwrap_or_default();

    let mut file_tensors: BTreeMap<String, TensorView<'_>> = file
        .tensors()
        .into_iter()
        .filter(|(name, _)| !name.starts_with(OPTIM_PREFIX))
        .collect();
    let mut mismatch = Mismatch::default();
    let mut values: BTreeMap<String, ArrayD<F>> = BTreeMap::new();
    model.visit_params(&mut |name, p| match file_tensors.remove(name) {
        None => mismatch.missing.push(name.to_string()),
        Some(view) => {
            if let Some(array) = mismatch.check::<F>(name, &view, p.shape()) {
                values.insert(name.to_string(), array);
            }
        }
    });
    mismatch.unexpected.extend(file_tensors.into_keys());

    let state = match &optimizer {
        Some(_) => Some(optim_state::<F>(&file, &metadata, &mut mismatch).map_err(fail)?),
        None => None,
    };
    if let Some(reason) = mismatch.report::<F>() {
        return Err(fail(reason));
    }
    if let (Some(accept), Some(state)) = (optimizer, state) {
        accept(state, &*model)
            .map_err(|e| fail(format!("holds an optimiser state that does not fit: {e}")))?;
    }
    let mut problems = Vec::new();
    model.visit_params_mut(&mut |name, p| {
        if let Some(value) = values.remove(name) {
            if let Err(e) = p.set(value) {
                problems.push(e.to_string());
            }
        }
    });
    match problems.is_empty() {
        true => Ok(()),
        false => Err(fail(problems.join("; "))),
    }
}

/// The optimiser state stored in `file`: tensors `optim.{kind}.*` and metadata scalars
/// `optim.{kind}.*`. Tensors under another kind's prefix are reported as unexpected.
fn optim_state<F: Float>(
    file: &SafeTensors<'_>,
    metadata: &HashMap<String, String>,
    mismatch: &mut Mismatch,
) -> Result<OptimState<F>, String> {
    let Some(kind) = metadata.get("optimizer") else {
        return Err(
            "holds no optimiser state (it was saved without an optimiser): load the \
                    model alone, or start the optimiser afresh"
                .to_string(),
        );
    };
    let prefix = format!("{OPTIM_PREFIX}{kind}.");
    let mut state = OptimState::new(kind.clone());
    let mut bad = Vec::new();
    for (key, text) in metadata {
        if let Some(key) = key.strip_prefix(&prefix) {
            match text.parse::<f64>() {
                Ok(value) => {
                    state.scalars.insert(key.to_string(), value);
                }
                Err(_) => bad.push(format!("metadata {prefix}{key} = {text:?} is not a number")),
            }
        }
    }
    if !bad.is_empty() {
        bad.sort();
        return Err(bad.join("; "));
    }
    for (name, view) in file.tensors() {
        match name.strip_prefix(&prefix) {
            Some(key) => {
                if let Some(array) = mismatch.check_dtype::<F>(&name, &view) {
                    state.tensors.insert(key.to_string(), array);
                }
            }
            None if name.starts_with(OPTIM_PREFIX) => mismatch.unexpected.push(name),
            None => {}
        }
    }
    Ok(state)
}

/// Everything in a file that does not fit the model, gathered so that one error names it all.
#[derive(Default)]
struct Mismatch {
    missing: Vec<String>,
    unexpected: Vec<String>,
    shape: Vec<String>,
    dtype: Vec<String>,
}

impl Mismatch {
    /// The tensor `name` as an array if its dtype is `F`'s and its shape is `shape`.
    fn check<F: Float>(
        &mut self,
        name: &str,
        view: &TensorView<'_>,
        shape: &[usize],
    ) -> Option<ArrayD<F>> {
        if view.shape() != shape {
            self.shape
                .push(format!("{name} (file {:?}, model {shape:?})", view.shape()));
        }
        let array = self.check_dtype::<F>(name, view)?;
        (array.shape() == shape).then_some(array)
    }

    /// The tensor `name` as an array if its dtype is `F`'s.
    fn check_dtype<F: Float>(&mut self, name: &str, view: &TensorView<'_>) -> Option<ArrayD<F>> {
        if view.dtype() != dtype_of::<F>() {
            self.dtype.push(format!("{name} ({:?})", view.dtype()));
            return None;
        }
        // The reader has checked that the data length is the shape's element count; ndarray
        // still refuses shapes whose product overflows (possible with a zero-sized axis).
        match ArrayD::from_shape_vec(IxDyn(view.shape()), from_le_bytes::<F>(view.data())) {
            Ok(array) => Some(array),
            Err(e) => {
                self.shape
                    .push(format!("{name} (shape {:?} unusable: {e})", view.shape()));
                None
            }
        }
    }

    /// The error message, or `None` if everything fits.
    fn report<F: Float>(mut self) -> Option<String> {
        let mut parts = Vec::new();
        for (list, what) in [
            (
                &mut self.missing,
                "missing tensors (in the model, not in the file)",
            ),
            (
                &mut self.unexpected,
                "unexpected tensors (in the file, not in the model)",
            ),
            (&mut self.shape, "tensors of the wrong shape"),
        ] {
            if !list.is_empty() {
                list.sort();
                parts.push(format!("{what}: {}", list.join(", ")));
            }
        }
        if !self.dtype.is_empty() {
            self.dtype.sort();
            parts.push(format!(
                "tensors of the wrong dtype (the model is {}, so {:?} is needed; values are not \
                 converted: build the model with the file's element type): {}",
                F::NAME,
                dtype_of::<F>(),
                self.dtype.join(", ")
            ));
        }
        (!parts.is_empty()).then(|| {
            format!(
                "does not match the model: {}; was it saved from another architecture?",
                parts.join("; ")
            )
        })
    }
}

fn checkpoint_error(path: &Path, reason: String) -> Error {
    Error::Checkpoint {
        path: PathBuf::from(path),
        reason,
    }
}

/// The safetensors dtype of `F`.
fn dtype_of<F: Float>() -> Dtype {
    if is_f32::<F>() {
        Dtype::F32
    } else {
        Dtype::F64
    }
}

fn is_f32<F: Float>() -> bool {
    std::any::TypeId::of::<F>() == std::any::TypeId::of::<f32>()
}

/// The little-endian bytes of `values`, bit for bit (`F` is `f32` or `f64`: `Float` is sealed).
fn to_le_bytes<F: Float>(values: Vec<F>) -> Vec<u8> {
    let values: Box<dyn Any> = Box::new(values);
    match values.downcast::<Vec<f32>>() {
        Ok(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Err(values) => match values.downcast::<Vec<f64>>() {
            Ok(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Err(_) => unreachable!("Float is sealed: f32 or f64"),
        },
    }
}

/// The values of little-endian `bytes`, bit for bit (a trailing partial element is ignored;
/// the caller has checked the length).
fn from_le_bytes<F: Float>(bytes: &[u8]) -> Vec<F> {
    let values: Box<dyn Any> = if is_f32::<F>() {
        Box::new(
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect::<Vec<f32>>(),
        )
    } else {
        Box::new(
            bytes
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect::<Vec<f64>>(),
        )
    };
    match values.downcast::<Vec<F>>() {
        Ok(v) => *v,
        Err(_) => unreachable!("Float is sealed: f32 or f64"),
    }
}
