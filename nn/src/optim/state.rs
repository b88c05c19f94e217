//! An optimiser's state as plain data, and the checks shared by every optimiser: a step's
//! gradients against the model, a restored state against the model.

use std::collections::{BTreeMap, BTreeSet};

use autograd::Float;
use ndarray::ArrayD;

use crate::{Error, Grads, Module, Result};

/// An optimiser's state as plain data — what [`crate::checkpoint`] stores.
///
/// * `kind`: which optimiser wrote it (`"sgd"`, `"adam"`, `"adamw"`).
/// * `scalars`: hyperparameters by name (`"lr"`, `"momentum"`, `"beta1"`, …), the step count
///   `"steps"`, and per-parameter counters `"{counter}.{parameter name}"` (Adam's `"t.0.weight"`).
///   Flags are stored as 0 or 1 (`"nesterov"`); counts are whole numbers, exact in `f64` below
///   2⁵³.
/// * `tensors`: per-parameter buffers `"{buffer}.{parameter name}"` (`"momentum.0.weight"`,
///   `"m.0.weight"`, `"v.0.weight"`), each of its parameter's shape.
///
/// Hyperparameter keys contain no `.`, per-parameter keys always do, so the two cannot collide.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimState<F: Float> {
    /// Which optimiser wrote the state.
    pub kind: String,
    /// Hyperparameters, the step count and per-parameter counters.
    pub scalars: BTreeMap<String, f64>,
    /// Per-parameter buffers.
    pub tensors: BTreeMap<String, ArrayD<F>>,
}

impl<F: Float> OptimState<F> {
    /// An empty state of the given kind.
    pub fn new(kind: impl Into<String>) -> Self {
        OptimState {
            kind: kind.into(),
            scalars: BTreeMap::new(),
            tensors: BTreeMap::new(),
        }
    }
}

/// The shape of every parameter of `model`, by name.
fn param_shapes<F: Float>(model: &dyn Module<F>) -> BTreeMap<String, Vec<usize>> {
    let mut shapes = BTreeMap::new();
    model.visit_params(&mut |name, p| {
        shapes.insert(name.to_string(), p.shape().to_vec());
    });
    shapes
}

/// Checks, before a step changes anything, that parameter names are unique (state is keyed by
/// them), that every gradient of a parameter the step will update has that parameter's shape,
/// and that every existing buffer does too (`buffer_shape(name)`; it differs only if the
/// optimiser was used on another model before). All problems are reported at once.
pub(super) fn check_step<F: Float>(
    optimizer: &str,
    model: &dyn Module<F>,
    grads: &Grads<F>,
    buffer_shape: &dyn Fn(&str) -> Option<Vec<usize>>,
) -> Result<()> {
    let mut seen = BTreeSet::new();
    let mut problems = Vec::new();
    model.visit_params(&mut |name, p| {
        if !seen.insert(name.to_string()) {
            problems.push(format!(
                "two parameters are named {name:?}: optimiser state is keyed by name, so names \
                 must be unique"
            ));
        }
        let Some(g) = grads.get(p).filter(|_| !p.frozen) else {
            return;
        };
        if g.shape() != p.shape() {
            problems.push(format!(
                "the gradient of {name:?} has shape {:?}, the parameter {:?}",
                g.shape(),
                p.shape()
            ));
        }
        if let Some(shape) = buffer_shape(name).filter(|s| s != p.shape()) {
            problems.push(format!(
                "the state of {name:?} has shape {shape:?}, the parameter {:?} (was this \
                 optimiser used with another model?)",
                p.shape()
            ));
        }
    });
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::config(
            format!("{optimizer} step"),
            problems.join("; "),
        ))
    }
}

/// Takes an [`OptimState`] apart for [`super::Optimizer::load_state`], collecting every problem
/// (missing or malformed scalars, buffers of unknown parameters or of the wrong shape, entries
/// nobody asked for) so that one error names them all.
pub(super) struct StateLoader<F: Float> {
    optimizer: &'static str,
    scalars: BTreeMap<String, f64>,
    tensors: BTreeMap<String, ArrayD<F>>,
    shapes: BTreeMap<String, Vec<usize>>,
    problems: Vec<String>,
    /// Whether a scalar was missing (then range checks would only repeat it).
    missing: bool,
    /// Parameter names whose buffers were rejected (unknown name or wrong shape).
    rejected: BTreeSet<String>,
}

impl<F: Float> StateLoader<F> {
    /// Starts loading `state` into an optimiser of kind `kind` (`optimizer` is its display name)
    /// that will work on `model`.
    pub(super) fn new(
        optimizer: &'static str,
        kind: &str,
        state: OptimState<F>,
        model: &dyn Module<F>,
    ) -> Result<Self> {
        if state.kind != kind {
            return Err(Error::config(
                format!("{optimizer} state"),
                format!(
                    "the state was written by a {:?} optimiser, not {kind:?}: restore it into \
                     the same kind of optimiser",
                    state.kind
                ),
            ));
        }
        Ok(StateLoader {
            optimizer,
            scalars: state.scalars,
            tensors: state.tensors,
            shapes: param_shapes(model),
            problems: Vec::new(),
            missing: false,
            rejected: BTreeSet::new(),
        })
    }

