//! Parameters: trainable tensors that live outside any tape.
//!
//! A training step binds them to a fresh tape through a [`Ctx`](crate::Ctx); an optimiser then
//! updates them in place. Each parameter has a process-unique [`ParamId`] that ties its
//! gradient on the tape back to it; names (`"encoder.0.weight"`) come from the module tree.

use std::sync::atomic::{AtomicU64, Ordering};

use autograd::{Float, IntoTensor, Tensor};

/// Identifies a parameter within this process (not across runs: use names for that).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParamId(u64);

impl ParamId {
    fn fresh() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        ParamId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// A trainable tensor. `frozen` parameters are bound as constants: no gradient reaches them
/// (a frozen source encoder in transfer learning, say).
#[derive(Clone, Debug)]
pub struct Param<F: Float> {
    id: ParamId,
    value: Tensor<F>,
    /// Whether the parameter is excluded from training.
    pub frozen: bool,
}

impl<F: Float> Param<F> {
    /// A trainable parameter with the given initial value.
    pub fn new(value: impl IntoTensor<F>) -> Self {
        Param {
            id: ParamId::fresh(),
            value: value.into_tensor(),
            frozen: false,
        }
    }

    /// The identity that links this parameter to its gradients.
    pub fn id(&self) -> ParamId {
        self.id
    }

    /// The current value (a shared handle: no copy).
    pub fn value(&self) -> &Tensor<F> {
        &self.value
    }

    /// The shape of the value.
    pub fn shape(&self) -> &[usize] {
        self.value.shape()
    }

    /// The number of scalars.
    pub fn numel(&self) -> usize {
        self.value.len()
    }

    /// Mutable access for in-place updates. Copies first only if a tape still holds the value.
    pub fn value_mut(&mut self) -> ndarray::ArrayViewMutD<'_, F> {
        self.value.view_mut()
    }

    /// Replaces the value; the new one must have the same shape.
    pub fn set(&mut self, value: impl IntoTensor<F>) -> Result<(), crate::Error> {
        let value = value.into_tensor();
        if value.shape() != self.value.shape() {
            return Err(crate::Error::ShapeMismatch {
                name: format!("parameter {:?}", self.id),
                expected: self.value.shape().to_vec(),
                found: value.shape().to_vec(),
            });
        }
        self.value = value;
        Ok(())
    }
}
