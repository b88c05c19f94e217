//! Losses for training: the engine's composites (formulas in `autograd::functional`), plus the
//! distillation soft-target term with its optional `T²` scaling.

use autograd::{Float, Var};

pub use autograd::functional::{
    cross_entropy, gaussian_nll, kl_categorical, kl_diag_gaussian, mse, soft_cross_entropy,
};

use crate::Result;

/// Whether the soft-target term is multiplied by `T²`.
///
/// Hinton et al. (2015) scale it by `T²` because the gradient of the soft term shrinks like
/// `1/T²`; without the factor, changing `T` silently reweights the soft term against the hard
/// one. The seed works write the loss without it, so `None` reproduces them as written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TemperatureScaling {
    /// The loss as the seed works write it.
    #[default]
    None,
    /// Multiplied by `T²` (Hinton et al., 2015).
    Squared,
}

impl TemperatureScaling {
    /// The factor: 1 or `T²`.
    pub fn factor(self, temperature: f64) -> f64 {
        match self {
            TemperatureScaling::None => 1.0,
            TemperatureScaling::Squared => temperature * temperature,
        }
    }
}

/// The soft-target term of distillation:
///
/// `L_soft = c(T) · (−(1/B) Σ_i Σ_k f_ik · log softmax(z_i / T)_k)`, `f_i = softmax(v_i / T)`
///
/// with `z` the student's logits (`student_logits`), `v` the teacher's (`teacher_logits`,
/// treated as constants: the teacher is not trained by this loss), `T` the `temperature` and
/// `c(T)` given by `scaling` (1, or `T²`).
pub fn soft_target_loss<'t, F: Float>(
    student_logits: Var<'t, F>,
    teacher_logits: Var<'t, F>,
    temperature: f64,
    scaling: TemperatureScaling,
) -> Result<Var<'t, F>> {
    let targets = teacher_logits
        .detach()
        .mul_scalar(1.0 / temperature)
        .softmax(-1)?;
    let term = soft_cross_entropy(student_logits, targets, temperature)?;
    Ok(term.mul_scalar(scaling.factor(temperature)))
}