    /// Takes the scalar `key`; a missing one is recorded as a problem (and `NaN` returned).
    pub(super) fn scalar(&mut self, key: &str) -> f64 {
        self.scalars.remove(key).unwrap_or_else(|| {
            self.problems.push(format!("the scalar {key:?} is missing"));
            self.missing = true;
            f64::NAN
        })
    }

    /// Takes the scalar `key` as a whole number `$\ge \min$`.
    pub(super) fn count(&mut self, key: &str, min: u64) -> u64 {
        let x = self.scalar(key);
        if x.is_nan() {
            return min; // already recorded as missing
        }
        whole_number(x, min).unwrap_or_else(|| {
            self.problems
                .push(format!("{key:?} must be a whole number >= {min}, got {x}"));
            min
        })
    }

    /// Takes the scalar `key` as a flag (0 or 1).
    pub(super) fn flag(&mut self, key: &str) -> bool {
        let x = self.scalar(key);
        if !(x == 0.0 || x == 1.0 || x.is_nan()) {
            self.problems
                .push(format!("{key:?} must be 0 or 1, got {x}"));
        }
        x == 1.0
    }

    /// Records the outcome of a hyperparameter check, unless a scalar was missing (the check
    /// then fails on its `NaN` stand-in, which would only repeat that).
    pub(super) fn check(&mut self, result: Result<()>) {
        if self.missing {
            return;
        }
        if let Err(e) = result {
            self.problems.push(e.to_string());
        }
    }

    /// Takes every tensor `"{prefix}.{name}"`, checking that `name` is a parameter of the model
    /// with the tensor's shape. Returns them by parameter name.
    pub(super) fn buffers(&mut self, prefix: &str) -> BTreeMap<String, ArrayD<F>> {
        let start = format!("{prefix}.");
        let keys: Vec<String> = self
            .tensors
            .keys()
            .filter(|k| k.starts_with(&start))
            .cloned()
            .collect();
        let mut out = BTreeMap::new();
        for key in keys {
            let Some(tensor) = self.tensors.remove(&key) else {
                continue;
            };
            let name = &key[start.len()..];
            let problem = match self.shapes.get(name) {
                None => format!(
                    "{key:?} is the state of a parameter {name:?} that the model does not have"
                ),
                Some(shape) if shape.as_slice() != tensor.shape() => format!(
                    "{key:?} has shape {:?}, the parameter {name:?} {shape:?}",
                    tensor.shape()
                ),
                Some(_) => {
                    out.insert(name.to_string(), tensor);
                    continue;
                }
            };
            self.problems.push(problem);
            self.rejected.insert(name.to_string());
        }
        out
    }

    /// Takes every scalar `"{prefix}.{name}"` as a whole number `$\ge \min$`, by parameter name.
    pub(super) fn counters(&mut self, prefix: &str, min: u64) -> BTreeMap<String, u64> {
        let start = format!("{prefix}.");
        let keys: Vec<String> = self
            .scalars
            .keys()
            .filter(|k| k.starts_with(&start))
            .cloned()
            .collect();
        keys.into_iter()
            .map(|key| {
                let value = self.count(&key, min);
                (key[start.len()..].to_string(), value)
            })
            .collect()
    }

    /// Whether a buffer of parameter `name` was rejected by [`StateLoader::buffers`] (already
    /// reported: the caller need not report its absence again).
    pub(super) fn rejected(&self, name: &str) -> bool {
        self.rejected.contains(name)
    }

    /// Records a problem found by the caller (buffers that do not come in complete sets, say).
    pub(super) fn problem(&mut self, problem: String) {
        self.problems.push(problem);
    }

    /// Fails with every problem recorded, and every entry nobody took.
    pub(super) fn finish(mut self) -> Result<()> {
        for key in self.scalars.keys() {
            self.problems.push(format!("unexpected scalar {key:?}"));
        }
        for key in self.tensors.keys() {
            self.problems.push(format!("unexpected tensor {key:?}"));
        }
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(Error::config(
                format!("{} state", self.optimizer),
                format!("cannot be restored: {}", self.problems.join("; ")),
            ))
        }
    }
}

/// `x` as a `u64` if it is a whole number in `$[\min, 2^{53}]$` (where `f64` counts exactly).
fn whole_number(x: f64, min: u64) -> Option<u64> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2⁵³
    (x.fract() == 0.0 && x >= min as f64 && x <= EXACT).then_some(x as u64)
}
