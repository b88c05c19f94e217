//! The two levels of the bilevel problem: `$L_{\mathrm{train}}(w, \lambda)$`, minimised over the
//! student's parameters `w`, and `L_val(w)`, minimised over `$\lambda$` through `w`.

use autograd::functional::{cross_entropy, Reduction};
use autograd::{Float, Var};
use nn::loss::TemperatureScaling;

use super::metaparams::MetaVars;
use crate::Result;

/// The soft-target term at a temperature that is itself a variable:
///
/// `$S(z, v, T) = -\frac{1}{B} \sum_i \sum_k f_{ik} \log \operatorname{softmax} (z_i / T)_k$`,
/// `$f_i = \operatorname{softmax} (v_i / T)$`
///
/// — [`nn::loss::soft_target_loss`] (the soft term of [`crate::distill::hinton_loss`]) with `T` on
/// the tape, so that `$\partial S/\partial T$` reaches the metaparameters through both the
/// teacher's softmax and the student's. `z` = `student_logits` (`[B, K]`), `v` = `teacher_logits`
/// (`[B, K]`, detached: the teacher is not trained), `T` = `temperature` (0-dimensional).
pub fn soft_term<'t, F: Float>(
    student_logits: Var<'t, F>,
    teacher_logits: Var<'t, F>,
    temperature: Var<'t, F>,
) -> Result<Var<'t, F>> {
    let targets = teacher_logits.detach().try_div(temperature)?.softmax(1)?;
    let log_q = student_logits.try_div(temperature)?.log_softmax(1)?;
    let per_row = targets.try_mul(log_q)?.sum_axis(1, false)?;
    Ok(-per_row.mean())
}

/// The seed's training loss with its metaparameters on the tape, averaged over the batch:
///
/// ```math
/// L_{\mathrm{train}}(w, \lambda) = \beta_{1} \cdot(-\frac{1}{B} \sum_i \log g_{y_i}(x_i,
///   w)|_{T=1}) + \beta_{2} \cdot c(T) \cdot S(z, v, T)
/// ```
///
/// with `$g(x, w)|_T = \operatorname{softmax} (z/T)$`, `z = student_logits` the student's logits at
/// `w`, `S` the soft term of [`soft_term`], `$c(T) = 1$` (the seed's formula,
/// [`TemperatureScaling::None`]) or `$T^{2}$` (Hinton et al., [`TemperatureScaling::Squared`]).
/// Symbols → arguments: `y` = `labels`, `v` = `teacher_logits` (the teacher `f`'s logits,
/// constants), `$\beta_{1}, \beta_{2}, T$` = `meta.beta1, meta.beta2, meta.temperature`. At fixed
/// `$\lambda$` this is [`crate::distill::hinton_loss`] with `$\alpha = \beta_{1}$`, `$\beta =
/// \beta_{2}$`, `$T_{0} = T$`.
///
/// The seed sums over the sample; we average (divides by `B`, changes no minimiser, keeps the
/// learning rate independent of the batch size). The authors' code differs in two ways that we do
/// not copy: its soft term is `$\mathrm{KL} (\operatorname{softmax} (z/T) \| \operatorname{softmax}
/// (v/T))$` (the student on both sides), and its `lambda1` weighs the soft term, `lambda2` the hard
/// one.
pub fn train_loss<'t, F: Float>(
    student_logits: Var<'t, F>,
    labels: &[usize],
    teacher_logits: Var<'t, F>,
    meta: &MetaVars<'t, F>,
    scaling: TemperatureScaling,
) -> Result<Var<'t, F>> {
    let hard = cross_entropy(student_logits, labels, Reduction::Mean)?;
    let mut soft = soft_term(student_logits, teacher_logits, meta.temperature)?;
    if scaling == TemperatureScaling::Squared {
        soft = soft.try_mul(meta.temperature.square())?;
    }
    Ok(hard
        .try_mul(meta.beta1)?
        .try_add(soft.try_mul(meta.beta2)?)?)
}

