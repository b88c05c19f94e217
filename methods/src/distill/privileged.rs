//! Generalised distillation (Lopez-Paz, Bottou, Schölkopf & Vapnik, 2016): distillation with
//! privileged information, as seed S4 writes it.
//!
//! The teacher `f` is trained on privileged features `x*`, the student `g` on ordinary features
//! `x`; the teacher's answers `s_i = f(x*_i) = softmax(v*(x*_i)/T0)` exist only for the objects
//! of the index set `I` (see [`IndexSet`]), so the soft term runs over `I` only:
//!
//! `L_st(g) = − Σ_i Σ_k y_ik log g_k(x_i)|_{T=1} − Σ_{i∈I} Σ_k f_k(x*_i)|_{T=T0} log g_k(x_i)|_{T=T0}`.

use autograd::functional::cross_entropy;
use autograd::{Float, Var};
use nn::loss::soft_target_loss;

use super::hinton::HintonConfig;
use super::index_set::IndexSet;
use crate::{Error, Result};

/// The generalised distillation loss, normalised by the batch size `B`:
///
/// `L = (α/B) Σ_{i=1}^{B} (−log g_{y_i}(x_i)|_{T=1}) + (β/B) · c(T0) · Σ_{i∈I} (−Σ_k f_k(x*_i) log g_k(x_i)|_{T=T0})`
///
/// with `g(x_i)|_T = softmax(z_i / T)`, `f(x*_i) = softmax(v*_i / T0)` and `c(T0) = 1` or `T0²`.
/// Symbols → arguments: `z` = `student_logits` (`[B, K]`, the student on `x`), `y` = `labels`,
/// `v*` = `teacher_logits` (`[|I|, K]`: the teacher on `x*_i` for `i ∈ I`, in ascending order
/// of `i`; constants), `I` = `index` (a subset of the batch), `α, β, T0, c` from `cfg`.
///
/// Normalisation: both sums are divided by `B`, not the soft one by `|I|`, so that each object
/// of `I` carries the same weight whatever the batch's share of `I`, and so that with `I` = the
/// whole batch the loss equals [`hinton_loss`](super::hinton_loss) exactly. With `I = ∅` it is
/// `α` times the plain cross-entropy.
pub fn generalized_distillation_loss<'t, F: Float>(
    student_logits: Var<'t, F>,
    labels: &[usize],
    teacher_logits: Var<'t, F>,
    index: &IndexSet,
    cfg: &HintonConfig,
) -> Result<Var<'t, F>> {
    const OP: &str = "generalized distillation loss";
    cfg.validate()?;
    let shape = student_logits.shape();
    let batch = shape.first().copied().unwrap_or(0);
    index.check_batch(OP, batch)?;
    let teacher_rows = teacher_logits.shape().first().copied().unwrap_or(0);
    if teacher_rows != index.len() {
        return Err(Error::config(
            OP,
            format!(
                "the teacher's logits have {teacher_rows} rows but I has {} elements (one row \
                 per element of I, ascending)",
                index.len()
            ),
        ));
    }
    let hard = cross_entropy(student_logits, labels)?.mul_scalar(cfg.hard_weight);
    if index.is_empty() {
        return Ok(hard);
    }
    let student_on_i = student_logits.index_select(0, index.indices())?;
    // soft_target_loss averages over its |I| rows: × |I|/B turns that into (1/B) Σ_{i∈I}.
    let soft = soft_target_loss(student_on_i, teacher_logits, cfg.temperature, cfg.scaling)?
        .mul_scalar(cfg.soft_weight * index.len() as f64 / batch as f64);
    Ok(hard.try_add(soft)?)
}
