//! Losses for training: the engine's composites (formulas in `autograd::functional`), plus the
//! distillation soft-target term with its optional `$T^{2}$` scaling. Every loss takes a
//! [`Reduction`] (sum or mean over the rows; `Mean` by default).

use autograd::{Float, Var};

pub use autograd::functional::{
    cross_entropy, gaussian_nll, kl, soft_cross_entropy, squared_error, Categorical, DiagGaussian,
    KlDivergence, Reduction,
};

use crate::Result;

/// Whether the soft-target term is multiplied by `$T^{2}$`.
///
/// Hinton et al. (2015) scale it by `$T^{2}$` because the gradient of the soft term shrinks like
/// `$1/T^{2}$`; without the factor, changing `T` silently reweights the soft term against the hard
/// one. The seed works write the loss without it, so `None` reproduces them as written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TemperatureScaling {
    /// The loss as the seed works write it.
    #[default]
    None,
    /// Multiplied by `$T^{2}$` (Hinton et al., 2015).
    Squared,
}

impl TemperatureScaling {
    /// The factor: 1 or `$T^{2}$`.
    pub fn factor(self, temperature: f64) -> f64 {
        match self {
            TemperatureScaling::None => 1.0,
            TemperatureScaling::Squared => temperature * temperature,
        }
    }
}

/// The soft-target term of distillation:
///
/// `$\ell_i = c(T) \cdot(-\sum_k f_{ik} \cdot \log \operatorname{softmax} (z_i / T)_k)$`, `$f_i =
/// \operatorname{softmax} (v_i / T)$`,
///
/// reduced over the rows by `reduction`, with `z` the student's logits (`student_logits`, `[B,
/// K]`), `v` the teacher's (`teacher_logits`, `[B, K]`, treated as constants: the teacher is not
/// trained by this loss), `T` the `temperature` and `c(T)` given by `scaling` (1, or `$T^{2}$`).
///
/// ```
/// use autograd::Tape;
/// use ndarray::array;
/// use nn::loss::{soft_target_loss, Reduction, TemperatureScaling};
///
/// let tape = Tape::<f64>::new();
/// let z = tape.param(array![[0.0, 0.0], [1.0, -1.0]]);
/// let v = tape.constant(array![[2.0, 0.0], [0.0, 0.0]]);
/// let plain = soft_target_loss(z, v, 2.0, TemperatureScaling::None, Reduction::Mean)?;
/// let scaled = soft_target_loss(z, v, 2.0, TemperatureScaling::Squared, Reduction::Sum)?;
/// // Squared multiplies by T² = 4, Sum by B = 2.
/// assert!((scaled.item().unwrap() - 8.0 * plain.item().unwrap()).abs() < 1e-12);
/// # Ok::<(), nn::Error>(())
/// ```
pub fn soft_target_loss<'t, F: Float>(
    student_logits: Var<'t, F>,
    teacher_logits: Var<'t, F>,
    temperature: f64,
    scaling: TemperatureScaling,
    reduction: Reduction,
) -> Result<Var<'t, F>> {
    let targets = teacher_logits
        .detach()
        .mul_scalar(1.0 / temperature)
        .softmax(-1)?;
    let term = soft_cross_entropy(student_logits, targets, temperature, reduction)?;
    Ok(term.mul_scalar(scaling.factor(temperature)))
}