/// The validation objective, the authors' choice: the student's cross-entropy on the
/// validation split,
///
/// ```math
/// L_{\mathrm{val}}(w) = -(1/B_{\mathrm{val}}) \sum_i \log \operatorname{softmax}
///   (z_i)_{y_i},
/// ```
///
/// with `z` = `student_logits` at `w` and `y` = `labels`. It depends on `$\lambda$` only through
/// `w` (the seed writes `$L_{\mathrm{val}}(\hat{w}, \lambda)$`; with this choice its direct
/// `$\lambda$` term is zero).
pub fn val_loss<'t, F: Float>(student_logits: Var<'t, F>, labels: &[usize]) -> Result<Var<'t, F>> {
    Ok(cross_entropy(student_logits, labels, Reduction::Mean)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distill::{hinton_loss, HintonConfig};
    use crate::meta::metaparams::{MetaParams, MetaValues, TemperatureRange};
    use autograd::Tape;
    use ndarray::array;

    /// At fixed `$\lambda$`, `L_train` is Hinton's loss with `$\alpha = \beta_{1}$`, `$\beta =
    /// \beta_{2}$`, `$T_{0} = T$`: the same value and the same gradient in the logits, both
    /// scalings. The two are different compositions of the same f64 ops (`$z\cdot\frac{1}{T}$`
    /// against `z/T`), so they agree to round-off (≤ 1e-14 on values of order 1).
    #[test]
    fn at_fixed_metaparameters_it_is_hintons_loss() {
        let z = array![[0.3, -1.2, 2.0], [1.5, 0.1, -0.4]];
        let v = array![[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]];
        let labels = [2, 0];
        let values = MetaValues {
            beta1: 0.3,
            beta2: 0.8,
            temperature: 2.5,
        };
        let meta = MetaParams::from_values(values, TemperatureRange::default()).unwrap();
        for scaling in [TemperatureScaling::None, TemperatureScaling::Squared] {
            let tape = Tape::<f64>::new();
            let zv = tape.param(z.clone());
            let vv = tape.constant(v.clone());
            let vars = MetaVars::constant(&tape, &meta).unwrap();
            let ours = train_loss(zv, &labels, vv, &vars, scaling).unwrap();
            let cfg = HintonConfig {
                hard_weight: vars.beta1.item().unwrap(),
                soft_weight: vars.beta2.item().unwrap(),
                temperature: vars.temperature.item().unwrap(),
                scaling,
                reduction: Reduction::Mean,
            };
            let theirs = hinton_loss(zv, &labels, vv, &cfg).unwrap();
            let (a, b) = (ours.item().unwrap(), theirs.item().unwrap());
            assert!((a - b).abs() < 1e-14, "{scaling:?}: {a} vs {b}");
            let ga = tape.grad(ours, &[zv]).unwrap().remove(0);
            let gb = tape.grad(theirs, &[zv]).unwrap().remove(0);
            let worst = (&ga - &gb).iter().fold(0.0_f64, |m, d| m.max(d.abs()));
            assert!(worst < 1e-14, "{scaling:?}: gradients differ by {worst}");
        }
    }

    /// The temperature reaches the loss: `$\partial L_{\mathrm{train}}/\partial a_{3} \ne 0$`
    /// whenever the soft term is on (a detached temperature would give exactly 0).
    #[test]
    fn the_temperature_is_differentiable() {
        let tape = Tape::<f64>::new();
        let meta = MetaParams::from_raw([0.0, 0.0, 0.0], TemperatureRange::default()).unwrap();
        let vars = MetaVars::param(&tape, &meta).unwrap();
        let z = tape.constant(array![[0.3, -1.2, 2.0]]);
        let v = tape.constant(array![[2.0, 0.0, -1.0]]);
        let loss = train_loss(z, &[1], v, &vars, TemperatureScaling::None).unwrap();
        let g = tape.grad(loss, &[vars.raw]).unwrap().remove(0);
        assert!(g.iter().all(|d| d.abs() > 1e-6), "{g}");
    }
}
