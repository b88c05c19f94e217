//! Generalised distillation (Lopez-Paz, Bottou, Schölkopf & Vapnik, 2016): distillation with
//! privileged information, as seed S4 writes it.
//!
//! The teacher `f` is trained on privileged features `x*`, the student `g` on ordinary features
//! `x`; the teacher's answers `$s_i = f(x^{*}_i) = \operatorname{softmax} (v^{*}(x^{*}_i)/T_{0})$`
//! exist only for the objects of the index set `I` (see [`IndexSet`]), so the soft term runs over
//! `I` only:
//!
//! ```math
//! L_{st}(g) = - \sum_i \sum_k y_{ik} \log g_k(x_i)|_{T=1} - \sum_{i\in I} \sum_k
//!   f_k(x^{*}_i)|_{T=T_{0}} \log g_k(x_i)|_{T=T_{0}}.
//! ```

use autograd::functional::{cross_entropy, Reduction};
use autograd::{Float, Var};
use nn::loss::soft_target_loss;

use super::hinton::HintonConfig;
use super::index_set::IndexSet;
use crate::Result;

/// The generalised distillation loss, `$\sum_i \ell_i$` over the batch or `$\frac{1}{B} \sum_i
/// \ell_i$` by `cfg.reduction`, with
///
/// ```math
/// \ell_i = \alpha(-\log g_{y_i}(x_i)|_{T=1}) + [i \in I] \cdot \beta \cdot c(T_{0})
///   \cdot(-\sum_k f_k(x^{*}_i) \log g_k(x_i)|_{T=T_{0}})
/// ```
///
/// and `$g(x_i)|_T = \operatorname{softmax} (z_i / T)$`, `$f(x^{*}_i) = \operatorname{softmax}
/// (v^{*}_i / T_{0})$`, `$c(T_{0}) = 1$` or `$T_{0}^{2}$`. Symbols → arguments: `z` =
/// `student_logits` (`[B, K]`, the student on `x`), `y` = `labels`, `v*` = `teacher_logits` (`[|I|,
/// K]`: the teacher on `x*_i`, one row per element of `I` in the order of `index.indices()`;
/// constants), `I` = `index` (a subset of the batch), `$\alpha, \beta, T_{0}, c$` from `cfg`.
/// Errors name `generalized_distillation_loss`.
///
/// Normalisation: with `Reduction::Mean` both sums are divided by `B`, not the soft one by
/// `|I|`, so that each object of `I` carries the same weight whatever the batch's share of `I`,
/// and so that with `I` = the whole batch the loss equals [`hinton_loss`](super::hinton_loss)
/// exactly. With `$I = \emptyset$` it is `$\alpha$` times the plain cross-entropy.
///
/// ```
/// use autograd::Tape;
/// use methods::distill::{generalized_distillation_loss, hinton_loss, HintonConfig, IndexSet};
/// use ndarray::array;
///
/// let tape = Tape::<f64>::new();
/// let z = tape.param(array![[0.2, -1.0], [1.5, 0.1], [-0.4, 0.9]]);
/// let v = tape.constant(array![[1.0, 0.0], [0.3, 0.3], [-2.0, 1.0]]);
/// let cfg = HintonConfig::seeds(2.0)?;
/// // I = the whole batch: Hinton's loss.
/// let all = generalized_distillation_loss(z, &[0, 0, 1], v, &IndexSet::all(3), &cfg)?;
/// let hinton = hinton_loss(z, &[0, 0, 1], v, &cfg)?;
/// assert!((all.item().unwrap() - hinton.item().unwrap()).abs() < 1e-14);
/// // A teacher row per element of I, or an error naming the function.
/// let err = generalized_distillation_loss(z, &[0, 0, 1], v, &IndexSet::from_indices(3, &[2])?, &cfg);
/// assert!(err.unwrap_err().to_string().starts_with("generalized_distillation_loss: 3 teacher answers"));
/// # Ok::<(), methods::Error>(())
/// ```
pub fn generalized_distillation_loss<'t, F: Float>(
    student_logits: Var<'t, F>,
    labels: &[usize],
    teacher_logits: Var<'t, F>,
    index: &IndexSet,
    cfg: &HintonConfig,
) -> Result<Var<'t, F>> {
    const OP: &str = "generalized_distillation_loss";
    cfg.validate()?;
    let batch = student_logits.shape().first().copied().unwrap_or(0);
    let teacher_rows = teacher_logits.shape().first().copied().unwrap_or(0);
    index.check_answers(OP, batch, teacher_rows)?;
    let mut total =
        cross_entropy(student_logits, labels, Reduction::Sum)?.mul_scalar(cfg.hard_weight);
    if !index.is_empty() {
        // Teacher row r is object index.indices()[r]: select the student's rows in that order.
        let student_on_i = student_logits.index_select(0, index.indices())?;
        let soft = soft_target_loss(
            student_on_i,
            teacher_logits,
            cfg.temperature,
            cfg.scaling,
            Reduction::Sum,
        )?;
        total = total.try_add(soft.mul_scalar(cfg.soft_weight))?;
    }
    Ok(cfg.reduction.scale(total, batch))
}
